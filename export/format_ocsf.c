/*
 * OCSF 1.8.0 shapes (see format_ocsf.h, docs/formats.md):
 *   transaction -> API Activity (6003), activity from the method
 *   finding     -> Detection Finding (2004), Create for the first report of
 *                  an episode, Update after
 *   endpoint    -> Cloud Resources Inventory Info (5023), one resource
 *   stats       -> Base Event (0), counters in "unmapped"
 * Every event opens with the classification (activity, category, class,
 * type, severity), time (epoch milliseconds) and metadata (product, schema
 * version, log name, the sensor as reporter). Facts OCSF has no attribute for
 * go to "unmapped" in the native names. tests/export/schema_check.py checks
 * every attribute against the 1.8.0 schema source.
 */
#include "format_ocsf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "endpoint_event.h"
#include "finding_event.h"
#include "format.h"
#include "transaction_event.h"

#define OCSF_VERSION "1.8.0"

typedef struct ocsf_class {
    int category_uid;
    const char *category_name;
    int class_uid;
    const char *class_name;
} ocsf_class;

static const ocsf_class api_activity = {6, "Application Activity", 6003, "API Activity"};
static const ocsf_class detection_finding = {2, "Findings", 2004, "Detection Finding"};
static const ocsf_class inventory_info = {5, "Discovery", 5023, "Cloud Resources Inventory Info"};
static const ocsf_class base_event = {0, "Uncategorized", 0, "Base Event"};

static const char *const severity_names[] = {"Unknown", "Informational", "Low",
                                             "Medium",  "High",          "Critical"};

/* Opens the event with its classification, time and metadata. */
static void ocsf_open(json_writer *w, const ocsf_class *c, int activity_id,
                      const char *activity_name, int severity_id, uint64_t ts_ns,
                      const event_sensor *sensor, const char *log_name) {
    char type_name[96];
    json_object_begin(w);
    json_key(w, "activity_id");
    json_int(w, activity_id);
    json_key(w, "activity_name");
    json_cstring(w, activity_name);
    json_key(w, "category_uid");
    json_int(w, c->category_uid);
    json_key(w, "category_name");
    json_cstring(w, c->category_name);
    json_key(w, "class_uid");
    json_int(w, c->class_uid);
    json_key(w, "class_name");
    json_cstring(w, c->class_name);
    json_key(w, "type_uid");
    json_int(w, (int64_t)c->class_uid * 100 + activity_id);
    json_key(w, "type_name");
    snprintf(type_name, sizeof type_name, "%s: %s", c->class_name, activity_name);
    json_cstring(w, type_name);
    json_key(w, "severity_id");
    json_int(w, severity_id);
    json_key(w, "severity");
    json_cstring(w, severity_names[severity_id]);
    json_key(w, "time");
    json_uint(w, ts_ns / 1000000u);
    json_key(w, "metadata");
    json_object_begin(w);
    json_key(w, "version");
    json_cstring(w, OCSF_VERSION);
    json_key(w, "log_name");
    json_cstring(w, log_name);
    json_key(w, "product");
    json_object_begin(w);
    json_key(w, "name");
    json_cstring(w, "apisensor");
    json_key(w, "vendor_name");
    json_cstring(w, "apisensor");
    json_key(w, "version");
    json_cstring(w, sensor->version);
    json_object_end(w);
    json_key(w, "reporter");
    json_object_begin(w);
    json_key(w, "name");
    json_cstring(w, sensor->name);
    json_object_end(w);
    json_object_end(w);
}

static int view_is(str_view v, const char *text) {
    return v.ptr && v.len == strlen(text) && !memcmp(v.ptr, text, v.len);
}

/* API Activity's activity from the method: CRUD, else Other. */
static int method_activity(str_view method, const char **name) {
    static const struct {
        const char *method;
        int id;
        const char *name;
    } map[] = {{"POST", 1, "Create"}, {"GET", 2, "Read"},     {"HEAD", 2, "Read"},
               {"PUT", 3, "Update"},  {"PATCH", 3, "Update"}, {"DELETE", 4, "Delete"}};
    for (unsigned i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (view_is(method, map[i].method)) {
            *name = map[i].name;
            return map[i].id;
        }
    }
    *name = "Other";
    return 99;
}

void format_ocsf_transaction(json_writer *w, const event_sensor *sensor, const char *community,
                             const http_transaction *tx) {
    const char *activity_name;
    int activity_id = method_activity(tx->method, &activity_name);
    ocsf_open(w, &api_activity, activity_id, activity_name, 1, transaction_event_time(tx), sensor,
              "transactions");
    json_key(w, "status_id");
    json_int(w, !tx->status ? 0 : tx->status < 400 ? 1 : 2);
    json_key(w, "status");
    json_cstring(w, !tx->status ? "Unknown" : tx->status < 400 ? "Success" : "Failure");
    json_key(w, "actor");
    json_object_begin(w);
    json_key(w, "user");
    json_object_begin(w);
    json_key(w, "type_id");
    json_int(w, 0); /* Unknown: the transaction record carries no identity */
    json_key(w, "type");
    json_cstring(w, "Unknown");
    json_object_end(w);
    json_object_end(w);
    json_key(w, "api");
    json_object_begin(w);
    json_key(w, "operation");
    if (str_view_present(tx->method))
        json_string(w, tx->method.ptr, tx->method.len);
    else
        json_cstring(w, "unknown");
    if (str_view_present(tx->host)) {
        json_key(w, "service");
        json_object_begin(w);
        format_view(w, "name", tx->host);
        json_object_end(w);
    }
    json_object_end(w);
    format_address(w, "src_endpoint", &tx->client_ip, tx->client_port);
    format_address(w, "dst_endpoint", &tx->server_ip, tx->server_port);
    str_view path, query;
    format_split_uri(tx->uri, &path, &query);
    json_key(w, "http_request");
    json_object_begin(w);
    format_view_optional(w, "http_method", tx->method);
    json_key(w, "url");
    json_object_begin(w);
    format_view_optional(w, "hostname", format_host_name(tx->host));
    format_view_optional(w, "path", path);
    format_view_optional(w, "query_string", query);
    json_object_end(w);
    char version[4];
    const char *version_text = transaction_event_version(tx, version);
    if (version_text) {
        json_key(w, "version");
        json_cstring(w, version_text);
    }
    format_view_optional(w, "user_agent", transaction_event_header(&tx->request, "user-agent"));
    if (tx->request.present && tx->request.body_bytes_known) {
        json_key(w, "body_length");
        json_uint(w, tx->request.body_bytes);
    }
    json_object_end(w);
    uint64_t latency;
    if (tx->status) {
        json_key(w, "http_response");
        json_object_begin(w);
        json_key(w, "code");
        json_uint(w, tx->status);
        format_view_optional(w, "content_type", tx->response.content_type);
        if (tx->response.body_bytes_known) {
            json_key(w, "body_length");
            json_uint(w, tx->response.body_bytes);
        }
        if (transaction_event_latency_us(tx, &latency)) {
            json_key(w, "latency"); /* milliseconds */
            json_uint(w, latency / 1000u);
        }
        json_object_end(w);
    }
    json_key(w, "unmapped");
    json_object_begin(w);
    json_key(w, "community_id");
    json_cstring(w, community);
    format_view_optional(w, "uri", tx->uri);
    if (tx->request.present)
        format_view_optional(w, "request_content_type", tx->request.content_type);
    if (transaction_event_latency_us(tx, &latency)) {
        json_key(w, "latency_us");
        json_uint(w, latency);
    }
    json_key(w, "flags");
    transaction_event_flags(w, tx);
    json_object_end(w);
    json_object_end(w);
}

/* A resource_details for an endpoint: type, name and uid "METHOD host path". */
static void ocsf_resource_open(json_writer *w, const record_endpoint *e) {
    char key[1024];
    uint32_t len = endpoint_event_key(e, key, sizeof key);
    json_object_begin(w);
    json_key(w, "type");
    json_cstring(w, "api_endpoint");
    json_key(w, "name");
    json_string(w, key, len);
    json_key(w, "uid");
    json_string(w, key, len);
    format_view_optional(w, "hostname", format_host_name(e->host));
}

void format_ocsf_endpoint(json_writer *w, const event_sensor *sensor, const endpoint_record *r) {
    ocsf_open(w, &inventory_info, 1, "Log", 1, r->ts_ns, sensor, "endpoints");
    json_key(w, "start_time");
    json_uint(w, r->first_seen_ns / 1000000u);
    json_key(w, "end_time");
    json_uint(w, r->last_seen_ns / 1000000u);
    json_key(w, "resources");
    json_array_begin(w);
    ocsf_resource_open(w, &r->endpoint);
    json_key(w, "labels");
    json_array_begin(w);
    json_cstring(w, endpoint_event_status_name(r->status));
    json_array_end(w);
    json_key(w, "data");
    json_object_begin(w);
    json_key(w, "endpoint");
    format_endpoint(w, &r->endpoint);
    endpoint_event_facts(w, r);
    json_object_end(w);
    json_object_end(w);
    json_array_end(w);
    json_object_end(w);
}

static int finding_severity(str_view severity) {
    for (int id = 1; id < (int)(sizeof severity_names / sizeof severity_names[0]); id++) {
        /* OCSF captions are capitalised; ours are lower case, and "info" is
         * Informational */
        const char *name = severity_names[id];
        if (severity.ptr && severity.len >= 3 && severity.len <= strlen(name) &&
            !strncasecmp(severity.ptr, name, severity.len))
            return id;
    }
    return 0;
}

void format_ocsf_finding(json_writer *w, const event_sensor *sensor, const finding_record *r) {
    int update = r->count > 1;
    ocsf_open(w, &detection_finding, update ? 2 : 1, update ? "Update" : "Create",
              finding_severity(r->severity), r->ts_ns, sensor, "findings");
    format_view_optional(w, "message", r->summary);
    json_key(w, "count");
    json_uint(w, r->count);
    json_key(w, "start_time");
    json_uint(w, r->first_seen_ns / 1000000u);
    json_key(w, "end_time");
    json_uint(w, r->last_seen_ns / 1000000u);
    json_key(w, "is_alert");
    json_bool(w, 1);
    json_key(w, "status_id");
    json_int(w, 1);
    json_key(w, "status");
    json_cstring(w, "New");
    json_key(w, "finding_info");
    json_object_begin(w);
    format_view(w, "uid", r->id);
    format_view(w, "title", r->type);
    format_view_optional(w, "desc", r->summary);
    json_key(w, "types");
    json_array_begin(w);
    json_string(w, r->type.ptr ? r->type.ptr : "", r->type.ptr ? r->type.len : 0);
    json_array_end(w);
    json_key(w, "first_seen_time");
    json_uint(w, r->first_seen_ns / 1000000u);
    json_key(w, "last_seen_time");
    json_uint(w, r->last_seen_ns / 1000000u);
    json_key(w, "analytic");
    json_object_begin(w);
    format_view(w, "name", r->type);
    format_view(w, "uid", r->type);
    json_key(w, "type_id");
    json_int(w, 1);
    json_key(w, "type");
    json_cstring(w, "Rule");
    json_object_end(w);
    json_object_end(w);

    json_key(w, "evidences");
    json_array_begin(w);
    json_object_begin(w);
    if (str_view_present(r->identity_kind)) {
        json_key(w, "actor");
        json_object_begin(w);
        json_key(w, "user");
        json_object_begin(w);
        format_view(w, "uid", r->identity_id);
        json_object_end(w);
        json_object_end(w);
    }
    if (r->client_ip.family)
        format_address(w, "src_endpoint", &r->client_ip, 0);
    if (r->has_endpoint) {
        json_key(w, "http_request");
        json_object_begin(w);
        format_view_optional(w, "http_method", r->endpoint.method);
        json_key(w, "url");
        json_object_begin(w);
        format_view_optional(w, "hostname", format_host_name(r->endpoint.host));
        format_view_optional(w, "path", r->endpoint.path);
        json_object_end(w);
        json_object_end(w);
    }
    json_key(w, "data");
    finding_event_evidence(w, r);
    json_object_end(w);
    json_array_end(w);

    if (r->has_endpoint || (r->endpoints && r->endpoint_count)) {
        json_key(w, "resources");
        json_array_begin(w);
        if (r->has_endpoint) {
            ocsf_resource_open(w, &r->endpoint);
            json_object_end(w);
        }
        for (uint32_t i = 0; r->endpoints && i < r->endpoint_count; i++) {
            ocsf_resource_open(w, &r->endpoints[i]);
            json_object_end(w);
        }
        json_array_end(w);
    }
    json_key(w, "unmapped");
    json_object_begin(w);
    format_view(w, "owasp", r->owasp);
    format_view(w, "severity", r->severity);
    finding_event_identity(w, r);
    finding_event_clients(w, r);
    finding_event_details(w, r);
    json_object_end(w);
    json_object_end(w);
}

void format_ocsf_stats(json_writer *w, const event_sensor *sensor, const stats_record *r) {
    ocsf_open(w, &base_event, 99, "Other", 1, r->ts_ns, sensor, "stats");
    json_key(w, "message");
    json_cstring(w, r->final ? "apisensor run totals" : "apisensor periodic counters");
    json_key(w, "unmapped");
    json_object_begin(w);
    stats_event_facts(w, r);
    json_object_end(w);
    json_object_end(w);
}
