/*
 * Encoding and routing of events (see sink_router.h).
 */
#include "sink_router.h"

#include <stdlib.h>
#include <string.h>

#include "endpoint_event.h"
#include "finding_event.h"
#include "transaction_event.h"

/* Room for a Kafka key: "METHOD host path" of a long path is cut here. */
#define ROUTER_KEY_MAX 1024

struct sink_router {
    sink_router_config config;
    json_writer json;
    uint64_t errors;
};

as_status sink_router_create(const sink_router_config *config, sink_router **out) {
    *out = NULL;
    sink_router *r = calloc(1, sizeof *r);
    if (!r)
        return AS_ERR_NOMEM;
    r->config = *config;
    json_writer_init(&r->json);
    *out = r;
    return AS_OK;
}

int sink_router_wants_transactions(const sink_router *r) {
    return r->config.transactions || (r->config.kafka && r->config.kafka_transactions);
}

/* Hands the event in w to the sinks that want its kind. */
static void route_json(sink_router *r, sink_topic topic, const char *key, size_t key_len,
                       const json_writer *w) {
    if (!json_writer_ok(w)) {
        r->errors++;
        return;
    }
    sink *file = topic == SINK_TRANSACTIONS ? r->config.transactions : r->config.events;
    if (file && sink_write(file, topic, key, key_len, w->buf, w->len) != AS_OK)
        r->errors++;
    if (r->config.kafka && (topic != SINK_TRANSACTIONS || r->config.kafka_transactions))
        sink_write(r->config.kafka, topic, key, key_len, w->buf, w->len);
}

static void route(sink_router *r, sink_topic topic, const char *key, size_t key_len) {
    route_json(r, topic, key, key_len, &r->json);
}

void sink_router_event(sink_router *r, sink_topic topic, const char *key, size_t key_len,
                       const json_writer *w) {
    route_json(r, topic, key, key_len, w);
}

void sink_router_transaction(sink_router *r, const char *community, const http_transaction *tx,
                             const transaction_context *ctx) {
    if (!sink_router_wants_transactions(r))
        return;
    json_writer_reset(&r->json);
    transaction_event_write_as(&r->json, r->config.format, &r->config.sensor, community, tx, ctx);
    route(r, SINK_TRANSACTIONS, community, strlen(community));
}

void sink_router_endpoint(sink_router *r, const endpoint_record *rec) {
    char key[ROUTER_KEY_MAX];
    uint32_t key_len = endpoint_event_key(&rec->endpoint, key, sizeof key);
    json_writer_reset(&r->json);
    endpoint_event_write_as(&r->json, r->config.format, &r->config.sensor, rec);
    route(r, SINK_ENDPOINTS, key, key_len);
}

void sink_router_finding(sink_router *r, const finding_record *rec) {
    char key[ROUTER_KEY_MAX];
    uint32_t key_len = finding_event_key(rec, key, sizeof key);
    json_writer_reset(&r->json);
    finding_event_write_as(&r->json, r->config.format, &r->config.sensor, rec);
    route(r, SINK_FINDINGS, key, key_len);
}

sink_stats sink_router_sink_stats(const sink_router *r) {
    sink_stats sum;
    memset(&sum, 0, sizeof sum);
    sink *sinks[3] = {r->config.events, r->config.transactions, r->config.kafka};
    for (int i = 0; i < 3; i++) {
        if (!sinks[i] || (i == 1 && sinks[1] == sinks[0]))
            continue;
        sink_stats s = sink_get_stats(sinks[i]);
        sink_stats_add(&sum, &s);
    }
    return sum;
}

void sink_router_stats(sink_router *r, stats_record *rec) {
    rec->exported = sink_router_sink_stats(r);
    json_writer_reset(&r->json);
    stats_event_write_as(&r->json, r->config.format, &r->config.sensor, rec);
    const char *name = r->config.sensor.name ? r->config.sensor.name : "";
    route(r, SINK_STATS, name, strlen(name));
}

uint64_t sink_router_errors(const sink_router *r) {
    return r->errors;
}

void sink_router_poll(sink_router *r) {
    if (r->config.kafka)
        sink_poll(r->config.kafka);
    if (r->config.events)
        sink_flush(r->config.events, 0);
    if (r->config.transactions)
        sink_flush(r->config.transactions, 0);
}

void sink_router_destroy(sink_router *r) {
    if (!r)
        return;
    json_writer_free(&r->json);
    free(r);
}
