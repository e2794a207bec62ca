/*
 * Fuzz target for the sensitive-data scanner (inventory/sensitive.c) and,
 * through it, the JSON walker and the form/query decoder.
 *
 * byte 0: bits 0-2 pick the entry point (JSON body, form body, sniffed
 * body, plain text, query string, header fields split on '\n' at ':'),
 * bit 3 small limits (64-byte scan bound, depth 4, 4 fields, 8-byte names).
 * The rest is the input. Every sample must be NUL-terminated within its
 * slot and never hold 12 or more input bytes verbatim (masking).
 */
#include <stdint.h>
#include <string.h>

#include "inventory/sensitive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sensitive_db *fuzz_db;

static void fuzz_check(const sensitive_found *found) {
    for (int t = 0; t < SENSITIVE_TYPE_COUNT; t++) {
        if (!memchr(found->sample[t], '\0', SENSITIVE_SAMPLE_MAX))
            __builtin_trap();
        if (!(found->types & SENSITIVE_BIT(t)) && found->sample[t][0] != '\0')
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    if (!fuzz_db && sensitive_db_create(&fuzz_db) != AS_OK)
        return 0;
    limits lim = limits_default();
    if (data[0] & 8) {
        lim.sensitive_scan_bytes = 64;
        lim.json_max_depth = 4;
        lim.json_fields_per_body = 4;
        lim.json_field_name_bytes = 8;
    }
    sensitive_worker *w = NULL;
    if (sensitive_worker_create(fuzz_db, &lim, &w) != AS_OK)
        return 0;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    sensitive_found found;
    sensitive_found_clear(&found);
    anomaly_counters anomalies;
    memset(&anomalies, 0, sizeof anomalies);
    switch (data[0] & 7) {
    case 0:
        sensitive_scan_body(w, (str_view){"application/json", 16}, body, len, NULL, &found,
                            &anomalies);
        break;
    case 1:
        sensitive_scan_body(w, (str_view){"application/x-www-form-urlencoded", 33}, body, len, NULL,
                            &found, &anomalies);
        break;
    case 2:
        sensitive_scan_body(w, (str_view){NULL, 0}, body, len, NULL, &found, &anomalies);
        break;
    case 3:
        sensitive_scan_text(w, body, len, &found);
        break;
    case 4:
        sensitive_scan_query(w, (const char *)body, len, &found);
        break;
    default: {
        http_header_view headers[16];
        uint32_t count = 0;
        size_t start = 0;
        for (size_t i = 0; i <= len && count < 16; i++) {
            if (i < len && body[i] != '\n')
                continue;
            const char *line = (const char *)body + start;
            size_t line_len = i - start;
            const char *colon = memchr(line, ':', line_len);
            size_t name_len = colon ? (size_t)(colon - line) : line_len;
            headers[count].name = (str_view){line, (uint32_t)name_len};
            headers[count].value = colon
                                       ? (str_view){colon + 1, (uint32_t)(line_len - name_len - 1)}
                                       : (str_view){line + line_len, 0};
            count++;
            start = i + 1;
        }
        sensitive_scan_headers(w, headers, count, &found);
        break;
    }
    }
    fuzz_check(&found);
    sensitive_stats st = sensitive_worker_get_stats(w);
    if (st.bytes > (uint64_t)lim.sensitive_scan_bytes)
        __builtin_trap();
    sensitive_worker_destroy(w);
    return 0;
}
