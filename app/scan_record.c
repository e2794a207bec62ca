/*
 * Scan records (see scan_record.h). Layout, all integers in host order
 * (the record never leaves the process):
 *
 *   u32 scanned, u32 anomaly pairs
 *   per location: u32 types, u32 truncated, u32 hints, then per type bit
 *                 set (lowest first): u8 length, the sample's bytes
 *   per anomaly:  u32 id, u64 count
 *   zero bytes up to a multiple of 8
 */
#include "scan_record.h"

#include <stdint.h>
#include <string.h>

#define PAIR_BYTES (4 + 8)

static size_t pad8(size_t n) {
    return (n + 7) & ~(size_t)7;
}

static size_t sample_len(const sensitive_found *f, int type) {
    return strnlen(f->sample[type], SENSITIVE_SAMPLE_MAX - 1);
}

static uint32_t anomaly_pairs(const anomaly_counters *anomalies) {
    uint32_t n = 0;
    for (int i = 0; i < ANOMALY_COUNT; i++)
        n += anomalies->count[i] != 0;
    return n;
}

size_t scan_record_size(const sensitive_found *found, const anomaly_counters *anomalies) {
    size_t n = 8;
    if (!found)
        return n;
    for (int l = 0; l < SENSITIVE_LOCATION_COUNT; l++) {
        n += 12;
        for (int t = 0; t < SENSITIVE_TYPE_COUNT; t++)
            if (found[l].types & SENSITIVE_BIT(t))
                n += 1 + sample_len(&found[l], t);
    }
    return pad8(n + (size_t)anomaly_pairs(anomalies) * PAIR_BYTES);
}

size_t scan_record_max_size(void) {
    return pad8(8 + SENSITIVE_LOCATION_COUNT * (12 + SENSITIVE_TYPE_COUNT * SENSITIVE_SAMPLE_MAX) +
                ANOMALY_COUNT * PAIR_BYTES);
}

static uint8_t *put(uint8_t *p, const void *v, size_t n) {
    memcpy(p, v, n);
    return p + n;
}

void scan_record_write(void *dst, const sensitive_found *found, const anomaly_counters *anomalies) {
    uint8_t *start = dst, *p = start;
    uint32_t scanned = found != NULL, pairs = found ? anomaly_pairs(anomalies) : 0;
    p = put(p, &scanned, 4);
    p = put(p, &pairs, 4);
    if (found) {
        for (int l = 0; l < SENSITIVE_LOCATION_COUNT; l++) {
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
        for (uint32_t i = 0; i < ANOMALY_COUNT; i++) {
            if (!anomalies->count[i])
                continue;
            p = put(p, &i, 4);
            p = put(p, &anomalies->count[i], 8);
        }
    }
    size_t used = (size_t)(p - start);
    memset(p, 0, pad8(used) - used);
}

static const uint8_t *get(const uint8_t *p, void *v, size_t n) {
    memcpy(v, p, n);
    return p + n;
}

size_t scan_record_read(const void *src, sensitive_found *found, int *scanned,
                        void (*count)(void *arg, anomaly_id id, uint64_t n), void *arg) {
    const uint8_t *start = src, *p = start;
    uint32_t flag, pairs;
    p = get(p, &flag, 4);
    p = get(p, &pairs, 4);
    *scanned = flag != 0;
    if (!flag)
        return 8;
    for (int l = 0; l < SENSITIVE_LOCATION_COUNT; l++) {
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
    for (uint32_t i = 0; i < pairs; i++) {
        uint32_t id;
        uint64_t n;
        p = get(p, &id, 4);
        p = get(p, &n, 8);
        count(arg, (anomaly_id)id, n);
    }
    return pad8((size_t)(p - start));
}
