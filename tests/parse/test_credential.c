/*
 * Tests of credential extraction and identity on synthetic transactions:
 * every credential kind of CONTRACT.md, the identity order of DESIGN.md
 * section 5, X-Forwarded-For behind trusted proxies, configuration lists and
 * the bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "parse/credential.h"

/* ---- helpers ------------------------------------------------------------ */

typedef struct fake_request {
    http_transaction tx;
    http_header_view headers[16];
} fake_request;

static str_view sv(const char *s) {
    str_view v = {s, (uint32_t)strlen(s)};
    return v;
}

/* A request from client_ip for uri with headers given as name, value, ..., NULL. */
static void make_request(fake_request *r, const char *client_ip, const char *uri, ...) {
    memset(r, 0, sizeof *r);
    r->tx.client_ip.family = 4;
    assert_int_equal(inet_pton(AF_INET, client_ip, r->tx.client_ip.bytes), 1);
    r->tx.method = sv("GET");
    r->tx.uri = sv(uri);
    r->tx.request.present = 1;
    r->tx.request.headers = r->headers;
    va_list ap;
    va_start(ap, uri);
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL) {
        assert_true(r->tx.request.header_count < 16);
        http_header_view *h = &r->headers[r->tx.request.header_count++];
        h->name = sv(name);
        h->value = sv(va_arg(ap, const char *));
    }
    va_end(ap);
}

static size_t b64url(const void *data, size_t len, char *out) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const uint8_t *p = data;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);
        size_t chars = len - i >= 3 ? 4 : len - i + 1;
        for (size_t k = 0; k < chars; k++)
            out[o++] = alphabet[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
    return o;
}

/* An HS256 JWT with payload {"sub":"<sub>","exp":...} signed with "k". */
static void make_jwt(const char *sub, char *out) {
    char payload[256];
    snprintf(payload, sizeof payload, "{\"sub\":\"%s\",\"exp\":1700003600}", sub);
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    size_t n = b64url(header, strlen(header), out);
    out[n++] = '.';
    n += b64url(payload, strlen(payload), out + n);
    uint8_t mac[32];
    unsigned mac_len = 0;
    assert_non_null(HMAC(EVP_sha256(), "k", 1, (const uint8_t *)out, n, mac, &mac_len));
    out[n++] = '.';
    b64url(mac, mac_len, out + n);
}

static int view_equals(str_view v, const char *s) {
    return v.ptr && v.len == strlen(s) && !memcmp(v.ptr, s, v.len);
}

static credential_set set;
static credential_config cfg;

static int setup(void **state) {
    (void)state;
    credential_config_init(&cfg, NULL);
    return 0;
}

/* ---- Authorization ------------------------------------------------------ */

static void test_bearer_jwt_and_opaque(void **state) {
    (void)state;
    char jwt[512], header[600];
    make_jwt("user-17", jwt);
    snprintf(header, sizeof header, "Bearer %s", jwt);
    fake_request r;
    make_request(&r, "10.0.0.5", "/users/17", "Host", "api.example", "Authorization", header, NULL);
    anomaly_counters counters = {0};
    credential_extract(&r.tx, &cfg, NULL, &set, &counters);
    assert_int_equal(set.count, 1);
    const credential *c = &set.items[0];
    assert_int_equal(c->kind, CREDENTIAL_BEARER_JWT);
    assert_string_equal(credential_kind_name(c->kind), "bearer_jwt");
    assert_int_equal(c->location, CREDENTIAL_IN_HEADER);
    assert_true(view_equals(c->name, "Authorization"));
    assert_true(view_equals(c->value, jwt));
    assert_true(c->fingerprint == credential_fingerprint(jwt, strlen(jwt)));
    const jwt_claims *claims = credential_jwt(&set, c);
    assert_non_null(claims);
    assert_string_equal(claims->sub.text, "user-17");
    assert_int_equal(claims->exp, 1700003600);
    assert_int_equal(set.identity.kind, IDENTITY_JWT_SUB);
    assert_string_equal(identity_kind_name(set.identity.kind), "jwt_sub");
    assert_true(view_equals(set.identity.id, "user-17"));
    assert_int_equal(set.identity.credential, 0);
    assert_false(identity_kind_is_secret(set.identity.kind));

    make_request(&r, "10.0.0.5", "/users/17", "authorization", "bearer  opaque-token-123 ", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, &counters);
    assert_int_equal(set.count, 1);
    assert_int_equal(set.items[0].kind, CREDENTIAL_BEARER_TOKEN);
    assert_true(view_equals(set.items[0].value, "opaque-token-123"));
    assert_null(credential_jwt(&set, &set.items[0]));
    assert_int_equal(set.identity.kind, IDENTITY_BEARER_TOKEN);
    assert_true(identity_kind_is_secret(set.identity.kind));
    assert_true(view_equals(set.identity.id, "opaque-token-123"));

    /* JWT-shaped but the header is no JSON: opaque, anomaly counted */
    /* header {"alg":"HS256" (no closing brace), payload {"sub":"x"} */
    make_request(&r, "10.0.0.5", "/", "Authorization",
                 "Bearer eyJhbGciOiJIUzI1NiI.eyJzdWIiOiJ4In0.c2ln", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, &counters);
    assert_int_equal(set.items[0].kind, CREDENTIAL_BEARER_TOKEN);
    assert_true(set.items[0].jwt_malformed);
    assert_int_equal(counters.count[ANOMALY_JWT_BAD_HEADER], 1);

    /* a bare JWT without a scheme is a bearer JWT; "Bearer" alone is nothing */
    make_request(&r, "10.0.0.5", "/", "Authorization", jwt, NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, &counters);
    assert_int_equal(set.items[0].kind, CREDENTIAL_BEARER_JWT);
    make_request(&r, "10.0.0.5", "/", "Authorization", "Bearer ", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, &counters);
    assert_int_equal(set.count, 0);
    assert_int_equal(set.identity.kind, IDENTITY_CLIENT_IP);
}

static void test_basic(void **state) {
    (void)state;
    fake_request r;
    anomaly_counters counters = {0};
    /* base64 of "alice:s3cret-pw" */
    make_request(&r, "10.0.0.5", "/", "Authorization", "Basic YWxpY2U6czNjcmV0LXB3", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, &counters);
    assert_int_equal(set.count, 1);
    assert_int_equal(set.items[0].kind, CREDENTIAL_BASIC);
    assert_true(view_equals(set.items[0].value, "alice"));
    assert_true(set.items[0].has_password);
    assert_int_equal(set.identity.kind, IDENTITY_BASIC_USER);
    assert_true(view_equals(set.identity.id, "alice"));
    /* the password is not left in the set */
    const char *bytes = (const char *)&set;
    for (size_t i = 0; i + 6 <= sizeof set; i++)
        assert_false(memcmp(bytes + i, "s3cret", 6) == 0);

    /* base64 of "bob:" (no password) */
    make_request(&r, "10.0.0.5", "/", "Authorization", "Basic Ym9iOg==", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, &counters);
    assert_true(view_equals(set.items[0].value, "bob"));
    assert_false(set.items[0].has_password);

    /* base64 of "alice" (no colon) and a value that is no base64 */
    make_request(&r, "10.0.0.5", "/", "Authorization", "Basic YWxpY2U=", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, &counters);
    assert_int_equal(set.items[0].kind, CREDENTIAL_BASIC);
    assert_null(set.items[0].value.ptr);
    assert_int_equal(set.identity.kind, IDENTITY_CLIENT_IP);
    make_request(&r, "10.0.0.5", "/", "Authorization", "Basic !!!", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, &counters);
    assert_int_equal(counters.count[ANOMALY_CREDENTIAL_BAD_BASIC], 2);
}

/* ---- API keys, query, cookies --------------------------------------------- */

static void test_api_key_headers(void **state) {
    (void)state;
    fake_request r;
    make_request(&r, "10.0.0.5", "/", "x-api-key", " k-123 ", "Authorization", "Token drf-456",
                 "X-Request-Id", "not-a-credential", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    assert_int_equal(set.count, 2);
    assert_int_equal(set.items[0].kind, CREDENTIAL_API_KEY_HEADER);
    assert_true(view_equals(set.items[0].name, "x-api-key"));
    assert_true(view_equals(set.items[0].value, "k-123"));
    assert_int_equal(set.items[1].kind, CREDENTIAL_API_KEY_HEADER);
    assert_true(view_equals(set.items[1].value, "drf-456"));
    assert_int_equal(set.identity.kind, IDENTITY_API_KEY);
    assert_true(view_equals(set.identity.id, "k-123"));

    /* schemes that sign each request: the key id or user, not the signature */
    make_request(&r, "10.0.0.5", "/", "Authorization",
                 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                 "aws4_request, SignedHeaders=host;range;x-amz-date, Signature=fe5f80f77d5fa3beca",
                 NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    assert_int_equal(set.items[0].kind, CREDENTIAL_API_KEY_HEADER);
    assert_true(view_equals(set.items[0].value, "AKIAIOSFODNN7EXAMPLE"));
    make_request(&r, "10.0.0.5", "/", "Authorization",
                 "Digest realm=\"api\", username=\"Mufasa\", nonce=\"dcd98b\", "
                 "response=\"6629fae4\"",
                 NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    assert_true(view_equals(set.items[0].value, "Mufasa"));

    /* an API key wins over an opaque bearer token, a JWT subject over both */
    char jwt[512], header[600];
    make_jwt("svc-9", jwt);
    snprintf(header, sizeof header, "Bearer %s", jwt);
    make_request(&r, "10.0.0.5", "/", "Authorization", "Bearer opaque", "X-Auth-Token", "key-1",
                 NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    assert_int_equal(set.identity.kind, IDENTITY_API_KEY);
    assert_int_equal(set.identity.credential, 1);
    make_request(&r, "10.0.0.5", "/", "X-Auth-Token", "key-1", "Authorization", header, NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    assert_int_equal(set.identity.kind, IDENTITY_JWT_SUB);
    assert_true(view_equals(set.identity.id, "svc-9"));
}

static void test_query_credentials(void **state) {
    (void)state;
    char jwt[512], uri[800];
    make_jwt("q-user", jwt);
    snprintf(uri, sizeof uri, "/v1/items?page=2&api_key=ab%%2Bc+d%%zz&key=&state=%s#api_key=x",
             jwt);
    fake_request r;
    make_request(&r, "10.0.0.5", uri, NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    assert_int_equal(set.count, 2);
    assert_int_equal(set.items[0].kind, CREDENTIAL_QUERY);
    assert_string_equal(credential_kind_name(set.items[0].kind), "query_credential");
    assert_int_equal(set.items[0].location, CREDENTIAL_IN_QUERY);
    assert_string_equal(credential_location_name(set.items[0].location), "query");
    assert_true(view_equals(set.items[0].name, "api_key"));
    assert_true(view_equals(set.items[0].value, "ab+c d%zz"));
    /* an unlisted parameter holding a valid JWT is a credential too */
    assert_true(view_equals(set.items[1].name, "state"));
    assert_non_null(credential_jwt(&set, &set.items[1]));
    assert_int_equal(set.identity.kind, IDENTITY_JWT_SUB);
    assert_true(view_equals(set.identity.id, "q-user"));

    /* an API key header wins over an earlier query credential */
    make_request(&r, "10.0.0.5", "/?api_key=from-query", "X-API-Key", "from-header", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    assert_int_equal(set.count, 2);
    assert_true(view_equals(set.identity.id, "from-header"));

    make_request(&r, "10.0.0.5", "/search?q=key&token=t0k", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    assert_int_equal(set.count, 1);
    assert_int_equal(set.identity.kind, IDENTITY_API_KEY);
    assert_true(view_equals(set.identity.id, "t0k"));
}

/* ---- redaction of request-targets ---------------------------------------- */

/* target with its secrets redacted, or "" when nothing was. */
static const char *redacted(const credential_config *c, const char *target) {
    static char out[4096];
    assert_true(credential_redact_bound(strlen(target)) < sizeof out);
    size_t n = credential_redact_target(c, sv(target), out);
    out[n] = '\0';
    return out;
}

static void test_redact_target(void **state) {
    (void)state;
    char jwt[512], target[1200];
    make_jwt("r-user", jwt);
    /* listed names, secret words, session names; others kept as sent */
    assert_string_equal(redacted(&cfg, "/v1/items?page=2&API_KEY=ab%2Bc&key=&Token=t0k"),
                        "/v1/items?page=2&API_KEY=REDACTED&key=&Token=REDACTED");
    assert_string_equal(redacted(&cfg, "/login?user=bob&password=hunter2&client_secret=s"),
                        "/login?user=bob&password=REDACTED&client_secret=REDACTED");
    assert_string_equal(redacted(&cfg, "/s?X-Amz-Signature=ab12&X-Amz-Date=20240101&PHPSESSID=9"),
                        "/s?X-Amz-Signature=REDACTED&X-Amz-Date=20240101&PHPSESSID=REDACTED");
    /* a JWT under any name, as a path segment, and a ;jsessionid path parameter */
    snprintf(target, sizeof target, "/r/%s/x?state=%s&a=b", jwt, jwt);
    assert_string_equal(redacted(&cfg, target), "/r/REDACTED/x?state=REDACTED&a=b");
    assert_string_equal(redacted(&cfg, "/cart;jsessionid=0AB1;v=2/view?x=1#token=frag"),
                        "/cart;jsessionid=REDACTED;v=2/view?x=1#token=frag");
    /* absolute form; a valueless or value-less parameter; the shortest values grow */
    assert_string_equal(redacted(&cfg, "http://h.example/p?token&auth=1&pwd=&=x&api_key=a&&"),
                        "http://h.example/p?token&auth=REDACTED&pwd=&=x&api_key=REDACTED&&");
    /* nothing to redact: 0, the caller writes the target as it is */
    assert_string_equal(redacted(&cfg, "/users/17?expand=1&sort=name"), "");
    assert_string_equal(redacted(&cfg, "/eyJ-looks/like?q=eyJ"), "");
    assert_string_equal(redacted(&cfg, "*"), "");
    assert_int_equal(credential_redact_target(&cfg, (str_view){NULL, 0}, target), 0);

    /* the worst growth stays in the bound: one-byte values of listed names */
    char many[601], out[4096];
    size_t n = 0;
    many[n++] = '?';
    while (n + 5 < sizeof many) {
        memcpy(many + n, "a=x&", 4);
        n += 4;
    }
    many[n] = '\0';
    credential_config every = cfg;
    char err[128];
    assert_int_equal(
        credential_config_set_names(&every, CREDENTIAL_LIST_QUERY_PARAMS, "*", err, sizeof err),
        AS_OK);
    size_t written = credential_redact_target(&every, sv(many), out);
    assert_true(written > 2 * n);
    assert_true(written <= credential_redact_bound(n));

    /* configured lists are honoured */
    credential_config custom = cfg;
    assert_int_equal(credential_config_set_names(&custom, CREDENTIAL_LIST_QUERY_PARAMS, "+x-tenant",
                                                 err, sizeof err),
                     AS_OK);
    assert_string_equal(redacted(&custom, "/?x-tenant=acme&y=1"), "/?x-tenant=REDACTED&y=1");
    assert_string_equal(redacted(&cfg, "/?x-tenant=acme&y=1"), "");
}

static void test_cookies(void **state) {
    (void)state;
    fake_request r;
    make_request(&r, "10.0.0.5", "/", "Cookie",
                 "_ga=GA1.2.3; theme=dark; csrftoken=abc; XSRF-TOKEN=def; "
                 "JSESSIONID=ABC123; my_app_session=s1; auth=\"q\"; empty=",
                 NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    assert_int_equal(set.count, 3);
    assert_true(view_equals(set.items[0].name, "JSESSIONID"));
    assert_true(view_equals(set.items[0].value, "ABC123"));
    assert_int_equal(set.items[0].kind, CREDENTIAL_COOKIE);
    assert_int_equal(set.items[0].location, CREDENTIAL_IN_COOKIE);
    assert_true(view_equals(set.items[1].name, "my_app_session"));
    assert_true(view_equals(set.items[2].name, "auth"));
    assert_true(view_equals(set.items[2].value, "q"));
    assert_int_equal(set.identity.kind, IDENTITY_SESSION_COOKIE);
    assert_true(view_equals(set.identity.id, "ABC123"));

    /* a JWT in a cookie of any name identifies its subject; Basic beats cookies */
    char jwt[512], cookie[600];
    make_jwt("cookie-user", jwt);
    snprintf(cookie, sizeof cookie, "prefs=1; id=%s", jwt);
    make_request(&r, "10.0.0.5", "/", "Cookie", cookie, NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    assert_int_equal(set.count, 1);
    assert_true(view_equals(set.identity.id, "cookie-user"));
    make_request(&r, "10.0.0.5", "/", "Cookie", "sessionid=s", "Authorization",
                 "Basic Ym9iOng=", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    assert_int_equal(set.identity.kind, IDENTITY_BASIC_USER);
}

/* ---- configuration, proxies, bounds --------------------------------------- */

static void test_config_lists(void **state) {
    (void)state;
    credential_config c;
    char err[128];
    credential_config_init(&c, NULL);
    assert_true(credential_is_session_cookie(&c, "PHPSESSID", 9));
    assert_true(credential_is_session_cookie(&c, "laravel_session", 15));
    assert_false(credential_is_session_cookie(&c, "csrf_session", 12));
    assert_int_equal(credential_config_set_names(&c, CREDENTIAL_LIST_API_KEY_HEADERS,
                                                 "+X-Tenant-Key", err, sizeof err),
                     AS_OK);
    const credential_name_list *keys = &c.lists[CREDENTIAL_LIST_API_KEY_HEADERS];
    assert_true(credential_name_matches(keys, "x-tenant-key", 12));
    assert_true(credential_name_matches(keys, "X-API-KEY", 9));
    assert_int_equal(credential_config_set_names(&c, CREDENTIAL_LIST_API_KEY_HEADERS,
                                                 " X-One , X-Two-*", err, sizeof err),
                     AS_OK);
    assert_int_equal(keys->count, 2);
    assert_false(credential_name_matches(keys, "X-API-Key", 9));
    assert_true(credential_name_matches(keys, "x-two-anything", 14));
    assert_int_equal(
        credential_config_set_names(&c, CREDENTIAL_LIST_SESSION_COOKIES, "a,,b", err, sizeof err),
        AS_ERR_CONFIG);
    assert_int_equal(
        credential_config_set_names(&c, CREDENTIAL_LIST_SESSION_COOKIES, "", err, sizeof err),
        AS_ERR_CONFIG);
    assert_int_equal(
        credential_config_set_names(&c, CREDENTIAL_LIST_SESSION_COOKIES, "sid", err, sizeof err),
        AS_OK);
    assert_false(credential_is_session_cookie(&c, "PHPSESSID", 9));

    assert_int_equal(credential_config_set_proxies(&c, "10.0.0.1, 192.168.0.0/16,2001:db8::/32",
                                                   err, sizeof err),
                     AS_OK);
    assert_int_equal(c.proxy_count, 3);
    assert_int_equal(credential_config_set_proxies(&c, "10.0.0.1,", err, sizeof err),
                     AS_ERR_CONFIG);
    assert_int_equal(
        credential_config_set_names(&c, CREDENTIAL_LIST_SESSION_COOKIES, "a,", err, sizeof err),
        AS_ERR_CONFIG);
    assert_int_equal(credential_config_set_proxies(&c, "10.0.0.0/33", err, sizeof err),
                     AS_ERR_CONFIG);
    assert_int_equal(credential_config_set_proxies(&c, "proxy.local", err, sizeof err),
                     AS_ERR_CONFIG);
    assert_non_null(strstr(err, "proxy.local"));
    assert_int_equal(c.proxy_count, 3);
    assert_int_equal(credential_config_set_proxies(&c, "", err, sizeof err), AS_OK);
    assert_int_equal(c.proxy_count, 0);
}

static void test_forwarded_for(void **state) {
    (void)state;
    credential_config c;
    char err[128];
    credential_config_init(&c, NULL);
    fake_request r;
    char text[64];
    /* no trusted proxies: X-Forwarded-For is ignored */
    make_request(&r, "10.0.0.1", "/", "X-Forwarded-For", "203.0.113.9", NULL);
    credential_extract(&r.tx, &c, NULL, &set, NULL);
    assert_int_equal(set.identity.kind, IDENTITY_CLIENT_IP);
    assert_null(set.identity.id.ptr);
    assert_string_equal(ip_address_format(&set.identity.client_ip, text, sizeof text), "10.0.0.1");
    assert_int_equal(set.identity.credential, -1);

    assert_int_equal(credential_config_set_proxies(&c, "10.0.0.0/8", err, sizeof err), AS_OK);
    /* right-most entry that is no trusted proxy; spoofed entries to its left are ignored */
    make_request(&r, "10.0.0.1", "/", "X-Forwarded-For", "1.1.1.1, 203.0.113.9:5555",
                 "X-Forwarded-For", "10.0.0.2", NULL);
    credential_extract(&r.tx, &c, NULL, &set, NULL);
    assert_string_equal(ip_address_format(&set.identity.client_ip, text, sizeof text),
                        "203.0.113.9");
    assert_true(view_equals(set.identity.id, "203.0.113.9:5555"));
    make_request(&r, "10.0.0.1", "/", "x-forwarded-for", "[2001:db8::7]:443", NULL);
    credential_extract(&r.tx, &c, NULL, &set, NULL);
    assert_string_equal(ip_address_format(&set.identity.client_ip, text, sizeof text),
                        "2001:db8::7");
    /* a peer that is no trusted proxy cannot set its address */
    make_request(&r, "198.51.100.4", "/", "X-Forwarded-For", "203.0.113.9", NULL);
    credential_extract(&r.tx, &c, NULL, &set, NULL);
    assert_string_equal(ip_address_format(&set.identity.client_ip, text, sizeof text),
                        "198.51.100.4");
    /* a malformed entry stops at the last trusted hop */
    anomaly_counters counters = {0};
    make_request(&r, "10.0.0.1", "/", "X-Forwarded-For", "203.0.113.9, unknown, 10.0.0.2", NULL);
    credential_extract(&r.tx, &c, NULL, &set, &counters);
    assert_string_equal(ip_address_format(&set.identity.client_ip, text, sizeof text), "10.0.0.2");
    assert_int_equal(counters.count[ANOMALY_CREDENTIAL_BAD_FORWARDED_FOR], 1);
    /* identities from credentials keep the forwarded client address */
    make_request(&r, "10.0.0.1", "/", "X-Forwarded-For", "203.0.113.9", "X-API-Key", "k", NULL);
    credential_extract(&r.tx, &c, NULL, &set, NULL);
    assert_int_equal(set.identity.kind, IDENTITY_API_KEY);
    assert_string_equal(ip_address_format(&set.identity.client_ip, text, sizeof text),
                        "203.0.113.9");
}

static void test_bounds_and_fingerprints(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.credentials_per_request = 2;
    credential_config c;
    credential_config_init(&c, &lim);
    fake_request r;
    anomaly_counters counters = {0};
    make_request(&r, "10.0.0.5", "/?token=a&api_key=b", "X-API-Key", "c", "Cookie", "session=d",
                 NULL);
    credential_extract(&r.tx, &c, NULL, &set, &counters);
    assert_int_equal(set.count, 2);
    assert_int_equal(set.dropped, 2);
    assert_int_equal(counters.count[ANOMALY_CREDENTIAL_TOO_MANY], 1);

    /* an orphan response has no request: client address only */
    memset(&r, 0, sizeof r);
    credential_extract(&r.tx, &cfg, NULL, &set, &counters);
    assert_int_equal(set.count, 0);
    assert_int_equal(set.identity.kind, IDENTITY_CLIENT_IP);

    assert_true(credential_fingerprint("abc", 3) == credential_fingerprint("abc", 3));
    assert_true(credential_fingerprint("abc", 3) != credential_fingerprint("abd", 3));
    assert_true(credential_fingerprint("", 0) != credential_fingerprint("\0", 1));
    assert_true(credential_fingerprint("0123456789abcdef", 16) !=
                credential_fingerprint("0123456789abcdeg", 16));
    /* the same text as an API key and as a session cookie: different identities */
    make_request(&r, "10.0.0.5", "/", "X-API-Key", "same", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    uint64_t as_key = set.identity.fingerprint;
    make_request(&r, "10.0.0.5", "/", "Cookie", "session=same", NULL);
    credential_extract(&r.tx, &cfg, NULL, &set, NULL);
    assert_true(set.identity.fingerprint != as_key);
    assert_true(set.items[0].fingerprint == credential_fingerprint("same", 4));
}

static void test_jwt_cache(void **state) {
    (void)state;
    credential_cache *cache = NULL;
    assert_int_equal(credential_cache_create(8, &cache), AS_OK);
    char jwt[512], other[512], header[600], long_sub[201];
    memset(long_sub, 'u', 200);
    long_sub[200] = '\0';
    static credential_set cached;
    fake_request r;
    anomaly_counters with = {0}, without = {0};
    uint64_t hits, misses;
    const char *subs[] = {"user-17", "user-18", long_sub, "user-17", long_sub};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        make_jwt(subs[i], jwt);
        snprintf(header, sizeof header, "Bearer %s", jwt);
        make_request(&r, "10.0.0.5", "/", "Authorization", header, NULL);
        credential_extract(&r.tx, &cfg, cache, &cached, &with);
        credential_extract(&r.tx, &cfg, NULL, &set, &without);
        assert_int_equal(cached.count, 1);
        assert_int_equal(cached.items[0].kind, CREDENTIAL_BEARER_JWT);
        assert_int_equal(cached.identity.kind, IDENTITY_JWT_SUB);
        assert_int_equal(cached.identity.id.len, set.identity.id.len);
        assert_memory_equal(cached.identity.id.ptr, set.identity.id.ptr, set.identity.id.len);
        assert_memory_equal(credential_jwt(&cached, &cached.items[0]),
                            credential_jwt(&set, &set.items[0]), sizeof(jwt_claims));
    }
    credential_cache_stats(cache, &hits, &misses);
    assert_int_equal(hits, 2);
    assert_int_equal(misses, 3);
    /* anomalies are the same with and without the cache */
    assert_memory_equal(&with, &without, sizeof with);
    assert_int_equal(with.count[ANOMALY_JWT_CLAIM_TRUNCATED], 2);
    /* a token of the same length with other bytes is no hit */
    make_jwt("user-19", other);
    snprintf(header, sizeof header, "Bearer %s", other);
    make_request(&r, "10.0.0.5", "/", "Authorization", header, NULL);
    credential_extract(&r.tx, &cfg, cache, &cached, NULL);
    assert_true(view_equals(cached.identity.id, "user-19"));
    credential_cache_destroy(cache);
    credential_cache_destroy(NULL);

    /* a cache of no entries holds nothing and changes nothing */
    assert_int_equal(credential_cache_create(0, &cache), AS_OK);
    credential_extract(&r.tx, &cfg, cache, &cached, NULL);
    credential_extract(&r.tx, &cfg, cache, &cached, NULL);
    credential_cache_stats(cache, &hits, &misses);
    assert_int_equal(hits, 0);
    assert_true(view_equals(cached.identity.id, "user-19"));
    credential_cache_destroy(cache);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer_jwt_and_opaque),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_api_key_headers),
        cmocka_unit_test(test_query_credentials),
        cmocka_unit_test(test_redact_target),
        cmocka_unit_test(test_cookies),
        cmocka_unit_test(test_config_lists),
        cmocka_unit_test(test_forwarded_for),
        cmocka_unit_test(test_bounds_and_fingerprints),
        cmocka_unit_test(test_jwt_cache),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
