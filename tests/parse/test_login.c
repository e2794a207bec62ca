/*
 * Tests of login facts on synthetic transactions: JSON and form logins,
 * tokens in response bodies and headers, session cookies set and deleted,
 * and the tie between an issued token and its later use as a credential.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "parse/login.h"

typedef struct fake_exchange {
    http_transaction tx;
    http_header_view request_headers[8];
    http_header_view response_headers[8];
} fake_exchange;

static str_view sv(const char *s) {
    str_view v = {s, (uint32_t)strlen(s)};
    return v;
}

static void add_header(http_message *m, http_header_view *array, const char *name,
                       const char *value) {
    assert_true(m->header_count < 8);
    array[m->header_count].name = sv(name);
    array[m->header_count].value = sv(value);
    m->header_count++;
    if (!strcmp(name, "Content-Type"))
        m->content_type = sv(value);
}

/* A POST with a body of the given content type and a response (status 0:
 * none) with a body (NULL: none). */
static void make_exchange(fake_exchange *x, const char *content_type, const char *body,
                          uint16_t status, const char *response_type, const char *response_body) {
    memset(x, 0, sizeof *x);
    x->tx.method = sv("POST");
    x->tx.uri = sv("/any/path");
    x->tx.client_ip.family = 4;
    http_message *req = &x->tx.request;
    req->present = 1;
    req->headers = x->request_headers;
    if (content_type)
        add_header(req, x->request_headers, "Content-Type", content_type);
    if (body) {
        req->body = (const uint8_t *)body;
        req->body_len = (uint32_t)strlen(body);
    }
    if (!status)
        return;
    x->tx.status = status;
    http_message *resp = &x->tx.response;
    resp->present = 1;
    resp->headers = x->response_headers;
    if (response_type)
        add_header(resp, x->response_headers, "Content-Type", response_type);
    if (response_body) {
        resp->body = (const uint8_t *)response_body;
        resp->body_len = (uint32_t)strlen(response_body);
    }
}

static int view_equals(str_view v, const char *s) {
    return v.ptr && v.len == strlen(s) && !memcmp(v.ptr, s, v.len);
}

static credential_config cfg;
static login_facts facts;

static int setup(void **state) {
    (void)state;
    credential_config_init(&cfg, NULL);
    return 0;
}

/* A JWT with header {"alg":"HS256","typ":"JWT"} and payload
 * {"sub":"42","email":"bob@example.com"}; the signature bytes are arbitrary. */
#define BOB_JWT                                                                                    \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImVtYWlsIjoiYm9iQGV4YW1wbGUuY29tIn0."    \
    "c2lnbmF0dXJlLWJ5dGVz"

static void test_json_login_issues_jwt(void **state) {
    (void)state;
    fake_exchange x;
    make_exchange(&x, "application/json",
                  "{\"email\":\"bob@example.com\",\"password\":\"hunter2\",\"remember\":true}", 200,
                  "application/json; charset=utf-8",
                  "{\"user\":{\"id\":42,\"email\":\"bob@example.com\"},\"accessToken\":\"" BOB_JWT
                  "\"}");
    login_extract(&x.tx, &cfg, NULL, &facts, NULL);
    assert_true(view_equals(facts.user_field, "email"));
    assert_true(view_equals(facts.user, "bob@example.com"));
    assert_true(facts.has_password);
    assert_false(facts.request_form);
    assert_true(facts.returns_token);
    assert_false(facts.token_in_header);
    assert_true(view_equals(facts.token_field, "accessToken"));
    assert_true(view_equals(facts.token, BOB_JWT));
    assert_true(facts.token_is_jwt);
    assert_string_equal(facts.token_claims.sub.text, "42");
    assert_false(facts.sets_session_cookie);
    assert_true(login_facts_any(&facts));

    /* the later request that presents the token carries the same fingerprint */
    http_header_view h = {sv("Authorization"), sv("Bearer " BOB_JWT)};
    http_transaction later;
    memset(&later, 0, sizeof later);
    later.request.present = 1;
    later.request.headers = &h;
    later.request.header_count = 1;
    static credential_set set;
    credential_extract(&later, &cfg, NULL, &set, NULL);
    assert_int_equal(set.count, 1);
    assert_true(set.items[0].fingerprint == facts.token_fingerprint);
}

/* Hints from a cheaper scan skip the walks that cannot find anything; a
 * plain request is still read when its response issues a token. */
static void test_hints_skip_plain_bodies(void **state) {
    (void)state;
    fake_exchange x;
    login_hints plain = {1, 1};
    make_exchange(&x, "application/json", "{\"email\":\"bob@example.com\",\"code\":\"991\"}", 200,
                  "application/json", "{\"id\":42}");
    login_extract(&x.tx, &cfg, &plain, &facts, NULL);
    assert_null(facts.user.ptr);
    assert_false(facts.returns_token);
    /* the same request, but the response hands out a token in a header */
    add_header(&x.tx.response, x.response_headers, "Authorization", "Bearer Zq81kT0pLm");
    login_extract(&x.tx, &cfg, &plain, &facts, NULL);
    assert_true(facts.returns_token);
    assert_true(view_equals(facts.user, "bob@example.com"));
    assert_false(facts.has_password);
    /* a response body flagged plain is not walked: its token is not seen */
    make_exchange(&x, "application/json", "{\"email\":\"bob@example.com\"}", 200,
                  "application/json", "{\"token\":\"Zq81kT0pLm\"}");
    login_extract(&x.tx, &cfg, &plain, &facts, NULL);
    assert_false(facts.returns_token);
    login_hints request_plain = {1, 0};
    login_extract(&x.tx, &cfg, &request_plain, &facts, NULL);
    assert_true(facts.returns_token);
    assert_true(view_equals(facts.user, "bob@example.com"));
}

static void test_form_login_sets_cookie(void **state) {
    (void)state;
    fake_exchange x;
    make_exchange(&x, "application/x-www-form-urlencoded",
                  "grant_type=password&username=alice%40example.com&password=p%26ss&x=", 302, NULL,
                  NULL);
    add_header(&x.tx.response, x.response_headers, "Set-Cookie", "theme=dark; Path=/");
    add_header(&x.tx.response, x.response_headers, "Set-Cookie",
               "sessionid=Zx81kq; Path=/; HttpOnly; SameSite=Lax");
    login_extract(&x.tx, &cfg, NULL, &facts, NULL);
    assert_true(facts.request_form);
    assert_true(view_equals(facts.user_field, "username"));
    assert_true(view_equals(facts.user, "alice@example.com"));
    assert_true(facts.has_password);
    assert_true(facts.sets_session_cookie);
    assert_true(view_equals(facts.cookie_name, "sessionid"));
    assert_true(view_equals(facts.cookie_value, "Zx81kq"));
    assert_true(facts.cookie_fingerprint == credential_fingerprint("Zx81kq", 6));
    assert_false(facts.returns_token);
    /* the password never reaches the facts */
    const char *bytes = (const char *)&facts;
    for (size_t i = 0; i + 4 <= sizeof facts; i++)
        assert_false(memcmp(bytes + i, "p&ss", 4) == 0);
}

static void test_failed_login_and_deleted_cookies(void **state) {
    (void)state;
    fake_exchange x;
    make_exchange(&x, "application/json", "{\"user\":{\"login\":\"carol\",\"pass\":\"x\"}}", 401,
                  "application/json", "{\"error\":\"invalid credentials\",\"token\":null}");
    add_header(&x.tx.response, x.response_headers, "Set-Cookie", "session=; Max-Age=0; Path=/");
    add_header(&x.tx.response, x.response_headers, "Set-Cookie",
               "PHPSESSID=deleted; expires=Thu, 01-Jan-1970 00:00:01 GMT");
    add_header(&x.tx.response, x.response_headers, "Set-Cookie",
               "connect.sid=abc; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    login_extract(&x.tx, &cfg, NULL, &facts, NULL);
    assert_true(view_equals(facts.user, "carol"));
    assert_true(facts.has_password);
    assert_false(facts.returns_token);
    assert_false(facts.sets_session_cookie);

    /* escaped strings before the user name do not use up the decoding space */
    static char big[4096];
    size_t n = (size_t)snprintf(big, sizeof big, "{\"notes\":[");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "\"line\\n%02d\",", i);
    snprintf(big + n, sizeof big - n, "\"end\"],\"login\":\"h\\u00e9l\xc3\xa8ne\",\"pwd\":\"x\"}");
    make_exchange(&x, "application/json", big, 0, NULL, NULL);
    login_extract(&x.tx, &cfg, NULL, &facts, NULL);
    assert_true(view_equals(facts.user, "h\xc3\xa9l\xc3\xa8ne"));
    assert_true(facts.has_password);

    /* an empty password is no password; a request without a response */
    make_exchange(&x, "application/json", "{\"username\":\"dave\",\"password\":\"\"}", 0, NULL,
                  NULL);
    login_extract(&x.tx, &cfg, NULL, &facts, NULL);
    assert_true(view_equals(facts.user, "dave"));
    assert_false(facts.has_password);
}

static void test_tokens_found_by_shape_and_header(void **state) {
    (void)state;
    fake_exchange x;
    /* no token-like name, but a well-formed JWT value anywhere in the body */
    make_exchange(&x, NULL, "{\"Login\":\"erin\",\"Pass_word\":\"y\"}", 200, NULL,
                  "[{\"kind\":\"grant\",\"value\":\"" BOB_JWT "\"}]");
    login_extract(&x.tx, &cfg, NULL, &facts, NULL);
    assert_true(view_equals(facts.user, "erin"));
    assert_true(facts.has_password);
    assert_true(facts.returns_token);
    assert_true(view_equals(facts.token_field, "value"));
    assert_true(facts.token_is_jwt);

    /* a named token wins over an earlier anonymous JWT; escapes are decoded */
    make_exchange(&x, "application/json", "{}", 201, "application/json",
                  "{\"id_jwt\":\"" BOB_JWT "\",\"access_token\":\"opaque\\/tok\"}");
    login_extract(&x.tx, &cfg, NULL, &facts, NULL);
    assert_true(view_equals(facts.token_field, "access_token"));
    assert_true(view_equals(facts.token, "opaque/tok"));
    assert_false(facts.token_is_jwt);
    assert_true(facts.token_fingerprint == credential_fingerprint("opaque/tok", 10));

    /* a token in a response header */
    make_exchange(&x, "application/json", "{\"user\":\"frank\",\"password\":\"z\"}", 200, NULL,
                  NULL);
    add_header(&x.tx.response, x.response_headers, "X-Auth-Token", "hdr-token-1");
    login_extract(&x.tx, &cfg, NULL, &facts, NULL);
    assert_true(facts.returns_token);
    assert_true(facts.token_in_header);
    assert_true(view_equals(facts.token, "hdr-token-1"));
}

static void test_not_a_login(void **state) {
    (void)state;
    fake_exchange x;
    make_exchange(&x, NULL, NULL, 200, "application/json", "{\"items\":[1,2,3],\"total\":3}");
    login_extract(&x.tx, &cfg, NULL, &facts, NULL);
    assert_false(login_facts_any(&facts));
    /* a truncated body yields what came before the cut */
    make_exchange(&x, "application/json", "{\"username\":\"gina\",\"password\":\"abc", 200,
                  "application/json", "{\"token\":\"t-1\",\"profile\":{\"bio\":\"lo");
    login_extract(&x.tx, &cfg, NULL, &facts, NULL);
    assert_true(view_equals(facts.user, "gina"));
    assert_false(facts.has_password);
    assert_true(view_equals(facts.token, "t-1"));
    /* a body is read as a form only when it says so, or says nothing */
    make_exchange(&x, "text/plain", "user=x&password=y", 200, NULL, NULL);
    login_extract(&x.tx, &cfg, NULL, &facts, NULL);
    assert_false(login_facts_any(&facts));
    assert_false(facts.request_form);
    make_exchange(&x, NULL, "user=x&password=y", 200, NULL, NULL);
    login_extract(&x.tx, &cfg, NULL, &facts, NULL);
    assert_true(facts.request_form);
    assert_true(facts.has_password);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_login_issues_jwt),
        cmocka_unit_test(test_hints_skip_plain_bodies),
        cmocka_unit_test(test_form_login_sets_cookie),
        cmocka_unit_test(test_failed_login_and_deleted_cookies),
        cmocka_unit_test(test_tokens_found_by_shape_and_header),
        cmocka_unit_test(test_not_a_login),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
