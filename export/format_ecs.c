/*
 * Elastic Common Schema (ECS 9.4) shapes (see format_ecs.h, docs/formats.md).
 *
 * Every event opens with @timestamp, ecs.version, event.* and observer.* (the
 * sensor), then the ECS fields of its kind as nested objects, and ends with
 * "apisensor": the facts ECS has no field for, in the native names. Only
 * fields listed in ECS 9.4.0's fields.csv are used outside "apisensor", with
 * their ECS types (tests/export/schema_check.py checks it).
 */
#include "format_ecs.h"

#include "endpoint_event.h"
#include "finding_event.h"
#include "format.h"
#include "transaction_event.h"

#define ECS_VERSION "9.4.0"

/* Opens the event: @timestamp, ecs, then "event": {kind, category, type,
 * module, dataset ...} left open for the caller's event.* keys. */
static void ecs_open(json_writer *w, uint64_t ts_ns, const char *kind, const char *category,
                     const char *type, const char *dataset) {
    json_object_begin(w);
    event_time_field(w, "@timestamp", ts_ns);
    json_key(w, "ecs");
    json_object_begin(w);
    json_key(w, "version");
    json_cstring(w, ECS_VERSION);
    json_object_end(w);
    json_key(w, "event");
    json_object_begin(w);
    json_key(w, "kind");
    json_cstring(w, kind);
    json_key(w, "category");
    json_array_begin(w);
    json_cstring(w, category);
    json_array_end(w);
    json_key(w, "type");
    json_array_begin(w);
    json_cstring(w, type);
    json_array_end(w);
    json_key(w, "module");
    json_cstring(w, "apisensor");
    json_key(w, "dataset");
    json_cstring(w, dataset);
}

/* Closes "event" and writes observer (the sensor). */
static void ecs_observer(json_writer *w, const event_sensor *sensor) {
    json_object_end(w);
    json_key(w, "observer");
    json_object_begin(w);
    json_key(w, "name");
    json_cstring(w, sensor->name);
    json_key(w, "product");
    json_cstring(w, "apisensor");
    json_key(w, "vendor");
    json_cstring(w, "apisensor");
    json_key(w, "type");
    json_cstring(w, "sensor");
    json_key(w, "version");
    json_cstring(w, sensor->version);
    json_object_end(w);
}

/* url.domain, url.path and http.request.method of an endpoint key. */
static void ecs_endpoint(json_writer *w, const record_endpoint *e) {
    json_key(w, "url");
    json_object_begin(w);
    format_view_optional(w, "domain", format_host_name(e->host));
    format_view_optional(w, "path", e->path);
    json_object_end(w);
    json_key(w, "http");
    json_object_begin(w);
    json_key(w, "request");
    json_object_begin(w);
    format_view_optional(w, "method", e->method);
    json_object_end(w);
    json_object_end(w);
}

static void ecs_message(json_writer *w, const char *key, const http_message *m, int response,
                        uint16_t status) {
    json_key(w, key);
    json_object_begin(w);
    if (response && status) {
        json_key(w, "status_code");
        json_uint(w, status);
    }
    if (m->present)
        format_view_optional(w, "mime_type", m->content_type);
    if (m->present && m->body_bytes_known) {
        json_key(w, "body");
        json_object_begin(w);
        json_key(w, "bytes");
        json_uint(w, m->body_bytes);
        json_object_end(w);
    }
    json_object_end(w);
}

void format_ecs_transaction(json_writer *w, const event_sensor *sensor, const char *community,
                            const http_transaction *tx) {
    ecs_open(w, transaction_event_time(tx), "event", "web", tx->status ? "access" : "info",
             "apisensor.transaction");
    json_key(w, "outcome");
    json_cstring(w, !tx->status ? "unknown" : tx->status < 400 ? "success" : "failure");
    uint64_t latency;
    if (transaction_event_latency_us(tx, &latency)) {
        json_key(w, "duration"); /* ECS: nanoseconds */
        json_uint(w, latency * 1000u);
    }
    ecs_observer(w, sensor);
    format_address(w, "source", &tx->client_ip, tx->client_port);
    format_address(w, "destination", &tx->server_ip, tx->server_port);
    json_key(w, "network");
    json_object_begin(w);
    json_key(w, "community_id");
    json_cstring(w, community);
    json_key(w, "transport");
    json_cstring(w, "tcp");
    json_key(w, "protocol");
    json_cstring(w, "http");
    json_object_end(w);
    str_view path, query;
    format_split_uri(tx->uri, &path, &query);
    json_key(w, "url");
    json_object_begin(w);
    format_view_optional(w, "original", tx->uri);
    format_view_optional(w, "path", path);
    format_view_optional(w, "query", query);
    format_view_optional(w, "domain", format_host_name(tx->host));
    json_object_end(w);
    json_key(w, "http");
    json_object_begin(w);
    char version[4];
    const char *version_text = transaction_event_version(tx, version);
    if (version_text) {
        json_key(w, "version");
        json_cstring(w, version_text);
    }
    json_key(w, "request");
    json_object_begin(w);
    format_view_optional(w, "method", tx->method);
    if (tx->request.present)
        format_view_optional(w, "mime_type", tx->request.content_type);
    if (tx->request.present && tx->request.body_bytes_known) {
        json_key(w, "body");
        json_object_begin(w);
        json_key(w, "bytes");
        json_uint(w, tx->request.body_bytes);
        json_object_end(w);
    }
    json_object_end(w);
    ecs_message(w, "response", &tx->response, 1, tx->status);
    json_object_end(w);
    str_view agent = transaction_event_header(&tx->request, "user-agent");
    if (str_view_present(agent)) {
        json_key(w, "user_agent");
        json_object_begin(w);
        format_view(w, "original", agent);
        json_object_end(w);
    }
    json_key(w, "apisensor");
    json_object_begin(w);
    json_key(w, "event");
    json_cstring(w, "transaction");
    if (transaction_event_latency_us(tx, &latency)) {
        json_key(w, "latency_us");
        json_uint(w, latency);
    }
    json_key(w, "flags");
    transaction_event_flags(w, tx);
    json_object_end(w);
    json_object_end(w);
}

void format_ecs_endpoint(json_writer *w, const event_sensor *sensor, const endpoint_record *r) {
    ecs_open(w, r->ts_ns, "asset", "web", "info", "apisensor.endpoint");
    event_time_field(w, "start", r->first_seen_ns);
    event_time_field(w, "end", r->last_seen_ns);
    ecs_observer(w, sensor);
    ecs_endpoint(w, &r->endpoint);
    json_key(w, "apisensor");
    json_object_begin(w);
    json_key(w, "event");
    json_cstring(w, "endpoint");
    json_key(w, "endpoint");
    json_object_begin(w);
    format_view(w, "method", r->endpoint.method);
    format_view(w, "host", r->endpoint.host);
    format_view(w, "path", r->endpoint.path);
    endpoint_event_facts(w, r);
    json_object_end(w);
    json_object_end(w);
    json_object_end(w);
}

/* event.severity: the risk-score scale of Elastic detection rules. */
static int64_t ecs_severity(str_view severity) {
    static const struct {
        const char *name;
        int64_t score;
    } scale[] = {{"info", 1}, {"low", 21}, {"medium", 47}, {"high", 73}, {"critical", 99}};
    for (unsigned i = 0; i < sizeof scale / sizeof scale[0]; i++)
        if (severity.ptr && severity.len == strlen(scale[i].name) &&
            !memcmp(severity.ptr, scale[i].name, severity.len))
            return scale[i].score;
    return 0;
}

void format_ecs_finding(json_writer *w, const event_sensor *sensor, const finding_record *r) {
    ecs_open(w, r->ts_ns, "alert", "intrusion_detection", "info", "apisensor.finding");
    format_view(w, "id", r->id);
    format_view_optional(w, "action", r->type);
    json_key(w, "severity");
    json_int(w, ecs_severity(r->severity));
    event_time_field(w, "start", r->first_seen_ns);
    event_time_field(w, "end", r->last_seen_ns);
    ecs_observer(w, sensor);
    format_view_optional(w, "message", r->summary);
    json_key(w, "rule");
    json_object_begin(w);
    format_view(w, "name", r->type);
    format_view_optional(w, "id", r->owasp);
    json_key(w, "ruleset");
    json_cstring(w, "OWASP API Security Top 10 2023");
    json_object_end(w);
    if (r->client_ip.family)
        format_address(w, "source", &r->client_ip, 0);
    if (r->clients && r->client_count) {
        json_key(w, "related");
        json_object_begin(w);
        json_key(w, "ip");
        json_array_begin(w);
        for (uint32_t i = 0; i < r->client_count; i++)
            format_ip(w, &r->clients[i]);
        json_array_end(w);
        json_object_end(w);
    }
    if (str_view_present(r->identity_kind)) {
        json_key(w, "user");
        json_object_begin(w);
        format_view(w, "id", r->identity_id);
        json_object_end(w);
    }
    if (r->has_endpoint)
        ecs_endpoint(w, &r->endpoint);
    json_key(w, "apisensor");
    json_object_begin(w);
    json_key(w, "event");
    json_cstring(w, "finding");
    json_key(w, "finding");
    json_object_begin(w);
    format_view(w, "severity", r->severity);
    json_key(w, "count");
    json_uint(w, r->count);
    json_object_end(w);
    finding_event_identity(w, r);
    finding_event_endpoints(w, r);
    finding_event_details(w, r);
    json_key(w, "evidence");
    finding_event_evidence(w, r);
    json_object_end(w);
    json_object_end(w);
}

void format_ecs_stats(json_writer *w, const event_sensor *sensor, const stats_record *r) {
    ecs_open(w, r->ts_ns, "metric", "host", "info", "apisensor.stats");
    ecs_observer(w, sensor);
    json_key(w, "apisensor");
    json_object_begin(w);
    json_key(w, "event");
    json_cstring(w, "stats");
    json_key(w, "stats");
    json_object_begin(w);
    stats_event_facts(w, r);
    json_object_end(w);
    json_object_end(w);
    json_object_end(w);
}
