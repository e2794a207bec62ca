/*
 * The data path of one worker, wired in order: packet source -> decoder ->
 * flow table -> TCP reassembly -> classification + HTTP -> transaction
 * events. The pipeline owns every stage handle and the per-flow-slot state of
 * the later stages, and drives ended flows through their close sequence.
 *
 * Single-threaded; the caller runs sources one after another (each capture
 * file ends with every flow flushed). With --workers N each worker thread
 * owns one pipeline in "hooked" mode (app/workers.h): transactions and
 * stats ticks go to the hooks instead of the model and the router, and the
 * worker feeds packets one by one with their global sequence number.
 */
#ifndef APISENSOR_APP_PIPELINE_H
#define APISENSOR_APP_PIPELINE_H

#include <stdint.h>
#include <stdio.h>

#include "capture/flow_table.h"
#include "capture/source.h"
#include "capture/tcp_stream.h"
#include "common/anomaly.h"
#include "common/limits.h"
#include "common/status.h"
#include "export/event.h"
#include "model.h"
#include "inventory/openapi.h"
#include "parse/http1.h"
#include "parse/tls.h"
#include "parse/tls_keylog.h"
#include "export/sink_router.h"

typedef struct pipeline pipeline;

/* Where in the handling of a packet a transaction was completed, for the
 * order the single-threaded path gives them (app/workers.h). */
typedef enum {
    PIPELINE_PHASE_EXPIRED = 0, /* flows ended by the packet's time advancing */
    PIPELINE_PHASE_STATS = 1,   /* (stats tick: after expiry, before the lookup) */
    PIPELINE_PHASE_ENDED = 2,   /* flows ended by the packet's lookup (port reuse, eviction) */
    PIPELINE_PHASE_PACKET = 3,  /* the packet's own flow */
    PIPELINE_PHASE_END = 4,     /* end of input: every flow ended */
} pipeline_phase;

/* Hooked mode: receives each completed transaction (views valid for the
 * call) with its phase and the sequence number of the packet that created
 * its flow (flows ended together are closed in that order). */
typedef void (*pipeline_tx_hook)(void *arg, const http_transaction *tx, pipeline_phase phase,
                                 uint64_t flow_origin);

/* Events go through the router (borrowed; it may be shared with the other
 * stages of the thread): transactions, and stats every stats_interval_seconds
 * of packet time and at the end. */
typedef struct pipeline_config {
    limits lim;
    event_sensor sensor;
    sink_router *router;             /* events out, borrowed */
    uint32_t stats_interval_seconds; /* 0 = stats only at the end */
    model *model;                    /* borrowed; NULL = transactions go nowhere else */
    const openapi_spec *spec;        /* declared inventory (--spec), borrowed; NULL = none */
    tls_keylog *keylog; /* TLS key log (borrowed, outlives the pipeline); NULL = none */
    pipeline_tx_hook on_transaction;  /* non-NULL: hooked mode (model and router unused for
                                         transactions, no stats events of its own) */
    void (*on_stats_tick)(void *arg); /* hooked mode: a stats tick, see pipeline_packet */
    void *hook_arg;
} pipeline_config;

typedef struct pipeline_totals {
    uint64_t packets;
    uint64_t bytes;           /* captured bytes */
    uint64_t packets_skipped; /* not TCP/UDP or malformed (see anomalies) */
    uint64_t transactions;
    uint64_t output_errors; /* events the encoder or a file sink failed on (whole router) */
    uint64_t stats_events;
} pipeline_totals;

/* Every counter of a pipeline (of several, added up: peaks then are the sum
 * of the pipelines' peaks). */
typedef struct pipeline_counters {
    pipeline_totals totals;
    flow_table_stats flows;
    tcp_reasm_stats tcp;
    http_engine_stats http;
    tls_engine_stats tls;
    anomaly_counters anomalies;
    capture_source_stats captured; /* live drop counters of the sources pipeline_run read */
    uint64_t live;                 /* non-zero once a live source was read */
} pipeline_counters;

as_status pipeline_create(const pipeline_config *config, pipeline **out);

/* Hooked mode. Handles one packet, seq its number in the whole input; when
 * stats_tick, calls on_stats_tick after the packet has advanced packet time
 * (and ended the flows due) and before its lookup. */
void pipeline_packet(pipeline *p, const capture_packet *pkt, uint64_t seq, int stats_tick);
/* Hooked mode. Advances packet time to ts_ns as a packet of another worker
 * would (flows due end), then calls on_stats_tick when stats_tick. */
void pipeline_advance(pipeline *p, uint64_t ts_ns, int stats_tick);

/* Live capture on a quiet link: the packet time to move to now, or 0 to
 * stay at now_ns. It follows the wall clock PIPELINE_IDLE_LAG_NS behind
 * (packets still in the kernel's buffer are younger than that), in steps
 * of at least a second, so that idle flows end and stats events keep
 * coming while no packet arrives. Never used on capture files. */
#define PIPELINE_IDLE_LAG_NS 1000000000ull
uint64_t pipeline_idle_clock(uint64_t now_ns);
/* Hooked mode. Ends every flow (end of a source). */
void pipeline_end_flows(pipeline *p);

/* Counters so far (with the model's anomalies when the pipeline runs the
 * model itself); pipeline_counters_add adds b into a. */
void pipeline_get_counters(const pipeline *p, pipeline_counters *out);
void pipeline_counters_add(pipeline_counters *a, const pipeline_counters *b);

/* Writes a stats event of the counters c to router, stamped ts_ns. */
void pipeline_write_stats(sink_router *router, const pipeline_counters *c, uint64_t ts_ns,
                          uint32_t interval_seconds, int final);

/* The run summary of n pipelines that shared one input (counters added
 * up, protocol and TLS lists merged); the spec, key log and router's output
 * errors are pipelines[0]'s (the workers share them). more_anomalies (may be
 * NULL): anomalies counted outside the pipelines (the model thread's). */
void pipeline_write_summary_many(pipeline *const *pipelines, unsigned n,
                                 const anomaly_counters *more_anomalies, FILE *out,
                                 double elapsed_seconds);

/* Analyses packets from src until it ends, *stop becomes non-zero or an
 * error; then ends every flow. Returns the source's final status (AS_DONE
 * on a clean end). progress(arg) is called about every 64k packets. */
as_status pipeline_run(pipeline *p, capture_source *src, volatile int *stop,
                       void (*progress)(void *arg), void *arg);

/* Writes the final stats event (call once, after the last source). */
void pipeline_finish(pipeline *p);

pipeline_totals pipeline_get_totals(const pipeline *p);

/* Packet time of the latest packet seen (ns since the epoch). */
uint64_t pipeline_now(const pipeline *p);

/* The pipeline's anomaly counters. In hooked mode the hook's owner counts
 * here what its own work on the pipeline's transactions finds (the
 * workers' sensitive-data scan): they then go out with the pipeline's
 * counters at the same points as one thread's. Only the pipeline's thread. */
anomaly_counters *pipeline_anomalies(pipeline *p);

/* Writes the run summary (counters of every stage) to out. */
void pipeline_write_summary(const pipeline *p, FILE *out, double elapsed_seconds);

void pipeline_destroy(pipeline *p);

#endif
