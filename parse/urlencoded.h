/*
 * application/x-www-form-urlencoded pairs: query strings and form bodies.
 *
 * An iterator over "name=value&name=value" that percent-decodes each pair
 * ('+' is a space) into a caller-provided buffer, so names can be compared
 * and values scanned as the application sees them. Nothing is allocated;
 * the input is borrowed and must outlive the iterator. A pair that does not
 * fit the buffer is cut (urlencoded_pair.truncated); bad escapes ("%zz")
 * are kept as written, as servers commonly do.
 */
#ifndef APISENSOR_PARSE_URLENCODED_H
#define APISENSOR_PARSE_URLENCODED_H

#include <stddef.h>
#include <stdint.h>

#include "common/strview.h"

typedef struct urlencoded_iter {
    const char *pos;
    const char *end;
} urlencoded_iter;

typedef struct urlencoded_pair {
    str_view name;  /* decoded, in the caller's buffer */
    str_view value; /* decoded, in the caller's buffer; absent when the pair has no '=' */
    int truncated;  /* the decoded pair did not fit the buffer */
} urlencoded_pair;

/* Starts at the first pair of text (a query without the '?', or a body). */
urlencoded_iter urlencoded_begin(const char *text, size_t len);

/* Decodes the next non-empty pair into buf (cap bytes); 1 with *pair filled,
 * 0 at the end. The views in *pair are valid until buf is reused. */
int urlencoded_next(urlencoded_iter *it, char *buf, size_t cap, urlencoded_pair *pair);

/* Percent-decodes src into dst (at most cap bytes); returns the decoded
 * length. plus_is_space: '+' decodes to ' ' (query strings and forms). */
size_t urlencoded_decode(const char *src, size_t len, char *dst, size_t cap, int plus_is_space);

#endif
