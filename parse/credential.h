/*
 * Credentials of an HTTP request and the identity they give it.
 *
 * credential_extract() finds every credential a request carries, in wire
 * order: the Authorization header (Bearer: bearer_jwt when the token decodes
 * as a JWT, else bearer_token; Basic: the user name, the password reduced to
 * a flag; any other scheme or a bare value: api_key_header), API key headers
 * and query parameters and session cookies named by configurable lists, and
 * any cookie or query value that decodes as a JWT. Auth kinds and identity
 * kinds are the words of CONTRACT.md. Client certificates (mTLS) are not
 * visible in HTTP and are left to the TLS stage (#6).
 *
 * The identity of the request is the first of (docs/identity.md): a JWT
 * "sub", an API key (header or query), an opaque bearer token, a Basic user,
 * a session cookie, else the client address; X-Forwarded-For is honoured
 * only when the peer is a configured trusted proxy.
 *
 * Memory: nothing is allocated. The caller owns a credential_set (about
 * 9 KiB; reuse one per thread) and a credential_config (read-only once
 * filled, shareable between threads). Views in a credential_set point into
 * the transaction (valid as long as it is) or into the set itself (decoded
 * query values and Basic user names, JWT claims): do not copy a set by
 * value while using its views; copy out what must be kept. Only the fields
 * documented as written are written (no memset of the whole set per call).
 */
#ifndef APISENSOR_PARSE_CREDENTIAL_H
#define APISENSOR_PARSE_CREDENTIAL_H

#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"
#include "common/anomaly.h"
#include "common/limits.h"
#include "common/status.h"
#include "common/strview.h"
#include "jwt.h"
#include "transaction.h"

#define CREDENTIAL_MAX 16            /* ceiling of the credentials_per_request limit */
#define CREDENTIAL_MAX_JWT 4         /* JWTs decoded per request; later ones stay opaque */
#define CREDENTIAL_DECODE_BYTES 4096 /* decoded query values and Basic user names */
#define CREDENTIAL_NAMES_MAX 32      /* names in one configured list */
#define CREDENTIAL_NAME_BYTES 64     /* longest configured name, NUL included */
#define CREDENTIAL_PROXIES_MAX 64    /* trusted proxy addresses or networks */

/* X(id, CONTRACT.md auth kind) */
#define CREDENTIAL_KIND_LIST(X)                                                                    \
    X(BEARER_JWT, "bearer_jwt")                                                                    \
    X(BEARER_TOKEN, "bearer_token")                                                                \
    X(API_KEY_HEADER, "api_key_header")                                                            \
    X(QUERY, "query_credential")                                                                   \
    X(BASIC, "basic")                                                                              \
    X(COOKIE, "cookie")

typedef enum {
#define CREDENTIAL_KIND_ENUM(id, name) CREDENTIAL_##id,
    CREDENTIAL_KIND_LIST(CREDENTIAL_KIND_ENUM)
#undef CREDENTIAL_KIND_ENUM
        CREDENTIAL_KIND_COUNT
} credential_kind;

typedef enum {
    CREDENTIAL_IN_HEADER,
    CREDENTIAL_IN_QUERY,
    CREDENTIAL_IN_COOKIE
} credential_location;

/* X(id, CONTRACT.md identity kind, 1 when the id is a secret to pseudonymise) */
#define IDENTITY_KIND_LIST(X)                                                                      \
    X(JWT_SUB, "jwt_sub", 0)                                                                       \
    X(API_KEY, "api_key", 1)                                                                       \
    X(BEARER_TOKEN, "bearer_token", 1)                                                             \
    X(BASIC_USER, "basic_user", 0)                                                                 \
    X(SESSION_COOKIE, "session_cookie", 1)                                                         \
    X(CLIENT_CERT, "client_cert", 0)                                                               \
    X(CLIENT_IP, "client_ip", 0)

typedef enum {
#define IDENTITY_KIND_ENUM(id, name, secret) IDENTITY_##id,
    IDENTITY_KIND_LIST(IDENTITY_KIND_ENUM)
#undef IDENTITY_KIND_ENUM
        IDENTITY_KIND_COUNT
} identity_kind;

const char *credential_kind_name(credential_kind kind);
const char *credential_location_name(credential_location location); /* header, query, cookie */
const char *identity_kind_name(identity_kind kind);
/* 1 for kinds whose id is a secret: written as a pseudonym (CONTRACT.md). */
int identity_kind_is_secret(identity_kind kind);

typedef struct credential {
    credential_kind kind;
    credential_location location;
    str_view name;         /* header name, query parameter name or cookie name, as sent */
    str_view value;        /* the credential: the token or key as sent (query values
                              percent-decoded); Basic: the user name; absent for a
                              Basic value that did not decode */
    uint64_t fingerprint;  /* credential_fingerprint(value): equal values, equal prints */
    int8_t jwt;            /* index into credential_set.jwt when value decoded as a JWT, else -1 */
    uint8_t jwt_malformed; /* value had the JWT shape but did not decode (jwt.* anomaly) */
    uint8_t has_password;  /* Basic: a non-empty password was sent (and then forgotten) */
} credential;

typedef struct credential_identity {
    identity_kind kind;
    str_view id; /* jwt_sub: the sub text; api_key, bearer_token, session_cookie: the
                    secret as sent (pseudonymise before output); basic_user: the user
                    name; client_ip: the X-Forwarded-For entry used, or absent when the
                    packet's client address is the identity */
    ip_address
        client_ip;  /* the client: the packet's, or X-Forwarded-For's behind a trusted proxy */
    int credential; /* index into credential_set.items it came from; -1 for client_ip */
    uint64_t fingerprint; /* of kind and id (client_ip: of the address), for distinct counts */
} credential_identity;

typedef struct credential_cache credential_cache;

typedef struct credential_set {
    uint32_t count;   /* credentials in items */
    uint32_t dropped; /* credentials beyond credentials_per_request (counted as an anomaly) */
    credential items[CREDENTIAL_MAX];
    credential_identity identity;
    uint32_t jwt_count;
    jwt_claims jwt[CREDENTIAL_MAX_JWT];
    uint32_t decoded_used;   /* private: bytes of decoded in use */
    credential_cache *cache; /* private: the cache of the current call, or NULL */
    char decoded[CREDENTIAL_DECODE_BYTES];
} credential_set;

/* ---- configuration ------------------------------------------------------ */

/* Names are matched ignoring ASCII case; '*' matches any run of characters. */
typedef struct credential_name_list {
    uint32_t count;
    uint32_t wildcards; /* names holding a '*' */
    uint64_t filter;    /* private: a bit per (length, first, last letter) of plain names */
    uint8_t len[CREDENTIAL_NAMES_MAX];
    uint8_t wildcard[CREDENTIAL_NAMES_MAX]; /* the name holds a '*' */
    char name[CREDENTIAL_NAMES_MAX][CREDENTIAL_NAME_BYTES];
} credential_name_list;

typedef struct credential_proxy {
    ip_address network;
    uint8_t prefix_bits; /* 32 or 128 for one address */
} credential_proxy;

typedef enum {
    CREDENTIAL_LIST_API_KEY_HEADERS, /* config key api_key_headers */
    CREDENTIAL_LIST_QUERY_PARAMS,    /* config key credential_query_params */
    CREDENTIAL_LIST_SESSION_COOKIES  /* config key session_cookies */
} credential_list_id;

typedef struct credential_config {
    credential_name_list lists[3]; /* by credential_list_id */
    uint32_t proxy_count;
    credential_proxy proxies[CREDENTIAL_PROXIES_MAX];
    uint32_t jwt_max_bytes;           /* limit jwt_max_bytes */
    uint32_t credentials_per_request; /* limit credentials_per_request */
} credential_config;

/* The defaults of docs/identity.md, bounds from lim (NULL: default limits). */
void credential_config_init(credential_config *cfg, const limits *lim);

/* Takes jwt_max_bytes and credentials_per_request from lim, lists unchanged. */
void credential_config_set_limits(credential_config *cfg, const limits *lim);

/*
 * Sets one name list from "a,b,c" (spaces around names ignored). The names
 * replace the list, or with a leading '+' ("+X-Tenant-Key") are added to
 * it. AS_ERR_CONFIG with a message in err for an empty or over-long name or
 * too many names; the list is unchanged then.
 */
as_status credential_config_set_names(credential_config *cfg, credential_list_id list,
                                      const char *csv, char *err, size_t errlen);

/* Sets the trusted proxies from "10.0.0.1,10.8.0.0/16,2001:db8::/32" (replaces
 * the list; "" empties it). AS_ERR_CONFIG with a message in err otherwise. */
as_status credential_config_set_proxies(credential_config *cfg, const char *csv, char *err,
                                        size_t errlen);

/* ---- extraction --------------------------------------------------------- */

/*
 * A direct-mapped cache of decoded JWTs keyed by the token's fingerprint,
 * length and last bytes: clients present the same token for its whole
 * lifetime, so most requests skip the decoding (about 10k instructions for
 * a 300-byte token) for a copy of its claims. Results are the same with or
 * without it, anomalies included. One per thread, like the set.
 * entries: the jwt_cache_entries limit (rounded down to a power of two;
 * 0 gives a cache that never holds anything).
 */
as_status credential_cache_create(uint32_t entries, credential_cache **out);
void credential_cache_destroy(credential_cache *cache);
/* Lookups that found the token, and lookups that decoded it. */
void credential_cache_stats(const credential_cache *cache, uint64_t *hits, uint64_t *misses);

/*
 * Fills set with the credentials of tx's request and its identity. cache
 * may be NULL. counters (may be NULL) receives jwt.* and credential.*
 * anomalies. A transaction without a request (orphan response) gets no
 * credentials and the client_ip identity.
 */
void credential_extract(const http_transaction *tx, const credential_config *cfg,
                        credential_cache *cache, credential_set *set, anomaly_counters *counters);

/* The decoded claims of a credential, or NULL when it is no JWT. */
const jwt_claims *credential_jwt(const credential_set *set, const credential *cred);

/* 64-bit hash of a credential value, for distinct counting and for tying a
 * token issued at login to its later use. Not a pseudonym: never output it. */
uint64_t credential_fingerprint(const void *data, size_t len);

/* Decodes a query or form value: %XX escapes (a malformed one stays as it
 * is) and '+' as a space, as servers read them. out must hold raw.len
 * bytes; returns the decoded length. */
uint32_t credential_form_decode(str_view raw, char *out);

/* ---- redaction ---------------------------------------------------------- */

/*
 * A request-target with the secrets it carries replaced by "REDACTED",
 * for output (docs/identity.md, "Secrets in request targets"): the value of
 * each query parameter, and of each ";name=value" path parameter, that is a
 * credential (a credential_query_params or session_cookies name, or a value
 * with the shape of a JWT) or whose name holds pass, pwd, secret, token,
 * apikey, api_key, api-key or signature; and each path segment with the
 * shape of a JWT. Names, separators and the rest are kept as sent.
 *
 * out must hold credential_redact_bound(target.len) bytes. Returns the
 * length written, or 0 when target holds nothing to redact (out is then
 * undefined: write target as it is).
 */
size_t credential_redact_target(const credential_config *cfg, str_view target, char *out);
size_t credential_redact_bound(size_t target_len);

/* 1 when name is matched by list (ignoring ASCII case, '*' wildcards). */
int credential_name_matches(const credential_name_list *list, const char *name, size_t len);

/* 1 when a cookie named name counts as a session cookie under cfg (the
 * session_cookies list; CSRF cookies never count). */
int credential_is_session_cookie(const credential_config *cfg, const char *name, size_t len);

#endif
