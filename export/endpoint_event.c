/*
 * Serialises an endpoint_record as the CONTRACT.md "endpoint" event.
 *
 * Key order is fixed: the contract's keys in the contract's order, then the
 * optional extras (content types, parameters, body fields) when the producer
 * filled them. Body fields are an object from the field path to the JSON
 * types seen there, in json_kind order: {"user.id":["integer"]}.
 * The four sensitive data locations are always written, [] when nothing was
 * seen; status_codes is an object keyed by the code as text, in the order
 * given (ascending by contract of records.h).
 */
#include "endpoint_event.h"

#include "format.h"
#include "format_ecs.h"
#include "format_ocsf.h"
#include "format_splunk.h"
#include "parse/json_fields.h"

const char *endpoint_event_status_name(record_endpoint_status status) {
    switch (status) {
    case RECORD_ENDPOINT_DECLARED:
        return "declared";
    case RECORD_ENDPOINT_SHADOW:
        return "shadow";
    case RECORD_ENDPOINT_ZOMBIE:
        return "zombie";
    case RECORD_ENDPOINT_UNKNOWN:
        break;
    }
    return "unknown";
}

static void write_list(json_writer *w, const char *key, const record_str_list *list) {
    json_key(w, key);
    format_str_list(w, list);
}

/* Decimal text of a status code (at most 5 digits for a uint16_t). */
static uint32_t code_text(uint16_t code, char out[6]) {
    char digits[6];
    uint32_t n = 0;
    do {
        digits[n++] = (char)('0' + code % 10);
        code /= 10;
    } while (code);
    for (uint32_t i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    out[n] = '\0';
    return n;
}

static void write_fields(json_writer *w, const char *key, const record_field_list *fields) {
    if (!fields->items || fields->count == 0)
        return;
    json_key(w, key);
    json_object_begin(w);
    for (uint32_t i = 0; i < fields->count; i++) {
        json_key_len(w, fields->items[i].path.ptr, fields->items[i].path.len);
        json_array_begin(w);
        for (int kind = 0; kind < JSON_KIND_COUNT; kind++)
            if (fields->items[i].types & (1u << kind))
                json_cstring(w, json_kind_name((json_kind)kind));
        json_array_end(w);
    }
    json_object_end(w);
}

void endpoint_event_write(json_writer *w, const event_sensor *sensor, const endpoint_record *r) {
    event_begin(w, "endpoint", r->ts_ns, sensor);
    json_key(w, "endpoint");
    format_endpoint(w, &r->endpoint);
    endpoint_event_facts(w, r);
    json_object_end(w);
}

void endpoint_event_facts(json_writer *w, const endpoint_record *r) {
    json_key(w, "status");
    json_cstring(w, endpoint_event_status_name(r->status));
    write_list(w, "auth", &r->auth);
    json_key(w, "sensitive_data");
    json_object_begin(w);
    write_list(w, "request_body", &r->sensitive_data.request_body);
    write_list(w, "request_headers", &r->sensitive_data.request_headers);
    write_list(w, "query", &r->sensitive_data.query);
    write_list(w, "response_body", &r->sensitive_data.response_body);
    json_object_end(w);
    json_key(w, "requests");
    json_uint(w, r->requests);
    json_key(w, "status_codes");
    json_object_begin(w);
    for (uint32_t i = 0; r->status_codes && i < r->status_code_count; i++) {
        char text[6];
        json_key_len(w, text, code_text(r->status_codes[i].code, text));
        json_uint(w, r->status_codes[i].count);
    }
    json_object_end(w);
    json_key(w, "identities");
    json_uint(w, r->identities);
    json_key(w, "clients");
    json_uint(w, r->clients);
    event_time_field(w, "first_seen", r->first_seen_ns);
    event_time_field(w, "last_seen", r->last_seen_ns);
    if (r->request_content_types.items || r->response_content_types.items) {
        json_key(w, "content_types");
        json_object_begin(w);
        write_list(w, "request", &r->request_content_types);
        write_list(w, "response", &r->response_content_types);
        json_object_end(w);
    }
    if (r->parameters) {
        json_key(w, "parameters");
        json_array_begin(w);
        for (uint32_t i = 0; i < r->parameter_count; i++) {
            const record_parameter *param = &r->parameters[i];
            json_object_begin(w);
            format_view(w, "name", param->name);
            format_view(w, "in", param->location);
            format_view(w, "type", param->type);
            json_object_end(w);
        }
        json_array_end(w);
    }
    write_fields(w, "request_fields", &r->request_fields);
    write_fields(w, "response_fields", &r->response_fields);
}

uint32_t endpoint_event_key(const record_endpoint *e, char *buf, uint32_t buflen) {
    static const str_view space = {" ", 1};
    uint32_t len = format_key_append(buf, 0, buflen, e->method);
    len = format_key_append(buf, len, buflen, space);
    len = format_key_append(buf, len, buflen, e->host);
    len = format_key_append(buf, len, buflen, space);
    return format_key_append(buf, len, buflen, e->path);
}

void endpoint_event_write_as(json_writer *w, export_format format, const event_sensor *sensor,
                             const endpoint_record *r) {
    switch (format) {
    case FORMAT_ECS:
        format_ecs_endpoint(w, sensor, r);
        break;
    case FORMAT_OCSF:
        format_ocsf_endpoint(w, sensor, r);
        break;
    case FORMAT_SPLUNK:
        format_splunk_endpoint(w, sensor, r);
        break;
    case FORMAT_NATIVE:
    default:
        endpoint_event_write(w, sensor, r);
        break;
    }
}
