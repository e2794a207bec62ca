/*
 * Character helpers for hand-written decoders, independent of the locale
 * (the <ctype.h> functions depend on it and take int with traps for
 * negative chars).
 */
#ifndef APISENSOR_COMMON_ASCII_H
#define APISENSOR_COMMON_ASCII_H

#include <stddef.h>

/* Value of a hexadecimal digit (either case), or -1. */
static inline int ascii_hex_value(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* c with ASCII upper-case letters made lower case. */
static inline char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* 1 when the n bytes at a and at b are equal, ignoring ASCII case. */
static inline int ascii_equal_nocase(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return 0;
    return 1;
}

#endif
