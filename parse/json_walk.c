/*
 * JSON walker: a state machine over a cursor. One call reports one value or
 * one container end; the container stack is one bit per level (object or
 * array), so the walker's whole state fits in its struct. A token that
 * cannot be read leaves the cursor at its first byte, which is what
 * json_walk_offset then names.
 */
#include "json_walk.h"

#include "common/ascii.h"
#include "common/utf8.h"

enum {
    ST_VALUE,        /* a value (top level, after ':' or after ',' in an array) */
    ST_VALUE_OR_END, /* after '[' */
    ST_KEY_OR_END,   /* after '{' */
    ST_KEY,          /* after ',' in an object */
    ST_AFTER_VALUE,  /* ',' or the closing bracket, or the end of the text at depth 0 */
    ST_END           /* finished; status holds the outcome */
};

void json_walk_init(json_walker *w, const uint8_t *data, size_t len) {
    w->cur = cursor_make(data, len);
    w->start = data;
    w->depth = 0;
    w->max_depth = JSON_WALK_MAX_DEPTH;
    w->state = ST_VALUE;
    w->status = AS_OK;
}

void json_walk_set_max_depth(json_walker *w, uint32_t max_depth) {
    w->max_depth = max_depth < 1                       ? 1
                   : max_depth > JSON_WALK_STACK_DEPTH ? JSON_WALK_STACK_DEPTH
                                                       : max_depth;
}

size_t json_walk_offset(const json_walker *w) {
    return (size_t)(w->cur.pos - w->start);
}

static int walk_in_object(const json_walker *w) {
    uint32_t d = w->depth - 1;
    return (int)((w->object_bits[d / 64] >> (d % 64)) & 1);
}

static as_status walk_finish(json_walker *w, as_status status) {
    w->state = ST_END;
    w->status = status;
    return status;
}

static void walk_skip_space(cursor *c) {
    const uint8_t *p = c->pos;
    while (p < c->end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    c->pos = p;
}

static int walk_is_digit(uint8_t c) {
    return c >= '0' && c <= '9';
}

static int walk_is_hex(uint8_t c) {
    return walk_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 1 for the bytes that end a plain run inside a string: '"', '\\' and the
 * control characters. */
static const uint8_t walk_string_stop[256] = {
    [0x00 ... 0x1f] = 1,
    ['"'] = 1,
    ['\\'] = 1,
};

/* Scans a string whose opening quote is at the cursor. The cursor stays
 * put until the string is whole (a local pointer runs ahead). */
static as_status walk_string(cursor *c, str_view *out, int *escaped) {
    const uint8_t *start = c->pos + 1;
    const uint8_t *p = start;
    const uint8_t *end = c->end;
    *escaped = 0;
    for (;;) {
        while (p < end && !walk_string_stop[*p])
            p++;
        if (p == end)
            return AS_ERR_TRUNCATED;
        uint8_t b = *p;
        if (b == '"') {
            out->ptr = (const char *)start;
            out->len = (uint32_t)(p - start);
            c->pos = p + 1;
            return AS_OK;
        }
        if (b < 0x20)
            return AS_ERR_FORMAT;
        *escaped = 1;
        if (end - p < 2)
            return AS_ERR_TRUNCATED;
        uint8_t e = p[1];
        if (e == 'u') {
            if (end - p < 6) {
                for (const uint8_t *q = p + 2; q < end; q++)
                    if (!walk_is_hex(*q))
                        return AS_ERR_FORMAT;
                return AS_ERR_TRUNCATED;
            }
            for (int i = 2; i < 6; i++)
                if (!walk_is_hex(p[i]))
                    return AS_ERR_FORMAT;
            p += 6;
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                   e == 'r' || e == 't') {
            p += 2;
        } else {
            return AS_ERR_FORMAT;
        }
    }
}

/* Scans one or more digits at the cursor. */
static as_status walk_digits(cursor *c) {
    if (c->pos == c->end)
        return AS_ERR_TRUNCATED;
    if (!walk_is_digit(*c->pos))
        return AS_ERR_FORMAT;
    const uint8_t *p = c->pos + 1;
    while (p < c->end && walk_is_digit(*p))
        p++;
    c->pos = p;
    return AS_OK;
}

/* Scans a number (RFC 8259 grammar) starting at the cursor. */
static as_status walk_number(cursor *c, str_view *out) {
    const uint8_t *start = c->pos;
    if (*c->pos == '-')
        c->pos++;
    as_status st = AS_OK;
    if (c->pos < c->end && *c->pos == '0')
        c->pos++;
    else
        st = walk_digits(c);
    if (st == AS_OK && c->pos < c->end && *c->pos == '.') {
        c->pos++;
        st = walk_digits(c);
    }
    if (st == AS_OK && c->pos < c->end && (*c->pos == 'e' || *c->pos == 'E')) {
        c->pos++;
        if (c->pos < c->end && (*c->pos == '+' || *c->pos == '-'))
            c->pos++;
        st = walk_digits(c);
    }
    out->ptr = (const char *)start;
    out->len = (uint32_t)(c->pos - start);
    return st;
}

static as_status walk_literal(cursor *c, const char *word, size_t len) {
    size_t left = cursor_left(c);
    size_t n = left < len ? left : len;
    if (memcmp(c->pos, word, n) != 0)
        return AS_ERR_FORMAT;
    if (n < len)
        return AS_ERR_TRUNCATED;
    c->pos += len;
    return AS_OK;
}

/* Reads the value at the cursor (not at the end, not white space). */
static as_status walk_value(json_walker *w, json_walk_item *item) {
    cursor *c = &w->cur;
    const uint8_t *start = c->pos;
    as_status st = AS_OK;
    item->depth = w->depth;
    switch (*c->pos) {
    case '"':
        item->type = JSON_WALK_STRING;
        st = walk_string(c, &item->value, &item->escaped);
        break;
    case '{':
    case '[':
        if (w->depth >= w->max_depth)
            return walk_finish(w, AS_ERR_LIMIT);
        if (*c->pos == '{') {
            w->object_bits[w->depth / 64] |= (uint64_t)1 << (w->depth % 64);
            item->type = JSON_WALK_OBJECT_BEGIN;
            w->state = ST_KEY_OR_END;
        } else {
            w->object_bits[w->depth / 64] &= ~((uint64_t)1 << (w->depth % 64));
            item->type = JSON_WALK_ARRAY_BEGIN;
            w->state = ST_VALUE_OR_END;
        }
        w->depth++;
        c->pos++;
        return AS_OK;
    case 't':
        item->type = JSON_WALK_TRUE;
        st = walk_literal(c, "true", 4);
        break;
    case 'f':
        item->type = JSON_WALK_FALSE;
        st = walk_literal(c, "false", 5);
        break;
    case 'n':
        item->type = JSON_WALK_NULL;
        st = walk_literal(c, "null", 4);
        break;
    default:
        if (*c->pos != '-' && !walk_is_digit(*c->pos))
            return walk_finish(w, AS_ERR_FORMAT);
        item->type = JSON_WALK_NUMBER;
        st = walk_number(c, &item->value);
        break;
    }
    if (st != AS_OK) {
        c->pos = start;
        return walk_finish(w, st);
    }
    w->state = ST_AFTER_VALUE;
    return AS_OK;
}

/* Closes the innermost container if the byte at the cursor is its bracket. */
static int walk_close(json_walker *w, json_walk_item *item) {
    int in_object = walk_in_object(w);
    if (*w->cur.pos != (in_object ? '}' : ']'))
        return 0;
    w->cur.pos++;
    w->depth--;
    item->type = in_object ? JSON_WALK_OBJECT_END : JSON_WALK_ARRAY_END;
    item->depth = w->depth;
    w->state = ST_AFTER_VALUE;
    return 1;
}

/* Reads a member name, its colon and its value; the cursor is at the name. */
static as_status walk_member(json_walker *w, json_walk_item *item) {
    cursor *c = &w->cur;
    if (*c->pos != '"')
        return walk_finish(w, AS_ERR_FORMAT);
    const uint8_t *start = c->pos;
    as_status st = walk_string(c, &item->key, &item->key_escaped);
    if (st != AS_OK) {
        c->pos = start;
        return walk_finish(w, st);
    }
    walk_skip_space(c);
    if (c->pos == c->end)
        return walk_finish(w, AS_ERR_TRUNCATED);
    if (*c->pos != ':')
        return walk_finish(w, AS_ERR_FORMAT);
    c->pos++;
    walk_skip_space(c);
    if (c->pos == c->end)
        return walk_finish(w, AS_ERR_TRUNCATED);
    return walk_value(w, item);
}

as_status json_walk_next(json_walker *w, json_walk_item *item) {
    cursor *c = &w->cur;
    item->depth = w->depth;
    item->key.ptr = NULL;
    item->key.len = 0;
    item->value.ptr = NULL;
    item->value.len = 0;
    item->escaped = 0;
    item->key_escaped = 0;
    for (;;) {
        if (w->state == ST_END)
            return w->status;
        walk_skip_space(c);
        if (c->pos == c->end)
            return walk_finish(w, w->state == ST_AFTER_VALUE && w->depth == 0 ? AS_DONE
                                                                              : AS_ERR_TRUNCATED);
        switch (w->state) {
        case ST_AFTER_VALUE:
            if (w->depth == 0)
                return walk_finish(w, AS_ERR_FORMAT);
            if (*c->pos == ',') {
                c->pos++;
                w->state = walk_in_object(w) ? ST_KEY : ST_VALUE;
                continue;
            }
            if (walk_close(w, item))
                return AS_OK;
            return walk_finish(w, AS_ERR_FORMAT);
        case ST_VALUE_OR_END:
            if (walk_close(w, item))
                return AS_OK;
            return walk_value(w, item);
        case ST_KEY_OR_END:
            if (walk_close(w, item))
                return AS_OK;
            return walk_member(w, item);
        case ST_KEY:
            return walk_member(w, item);
        default:
            return walk_value(w, item);
        }
    }
}

static int walk_hex_value(const char *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = ascii_hex_value((unsigned char)p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Appends the UTF-8 form of code point cp; returns bytes written or -1. */
static int walk_put_utf8(uint32_t cp, char *out, size_t room) {
    uint8_t b[4];
    int n = (int)utf8_encode(cp, b);
    if ((size_t)n > room)
        return -1;
    memcpy(out, b, (size_t)n);
    return n;
}

int json_walk_unescape(str_view raw, char *out, size_t cap) {
    size_t o = 0;
    uint32_t i = 0;
    while (i < raw.len) {
        char ch = raw.ptr[i];
        if (ch != '\\') {
            if ((uint8_t)ch < 0x20 || ch == '"' || o == cap)
                return -1;
            out[o++] = ch;
            i++;
            continue;
        }
        if (i + 1 >= raw.len)
            return -1;
        char e = raw.ptr[i + 1];
        i += 2;
        char plain = e == '"'    ? '"'
                     : e == '\\' ? '\\'
                     : e == '/'  ? '/'
                     : e == 'b'  ? '\b'
                     : e == 'f'  ? '\f'
                     : e == 'n'  ? '\n'
                     : e == 'r'  ? '\r'
                     : e == 't'  ? '\t'
                                 : 0;
        if (plain) {
            if (o == cap)
                return -1;
            out[o++] = plain;
            continue;
        }
        if (e != 'u' || raw.len - i < 4)
            return -1;
        int unit = walk_hex_value(raw.ptr + i);
        if (unit < 0)
            return -1;
        i += 4;
        uint32_t cp = (uint32_t)unit;
        if (cp >= 0xd800 && cp <= 0xdbff && raw.len - i >= 6 && raw.ptr[i] == '\\' &&
            raw.ptr[i + 1] == 'u') {
            int low = walk_hex_value(raw.ptr + i + 2);
            if (low >= 0xdc00 && low <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)low - 0xdc00);
                i += 6;
            }
        }
        if (cp >= 0xd800 && cp <= 0xdfff)
            cp = 0xfffd; /* a lone surrogate has no UTF-8 form */
        int n = walk_put_utf8(cp, out + o, cap - o);
        if (n < 0)
            return -1;
        o += (size_t)n;
    }
    return (int)o;
}

int json_walk_key_is(str_view key, const char *name) {
    size_t n = strlen(name);
    if (!key.ptr || key.len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char a = key.ptr[i], b = name[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a + 32);
        if (b >= 'A' && b <= 'Z')
            b = (char)(b + 32);
        if (a != b)
            return 0;
    }
    return 1;
}
