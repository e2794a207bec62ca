/*
 * What every exported event shares: the opening keys "event", "@timestamp"
 * (ISO 8601 UTC with microseconds, from packet time) and "sensor".
 */
#ifndef APISENSOR_EXPORT_EVENT_H
#define APISENSOR_EXPORT_EVENT_H

#include <stdint.h>

#include "json.h"

typedef struct event_sensor {
    const char *name;    /* sensor name (host name by default) */
    const char *version; /* apisensor version */
} event_sensor;

/* Characters of a formatted time, without the NUL. */
#define EVENT_TIME_LEN 27

/* "2023-11-14T22:13:20.000000Z" (UTC) into buf; buflen must exceed
 * EVENT_TIME_LEN (a shorter buffer gets ""). Returns buf. */
const char *event_format_time(uint64_t ts_ns, char *buf, unsigned buflen);

/* Opens the event object and writes the shared keys; the caller adds the
 * rest and closes the object with json_object_end(). */
void event_begin(json_writer *w, const char *kind, uint64_t ts_ns, const event_sensor *sensor);

/* Writes key: timestamp string. */
void event_time_field(json_writer *w, const char *key, uint64_t ts_ns);

#endif
