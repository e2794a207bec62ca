/*
 * Splunk HTTP Event Collector shapes (see format_splunk.h, docs/formats.md).
 *
 * Every event is the HEC envelope {"time","host","source","sourcetype",
 * "event"}: time in epoch seconds with microseconds, host the sensor name,
 * source "apisensor", sourcetype "apisensor:<kind>". Inside "event" the
 * fields carry the names of Splunk's Common Information Model where one fits
 * (Web: src, dest, http_method, uri_path, status, bytes_in ...; Alerts/IDS:
 * signature, severity, src, user, dest ...) and the native names otherwise.
 */
#include "format_splunk.h"

#include "endpoint_event.h"
#include "finding_event.h"
#include "format.h"
#include "transaction_event.h"

/* Opens the envelope and its "event" object, which starts with
 * vendor_product; close both with splunk_close. */
static void splunk_open(json_writer *w, uint64_t ts_ns, const event_sensor *sensor,
                        const char *sourcetype) {
    json_object_begin(w);
    json_key(w, "time");
    json_fixed(w, ts_ns / 1000u, 6);
    json_key(w, "host");
    json_cstring(w, sensor->name);
    json_key(w, "source");
    json_cstring(w, "apisensor");
    json_key(w, "sourcetype");
    json_cstring(w, sourcetype);
    json_key(w, "event");
    json_object_begin(w);
    json_key(w, "vendor_product");
    json_cstring(w, "apisensor");
    json_key(w, "sensor_version");
    json_cstring(w, sensor->version);
}

static void splunk_close(json_writer *w) {
    json_object_end(w);
    json_object_end(w);
}

static void splunk_ip(json_writer *w, const char *key, const ip_address *ip) {
    json_key(w, key);
    format_ip(w, ip);
}

/* http_method, site and uri_path of an endpoint key. */
static void splunk_endpoint(json_writer *w, const record_endpoint *e) {
    format_view(w, "http_method", e->method);
    format_view(w, "site", e->host);
    format_view(w, "uri_path", e->path);
}

void format_splunk_transaction(json_writer *w, const event_sensor *sensor, const char *community,
                               const http_transaction *tx) {
    splunk_open(w, transaction_event_time(tx), sensor, "apisensor:transaction");
    splunk_ip(w, "src", &tx->client_ip);
    json_key(w, "src_port");
    json_uint(w, tx->client_port);
    splunk_ip(w, "dest", &tx->server_ip);
    json_key(w, "dest_port");
    json_uint(w, tx->server_port);
    format_view(w, "http_method", tx->method);
    format_view(w, "site", tx->host);
    format_view(w, "url", tx->uri);
    str_view path, query;
    format_split_uri(tx->uri, &path, &query);
    format_view(w, "uri_path", path);
    format_view(w, "uri_query", query);
    json_key(w, "status");
    if (tx->status)
        json_uint(w, tx->status);
    else
        json_null(w);
    char version[4];
    json_key(w, "http_version");
    json_cstring(w, transaction_event_version(tx, version));
    format_view(w, "http_content_type",
                tx->response.present ? tx->response.content_type : (str_view){NULL, 0});
    format_view(w, "http_user_agent", transaction_event_header(&tx->request, "user-agent"));
    json_key(w, "bytes_in");
    if (tx->request.present && tx->request.body_bytes_known)
        json_uint(w, tx->request.body_bytes);
    else
        json_null(w);
    json_key(w, "bytes_out");
    if (tx->response.present && tx->response.body_bytes_known)
        json_uint(w, tx->response.body_bytes);
    else
        json_null(w);
    uint64_t latency;
    json_key(w, "response_time"); /* milliseconds, with microseconds */
    if (transaction_event_latency_us(tx, &latency))
        json_fixed(w, latency, 3);
    else
        json_null(w);
    json_key(w, "community_id");
    json_cstring(w, community);
    json_key(w, "flags");
    transaction_event_flags(w, tx);
    splunk_close(w);
}

void format_splunk_endpoint(json_writer *w, const event_sensor *sensor, const endpoint_record *r) {
    splunk_open(w, r->ts_ns, sensor, "apisensor:endpoint");
    splunk_endpoint(w, &r->endpoint);
    endpoint_event_facts(w, r);
    splunk_close(w);
}

void format_splunk_finding(json_writer *w, const event_sensor *sensor, const finding_record *r) {
    splunk_open(w, r->ts_ns, sensor, "apisensor:finding");
    format_view(w, "id", r->id);
    format_view(w, "signature", r->type);
    json_key(w, "type");
    json_cstring(w, "alert");
    format_view(w, "severity", r->severity);
    format_view(w, "category", r->owasp);
    format_view(w, "description", r->summary);
    json_key(w, "count");
    json_uint(w, r->count);
    event_time_field(w, "first_seen", r->first_seen_ns);
    event_time_field(w, "last_seen", r->last_seen_ns);
    if (r->client_ip.family)
        splunk_ip(w, "src", &r->client_ip);
    if (str_view_present(r->identity_kind)) {
        format_view(w, "user", r->identity_id);
        format_view(w, "user_type", r->identity_kind);
    }
    if (r->has_endpoint) {
        format_view(w, "dest", r->endpoint.host);
        splunk_endpoint(w, &r->endpoint);
    }
    finding_event_clients(w, r);
    finding_event_endpoints(w, r);
    finding_event_details(w, r);
    json_key(w, "evidence");
    finding_event_evidence(w, r);
    splunk_close(w);
}

void format_splunk_stats(json_writer *w, const event_sensor *sensor, const stats_record *r) {
    splunk_open(w, r->ts_ns, sensor, "apisensor:stats");
    stats_event_facts(w, r);
    splunk_close(w);
}
