/*
 * JSON body facts: a bounded, streaming walk over one JSON body that
 * reports every value to a callback and keeps the distinct field paths it
 * saw with their inferred types ("user.email": string/email,
 * "items[].qty": integer), for the OpenAPI export and unseen-parameter
 * detection.
 *
 * The tokens come from parse/json_walk (strict, views into the body, cut
 * input told apart from bad input; see there why not yajl); this layer adds
 * what a body needs on top: the dotted path of every value, a fixed stack
 * of json_max_depth container paths and a fixed table of
 * json_fields_per_body paths, all allocated once in
 * json_fields_walker_create, so a walk never allocates.
 *
 * Invariants: the walk never reads outside [data, data + len); memory is
 * fixed at create; malformed input stops the walk (facts so far stay) and
 * is reported in the status and counted, never an error. A walker belongs
 * to one thread; everything it returns is valid until its next run.
 */
#ifndef APISENSOR_PARSE_JSON_FIELDS_H
#define APISENSOR_PARSE_JSON_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "common/anomaly.h"
#include "common/limits.h"
#include "common/status.h"
#include "common/strview.h"

typedef enum {
    JSON_KIND_NULL,
    JSON_KIND_BOOLEAN,
    JSON_KIND_INTEGER,
    JSON_KIND_NUMBER, /* with a fraction or exponent */
    JSON_KIND_STRING,
    JSON_KIND_OBJECT,
    JSON_KIND_ARRAY,
    JSON_KIND_COUNT
} json_kind;

/* String formats recognised when obvious (OpenAPI "format"). */
typedef enum {
    JSON_FORMAT_NONE,
    JSON_FORMAT_EMAIL,
    JSON_FORMAT_DATE_TIME, /* RFC 3339: 2024-10-25T14:00:00Z */
    JSON_FORMAT_DATE,      /* 2024-10-25 */
    JSON_FORMAT_UUID,
    JSON_FORMAT_COUNT
} json_format;

/* How a walk ended. Facts gathered before the end are kept in every case. */
typedef enum {
    JSON_FIELDS_OK,        /* one complete value (trailing whitespace allowed) */
    JSON_FIELDS_TRUNCATED, /* the input ended inside a value (a body cut at a limit) */
    JSON_FIELDS_INVALID,   /* not JSON at the byte json_fields_walker_stop_offset() names */
    JSON_FIELDS_TOO_DEEP   /* nesting beyond json_max_depth */
} json_fields_status;

/* One value, as the walk meets it. Views point into the walked bytes or the
 * walker and are valid only during the callback. */
typedef struct json_value_event {
    json_kind kind;
    str_view key;   /* raw name of the member holding the value, escapes undecoded; for
                       array elements the name of the array's member; absent at top level */
    str_view path;  /* decoded dotted path: "user.email", "items[].qty", "[]" for the
                       elements of a top-level array, "" for the top value; absent when
                       the name was too long or not valid UTF-8 */
    str_view value; /* STRING: the raw contents between the quotes, escapes undecoded;
                       numbers and literals: their text; absent for objects and arrays */
    uint32_t depth; /* containers around the value (0 for the top value) */
} json_value_event;

typedef void (*json_value_fn)(void *arg, const json_value_event *event);

/* A distinct field path of the last walk. */
typedef struct json_field {
    str_view path;  /* as in json_value_event.path (never empty), NUL-terminated */
    uint8_t kinds;  /* bit (1u << json_kind) for every kind seen at this path */
    uint8_t format; /* json_format agreed by every string seen, else JSON_FORMAT_NONE */
    uint16_t depth; /* containers around the field's values */
    uint32_t count; /* values seen at this path */
} json_field;

typedef struct json_fields_walker json_fields_walker;

/* Uses json_max_depth, json_fields_per_body and json_field_name_bytes. */
as_status json_fields_walker_create(const limits *lim, json_fields_walker **out);

/* Walks one body. on_value may be NULL (facts only). anomalies may be NULL;
 * it receives json.invalid / json.too_deep once per walk and
 * json.fields_dropped / json.name_too_long / json.bad_name once per walk
 * in which they happened. */
json_fields_status json_fields_walker_run(json_fields_walker *w, const uint8_t *data, size_t len,
                                          json_value_fn on_value, void *arg,
                                          anomaly_counters *anomalies);

/* The distinct field paths of the last run, in first-seen order. */
uint32_t json_fields_walker_field_count(const json_fields_walker *w);
const json_field *json_fields_walker_field(const json_fields_walker *w, uint32_t index);

/* Byte offset at which the last run stopped (== len when it read everything). */
size_t json_fields_walker_stop_offset(const json_fields_walker *w);

void json_fields_walker_destroy(json_fields_walker *w);

/* Names for export and tests: "integer", "date-time", ... (OpenAPI words). */
const char *json_kind_name(json_kind kind);
const char *json_format_name(json_format format);

/* The format a raw JSON string value (contents between the quotes) shows. */
json_format json_string_format(const char *value, size_t len);

#endif
