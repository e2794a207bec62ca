/*
 * Serialises a stats_record (see stats_event.h). Key order is fixed; the
 * counters come in the order the caller lists them.
 */
#include "stats_event.h"

#include "format_ecs.h"
#include "format_ocsf.h"
#include "format_splunk.h"

void stats_event_counters(json_writer *w, const stats_counter *counters, uint32_t count) {
    json_object_begin(w);
    for (uint32_t i = 0; counters && i < count; i++) {
        json_key(w, counters[i].name);
        json_uint(w, counters[i].value);
    }
    json_object_end(w);
}

void stats_event_export(json_writer *w, const sink_stats *s) {
    const stats_counter figures[] = {
        {"written", s->written},
        {"write_errors", s->write_errors},
        {"delivered", s->delivered},
        {"delivery_failed", s->delivery_failed},
        {"spooled", s->spooled},
        {"replayed", s->replayed},
        {"dropped", s->dropped},
        {"queue_depth", s->queue_depth},
        {"spool_records", s->spool_records},
        {"spool_bytes", s->spool_bytes},
    };
    stats_event_counters(w, figures, (uint32_t)(sizeof figures / sizeof figures[0]));
}

void stats_event_write(json_writer *w, const event_sensor *sensor, const stats_record *r) {
    event_begin(w, "stats", r->ts_ns, sensor);
    stats_event_facts(w, r);
    json_object_end(w);
}

void stats_event_facts(json_writer *w, const stats_record *r) {
    json_key(w, "final");
    json_bool(w, r->final);
    json_key(w, "interval_seconds");
    json_uint(w, r->interval_seconds);
    json_key(w, "counters");
    stats_event_counters(w, r->counters, r->counter_count);
    json_key(w, "anomalies");
    stats_event_counters(w, r->anomalies, r->anomaly_count);
    json_key(w, "export");
    stats_event_export(w, &r->exported);
}

void stats_event_write_as(json_writer *w, export_format format, const event_sensor *sensor,
                          const stats_record *r) {
    switch (format) {
    case FORMAT_ECS:
        format_ecs_stats(w, sensor, r);
        break;
    case FORMAT_OCSF:
        format_ocsf_stats(w, sensor, r);
        break;
    case FORMAT_SPLUNK:
        format_splunk_stats(w, sensor, r);
        break;
    case FORMAT_NATIVE:
    default:
        stats_event_write(w, sensor, r);
        break;
    }
}
