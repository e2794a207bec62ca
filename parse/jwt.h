/*
 * JSON Web Tokens (RFC 7519) in the JWS compact form: the facts a passive
 * sensor needs from a token it sees, without verifying it.
 *
 * A token has the JWT shape when it is three base64url segments (RFC 4648
 * section 5, no padding) joined by two dots, with a non-empty payload and
 * a header that starts with "eyJ" (the encoding of '{"': every JWT library
 * writes the header as compact JSON); anything else (opaque tokens, dotted cookies such as
 * "GA1.2.3", JWE's five segments) is not a JWT and costs no anomaly. A token of that shape that
 * then fails to decode is malformed: the header must be a JSON object with a string "alg", the
 * payload a JSON object, both strict JSON (parse/json_walk.h); each failure
 * is a named anomaly (jwt.*). No signature is verified; jwt_hs_key_matches
 * tests one candidate secret of an HMAC-signed token (for weak_jwt).
 *
 * jwt_claims is a self-contained value (fixed text fields, no pointers):
 * it can be copied and kept. Text claims longer than JWT_TEXT_BYTES - 1 are
 * cut and flagged (jwt.claim_truncated). Duplicate members: the last wins,
 * as RFC 7519 section 4 allows and as JavaScript's JSON.parse does.
 *
 * Decoding uses a stack buffer of JWT_MAX_BYTES_CEILING * 3 / 4 bytes and no
 * heap; every function may be called from any thread.
 */
#ifndef APISENSOR_PARSE_JWT_H
#define APISENSOR_PARSE_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "common/anomaly.h"
#include "common/status.h"

#define JWT_TEXT_BYTES 128          /* per text claim, NUL included */
#define JWT_MAX_BYTES_CEILING 16384 /* highest accepted jwt_max_bytes limit */

typedef struct jwt_text {
    uint8_t present;           /* the member was in the token (with a usable type) */
    uint8_t truncated;         /* the value was longer than the field and was cut */
    uint16_t len;              /* bytes in text, NUL excluded */
    char text[JWT_TEXT_BYTES]; /* UTF-8, escapes decoded, NUL-terminated */
} jwt_text;

typedef struct jwt_claims {
    /* header */
    jwt_text alg; /* always present after a successful decode ("none", "HS256" ...) */
    jwt_text typ;
    jwt_text kid;
    /* payload */
    jwt_text sub; /* a string, or a number written as its JSON text */
    jwt_text iss;
    jwt_text aud; /* a string, or the first string of an array */
    jwt_text email;
    jwt_text preferred_username;
    int64_t iat, exp, nbf; /* seconds since the epoch (fractions dropped); valid when has_* */
    uint8_t has_iat, has_exp, has_nbf;
    uint8_t sub_is_number;
    uint16_t signature_bytes; /* decoded length of the signature segment (0 for alg none) */
    anomaly_id anomaly;       /* what was malformed; ANOMALY_COUNT when nothing */
} jwt_claims;

/* 1 when token has the JWT shape described above (no decoding). */
int jwt_looks_like(const char *token, size_t len);

/*
 * Decodes header and payload of token into *out (fully overwritten, except
 * on AS_SKIP, which writes only out->anomaly).
 * max_bytes: longest token accepted (the jwt_max_bytes limit; values above
 * JWT_MAX_BYTES_CEILING are clamped). Returns AS_OK when decoded; AS_SKIP
 * when token does not have the JWT shape (nothing counted); AS_ERR_LIMIT
 * (jwt.too_long) or AS_ERR_FORMAT (other jwt.* anomalies) when it has the
 * shape but is malformed: out->anomaly names the anomaly, which is also
 * counted in counters (may be NULL). jwt.claim_truncated is counted on a
 * successful decode and does not fail it.
 */
as_status jwt_decode(const char *token, size_t len, uint32_t max_bytes, jwt_claims *out,
                     anomaly_counters *counters);

/*
 * 1 when token is a well-formed JWT whose header alg is HS256, HS384 or
 * HS512 and whose signature is the HMAC of its signing input under key
 * (OpenSSL HMAC, constant-time comparison); 0 otherwise (other algorithms,
 * malformed tokens, wrong key).
 */
int jwt_hs_key_matches(const char *token, size_t len, const void *key, size_t key_len);

typedef struct jwt_key {
    const void *bytes;
    size_t len;
} jwt_key;

/* The index of the first of count candidate keys that signed token (as
 * jwt_hs_key_matches, decoding the token once), or -1. */
int jwt_hs_key_find(const char *token, size_t len, const jwt_key *keys, size_t count);

#endif
