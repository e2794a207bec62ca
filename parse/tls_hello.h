/*
 * TLS hello messages: ClientHello and ServerHello (HelloRetryRequest
 * included) decoded with the bounds-checked cursor, and the client
 * fingerprints computed from a ClientHello:
 *
 * - JA3: MD5 of "version,ciphers,extensions,groups,point formats" (decimal,
 *   '-'-joined lists in wire order, GREASE values left out);
 * - JA4 (FoxIO, TLS over TCP): "t" + version + d/i + cipher count +
 *   extension count + ALPN first/last characters, "_", the first 12 hex of
 *   SHA-256 over the sorted cipher list, "_", the first 12 hex of SHA-256
 *   over the sorted extension list (SNI and ALPN left out) "_" the
 *   signature algorithms in wire order; GREASE values left out everywhere.
 *
 * The structs are plain values; lists keep their first TLS_HELLO_MAX_LIST
 * entries (a real hello has far fewer) and say when more were cut.
 * Parsing works on a handshake message body (after its 4-byte header).
 */
#ifndef APISENSOR_PARSE_TLS_HELLO_H
#define APISENSOR_PARSE_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

enum {
    TLS_HELLO_MAX_LIST = 256,
    TLS_SNI_MAX = 255,
    TLS_ALPN_MAX = 64,
    TLS_JA3_HEX = 32,   /* MD5 in hex */
    TLS_JA4_CHARS = 36, /* t13d1516h2_8daaf6152771_e5627efa2ab1 */
    TLS_EXT_SERVER_NAME = 0x0000,
    TLS_EXT_SUPPORTED_GROUPS = 0x000a,
    TLS_EXT_EC_POINT_FORMATS = 0x000b,
    TLS_EXT_SIGNATURE_ALGORITHMS = 0x000d,
    TLS_EXT_ALPN = 0x0010,
    TLS_EXT_ENCRYPT_THEN_MAC = 0x0016,
    TLS_EXT_SUPPORTED_VERSIONS = 0x002b,
};

typedef struct tls_u16_list {
    uint16_t v[TLS_HELLO_MAX_LIST];
    uint16_t n;
    uint8_t truncated; /* more entries were on the wire */
} tls_u16_list;

typedef struct tls_client_hello {
    uint16_t legacy_version;
    uint8_t random[32];
    tls_u16_list ciphers;
    tls_u16_list extensions; /* types in wire order */
    tls_u16_list groups;
    tls_u16_list point_formats;
    tls_u16_list sig_algs;
    tls_u16_list versions; /* supported_versions */
    uint8_t has_sni;
    uint8_t sni_len;
    char sni[TLS_SNI_MAX + 1]; /* host_name as sent (NUL-terminated; may hold any byte) */
    uint8_t has_alpn;          /* the ALPN extension is present */
    uint8_t alpn_len;          /* length of the first protocol (cut at TLS_ALPN_MAX) */
    char alpn[TLS_ALPN_MAX + 1];
} tls_client_hello;

typedef struct tls_server_hello {
    uint16_t legacy_version;
    uint16_t version; /* negotiated: supported_versions if present, else legacy_version */
    uint8_t random[32];
    uint16_t cipher;
    uint8_t retry_request;    /* a HelloRetryRequest (RFC 8446 section 4.1.3) */
    uint8_t encrypt_then_mac; /* the encrypt_then_mac extension (RFC 7366) */
} tls_server_hello;

/* 1 for a GREASE value (RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa). */
static inline int tls_is_grease(uint16_t v) {
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* AS_OK, or AS_ERR_FORMAT when the body is not a well-formed hello. */
as_status tls_client_hello_parse(const uint8_t *body, size_t len, tls_client_hello *out);
as_status tls_server_hello_parse(const uint8_t *body, size_t len, tls_server_hello *out);

/* Writes the JA3 string (for tests and debugging) to text; returns its
 * length, or 0 when it does not fit. */
size_t tls_ja3_string(const tls_client_hello *ch, char *text, size_t size);

/* JA3 hash: TLS_JA3_HEX lower-case hex digits and a NUL into out. */
as_status tls_ja3(const tls_client_hello *ch, char out[TLS_JA3_HEX + 1]);

/* JA4 of a ClientHello seen over TCP: TLS_JA4_CHARS characters and a NUL. */
as_status tls_ja4(const tls_client_hello *ch, char out[TLS_JA4_CHARS + 1]);

/* JA4 hash part: first 12 hex digits of SHA-256 of text, or "000000000000"
 * when text is empty (exposed for the published examples of the spec). */
as_status tls_ja4_hash12(const char *text, size_t len, char out[13]);

#endif
