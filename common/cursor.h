/*
 * Bounds-checked byte cursor with a sticky error.
 *
 * All hand-written decoding (L2-L4 headers, pcapng blocks, later TLS records
 * and JWTs) reads through a cursor: read freely, then check cursor_ok() once.
 * A read past the end sets the error flag, returns 0 and leaves the position
 * at the end, so later reads fail too and nothing ever reads past `end`.
 * The cursor borrows the bytes; it never owns or copies them.
 */
#ifndef APISENSOR_COMMON_CURSOR_H
#define APISENSOR_COMMON_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cursor {
    const uint8_t *pos;
    const uint8_t *end;
    int error; /* 1 once any read ran past end */
} cursor;

static inline cursor cursor_make(const uint8_t *data, size_t len) {
    cursor c = {data, data + len, 0};
    return c;
}

static inline size_t cursor_left(const cursor *c) {
    return (size_t)(c->end - c->pos);
}

static inline int cursor_ok(const cursor *c) {
    return !c->error;
}

/* Marks the cursor failed unless n bytes remain; returns 1 if they do. */
static inline int cursor_need(cursor *c, size_t n) {
    if (c->error || cursor_left(c) < n) {
        c->error = 1;
        c->pos = c->end;
        return 0;
    }
    return 1;
}

static inline void cursor_skip(cursor *c, size_t n) {
    if (cursor_need(c, n))
        c->pos += n;
}

/* Returns a pointer to n bytes and advances, or NULL (and fails) if short. */
static inline const uint8_t *cursor_take(cursor *c, size_t n) {
    if (!cursor_need(c, n))
        return NULL;
    const uint8_t *p = c->pos;
    c->pos += n;
    return p;
}

static inline uint8_t cursor_u8(cursor *c) {
    if (!cursor_need(c, 1))
        return 0;
    return *c->pos++;
}

static inline uint16_t cursor_be16(cursor *c) {
    if (!cursor_need(c, 2))
        return 0;
    uint16_t v = (uint16_t)((c->pos[0] << 8) | c->pos[1]);
    c->pos += 2;
    return v;
}

static inline uint32_t cursor_be32(cursor *c) {
    if (!cursor_need(c, 4))
        return 0;
    uint32_t v = ((uint32_t)c->pos[0] << 24) | ((uint32_t)c->pos[1] << 16) |
                 ((uint32_t)c->pos[2] << 8) | (uint32_t)c->pos[3];
    c->pos += 4;
    return v;
}

static inline uint16_t cursor_le16(cursor *c) {
    if (!cursor_need(c, 2))
        return 0;
    uint16_t v = (uint16_t)(c->pos[0] | (c->pos[1] << 8));
    c->pos += 2;
    return v;
}

static inline uint32_t cursor_le32(cursor *c) {
    if (!cursor_need(c, 4))
        return 0;
    uint32_t v = (uint32_t)c->pos[0] | ((uint32_t)c->pos[1] << 8) | ((uint32_t)c->pos[2] << 16) |
                 ((uint32_t)c->pos[3] << 24);
    c->pos += 4;
    return v;
}

static inline uint64_t cursor_le64(cursor *c) {
    uint64_t lo = cursor_le32(c);
    uint64_t hi = cursor_le32(c);
    return lo | (hi << 32);
}

/* Copies n bytes into out (zero-filled on failure). */
static inline void cursor_copy(cursor *c, void *out, size_t n) {
    const uint8_t *p = cursor_take(c, n);
    if (p)
        memcpy(out, p, n);
    else
        memset(out, 0, n);
}

#endif
