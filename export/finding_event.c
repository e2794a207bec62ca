/*
 * Serialises a finding_record as the CONTRACT.md "finding" event.
 *
 * Key order is fixed: "finding" (the episode), "identity" (always: null for
 * an anonymous actor), then the optional actor and scope keys in the
 * contract's order, each left out when the record does not have it, and
 * "evidence" last (always, {} when empty).
 */
#include "finding_event.h"

#include <string.h>

#include "endpoint_event.h"
#include "format.h"
#include "format_ecs.h"
#include "format_ocsf.h"
#include "format_splunk.h"

void finding_event_evidence(json_writer *w, const finding_record *r) {
    json_object_begin(w);
    uint32_t n = r->evidence_count < RECORD_MAX_EVIDENCE ? r->evidence_count : RECORD_MAX_EVIDENCE;
    for (uint32_t i = 0; i < n; i++) {
        const record_evidence *e = &r->evidence[i];
        if (!e->key)
            continue;
        json_key(w, e->key);
        switch (e->kind) {
        case RECORD_EVIDENCE_INT:
            json_int(w, e->number);
            break;
        case RECORD_EVIDENCE_STRING_LIST:
            format_str_list(w, &e->list);
            break;
        case RECORD_EVIDENCE_STRING_MAP:
            json_object_begin(w);
            for (uint32_t k = 0; k < e->names.count && k < e->list.count; k++) {
                str_view name = e->names.items[k], value = e->list.items[k];
                if (!str_view_present(name) || !str_view_present(value))
                    continue;
                json_key_len(w, name.ptr, name.len);
                json_string(w, value.ptr, value.len);
            }
            json_object_end(w);
            break;
        case RECORD_EVIDENCE_STRING:
        default:
            if (str_view_present(e->text))
                json_string(w, e->text.ptr, e->text.len);
            else
                json_null(w);
            break;
        }
    }
    json_object_end(w);
}

void finding_event_identity(json_writer *w, const finding_record *r) {
    json_key(w, "identity");
    if (!str_view_present(r->identity_kind)) {
        json_null(w);
        return;
    }
    json_object_begin(w);
    format_view(w, "kind", r->identity_kind);
    format_view(w, "id", r->identity_id);
    json_object_end(w);
}

void finding_event_clients(json_writer *w, const finding_record *r) {
    if (!r->clients)
        return;
    json_key(w, "clients");
    json_array_begin(w);
    for (uint32_t i = 0; i < r->client_count; i++)
        format_ip(w, &r->clients[i]);
    json_array_end(w);
}

void finding_event_endpoints(json_writer *w, const finding_record *r) {
    if (!r->endpoints)
        return;
    json_key(w, "endpoints");
    json_array_begin(w);
    for (uint32_t i = 0; i < r->endpoint_count; i++)
        format_endpoint(w, &r->endpoints[i]);
    json_array_end(w);
}

void finding_event_details(json_writer *w, const finding_record *r) {
    format_view_optional(w, "parameter", r->parameter);
    if (r->data_types.items) {
        json_key(w, "data_types");
        format_str_list(w, &r->data_types);
    }
}

void finding_event_write(json_writer *w, const event_sensor *sensor, const finding_record *r) {
    event_begin(w, "finding", r->ts_ns, sensor);
    json_key(w, "finding");
    json_object_begin(w);
    format_view(w, "id", r->id);
    format_view(w, "type", r->type);
    format_view(w, "severity", r->severity);
    format_view(w, "owasp", r->owasp);
    event_time_field(w, "first_seen", r->first_seen_ns);
    event_time_field(w, "last_seen", r->last_seen_ns);
    json_key(w, "count");
    json_uint(w, r->count);
    format_view(w, "summary", r->summary);
    json_object_end(w);

    finding_event_identity(w, r);
    if (r->client_ip.family) {
        json_key(w, "client");
        json_object_begin(w);
        json_key(w, "ip");
        format_ip(w, &r->client_ip);
        json_object_end(w);
    }
    finding_event_clients(w, r);
    if (r->has_endpoint) {
        json_key(w, "endpoint");
        format_endpoint(w, &r->endpoint);
    }
    finding_event_endpoints(w, r);
    finding_event_details(w, r);
    json_key(w, "evidence");
    finding_event_evidence(w, r);
    json_object_end(w);
}

uint32_t finding_event_key(const finding_record *r, char *buf, uint32_t buflen) {
    static const str_view colon = {":", 1};
    if (str_view_present(r->identity_kind)) {
        uint32_t len = format_key_append(buf, 0, buflen, r->identity_kind);
        len = format_key_append(buf, len, buflen, colon);
        return format_key_append(buf, len, buflen, r->identity_id);
    }
    if (r->client_ip.family) {
        char text[64];
        const char *ip = ip_address_format(&r->client_ip, text, sizeof text);
        uint32_t len = format_key_append(buf, 0, buflen, (str_view){"client_ip:", 10});
        return format_key_append(buf, len, buflen, (str_view){ip, (uint32_t)strlen(ip)});
    }
    if (r->has_endpoint)
        return endpoint_event_key(&r->endpoint, buf, buflen);
    return format_key_append(buf, 0, buflen, r->id);
}

void finding_event_write_as(json_writer *w, export_format format, const event_sensor *sensor,
                            const finding_record *r) {
    switch (format) {
    case FORMAT_ECS:
        format_ecs_finding(w, sensor, r);
        break;
    case FORMAT_OCSF:
        format_ocsf_finding(w, sensor, r);
        break;
    case FORMAT_SPLUNK:
        format_splunk_finding(w, sensor, r);
        break;
    case FORMAT_NATIVE:
    default:
        finding_event_write(w, sensor, r);
        break;
    }
}
