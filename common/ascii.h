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

/* 1 when word (lower case) occurs in the len bytes at s, ignoring ASCII
 * case; s may be NULL when len is 0. */
static inline int ascii_contains_nocase(const char *s, size_t len, const char *word) {
    size_t n = 0;
    while (word[n])
        n++;
    for (size_t i = 0; i + n <= len; i++) {
        size_t k = 0;
        while (k < n && ascii_lower(s[i + k]) == word[k])
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

#endif
