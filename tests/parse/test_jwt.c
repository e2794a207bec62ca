/*
 * Tests of the JWT decoder: tokens are built here from JSON text with
 * base64url and signed with OpenSSL HMAC, plus the RFC 7519 section 3.1
 * example token verified under its RFC 7515 appendix A.1 key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "parse/jwt.h"

static size_t b64url(const void *data, size_t len, char *out) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const uint8_t *p = data;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

/* header.payload.signature with HMAC under md, or an empty signature when md is NULL. */
static size_t make_token(const char *header, const char *payload, const EVP_MD *md, const char *key,
                         char *out) {
    size_t n = b64url(header, strlen(header), out);
    out[n++] = '.';
    n += b64url(payload, strlen(payload), out + n);
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    if (md)
        assert_non_null(HMAC(md, key, (int)strlen(key), (const uint8_t *)out, n, mac, &mac_len));
    out[n++] = '.';
    n += b64url(mac, mac_len, out + n);
    return n;
}

static void test_hs256_claims(void **state) {
    (void)state;
    char token[2048];
    size_t len = make_token(
        "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"key-1\"}",
        "{\"sub\":\"user-17\",\"iat\":1700000000,\"exp\":1700003600,\"nbf\":1699999990,"
        "\"iss\":\"https://issuer.example\",\"aud\":[\"orders-api\",\"web\"],"
        "\"email\":\"alice@example.com\",\"preferred_username\":\"alice\",\"roles\":[\"a\"]}",
        EVP_sha256(), "secret", token);
    anomaly_counters counters = {0};
    jwt_claims c;
    assert_true(jwt_looks_like(token, len));
    assert_int_equal(jwt_decode(token, len, 8192, &c, &counters), AS_OK);
    assert_string_equal(c.alg.text, "HS256");
    assert_string_equal(c.typ.text, "JWT");
    assert_string_equal(c.kid.text, "key-1");
    assert_string_equal(c.sub.text, "user-17");
    assert_int_equal(c.sub.len, 7);
    assert_false(c.sub_is_number);
    assert_string_equal(c.iss.text, "https://issuer.example");
    assert_string_equal(c.aud.text, "orders-api");
    assert_string_equal(c.email.text, "alice@example.com");
    assert_string_equal(c.preferred_username.text, "alice");
    assert_true(c.has_iat && c.has_exp && c.has_nbf);
    assert_int_equal(c.iat, 1700000000);
    assert_int_equal(c.exp, 1700003600);
    assert_int_equal(c.nbf, 1699999990);
    assert_int_equal(c.signature_bytes, 32);
    assert_int_equal(c.anomaly, ANOMALY_COUNT);
    for (int i = 0; i < ANOMALY_COUNT; i++)
        assert_int_equal(counters.count[i], 0);

    assert_true(jwt_hs_key_matches(token, len, "secret", 6));
    assert_false(jwt_hs_key_matches(token, len, "secret1", 7));
    /* a list of well-known default secrets, as analytics tries them */
    static const jwt_key defaults[] = {
        {"changeme", 8}, {"your-256-bit-secret", 19}, {"secret", 6}, {"", 0}};
    assert_int_equal(jwt_hs_key_find(token, len, defaults, 4), 2);
    assert_int_equal(jwt_hs_key_find(token, len, defaults, 2), -1);
    assert_int_equal(jwt_hs_key_find(token, len, defaults, 0), -1);
    assert_false(jwt_hs_key_matches(token, len, "", 0));
    /* a changed payload byte breaks the signature */
    token[len / 2] = token[len / 2] == 'A' ? 'B' : 'A';
    assert_false(jwt_hs_key_matches(token, len, "secret", 6));
}

static void test_hs384_hs512_and_numeric_sub(void **state) {
    (void)state;
    char token[2048];
    size_t len = make_token("{\"alg\":\"HS384\"}", "{\"sub\":17,\"exp\":1.7e9}", EVP_sha384(),
                            "your-256-bit-secret", token);
    jwt_claims c;
    assert_int_equal(jwt_decode(token, len, 8192, &c, NULL), AS_OK);
    assert_string_equal(c.sub.text, "17");
    assert_true(c.sub_is_number);
    assert_int_equal(c.exp, 1700000000);
    assert_false(c.has_iat);
    assert_false(c.typ.present);
    assert_true(jwt_hs_key_matches(token, len, "your-256-bit-secret", 19));
    assert_false(jwt_hs_key_matches(token, len, "secret", 6));

    len = make_token("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", "{\"sub\":\"x\"}", EVP_sha512(),
                     "changeme", token);
    assert_int_equal(jwt_decode(token, len, 8192, &c, NULL), AS_OK);
    assert_int_equal(c.signature_bytes, 64);
    assert_true(jwt_hs_key_matches(token, len, "changeme", 8));
}

/* RFC 7519 section 3.1 example, HS256 under the RFC 7515 A.1 key. */
static void test_rfc7519_example(void **state) {
    (void)state;
    static const char token[] =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
        "cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    /* the JWK "k" of RFC 7515 A.1, base64url-decoded */
    static const uint8_t key[] = {3,   35,  53,  75,  43,  15,  165, 188, 131, 126, 6,   101, 119,
                                  123, 166, 143, 90,  179, 40,  230, 240, 84,  201, 40,  169, 15,
                                  132, 178, 210, 80,  46,  191, 211, 251, 90,  146, 210, 6,   71,
                                  239, 150, 138, 180, 195, 119, 98,  61,  34,  61,  46,  33,  114,
                                  5,   46,  79,  8,   192, 205, 154, 245, 103, 208, 128, 163};
    jwt_claims c;
    assert_int_equal(jwt_decode(token, strlen(token), 8192, &c, NULL), AS_OK);
    assert_string_equal(c.alg.text, "HS256");
    assert_string_equal(c.typ.text, "JWT");
    assert_string_equal(c.iss.text, "joe");
    assert_int_equal(c.exp, 1300819380);
    assert_false(c.sub.present);
    assert_true(jwt_hs_key_matches(token, strlen(token), key, sizeof key));
    assert_false(jwt_hs_key_matches(token, strlen(token), key, sizeof key - 1));
}

static void test_alg_none(void **state) {
    (void)state;
    char token[512];
    size_t len = make_token("{\"alg\":\"none\"}", "{\"sub\":\"admin\"}", NULL, "", token);
    assert_int_equal(token[len - 1], '.');
    jwt_claims c;
    assert_int_equal(jwt_decode(token, len, 8192, &c, NULL), AS_OK);
    assert_string_equal(c.alg.text, "none");
    assert_string_equal(c.sub.text, "admin");
    assert_int_equal(c.signature_bytes, 0);
    assert_false(jwt_hs_key_matches(token, len, "", 0));
}

static void expect_malformed(const char *token, size_t len, as_status status, anomaly_id id) {
    anomaly_counters counters = {0};
    jwt_claims c;
    assert_int_equal(jwt_decode(token, len, 8192, &c, &counters), status);
    assert_int_equal(c.anomaly, id);
    assert_int_equal(counters.count[id], 1);
}

static void test_malformed_tokens(void **state) {
    (void)state;
    static const struct {
        const char *header, *payload;
        anomaly_id anomaly;
    } cases[] = {
        {"{\"typ\":\"JWT\"}", "{\"sub\":\"a\"}", ANOMALY_JWT_HEADER_WITHOUT_ALG},
        {"{\"alg\":5}", "{\"sub\":\"a\"}", ANOMALY_JWT_HEADER_WITHOUT_ALG},
        {"{\"alg\":\"HS256\"", "{\"sub\":\"a\"}", ANOMALY_JWT_BAD_HEADER},
        {"{\"alg\":\"HS256\",}", "{}", ANOMALY_JWT_BAD_HEADER},
        {"{\"alg\":\"HS256\"} x", "{}", ANOMALY_JWT_BAD_HEADER},
        {"{\"alg\":\"HS256\"}", "{\"sub\":\"a\"", ANOMALY_JWT_BAD_PAYLOAD},
        {"{\"alg\":\"HS256\"}", "{\"sub\":1}}", ANOMALY_JWT_BAD_PAYLOAD},
        {"{\"alg\":\"HS256\"}", "[1,2]", ANOMALY_JWT_BAD_PAYLOAD},
    };
    char token[20000];
    size_t len;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        len = make_token(cases[i].header, cases[i].payload, EVP_sha256(), "k", token);
        expect_malformed(token, len, AS_ERR_FORMAT, cases[i].anomaly);
    }
    /* a segment of 4n+1 characters is no base64url */
    expect_malformed("eyJhbGciOiJub25lIn0.eyJhb.", 26, AS_ERR_FORMAT, ANOMALY_JWT_BAD_BASE64URL);
    expect_malformed("eyJhbGciOiJub25lIn0.eyJhbA.x", 28, AS_ERR_FORMAT, ANOMALY_JWT_BAD_BASE64URL);
    /* too long for the limit */
    char payload[12000];
    memset(payload, 0, sizeof payload);
    memcpy(payload, "{\"sub\":\"", 8);
    memset(payload + 8, 'x', 9000);
    memcpy(payload + 9008, "\"}", 2);
    len = make_token("{\"alg\":\"HS256\"}", payload, EVP_sha256(), "k", token);
    expect_malformed(token, len, AS_ERR_LIMIT, ANOMALY_JWT_TOO_LONG);
    jwt_claims c;
    anomaly_counters counters = {0};
    assert_int_equal(jwt_decode(token, len, 16384, &c, &counters), AS_OK);
    assert_true(c.sub.truncated);
    assert_int_equal(c.sub.len, JWT_TEXT_BYTES - 1);
    assert_int_equal(counters.count[ANOMALY_JWT_CLAIM_TRUNCATED], 1);
}

static void test_not_jwt_shape(void **state) {
    (void)state;
    static const char *const opaque[] = {
        "abc",     "a.b",           "a.b.c.d.e", "a..c",          ".b.c",
        "a b.c.d", "a.b.c",         "GA1.2.3",   "ya29.a0AfH6SM", "eyJhbGci.eyJ.c=",
        "eyJh..c", "eyJa.eyJb.c.d", "",          "eyJ+.eyJ.x",    "WyJh.eyJh.c"};
    for (size_t i = 0; i < sizeof opaque / sizeof opaque[0]; i++) {
        anomaly_counters counters = {0};
        jwt_claims c;
        assert_false(jwt_looks_like(opaque[i], strlen(opaque[i])));
        assert_int_equal(jwt_decode(opaque[i], strlen(opaque[i]), 8192, &c, &counters), AS_SKIP);
        assert_int_equal(c.anomaly, ANOMALY_COUNT);
        for (int k = 0; k < ANOMALY_COUNT; k++)
            assert_int_equal(counters.count[k], 0);
    }
    assert_int_equal(jwt_decode(NULL, 0, 8192, &(jwt_claims){0}, NULL), AS_SKIP);
}

static void test_escapes_and_duplicates(void **state) {
    (void)state;
    char token[2048];
    /* sub with an escaped quote, a \u00e9 (e acute) and a surrogate pair (U+1F600);
     * a second sub wins over the first; aud as a plain string */
    size_t len = make_token("{\"alg\":\"HS256\"}",
                            "{\"sub\":\"first\",\"sub\":\"al\\u00e9x\\\"\\ud83d\\ude00\","
                            "\"aud\":\"api\",\"nested\":{\"sub\":\"no\"}}",
                            EVP_sha256(), "k", token);
    jwt_claims c;
    assert_int_equal(jwt_decode(token, len, 8192, &c, NULL), AS_OK);
    assert_string_equal(c.sub.text, "al\xc3\xa9x\"\xf0\x9f\x98\x80");
    assert_string_equal(c.aud.text, "api");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hs256_claims),
        cmocka_unit_test(test_hs384_hs512_and_numeric_sub),
        cmocka_unit_test(test_rfc7519_example),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_malformed_tokens),
        cmocka_unit_test(test_not_jwt_shape),
        cmocka_unit_test(test_escapes_and_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
