/*
 * Builders for the TLS tests: byte buffers, handshake messages and records
 * (cleartext and protected with the AEAD of a suite), so a test can write a
 * whole TLS 1.2 or 1.3 conversation with known secrets and feed it in any
 * segmentation. Protection uses libcrypto directly (the sensor only
 * decrypts); keys come from the functions under test, which
 * test_tls_crypto.c checks against published vectors.
 */
#ifndef APISENSOR_TESTS_PARSE_TEST_TLS_BUILD_H
#define APISENSOR_TESTS_PARSE_TEST_TLS_BUILD_H

#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "parse/tls_crypto.h"

typedef struct tbuf {
    uint8_t b[16384];
    size_t n;
} tbuf;

static inline void put8(tbuf *t, unsigned v) {
    t->b[t->n++] = (uint8_t)v;
}
static inline void put16(tbuf *t, unsigned v) {
    put8(t, v >> 8);
    put8(t, v);
}
static inline void put24(tbuf *t, unsigned v) {
    put8(t, v >> 16);
    put16(t, v & 0xffff);
}
static inline void putn(tbuf *t, const void *p, size_t n) {
    if (n)
        memcpy(t->b + t->n, p, n);
    t->n += n;
}
/* Writes a 16-bit length placeholder; returns its offset for end16(). */
static inline size_t begin16(tbuf *t) {
    put16(t, 0);
    return t->n;
}
static inline void end16(tbuf *t, size_t start) {
    size_t len = t->n - start;
    t->b[start - 2] = (uint8_t)(len >> 8);
    t->b[start - 1] = (uint8_t)len;
}

/* handshake message: type, 24-bit length, body */
static inline void handshake(tbuf *t, unsigned type, const uint8_t *body, size_t len) {
    put8(t, type);
    put24(t, (unsigned)len);
    putn(t, body, len);
}

/* cleartext record */
static inline void record(tbuf *t, unsigned type, const uint8_t *body, size_t len) {
    put8(t, type);
    put16(t, 0x0303);
    put16(t, (unsigned)len);
    putn(t, body, len);
}

/* A ClientHello body: TLS 1.2 legacy version, the given random, ciphers,
 * SNI host, ALPN "h2", supported_versions (TLS 1.3 and 1.2 when tls13). */
static inline size_t client_hello_body(uint8_t *out, const uint8_t random[32], const char *host,
                                       int tls13) {
    tbuf t = {.n = 0};
    put16(&t, 0x0303);
    putn(&t, random, 32);
    put8(&t, 0); /* session id */
    size_t s = begin16(&t);
    put16(&t, 0x1301);
    put16(&t, 0x1302);
    put16(&t, 0xc02f);
    put16(&t, 0xcca8);
    end16(&t, s);
    put8(&t, 1);
    put8(&t, 0); /* null compression */
    size_t exts = begin16(&t);
    put16(&t, 0x0000); /* server_name */
    size_t e = begin16(&t);
    size_t list = begin16(&t);
    put8(&t, 0);
    put16(&t, (unsigned)strlen(host));
    putn(&t, host, strlen(host));
    end16(&t, list);
    end16(&t, e);
    put16(&t, 0x0010); /* ALPN */
    e = begin16(&t);
    list = begin16(&t);
    put8(&t, 2);
    putn(&t, "h2", 2);
    end16(&t, list);
    end16(&t, e);
    if (tls13) {
        put16(&t, 0x002b); /* supported_versions */
        e = begin16(&t);
        put8(&t, 4);
        put16(&t, 0x0304);
        put16(&t, 0x0303);
        end16(&t, e);
    }
    end16(&t, exts);
    memcpy(out, t.b, t.n);
    return t.n;
}

/* A ServerHello body choosing cipher; supported_versions 0x0304 when
 * tls13 is 1; encrypt_then_mac (RFC 7366) when tls13 is 2. */
static inline size_t server_hello_body(uint8_t *out, const uint8_t random[32], unsigned cipher,
                                       int tls13) {
    tbuf t = {.n = 0};
    put16(&t, 0x0303);
    putn(&t, random, 32);
    put8(&t, 0);
    put16(&t, cipher);
    put8(&t, 0);
    size_t exts = begin16(&t);
    if (tls13 == 1) {
        put16(&t, 0x002b);
        put16(&t, 2);
        put16(&t, 0x0304);
    } else if (tls13 == 2) {
        put16(&t, 0x0016);
        put16(&t, 0);
    }
    end16(&t, exts);
    memcpy(out, t.b, t.n);
    return t.n;
}

/* The tests' libcrypto handles, made on first use and kept to the end. */
static inline tls_crypto *test_crypto(void) {
    static tls_crypto *cx;
    if (!cx)
        tls_crypto_create(&cx);
    return cx;
}

/* One direction's record protection for the builder. */
typedef struct tseal {
    const tls_suite *suite;
    int tls13;
    int encrypt_then_mac; /* CBC */
    uint8_t key[32], iv[12], mac_key[48];
    uint64_t seq;
} tseal;

static inline void seal_init13(tseal *s, uint16_t suite, const uint8_t *secret, size_t len) {
    memset(s, 0, sizeof *s);
    s->suite = tls_suite_find(suite);
    s->tls13 = 1;
    tls13_expand_label(test_crypto(), s->suite->hash_sha384, secret, len, "key", NULL, 0, s->key,
                       s->suite->key_bytes);
    tls13_expand_label(test_crypto(), s->suite->hash_sha384, secret, len, "iv", NULL, 0, s->iv, 12);
}

/* TLS 1.2: AEAD (key, iv) or CBC (mac_key, key, encrypt_then_mac). */
static inline void seal_init12(tseal *s, uint16_t suite, const uint8_t *mac_key, const uint8_t *key,
                               const uint8_t *iv, int encrypt_then_mac) {
    memset(s, 0, sizeof *s);
    s->suite = tls_suite_find(suite);
    memcpy(s->key, key, s->suite->key_bytes);
    if (s->suite->mac_bytes)
        memcpy(s->mac_key, mac_key, s->suite->mac_bytes);
    else
        memcpy(s->iv, iv, s->suite->aead == TLS_AEAD_CHACHA20_POLY1305 ? 12 : 4);
    s->encrypt_then_mac = encrypt_then_mac;
}

/* HMAC of seq || type || 0303 || length || data with the suite's digest. */
static inline void cbc_mac(const tseal *s, unsigned type, const uint8_t *data, size_t len,
                           uint8_t *out) {
    uint8_t buf[20000];
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(s->seq >> (56 - 8 * i));
    buf[8] = (uint8_t)type;
    buf[9] = 3;
    buf[10] = 3;
    buf[11] = (uint8_t)(len >> 8);
    buf[12] = (uint8_t)len;
    memcpy(buf + 13, data, len);
    const EVP_MD *md = s->suite->mac_bytes == 20   ? EVP_sha1()
                       : s->suite->mac_bytes == 32 ? EVP_sha256()
                                                   : EVP_sha384();
    unsigned out_len = 0;
    HMAC(md, s->mac_key, (int)s->suite->mac_bytes, buf, 13 + len, out, &out_len);
}

/* Appends one AES-CBC record (TLS 1.2), MAC-then-encrypt or encrypt-then-MAC. */
static inline void seal_cbc(tbuf *t, tseal *s, unsigned type, const void *content, size_t len) {
    size_t mac = s->suite->mac_bytes;
    uint8_t plain[17000], iv[16], sealed[17100];
    memcpy(plain, content, len);
    size_t n = len;
    if (!s->encrypt_then_mac) {
        cbc_mac(s, type, plain, len, plain + n);
        n += mac;
    }
    size_t pad = 15 - n % 16; /* n + pad + 1 is a whole number of blocks */
    memset(plain + n, (int)pad, pad + 1);
    n += pad + 1;
    memset(iv, (int)(0xa0 + s->seq), sizeof iv);
    memcpy(sealed, iv, 16);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int k = 0;
    EVP_EncryptInit_ex(ctx, s->suite->key_bytes == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(), NULL,
                       s->key, iv);
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    EVP_EncryptUpdate(ctx, sealed + 16, &k, plain, (int)n);
    EVP_CIPHER_CTX_free(ctx);
    size_t body = 16 + n;
    if (s->encrypt_then_mac) {
        cbc_mac(s, type, sealed, body, sealed + body);
        body += mac;
    }
    put8(t, type);
    put16(t, 0x0303);
    put16(t, (unsigned)body);
    putn(t, sealed, body);
    s->seq++;
}

/* Appends one protected record carrying content of the given type. */
static inline void seal(tbuf *t, tseal *s, unsigned type, const void *content, size_t len) {
    if (s->suite->mac_bytes) {
        seal_cbc(t, s, type, content, len);
        return;
    }
    const EVP_CIPHER *cipher = s->suite->aead == TLS_AEAD_AES_128_GCM   ? EVP_aes_128_gcm()
                               : s->suite->aead == TLS_AEAD_AES_256_GCM ? EVP_aes_256_gcm()
                                                                        : EVP_chacha20_poly1305();
    int chacha = s->suite->aead == TLS_AEAD_CHACHA20_POLY1305;
    uint8_t plain[16384 + 1];
    memcpy(plain, content, len);
    size_t plain_len = len;
    if (s->tls13)
        plain[plain_len++] = (uint8_t)type;
    size_t explicit_len = !s->tls13 && !chacha ? 8 : 0;
    size_t body_len = explicit_len + plain_len + 16;
    uint8_t header[5] = {(uint8_t)(s->tls13 ? 23 : type), 3, 3, (uint8_t)(body_len >> 8),
                         (uint8_t)body_len};
    uint8_t nonce[12], aad[13];
    size_t aad_len;
    memcpy(nonce, s->iv, 12);
    if (explicit_len) {
        for (int i = 0; i < 8; i++)
            nonce[4 + i] = (uint8_t)(s->seq >> (56 - 8 * i));
    } else {
        for (int i = 0; i < 8; i++)
            nonce[11 - i] ^= (uint8_t)(s->seq >> (8 * i));
    }
    if (s->tls13) {
        memcpy(aad, header, 5);
        aad_len = 5;
    } else {
        for (int i = 0; i < 8; i++)
            aad[i] = (uint8_t)(s->seq >> (56 - 8 * i));
        aad[8] = (uint8_t)type;
        aad[9] = 3;
        aad[10] = 3;
        aad[11] = (uint8_t)(plain_len >> 8);
        aad[12] = (uint8_t)plain_len;
        aad_len = 13;
    }
    putn(t, header, 5);
    if (explicit_len)
        putn(t, nonce + 4, 8);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    EVP_EncryptInit_ex(ctx, cipher, NULL, s->key, nonce);
    EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len);
    EVP_EncryptUpdate(ctx, t->b + t->n, &n, plain, (int)plain_len);
    t->n += (size_t)n;
    EVP_EncryptFinal_ex(ctx, t->b + t->n, &n);
    t->n += (size_t)n;
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, t->b + t->n);
    t->n += 16;
    EVP_CIPHER_CTX_free(ctx);
    s->seq++;
}

#endif
