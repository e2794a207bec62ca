/*
 * Shared event keys and packet-time formatting (see event.h).
 *
 * Timestamps are formatted by hand, without gmtime or stdio: one is written
 * per event, and the calendar date follows from the day number with the
 * civil-from-days algorithm (proleptic Gregorian, valid for every uint64_t
 * nanosecond count: years 1970 to 2554).
 */
#include "event.h"

#include <string.h>

/* Writes value as `digits` decimal digits, zero-padded, at out. */
static void put_digits(char *out, unsigned value, int digits) {
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
}

const char *event_format_time(uint64_t ts_ns, char *buf, unsigned buflen) {
    static const char shape[] = "0000-00-00T00:00:00.000000Z";
    if (buflen < sizeof shape) {
        if (buflen > 0)
            buf[0] = '\0';
        return buf;
    }
    uint64_t secs = ts_ns / 1000000000u;
    unsigned micros = (unsigned)((ts_ns % 1000000000u) / 1000u);
    unsigned second_of_day = (unsigned)(secs % 86400u);
    /* Days since 1970-01-01, shifted to an era starting 0000-03-01. */
    uint64_t days = secs / 86400u + 719468u;
    uint64_t era = days / 146097u;
    unsigned day_of_era = (unsigned)(days - era * 146097u);
    unsigned year_of_era =
        (day_of_era - day_of_era / 1460u + day_of_era / 36524u - day_of_era / 146096u) / 365u;
    unsigned day_of_year =
        day_of_era - (365u * year_of_era + year_of_era / 4u - year_of_era / 100u);
    unsigned month_index = (5u * day_of_year + 2u) / 153u; /* 0 = March */
    unsigned day = day_of_year - (153u * month_index + 2u) / 5u + 1u;
    unsigned month = month_index < 10u ? month_index + 3u : month_index - 9u;
    unsigned year = (unsigned)(era * 400u) + year_of_era + (month <= 2u);
    memcpy(buf, shape, sizeof shape);
    put_digits(buf, year, 4);
    put_digits(buf + 5, month, 2);
    put_digits(buf + 8, day, 2);
    put_digits(buf + 11, second_of_day / 3600u, 2);
    put_digits(buf + 14, second_of_day / 60u % 60u, 2);
    put_digits(buf + 17, second_of_day % 60u, 2);
    put_digits(buf + 20, micros, 6);
    return buf;
}

void event_time_field(json_writer *w, const char *key, uint64_t ts_ns) {
    char text[40];
    json_key(w, key);
    json_string(w, event_format_time(ts_ns, text, sizeof text), EVENT_TIME_LEN);
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
