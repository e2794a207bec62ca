/*
 * TLS record protection from known secrets, with OpenSSL 3 (libcrypto) for
 * every primitive: the TLS 1.2 PRF (RFC 5246 section 5, SHA-256 or
 * SHA-384), HKDF-Expand-Label (RFC 8446 section 7.1), and record opening
 * for the suites this sensor decrypts: AES-128/256-GCM and
 * ChaCha20-Poly1305 (TLS 1.2 and 1.3), and TLS 1.2 AES-CBC with
 * HMAC-SHA1/SHA256/SHA384, MAC-then-encrypt or encrypt-then-MAC (RFC 7366).
 *
 * A tls_crypto holds what libcrypto would otherwise look up on every call
 * (fetched ciphers, HKDF contexts with their digest set): one per thread,
 * created once, passed to every derivation and key change. A tls_suite
 * describes one cipher suite; tls_suite_find() returns NULL
 * for suites that cannot be decrypted (RC4, 3DES, export, ...). A
 * tls_cipher is one direction's record protection: key, IV and sequence
 * number; it owns one EVP_CIPHER_CTX (allocated once when keys are first
 * set, reused for every record and every key change). No global state; a
 * tls_crypto and a tls_cipher are used by one thread.
 */
#ifndef APISENSOR_PARSE_TLS_CRYPTO_H
#define APISENSOR_PARSE_TLS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

enum {
    TLS_MAX_SECRET_BYTES = 48, /* SHA-384 output */
    TLS_MAX_KEY_BYTES = 32,
    TLS_AEAD_NONCE_BYTES = 12,
    TLS_AEAD_TAG_BYTES = 16,
    TLS12_EXPLICIT_NONCE_BYTES = 8,
    TLS_RANDOM_BYTES = 32,
    TLS12_MASTER_SECRET_BYTES = 48,
};

/* Bulk protection of a suite: the AEADs, and TLS 1.2 AES-CBC with an HMAC. */
typedef enum {
    TLS_AEAD_AES_128_GCM,
    TLS_AEAD_AES_256_GCM,
    TLS_AEAD_CHACHA20_POLY1305,
    TLS_CBC_AES_128,
    TLS_CBC_AES_256,
    TLS_BULK_COUNT
} tls_aead;

typedef struct tls_suite {
    uint16_t id;
    const char *name;    /* IANA name */
    uint16_t version;    /* 0x0303: a TLS 1.2 suite, 0x0304: a TLS 1.3 suite */
    tls_aead aead;       /* record protection */
    uint8_t key_bytes;   /* cipher key length */
    uint8_t hash_sha384; /* PRF/HKDF hash: SHA-384 (else SHA-256) */
    uint8_t mac_bytes;   /* CBC: HMAC length, 20 SHA-1, 32 SHA-256, 48 SHA-384; AEAD: 0 */
} tls_suite;

typedef struct tls_crypto tls_crypto;

as_status tls_crypto_create(tls_crypto **out);
void tls_crypto_destroy(tls_crypto *cx);

/* The suite with that id if it can be decrypted, else NULL. */
const tls_suite *tls_suite_find(uint16_t id);

/* Hash output length of the suite's PRF/HKDF hash (32 or 48). */
size_t tls_suite_hash_bytes(const tls_suite *suite);

/* TLS 1.2 PRF: P_hash(secret, label || seed), out_len bytes. */
as_status tls12_prf(tls_crypto *cx, int sha384, const uint8_t *secret, size_t secret_len,
                    const char *label, const uint8_t *seed, size_t seed_len, uint8_t *out,
                    size_t out_len);

/* TLS 1.3 HKDF-Expand-Label(secret, label, context, out_len); label without "tls13 ". */
as_status tls13_expand_label(tls_crypto *cx, int sha384, const uint8_t *secret, size_t secret_len,
                             const char *label, const uint8_t *context, size_t context_len,
                             uint8_t *out, size_t out_len);

typedef struct tls_cipher {
    void *ctx; /* EVP_CIPHER_CTX, NULL until the first key */
    void *mac; /* CBC: EVP_MAC_CTX keyed with the MAC key, NULL otherwise */
    const tls_suite *suite;
    uint16_t version; /* 0x0303 or 0x0304: record format */
    uint8_t key[TLS_MAX_KEY_BYTES];
    uint8_t iv[TLS_AEAD_NONCE_BYTES]; /* TLS 1.2 GCM: the 4-byte salt, rest unused */
    uint64_t seq;                     /* sequence number of the next record */
    uint8_t active;
    uint8_t encrypt_then_mac; /* CBC: RFC 7366 negotiated */
} tls_cipher;

/* TLS 1.2: installs the key block parts of one direction for the suite
 * (AEAD: key and IV, mac_key NULL; CBC: MAC key and key, iv NULL); seq = 0. */
as_status tls_cipher_set12(tls_crypto *cx, tls_cipher *c, const tls_suite *suite,
                           const uint8_t *mac_key, const uint8_t *key, const uint8_t *iv,
                           int encrypt_then_mac);

/* TLS 1.3: derives key and IV from a traffic secret; seq = 0. */
as_status tls_cipher_set13(tls_crypto *cx, tls_cipher *c, const tls_suite *suite,
                           const uint8_t *secret, size_t secret_len);

/*
 * Opens one record: header is its 5-byte header, body its fragment. On
 * success writes the plaintext to out (room for body_len bytes), sets
 * *out_len and, for TLS 1.3, strips the padding and writes the inner
 * content type to *inner_type (TLS 1.2: the header's type); the sequence
 * number advances. AS_ERR_FORMAT when the tag does not verify or the record
 * is too short (CBC: also bad padding or MAC).
 */
as_status tls_cipher_open(tls_cipher *c, const uint8_t header[5], const uint8_t *body,
                          size_t body_len, uint8_t *out, size_t *out_len, uint8_t *inner_type);

/* Frees the contexts; the struct is zeroed. */
void tls_cipher_clear(tls_cipher *c);

/* Wipes keys and state but keeps the cipher context for the next key (the
 * MAC context is freed). */
void tls_cipher_forget(tls_cipher *c);

#endif
