/*
 * The "endpoint" event of CONTRACT.md (an inventory record), from an
 * endpoint_record (records.h), and the endpoint's Kafka key.
 */
#ifndef APISENSOR_EXPORT_ENDPOINT_EVENT_H
#define APISENSOR_EXPORT_ENDPOINT_EVENT_H

#include <stdint.h>

#include "event.h"
#include "json.h"
#include "records.h"

/* "declared" | "shadow" | "zombie" | "unknown" */
const char *endpoint_event_status_name(record_endpoint_status status);

/* Appends the native event (without a trailing newline) to w. */
void endpoint_event_write(json_writer *w, const event_sensor *sensor, const endpoint_record *r);

/* "METHOD host path" into buf (NUL-terminated, truncated to buflen); returns
 * the length written. The Kafka key of the endpoints topic. */
uint32_t endpoint_event_key(const record_endpoint *e, char *buf, uint32_t buflen);

#endif
