/*
 * Fuzz target for the JWT decoder (parse/jwt.c) and the JSON walker it
 * reads header and payload with (parse/json_walk.c).
 *
 * The input is a token. It is decoded with the largest bound and with a
 * small one, tested against one HMAC key, and also walked as a JSON text,
 * with every reported view checked to lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/json_walk.h"
#include "parse/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_text(const jwt_text *t) {
    if (t->len >= JWT_TEXT_BYTES || t->text[t->len] != '\0' || (!t->present && t->len))
        __builtin_trap();
}

static void fuzz_check_view(str_view v, const uint8_t *data, size_t size) {
    if (v.ptr && ((const uint8_t *)v.ptr < data || (const uint8_t *)v.ptr + v.len > data + size))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *token = (const char *)data;
    anomaly_counters counters = {0};
    jwt_claims claims;
    as_status st = jwt_decode(token, size, JWT_MAX_BYTES_CEILING, &claims, &counters);
    if (st == AS_OK) {
        if (!claims.alg.present || claims.anomaly != ANOMALY_COUNT)
            __builtin_trap();
        const jwt_text *texts[] = {
            &claims.alg, &claims.typ, &claims.kid,   &claims.sub,
            &claims.iss, &claims.aud, &claims.email, &claims.preferred_username};
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
            fuzz_check_text(texts[i]);
    } else if (st != AS_SKIP && claims.anomaly == ANOMALY_COUNT) {
        __builtin_trap();
    }
    if ((st == AS_SKIP) != !jwt_looks_like(token, size))
        __builtin_trap();
    jwt_decode(token, size, 64, &claims, &counters);
    jwt_hs_key_matches(token, size, "secret", 6);

    json_walker w;
    json_walk_item item;
    json_walk_init(&w, data, size);
    char decoded[256];
    while (json_walk_next(&w, &item) == AS_OK) {
        fuzz_check_view(item.key, data, size);
        fuzz_check_view(item.value, data, size);
        if (item.depth > JSON_WALK_MAX_DEPTH)
            __builtin_trap();
        if (item.type == JSON_WALK_STRING &&
            json_walk_unescape(item.value, decoded, sizeof decoded) > (int)sizeof decoded)
            __builtin_trap();
    }
    return 0;
}
