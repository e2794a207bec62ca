/*
 * A bounded single-producer/single-consumer ring of variable-length records
 * between two threads (the dispatcher and a worker, a worker and the model
 * thread). Records are typed byte blocks, 8-byte aligned, written in place
 * by the producer (ring_reserve, then ring_commit) and read in place by the
 * consumer (ring_peek, then ring_release): no allocation after creation and
 * no lock per record.
 *
 * Positions are 64-bit byte counters published with release/acquire atomics.
 * The producer publishes its committed records with ring_publish and the
 * consumer its released space with ring_consume; both publish in batches
 * (a window of packets), not per record. A thread that finds the ring full
 * (producer) or empty (consumer) sleeps on a ring_bell, a futex word the
 * other side rings when it publishes and sees a sleeper; a consumer of
 * several rings (the merger) shares one data bell between them.
 *
 * When the ring is full ring_reserve refuses the record and counts it under
 * the ring's policy: "block" (the producer then waits with ring_wait_space
 * and asks again; capture files: nothing is lost) or "drop new" (the record
 * is lost; live capture: the kernel keeps running). Counters belong to the
 * side that writes them; read them from another thread only after both
 * sides have stopped.
 */
#ifndef APISENSOR_APP_RING_H
#define APISENSOR_APP_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* A futex word to sleep on until the other side of a ring publishes. */
typedef struct ring_bell {
    _Atomic uint32_t word;    /* changes on every ring that found a sleeper */
    _Atomic uint32_t waiters; /* threads between ring_bell_prepare and their wake */
} ring_bell;

/* Announces a sleeper: returns the word to pass to ring_bell_wait. Check
 * the condition again after this call, then wait or ring_bell_cancel. */
uint32_t ring_bell_prepare(ring_bell *b);
/* Sleeps until the bell rings or timeout_ms passes (0 = no timeout). */
void ring_bell_wait(ring_bell *b, uint32_t seen, int timeout_ms);
void ring_bell_cancel(ring_bell *b);
/* Wakes every sleeper (cheap when there is none). */
void ring_bell_ring(ring_bell *b);

typedef enum { RING_BLOCK = 0, RING_DROP_NEW = 1 } ring_policy;

/* Name of a policy as the run summary writes it ("block", "drop new"). */
const char *ring_policy_name(ring_policy policy);

typedef struct ring_stats {
    uint64_t records;    /* records committed */
    uint64_t bytes;      /* bytes committed, with record headers */
    uint64_t full_waits; /* RING_BLOCK: times the producer found it full and waited */
    uint64_t dropped;    /* RING_DROP_NEW: records refused because the ring was full */
    uint64_t peak_bytes; /* most bytes in the ring at a publish */
    uint64_t capacity;   /* bytes */
} ring_stats;

typedef struct ring ring;

/* capacity_bytes is rounded up to a power of two holding at least two
 * records of max_record bytes. data_bell: the bell the consumer sleeps on
 * (borrowed, may be shared by several rings of one consumer); NULL = the
 * ring's own. */
as_status ring_create(size_t capacity_bytes, size_t max_record, ring_policy policy,
                      ring_bell *data_bell, ring **out);
void ring_destroy(ring *r);

/* Producer. Space for a record of len bytes (<= max_record) of type (< 2^31),
 * valid until ring_commit; NULL when len is over max_record or the ring is
 * full. A full ring counts once per refusal: in dropped under RING_DROP_NEW
 * (the record is lost), in full_waits under RING_BLOCK (the caller waits
 * with ring_wait_space and asks again). Never sleeps. */
void *ring_reserve(ring *r, uint32_t type, size_t len);
/* Publishes, then sleeps until a record of len bytes fits or timeout_ms
 * passes; returns 1 when it fits. */
int ring_wait_space(ring *r, size_t len, int timeout_ms);
/* Ends the record ring_reserve returned (len may shrink to used bytes). */
void ring_commit(ring *r, size_t used);
/* Makes committed records visible to the consumer and wakes it if asleep. */
void ring_publish(ring *r);

/* Consumer. The next record (type, length) or NULL when none is published;
 * the record stays until ring_release. */
void *ring_peek(ring *r, uint32_t *type, size_t *len);
void ring_release(ring *r);
/* Gives the released space back to the producer and wakes it if asleep. */
void ring_consume(ring *r);
/* Sleeps until a record is published or timeout_ms passes (0 = none);
 * returns at once when one is already there. Publishes released space. */
void ring_wait(ring *r, int timeout_ms);

ring_stats ring_get_stats(const ring *r);

#endif
