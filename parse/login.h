/*
 * Login facts of a transaction, from its content alone (no path names).
 *
 * Analytics recognises a login endpoint as a POST whose successes issue a
 * token or a session cookie and whose failures are 400/401/403 (#4); this
 * file reports the content half of that rule, for any transaction:
 *
 *   request body (JSON object or form-urlencoded): the first member whose
 *   name is username-like (username, user, login, email, ...) with a string
 *   value, and whether a non-empty password-like member (password, passwd,
 *   pwd, ... or any name containing "password") was present. The password
 *   itself is never kept.
 *
 *   response: a Set-Cookie of a session cookie (credential_is_session_cookie)
 *   with a non-empty value that does not expire it at once; a token in the
 *   JSON body (a string member named like a token: access_token,
 *   accessToken, token, id_token, jwt, ...; else any string value that is a
 *   well-formed JWT), or in an Authorization or API key response header.
 *
 * Member names are compared ignoring ASCII case, '_' and '-', so
 * access_token, accessToken and Access-Token are one name. Members at any
 * depth count ({"user":{"email":...}}); the first in document order wins,
 * except that a named token wins over an unnamed JWT.
 *
 * token_fingerprint and cookie_fingerprint are credential_fingerprint() of
 * the values, so a later request presenting the token (Bearer, API key,
 * cookie) has a credential with the same fingerprint: that ties it to the
 * user who logged in.
 *
 * Memory: views point into the transaction or into out->decoded (values
 * that needed unescaping); valid while both live; do not copy login_facts
 * by value while using its views. No allocation.
 */
#ifndef APISENSOR_PARSE_LOGIN_H
#define APISENSOR_PARSE_LOGIN_H

#include <stdint.h>

#include "common/anomaly.h"
#include "common/strview.h"
#include "credential.h"
#include "jwt.h"
#include "transaction.h"

#define LOGIN_DECODE_BYTES 1024 /* unescaped user name and token */

typedef struct login_facts {
    /* request */
    str_view user_field;  /* name of the username-like member, absent when none */
    str_view user;        /* its value, unescaped / percent-decoded */
    uint8_t has_password; /* a non-empty password-like member was present */
    uint8_t request_form; /* the body was read as form-urlencoded (else JSON) */
    /* response */
    uint8_t sets_session_cookie;
    str_view cookie_name;
    str_view cookie_value;
    uint64_t cookie_fingerprint;
    uint8_t returns_token;
    uint8_t token_in_header; /* the token came in a response header (else the JSON body) */
    str_view token_field;    /* member or header name */
    str_view token;
    uint64_t token_fingerprint;
    int8_t token_is_jwt;     /* token decoded as a JWT: claims in token_claims */
    jwt_claims token_claims; /* sub of an issued JWT names the user too */
    uint32_t decoded_used;   /* private */
    char decoded[LOGIN_DECODE_BYTES];
} login_facts;

/* What the caller already knows of the two bodies from a cheaper scan of
 * all their bytes: *_plain = 1 when the body holds no member name
 * containing pass, pwd, secret, token, jwt or api-key/api-token and no
 * JWT-shaped value, so walking its JSON cannot find a password or a token.
 * A plain request is still walked when the response issues a token or a
 * session cookie (a passwordless login names its user too). */
typedef struct login_hints {
    uint8_t request_plain;
    uint8_t response_plain;
} login_hints;

/* Fills out from tx (request body and response). Bodies are read as they
 * were captured (http_body_capture_bytes / decoded limits); a body cut in
 * the middle yields what came before the cut. hints and counters may be
 * NULL (every body is read). */
void login_extract(const http_transaction *tx, const credential_config *cfg,
                   const login_hints *hints, login_facts *out, anomaly_counters *counters);

/* 1 when the facts hold either half of a login: credentials submitted
 * (user or password) or a token or session cookie issued. */
int login_facts_any(const login_facts *facts);

#endif
