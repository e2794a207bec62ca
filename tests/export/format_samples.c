/*
 * Test helper: writes sample endpoint, finding and stats events in one
 * format, one JSON line each, to stdout:
 *
 *   format_samples native|ecs|ocsf|splunk
 *
 * The pipeline does not produce endpoint and finding events until the
 * inventory and analytics stages exist (#3, #4); these records give the
 * golden tests (tests/golden/records-*) and the schema checks
 * (tests/export/schema_check.py) every field those events can carry.
 */
#include <stdio.h>
#include <string.h>

#include "export/endpoint_event.h"
#include "export/finding_event.h"
#include "export/stats_event.h"

#define V(text) ((str_view){text, (uint32_t)sizeof(text) - 1})

static const event_sensor sensor = {"golden", "0.1.0"};

static void line(json_writer *w) {
    fwrite(w->buf, 1, w->len, stdout);
    putchar('\n');
    json_writer_reset(w);
}

static void write_endpoint(json_writer *w, export_format format) {
    static const str_view auth[] = {V("bearer_jwt")};
    static const str_view response_types[] = {V("email"), V("phone")};
    static const str_view query_types[] = {V("api_key")};
    static const str_view request_ct[] = {V("application/json")};
    static const record_status_count codes[] = {{200, 120}, {404, 8}};
    static const record_parameter params[] = {{V("id"), V("path"), V("integer")},
                                              {V("expand"), V("query"), V("string")}};
    endpoint_record r;
    memset(&r, 0, sizeof r);
    r.ts_ns = 1700000100000000000ull;
    r.endpoint = (record_endpoint){V("GET"), V("api.example.com:8443"), V("/users/{id}")};
    r.status = RECORD_ENDPOINT_SHADOW;
    r.auth = (record_str_list){auth, 1};
    r.sensitive_data.query = (record_str_list){query_types, 1};
    r.sensitive_data.response_body = (record_str_list){response_types, 2};
    r.requests = 128;
    r.status_codes = codes;
    r.status_code_count = 2;
    r.identities = 37;
    r.clients = 35;
    r.first_seen_ns = 1700000000000000000ull;
    r.last_seen_ns = 1700000099000000000ull;
    r.request_content_types = (record_str_list){request_ct, 1};
    r.response_content_types = (record_str_list){request_ct, 1};
    r.parameters = params;
    r.parameter_count = 2;
    endpoint_event_write_as(w, format, &sensor, &r);
    line(w);
}

static void write_findings(json_writer *w, export_format format) {
    static const str_view statuses[] = {V("200"), V("404")};
    static const ip_address clients[2] = {{4, {10, 1, 2, 3}}, {4, {10, 1, 2, 4}}};
    static const record_endpoint endpoints[2] = {{V("GET"), V("shop"), V("/orders/{id}")},
                                                 {V("GET"), V("shop"), V("/carts/{id}")}};
    finding_record r;
    memset(&r, 0, sizeof r);
    r.ts_ns = 1700000200000000000ull;
    r.id = V("bola-17-shop");
    r.type = V("bola");
    r.severity = V("high");
    r.owasp = V("API1:2023");
    r.first_seen_ns = 1700000150000000000ull;
    r.last_seen_ns = 1700000200000000000ull;
    r.count = 110;
    r.summary = V("jwt_sub 17 read 96 orders of 9 other users");
    r.identity_kind = V("jwt_sub");
    r.identity_id = V("17");
    r.client_ip = clients[0];
    r.clients = clients;
    r.client_count = 2;
    r.endpoints = endpoints;
    r.endpoint_count = 2;
    r.evidence[0] =
        (record_evidence){.key = "foreign_objects", .kind = RECORD_EVIDENCE_INT, .number = 96};
    r.evidence[1] = (record_evidence){.key = "statuses",
                                      .kind = RECORD_EVIDENCE_STRING_LIST,
                                      .list = (record_str_list){statuses, 2}};
    r.evidence_count = 2;
    finding_event_write_as(w, format, &sensor, &r);
    line(w);

    static const str_view types[] = {V("api_key")};
    memset(&r, 0, sizeof r);
    r.ts_ns = 1700000300000000000ull;
    r.id = V("token_in_url-search");
    r.type = V("token_in_url");
    r.severity = V("medium");
    r.owasp = V("API2:2023");
    r.first_seen_ns = r.last_seen_ns = 1700000300000000000ull;
    r.count = 1;
    r.summary = V("api_key in the query string of GET /search");
    r.has_endpoint = 1;
    r.endpoint = (record_endpoint){V("GET"), V("api.example.com"), V("/search")};
    r.parameter = V("api_key");
    r.data_types = (record_str_list){types, 1};
    r.evidence[0] = (record_evidence){
        .key = "value", .kind = RECORD_EVIDENCE_STRING, .text = V("sk_l************9f2a")};
    r.evidence_count = 1;
    finding_event_write_as(w, format, &sensor, &r);
    line(w);
}

static void write_stats(json_writer *w, export_format format) {
    static const stats_counter counters[] = {{"packets", 1000}, {"transactions", 50}};
    static const stats_counter anomalies[] = {{"decode.l4.other", 3}};
    stats_record r = {
        .ts_ns = 1700000400000000000ull,
        .final = 1,
        .interval_seconds = 60,
        .counters = counters,
        .counter_count = 2,
        .anomalies = anomalies,
        .anomaly_count = 1,
        .exported = {.written = 52, .delivered = 50, .spooled = 2, .replayed = 2},
    };
    stats_event_write_as(w, format, &sensor, &r);
    line(w);
}

int main(int argc, char **argv) {
    export_format format;
    if (argc != 2 || !format_parse(argv[1], &format)) {
        fprintf(stderr, "usage: format_samples native|ecs|ocsf|splunk\n");
        return 2;
    }
    json_writer w;
    json_writer_init(&w);
    write_endpoint(&w, format);
    write_findings(&w, format);
    write_stats(&w, format);
    int ok = json_writer_ok(&w);
    json_writer_free(&w);
    return ok && fflush(stdout) == 0 ? 0 : 1;
}
