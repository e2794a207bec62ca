/*
 * The "endpoint" event of CONTRACT.md (an inventory record), from an
 * endpoint_record (records.h), and the endpoint's Kafka key.
 */
#ifndef APISENSOR_EXPORT_ENDPOINT_EVENT_H
#define APISENSOR_EXPORT_ENDPOINT_EVENT_H

#include <stdint.h>

#include "event.h"
#include "format.h"
#include "json.h"
#include "records.h"

/* "declared" | "shadow" | "zombie" | "unknown" */
const char *endpoint_event_status_name(record_endpoint_status status);

/* Appends the native event (without a trailing newline) to w. */
void endpoint_event_write(json_writer *w, const event_sensor *sensor, const endpoint_record *r);

/* Appends the event in the given format. */
void endpoint_event_write_as(json_writer *w, export_format format, const event_sensor *sensor,
                             const endpoint_record *r);

/* The endpoint's facts (every key of the native event after "endpoint")
 * into the object being written; shared by the other formats. */
void endpoint_event_facts(json_writer *w, const endpoint_record *r);

/* "METHOD host path" into buf (NUL-terminated, truncated to buflen); returns
 * the length written. The Kafka key of the endpoints topic. */
uint32_t endpoint_event_key(const record_endpoint *e, char *buf, uint32_t buflen);

#endif
