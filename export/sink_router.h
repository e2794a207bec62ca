/*
 * The one place where an event is encoded in the selected --format and
 * handed to the sinks that want its kind, with its Kafka key (CONTRACT.md):
 *   findings, endpoints, stats -> the events file (-o) and Kafka
 *   transactions               -> the transactions file and, when asked,
 *                                 Kafka
 * Keys: finding_event_key (identity), endpoint_event_key ("METHOD host
 * path"), the Community ID (flow), the sensor name (stats).
 *
 * The router borrows the sinks (the caller creates, flushes and destroys
 * them, after the router) and owns one json_writer reused for every event:
 * no allocation per event once it has grown. Single-threaded: every stage
 * that emits events on the same thread may share one router.
 */
#ifndef APISENSOR_EXPORT_SINK_ROUTER_H
#define APISENSOR_EXPORT_SINK_ROUTER_H

#include <stdint.h>

#include "event.h"
#include "format.h"
#include "parse/transaction.h"
#include "records.h"
#include "sink.h"
#include "stats_event.h"

typedef struct sink_router_config {
    export_format format;
    event_sensor sensor;    /* strings borrowed for the router's life */
    sink *events;           /* NULL = no events file */
    sink *transactions;     /* NULL = no transactions file */
    sink *kafka;            /* NULL = no Kafka */
    int kafka_transactions; /* 1 = transactions to Kafka too */
} sink_router_config;

typedef struct sink_router sink_router;

as_status sink_router_create(const sink_router_config *config, sink_router **out);

/* 1 when some sink takes transactions (else the caller can skip them). */
int sink_router_wants_transactions(const sink_router *r);

/* community: the flow's Community ID text (community_id_format). */
/* ctx: endpoint and identity from the later stages, or NULL. */
void sink_router_transaction(sink_router *r, const char *community, const http_transaction *tx,
                             const transaction_context *ctx);
void sink_router_endpoint(sink_router *r, const endpoint_record *rec);
void sink_router_finding(sink_router *r, const finding_record *rec);
/* Fills rec->exported with the sinks' figures, then writes the event. */
void sink_router_stats(sink_router *r, stats_record *rec);

/* An event the caller encoded itself in w (a kind without a --format
 * mapping, such as a stage's own report), routed like the kinds above. */
void sink_router_event(sink_router *r, sink_topic topic, const char *key, size_t key_len,
                       const json_writer *w);

/* The figures of every distinct sink, added up. */
sink_stats sink_router_sink_stats(const sink_router *r);

/* Events the encoder or a file sink failed on (Kafka counts its own drops). */
uint64_t sink_router_errors(const sink_router *r);

/* Serves Kafka's background work and hands the events buffered for files
 * on (a live sensor on a quiet link must not sit on them); call when no
 * packet comes for a while. */
void sink_router_poll(sink_router *r);

void sink_router_destroy(sink_router *r);

#endif
