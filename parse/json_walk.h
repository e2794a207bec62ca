/*
 * A bounded, allocation-free JSON walker over a byte range.
 *
 * It reports the JSON values of a text one at a time, in document order,
 * each with its member name (when inside an object) and its nesting depth.
 * Strings are reported raw (the bytes between the quotes, escapes not
 * decoded); json_walk_unescape decodes one into a caller buffer when needed.
 * The grammar is checked strictly (RFC 8259): anything else ends the walk
 * with AS_ERR_FORMAT, and input that stops inside a value (a captured body
 * cut at a limit) ends it with AS_ERR_TRUNCATED, after every complete value
 * before the cut was reported.
 *
 * Why not a library: the readers in the JSON of a JWT and a login exchange
 * want views into the input, a hard depth bound and no allocation per call.
 * yajl (Debian libyajl-dev) copies every escaped string into a growing
 * buffer, has no depth limit of its own and does not check its allocator's
 * results, so a fixed arena that runs out becomes a NULL write; a walker on
 * the project's cursor is shorter than the glue that would make yajl safe.
 *
 * The walker borrows the bytes; items are views into them. No state beyond
 * the json_walker struct (a bit stack of JSON_WALK_STACK_DEPTH containers),
 * so nesting deeper than the walker's bound (JSON_WALK_MAX_DEPTH unless
 * json_walk_set_max_depth chose another) ends the walk with AS_ERR_LIMIT.
 */
#ifndef APISENSOR_PARSE_JSON_WALK_H
#define APISENSOR_PARSE_JSON_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "common/cursor.h"
#include "common/status.h"
#include "common/strview.h"

#define JSON_WALK_MAX_DEPTH 64     /* the depth bound json_walk_init sets */
#define JSON_WALK_STACK_DEPTH 1024 /* the deepest bound json_walk_set_max_depth takes */

typedef enum {
    JSON_WALK_STRING,
    JSON_WALK_NUMBER,
    JSON_WALK_TRUE,
    JSON_WALK_FALSE,
    JSON_WALK_NULL,
    JSON_WALK_OBJECT_BEGIN,
    JSON_WALK_OBJECT_END,
    JSON_WALK_ARRAY_BEGIN,
    JSON_WALK_ARRAY_END
} json_walk_type;

typedef struct json_walk_item {
    json_walk_type type;
    uint32_t depth; /* 0 = the top-level value; 1 = a member or element of it; ... */
    str_view key;   /* raw member name when the value is an object member, else absent
                       (and absent on OBJECT_END / ARRAY_END) */
    str_view value; /* STRING: raw contents between the quotes; NUMBER: its text; else absent */
    int escaped;    /* STRING: the raw contents hold backslash escapes */
    int key_escaped;
} json_walk_item;

typedef struct json_walker {
    cursor cur;
    const uint8_t *start;                             /* the first byte of the text */
    uint64_t object_bits[JSON_WALK_STACK_DEPTH / 64]; /* bit d set: the container at
                                                         depth d+1 is an object */
    uint32_t depth;                                   /* containers open */
    uint32_t max_depth;                               /* containers allowed open */
    int state;                                        /* private: what the grammar expects next */
    as_status status; /* private: the final status once the walk ended */
} json_walker;

void json_walk_init(json_walker *w, const uint8_t *data, size_t len);

/* Sets the nesting bound (before the first json_walk_next), clamped to
 * 1..JSON_WALK_STACK_DEPTH. */
void json_walk_set_max_depth(json_walker *w, uint32_t max_depth);

/* The next value. AS_OK: *item holds it. AS_DONE: the text ended after one
 * complete top-level value. AS_ERR_FORMAT: not JSON here. AS_ERR_TRUNCATED:
 * the input ended inside a value. AS_ERR_LIMIT: nesting deeper than
 * the bound. After any status but AS_OK, every later call returns
 * the same status. When the walk ends after reading a member name (a cut
 * or bad value, a missing colon), item->key and key_escaped still hold
 * that name and item->depth the depth its value would have had. */
as_status json_walk_next(json_walker *w, json_walk_item *item);

/* Byte offset of the walk: just past the last item reported while it runs;
 * once it ended, the length of the text on AS_DONE or when the input ended
 * between tokens, else the first byte of the value, member name or
 * punctuation it could not read (the bracket that went too deep, the
 * opening quote of a cut string). */
size_t json_walk_offset(const json_walker *w);

/* Decodes the raw contents of a JSON string (escapes, \uXXXX with surrogate
 * pairs to UTF-8) into out. Returns the decoded length, or -1 when the raw
 * text is not a valid JSON string body or does not fit in cap bytes. No NUL
 * is written. */
int json_walk_unescape(str_view raw, char *out, size_t cap);

/* Compares a raw member name with a plain ASCII name, ignoring ASCII case. */
int json_walk_key_is(str_view key, const char *name);

#endif
