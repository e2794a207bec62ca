/*
 * Credential extraction: one pass over the query and the request headers,
 * then the identity by priority. Decoded bytes (percent-decoded query values,
 * Basic user names) go to the set's own bounded buffer; when it is full the
 * raw value is used and credential.decode_space_full is counted.
 */
#define _GNU_SOURCE /* memmem */
#include "credential.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/ascii.h"
#include "common/hash.h"
#include "urlencoded.h"

/* ---- names -------------------------------------------------------------- */

static const char *const credential_kind_names[] = {
#define CREDENTIAL_KIND_NAME(id, name) name,
    CREDENTIAL_KIND_LIST(CREDENTIAL_KIND_NAME)
#undef CREDENTIAL_KIND_NAME
};

static const char *const identity_kind_names[] = {
#define IDENTITY_KIND_NAME(id, name, secret) name,
    IDENTITY_KIND_LIST(IDENTITY_KIND_NAME)
#undef IDENTITY_KIND_NAME
};

static const uint8_t identity_kind_secret[] = {
#define IDENTITY_KIND_SECRET(id, name, secret) secret,
    IDENTITY_KIND_LIST(IDENTITY_KIND_SECRET)
#undef IDENTITY_KIND_SECRET
};

const char *credential_kind_name(credential_kind kind) {
    return (unsigned)kind < CREDENTIAL_KIND_COUNT ? credential_kind_names[kind] : "unknown";
}

const char *credential_location_name(credential_location location) {
    switch (location) {
    case CREDENTIAL_IN_HEADER:
        return "header";
    case CREDENTIAL_IN_QUERY:
        return "query";
    case CREDENTIAL_IN_COOKIE:
        return "cookie";
    }
    return "unknown";
}

const char *identity_kind_name(identity_kind kind) {
    return (unsigned)kind < IDENTITY_KIND_COUNT ? identity_kind_names[kind] : "unknown";
}

int identity_kind_is_secret(identity_kind kind) {
    return (unsigned)kind < IDENTITY_KIND_COUNT && identity_kind_secret[kind];
}

/* ---- defaults (docs/identity.md says why each is there) ----------------- */

static const char *const default_api_key_headers[] = {
    "X-API-Key",       "Api-Key",        "X-Api-Token",
    "X-Auth-Token",    "X-Access-Token", "X-Token",
    "apikey",          "X-Goog-Api-Key", "Ocp-Apim-Subscription-Key",
    "X-Functions-Key", "X-RapidAPI-Key", "Private-Token",
    "X-Vault-Token"};

static const char *const default_query_params[] = {
    "api_key", "apikey",     "api-key",  "access_token", "token",       "key",
    "auth",    "auth_token", "id_token", "jwt",          "access-token"};

static const char *const default_session_cookies[] = {
    "JSESSIONID",  "PHPSESSID", "connect.sid", "session", "sessionid", "ASP.NET_SessionId",
    "_session_id", ".ASPXAUTH", "sid",         "*sess*",  "*sid",      "*token*",
    "*jwt*",       "*auth*"};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The filter bit of a name: most header names share no (length, first and
 * last letter) with a listed name and are rejected by one test. */
static uint64_t name_bit(const char *name, size_t len) {
    unsigned mix = (unsigned)len * 11u + (unsigned char)ascii_lower(name[0]) * 5u +
                   (unsigned char)ascii_lower(name[len - 1]);
    return (uint64_t)1 << ((mix ^ (mix >> 6)) & 63);
}

/* Appends a name to a list that has room. */
static void list_add(credential_name_list *list, const char *name, size_t n) {
    uint32_t i = list->count++;
    memcpy(list->name[i], name, n);
    list->name[i][n] = '\0';
    list->len[i] = (uint8_t)n;
    list->wildcard[i] = memchr(name, '*', n) != NULL;
    if (list->wildcard[i])
        list->wildcards++;
    else
        list->filter |= name_bit(name, n);
}

static void config_fill(credential_name_list *list, const char *const *names, size_t count) {
    list->count = 0;
    list->wildcards = 0;
    list->filter = 0;
    for (size_t i = 0; i < count && list->count < CREDENTIAL_NAMES_MAX; i++)
        list_add(list, names[i], strlen(names[i]));
}

void credential_config_set_limits(credential_config *cfg, const limits *lim) {
    cfg->jwt_max_bytes = (uint32_t)lim->jwt_max_bytes;
    cfg->credentials_per_request = (uint32_t)lim->credentials_per_request;
    if (cfg->credentials_per_request > CREDENTIAL_MAX)
        cfg->credentials_per_request = CREDENTIAL_MAX;
}

void credential_config_init(credential_config *cfg, const limits *lim) {
    limits defaults = limits_default();
    memset(cfg, 0, sizeof *cfg);
    config_fill(&cfg->lists[CREDENTIAL_LIST_API_KEY_HEADERS], default_api_key_headers,
                COUNT_OF(default_api_key_headers));
    config_fill(&cfg->lists[CREDENTIAL_LIST_QUERY_PARAMS], default_query_params,
                COUNT_OF(default_query_params));
    config_fill(&cfg->lists[CREDENTIAL_LIST_SESSION_COOKIES], default_session_cookies,
                COUNT_OF(default_session_cookies));
    credential_config_set_limits(cfg, lim ? lim : &defaults);
}

static int is_space(char c) {
    return c == ' ' || c == '\t';
}

/* Trims spaces and tabs at both ends of [*start, *end). */
static void trim_span(const char **start, const char **end) {
    while (*start < *end && is_space(**start))
        (*start)++;
    while (*end > *start && is_space((*end)[-1]))
        (*end)--;
}

as_status credential_config_set_names(credential_config *cfg, credential_list_id list,
                                      const char *csv, char *err, size_t errlen) {
    if ((unsigned)list > CREDENTIAL_LIST_SESSION_COOKIES || !csv) {
        snprintf(err, errlen, "no such name list");
        return AS_ERR_CONFIG;
    }
    credential_name_list next = cfg->lists[list];
    if (*csv == '+') {
        csv++;
    } else {
        next.count = 0;
        next.wildcards = 0;
        next.filter = 0;
    }
    for (const char *p = csv;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *start = p;
        trim_span(&start, &end);
        size_t n = (size_t)(end - start);
        if (n == 0 || n >= CREDENTIAL_NAME_BYTES) {
            snprintf(err, errlen, "names must be 1 to %d characters, separated by commas",
                     CREDENTIAL_NAME_BYTES - 1);
            return AS_ERR_CONFIG;
        }
        if (next.count == CREDENTIAL_NAMES_MAX) {
            snprintf(err, errlen, "at most %d names", CREDENTIAL_NAMES_MAX);
            return AS_ERR_CONFIG;
        }
        list_add(&next, start, n);
        if (!comma)
            break;
        p = comma + 1;
    }
    cfg->lists[list] = next;
    return AS_OK;
}

/* Parses an address from [start, end) (brackets around IPv6 allowed, an
 * IPv4 ":port" suffix dropped); 1 on success. */
static int parse_address(const char *start, const char *end, ip_address *out) {
    char text[64];
    if (end > start && *start == '[') {
        const char *close = memchr(start, ']', (size_t)(end - start));
        if (!close)
            return 0;
        start++;
        end = close;
    } else {
        const char *colon = memchr(start, ':', (size_t)(end - start));
        if (colon && !memchr(colon + 1, ':', (size_t)(end - colon - 1)) &&
            memchr(start, '.', (size_t)(colon - start)))
            end = colon;
    }
    size_t n = (size_t)(end - start);
    if (n == 0 || n >= sizeof text)
        return 0;
    memcpy(text, start, n);
    text[n] = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, text, out->bytes) == 1) {
        out->family = 4;
        return 1;
    }
    if (inet_pton(AF_INET6, text, out->bytes) == 1) {
        out->family = 6;
        return 1;
    }
    return 0;
}

static int parse_proxy(const char *start, const char *end, credential_proxy *out) {
    const char *slash = memchr(start, '/', (size_t)(end - start));
    if (!parse_address(start, slash ? slash : end, &out->network))
        return 0;
    unsigned max_bits = out->network.family == 4 ? 32 : 128;
    unsigned bits = max_bits;
    if (slash) {
        const char *d = slash + 1;
        if (d == end || end - d > 3)
            return 0;
        bits = 0;
        for (; d < end; d++) {
            if (*d < '0' || *d > '9')
                return 0;
            bits = bits * 10 + (unsigned)(*d - '0');
        }
        if (bits > max_bits)
            return 0;
    }
    out->prefix_bits = (uint8_t)bits;
    return 1;
}

as_status credential_config_set_proxies(credential_config *cfg, const char *csv, char *err,
                                        size_t errlen) {
    credential_proxy proxies[CREDENTIAL_PROXIES_MAX];
    uint32_t count = 0;
    const char *p = csv ? csv : "";
    while (*p == ' ' || *p == '\t')
        p++;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *start = p;
        trim_span(&start, &end);
        if (count == CREDENTIAL_PROXIES_MAX) {
            snprintf(err, errlen, "at most %d trusted proxies", CREDENTIAL_PROXIES_MAX);
            return AS_ERR_CONFIG;
        }
        if (!parse_proxy(start, end, &proxies[count])) {
            snprintf(err, errlen, "'%.*s' is not an IP address or address/prefix",
                     (int)(end - start), start);
            return AS_ERR_CONFIG;
        }
        count++;
        if (!comma)
            break;
        p = comma + 1;
        if (!*p) {
            snprintf(err, errlen, "a comma must be followed by an address");
            return AS_ERR_CONFIG;
        }
    }
    memcpy(cfg->proxies, proxies, count * sizeof proxies[0]);
    cfg->proxy_count = count;
    return AS_OK;
}

/* ---- matching and hashing ----------------------------------------------- */

/* Glob match ignoring ASCII case: '*' matches any run (backtracking to the
 * last star only, so the work is bounded by len * pattern length). */
static int glob_match(const char *pat, size_t plen, const char *s, size_t len) {
    size_t p = 0, i = 0, star = (size_t)-1, mark = 0;
    while (i < len) {
        if (p < plen && pat[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < plen && ascii_lower(pat[p]) == ascii_lower(s[i])) {
            p++;
            i++;
        } else if (star != (size_t)-1) {
            p = star + 1;
            i = ++mark;
        } else {
            return 0;
        }
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

int credential_name_matches(const credential_name_list *list, const char *name, size_t len) {
    if (len == 0 || (!list->wildcards && !(list->filter & name_bit(name, len))))
        return 0;
    for (uint32_t i = 0; i < list->count; i++) {
        const char *pat = list->name[i];
        if (list->wildcard[i]) {
            if (glob_match(pat, list->len[i], name, len))
                return 1;
            continue;
        }
        if (list->len[i] == len && ascii_lower(pat[0]) == ascii_lower(name[0]) &&
            ascii_equal_nocase(pat + 1, name + 1, len - 1))
            return 1;
    }
    return 0;
}

int credential_is_session_cookie(const credential_config *cfg, const char *name, size_t len) {
    /* anti-CSRF tokens are not credentials: they name no one */
    if (ascii_contains_nocase(name, len, "csrf") || ascii_contains_nocase(name, len, "xsrf"))
        return 0;
    return credential_name_matches(&cfg->lists[CREDENTIAL_LIST_SESSION_COOKIES], name, len);
}

uint64_t credential_fingerprint(const void *data, size_t len) {
    const uint8_t *p = data;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)len * 0xc2b2ae3d27d4eb4fULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ (w * 0x87c37b91114253d5ULL)) * 0x4cf5ad432745937fULL;
        h ^= h >> 31;
        p += 8;
        len -= 8;
    }
    uint64_t tail = 0;
    memcpy(&tail, p, len);
    h = (h ^ (tail * 0x87c37b91114253d5ULL)) * 0x4cf5ad432745937fULL;
    return hash_mix64(h);
}

/* ---- extraction helpers ------------------------------------------------- */

/* v equals the literal word, ignoring ASCII case. */
#define VIEW_IS(v, word) view_is(v, word, sizeof(word) - 1)

static int view_is(str_view v, const char *word, size_t n) {
    return v.len == n && ascii_equal_nocase(v.ptr, word, n);
}

static str_view view_of(const char *start, const char *end) {
    str_view v = {start, (uint32_t)(end - start)};
    return v;
}

/* Reserves n bytes of the set's decode buffer, or NULL (counted). */
static char *decode_space(credential_set *set, size_t n, anomaly_counters *counters) {
    if (n > CREDENTIAL_DECODE_BYTES - set->decoded_used) {
        anomaly_count(counters, ANOMALY_CREDENTIAL_DECODE_FULL);
        return NULL;
    }
    return set->decoded + set->decoded_used;
}

/* ---- JWT cache ---------------------------------------------------------- */

#define CACHE_TAIL_BYTES 16 /* last bytes of the token kept to confirm a hit */

typedef struct cache_entry {
    uint64_t fingerprint;
    uint32_t len;      /* 0: empty */
    uint8_t truncated; /* the claims had a cut claim (replays jwt.claim_truncated) */
    uint8_t tail[CACHE_TAIL_BYTES];
    jwt_claims claims;
} cache_entry;

struct credential_cache {
    uint32_t mask;  /* count - 1 */
    uint32_t count; /* entries; 0 holds nothing */
    uint64_t hits, misses;
    cache_entry entries[];
};

as_status credential_cache_create(uint32_t entries, credential_cache **out) {
    *out = NULL;
    uint32_t count = 0;
    if (entries > 0)
        for (count = 1; count <= entries / 2;)
            count *= 2;
    credential_cache *cache = calloc(1, sizeof *cache + (size_t)count * sizeof(cache_entry));
    if (!cache)
        return AS_ERR_NOMEM;
    cache->count = count;
    cache->mask = count ? count - 1 : 0;
    *out = cache;
    return AS_OK;
}

void credential_cache_destroy(credential_cache *cache) {
    free(cache);
}

void credential_cache_stats(const credential_cache *cache, uint64_t *hits, uint64_t *misses) {
    *hits = cache ? cache->hits : 0;
    *misses = cache ? cache->misses : 0;
}

/* The first bytes of every JWT (jwt.h): a cheap filter before hashing and decoding. */
static int has_jwt_prefix(str_view value) {
    return value.len >= 3 && !memcmp(value.ptr, "eyJ", 3);
}

static int claims_truncated(const jwt_claims *c) {
    return c->alg.truncated || c->typ.truncated || c->kid.truncated || c->sub.truncated ||
           c->iss.truncated || c->aud.truncated || c->email.truncated ||
           c->preferred_username.truncated;
}

static size_t tail_bytes(str_view value) {
    return value.len < CACHE_TAIL_BYTES ? value.len : CACHE_TAIL_BYTES;
}

static const cache_entry *cache_find(credential_cache *cache, str_view value,
                                     uint64_t fingerprint) {
    if (!cache || !cache->count)
        return NULL;
    const cache_entry *e = &cache->entries[fingerprint & cache->mask];
    size_t n = tail_bytes(value);
    if (e->len == value.len && e->fingerprint == fingerprint &&
        !memcmp(e->tail, value.ptr + value.len - n, n)) {
        cache->hits++;
        return e;
    }
    cache->misses++;
    return NULL;
}

static void cache_store(credential_cache *cache, str_view value, uint64_t fingerprint,
                        const jwt_claims *claims) {
    if (!cache || !cache->count)
        return;
    cache_entry *e = &cache->entries[fingerprint & cache->mask];
    size_t n = tail_bytes(value);
    e->fingerprint = fingerprint;
    e->len = value.len;
    e->truncated = (uint8_t)claims_truncated(claims);
    memcpy(e->tail, value.ptr + value.len - n, n);
    e->claims = *claims;
}

/* Decodes value as a JWT into the next claims slot; returns the slot or -1
 * (*malformed set when it had the shape but did not decode). Only decoded
 * tokens are cached: a malformed one is decoded (and counted) every time. */
static int8_t decode_jwt(credential_set *set, const credential_config *cfg, str_view value,
                         uint64_t fingerprint, uint8_t *malformed, anomaly_counters *counters) {
    *malformed = 0;
    if (set->jwt_count == CREDENTIAL_MAX_JWT || !has_jwt_prefix(value))
        return -1;
    jwt_claims *claims = &set->jwt[set->jwt_count];
    const cache_entry *hit =
        value.len <= cfg->jwt_max_bytes ? cache_find(set->cache, value, fingerprint) : NULL;
    if (hit) {
        *claims = hit->claims;
        if (hit->truncated)
            anomaly_count(counters, ANOMALY_JWT_CLAIM_TRUNCATED);
        return (int8_t)set->jwt_count++;
    }
    as_status st = jwt_decode(value.ptr, value.len, cfg->jwt_max_bytes, claims, counters);
    if (st != AS_OK) {
        *malformed = st != AS_SKIP;
        return -1;
    }
    cache_store(set->cache, value, fingerprint, claims);
    return (int8_t)set->jwt_count++;
}

static credential *add_credential(credential_set *set, const credential_config *cfg,
                                  credential_kind kind, credential_location location, str_view name,
                                  str_view value, uint64_t fingerprint,
                                  anomaly_counters *counters) {
    if (set->count >= cfg->credentials_per_request || set->count >= CREDENTIAL_MAX) {
        if (set->dropped++ == 0)
            anomaly_count(counters, ANOMALY_CREDENTIAL_TOO_MANY);
        return NULL;
    }
    credential *c = &set->items[set->count++];
    c->kind = kind;
    c->location = location;
    c->name = name;
    c->value = value;
    c->fingerprint = fingerprint;
    c->jwt = -1;
    c->jwt_malformed = 0;
    c->has_password = 0;
    return c;
}

/*
 * Adds a credential whose value may hold a JWT: kind when it does not
 * decode as one, jwt_kind when it does. With require_jwt, only a value that
 * decodes is added (cookies and query parameters of unlisted names).
 */
static void add_value(credential_set *set, const credential_config *cfg, credential_kind kind,
                      credential_kind jwt_kind, int require_jwt, credential_location location,
                      str_view name, str_view value, anomaly_counters *counters) {
    if (require_jwt && !has_jwt_prefix(value))
        return;
    uint8_t malformed;
    uint64_t fingerprint = credential_fingerprint(value.ptr, value.len);
    int8_t jwt = decode_jwt(set, cfg, value, fingerprint, &malformed, counters);
    if (require_jwt && jwt < 0)
        return;
    credential *c = add_credential(set, cfg, jwt >= 0 ? jwt_kind : kind, location, name, value,
                                   fingerprint, counters);
    if (c) {
        c->jwt = jwt;
        c->jwt_malformed = malformed;
    } else if (jwt >= 0) {
        set->jwt_count--; /* not kept: free its claims slot */
    }
}

/* Basic: decodes "user:password", keeps the user, wipes the password. */
static void add_basic(credential_set *set, const credential_config *cfg, str_view name,
                      const char *start, const char *end, anomaly_counters *counters) {
    size_t n = (size_t)(end - start), room = n / 4 * 3 + 3;
    str_view user = {NULL, 0};
    int has_password = 0;
    char *out = decode_space(set, room, counters);
    if (out) {
        int len = n % 4 == 0
                      ? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)start, (int)n)
                      : -1;
        for (const char *p = end; len > 0 && p > start && p[-1] == '='; p--)
            len--;
        char *colon = len > 0 ? memchr(out, ':', (size_t)len) : NULL;
        if (colon) {
            user.ptr = out;
            user.len = (uint32_t)(colon - out);
            has_password = colon + 1 < out + len;
            set->decoded_used += user.len;
        } else {
            anomaly_count(counters, ANOMALY_CREDENTIAL_BAD_BASIC);
        }
        OPENSSL_cleanse(out + user.len, room - user.len);
    }
    credential *c =
        add_credential(set, cfg, CREDENTIAL_BASIC, CREDENTIAL_IN_HEADER, name, user,
                       user.ptr ? credential_fingerprint(user.ptr, user.len) : 0, counters);
    if (c)
        c->has_password = (uint8_t)has_password;
}

/* The value after "key=" in params up to the first of stops (or the end);
 * absent when key is not there. */
static str_view param_value(str_view params, const char *key, const char *stops) {
    size_t n = strlen(key);
    str_view v = {NULL, 0};
    for (uint32_t i = 0; i + n <= params.len; i++) {
        if ((i > 0 && params.ptr[i - 1] != ' ' && params.ptr[i - 1] != ',') ||
            !view_is(view_of(params.ptr + i, params.ptr + i + n), key, n))
            continue;
        const char *start = params.ptr + i + n, *end = start;
        while (end < params.ptr + params.len && !strchr(stops, *end))
            end++;
        return view_of(start, end);
    }
    return v;
}

/*
 * Schemes that sign every request carry a new value each time; their stable
 * part names the caller: the access key id of AWS Signature Version 4
 * (Credential=AKID/date/region/service/aws4_request) and the user of Digest
 * (username="..."). Other schemes: the whole value.
 */
static str_view stable_part(str_view scheme, str_view params) {
    str_view v = {NULL, 0};
    if (VIEW_IS(scheme, "AWS4-HMAC-SHA256"))
        v = param_value(params, "Credential=", "/, ");
    else if (VIEW_IS(scheme, "Digest"))
        v = param_value(params, "username=\"", "\"");
    return v.ptr && v.len > 0 ? v : params;
}

static void parse_authorization(credential_set *set, const credential_config *cfg,
                                const http_header_view *h, anomaly_counters *counters) {
    const char *start = h->value.ptr, *end = h->value.ptr + h->value.len;
    trim_span(&start, &end);
    if (start == end)
        return;
    const char *space = start;
    while (space < end && !is_space(*space))
        space++;
    str_view scheme = view_of(start, space);
    const char *param = space, *param_end = end;
    trim_span(&param, &param_end);
    if (param == param_end) {
        /* a bare value: a raw JWT (a bearer token) or a key sent without a scheme */
        if (VIEW_IS(scheme, "Bearer") || VIEW_IS(scheme, "Basic"))
            return;
        credential_kind kind = jwt_looks_like(scheme.ptr, scheme.len) ? CREDENTIAL_BEARER_TOKEN
                                                                      : CREDENTIAL_API_KEY_HEADER;
        add_value(set, cfg, kind, CREDENTIAL_BEARER_JWT, 0, CREDENTIAL_IN_HEADER, h->name, scheme,
                  counters);
        return;
    }
    str_view token = view_of(param, param_end);
    if (VIEW_IS(scheme, "Basic"))
        add_basic(set, cfg, h->name, param, param_end, counters);
    else if (VIEW_IS(scheme, "Bearer"))
        add_value(set, cfg, CREDENTIAL_BEARER_TOKEN, CREDENTIAL_BEARER_JWT, 0, CREDENTIAL_IN_HEADER,
                  h->name, token, counters);
    else /* "Token k", "ApiKey k" and other schemes: a key in the Authorization header */
        add_value(set, cfg, CREDENTIAL_API_KEY_HEADER, CREDENTIAL_API_KEY_HEADER, 0,
                  CREDENTIAL_IN_HEADER, h->name, stable_part(scheme, token), counters);
}

static void parse_cookies(credential_set *set, const credential_config *cfg,
                          const http_header_view *h, anomaly_counters *counters) {
    const char *p = h->value.ptr, *end = h->value.ptr + h->value.len;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *pair_end = semi ? semi : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        if (eq) {
            const char *name = p, *name_end = eq, *value = eq + 1, *value_end = pair_end;
            trim_span(&name, &name_end);
            trim_span(&value, &value_end);
            if (value_end - value >= 2 && *value == '"' && value_end[-1] == '"') {
                value++;
                value_end--;
            }
            str_view nv = view_of(name, name_end), vv = view_of(value, value_end);
            /* a listed session cookie, or a cookie of any name holding a valid JWT */
            if (nv.len > 0 && vv.len > 0)
                add_value(set, cfg, CREDENTIAL_COOKIE, CREDENTIAL_COOKIE,
                          !credential_is_session_cookie(cfg, nv.ptr, nv.len), CREDENTIAL_IN_COOKIE,
                          nv, vv, counters);
        }
        p = pair_end + 1;
    }
}

uint32_t credential_form_decode(str_view raw, char *out) {
    return (uint32_t)urlencoded_decode(raw.ptr, raw.len, out, raw.len, 1);
}

/* A query value, percent-decoded into the set's buffer; the raw view when
 * nothing is encoded or there is no room. */
static str_view query_value(credential_set *set, str_view raw, anomaly_counters *counters) {
    if (!memchr(raw.ptr, '%', raw.len) && !memchr(raw.ptr, '+', raw.len))
        return raw;
    char *out = decode_space(set, raw.len, counters);
    if (!out)
        return raw;
    str_view v = {out, credential_form_decode(raw, out)};
    set->decoded_used += v.len;
    return v;
}

static void parse_query(credential_set *set, const credential_config *cfg, str_view uri,
                        anomaly_counters *counters) {
    if (!uri.ptr)
        return;
    const char *q = memchr(uri.ptr, '?', uri.len);
    if (!q)
        return;
    const char *end = uri.ptr + uri.len;
    const char *hash = memchr(q, '#', (size_t)(end - q));
    if (hash)
        end = hash;
    const char *p = q + 1;
    const credential_name_list *names = &cfg->lists[CREDENTIAL_LIST_QUERY_PARAMS];
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        if (eq && eq + 1 < pair_end) {
            str_view name = view_of(p, eq), raw = view_of(eq + 1, pair_end);
            int named = credential_name_matches(names, name.ptr, name.len);
            if (named || jwt_looks_like(raw.ptr, raw.len))
                add_value(set, cfg, CREDENTIAL_QUERY, CREDENTIAL_QUERY, !named, CREDENTIAL_IN_QUERY,
                          name, query_value(set, raw, counters), counters);
        }
        p = pair_end + 1;
    }
}

/* ---- redaction ---------------------------------------------------------- */

#define REDACTED "REDACTED"
#define REDACTED_LEN (sizeof REDACTED - 1)

/* Words that make a parameter's value secret whatever the configured lists
 * say, matched anywhere in its name ignoring ASCII case. */
static const char *const secret_name_words[] = {"pass",   "pwd",     "secret",  "token",
                                                "apikey", "api_key", "api-key", "signature"};

static int holds_secret_word(str_view name) {
    for (size_t w = 0; w < sizeof secret_name_words / sizeof secret_name_words[0]; w++)
        if (ascii_contains_nocase(name.ptr, name.len, secret_name_words[w]))
            return 1;
    return 0;
}

static int secret_param(const credential_config *cfg, str_view name, str_view value) {
    return value.len > 0 && (credential_name_matches(&cfg->lists[CREDENTIAL_LIST_QUERY_PARAMS],
                                                     name.ptr, name.len) ||
                             credential_is_session_cookie(cfg, name.ptr, name.len) ||
                             holds_secret_word(name) || jwt_looks_like(value.ptr, value.len));
}

/* Copies the "name=value" pairs of [p, end), separated by sep, redacting
 * the secret values; returns 1 when one was. */
static int redact_params(const credential_config *cfg, const char *p, const char *end, char sep,
                         char *out, size_t *n) {
    int changed = 0;
    while (p < end) {
        const char *next = memchr(p, sep, (size_t)(end - p));
        const char *pair_end = next ? next : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        if (eq && secret_param(cfg, view_of(p, eq), view_of(eq + 1, pair_end))) {
            memcpy(out + *n, p, (size_t)(eq + 1 - p));
            *n += (size_t)(eq + 1 - p);
            memcpy(out + *n, REDACTED, REDACTED_LEN);
            *n += REDACTED_LEN;
            changed = 1;
        } else {
            memcpy(out + *n, p, (size_t)(pair_end - p));
            *n += (size_t)(pair_end - p);
        }
        if (!next)
            break;
        out[(*n)++] = sep;
        p = next + 1;
    }
    return changed;
}

size_t credential_redact_bound(size_t target_len) {
    /* a redacted value takes at least one byte and its separator */
    return target_len * (REDACTED_LEN / 2 + 1) + REDACTED_LEN;
}

size_t credential_redact_target(const credential_config *cfg, str_view target, char *out) {
    if (!target.ptr || target.len == 0)
        return 0;
    const char *p = target.ptr, *end = target.ptr + target.len;
    const char *fragment = memchr(p, '#', target.len);
    const char *stop = fragment ? fragment : end;
    const char *query = memchr(p, '?', (size_t)(stop - p));
    const char *path_end = query ? query : stop;
    if (!query && !memchr(p, ';', (size_t)(path_end - p)) &&
        !memmem(p, (size_t)(path_end - p), "eyJ", 3))
        return 0;
    size_t n = 0;
    int changed = 0;
    while (p < path_end) { /* path segments, each with its ;parameters */
        const char *slash = memchr(p, '/', (size_t)(path_end - p));
        const char *seg_end = slash ? slash : path_end;
        const char *semi = memchr(p, ';', (size_t)(seg_end - p));
        const char *name_end = semi ? semi : seg_end;
        if (jwt_looks_like(p, (size_t)(name_end - p))) {
            memcpy(out + n, REDACTED, REDACTED_LEN);
            n += REDACTED_LEN;
            changed = 1;
        } else {
            memcpy(out + n, p, (size_t)(name_end - p));
            n += (size_t)(name_end - p);
        }
        if (semi) {
            out[n++] = ';';
            changed |= redact_params(cfg, semi + 1, seg_end, ';', out, &n);
        }
        if (!slash)
            break;
        out[n++] = '/';
        p = slash + 1;
    }
    if (query) {
        out[n++] = '?';
        changed |= redact_params(cfg, query + 1, stop, '&', out, &n);
    }
    memcpy(out + n, stop, (size_t)(end - stop));
    n += (size_t)(end - stop);
    return changed ? n : 0;
}

/* ---- identity ----------------------------------------------------------- */

static int address_in(const ip_address *a, const credential_proxy *proxy) {
    if (a->family != proxy->network.family)
        return 0;
    unsigned bits = proxy->prefix_bits, full = bits / 8, rest = bits % 8;
    if (memcmp(a->bytes, proxy->network.bytes, full) != 0)
        return 0;
    if (!rest)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a->bytes[full] & mask) == (proxy->network.bytes[full] & mask);
}

static int is_trusted(const credential_config *cfg, const ip_address *a) {
    for (uint32_t i = 0; i < cfg->proxy_count; i++)
        if (address_in(a, &cfg->proxies[i]))
            return 1;
    return 0;
}

/*
 * Behind trusted proxies the client is the right-most X-Forwarded-For entry
 * that is not itself a trusted proxy (entries to its left are whatever the
 * client chose to send). Headers are read last to first, entries right to
 * left; a malformed entry stops the walk at the last trusted hop.
 */
static void forwarded_client(const http_transaction *tx, const credential_config *cfg,
                             credential_identity *id, anomaly_counters *counters) {
    const http_message *m = &tx->request;
    for (uint32_t k = m->header_count; k-- > 0;) {
        const http_header_view *h = &m->headers[k];
        if (!VIEW_IS(h->name, "X-Forwarded-For"))
            continue;
        const char *start = h->value.ptr, *end = h->value.ptr + h->value.len;
        while (end > start) {
            const char *comma = end;
            while (comma > start && comma[-1] != ',')
                comma--;
            const char *entry = comma, *entry_end = end;
            trim_span(&entry, &entry_end);
            ip_address a;
            if (entry == entry_end) {
                end = comma > start ? comma - 1 : start;
                continue;
            }
            if (!parse_address(entry, entry_end, &a)) {
                anomaly_count(counters, ANOMALY_CREDENTIAL_BAD_FORWARDED_FOR);
                return;
            }
            id->client_ip = a;
            id->id = view_of(entry, entry_end);
            if (!is_trusted(cfg, &a))
                return;
            end = comma > start ? comma - 1 : start;
        }
    }
}

static void identify(const http_transaction *tx, const credential_config *cfg, credential_set *set,
                     anomaly_counters *counters) {
    credential_identity *id = &set->identity;
    int best = -1, best_rank = 0;
    identity_kind best_kind = IDENTITY_CLIENT_IP;
    for (uint32_t i = 0; i < set->count; i++) {
        const credential *c = &set->items[i];
        identity_kind kind;
        if (c->jwt >= 0 && set->jwt[c->jwt].sub.present && set->jwt[c->jwt].sub.len > 0)
            kind = IDENTITY_JWT_SUB;
        else if (c->kind == CREDENTIAL_API_KEY_HEADER || c->kind == CREDENTIAL_QUERY)
            kind = IDENTITY_API_KEY;
        else if (c->kind == CREDENTIAL_BEARER_JWT || c->kind == CREDENTIAL_BEARER_TOKEN)
            kind = IDENTITY_BEARER_TOKEN;
        else if (c->kind == CREDENTIAL_BASIC && c->value.len > 0)
            kind = IDENTITY_BASIC_USER;
        else if (c->kind == CREDENTIAL_COOKIE)
            kind = IDENTITY_SESSION_COOKIE;
        else
            continue;
        /* first by identity kind, then the Authorization bearer, then header, query, cookie */
        int rank = c->kind == CREDENTIAL_BEARER_JWT ? 0 : 1 + (int)c->location;
        if (best < 0 || kind < best_kind || (kind == best_kind && rank < best_rank)) {
            best = (int)i;
            best_kind = kind;
            best_rank = rank;
        }
    }
    id->client_ip = tx->client_ip;
    id->id.ptr = NULL;
    id->id.len = 0;
    if (cfg->proxy_count > 0 && tx->request.present && is_trusted(cfg, &tx->client_ip))
        forwarded_client(tx, cfg, id, counters);
    id->kind = best_kind;
    id->credential = best;
    if (best >= 0) {
        const credential *c = &set->items[best];
        if (best_kind == IDENTITY_JWT_SUB) {
            const jwt_text *sub = &set->jwt[c->jwt].sub;
            id->id.ptr = sub->text;
            id->id.len = sub->len;
        } else {
            id->id = c->value;
        }
        id->fingerprint =
            hash_mix64(credential_fingerprint(id->id.ptr, id->id.len) + (uint64_t)best_kind);
    } else {
        id->fingerprint = hash_mix64(credential_fingerprint(&id->client_ip, sizeof id->client_ip) +
                                     (uint64_t)IDENTITY_CLIENT_IP);
    }
}

/* ---- entry points ------------------------------------------------------- */

void credential_extract(const http_transaction *tx, const credential_config *cfg,
                        credential_cache *cache, credential_set *set, anomaly_counters *counters) {
    set->cache = cache;
    set->count = 0;
    set->dropped = 0;
    set->jwt_count = 0;
    set->decoded_used = 0;
    const http_message *m = &tx->request;
    if (m->present) {
        parse_query(set, cfg, tx->uri, counters);
        const credential_name_list *key_headers = &cfg->lists[CREDENTIAL_LIST_API_KEY_HEADERS];
        for (uint32_t i = 0; i < m->header_count; i++) {
            const http_header_view *h = &m->headers[i];
            if (!h->name.ptr || !h->value.ptr)
                continue;
            if (VIEW_IS(h->name, "Authorization")) {
                parse_authorization(set, cfg, h, counters);
            } else if (VIEW_IS(h->name, "Cookie")) {
                parse_cookies(set, cfg, h, counters);
            } else if (credential_name_matches(key_headers, h->name.ptr, h->name.len)) {
                const char *start = h->value.ptr, *end = start + h->value.len;
                trim_span(&start, &end);
                if (start < end)
                    add_value(set, cfg, CREDENTIAL_API_KEY_HEADER, CREDENTIAL_API_KEY_HEADER, 0,
                              CREDENTIAL_IN_HEADER, h->name, view_of(start, end), counters);
            }
        }
    }
    identify(tx, cfg, set, counters);
}

const jwt_claims *credential_jwt(const credential_set *set, const credential *cred) {
    if (!cred || cred->jwt < 0 || (uint32_t)cred->jwt >= set->jwt_count)
        return NULL;
    return &set->jwt[cred->jwt];
}
