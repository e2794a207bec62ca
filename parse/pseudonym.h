/*
 * Pseudonyms: a secret seen in traffic (API key, opaque token, session
 * cookie) is written out only as HMAC-SHA256(deployment key, secret) in
 * lowercase hex (CONTRACT.md), stable for one deployment key so the same
 * secret always gets the same pseudonym, and useless to whoever reads the
 * events without the key.
 *
 * It lives in parse/ because both stages that write identities (analytics
 * for findings, export for transaction events) come after parse/ on the data
 * path and so can include it, while common/ stays free of OpenSSL.
 *
 * A pseudonym handle holds the key inside a prepared OpenSSL HMAC context,
 * so each pseudonym costs one HMAC and no key set-up or allocation. One
 * handle per thread (the context is mutable); the key is copied and wiped
 * on destroy.
 */
#ifndef APISENSOR_PARSE_PSEUDONYM_H
#define APISENSOR_PARSE_PSEUDONYM_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define PSEUDONYM_HEX_BYTES 65 /* 64 hex digits and a NUL */
#define PSEUDONYM_KEY_MAX_BYTES 256

typedef struct pseudonym pseudonym;

/* key: 1..PSEUDONYM_KEY_MAX_BYTES bytes (AS_ERR_ARG otherwise); AS_ERR_NOMEM
 * or AS_ERR_INTERNAL when OpenSSL cannot set up the MAC. */
as_status pseudonym_create(const void *key, size_t key_len, pseudonym **out);

void pseudonym_destroy(pseudonym *p);

/* Writes the lowercase hex HMAC-SHA256 of secret into out (NUL-terminated).
 * AS_ERR_INTERNAL (out set to "") if OpenSSL fails. */
as_status pseudonym_hex(pseudonym *p, const void *secret, size_t secret_len,
                        char out[PSEUDONYM_HEX_BYTES]);

/* The same without a handle (sets up the MAC on every call): for tools,
 * tests and rare uses. */
as_status pseudonym_hex_once(const void *key, size_t key_len, const void *secret, size_t secret_len,
                             char out[PSEUDONYM_HEX_BYTES]);

#endif
