/* Shared event keys and packet-time formatting (see event.h). */
#include "event.h"

#include <stdio.h>
#include <time.h>

const char *event_format_time(uint64_t ts_ns, char *buf, unsigned buflen) {
    time_t secs = (time_t)(ts_ns / 1000000000u);
    unsigned micros = (unsigned)((ts_ns % 1000000000u) / 1000u);
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(buf, buflen, "1970-01-01T00:00:00.000000Z");
        return buf;
    }
    snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
    return buf;
}

void event_time_field(json_writer *w, const char *key, uint64_t ts_ns) {
    char text[40];
    json_key(w, key);
    json_cstring(w, event_format_time(ts_ns, text, sizeof text));
}

void event_begin(json_writer *w, const char *kind, uint64_t ts_ns, const event_sensor *sensor) {
    json_object_begin(w);
    json_key(w, "event");
    json_cstring(w, kind);
    event_time_field(w, "@timestamp", ts_ns);
    json_key(w, "sensor");
    json_object_begin(w);
    json_key(w, "name");
    json_cstring(w, sensor->name);
    json_key(w, "version");
    json_cstring(w, sensor->version);
    json_object_end(w);
}
