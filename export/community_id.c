/*
 * Community ID v1 (seed 0): SHA-1 over the ordered 5-tuple, base64.
 *
 * The SHA-1 implementation and its digest context are fetched once and
 * reused, so formatting an ID allocates nothing (EVP_Digest() would create
 * and free a context on every call).
 */
#include "community_id.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct community_id {
    EVP_MD *sha1;
    EVP_MD_CTX *ctx;
};

as_status community_id_create(community_id **out) {
    *out = NULL;
    community_id *cid = calloc(1, sizeof *cid);
    if (!cid)
        return AS_ERR_NOMEM;
    cid->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    cid->ctx = EVP_MD_CTX_new();
    if (!cid->sha1 || !cid->ctx) {
        community_id_destroy(cid);
        return AS_ERR_NOMEM;
    }
    *out = cid;
    return AS_OK;
}

const char *community_id_format(community_id *cid, const ip_address *a, uint16_t a_port,
                                const ip_address *b, uint16_t b_port, uint8_t proto, char *buf,
                                unsigned buflen) {
    unsigned addr_len = a->family == 6 ? 16 : 4;
    int cmp = memcmp(a->bytes, b->bytes, addr_len);
    if (cmp > 0 || (cmp == 0 && a_port > b_port)) {
        const ip_address *t = a;
        a = b;
        b = t;
        uint16_t p = a_port;
        a_port = b_port;
        b_port = p;
    }
    /* seed (2) + two addresses + proto + pad + two ports */
    uint8_t input[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    input[n++] = 0;
    input[n++] = 0;
    memcpy(input + n, a->bytes, addr_len);
    n += addr_len;
    memcpy(input + n, b->bytes, addr_len);
    n += addr_len;
    input[n++] = proto;
    input[n++] = 0;
    input[n++] = (uint8_t)(a_port >> 8);
    input[n++] = (uint8_t)a_port;
    input[n++] = (uint8_t)(b_port >> 8);
    input[n++] = (uint8_t)b_port;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned digest_len = 0;
    unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    if (buflen < 34 || !EVP_DigestInit_ex(cid->ctx, cid->sha1, NULL) ||
        !EVP_DigestUpdate(cid->ctx, input, n) ||
        !EVP_DigestFinal_ex(cid->ctx, digest, &digest_len)) {
        if (buflen > 0)
            buf[0] = '\0';
        return buf;
    }
    EVP_EncodeBlock(encoded, digest, (int)digest_len);
    buf[0] = '1';
    buf[1] = ':';
    size_t enc_len = strlen((const char *)encoded);
    if (enc_len > buflen - 3)
        enc_len = buflen - 3;
    memcpy(buf + 2, encoded, enc_len);
    buf[2 + enc_len] = '\0';
    return buf;
}

void community_id_destroy(community_id *cid) {
    if (!cid)
        return;
    EVP_MD_CTX_free(cid->ctx);
    EVP_MD_free(cid->sha1);
    free(cid);
}
