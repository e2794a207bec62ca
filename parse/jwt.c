/*
 * JWT decoding: strict base64url by table lookup, then the JSON walker
 * over the decoded header and payload, keeping only the claims the sensor
 * reports. One stack buffer holds one decoded segment at a time.
 */
#include "jwt.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "json_walk.h"

#define JWT_DECODED_MAX (JWT_MAX_BYTES_CEILING / 4 * 3 + 3)

/* ---- base64url ---------------------------------------------------------- */

/* 1 + the value of each base64url character; 0 for every other byte
 * (0x80-0xff are zero-initialised). */
// clang-format off
static const uint8_t jwt_b64_table[256] = {
    /* 0x00 */  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    /* 0x10 */  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    /* 0x20 */  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 63,  0,  0,
    /* 0x30 */ 53, 54, 55, 56, 57, 58, 59, 60, 61, 62,  0,  0,  0,  0,  0,  0,
    /* 0x40 */  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15,
    /* 0x50 */ 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,  0,  0,  0,  0, 64,
    /* 0x60 */  0, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41,
    /* 0x70 */ 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52,  0,  0,  0,  0,  0,
};
// clang-format on

/*
 * Decodes an unpadded base64url segment into out (cap bytes). Returns the
 * decoded length or -1 (bad character, impossible length, no room). Unused
 * low bits of the last character are not checked: encoders set them to
 * zero, and a sensor gains nothing by refusing a token its server accepts.
 */
static int jwt_b64_decode(const uint8_t *text, size_t len, uint8_t *out, size_t cap) {
    if (len % 4 == 1 || len / 4 * 3 + 2 > cap)
        return -1;
    size_t o = 0, i = 0;
    for (; i + 4 <= len; i += 4) {
        uint32_t a = jwt_b64_table[text[i]], b = jwt_b64_table[text[i + 1]],
                 c = jwt_b64_table[text[i + 2]], d = jwt_b64_table[text[i + 3]];
        if (!a || !b || !c || !d)
            return -1;
        uint32_t v = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (d - 1);
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    if (i < len) { /* 2 or 3 characters: 1 or 2 bytes */
        uint32_t v = 0;
        size_t rest = len - i;
        for (size_t k = 0; k < rest; k++) {
            uint32_t x = jwt_b64_table[text[i + k]];
            if (!x)
                return -1;
            v |= (x - 1) << (18 - 6 * k);
        }
        out[o++] = (uint8_t)(v >> 16);
        if (rest == 3)
            out[o++] = (uint8_t)(v >> 8);
    }
    return (int)o;
}

/* ---- shape -------------------------------------------------------------- */

typedef struct jwt_segments {
    const uint8_t *part[3];
    size_t len[3];
} jwt_segments;

/* Splits at the two dots; 1 when the shape is a JWS compact token. The
 * header is a JSON object with members: its text starts with '{"' ("eyJ"),
 * which rejects most other values at the first bytes. */
static int jwt_split(const char *token, size_t len, jwt_segments *seg) {
    const uint8_t *p = (const uint8_t *)token;
    if (len < 5 || memcmp(p, "eyJ", 3) != 0)
        return 0;
    const uint8_t *dot1 = memchr(p, '.', len);
    const uint8_t *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - p)) : NULL;
    if (!dot2 || dot2 == dot1 + 1)
        return 0;
    seg->part[0] = p;
    seg->len[0] = (size_t)(dot1 - p);
    seg->part[1] = dot1 + 1;
    seg->len[1] = (size_t)(dot2 - dot1 - 1);
    seg->part[2] = dot2 + 1;
    seg->len[2] = len - (size_t)(dot2 + 1 - p);
    /* every other byte is base64url (a third dot fails here too) */
    unsigned bad = 0;
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < seg->len[k]; i++)
            bad |= jwt_b64_table[seg->part[k][i]] == 0;
    return !bad;
}

int jwt_looks_like(const char *token, size_t len) {
    jwt_segments seg;
    return token && jwt_split(token, len, &seg);
}

/* ---- claims ------------------------------------------------------------- */

static void jwt_set_text(jwt_text *t, const json_walk_item *item, int *truncated) {
    char buf[JWT_TEXT_BYTES * 2];
    const char *src = item->value.ptr;
    int n = (int)item->value.len;
    if (item->escaped) {
        n = json_walk_unescape(item->value, buf, sizeof buf);
        src = buf;
        if (n < 0) {
            /* longer than twice the field once decoded: keep a decodable prefix */
            str_view head = {item->value.ptr, JWT_TEXT_BYTES};
            while (head.len > 0 && (n = json_walk_unescape(head, buf, sizeof buf)) < 0)
                head.len--;
            t->truncated = 1;
            if (n < 0)
                n = 0;
        }
    }
    t->present = 1;
    if (n > JWT_TEXT_BYTES - 1) {
        n = JWT_TEXT_BYTES - 1;
        t->truncated = 1;
    }
    memcpy(t->text, src, (size_t)n);
    t->text[n] = '\0';
    t->len = (uint16_t)n;
    if (t->truncated)
        *truncated = 1;
}

/* Seconds from a JSON number; fractions dropped, out-of-range values clamped. */
static int64_t jwt_number_seconds(str_view number) {
    int64_t v = 0;
    uint32_t i = number.ptr[0] == '-' ? 1 : 0;
    int plain = number.len - i <= 18;
    for (uint32_t k = i; plain && k < number.len; k++) {
        if (number.ptr[k] < '0' || number.ptr[k] > '9')
            plain = 0;
        else
            v = v * 10 + (number.ptr[k] - '0');
    }
    if (plain)
        return i ? -v : v;
    char text[64];
    uint32_t n = number.len < sizeof text - 1 ? number.len : (uint32_t)sizeof text - 1;
    memcpy(text, number.ptr, n);
    text[n] = '\0';
    double d = strtod(text, NULL);
    if (d >= 9.2e18)
        return INT64_MAX;
    if (d <= -9.2e18)
        return INT64_MIN;
    return (int64_t)d;
}

typedef enum { JWT_PART_HEADER, JWT_PART_PAYLOAD } jwt_part;

/* Claim names are case-sensitive (RFC 7519 section 4). */
#define CLAIM_IS(key, name)                                                                        \
    ((key).len == sizeof(name) - 1 && !memcmp((key).ptr, name, sizeof(name) - 1))

/* Walks one decoded segment; 1 when it is a strict JSON object. */
static int jwt_read_json(const uint8_t *json, size_t len, jwt_part part, jwt_claims *out,
                         int *truncated) {
    json_walker w;
    json_walk_item item;
    json_walk_init(&w, json, len);
    if (json_walk_next(&w, &item) != AS_OK || item.type != JSON_WALK_OBJECT_BEGIN)
        return 0;
    int in_aud = 0, aud_taken = 0;
    as_status st;
    while ((st = json_walk_next(&w, &item)) == AS_OK) {
        if (item.depth == 2 && in_aud && !aud_taken && item.type == JSON_WALK_STRING) {
            jwt_set_text(&out->aud, &item, truncated);
            aud_taken = 1;
        }
        if (item.depth == 1 && item.type == JSON_WALK_ARRAY_END)
            in_aud = 0;
        if (item.depth != 1 || !item.key.ptr)
            continue;
        int is_string = item.type == JSON_WALK_STRING;
        int is_number = item.type == JSON_WALK_NUMBER;
        str_view key = item.key;
        if (item.key_escaped)
            continue; /* no claim we keep is spelled with escapes */
        if (part == JWT_PART_HEADER) {
            if (CLAIM_IS(key, "alg"))
                out->alg.present = 0; /* a later non-string alg hides an earlier one */
            if (!is_string)
                continue;
            if (CLAIM_IS(key, "alg"))
                jwt_set_text(&out->alg, &item, truncated);
            else if (CLAIM_IS(key, "typ"))
                jwt_set_text(&out->typ, &item, truncated);
            else if (CLAIM_IS(key, "kid"))
                jwt_set_text(&out->kid, &item, truncated);
            continue;
        }
        if (CLAIM_IS(key, "sub") && (is_string || is_number)) {
            jwt_set_text(&out->sub, &item, truncated);
            out->sub_is_number = (uint8_t)is_number;
        } else if (CLAIM_IS(key, "iss") && is_string) {
            jwt_set_text(&out->iss, &item, truncated);
        } else if (CLAIM_IS(key, "aud") && is_string) {
            jwt_set_text(&out->aud, &item, truncated);
        } else if (CLAIM_IS(key, "aud") && item.type == JSON_WALK_ARRAY_BEGIN) {
            in_aud = 1;
            aud_taken = 0;
        } else if (CLAIM_IS(key, "email") && is_string) {
            jwt_set_text(&out->email, &item, truncated);
        } else if (CLAIM_IS(key, "preferred_username") && is_string) {
            jwt_set_text(&out->preferred_username, &item, truncated);
        } else if (is_number && CLAIM_IS(key, "iat")) {
            out->iat = jwt_number_seconds(item.value);
            out->has_iat = 1;
        } else if (is_number && CLAIM_IS(key, "exp")) {
            out->exp = jwt_number_seconds(item.value);
            out->has_exp = 1;
        } else if (is_number && CLAIM_IS(key, "nbf")) {
            out->nbf = jwt_number_seconds(item.value);
            out->has_nbf = 1;
        }
    }
    return st == AS_DONE;
}

static as_status jwt_fail(jwt_claims *out, anomaly_id id, as_status st,
                          anomaly_counters *counters) {
    out->anomaly = id;
    anomaly_count(counters, id);
    return st;
}

as_status jwt_decode(const char *token, size_t len, uint32_t max_bytes, jwt_claims *out,
                     anomaly_counters *counters) {
    jwt_segments seg;
    out->anomaly = ANOMALY_COUNT;
    if (!token || !jwt_split(token, len, &seg))
        return AS_SKIP;
    memset(out, 0, sizeof *out);
    out->anomaly = ANOMALY_COUNT;
    if (max_bytes > JWT_MAX_BYTES_CEILING)
        max_bytes = JWT_MAX_BYTES_CEILING;
    if (len > max_bytes)
        return jwt_fail(out, ANOMALY_JWT_TOO_LONG, AS_ERR_LIMIT, counters);
    /* jwt_split checked the alphabet; a signature needs only a possible length */
    if (seg.len[2] % 4 == 1)
        return jwt_fail(out, ANOMALY_JWT_BAD_BASE64URL, AS_ERR_FORMAT, counters);
    out->signature_bytes = (uint16_t)(seg.len[2] * 3 / 4);
    uint8_t buf[JWT_DECODED_MAX];
    int truncated = 0;
    int n = jwt_b64_decode(seg.part[0], seg.len[0], buf, sizeof buf);
    if (n < 0)
        return jwt_fail(out, ANOMALY_JWT_BAD_BASE64URL, AS_ERR_FORMAT, counters);
    if (!jwt_read_json(buf, (size_t)n, JWT_PART_HEADER, out, &truncated))
        return jwt_fail(out, ANOMALY_JWT_BAD_HEADER, AS_ERR_FORMAT, counters);
    if (!out->alg.present)
        return jwt_fail(out, ANOMALY_JWT_HEADER_WITHOUT_ALG, AS_ERR_FORMAT, counters);
    n = jwt_b64_decode(seg.part[1], seg.len[1], buf, sizeof buf);
    if (n < 0)
        return jwt_fail(out, ANOMALY_JWT_BAD_BASE64URL, AS_ERR_FORMAT, counters);
    if (!jwt_read_json(buf, (size_t)n, JWT_PART_PAYLOAD, out, &truncated))
        return jwt_fail(out, ANOMALY_JWT_BAD_PAYLOAD, AS_ERR_FORMAT, counters);
    if (truncated)
        anomaly_count(counters, ANOMALY_JWT_CLAIM_TRUNCATED);
    return AS_OK;
}

/* ---- HMAC check --------------------------------------------------------- */

int jwt_hs_key_find(const char *token, size_t len, const jwt_key *keys, size_t count) {
    jwt_claims claims;
    if (jwt_decode(token, len, JWT_MAX_BYTES_CEILING, &claims, NULL) != AS_OK)
        return -1;
    const char *digest = NULL;
    int digest_len = 0;
    if (!strcmp(claims.alg.text, "HS256"))
        digest = "SHA256", digest_len = 32;
    else if (!strcmp(claims.alg.text, "HS384"))
        digest = "SHA384", digest_len = 48;
    else if (!strcmp(claims.alg.text, "HS512"))
        digest = "SHA512", digest_len = 64;
    if (!digest)
        return -1;
    jwt_segments seg;
    jwt_split(token, len, &seg);
    uint8_t sig[EVP_MAX_MD_SIZE + 3];
    int sig_len = jwt_b64_decode(seg.part[2], seg.len[2], sig, sizeof sig);
    if (sig_len != digest_len)
        return -1;
    size_t signed_len = seg.len[0] + 1 + seg.len[1];
    /* one MAC fetched for every candidate key: OpenSSL 3's one-shot HMAC()
     * fetches the algorithms again on each call */
    EVP_MAC *mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac_alg ? EVP_MAC_CTX_new(mac_alg) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)digest, 0),
                           OSSL_PARAM_construct_end()};
    static const uint8_t empty_key[1] = {0};
    int found = -1;
    for (size_t i = 0; ctx && i < count && found < 0; i++) {
        uint8_t mac[EVP_MAX_MD_SIZE];
        size_t mac_len = 0;
        if (EVP_MAC_init(ctx, keys[i].len ? keys[i].bytes : empty_key, keys[i].len, params) &&
            EVP_MAC_update(ctx, (const uint8_t *)token, signed_len) &&
            EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) && mac_len == (size_t)sig_len &&
            CRYPTO_memcmp(mac, sig, mac_len) == 0)
            found = (int)i;
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac_alg);
    return found;
}

int jwt_hs_key_matches(const char *token, size_t len, const void *key, size_t key_len) {
    jwt_key k = {key, key_len};
    return jwt_hs_key_find(token, len, &k, 1) == 0;
}
