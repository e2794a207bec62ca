/*
 * Event shapes (--format) and the small writers every event encoder shares:
 * a borrowed string, a list of strings, an endpoint key, an address.
 *
 * native is CONTRACT.md's shape; ecs, ocsf and splunk re-shape the same facts
 * for Elastic, OCSF consumers and Splunk HEC (docs/formats.md has the
 * tables). Writers only append to a json_writer; absent values follow the
 * records.h rules.
 */
#ifndef APISENSOR_EXPORT_FORMAT_H
#define APISENSOR_EXPORT_FORMAT_H

#include "capture/packet.h"
#include "common/strview.h"
#include "json.h"
#include "records.h"

typedef enum {
    FORMAT_NATIVE = 0,
    FORMAT_ECS,
    FORMAT_OCSF,
    FORMAT_SPLUNK,
} export_format;

/* Parses "native" | "ecs" | "ocsf" | "splunk"; returns 0 for an unknown name. */
int format_parse(const char *name, export_format *out);
const char *format_name(export_format format);

/* key: string, or null when v is absent. */
void format_view(json_writer *w, const char *key, str_view v);
/* key: string, left out when v is absent. */
void format_view_optional(json_writer *w, const char *key, str_view v);
/* The list as an array; an absent list is []. */
void format_str_list(json_writer *w, const record_str_list *list);
/* {"method","host","path"} */
void format_endpoint(json_writer *w, const record_endpoint *e);
/* The address as a string value (null for family 0). */
void format_ip(json_writer *w, const ip_address *ip);

/* key: {"ip": ..., "port": ...}, the port left out when 0. */
void format_address(json_writer *w, const char *key, const ip_address *ip, uint16_t port);

/* Splits a request-target at the first '?': path (the whole target when
 * there is no '?') and query (absent when there is no '?'). */
void format_split_uri(str_view uri, str_view *path, str_view *query);

/* The name part of a Host value: without a ":port" suffix (an IPv6 literal
 * keeps its brackets off: "[::1]:80" -> "::1"). */
str_view format_host_name(str_view host);

/* Appends v (nothing when absent) to the NUL-terminated key text being built
 * in buf at length len, truncating to buflen - 1 bytes; returns the new
 * length and keeps buf NUL-terminated. For Kafka message keys. */
uint32_t format_key_append(char *buf, uint32_t len, uint32_t buflen, str_view v);

#endif
