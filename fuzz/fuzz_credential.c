/*
 * Fuzz target for credential and login extraction (parse/credential.c,
 * parse/login.c) on a transaction built from the input.
 *
 * The input is five parts separated by 0xff bytes: the request URI, the
 * request head fields ("Name: value" lines), the request body, the response
 * head fields and the response body. Each part is copied into a buffer of
 * its exact size so that a read past a part shows under ASan. Extraction
 * runs with a small JWT cache and without one; both must agree. The URI is
 * also redacted (credential_redact_target) into a buffer of its bound. Byte 0 of the
 * URI part, when it is '!', makes the client 10.0.0.1 a trusted proxy and
 * limits the request to two credentials.
 */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/credential.h"
#include "parse/login.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PARTS 5
#define FUZZ_HEADERS 32

static volatile uint64_t fuzz_sink;

static void fuzz_touch(str_view v) {
    for (uint32_t i = 0; v.ptr && i < v.len; i++)
        fuzz_sink += (uint8_t)v.ptr[i];
}

/* Splits "Name: value" lines of a part into header views. */
static uint32_t fuzz_headers(const char *p, size_t len, http_header_view *out) {
    uint32_t n = 0;
    const char *end = p + len;
    while (p < end && n < FUZZ_HEADERS) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (colon) {
            out[n].name.ptr = p;
            out[n].name.len = (uint32_t)(colon - p);
            out[n].value.ptr = colon + 1;
            out[n].value.len = (uint32_t)(line_end - colon - 1);
            n++;
        }
        p = line_end + 1;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *part[FUZZ_PARTS] = {0};
    size_t part_len[FUZZ_PARTS] = {0};
    size_t start = 0;
    for (int i = 0; i < FUZZ_PARTS; i++) {
        size_t end = start;
        while (end < size && data[end] != 0xff)
            end++;
        if (start > size)
            end = start = size;
        part_len[i] = end - start;
        part[i] = malloc(part_len[i] ? part_len[i] : 1);
        if (part_len[i])
            memcpy(part[i], data + start, part_len[i]);
        start = end + 1;
    }
    static credential_config cfg;
    static credential_config trusting;
    static int ready;
    if (!ready) {
        char err[128];
        limits lim = limits_default();
        credential_config_init(&cfg, &lim);
        lim.credentials_per_request = 2;
        credential_config_init(&trusting, &lim);
        credential_config_set_proxies(&trusting, "10.0.0.0/8,2001:db8::/32", err, sizeof err);
        ready = 1;
    }
    int trust = part_len[0] > 0 && part[0][0] == '!';

    http_header_view request_headers[FUZZ_HEADERS], response_headers[FUZZ_HEADERS];
    http_transaction tx;
    memset(&tx, 0, sizeof tx);
    tx.client_ip.family = 4;
    tx.client_ip.bytes[0] = 10;
    tx.client_ip.bytes[3] = 1;
    tx.uri.ptr = part[0];
    tx.uri.len = (uint32_t)part_len[0];
    tx.request.present = 1;
    tx.request.headers = request_headers;
    tx.request.header_count = fuzz_headers(part[1], part_len[1], request_headers);
    tx.request.body = (const uint8_t *)part[2];
    tx.request.body_len = (uint32_t)part_len[2];
    tx.response.present = 1;
    tx.response.headers = response_headers;
    tx.response.header_count = fuzz_headers(part[3], part_len[3], response_headers);
    tx.response.body = (const uint8_t *)part[4];
    tx.response.body_len = (uint32_t)part_len[4];

    static credential_set set, uncached;
    static credential_cache *cache;
    if (!cache && credential_cache_create(4, &cache) != AS_OK)
        __builtin_trap();
    anomaly_counters counters = {0}, plain = {0};
    credential_extract(&tx, trust ? &trusting : &cfg, cache, &set, &counters);
    /* the cache changes nothing but speed */
    credential_extract(&tx, trust ? &trusting : &cfg, NULL, &uncached, &plain);
    if (memcmp(&counters, &plain, sizeof plain) != 0 || set.count != uncached.count ||
        set.identity.kind != uncached.identity.kind ||
        set.identity.id.len != uncached.identity.id.len ||
        (set.identity.id.len &&
         memcmp(set.identity.id.ptr, uncached.identity.id.ptr, set.identity.id.len) != 0))
        __builtin_trap();
    if (set.count > CREDENTIAL_MAX || set.jwt_count > CREDENTIAL_MAX_JWT ||
        set.decoded_used > CREDENTIAL_DECODE_BYTES)
        __builtin_trap();
    for (uint32_t i = 0; i < set.count; i++) {
        fuzz_touch(set.items[i].name);
        fuzz_touch(set.items[i].value);
        const jwt_claims *claims = credential_jwt(&set, &set.items[i]);
        if (claims && !claims->alg.present)
            __builtin_trap();
    }
    fuzz_touch(set.identity.id);
    if ((set.identity.credential < 0) != (set.identity.kind == IDENTITY_CLIENT_IP))
        __builtin_trap();

    /* the redacted target fits its bound and says what it hid */
    size_t bound = credential_redact_bound(part_len[0]);
    char *shown = malloc(bound);
    if (!shown)
        __builtin_trap();
    size_t shown_len = credential_redact_target(&cfg, tx.uri, shown);
    if (shown_len > bound || (shown_len && !memmem(shown, shown_len, "REDACTED", 8)))
        __builtin_trap();
    free(shown);

    static login_facts facts;
    login_extract(&tx, &cfg, NULL, &facts, &counters);
    if (facts.decoded_used > LOGIN_DECODE_BYTES)
        __builtin_trap();
    fuzz_touch(facts.user_field);
    fuzz_touch(facts.user);
    fuzz_touch(facts.cookie_name);
    fuzz_touch(facts.cookie_value);
    fuzz_touch(facts.token_field);
    fuzz_touch(facts.token);

    for (int i = 0; i < FUZZ_PARTS; i++)
        free(part[i]);
    return 0;
}
