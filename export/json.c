/*
 * JSON encoder: escaping, UTF-8 repair and comma bookkeeping (see json.h).
 *
 * UTF-8 validation follows RFC 3629: overlong forms, surrogates and code
 * points above U+10FFFF are invalid; each maximal invalid subsequence becomes
 * one U+FFFD. Plain ASCII runs are copied in one go (the common case).
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

void json_writer_init(json_writer *w) {
    memset(w, 0, sizeof *w);
}

void json_writer_reset(json_writer *w) {
    w->len = 0;
    w->error = 0;
    w->depth = 0;
    w->after_key = 0;
    w->has_items[0] = 0;
    if (w->buf)
        w->buf[0] = '\0';
}

void json_writer_free(json_writer *w) {
    free(w->buf);
    memset(w, 0, sizeof *w);
}

int json_writer_ok(const json_writer *w) {
    return !w->error;
}

static int reserve(json_writer *w, size_t extra) {
    if (w->error)
        return 0;
    if (w->len + extra + 1 <= w->cap)
        return 1;
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < w->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            w->error = 1;
            return 0;
        }
        cap *= 2;
    }
    char *grown = realloc(w->buf, cap);
    if (!grown) {
        w->error = 1;
        return 0;
    }
    w->buf = grown;
    w->cap = cap;
    return 1;
}

static void append(json_writer *w, const char *data, size_t len) {
    if (!reserve(w, len))
        return;
    memcpy(w->buf + w->len, data, len);
    w->len += len;
    w->buf[w->len] = '\0';
}

/* Separator before a value or key at the current level. */
static void before_value(json_writer *w) {
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0 && w->has_items[w->depth])
        append(w, ",", 1);
    w->has_items[w->depth] = 1;
}

static void open_level(json_writer *w, char bracket) {
    before_value(w);
    if (w->depth + 1 >= JSON_MAX_DEPTH) {
        w->error = 1;
        return;
    }
    append(w, &bracket, 1);
    w->depth++;
    w->has_items[w->depth] = 0;
}

static void close_level(json_writer *w, char bracket) {
    if (w->depth == 0 || w->after_key) {
        w->error = 1;
        return;
    }
    w->depth--;
    append(w, &bracket, 1);
}

void json_object_begin(json_writer *w) {
    open_level(w, '{');
}

void json_object_end(json_writer *w) {
    close_level(w, '}');
}

void json_array_begin(json_writer *w) {
    open_level(w, '[');
}

void json_array_end(json_writer *w) {
    close_level(w, ']');
}

/* Length of the run of bytes copied as they are (printable ASCII but '"'
 * and '\\') at the start of s. */
static size_t plain_run(const uint8_t *s, size_t len) {
    size_t n = 0;
    while (n < len && s[n] >= 0x20 && s[n] < 0x80 && s[n] != '"' && s[n] != '\\')
        n++;
    return n;
}

static void write_escaped(json_writer *w, const uint8_t *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    while (i < len) {
        size_t run = i + plain_run(s + i, len - i);
        if (run > i) {
            append(w, (const char *)s + i, run - i);
            i = run;
            continue;
        }
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            append(w, esc, 2);
            i++;
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
            if (c == '\n')
                append(w, "\\n", 2);
            else if (c == '\r')
                append(w, "\\r", 2);
            else if (c == '\t')
                append(w, "\\t", 2);
            else
                append(w, esc, 6);
            i++;
        } else {
            size_t n = utf8_sequence(s + i, len - i);
            if (n == 0) {
                append(w, "\xef\xbf\xbd", 3);
                i++;
            } else {
                append(w, (const char *)s + i, n);
                i += n;
            }
        }
    }
}

void json_key_len(json_writer *w, const char *key, size_t len) {
    if (w->after_key || w->depth == 0) {
        w->error = 1;
        return;
    }
    if (plain_run((const uint8_t *)key, len) == len) {
        /* the usual key: ,"key": in one piece */
        if (!reserve(w, len + 4))
            return;
        char *out = w->buf + w->len;
        if (w->has_items[w->depth])
            *out++ = ',';
        w->has_items[w->depth] = 1;
        *out++ = '"';
        memcpy(out, key, len);
        out += len;
        *out++ = '"';
        *out++ = ':';
        *out = '\0';
        w->len = (size_t)(out - w->buf);
        w->after_key = 1;
        return;
    }
    before_value(w);
    append(w, "\"", 1);
    write_escaped(w, (const uint8_t *)key, len);
    append(w, "\":", 2);
    w->after_key = 1;
}

void json_string(json_writer *w, const char *data, size_t len) {
    before_value(w);
    const uint8_t *bytes = (const uint8_t *)data;
    size_t plain = plain_run(bytes, len);
    if (!reserve(w, plain + 2))
        return;
    /* the quote and the plain start in one piece, then whatever needs escaping */
    w->buf[w->len++] = '"';
    memcpy(w->buf + w->len, bytes, plain);
    w->len += plain;
    w->buf[w->len] = '\0';
    write_escaped(w, bytes + plain, len - plain);
    append(w, "\"", 1);
}

/* Writes the decimal digits of value (and a '-' when negative is set). */
static void write_decimal(json_writer *w, uint64_t value, int negative) {
    char num[24];
    char *end = num + sizeof num, *p = end;
    do {
        *--p = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    if (negative)
        *--p = '-';
    before_value(w);
    append(w, p, (size_t)(end - p));
}

void json_int(json_writer *w, int64_t value) {
    /* the magnitude of INT64_MIN only fits unsigned */
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    write_decimal(w, magnitude, value < 0);
}

void json_uint(json_writer *w, uint64_t value) {
    write_decimal(w, value, 0);
}

void json_fixed(json_writer *w, uint64_t value, unsigned decimals) {
    char num[48];
    char *end = num + sizeof num, *p = end;
    if (decimals > 20)
        decimals = 20;
    for (unsigned i = 0; i < decimals; i++) {
        *--p = (char)('0' + value % 10);
        value /= 10;
    }
    if (decimals)
        *--p = '.';
    do {
        *--p = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    before_value(w);
    append(w, p, (size_t)(end - p));
}

void json_bool(json_writer *w, int value) {
    before_value(w);
    if (value)
        append(w, "true", 4);
    else
        append(w, "false", 5);
}

void json_null(json_writer *w) {
    before_value(w);
    append(w, "null", 4);
}

void json_newline(json_writer *w) {
    append(w, "\n", 1);
}
