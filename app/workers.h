/*
 * --workers N (N >= 2): the data path on N worker threads and one model
 * thread, with output identical to the single-threaded pipeline's.
 *
 *   caller (dispatcher) --packet rings--> N workers --tx rings--> model thread
 *
 * The dispatcher (the thread that calls workers_run) reads the sources
 * (several live interfaces at once through capture threads: workers_run_live),
 * numbers every packet (seq, over the whole run), finds its flow's worker by
 * a symmetric hash of the 5-tuple (both directions on the same worker; an
 * IPv4 fragment, whose ports are not in every piece, by its address pair)
 * and copies it into that worker's ring. The other workers get "marks":
 * packet time at most every second of packet time, at every stats tick and
 * when the dispatcher has to wait, so their idle flows end and their
 * progress is known.
 *
 * Each worker owns a pipeline in hooked mode (pipeline.h): its flows,
 * reassembly and parsers, no locks. Every completed transaction is copied
 * flat (tx_record.h) into the worker's ring to the model thread with an
 * order key: (seq of the packet being handled, phase of its handling,
 * seq of the packet that created the flow). That is the order the
 * single-threaded pipeline completes transactions in, so it does not depend
 * on the sharding. The model thread merges the N rings by key; a worker
 * with nothing to say sends a watermark (all its later keys are above it),
 * so the merge never waits for ever nor releases out of order. Stats ticks
 * and ends of sources come from every worker with the same key; the model
 * thread adds the N parts up (stats events) or waits for all N (the
 * inventory snapshot at the end of each source).
 *
 * Limits: rings hold worker_ring_kbytes (packets) and model_ring_kbytes
 * (transactions). Policies when full: capture files "block" (the writer
 * waits, nothing is lost, counted in full_waits); live capture "drop new"
 * for packets (counted as dropped). Per-worker limits: every pipeline limit
 * (flow_max, tcp_ooo_bytes_total, ...) applies to each worker's share.
 *
 * Threads: create, run, finish, summary and destroy are called by one
 * thread (the composition root). The model and router given in the config
 * belong to the model thread between workers_create and workers_finish.
 */
#ifndef APISENSOR_APP_WORKERS_H
#define APISENSOR_APP_WORKERS_H

#include <stdint.h>
#include <stdio.h>

#include "capture/source.h"
#include "common/status.h"
#include "model.h"
#include "pipeline.h"

typedef struct workers workers;

typedef struct workers_config {
    unsigned count;           /* worker threads, >= 1 */
    pipeline_config pipeline; /* of every worker (hooks are set by workers.c); its router
                                 and model are used by the model thread only */
    int live;                 /* 1: packet rings drop new packets when full */
    const char *keylog_path;  /* TLS key log: each worker reads its own copy (a key log
                                 belongs to one thread); NULL = none */
    /* Called on the model thread between two transactions and when it is
     * idle (about every 100 ms): a place for work that must not race with
     * the model (a configuration reload). NULL = none. */
    void (*model_tick)(void *arg);
    void *model_tick_arg;
} workers_config;

/* Starts the worker threads and the model thread (config->pipeline.keylog
 * is not used: see keylog_path). */
as_status workers_create(const workers_config *config, workers **out);

/* Dispatches src until it ends, *stop becomes non-zero or an error, then
 * ends every flow; the model thread writes the inventory snapshot of the
 * source. Returns the source's final status as pipeline_run. */
as_status workers_run(workers *w, capture_source *src, volatile int *stop,
                      void (*progress)(void *arg), void *arg);

/* Reads n live sources at once, one capture thread each (ring to the
 * dispatcher, worker_ring_kbytes, drop new), and dispatches their packets
 * in the order it takes them, until every source ends or *stop; then ends
 * every flow and the model thread writes one inventory snapshot. Each
 * source's final status goes to statuses[i]; returns AS_OK or the status
 * of a failed set-up. Call with the sources opened; stop is polled (every
 * live read returns within 100 ms). */
as_status workers_run_live(workers *w, capture_source **sources, unsigned n, volatile int *stop,
                           as_status *statuses);

/* Ends the run: the final stats event, then the threads stop. Call once. */
void workers_finish(workers *w);

/* Packet time of the latest packet dispatched. */
uint64_t workers_now(const workers *w);

/* The run summary (the workers' counters added up) and the rings' lines.
 * After workers_finish. */
void workers_write_summary(const workers *w, FILE *out, double elapsed_seconds);

void workers_destroy(workers *w);

#endif
