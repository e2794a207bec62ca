/*
 * The one JSON encoder of the sensor.
 *
 * A json_writer appends to a growable buffer it owns. Keys come out in the
 * order the caller writes them, so an event's shape is fixed by the code that
 * writes it (deterministic output). Strings from traffic may hold anything:
 * control characters are escaped and invalid UTF-8 is replaced by U+FFFD, so
 * the output is always valid JSON in valid UTF-8. Commas are inserted by the
 * writer (it tracks nesting up to JSON_MAX_DEPTH).
 *
 * Errors are sticky: after an allocation failure or a nesting error every
 * call is a no-op and json_writer_ok() returns 0. Single-threaded.
 */
#ifndef APISENSOR_EXPORT_JSON_H
#define APISENSOR_EXPORT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JSON_MAX_DEPTH 32

typedef struct json_writer {
    char *buf;  /* owned; NUL-terminated after every call */
    size_t len; /* bytes written, without the NUL */
    size_t cap;
    int error;
    int depth;
    uint8_t has_items[JSON_MAX_DEPTH]; /* per level: 1 once a value was written */
    uint8_t after_key;                 /* a key was written, its value comes next */
} json_writer;

void json_writer_init(json_writer *w);
/* Empties the buffer (keeps the memory) and clears the error. */
void json_writer_reset(json_writer *w);
void json_writer_free(json_writer *w);
int json_writer_ok(const json_writer *w);

void json_object_begin(json_writer *w);
void json_object_end(json_writer *w);
void json_array_begin(json_writer *w);
void json_array_end(json_writer *w);

/* Object key of len bytes (sanitised like a string); must be followed by
 * exactly one value. */
void json_key_len(json_writer *w, const char *key, size_t len);

/* String value from bytes of any content (sanitised as described above). */
void json_string(json_writer *w, const char *data, size_t len);
void json_null(json_writer *w);

/* NUL-terminated forms, inline so that a literal's length is known at
 * compile time. */
static inline void json_key(json_writer *w, const char *key) {
    json_key_len(w, key, strlen(key));
}

/* NULL writes null. */
static inline void json_cstring(json_writer *w, const char *text) {
    if (!text)
        json_null(w);
    else
        json_string(w, text, strlen(text));
}

void json_int(json_writer *w, int64_t value);
void json_uint(json_writer *w, uint64_t value);
/* value / 10^decimals as a number with exactly `decimals` digits after the
 * point (json_fixed(w, 1700000000123456, 6) -> 1700000000.123456). */
void json_fixed(json_writer *w, uint64_t value, unsigned decimals);
void json_bool(json_writer *w, int value);

/* Appends a newline (ends a JSON Lines record). */
void json_newline(json_writer *w);

#endif
