/*
 * Pseudonyms with OpenSSL 3's EVP_MAC "HMAC": the handle keeps an
 * initialised context; EVP_MAC_init with a NULL key restarts it with the
 * key already set.
 */
#include "pseudonym.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

struct pseudonym {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

void pseudonym_destroy(pseudonym *p) {
    if (!p)
        return;
    EVP_MAC_CTX_free(p->ctx); /* OpenSSL cleanses the key it holds */
    EVP_MAC_free(p->mac);
    free(p);
}

as_status pseudonym_create(const void *key, size_t key_len, pseudonym **out) {
    *out = NULL;
    if (!key || key_len == 0 || key_len > PSEUDONYM_KEY_MAX_BYTES)
        return AS_ERR_ARG;
    pseudonym *p = calloc(1, sizeof *p);
    if (!p)
        return AS_ERR_NOMEM;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    p->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    p->ctx = p->mac ? EVP_MAC_CTX_new(p->mac) : NULL;
    if (!p->ctx || !EVP_MAC_init(p->ctx, key, key_len, params)) {
        pseudonym_destroy(p);
        return AS_ERR_INTERNAL;
    }
    *out = p;
    return AS_OK;
}

static void pseudonym_to_hex(const uint8_t *mac, size_t len, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[mac[i] >> 4];
        out[2 * i + 1] = digits[mac[i] & 15];
    }
    out[2 * len] = '\0';
}

as_status pseudonym_hex(pseudonym *p, const void *secret, size_t secret_len,
                        char out[PSEUDONYM_HEX_BYTES]) {
    uint8_t mac[32];
    size_t mac_len = 0;
    out[0] = '\0';
    if (!EVP_MAC_init(p->ctx, NULL, 0, NULL) || !EVP_MAC_update(p->ctx, secret, secret_len) ||
        !EVP_MAC_final(p->ctx, mac, &mac_len, sizeof mac) || mac_len != sizeof mac)
        return AS_ERR_INTERNAL;
    pseudonym_to_hex(mac, mac_len, out);
    return AS_OK;
}

as_status pseudonym_hex_once(const void *key, size_t key_len, const void *secret, size_t secret_len,
                             char out[PSEUDONYM_HEX_BYTES]) {
    pseudonym *p = NULL;
    out[0] = '\0';
    as_status st = pseudonym_create(key, key_len, &p);
    if (st == AS_OK)
        st = pseudonym_hex(p, secret, secret_len, out);
    pseudonym_destroy(p);
    return st;
}
