/*
 * The declared inventory: an OpenAPI 3.0 / 3.1 (or Swagger 2.0) document,
 * YAML or JSON, read with libyaml into a compact, read-only table of
 * operations (method + path template, operationId, deprecated flag,
 * security requirement, parameter names by location), the security schemes
 * and the server base paths, plus a segment trie that maps a concrete
 * request path to its operation without allocating.
 *
 * A spec is built once by openapi_load_file / openapi_load_buffer and never
 * changes afterwards: any number of threads may call the const functions on
 * it concurrently. Every pointer and view it returns is owned by the spec
 * and valid until openapi_destroy. What the loader reads and refuses is in
 * docs/spec.md.
 */
#ifndef APISENSOR_INVENTORY_OPENAPI_H
#define APISENSOR_INVENTORY_OPENAPI_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "common/status.h"
#include "common/strview.h"

typedef struct openapi_spec openapi_spec;

/* The eight HTTP methods an OpenAPI path item can declare. */
#define OPENAPI_METHOD_LIST(X)                                                                     \
    X(OPENAPI_GET, "get", "GET")                                                                   \
    X(OPENAPI_PUT, "put", "PUT")                                                                   \
    X(OPENAPI_POST, "post", "POST")                                                                \
    X(OPENAPI_DELETE, "delete", "DELETE")                                                          \
    X(OPENAPI_OPTIONS, "options", "OPTIONS")                                                       \
    X(OPENAPI_HEAD, "head", "HEAD")                                                                \
    X(OPENAPI_PATCH, "patch", "PATCH")                                                             \
    X(OPENAPI_TRACE, "trace", "TRACE")

typedef enum {
#define OPENAPI_METHOD_ENUM(name, key, http) name,
    OPENAPI_METHOD_LIST(OPENAPI_METHOD_ENUM)
#undef OPENAPI_METHOD_ENUM
        OPENAPI_METHOD_COUNT
} openapi_method;

typedef enum {
    OPENAPI_IN_PATH,
    OPENAPI_IN_QUERY,
    OPENAPI_IN_HEADER,
    OPENAPI_IN_COOKIE,
} openapi_param_in;

typedef enum {
    OPENAPI_SCHEME_UNKNOWN, /* named by a requirement but not declared, or an unknown type */
    OPENAPI_SCHEME_HTTP_BEARER,
    OPENAPI_SCHEME_HTTP_BASIC,
    OPENAPI_SCHEME_HTTP_OTHER, /* http with another scheme (digest, ...): see http_scheme */
    OPENAPI_SCHEME_API_KEY,    /* see api_key_in and api_key_name */
    OPENAPI_SCHEME_OAUTH2,
    OPENAPI_SCHEME_OPENID_CONNECT,
    OPENAPI_SCHEME_MUTUAL_TLS,
} openapi_scheme_type;

typedef struct openapi_security_scheme {
    str_view name; /* key under components.securitySchemes (2.0: securityDefinitions) */
    openapi_scheme_type type;
    str_view http_scheme;        /* type http: "bearer", "basic", ... as written; else absent */
    str_view bearer_format;      /* "JWT" ...; absent when not declared */
    openapi_param_in api_key_in; /* type apiKey: header, query or cookie */
    str_view api_key_name;       /* type apiKey: header, parameter or cookie name */
} openapi_security_scheme;

typedef struct openapi_param {
    openapi_param_in in;
    str_view name;
} openapi_param;

typedef struct openapi_operation {
    uint32_t index; /* position in the spec, 0 .. openapi_operation_count() - 1 */
    openapi_method method;
    str_view path;         /* template as declared: "/users/{id}" (without base path) */
    str_view operation_id; /* absent when not declared */
    int deprecated;        /* deprecated: true */
    /* 1 when every security alternative in force (the operation's own
     * `security`, else the global one) names at least one scheme; 0 when
     * none is in force, for `security: []`, or when one alternative is `{}`. */
    int requires_auth;
    const uint32_t *schemes; /* indexes into openapi_security_scheme_at(), each once */
    uint32_t scheme_count;
    const openapi_param *params; /* operation's own first, then the path item's */
    uint32_t param_count;
    uint32_t line; /* 1-based line of the method key in the file */
} openapi_operation;

/* Result of a match: the operation and the server base path that was
 * stripped from the request path (empty view when none). */
typedef struct openapi_hit {
    const openapi_operation *op;
    str_view base_path;
} openapi_hit;

/* Reads and checks a spec file (at most lim->spec_file_bytes). On failure
 * returns AS_ERR_IO (unreadable), AS_ERR_LIMIT (a spec_* limit), AS_ERR_FORMAT
 * (not YAML/JSON, not an OpenAPI document, broken structure) or
 * AS_ERR_UNSUPPORTED (version), with "FILE:LINE:COLUMN: what was expected"
 * in errbuf. */
as_status openapi_load_file(const char *path, const limits *lim, char *errbuf, size_t errbuf_len,
                            openapi_spec **out);

/* The same from memory; `name` stands for the file in messages. The spec
 * copies what it keeps: data may be freed after the call. */
as_status openapi_load_buffer(const char *name, const char *data, size_t len, const limits *lim,
                              char *errbuf, size_t errbuf_len, openapi_spec **out);

void openapi_destroy(openapi_spec *spec);

/* The version string as declared ("3.0.3", "3.1.0", "2.0"). */
const char *openapi_version(const openapi_spec *spec);

uint32_t openapi_operation_count(const openapi_spec *spec);
const openapi_operation *openapi_operation_at(const openapi_spec *spec, uint32_t index);
uint32_t openapi_deprecated_count(const openapi_spec *spec);

uint32_t openapi_security_scheme_count(const openapi_spec *spec);
const openapi_security_scheme *openapi_security_scheme_at(const openapi_spec *spec, uint32_t index);

/* Server base paths, longest first; "" stands for the root. At least one. */
uint32_t openapi_base_path_count(const openapi_spec *spec);
str_view openapi_base_path_at(const openapi_spec *spec, uint32_t index);

/* Things the loader skipped rather than refused: $ref it could not resolve
 * (external files), operations whose method and template were already
 * declared under an equivalent template (the first one is kept). */
typedef struct openapi_load_stats {
    uint32_t unresolved_refs;
    uint32_t duplicate_operations;
} openapi_load_stats;
openapi_load_stats openapi_get_load_stats(const openapi_spec *spec);

/* Finds the operation for a request. `method` is the request method as sent
 * (case-sensitive, "GET"); `target` the request-target: origin form
 * ("/users/me?x=1") or absolute form ("http://host/users/me"). The query and
 * fragment are ignored, a server base path is stripped (the longest that
 * prefixes the path at a segment boundary), one trailing slash is
 * tolerated, segments are percent-decoded before comparison, a `{param}`
 * segment matches any one non-empty segment, and a literal segment wins
 * over a template one (/users/me before /users/{id}), backtracking when the
 * literal branch leads nowhere. Returns 1 and fills *hit on a match, else 0.
 * Does not allocate. */
int openapi_match(const openapi_spec *spec, str_view method, str_view target, openapi_hit *hit);

/* "GET" ... for a method; "get" ... as a spec key. */
const char *openapi_method_name(openapi_method method);
const char *openapi_param_in_name(openapi_param_in in);

#endif
