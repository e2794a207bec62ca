/*
 * The order of the model thread's merge of the workers' rings (workers.h):
 * order keys and the choice of the next record.
 *
 * A key is (seq, phase, origin): seq of the packet (or mark, end of source)
 * whose handling produced the record, the pipeline_phase of that handling,
 * and for transactions the seq of the packet that created the flow. Each
 * worker's records come in non-decreasing key order. Per worker the merger
 * knows either its next record (the head) or a floor: a key no later record
 * of that worker is below (its last record's, or a watermark's).
 */
#ifndef APISENSOR_APP_MERGE_H
#define APISENSOR_APP_MERGE_H

#include <stdint.h>

typedef struct merge_key {
    uint64_t seq;
    uint64_t origin;
    uint32_t phase;
} merge_key;

/* 1 when a orders before b. */
int merge_key_less(const merge_key *a, const merge_key *b);

/* The worker whose head comes next: the smallest head (ties: the lowest
 * worker), provided no worker without a head has a floor below it.
 * has_head[i]: worker i's head is heads[i]; else floors[i] holds. Returns
 * the worker, -1 when there is no head, -2 when the smallest head must wait
 * for a worker without one. */
int merge_pick(const merge_key *heads, const int *has_head, const merge_key *floors,
               unsigned count);

#endif
