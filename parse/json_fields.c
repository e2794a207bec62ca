/*
 * JSON body facts (see json_fields.h): one pass over the bytes with an
 * explicit container stack; a value is reported when its last byte was
 * read, so a body cut in the middle of a value reports everything before
 * that value and nothing partial.
 *
 * The current path lives in one buffer: every container on the stack
 * remembers the path length at which it was opened, so leaving it is a
 * truncation, never a copy. Field paths are kept in a fixed open-addressing
 * table (FNV-1a of the path); only the slots a walk used are cleared by the
 * next walk.
 */
#include "json_fields.h"

#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

typedef struct walk_level {
    uint8_t is_object;  /* 1: object, 0: array */
    uint8_t path_ok;    /* the container's own path was usable */
    uint32_t path_len;  /* length of the container's own path */
    uint32_t path_hash; /* FNV-1a of the container's own path */
    str_view key;       /* member name holding the container (absent at top) */
} walk_level;

struct json_walker {
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

as_status json_walker_create(const limits *lim, json_walker **out) {
    *out = NULL;
    json_walker *w = calloc(1, sizeof *w);
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
        json_walker_destroy(w);
        return AS_ERR_NOMEM;
    }
    *out = w;
    return AS_OK;
}

void json_walker_destroy(json_walker *w) {
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

uint32_t json_walker_field_count(const json_walker *w) {
    return w->field_count;
}

const json_field *json_walker_field(const json_walker *w, uint32_t index) {
    return index < w->field_count ? &w->fields[index] : NULL;
}

size_t json_walker_stop_offset(const json_walker *w) {
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

static void reset_fields(json_walker *w) {
    for (uint32_t i = 0; i < w->field_count; i++)
        w->slots[w->used_slots[i]] = 0;
    w->field_count = 0;
}

static void record_field(json_walker *w, json_kind kind, str_view value, uint32_t depth) {
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
static void path_append(json_walker *w, const char *s, uint32_t n) {
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

static void path_append_byte(json_walker *w, uint8_t c) {
    char b = (char)c;
    path_append(w, &b, 1);
}

/* Appends a code point as UTF-8; control characters and surrogates make the
 * name unusable (it could not be written into a schema as it was sent). */
static void path_append_code_point(json_walker *w, uint32_t cp) {
    uint8_t b[4];
    uint32_t n;
    if (cp < 0x20 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        w->path_ok = 0;
        w->bad_name = 1;
        return;
    }
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xc0 | (cp >> 6));
        b[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xe0 | (cp >> 12));
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xf0 | (cp >> 18));
        b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    path_append(w, (const char *)b, n);
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
 * between the quotes, already checked by scan_string) to the path,
 * decoding escapes and checking UTF-8. Plain names are copied as they are. */
static void path_append_name(json_walker *w, const uint8_t *p, const uint8_t *end) {
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

/* ------------------------------------------------------------------- lexer */

typedef enum { LEX_OK, LEX_TRUNCATED, LEX_INVALID } lex_result;

/* 1 for the bytes that end a plain run inside a string: '"', '\\' and
 * control characters; 2 for the bytes of multi-byte UTF-8 sequences (a
 * member name holding them needs checking). */
static const uint8_t string_stop[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
    [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1, [0x80 ... 0xff] = 2,
};

/* Finds the closing quote of a string whose opening quote was at p[-1];
 * checks escapes and rejects raw control characters. *close = the quote;
 * *plain = 1 when the string holds neither escapes nor non-ASCII bytes. */
static lex_result scan_string(const uint8_t *p, const uint8_t *end, const uint8_t **close,
                              int *plain) {
    *plain = 1;
    while (p < end) {
        while (p < end && !string_stop[*p])
            p++;
        if (p == end)
            break;
        uint8_t c = *p;
        if (c >= 0x80) {
            *plain = 0;
            p++;
            continue;
        }
        if (c == '"') {
            *close = p;
            return LEX_OK;
        }
        if (c < 0x20)
            return LEX_INVALID;
        *plain = 0;
        if (end - p < 2)
            return LEX_TRUNCATED;
        c = p[1];
        if (c == 'u') {
            if (end - p < 6)
                return LEX_TRUNCATED;
            for (int i = 2; i < 6; i++)
                if (!is_hex(p[i]))
                    return LEX_INVALID;
            p += 6;
        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                   c == 'r' || c == 't') {
            p += 2;
        } else {
            return LEX_INVALID;
        }
    }
    return LEX_TRUNCATED;
}

/* One or more digits at *p, advancing past them: LEX_INVALID when there is
 * none, LEX_TRUNCATED when the input ends before the first. */
static lex_result scan_digits(const uint8_t **p, const uint8_t *end) {
    const uint8_t *start = *p;
    while (*p < end && is_digit(**p))
        (*p)++;
    if (*p > start)
        return LEX_OK;
    return *p == end ? LEX_TRUNCATED : LEX_INVALID;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; *after = first byte past it
 * (== end when the number touches the end of the input: it might go on). */
static lex_result scan_number(const uint8_t *p, const uint8_t *end, const uint8_t **after,
                              json_kind *kind) {
    *kind = JSON_KIND_INTEGER;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0') {
        p++;
    } else {
        lex_result r = scan_digits(&p, end);
        if (r != LEX_OK)
            return r;
    }
    if (p < end && *p == '.') {
        *kind = JSON_KIND_NUMBER;
        p++;
        lex_result r = scan_digits(&p, end);
        if (r != LEX_OK)
            return r;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *kind = JSON_KIND_NUMBER;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        lex_result r = scan_digits(&p, end);
        if (r != LEX_OK)
            return r;
    }
    *after = p;
    return LEX_OK;
}

static lex_result scan_literal(const uint8_t *p, const uint8_t *end, const char *word,
                               size_t word_len) {
    size_t have = (size_t)(end - p);
    size_t n = have < word_len ? have : word_len;
    if (memcmp(p, word, n) != 0)
        return LEX_INVALID;
    return n < word_len ? LEX_TRUNCATED : LEX_OK;
}

static const uint8_t *skip_space(const uint8_t *p, const uint8_t *end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* -------------------------------------------------------------------- walk */

typedef enum {
    EXPECT_VALUE,
    EXPECT_FIRST_MEMBER, /* after '{': a name or '}' */
    EXPECT_MEMBER,       /* after ',' in an object */
    EXPECT_FIRST_ITEM,   /* after '[': a value or ']' */
    EXPECT_AFTER_VALUE   /* ',' or the closing bracket, or the end at top level */
} walk_state;

typedef struct walk {
    json_walker *w;
    json_value_fn on_value;
    void *arg;
    uint32_t depth;
    str_view key; /* name of the member whose value comes next */
} walk;

static void emit(walk *k, json_kind kind, const uint8_t *value, size_t value_len) {
    json_walker *w = k->w;
    str_view v = {(const char *)value, (uint32_t)value_len};
    record_field(w, kind, v, k->depth);
    if (!k->on_value)
        return;
    json_value_event ev;
    ev.kind = kind;
    ev.key = k->key;
    ev.path.ptr = w->path_ok ? w->path : NULL;
    ev.path.len = w->path_ok ? w->path_len : 0;
    ev.value = v;
    ev.depth = k->depth;
    k->on_value(k->arg, &ev);
}

/* The path of the next element of the array at the top of the stack. */
static void enter_item_path(json_walker *w, const walk_level *level) {
    w->path_len = level->path_len;
    w->path_hash = level->path_hash;
    w->path_ok = level->path_ok;
    path_append(w, "[]", 2);
}

static json_walk_status finish(json_walker *w, json_walk_status st, const uint8_t *p,
                               const uint8_t *data, anomaly_counters *anomalies) {
    w->stop_offset = (size_t)(p - data);
    if (st == JSON_WALK_INVALID)
        anomaly_count(anomalies, ANOMALY_JSON_INVALID);
    if (st == JSON_WALK_TOO_DEEP)
        anomaly_count(anomalies, ANOMALY_JSON_TOO_DEEP);
    if (w->dropped)
        anomaly_count(anomalies, ANOMALY_JSON_FIELDS_DROPPED);
    if (w->too_long)
        anomaly_count(anomalies, ANOMALY_JSON_NAME_TOO_LONG);
    if (w->bad_name)
        anomaly_count(anomalies, ANOMALY_JSON_BAD_NAME);
    return st;
}

json_walk_status json_walker_run(json_walker *w, const uint8_t *data, size_t len,
                                 json_value_fn on_value, void *arg, anomaly_counters *anomalies) {
    reset_fields(w);
    w->path_len = 0;
    w->path_hash = FNV_OFFSET;
    w->path_ok = 1;
    w->dropped = w->too_long = w->bad_name = 0;
    walk k = {w, on_value, arg, 0, {NULL, 0}};
    const uint8_t *p = data;
    const uint8_t *end = data + len;
    /* A UTF-8 byte order mark is tolerated before the value. */
    if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        p += 3;
    walk_state state = EXPECT_VALUE;
    for (;;) {
        p = skip_space(p, end);
        if (p == end) {
            int complete = state == EXPECT_AFTER_VALUE && k.depth == 0;
            return finish(w, complete ? JSON_WALK_OK : JSON_WALK_TRUNCATED, p, data, anomalies);
        }
        uint8_t c = *p;
        walk_level *top = k.depth > 0 ? &w->levels[k.depth - 1] : NULL;
        switch (state) {
        case EXPECT_FIRST_MEMBER:
        case EXPECT_MEMBER: {
            if (c == '}' && state == EXPECT_FIRST_MEMBER)
                goto close_container;
            if (c != '"')
                return finish(w, JSON_WALK_INVALID, p, data, anomalies);
            const uint8_t *close;
            int plain;
            lex_result r = scan_string(p + 1, end, &close, &plain);
            if (r != LEX_OK)
                return finish(w, r == LEX_TRUNCATED ? JSON_WALK_TRUNCATED : JSON_WALK_INVALID, p,
                              data, anomalies);
            k.key.ptr = (const char *)p + 1;
            k.key.len = (uint32_t)(close - p - 1);
            w->path_len = top->path_len;
            w->path_hash = top->path_hash;
            w->path_ok = top->path_ok;
            if (w->path_len > 0)
                path_append(w, ".", 1);
            if (plain)
                path_append(w, (const char *)p + 1, (uint32_t)(close - p - 1));
            else
                path_append_name(w, p + 1, close);
            p = skip_space(close + 1, end);
            if (p == end)
                return finish(w, JSON_WALK_TRUNCATED, p, data, anomalies);
            if (*p != ':')
                return finish(w, JSON_WALK_INVALID, p, data, anomalies);
            p++;
            state = EXPECT_VALUE;
            continue;
        }
        case EXPECT_FIRST_ITEM:
            if (c == ']')
                goto close_container;
            state = EXPECT_VALUE;
            break; /* to the value below */
        case EXPECT_AFTER_VALUE:
            if (!top)
                return finish(w, JSON_WALK_INVALID, p, data, anomalies); /* trailing bytes */
            if (c == ',') {
                p++;
                if (top->is_object) {
                    state = EXPECT_MEMBER;
                } else {
                    enter_item_path(w, top);
                    k.key = top->key;
                    state = EXPECT_VALUE;
                }
                continue;
            }
            if (c == (top->is_object ? '}' : ']'))
                goto close_container;
            return finish(w, JSON_WALK_INVALID, p, data, anomalies);
        case EXPECT_VALUE:
            break;
        }

        /* A value starts at p. */
        if (c == '{' || c == '[') {
            if (k.depth == w->max_depth)
                return finish(w, JSON_WALK_TOO_DEEP, p, data, anomalies);
            int is_object = c == '{';
            emit(&k, is_object ? JSON_KIND_OBJECT : JSON_KIND_ARRAY, NULL, 0);
            walk_level *level = &w->levels[k.depth++];
            level->is_object = (uint8_t)is_object;
            level->path_ok = (uint8_t)w->path_ok;
            level->path_len = w->path_len;
            level->path_hash = w->path_hash;
            level->key = k.key;
            p++;
            if (is_object) {
                state = EXPECT_FIRST_MEMBER;
            } else {
                enter_item_path(w, level);
                state = EXPECT_FIRST_ITEM;
            }
            continue;
        }
        lex_result r;
        if (c == '"') {
            const uint8_t *close;
            int plain;
            r = scan_string(p + 1, end, &close, &plain);
            if (r == LEX_OK) {
                emit(&k, JSON_KIND_STRING, p + 1, (size_t)(close - p - 1));
                p = close + 1;
            }
        } else if (c == '-' || is_digit(c)) {
            const uint8_t *after = p;
            json_kind kind;
            r = scan_number(p, end, &after, &kind);
            /* A number that ends the input is complete only at top level;
             * inside a container the cut may have shortened it. */
            if (r == LEX_OK && after == end && k.depth > 0)
                r = LEX_TRUNCATED;
            if (r == LEX_OK) {
                emit(&k, kind, p, (size_t)(after - p));
                p = after;
            }
        } else if (c == 't' || c == 'f' || c == 'n') {
            const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
            size_t word_len = strlen(word);
            r = scan_literal(p, end, word, word_len);
            if (r == LEX_OK) {
                emit(&k, c == 'n' ? JSON_KIND_NULL : JSON_KIND_BOOLEAN, p, word_len);
                p += word_len;
            }
        } else {
            r = LEX_INVALID;
        }
        if (r != LEX_OK)
            return finish(w, r == LEX_TRUNCATED ? JSON_WALK_TRUNCATED : JSON_WALK_INVALID, p, data,
                          anomalies);
        state = EXPECT_AFTER_VALUE;
        continue;

    close_container:
        /* The closing bracket at p matches the container at the top. */
        p++;
        k.depth--;
        w->path_len = top->path_len;
        w->path_hash = top->path_hash;
        w->path_ok = top->path_ok;
        k.key = top->key;
        state = EXPECT_AFTER_VALUE;
    }
}
