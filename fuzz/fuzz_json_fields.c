/*
 * Fuzz target for the JSON body walker (parse/json_fields.c).
 *
 * byte 0 bit 0: small limits (depth 3, 4 fields, 6-byte names). The rest
 * is the body. Every event's views are read in full (stale or out-of-range
 * views show under ASan); the bounds and the stop offset are checked.
 */
#include <stdint.h>
#include <string.h>

#include "parse/json_fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t fuzz_sink;

static void fuzz_touch(str_view v) {
    uint64_t sum = 0;
    for (uint32_t i = 0; v.ptr && i < v.len; i++)
        sum += (uint8_t)v.ptr[i];
    fuzz_sink += sum;
}

typedef struct fuzz_ctx {
    const limits *lim;
    const uint8_t *data;
    size_t size;
} fuzz_ctx;

static void fuzz_on_value(void *arg, const json_value_event *ev) {
    const fuzz_ctx *c = arg;
    fuzz_touch(ev->key);
    fuzz_touch(ev->path);
    fuzz_touch(ev->value);
    if (ev->depth > (uint32_t)c->lim->json_max_depth || ev->kind >= JSON_KIND_COUNT ||
        ev->path.len > (uint32_t)c->lim->json_field_name_bytes)
        __builtin_trap();
    if (ev->value.ptr && ((const uint8_t *)ev->value.ptr < c->data ||
                          (const uint8_t *)ev->value.ptr + ev->value.len > c->data + c->size))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    limits lim = limits_default();
    if (data[0] & 1) {
        lim.json_max_depth = 3;
        lim.json_fields_per_body = 4;
        lim.json_field_name_bytes = 8;
    }
    json_fields_walker *w = NULL;
    if (json_fields_walker_create(&lim, &w) != AS_OK)
        return 0;
    anomaly_counters anomalies;
    memset(&anomalies, 0, sizeof anomalies);
    fuzz_ctx ctx = {&lim, data + 1, size - 1};
    json_fields_walker_run(w, data + 1, size - 1, fuzz_on_value, &ctx, &anomalies);
    if (json_fields_walker_stop_offset(w) > size - 1 ||
        json_fields_walker_field_count(w) > (uint32_t)lim.json_fields_per_body)
        __builtin_trap();
    for (uint32_t i = 0; i < json_fields_walker_field_count(w); i++) {
        const json_field *f = json_fields_walker_field(w, i);
        fuzz_touch(f->path);
        if (f->path.len == 0 || f->path.ptr[f->path.len] != '\0' || f->kinds == 0)
            __builtin_trap();
    }
    json_fields_walker_destroy(w);
    return 0;
}
