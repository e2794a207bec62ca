/* Query-string and form-body pairs (see urlencoded.h). */
#include "urlencoded.h"

#include <string.h>

#include "common/ascii.h"

/* Decodes up to cap bytes; *complete = 1 when all of src was decoded. */
static size_t decode(const char *src, size_t len, char *dst, size_t cap, int plus_is_space,
                     int *complete) {
    size_t out = 0;
    size_t i = 0;
    for (; i < len && out < cap; i++) {
        char c = src[i];
        if (c == '%' && i + 2 < len) {
            int hi = ascii_hex_value(src[i + 1]);
            int lo = ascii_hex_value(src[i + 2]);
            if (hi >= 0 && lo >= 0) {
                dst[out++] = (char)(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        dst[out++] = plus_is_space && c == '+' ? ' ' : c;
    }
    *complete = i == len;
    return out;
}

size_t urlencoded_decode(const char *src, size_t len, char *dst, size_t cap, int plus_is_space) {
    int complete;
    return decode(src, len, dst, cap, plus_is_space, &complete);
}

urlencoded_iter urlencoded_begin(const char *text, size_t len) {
    urlencoded_iter it = {text, text + len};
    return it;
}

int urlencoded_next(urlencoded_iter *it, char *buf, size_t cap, urlencoded_pair *pair) {
    while (it->pos < it->end) {
        const char *start = it->pos;
        const char *amp = memchr(start, '&', (size_t)(it->end - start));
        const char *stop = amp ? amp : it->end;
        it->pos = amp ? amp + 1 : it->end;
        if (stop == start)
            continue;
        const char *eq = memchr(start, '=', (size_t)(stop - start));
        const char *name_end = eq ? eq : stop;
        int complete;
        size_t name_len = decode(start, (size_t)(name_end - start), buf, cap, 1, &complete);
        pair->name.ptr = buf;
        pair->name.len = (uint32_t)name_len;
        pair->truncated = !complete;
        pair->value.ptr = NULL;
        pair->value.len = 0;
        if (eq) {
            size_t value_len = decode(eq + 1, (size_t)(stop - eq - 1), buf + name_len,
                                      cap - name_len, 1, &complete);
            pair->value.ptr = buf + name_len;
            pair->value.len = (uint32_t)value_len;
            pair->truncated |= !complete;
        }
        return 1;
    }
    return 0;
}
