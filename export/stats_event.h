/*
 * The "stats" event: the sensor's counters, drops, queue depths and export
 * figures, written every N seconds of packet time and once at the end.
 * The composition root names and fills the counters; export only writes them.
 */
#ifndef APISENSOR_EXPORT_STATS_EVENT_H
#define APISENSOR_EXPORT_STATS_EVENT_H

#include <stdint.h>

#include "event.h"
#include "format.h"
#include "json.h"
#include "sink.h"

/* One named counter; name is snake_case, NUL-terminated, borrowed. */
typedef struct stats_counter {
    const char *name;
    uint64_t value;
} stats_counter;

typedef struct stats_record {
    uint64_t ts_ns;                /* packet time of the event */
    int final;                     /* 1 for the record written at the end of the run */
    uint32_t interval_seconds;     /* packet-time period of the records; 0 = only at the end */
    const stats_counter *counters; /* in the order to write */
    uint32_t counter_count;
    const stats_counter *anomalies; /* named anomalies that happened (non-zero) */
    uint32_t anomaly_count;
    sink_stats exported; /* figures of the sinks, added up */
} stats_record;

/* Appends the native event (without a trailing newline) to w:
 * {"event":"stats",...,"final":false,"interval_seconds":60,
 *  "counters":{...},"anomalies":{...},"export":{...}} */
void stats_event_write(json_writer *w, const event_sensor *sensor, const stats_record *r);

/* Appends the event in the given format. */
void stats_event_write_as(json_writer *w, export_format format, const event_sensor *sensor,
                          const stats_record *r);

/* The keys after "sensor" (final ... export) into the object being written. */
void stats_event_facts(json_writer *w, const stats_record *r);

/* The "export" object alone (shared by the other formats). */
void stats_event_export(json_writer *w, const sink_stats *s);

/* An object of the counters {name: value, ...}. */
void stats_event_counters(json_writer *w, const stats_counter *counters, uint32_t count);

#endif
