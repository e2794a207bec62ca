/*
 * The data path of one worker, wired in order: packet source -> decoder ->
 * flow table -> TCP reassembly -> classification + HTTP -> transaction
 * events. The pipeline owns every stage handle and the per-flow-slot state of
 * the later stages, and drives ended flows through their close sequence.
 *
 * Single-threaded; the caller runs sources one after another (each capture
 * file ends with every flow flushed).
 */
#ifndef APISENSOR_APP_PIPELINE_H
#define APISENSOR_APP_PIPELINE_H

#include <stdint.h>
#include <stdio.h>

#include "capture/source.h"
#include "common/anomaly.h"
#include "common/limits.h"
#include "common/status.h"
#include "export/event.h"
#include "model.h"
#include "inventory/openapi.h"
#include "parse/tls_keylog.h"
#include "export/sink_router.h"

typedef struct pipeline pipeline;

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
} pipeline_config;

typedef struct pipeline_totals {
    uint64_t packets;
    uint64_t bytes;           /* captured bytes */
    uint64_t packets_skipped; /* not TCP/UDP or malformed (see anomalies) */
    uint64_t transactions;
    uint64_t output_errors; /* events the encoder or a file sink failed on (whole router) */
    uint64_t stats_events;
} pipeline_totals;

as_status pipeline_create(const pipeline_config *config, pipeline **out);

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
const anomaly_counters *pipeline_anomalies(const pipeline *p);

/* Writes the run summary (counters of every stage) to out. */
void pipeline_write_summary(const pipeline *p, FILE *out, double elapsed_seconds);

void pipeline_destroy(pipeline *p);

#endif
