/*
 * TLS key derivation and AEAD record opening over libcrypto (see
 * tls_crypto.h). The KDFs go through EVP_KDF ("TLS1-PRF", "HKDF" in
 * expand-only mode); records through one reusable EVP_CIPHER_CTX per
 * direction: the key is set once per key change, each record only sets its
 * nonce. A tls_crypto fetches the algorithms once: with OpenSSL 3 a fetch
 * by name per call (locks, lookups, allocations) cost more than the
 * decryption of a short connection.
 */
#include "tls_crypto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

/* The suites decrypted: TLS 1.3 first, then the TLS 1.2 GCM suites of RFC
 * 5288/5289/5487, ChaCha20-Poly1305 suites of RFC 7905 and AES-CBC suites. */
static const tls_suite suites[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256", 0x0304, TLS_AEAD_AES_128_GCM, 16, 0, 0},
    {0x1302, "TLS_AES_256_GCM_SHA384", 0x0304, TLS_AEAD_AES_256_GCM, 32, 1, 0},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", 0x0304, TLS_AEAD_CHACHA20_POLY1305, 32, 0, 0},
    {0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", 0x0303, TLS_AEAD_AES_128_GCM, 16, 0, 0},
    {0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", 0x0303, TLS_AEAD_AES_256_GCM, 32, 1, 0},
    {0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 0x0303, TLS_AEAD_AES_128_GCM, 16, 0, 0},
    {0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 0x0303, TLS_AEAD_AES_256_GCM, 32, 1, 0},
    {0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256", 0x0303, TLS_AEAD_AES_128_GCM, 16, 0, 0},
    {0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384", 0x0303, TLS_AEAD_AES_256_GCM, 32, 1, 0},
    {0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0x0303, TLS_AEAD_AES_128_GCM, 16, 0, 0},
    {0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0x0303, TLS_AEAD_AES_256_GCM, 32, 1, 0},
    {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0x0303, TLS_AEAD_AES_128_GCM, 16, 0, 0},
    {0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0x0303, TLS_AEAD_AES_256_GCM, 32, 1, 0},
    {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0x0303, TLS_AEAD_CHACHA20_POLY1305, 32,
     0, 0},
    {0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0x0303, TLS_AEAD_CHACHA20_POLY1305,
     32, 0, 0},
    {0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0x0303, TLS_AEAD_CHACHA20_POLY1305, 32, 0,
     0},
    {0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", 0x0303, TLS_AEAD_CHACHA20_POLY1305, 32, 0, 0},
    {0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", 0x0303, TLS_AEAD_CHACHA20_POLY1305, 32,
     0, 0},
    /* TLS 1.2 AES-CBC suites (RFC 5246, 4492, 5289): HMAC length last */
    {0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", 0x0303, TLS_CBC_AES_128, 16, 0, 20},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", 0x0303, TLS_CBC_AES_256, 32, 0, 20},
    {0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", 0x0303, TLS_CBC_AES_128, 16, 0, 32},
    {0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", 0x0303, TLS_CBC_AES_256, 32, 0, 32},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", 0x0303, TLS_CBC_AES_128, 16, 0, 20},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", 0x0303, TLS_CBC_AES_256, 32, 0, 20},
    {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 0x0303, TLS_CBC_AES_128, 16, 0, 32},
    {0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", 0x0303, TLS_CBC_AES_256, 32, 0, 32},
    {0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0x0303, TLS_CBC_AES_128, 16, 0, 20},
    {0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0x0303, TLS_CBC_AES_256, 32, 0, 20},
    {0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0x0303, TLS_CBC_AES_128, 16, 0, 20},
    {0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0x0303, TLS_CBC_AES_256, 32, 0, 20},
    {0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0x0303, TLS_CBC_AES_128, 16, 0, 32},
    {0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", 0x0303, TLS_CBC_AES_256, 32, 1, 48},
    {0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 0x0303, TLS_CBC_AES_128, 16, 0, 32},
    {0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 0x0303, TLS_CBC_AES_256, 32, 1, 48},
};

const tls_suite *tls_suite_find(uint16_t id) {
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (suites[i].id == id)
            return &suites[i];
    return NULL;
}

size_t tls_suite_hash_bytes(const tls_suite *suite) {
    return suite->hash_sha384 ? 48 : 32;
}

struct tls_crypto {
    EVP_KDF_CTX *hkdf[2]; /* [sha384]: expand-only HKDF with its digest set */
    EVP_KDF *prf;         /* TLS1-PRF; a context per use (it appends seeds, has no dup) */
    EVP_CIPHER *aead[TLS_BULK_COUNT]; /* by tls_aead */
    EVP_MAC *hmac;
};

static const char *digest_name(int sha384) {
    return sha384 ? "SHA384" : "SHA256";
}

static EVP_KDF_CTX *hkdf_context(int sha384) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!kdf)
        return NULL;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest_name(sha384), 0),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_end(),
    };
    if (ctx && EVP_KDF_CTX_set_params(ctx, params) != 1) {
        EVP_KDF_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

as_status tls_crypto_create(tls_crypto **out) {
    static const char *const aead_names[TLS_BULK_COUNT] = {
        "AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305", "AES-128-CBC", "AES-256-CBC"};
    *out = NULL;
    tls_crypto *cx = calloc(1, sizeof *cx);
    if (!cx)
        return AS_ERR_NOMEM;
    int ok = 1;
    for (int sha384 = 0; sha384 < 2; sha384++) {
        cx->hkdf[sha384] = hkdf_context(sha384);
        ok = ok && cx->hkdf[sha384];
    }
    cx->prf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    ok = ok && cx->prf;
    for (int i = 0; i < TLS_BULK_COUNT; i++) {
        cx->aead[i] = EVP_CIPHER_fetch(NULL, aead_names[i], NULL);
        ok = ok && cx->aead[i];
    }
    cx->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    ok = ok && cx->hmac;
    if (!ok) {
        tls_crypto_destroy(cx);
        return AS_ERR_UNSUPPORTED;
    }
    *out = cx;
    return AS_OK;
}

void tls_crypto_destroy(tls_crypto *cx) {
    if (!cx)
        return;
    for (int i = 0; i < 2; i++)
        EVP_KDF_CTX_free(cx->hkdf[i]);
    EVP_KDF_free(cx->prf);
    for (int i = 0; i < TLS_BULK_COUNT; i++)
        EVP_CIPHER_free(cx->aead[i]);
    EVP_MAC_free(cx->hmac);
    free(cx);
}

as_status tls12_prf(tls_crypto *cx, int sha384, const uint8_t *secret, size_t secret_len,
                    const char *label, const uint8_t *seed, size_t seed_len, uint8_t *out,
                    size_t out_len) {
    /* label || seed: labels are short ASCII, seeds two randoms. */
    uint8_t full_seed[128];
    size_t label_len = strlen(label);
    if (label_len + seed_len > sizeof full_seed)
        return AS_ERR_ARG;
    memcpy(full_seed, label, label_len);
    memcpy(full_seed + label_len, seed, seed_len);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest_name(sha384), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, secret_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, full_seed, label_len + seed_len),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(cx->prf);
    if (!ctx)
        return AS_ERR_NOMEM;
    int ok = EVP_KDF_derive(ctx, out, out_len, params) > 0;
    EVP_KDF_CTX_free(ctx);
    return ok ? AS_OK : AS_ERR_INTERNAL;
}

as_status tls13_expand_label(tls_crypto *cx, int sha384, const uint8_t *secret, size_t secret_len,
                             const char *label, const uint8_t *context, size_t context_len,
                             uint8_t *out, size_t out_len) {
    /* struct HkdfLabel { uint16 length; opaque label<7..255> = "tls13 " + label;
     *                    opaque context<0..255>; } (RFC 8446 section 7.1) */
    static const char prefix[] = "tls13 ";
    uint8_t info[2 + 1 + 255 + 1 + 255];
    size_t label_len = strlen(label);
    size_t full_label = sizeof prefix - 1 + label_len;
    if (full_label > 255 || context_len > 255 || out_len > 0xffff)
        return AS_ERR_ARG;
    size_t n = 0;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)full_label;
    memcpy(info + n, prefix, sizeof prefix - 1);
    n += sizeof prefix - 1;
    memcpy(info + n, label, label_len);
    n += label_len;
    info[n++] = (uint8_t)context_len;
    if (context_len)
        memcpy(info + n, context, context_len);
    n += context_len;
    /* the context keeps its digest and mode; key and info replace the last ones */
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
        OSSL_PARAM_construct_end(),
    };
    return EVP_KDF_derive(cx->hkdf[sha384 ? 1 : 0], out, out_len, params) > 0 ? AS_OK
                                                                              : AS_ERR_INTERNAL;
}

static as_status install_key(tls_crypto *cx, tls_cipher *c, const tls_suite *suite,
                             uint16_t version) {
    if (!c->ctx) {
        c->ctx = EVP_CIPHER_CTX_new();
        if (!c->ctx)
            return AS_ERR_NOMEM;
    }
    if (EVP_DecryptInit_ex(c->ctx, cx->aead[suite->aead], NULL, c->key, NULL) != 1)
        return AS_ERR_INTERNAL;
    if (suite->mac_bytes)
        EVP_CIPHER_CTX_set_padding(c->ctx, 0); /* TLS padding is checked here */
    c->suite = suite;
    c->version = version;
    c->seq = 0;
    c->active = 1;
    return AS_OK;
}

static const char *mac_digest(size_t mac_bytes) {
    return mac_bytes == 20 ? "SHA1" : mac_bytes == 32 ? "SHA256" : "SHA384";
}

as_status tls_cipher_set12(tls_crypto *cx, tls_cipher *c, const tls_suite *suite,
                           const uint8_t *mac_key, const uint8_t *key, const uint8_t *iv,
                           int encrypt_then_mac) {
    memset(c->iv, 0, sizeof c->iv);
    memcpy(c->key, key, suite->key_bytes);
    EVP_MAC_CTX_free(c->mac);
    c->mac = NULL;
    if (suite->mac_bytes) {
        /* CBC: the record IV is explicit; a keyed HMAC context is copied per record */
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                             (char *)mac_digest(suite->mac_bytes), 0),
            OSSL_PARAM_construct_end(),
        };
        c->mac = EVP_MAC_CTX_new(cx->hmac);
        if (!c->mac)
            return AS_ERR_NOMEM;
        if (EVP_MAC_init(c->mac, mac_key, suite->mac_bytes, params) != 1)
            return AS_ERR_INTERNAL;
        c->encrypt_then_mac = (uint8_t)(encrypt_then_mac != 0);
        return install_key(cx, c, suite, 0x0303);
    }
    /* GCM: 4-byte implicit salt (the rest of the nonce is explicit in each
     * record); ChaCha20-Poly1305: a 12-byte IV XORed with the sequence. */
    memcpy(c->iv, iv, suite->aead == TLS_AEAD_CHACHA20_POLY1305 ? 12 : 4);
    return install_key(cx, c, suite, 0x0303);
}

as_status tls_cipher_set13(tls_crypto *cx, tls_cipher *c, const tls_suite *suite,
                           const uint8_t *secret, size_t secret_len) {
    EVP_MAC_CTX_free(c->mac);
    c->mac = NULL;
    as_status st = tls13_expand_label(cx, suite->hash_sha384, secret, secret_len, "key", NULL, 0,
                                      c->key, suite->key_bytes);
    if (st == AS_OK)
        st = tls13_expand_label(cx, suite->hash_sha384, secret, secret_len, "iv", NULL, 0, c->iv,
                                TLS_AEAD_NONCE_BYTES);
    if (st != AS_OK)
        return st;
    return install_key(cx, c, suite, 0x0304);
}

/* TLS 1.2 record pseudo-header: seq_num || type || version || length, the
 * HMAC input prefix (RFC 5246 6.2.3.1) and the AEAD additional data
 * (RFC 5246 6.2.3.3). */
static void pseudo_header(const tls_cipher *c, const uint8_t header[5], size_t length,
                          uint8_t out[13]) {
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(c->seq >> (56 - 8 * i));
    out[8] = header[0];
    out[9] = header[1];
    out[10] = header[2];
    out[11] = (uint8_t)(length >> 8);
    out[12] = (uint8_t)length;
}

/* HMAC over seq || type || version || length || data (RFC 5246 6.2.3.1;
 * RFC 7366: the data is IV and ciphertext); 1 when it equals expected. */
static int mac_matches(tls_cipher *c, const uint8_t header[5], const uint8_t *data, size_t len,
                       const uint8_t *expected) {
    uint8_t pseudo[13], mac[EVP_MAX_MD_SIZE];
    pseudo_header(c, header, len, pseudo);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(c->mac);
    size_t mac_len = 0;
    int ok = ctx && EVP_MAC_update(ctx, pseudo, sizeof pseudo) == 1 &&
             EVP_MAC_update(ctx, data, len) == 1 &&
             EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) == 1 && mac_len == c->suite->mac_bytes &&
             CRYPTO_memcmp(mac, expected, mac_len) == 0;
    EVP_MAC_CTX_free(ctx);
    return ok;
}

/* Decrypts AES-CBC data (whole blocks) with iv into out and strips the TLS
 * padding: the plaintext length, or -1. */
static long cbc_decrypt(tls_cipher *c, const uint8_t *iv, const uint8_t *data, size_t len,
                        uint8_t *out) {
    int n = 0, fin = 0;
    if (len == 0 || len % 16 || EVP_DecryptInit_ex(c->ctx, NULL, NULL, NULL, iv) != 1 ||
        EVP_DecryptUpdate(c->ctx, out, &n, data, (int)len) != 1 ||
        EVP_DecryptFinal_ex(c->ctx, out + n, &fin) != 1)
        return -1;
    size_t total = (size_t)n + (size_t)fin;
    uint8_t pad = out[total - 1];
    if ((size_t)pad + 1 > total)
        return -1;
    for (size_t i = total - 1 - pad; i < total; i++)
        if (out[i] != pad)
            return -1;
    return (long)(total - 1 - pad);
}

/* TLS 1.2 AES-CBC record: IV || ciphertext (|| MAC when encrypt-then-MAC). */
static as_status open_cbc(tls_cipher *c, const uint8_t header[5], const uint8_t *body,
                          size_t body_len, uint8_t *out, size_t *out_len) {
    size_t mac = c->suite->mac_bytes;
    long len;
    if (c->encrypt_then_mac) {
        if (body_len < 16 + 16 + mac)
            return AS_ERR_FORMAT;
        size_t sealed = body_len - mac;
        if (!mac_matches(c, header, body, sealed, body + sealed))
            return AS_ERR_FORMAT;
        len = cbc_decrypt(c, body, body + 16, sealed - 16, out);
        if (len < 0)
            return AS_ERR_FORMAT;
    } else {
        if (body_len < 16 + 16)
            return AS_ERR_FORMAT;
        len = cbc_decrypt(c, body, body + 16, body_len - 16, out);
        if (len < (long)mac)
            return AS_ERR_FORMAT;
        len -= (long)mac;
        if (!mac_matches(c, header, out, (size_t)len, out + len))
            return AS_ERR_FORMAT;
    }
    c->seq++;
    *out_len = (size_t)len;
    return AS_OK;
}

/* nonce = iv XOR (0^32 || seq as 64-bit big-endian) */
static void xor_nonce(const uint8_t iv[12], uint64_t seq, uint8_t nonce[12]) {
    memcpy(nonce, iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));
}

as_status tls_cipher_open(tls_cipher *c, const uint8_t header[5], const uint8_t *body,
                          size_t body_len, uint8_t *out, size_t *out_len, uint8_t *inner_type) {
    if (!c->active)
        return AS_ERR_ARG;
    if (c->mac) {
        *inner_type = header[0];
        return open_cbc(c, header, body, body_len, out, out_len);
    }
    uint8_t nonce[TLS_AEAD_NONCE_BYTES];
    uint8_t aad[13];
    size_t aad_len;
    const uint8_t *ct = body;
    size_t ct_len;
    if (c->version == 0x0304) {
        if (body_len < TLS_AEAD_TAG_BYTES + 1)
            return AS_ERR_FORMAT;
        ct_len = body_len - TLS_AEAD_TAG_BYTES;
        xor_nonce(c->iv, c->seq, nonce);
        memcpy(aad, header, 5); /* the record header is the additional data */
        aad_len = 5;
    } else {
        size_t explicit_len =
            c->suite->aead == TLS_AEAD_CHACHA20_POLY1305 ? 0 : TLS12_EXPLICIT_NONCE_BYTES;
        if (body_len < explicit_len + TLS_AEAD_TAG_BYTES)
            return AS_ERR_FORMAT;
        ct = body + explicit_len;
        ct_len = body_len - explicit_len - TLS_AEAD_TAG_BYTES;
        if (explicit_len) {
            memcpy(nonce, c->iv, 4);
            memcpy(nonce + 4, body, 8);
        } else {
            xor_nonce(c->iv, c->seq, nonce);
        }
        pseudo_header(c, header, ct_len, aad); /* with the plaintext length */
        aad_len = 13;
    }
    EVP_CIPHER_CTX *ctx = c->ctx;
    int n = 0, fin = 0;
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1 ||
        EVP_DecryptUpdate(ctx, out, &n, ct, (int)ct_len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TLS_AEAD_TAG_BYTES,
                            (void *)(ct + ct_len)) != 1 ||
        EVP_DecryptFinal_ex(ctx, out + n, &fin) != 1)
        return AS_ERR_FORMAT;
    size_t len = (size_t)n + (size_t)fin;
    c->seq++;
    if (c->version == 0x0304) {
        /* TLSInnerPlaintext: content || type || zero padding */
        while (len > 0 && out[len - 1] == 0)
            len--;
        if (len == 0)
            return AS_ERR_FORMAT;
        *inner_type = out[--len];
    } else {
        *inner_type = header[0];
    }
    *out_len = len;
    return AS_OK;
}

void tls_cipher_clear(tls_cipher *c) {
    EVP_CIPHER_CTX_free(c->ctx);
    EVP_MAC_CTX_free(c->mac);
    OPENSSL_cleanse(c, sizeof *c);
}

void tls_cipher_forget(tls_cipher *c) {
    void *ctx = c->ctx;
    EVP_MAC_CTX_free(c->mac);
    OPENSSL_cleanse(c, sizeof *c);
    c->ctx = ctx;
}
