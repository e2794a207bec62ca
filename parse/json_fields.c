/*
 * JSON body facts (see json_fields.h): one pass of parse/json_walk over
 * the bytes; a value is reported when json_walk delivers it whole, so a
 * body cut in the middle of a value reports everything before that value
 * and nothing partial (a number touching the cut inside a container might
 * have gone on, so it is taken as cut too).
 *
 * The current path lives in one buffer: every container on the stack
 * remembers the path its members or elements extend ("a" for the object at
 * "a", "a[]" for the array at "a"), so moving to the next value is a
 * truncation, never a copy. Field paths are kept in a fixed open-addressing
 * table (FNV-1a of the path); only the slots a walk used are cleared by the
 * next walk.
 */
#include "json_fields.h"

#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "json_walk.h"

typedef struct walk_level {
    uint8_t path_ok;    /* the path the container's values extend was usable */
    uint32_t path_len;  /* length of that path */
    uint32_t path_hash; /* FNV-1a of that path */
    str_view key;       /* member name holding the container (absent at top) */
} walk_level;

struct json_fields_walker {
    uint32_t max_depth;
    uint32_t max_fields;
    uint32_t name_bytes; /* longest path kept, without the NUL */
    walk_level *levels;  /* max_depth entries */
    char *path;          /* name_bytes + 1 */
    uint32_t path_len;
    uint32_t path_hash; /* FNV-1a of path[0, path_len), kept as the path grows */
    int path_ok;        /* 0 when the current path is too long or not a valid name */
    json_field *fields;
    uint8_t *format_state; /* per field: 0 no string yet, 1 format agreed, 2 disagreed */
    char *names;           /* max_fields * (name_bytes + 1) */
    uint32_t field_count;
    uint32_t *slots;      /* hash table: field index + 1, 0 = empty */
    uint32_t slot_mask;   /* table size - 1 */
    uint32_t *used_slots; /* slots filled by this walk, to clear them cheaply */
    size_t stop_offset;
    uint8_t dropped, too_long, bad_name; /* anomalies of this walk, counted once */
};

/* ---------------------------------------------------------------- lifecycle */

as_status json_fields_walker_create(const limits *lim, json_fields_walker **out) {
    *out = NULL;
    json_fields_walker *w = calloc(1, sizeof *w);
    if (!w)
        return AS_ERR_NOMEM;
    w->max_depth = (uint32_t)lim->json_max_depth;
    w->max_fields = (uint32_t)lim->json_fields_per_body;
    w->name_bytes = (uint32_t)lim->json_field_name_bytes;
    uint32_t table = 16;
    while (table < 2 * w->max_fields)
        table *= 2;
    w->slot_mask = table - 1;
    w->levels = calloc(w->max_depth, sizeof *w->levels);
    w->path = malloc((size_t)w->name_bytes + 1);
    w->fields = calloc(w->max_fields, sizeof *w->fields);
    w->format_state = calloc(w->max_fields, 1);
    w->names = malloc((size_t)w->max_fields * (w->name_bytes + 1));
    w->slots = calloc(table, sizeof *w->slots);
    w->used_slots = calloc(w->max_fields, sizeof *w->used_slots);
    if (!w->levels || !w->path || !w->fields || !w->format_state || !w->names || !w->slots ||
        !w->used_slots) {
        json_fields_walker_destroy(w);
        return AS_ERR_NOMEM;
    }
    *out = w;
    return AS_OK;
}

void json_fields_walker_destroy(json_fields_walker *w) {
    if (!w)
        return;
    free(w->levels);
    free(w->path);
    free(w->fields);
    free(w->format_state);
    free(w->names);
    free(w->slots);
    free(w->used_slots);
    free(w);
}

uint32_t json_fields_walker_field_count(const json_fields_walker *w) {
    return w->field_count;
}

const json_field *json_fields_walker_field(const json_fields_walker *w, uint32_t index) {
    return index < w->field_count ? &w->fields[index] : NULL;
}

size_t json_fields_walker_stop_offset(const json_fields_walker *w) {
    return w->stop_offset;
}

const char *json_kind_name(json_kind kind) {
    static const char *const names[JSON_KIND_COUNT] = {"null",   "boolean", "integer", "number",
                                                       "string", "object",  "array"};
    return (unsigned)kind < JSON_KIND_COUNT ? names[kind] : "?";
}

const char *json_format_name(json_format format) {
    static const char *const names[JSON_FORMAT_COUNT] = {"", "email", "date-time", "date", "uuid"};
    return (unsigned)format < JSON_FORMAT_COUNT ? names[format] : "";
}

/* ------------------------------------------------------------ string format */

static int is_digit(uint8_t c) {
    return c >= '0' && c <= '9';
}

static int is_hex(uint8_t c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int digits_at(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_digit((uint8_t)s[i]))
            return 0;
    return 1;
}

/* YYYY-MM-DD with a plausible month and day. */
static int is_date(const char *s, size_t len) {
    if (len < 10 || !digits_at(s, 4) || s[4] != '-' || !digits_at(s + 5, 2) || s[7] != '-' ||
        !digits_at(s + 8, 2))
        return 0;
    int month = (s[5] - '0') * 10 + (s[6] - '0');
    int day = (s[8] - '0') * 10 + (s[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/* RFC 3339 date-time: date 'T' hh:mm:ss[.frac](Z|+hh:mm|-hh:mm). */
static int is_date_time(const char *s, size_t len) {
    if (len < 20 || !is_date(s, len) || (s[10] != 'T' && s[10] != 't') || !digits_at(s + 11, 2) ||
        s[13] != ':' || !digits_at(s + 14, 2) || s[16] != ':' || !digits_at(s + 17, 2))
        return 0;
    size_t i = 19;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        while (i < len && is_digit((uint8_t)s[i]))
            i++;
        if (i == start)
            return 0;
    }
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z'))
        return 1;
    return i + 6 == len && (s[i] == '+' || s[i] == '-') && digits_at(s + i + 1, 2) &&
           s[i + 3] == ':' && digits_at(s + i + 4, 2);
}

static int is_uuid(const char *s, size_t len) {
    if (len != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!is_hex((uint8_t)s[i])) {
            return 0;
        }
    }
    return 1;
}

/* local@domain.tld with no spaces, quotes or escapes: the shape a schema
 * calls "email", not full RFC 5322. */
static int is_email(const char *s, size_t len) {
    size_t at = len;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c <= ' ' || c == '"' || c == '\\' || c == ',' || c == '<' || c == '>' || c >= 0x7f)
            return 0;
        if (c == '@') {
            if (at != len)
                return 0;
            at = i;
        }
    }
    if (at == 0 || at == len || at > 64)
        return 0;
    size_t dot = len;
    for (size_t i = at + 1; i < len; i++)
        if (s[i] == '.')
            dot = i;
    return dot != len && dot > at + 1 && len - dot >= 3;
}

json_format json_string_format(const char *value, size_t len) {
    if (len == 10 && is_date(value, len))
        return JSON_FORMAT_DATE;
    if (len >= 20 && is_date_time(value, len))
        return JSON_FORMAT_DATE_TIME;
    if (len == 36 && is_uuid(value, len))
        return JSON_FORMAT_UUID;
    if (len >= 5 && len <= 254 && memchr(value, '@', len) && is_email(value, len))
        return JSON_FORMAT_EMAIL;
    return JSON_FORMAT_NONE;
}

/* ------------------------------------------------------------------ fields */

#define FNV_OFFSET 2166136261u

static uint32_t fnv_add(uint32_t h, const char *s, uint32_t len) {
    for (uint32_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

static void reset_fields(json_fields_walker *w) {
    for (uint32_t i = 0; i < w->field_count; i++)
        w->slots[w->used_slots[i]] = 0;
    w->field_count = 0;
}

static void record_field(json_fields_walker *w, json_kind kind, str_view value, uint32_t depth) {
    if (!w->path_ok || w->path_len == 0)
        return;
    uint32_t slot = w->path_hash & w->slot_mask;
    json_field *f = NULL;
    uint32_t index;
    while (w->slots[slot] != 0) {
        index = w->slots[slot] - 1;
        if (w->fields[index].path.len == w->path_len &&
            memcmp(w->fields[index].path.ptr, w->path, w->path_len) == 0) {
            f = &w->fields[index];
            break;
        }
        slot = (slot + 1) & w->slot_mask;
    }
    if (!f) {
        if (w->field_count == w->max_fields) {
            w->dropped = 1;
            return;
        }
        index = w->field_count++;
        w->slots[slot] = index + 1;
        w->used_slots[index] = slot;
        char *name = w->names + (size_t)index * (w->name_bytes + 1);
        memcpy(name, w->path, w->path_len);
        name[w->path_len] = '\0';
        f = &w->fields[index];
        f->path.ptr = name;
        f->path.len = w->path_len;
        f->kinds = 0;
        f->format = JSON_FORMAT_NONE;
        f->depth = (uint16_t)depth;
        f->count = 0;
        w->format_state[index] = 0;
    }
    f->kinds |= (uint8_t)(1u << kind);
    f->count++;
    if (kind != JSON_KIND_STRING || w->format_state[index] == 2)
        return;
    /* Once a string showed no format, the answer stays "none". */
    if (w->format_state[index] == 1 && f->format == JSON_FORMAT_NONE) {
        w->format_state[index] = 2;
        return;
    }
    json_format fmt = json_string_format(value.ptr, value.len);
    if (w->format_state[index] == 0) {
        f->format = (uint8_t)fmt;
        w->format_state[index] = 1;
    } else if (f->format != fmt) {
        f->format = JSON_FORMAT_NONE;
        w->format_state[index] = 2;
    }
}

/* ------------------------------------------------------------------- paths */

/* Appends bytes to the current path; marks it unusable when it overflows. */
static void path_append(json_fields_walker *w, const char *s, uint32_t n) {
    if (!w->path_ok)
        return;
    if (w->path_len + n > w->name_bytes) {
        w->path_ok = 0;
        w->too_long = 1;
        return;
    }
    memcpy(w->path + w->path_len, s, n);
    w->path_len += n;
    w->path_hash = fnv_add(w->path_hash, s, n);
}

/* Appends a member name free of escapes when it is all ASCII (copied as it
 * is); returns 0, leaving the path as it was, when it holds other bytes. */
static int path_append_ascii(json_fields_walker *w, str_view name) {
    if (!w->path_ok)
        return 1;
    uint32_t h = w->path_hash;
    for (uint32_t i = 0; i < name.len; i++) {
        uint8_t c = (uint8_t)name.ptr[i];
        if (c >= 0x80)
            return 0;
        h = (h ^ c) * 16777619u;
    }
    if (w->path_len + name.len > w->name_bytes) {
        w->path_ok = 0;
        w->too_long = 1;
        return 1;
    }
    memcpy(w->path + w->path_len, name.ptr, name.len);
    w->path_len += name.len;
    w->path_hash = h;
    return 1;
}

static void path_append_byte(json_fields_walker *w, uint8_t c) {
    char b = (char)c;
    path_append(w, &b, 1);
}

/* Appends a code point as UTF-8; control characters and surrogates make the
 * name unusable (it could not be written into a schema as it was sent). */
static void path_append_code_point(json_fields_walker *w, uint32_t cp) {
    uint8_t b[4];
    if (cp < 0x20 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        w->path_ok = 0;
        w->bad_name = 1;
        return;
    }
    size_t n = utf8_encode(cp, b);
    path_append(w, (const char *)b, (uint32_t)n);
}

static uint32_t hex4(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        v = v * 16 + (uint32_t)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* Appends a member name holding escapes or non-ASCII bytes (the raw bytes
 * between the quotes, already checked by json_walk) to the path,
 * decoding escapes and checking UTF-8. Plain names are copied as they are. */
static void path_append_name(json_fields_walker *w, const uint8_t *p, const uint8_t *end) {
    while (p < end && w->path_ok) {
        if (*p != '\\') {
            size_t n = utf8_sequence(p, (size_t)(end - p));
            if (n == 0) {
                w->path_ok = 0;
                w->bad_name = 1;
                return;
            }
            path_append(w, (const char *)p, (uint32_t)n);
            p += n;
            continue;
        }
        uint8_t e = p[1];
        p += 2;
        switch (e) {
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            path_append_code_point(w, 0x08); /* any control character: unusable */
            break;
        case 'u': {
            uint32_t cp = hex4(p);
            p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                uint32_t low = hex4(p + 2);
                if (low >= 0xdc00 && low <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    p += 6;
                }
            }
            path_append_code_point(w, cp);
            break;
        }
        default: /* '"', '\\', '/' stand for themselves */
            path_append_byte(w, e);
            break;
        }
    }
}

/* --------------------------------------------------------------------- walk */

typedef struct walk {
    json_fields_walker *w;
    json_value_fn on_value;
    void *arg;
} walk;

/* Makes the current path the one of a value at depth `depth` (its member
 * name `key` when inside an object); returns the event key of the value. */
static str_view enter_value(json_fields_walker *w, uint32_t depth, str_view key, int key_escaped) {
    if (depth == 0) {
        w->path_len = 0;
        w->path_hash = FNV_OFFSET;
        w->path_ok = 1;
        return key;
    }
    const walk_level *level = &w->levels[depth - 1];
    w->path_len = level->path_len;
    w->path_hash = level->path_hash;
    w->path_ok = level->path_ok;
    if (!key.ptr)
        return level->key; /* an array element: its path is the array's "x[]" */
    if (w->path_len > 0)
        path_append(w, ".", 1);
    if (key_escaped || !path_append_ascii(w, key))
        path_append_name(w, (const uint8_t *)key.ptr, (const uint8_t *)key.ptr + key.len);
    return key;
}

static void emit(walk *k, json_kind kind, str_view key, str_view value, uint32_t depth) {
    json_fields_walker *w = k->w;
    record_field(w, kind, value, depth);
    if (!k->on_value)
        return;
    json_value_event ev;
    ev.kind = kind;
    ev.key = key;
    ev.path.ptr = w->path_ok ? w->path : NULL;
    ev.path.len = w->path_ok ? w->path_len : 0;
    ev.value = value;
    ev.depth = depth;
    k->on_value(k->arg, &ev);
}

static json_kind number_kind(str_view text) {
    for (uint32_t i = 0; i < text.len; i++)
        if (text.ptr[i] == '.' || text.ptr[i] == 'e' || text.ptr[i] == 'E')
            return JSON_KIND_NUMBER;
    return JSON_KIND_INTEGER;
}

static json_fields_status finish(json_fields_walker *w, json_fields_status st, size_t offset,
                                 anomaly_counters *anomalies) {
    w->stop_offset = offset;
    if (st == JSON_FIELDS_INVALID)
        anomaly_count(anomalies, ANOMALY_JSON_INVALID);
    if (st == JSON_FIELDS_TOO_DEEP)
        anomaly_count(anomalies, ANOMALY_JSON_TOO_DEEP);
    if (w->dropped)
        anomaly_count(anomalies, ANOMALY_JSON_FIELDS_DROPPED);
    if (w->too_long)
        anomaly_count(anomalies, ANOMALY_JSON_NAME_TOO_LONG);
    if (w->bad_name)
        anomaly_count(anomalies, ANOMALY_JSON_BAD_NAME);
    return st;
}

json_fields_status json_fields_walker_run(json_fields_walker *w, const uint8_t *data, size_t len,
                                          json_value_fn on_value, void *arg,
                                          anomaly_counters *anomalies) {
    reset_fields(w);
    w->dropped = w->too_long = w->bad_name = 0;
    walk k = {w, on_value, arg};
    /* A UTF-8 byte order mark is tolerated before the value. */
    size_t skip = len >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf ? 3 : 0;
    const uint8_t *end = data + len;
    json_walker jw;
    json_walk_init(&jw, data + skip, len - skip);
    json_walk_set_max_depth(&jw, w->max_depth);
    json_walk_item item;
    as_status st;
    while ((st = json_walk_next(&jw, &item)) == AS_OK) {
        json_kind kind;
        str_view value = item.value;
        switch (item.type) {
        case JSON_WALK_OBJECT_END:
        case JSON_WALK_ARRAY_END:
            continue;
        case JSON_WALK_STRING:
            kind = JSON_KIND_STRING;
            break;
        case JSON_WALK_NUMBER:
            kind = number_kind(value);
            break;
        case JSON_WALK_OBJECT_BEGIN:
            kind = JSON_KIND_OBJECT;
            break;
        case JSON_WALK_ARRAY_BEGIN:
            kind = JSON_KIND_ARRAY;
            break;
        default: /* true, false, null: the literal's text ends where the walk stands */
            kind = item.type == JSON_WALK_NULL ? JSON_KIND_NULL : JSON_KIND_BOOLEAN;
            value.len = item.type == JSON_WALK_FALSE ? 5 : 4;
            value.ptr = (const char *)data + skip + json_walk_offset(&jw) - value.len;
            break;
        }
        str_view key = enter_value(w, item.depth, item.key, item.key_escaped);
        /* A number that ends the input is complete only at top level;
         * inside a container the cut may have shortened it. */
        if (item.type == JSON_WALK_NUMBER && item.depth > 0 &&
            (const uint8_t *)value.ptr + value.len == end)
            return finish(w, JSON_FIELDS_TRUNCATED, (size_t)((const uint8_t *)value.ptr - data),
                          anomalies);
        emit(&k, kind, key, value, item.depth);
        if (kind == JSON_KIND_OBJECT || kind == JSON_KIND_ARRAY) {
            if (kind == JSON_KIND_ARRAY)
                path_append(w, "[]", 2);
            walk_level *level = &w->levels[item.depth];
            level->path_ok = (uint8_t)w->path_ok;
            level->path_len = w->path_len;
            level->path_hash = w->path_hash;
            level->key = key;
        }
    }
    /* A member name read before the walk stopped still names a path (and
     * counts its anomalies), as it would have had the value been whole. */
    if (st != AS_DONE && item.key.ptr)
        enter_value(w, item.depth, item.key, item.key_escaped);
    json_fields_status out = st == AS_DONE            ? JSON_FIELDS_OK
                             : st == AS_ERR_TRUNCATED ? JSON_FIELDS_TRUNCATED
                             : st == AS_ERR_LIMIT     ? JSON_FIELDS_TOO_DEEP
                                                      : JSON_FIELDS_INVALID;
    return finish(w, out, skip + json_walk_offset(&jw), anomalies);
}
