/*
 * Scan records (see scan_record.h). Layout, all integers in host order
 * (the record never leaves the process):
 *
 *   u32 scanned, u32 record bytes
 *   per location: u32 types, u32 truncated, u32 hints, then per type bit
 *                 set (lowest first): u8 length, the sample's bytes
 *   zero bytes up to a multiple of 8
 */
#include "scan_record.h"

#include <stdint.h>
#include <string.h>

static size_t pad8(size_t n) {
    return (n + 7) & ~(size_t)7;
}

static size_t sample_len(const sensitive_found *f, int type) {
    return strnlen(f->sample[type], SENSITIVE_SAMPLE_MAX - 1);
}

size_t scan_record_size(const sensitive_found *found) {
    size_t n = 8;
    if (!found)
        return n;
    for (int l = 0; l < SENSITIVE_LOCATION_COUNT; l++) {
        n += 12;
        for (int t = 0; t < SENSITIVE_TYPE_COUNT; t++)
            if (found[l].types & SENSITIVE_BIT(t))
                n += 1 + sample_len(&found[l], t);
    }
    return pad8(n);
}

size_t scan_record_max_size(void) {
    return pad8(8 + SENSITIVE_LOCATION_COUNT * (12 + SENSITIVE_TYPE_COUNT * SENSITIVE_SAMPLE_MAX));
}

static uint8_t *put(uint8_t *p, const void *v, size_t n) {
    memcpy(p, v, n);
    return p + n;
}

void scan_record_write(void *dst, const sensitive_found *found) {
    uint8_t *p = dst;
    uint32_t head[2] = {found != NULL, (uint32_t)scan_record_size(found)};
    p = put(p, head, sizeof head);
    for (int l = 0; found && l < SENSITIVE_LOCATION_COUNT; l++) {
        const sensitive_found *f = &found[l];
        p = put(p, &f->types, 4);
        p = put(p, &f->truncated, 4);
        p = put(p, &f->hints, 4);
        for (int t = 0; t < SENSITIVE_TYPE_COUNT; t++) {
            if (!(f->types & SENSITIVE_BIT(t)))
                continue;
            uint8_t len = (uint8_t)sample_len(f, t);
            p = put(p, &len, 1);
            p = put(p, f->sample[t], len);
        }
    }
    memset(p, 0, (size_t)((uint8_t *)dst + head[1] - p));
}

static const uint8_t *get(const uint8_t *p, void *v, size_t n) {
    memcpy(v, p, n);
    return p + n;
}

size_t scan_record_read(const void *src, sensitive_found *found, int *scanned) {
    const uint8_t *p = src;
    uint32_t head[2];
    p = get(p, head, sizeof head);
    *scanned = head[0] != 0;
    for (int l = 0; *scanned && l < SENSITIVE_LOCATION_COUNT; l++) {
        sensitive_found *f = &found[l];
        sensitive_found_clear(f);
        p = get(p, &f->types, 4);
        p = get(p, &f->truncated, 4);
        p = get(p, &f->hints, 4);
        for (int t = 0; t < SENSITIVE_TYPE_COUNT; t++) {
            if (!(f->types & SENSITIVE_BIT(t)))
                continue;
            uint8_t len;
            p = get(p, &len, 1);
            p = get(p, f->sample[t], len);
            f->sample[t][len] = '\0';
        }
    }
    return head[1];
}
