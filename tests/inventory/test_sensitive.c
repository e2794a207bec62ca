/*
 * Unit tests of the sensitive-data scanner: every validator on valid and
 * invalid values, masking, the scanner on realistic bodies, headers and
 * query strings, the scan bound, and the ShopAPI scenario captures checked
 * against their labels (types per endpoint and location). A throughput
 * figure is printed, never asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "capture/decode.h"
#include "capture/flow_table.h"
#include "capture/source.h"
#include "capture/tcp_stream.h"
#include "inventory/sensitive.h"
#include "parse/http1.h"

/* A JWT from the scenario captures (HS256, sub "3"). */
#define SAMPLE_JWT                                                                                 \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJlbWFpbCI6ImNhcm9sLnZhcmdhQG1haWwuZXhhbXBsZS5jb20iLC"  \
    "JpYXQiOjE3OTUzOTAyNTMsImV4cCI6MTc5NTM5Mzg1Mywic3ViIjoiMyJ9.fuDX8LK2wSyiRxrNQd4BCD7-Rz7-"      \
    "uBKWkIeUf-9s_G8"
/* A bcrypt hash from the scenario captures. */
#define SAMPLE_BCRYPT "$2a$10$ymBh4nBnf0.oAsMso65rl.VBta/1rB2D44m9DRhD7iazlZfh5dzMq"

static sensitive_db *db;

static int setup(void **state) {
    (void)state;
    return sensitive_db_create(&db) == AS_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sensitive_db_destroy(db);
    return 0;
}

static int valid(int (*fn)(const char *, size_t), const char *s) {
    return fn(s, strlen(s));
}

/* ------------------------------------------------------------- validators */

static void luhn_and_cards(void **state) {
    (void)state;
    assert_true(valid(sensitive_luhn_valid, "79927398713"));
    assert_false(valid(sensitive_luhn_valid, "79927398710"));
    assert_false(valid(sensitive_luhn_valid, "7992a398713"));
    const char *cards[] = {
        "4111111111111111",    /* Visa */
        "4111 1111 1111 1111", /* grouped by spaces */
        "4111-1111-1111-1111", /* grouped by dashes */
        "5555555555554444",    /* Mastercard */
        "2223003122003222",    /* Mastercard 2-series */
        "378282246310005",     /* American Express, 15 digits */
        "6011000990139424",    /* Discover (scenario capture) */
        "3530111333300000",    /* JCB */
        "30569309025904",      /* Diners Club, 14 digits */
        "4222222222222",       /* Visa, 13 digits */
    };
    for (size_t i = 0; i < sizeof cards / sizeof cards[0]; i++)
        assert_true(valid(sensitive_card_valid, cards[i]));
    const char *not_cards[] = {
        "4111111111111112",     /* Luhn fails */
        "1234567812345670",     /* Luhn passes, no issuer starts with 1 */
        "1706757704201",        /* epoch milliseconds, Luhn passes */
        "411111111111",         /* 12 digits */
        "4111-1111 1111-1111",  /* mixed separators */
        "4111  1111 1111 1111", /* double space */
        "37828224631000",       /* Amex prefix with 14 digits */
        "41111111111111111111", /* 20 digits */
        "0000000000000000",     /* Luhn passes, no issuer */
    };
    for (size_t i = 0; i < sizeof not_cards / sizeof not_cards[0]; i++)
        assert_false(valid(sensitive_card_valid, not_cards[i]));
}

static void ssn_rules(void **state) {
    (void)state;
    assert_true(valid(sensitive_ssn_valid, "615-05-2428"));
    assert_true(valid(sensitive_ssn_valid, "123-45-6789"));
    assert_true(valid(sensitive_ssn_valid, "899999999"));    /* 9 digits: named fields */
    assert_false(valid(sensitive_ssn_valid, "000-12-3456")); /* area 000 */
    assert_false(valid(sensitive_ssn_valid, "666-12-3456")); /* area 666 */
    assert_false(valid(sensitive_ssn_valid, "900-12-3456")); /* area 9xx */
    assert_false(valid(sensitive_ssn_valid, "123-00-4567")); /* group 00 */
    assert_false(valid(sensitive_ssn_valid, "123-45-0000")); /* serial 0000 */
    assert_false(valid(sensitive_ssn_valid, "12-345-6789")); /* wrong grouping */
    assert_false(valid(sensitive_ssn_valid, "123-45-678"));  /* short */
}

static void iban_checks(void **state) {
    (void)state;
    const char *ibans[] = {
        "DE89370400440532013000",      /* Germany */
        "GB82WEST12345698765432",      /* United Kingdom */
        "FR1420041010050500013M02606", /* France */
        "NL91ABNA0417164300",          /* Netherlands */
        "BE68539007547034",            /* Belgium */
        "CH9300762011623852957",       /* Switzerland */
        "NO9386011117947",             /* Norway, 15 characters */
        "DE89 3704 0044 0532 0130 00", /* printed in groups of four */
    };
    for (size_t i = 0; i < sizeof ibans / sizeof ibans[0]; i++)
        assert_true(valid(sensitive_iban_valid, ibans[i]));
    assert_false(valid(sensitive_iban_valid, "DE89370400440532013001"));   /* checksum */
    assert_false(valid(sensitive_iban_valid, "XX89370400440532013000"));   /* no such country */
    assert_false(valid(sensitive_iban_valid, "DE8937040044053201300"));    /* DE is 22 long */
    assert_false(valid(sensitive_iban_valid, "DE89 37040044 0532013000")); /* bad grouping */
    assert_false(valid(sensitive_iban_valid, "de89370400440532013000"));   /* lower case */
}

static void phone_numbers(void **state) {
    (void)state;
    assert_true(valid(sensitive_phone_valid, "+1 202 555 0123"));
    assert_true(valid(sensitive_phone_valid, "+12025550123"));
    assert_true(valid(sensitive_phone_valid, "+44 20 7946 0958"));
    assert_true(valid(sensitive_phone_valid, "+49 30 901820"));
    assert_true(valid(sensitive_phone_valid, "+33 1 23 45 67 89"));
    assert_true(valid(sensitive_phone_valid, "(415) 555-2671"));
    assert_true(valid(sensitive_phone_valid, "415-555-2671"));
    assert_false(valid(sensitive_phone_valid, "+1-555-0133"));     /* 7 digits after +1 */
    assert_false(valid(sensitive_phone_valid, "+1 123 456 7890")); /* area code starts with 1 */
    assert_false(valid(sensitive_phone_valid, "+1 411 456 7890")); /* N11 area code */
    assert_false(valid(sensitive_phone_valid, "+999 1234567"));    /* unassigned code */
    assert_false(valid(sensitive_phone_valid, "+44 12"));          /* too short */
    assert_false(valid(sensitive_phone_valid, "2024-11-20"));
    assert_false(valid(sensitive_phone_valid, "123-456-7890")); /* national, area 1xx */
}

static void email_addresses(void **state) {
    (void)state;
    assert_true(valid(sensitive_email_valid, "carol.varga@mail.example.com"));
    assert_true(valid(sensitive_email_valid, "a+tag@example.co.uk"));
    assert_false(valid(sensitive_email_valid, "icon@2x.png"));
    assert_false(valid(sensitive_email_valid, "user@localhost"));
    assert_false(valid(sensitive_email_valid, "@example.com"));
    assert_false(valid(sensitive_email_valid, "x..y@example.com"));
    assert_false(valid(sensitive_email_valid, "x@-example.com"));
    assert_false(valid(sensitive_email_valid, "x@example.c0m"));
}

static void password_hashes(void **state) {
    (void)state;
    const char *hashes[] = {
        SAMPLE_BCRYPT,
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzYWx0$RdescudvJCsgt3ub+b+"
        "dWRWJTmaaJObGRdescudvJCs",
        "$argon2i$m=4096,t=3,p=1$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A",
        "$5$saltstring$9JBjAeLRHX/Lm/1Njo98nbLiUsNRFEuARumLKkxJMm7",
        "$6$rounds=5000$saltstring$q2.778Y7vt0Ij2OIl01VlxEE6SEh8ZCtgFbyJX8fYkl5S7gx32QO24FVg.rs4"
        "DkoAs9t6R19x4z8g69teXFxA0",
        "pbkdf2_sha256$260000$seasalt42$HU6gqzT3e8NgxAWhQJWTcMH2e7OH4mKNhiOd5Si+agU=",
        "$pbkdf2-sha256$29000$N2ZPCOE8JyRkrJXyfm9NCQ$uEPo5OCUkyzexjjxu2TPWGgYQD4o5Lv0pKQH0Qp0GT0",
    };
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
        assert_true(valid(sensitive_password_hash_valid, hashes[i]));
    const char *not_hashes[] = {
        "$2a$10$short",
        "$2c$10$ymBh4nBnf0.oAsMso65rl.VBta/1rB2D44m9DRhD7iazlZfh5dzMq", /* no $2c$ */
        "$argon2id$v=19$m=65536",
        "$6$salt$tooshort",
        "$5$saltstring$9JBjAeLRHX/Lm/1Njo98nbLiUsNRFEuARumLKkxJMm", /* 41 characters */
        "pbkdf2_sha256$many$salt$HU6gqzT3e8NgxAWhQJWTcMH2e7OH4mKNhiOd5Si+agU=",
        "hunter2",
    };
    for (size_t i = 0; i < sizeof not_hashes / sizeof not_hashes[0]; i++)
        assert_false(valid(sensitive_password_hash_valid, not_hashes[i]));
}

static void jwt_structure(void **state) {
    (void)state;
    assert_true(valid(sensitive_jwt_valid, SAMPLE_JWT));
    /* {"alg":"none"}.{"sub":"1"}. : unsigned, empty signature */
    assert_true(valid(sensitive_jwt_valid, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."));
    /* {"typ":"JWT"}.{"sub":"1"}.sig : header without "alg" */
    assert_false(valid(sensitive_jwt_valid, "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.c2ln"));
    /* two segments */
    assert_false(valid(sensitive_jwt_valid, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0"));
    /* header is not base64url of JSON */
    assert_false(valid(sensitive_jwt_valid, "eyJhbGciOiJub25lI!.eyJzdWIiOiIxIn0.c2ln"));
    /* payload is not a JSON object */
    assert_false(valid(sensitive_jwt_valid, "eyJhbGciOiJub25lIn0.aGVsbG8.c2ln"));
}

/* Every byte value at each of the first 40 places of the signature: a JWT
 * only with base64url characters. */
static void jwt_characters(void **state) {
    (void)state;
    char jwt[sizeof SAMPLE_JWT];
    const char *signature = strrchr(SAMPLE_JWT, '.') + 1;
    size_t at = (size_t)(signature - SAMPLE_JWT);
    assert_true(strlen(signature) >= 40);
    for (size_t place = 0; place < 40; place++) {
        for (unsigned c = 0; c < 256; c++) {
            memcpy(jwt, SAMPLE_JWT, sizeof jwt);
            jwt[at + place] = (char)c;
            int b64url = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_';
            assert_int_equal(sensitive_jwt_valid(jwt, sizeof jwt - 1), b64url);
        }
    }
}

static void masking(void **state) {
    (void)state;
    char out[SENSITIVE_SAMPLE_MAX];
    struct {
        sensitive_type type;
        const char *value;
        const char *masked;
    } cases[] = {
        {SENSITIVE_CREDIT_CARD, "4111111111111111", "4111********1111"},
        {SENSITIVE_CREDIT_CARD, "4111 1111 1111 1111", "4111********1111"},
        {SENSITIVE_EMAIL, "jane@example.com", "j***@example.com"},
        {SENSITIVE_SSN, "615-05-2428", "***-**-2428"},
        {SENSITIVE_IBAN, "DE89370400440532013000", "DE89**************3000"},
        {SENSITIVE_PHONE, "+44 20 7946 0958", "+** ** **** **58"},
        {SENSITIVE_PASSWORD, "tZUAeN-wdbMTc-69", "********"},
        {SENSITIVE_PASSWORD_HASH, SAMPLE_BCRYPT, "$2a$10$***"},
        {SENSITIVE_PASSWORD_HASH,
         "pbkdf2_sha256$260000$seasalt42$HU6gqzT3e8NgxAWhQJWTcMH2e7OH4mKNhiOd5Si+agU=",
         "pbkdf2_sha256$260000$***"},
        {SENSITIVE_JWT, SAMPLE_JWT, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.***.***"},
        {SENSITIVE_API_KEY, "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_****p7dc"},
        {SENSITIVE_API_KEY, "AKIAIOSFODNN7EXAMPLE", "AKIA****"},
        {SENSITIVE_ACCESS_TOKEN, "8f14e45fceea167a5a36dedd4bea2543", "****2543"},
        {SENSITIVE_ACCESS_TOKEN, "short0token12345", "****"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sensitive_mask(cases[i].type, cases[i].value, strlen(cases[i].value), out);
        assert_string_equal(out, cases[i].masked);
        /* a mask never carries the value */
        assert_null(strstr(out, cases[i].value));
    }
}

/* ---------------------------------------------------------------- scanner */

static sensitive_worker *new_worker(const limits *lim) {
    sensitive_worker *w = NULL;
    assert_int_equal(sensitive_worker_create(db, lim, &w), AS_OK);
    return w;
}

static sensitive_found scan_one_body(sensitive_worker *w, const char *content_type,
                                     const char *body) {
    sensitive_found found;
    sensitive_found_clear(&found);
    str_view ct = {content_type, content_type ? (uint32_t)strlen(content_type) : 0};
    sensitive_scan_body(w, ct, (const uint8_t *)body, strlen(body), NULL, &found, NULL);
    return found;
}

static uint32_t body_types(sensitive_worker *w, const char *content_type, const char *body) {
    return scan_one_body(w, content_type, body).types;
}

#define BIT(t) SENSITIVE_BIT(SENSITIVE_##t)

/* A JSON body is walked for named values only when a field-name trigger
 * matched: names with separators and upper case still reach the
 * named-value rules, bodies without such names are not walked, and a name
 * whose separators split the trigger word itself is not looked for. */
static void field_name_triggers_gate_the_json_walk(void **state) {
    (void)state;
    limits lim = limits_default();
    sensitive_worker *w = new_worker(&lim);
    const char *json = "application/json";
    assert_int_equal(body_types(w, json, "{\"PASS-WORD\":\"letmein\"}"), BIT(PASSWORD));
    assert_int_equal(body_types(w, json, "{\"Pass_Phrase\":\"letmein\"}"), BIT(PASSWORD));
    assert_int_equal(body_types(w, json, "{\"Social Security Number\":\"615-05-2428\"}"), BIT(SSN));
    assert_int_equal(body_types(w, json, "{\"x-api-key\":\"3c59dc048e8850243be8079a5c74d079\"}"),
                     BIT(API_KEY));
    uint64_t walks = sensitive_worker_get_stats(w).json_walks;
    assert_int_equal(walks, 4);
    /* an order: no name any rule knows, so no walk */
    assert_int_equal(body_types(w, json, "{\"id\":7,\"sku\":\"A-1\",\"qty\":2}"), 0);
    assert_int_equal(sensitive_worker_get_stats(w).json_walks, walks);
    assert_int_equal(body_types(w, json, "{\"p_w_d\":\"letmein\"}"), 0);
    assert_int_equal(sensitive_worker_get_stats(w).json_walks, walks);
    sensitive_worker_destroy(w);
}

static uint32_t body_hints(sensitive_worker *w, const char *content_type, const char *body) {
    return scan_one_body(w, content_type, body).hints;
}

/* The hints tell a caller whether a body could hold a credential member or
 * a JWT, and whether all of it was scanned. */
static void body_hints_say_what_was_scanned(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.sensitive_scan_bytes = 64;
    sensitive_worker *w = new_worker(&lim);
    const char *json = "application/json";
    enum { SCANNED = SENSITIVE_HINT_SCANNED, CREDENTIAL = SENSITIVE_HINT_CREDENTIAL };
    assert_int_equal(body_hints(w, json, "{\"id\":7,\"qty\":2}"), SCANNED);
    assert_int_equal(body_hints(w, json, "{\"accessToken\":\"abc\"}"), SCANNED | CREDENTIAL);
    assert_int_equal(body_hints(w, json, "{\"jwt\":\"abc\"}"), SCANNED | CREDENTIAL);
    assert_int_equal(body_hints(w, json, "{\"x-api-key\":\"abc\"}"), SCANNED | CREDENTIAL);
    assert_int_equal(body_hints(w, json, "{\"a\":\"eyJhbGciOiJIUzI1NiJ9.e30.x\"}"),
                     SCANNED | CREDENTIAL);
    /* "api" alone (a URL, "rapid") is not an API key name */
    assert_int_equal(body_hints(w, json, "{\"href\":\"/api/v1/orders\",\"rapid\":1}"), SCANNED);
    /* cut at sensitive_scan_bytes: not scanned whole */
    assert_int_equal(
        body_hints(w, json,
                   "{\"note\":\"............................................................\","
                   "\"password\":\"x\"}"),
        0);
    /* skipped media types are not scanned at all */
    assert_int_equal(body_hints(w, "image/png", "{\"id\":7}"), 0);
    sensitive_worker_destroy(w);
}

/* A member called jwt holds a token. */
static void jwt_member_is_a_token(void **state) {
    (void)state;
    limits lim = limits_default();
    sensitive_worker *w = new_worker(&lim);
    assert_int_equal(body_types(w, "application/json", "{\"jwt\":\"a8Fk2LmQ9zR4tY7wXc3V\"}"),
                     BIT(ACCESS_TOKEN));
    sensitive_worker_destroy(w);
}

static void realistic_bodies(void **state) {
    (void)state;
    limits lim = limits_default();
    sensitive_worker *w = new_worker(&lim);
    const char *json = "application/json";
    /* login request and response (scenario capture) */
    assert_int_equal(body_types(w, json,
                                "{\"email\":\"carol.varga@mail.example.com\","
                                "\"password\":\"tZUAeN-wdbMTc-69\"}"),
                     BIT(EMAIL) | BIT(PASSWORD));
    assert_int_equal(body_types(w, "application/json; charset=utf-8",
                                "{\n  \"accessToken\": \"" SAMPLE_JWT "\",\n  \"user\": {\n"
                                "    \"id\": 3,\n    \"email\": \"carol.varga@mail.example.com\",\n"
                                "    \"role\": \"customer\"\n  }\n}"),
                     BIT(EMAIL) | BIT(JWT));
    /* a user record with its bcrypt hash under "password": a hash, not a password */
    assert_int_equal(body_types(w, json,
                                "{\"id\":35,\"email\":\"ilse.fischer@mail.example.com\","
                                "\"password\":\"" SAMPLE_BCRYPT "\",\"role\":\"customer\"}"),
                     BIT(EMAIL) | BIT(PASSWORD_HASH));
    /* a profile: the fictional +1-555-0133 is no phone number */
    assert_int_equal(body_types(w, json,
                                "{\"id\":33,\"email\":\"goran.fontaine@example.org\","
                                "\"phone\":\"+1-555-0133\",\"ssn\":\"615-05-2428\","
                                "\"dateOfBirth\":\"1957-06-04\",\"address\":{\"zip\":\"47484\"}}"),
                     BIT(EMAIL) | BIT(SSN));
    /* payment method with a card number */
    assert_int_equal(body_types(w, json,
                                "{\"userId\":35,\"type\":\"card\",\"cardNumber\":"
                                "\"6011000990139424\",\"expiry\":\"08/26\"}"),
                     BIT(CREDIT_CARD));
    /* numbers that are not cards, phones or SSNs: ids, prices, times, IPs, uuids */
    assert_int_equal(body_types(w, json,
                                "[{\"id\":1795390253000,\"total\":1002.95,\"qty\":3,"
                                "\"createdAt\":\"2024-10-25T14:00:00+01:00\",\"ip\":"
                                "\"203.0.113.182\",\"order\":\"4111111111111111.5\","
                                "\"trace\":\"5f0c7b1e-8a4d-4b1e-9c3a-1d2e3f4a5b6c\","
                                "\"ref\":\"ORD-2024-123-4567\",\"span\":\"id4111111111111111\","
                                "\"action\":\"password_change\",\"token\":\"password_reset\"}]"),
                     0);
    /* the digit pass looks at runs with four digits in a row: a parenthesised
     * phone (the NPA is a run of three), a card or an IBAN after short
     * numbers in the same body and words, an SSN at the very end */
    assert_int_equal(body_types(w, json, "{\"a\":1,\"tel\":\"(415) 555-2671\"}"), BIT(PHONE));
    assert_int_equal(body_types(w, json, "{\"tel\":\"(415)555-2671\",\"n\":7}"), BIT(PHONE));
    assert_int_equal(body_types(w, "text/plain", "1 22 333 12.5 x 4111-1111-1111-1111"),
                     BIT(CREDIT_CARD));
    assert_int_equal(body_types(w, "text/plain", "9 88 777 DE89370400440532013000"), BIT(IBAN));
    assert_int_equal(body_types(w, "text/plain", "12 ssn 615-05-2428"), BIT(SSN));
    /* a run of 13+ digits in groups of at most three is no card candidate */
    assert_int_equal(body_types(w, "text/plain", "411 111 111 111 111 1"), 0);
    /* IBAN, international phone, private key, AWS and Stripe keys in one body */
    assert_int_equal(body_types(w, json,
                                "{\"iban\":\"DE89 3704 0044 0532 0130 00\",\"tel\":"
                                "\"+44 20 7946 0958\",\"pem\":\"-----BEGIN RSA PRIVATE KEY-----"
                                "\\nMIIEow...\",\"aws\":\"AKIAIOSFODNN7EXAMPLE\"}"),
                     BIT(IBAN) | BIT(PHONE) | BIT(PRIVATE_KEY) | BIT(API_KEY));
    /* named credentials: opaque tokens and keys, argon2 under "secret" */
    assert_int_equal(body_types(w, json,
                                "{\"refresh_token\":\"8f14e45fceea167a5a36dedd4bea2543\","
                                "\"apiKey\":\"3c59dc048e8850243be8079a5c74d079\"}"),
                     BIT(ACCESS_TOKEN) | BIT(API_KEY));
    /* "pbkdf2_" inside a word is no hash; a '$' format after other text is */
    assert_int_equal(
        body_types(w, "text/plain",
                   "xpbkdf2_sha256$260000$seasalt42$HU6gqzT3e8NgxAWhQJWTcMH2e7OH4mKNhiOd"
                   "5Si+agU="),
        0);
    assert_int_equal(body_types(w, "text/plain", "hash=" SAMPLE_BCRYPT), BIT(PASSWORD_HASH));
    /* a form login */
    assert_int_equal(body_types(w, "application/x-www-form-urlencoded",
                                "user=jane%40example.com&passwd=s3cr3t%21&remember=1"),
                     BIT(EMAIL) | BIT(PASSWORD));
    /* masked placeholders are not passwords */
    assert_int_equal(body_types(w, json, "{\"password\":\"********\"}"), 0);
    /* images are not scanned */
    assert_int_equal(body_types(w, "image/png", "jane@example.com"), 0);
    /* no Content-Type: sniffed as JSON */
    assert_int_equal(body_types(w, NULL, "{\"pwd\":\"letmein\"}"), BIT(PASSWORD));
    assert_int_equal(body_types(w, "text/plain;charset=UTF-8", " {\"pwd\":\"letmein\"}"),
                     BIT(PASSWORD));
    assert_int_equal(body_types(w, "text/html", "{\"pwd\":\"letmein\"}"), 0);

    /* samples are masked */
    sensitive_found found;
    sensitive_found_clear(&found);
    const char *body = "{\"cardNumber\":\"4111 1111 1111 1111\",\"email\":\"jane@example.com\"}";
    sensitive_scan_body(w, (str_view){json, 16}, (const uint8_t *)body, strlen(body), NULL, &found,
                        NULL);
    assert_string_equal(found.sample[SENSITIVE_CREDIT_CARD], "4111********1111");
    assert_string_equal(found.sample[SENSITIVE_EMAIL], "j***@example.com");
    assert_string_equal(found.sample[SENSITIVE_SSN], "");
    sensitive_worker_destroy(w);
}

/* The digit pass looks for four digits in a row sixteen bytes at a time
 * (carrying three digit bits into the next step): a run found at any
 * offset, with any room after it, gives the same verdict and the same
 * masked value, whichever bytes of it fall on a step's edge. */
static void digit_runs_at_every_offset(void **state) {
    (void)state;
    limits lim = limits_default();
    sensitive_worker *w = new_worker(&lim);
    static const struct {
        const char *run;
        uint32_t types;
        const char *masked; /* of the type found */
    } cases[] = {
        {"4111 1111 1111 1111", BIT(CREDIT_CARD), "4111********1111"},
        {"4111-1111-1111-1111", BIT(CREDIT_CARD), "4111********1111"},
        {"378282246310005", BIT(CREDIT_CARD), "3782*******0005"},
        {"4222-2222-2222-2", BIT(CREDIT_CARD), "4222*****2222"}, /* 13 digits: every one counts */
        {"1234 4111111111111111", BIT(CREDIT_CARD), "4111********1111"}, /* last group */
        {"615-05-2428", BIT(SSN), "***-**-2428"},
        {"4111 1111 1111 1111 1", 0, NULL}, /* 17 digits */
        {"4111 1111  1111 1111", 0, NULL},  /* a double space splits it */
        {"1700000000.123456", 0, NULL},
    };
    char buf[128];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t len = strlen(cases[c].run);
        for (size_t before = 0; before < 40; before++) {
            for (size_t after = 0; after < 20; after++) {
                memset(buf, ' ', sizeof buf);
                memcpy(buf + before, cases[c].run, len);
                sensitive_found found;
                sensitive_found_clear(&found);
                sensitive_scan_text(w, (const uint8_t *)buf, before + len + after, &found);
                if (found.types != cases[c].types)
                    fail_msg("\"%s\" at %zu with %zu after: types %x, expected %x", cases[c].run,
                             before, after, found.types, cases[c].types);
                for (int t = 0; cases[c].masked && t < SENSITIVE_TYPE_COUNT; t++)
                    if (found.types & SENSITIVE_BIT(t))
                        assert_string_equal(found.sample[t], cases[c].masked);
            }
        }
    }
    sensitive_worker_destroy(w);
}

/* The scan validates what it takes as a JWT in running text just as
 * sensitive_jwt_valid does: the shape alone is not enough. */
static void jwt_in_text(void **state) {
    (void)state;
    limits lim = limits_default();
    sensitive_worker *w = new_worker(&lim);
    static const struct {
        const char *token;
        int jwt;
    } cases[] = {
        {SAMPLE_JWT, 1},
        {"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", 1},
        {"eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.c2ln", 0}, /* header without "alg" */
        {"eyJhbGciOiJub25lIn0.aGVsbG8.c2ln", 0},        /* payload not an object */
        {"eyJhbGciOi.eyJzdWIiOiIxIn0.c2ln", 0},         /* header too short */
    };
    char text[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = snprintf(text, sizeof text, "token %s end", cases[i].token);
        sensitive_found found;
        sensitive_found_clear(&found);
        sensitive_scan_text(w, (const uint8_t *)text, (size_t)n, &found);
        assert_int_equal(!!(found.types & BIT(JWT)), cases[i].jwt);
        assert_int_equal(cases[i].jwt, valid(sensitive_jwt_valid, cases[i].token));
    }
    sensitive_worker_destroy(w);
}

static void headers_and_query(void **state) {
    (void)state;
    limits lim = limits_default();
    sensitive_worker *w = new_worker(&lim);
    sensitive_found found;
#define HEADER(n, v)                                                                               \
    {                                                                                              \
        {n, sizeof n - 1}, {                                                                       \
            v, sizeof v - 1                                                                        \
        }                                                                                          \
    }
    const http_header_view jwt_headers[] = {
        HEADER("Host", "127.0.0.1:8080"),
        HEADER("Authorization", "Bearer " SAMPLE_JWT),
        HEADER("User-Agent", "okhttp/4.9.0"),
    };
    sensitive_found_clear(&found);
    sensitive_scan_headers(w, jwt_headers, 3, &found);
    assert_int_equal(found.types, BIT(JWT));
    const http_header_view opaque_headers[] = {
        HEADER("Authorization", "Bearer 8f14e45fceea167a5a36dedd4bea2543"),
        HEADER("X-API-Key", "3c59dc048e8850243be8079a5c74d079"),
        HEADER("Cookie", "theme=dark"),
    };
    sensitive_found_clear(&found);
    sensitive_scan_headers(w, opaque_headers, 3, &found);
    assert_int_equal(found.types, BIT(ACCESS_TOKEN) | BIT(API_KEY));
    assert_string_equal(found.sample[SENSITIVE_API_KEY], "****d079");
    /* a JWT in a cookie is still a JWT in the request headers */
    const http_header_view cookie[] = {HEADER("Cookie", "theme=dark; session=" SAMPLE_JWT)};
    sensitive_found_clear(&found);
    sensitive_scan_headers(w, cookie, 1, &found);
    assert_int_equal(found.types, BIT(JWT));
    const http_header_view basic[] = {HEADER("Authorization", "Basic dXNlcjpwYXNz")};
    sensitive_found_clear(&found);
    sensitive_scan_headers(w, basic, 1, &found);
    assert_int_equal(found.types, 0);
#undef HEADER

    const char *q1 = "api_key=sk_live_51HaBcDeFgHiJkLmNoPqRsTuV";
    sensitive_found_clear(&found);
    sensitive_scan_query(w, q1, strlen(q1), &found);
    assert_int_equal(found.types, BIT(API_KEY));
    assert_string_equal(found.sample[SENSITIVE_API_KEY], "sk_live_****sTuV");
    const char *q2 = "access_token=" SAMPLE_JWT "&x=1";
    sensitive_found_clear(&found);
    sensitive_scan_query(w, q2, strlen(q2), &found);
    assert_int_equal(found.types, BIT(JWT));
    const char *q3 = "_sort=at&_order=desc&_limit=20&email=jane%40example.com&token=abc";
    sensitive_found_clear(&found);
    sensitive_scan_query(w, q3, strlen(q3), &found);
    assert_int_equal(found.types, BIT(EMAIL));
    sensitive_worker_destroy(w);
}

static void scan_bound(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.sensitive_scan_bytes = 1024;
    sensitive_worker *w = new_worker(&lim);
    static char body[4096];
    memset(body, ' ', sizeof body - 1);
    body[0] = '[';
    memcpy(body + 100, "\"jane@example.com\",", 19);
    memcpy(body + 2000, "\"4111111111111111\"]", 19); /* beyond the bound */
    sensitive_found found;
    sensitive_found_clear(&found);
    anomaly_counters anomalies = {0};
    sensitive_scan_body(w, (str_view){"application/json", 16}, (const uint8_t *)body, strlen(body),
                        NULL, &found, &anomalies);
    assert_int_equal(found.types, BIT(EMAIL));
    assert_int_equal(found.truncated, 1);
    assert_int_equal(anomalies.count[ANOMALY_SENSITIVE_TRUNCATED], 1);
    sensitive_stats st = sensitive_worker_get_stats(w);
    assert_int_equal(st.truncated, 1);
    assert_int_equal(st.bytes, 1024);
    sensitive_worker_destroy(w);

    /* 0 turns scanning off: nothing found, nothing counted */
    lim.sensitive_scan_bytes = 0;
    w = new_worker(&lim);
    sensitive_found_clear(&found);
    sensitive_scan_body(w, (str_view){"application/json", 16}, (const uint8_t *)body, strlen(body),
                        NULL, &found, &anomalies);
    sensitive_scan_query(w, "email=jane%40example.com", 24, &found);
    const http_header_view auth = {{"Authorization", 13},
                                   {"Bearer " SAMPLE_JWT, sizeof "Bearer " SAMPLE_JWT - 1}};
    sensitive_scan_headers(w, &auth, 1, &found);
    assert_int_equal(found.types, 0);
    assert_int_equal(found.truncated, 0);
    assert_int_equal(anomalies.count[ANOMALY_SENSITIVE_TRUNCATED], 1);
    assert_int_equal(sensitive_worker_get_stats(w).parts, 0);
    sensitive_worker_destroy(w);
}

/* ------------------------------------------------ scenario captures vs labels */

#define MAX_ENDPOINTS 64

typedef struct label_endpoint {
    char method[16];
    char path[128];
    uint32_t want[SENSITIVE_LOCATION_COUNT]; /* labelled types per location */
    uint32_t got[SENSITIVE_LOCATION_COUNT];  /* found over its transactions */
} label_endpoint;

typedef struct labels {
    label_endpoint ep[MAX_ENDPOINTS];
    int count;
} labels;

static void copy_view(char *dst, size_t cap, str_view v) {
    size_t n = v.len < cap - 1 ? v.len : cap - 1;
    memcpy(dst, v.ptr, n);
    dst[n] = '\0';
}

static int view_is(str_view v, const char *s) {
    return v.ptr && v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

/* Reads inventory[] of a labels file with the JSON walker. */
static void on_label_value(void *arg, const json_value_event *ev) {
    labels *l = arg;
    if (view_is(ev->path, "inventory[]") && ev->kind == JSON_KIND_OBJECT) {
        assert_true(l->count < MAX_ENDPOINTS);
        memset(&l->ep[l->count++], 0, sizeof l->ep[0]);
        return;
    }
    if (l->count == 0 || ev->kind != JSON_KIND_STRING)
        return;
    label_endpoint *e = &l->ep[l->count - 1];
    if (view_is(ev->path, "inventory[].method"))
        copy_view(e->method, sizeof e->method, ev->value);
    else if (view_is(ev->path, "inventory[].path"))
        copy_view(e->path, sizeof e->path, ev->value);
    for (int loc = 0; loc < SENSITIVE_LOCATION_COUNT; loc++) {
        char want[96];
        snprintf(want, sizeof want, "inventory[].sensitive_data.%s[]",
                 sensitive_location_name((sensitive_location)loc));
        if (!view_is(ev->path, want))
            continue;
        for (int t = 0; t < SENSITIVE_TYPE_COUNT; t++)
            if (view_is(ev->value, sensitive_type_name((sensitive_type)t)))
                e->want[loc] |= SENSITIVE_BIT(t);
    }
}

static char *read_file(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* A labelled template matches a path when every "{...}" segment matches
 * any one segment and the others are equal. */
static int template_matches(const char *tmpl, const char *path, size_t path_len) {
    const char *p = path;
    const char *end = path + path_len;
    while (*tmpl && p < end) {
        if (*tmpl == '{') {
            while (*tmpl && *tmpl != '}')
                tmpl++;
            if (*tmpl)
                tmpl++;
            while (p < end && *p != '/')
                p++;
            continue;
        }
        if (*tmpl != *p)
            return 0;
        tmpl++;
        p++;
    }
    return *tmpl == '\0' && p == end;
}

typedef struct scenario_run {
    labels *labels;
    sensitive_worker *w;
    anomaly_counters anomalies;
    int unmatched;
    double scan_seconds; /* thread CPU time inside sensitive_scan_transaction */
} scenario_run;

static double seconds_now(void);

static void on_transaction(scenario_run *r, const http_transaction *tx) {
    if (!str_view_present(tx->method) || !str_view_present(tx->uri))
        return;
    size_t path_len = tx->uri.len;
    const char *q = memchr(tx->uri.ptr, '?', tx->uri.len);
    if (q)
        path_len = (size_t)(q - tx->uri.ptr);
    label_endpoint *ep = NULL;
    for (int i = 0; i < r->labels->count && !ep; i++)
        if (view_is(tx->method, r->labels->ep[i].method) &&
            template_matches(r->labels->ep[i].path, tx->uri.ptr, path_len))
            ep = &r->labels->ep[i];
    if (!ep) {
        r->unmatched++;
        return;
    }
    sensitive_found found[SENSITIVE_LOCATION_COUNT];
    /* scanned 8 times so that the clock's own cost is small in the figure */
    double t0 = seconds_now();
    for (int i = 0; i < 8; i++)
        sensitive_scan_transaction(r->w, tx, found, &r->anomalies);
    r->scan_seconds += seconds_now() - t0;
    for (int loc = 0; loc < SENSITIVE_LOCATION_COUNT; loc++)
        ep->got[loc] |= found[loc].types;
}

/* Capture -> flows -> TCP streams -> HTTP transactions, as app/pipeline.c
 * wires them (without the classifier: these captures are all HTTP). */
static void run_capture(const char *path, scenario_run *r) {
    limits lim = limits_default();
    /* The labels count a card ~90 KiB into a whole-database dump: capture
     * as much body as the scanner reads. */
    lim.http_body_capture_bytes = lim.sensitive_scan_bytes;
    char err[256];
    capture_source *src = NULL;
    decoder *dec = NULL;
    flow_table *flows = NULL;
    tcp_reassembler *reasm = NULL;
    http_engine *http = NULL;
    assert_int_equal(capture_source_open_file(path, NULL, err, sizeof err, &src), AS_OK);
    assert_int_equal(decoder_create(&lim, &dec), AS_OK);
    assert_int_equal(flow_table_create(&lim, &flows), AS_OK);
    assert_int_equal(tcp_reasm_create(&lim, &reasm), AS_OK);
    assert_int_equal(http_engine_create(&lim, flow_table_slot_count(flows), &http), AS_OK);
    capture_packet pkt;
    http_transaction tx;
    tcp_chunk chunk;
    anomaly_counters an = {0};
    int ended = 0;
    while (!ended) {
        as_status st = capture_source_next(src, &pkt);
        if (st == AS_NEED_MORE)
            continue;
        if (st != AS_OK) {
            flow_table_end_all(flows);
            ended = 1;
        }
        if (!ended) {
            decoded_packet dp;
            flow *f;
            flow_direction dir;
            if (decoder_decode(dec, &pkt, &dp, &an) == AS_OK &&
                flow_table_lookup(flows, &dp, &f, &dir, &an) == AS_OK && dp.ip_proto == 6) {
                flow_direction other = dir == FLOW_TO_SERVER ? FLOW_TO_CLIENT : FLOW_TO_SERVER;
                if (dp.tcp_flags & TCP_ACK) {
                    tcp_reasm_ack(reasm, &f->stream[other], dp.ack, dp.ts_ns, &an);
                    while (tcp_reasm_next(reasm, &f->stream[other], &chunk)) {
                        http_engine_feed(http, f, other, &chunk, &an);
                        while (http_engine_next(http, &tx))
                            on_transaction(r, &tx);
                    }
                }
                tcp_reasm_add(reasm, &f->stream[dir], &dp, &an);
                while (tcp_reasm_next(reasm, &f->stream[dir], &chunk)) {
                    http_engine_feed(http, f, dir, &chunk, &an);
                    while (http_engine_next(http, &tx))
                        on_transaction(r, &tx);
                }
            }
        }
        flow *f;
        while ((f = flow_table_take_ended(flows)) != NULL) {
            for (int d = 0; d < 2; d++) {
                tcp_reasm_flush(reasm, &f->stream[d], f->last_ts_ns);
                while (tcp_reasm_next(reasm, &f->stream[d], &chunk)) {
                    http_engine_feed(http, f, (flow_direction)d, &chunk, &an);
                    while (http_engine_next(http, &tx))
                        on_transaction(r, &tx);
                }
            }
            http_engine_close(http, f, &an);
            while (http_engine_next(http, &tx))
                on_transaction(r, &tx);
            tcp_reasm_release(reasm, &f->stream[0]);
            tcp_reasm_release(reasm, &f->stream[1]);
            flow_table_recycle(flows, f);
        }
    }
    http_engine_destroy(http);
    tcp_reasm_destroy(reasm);
    flow_table_destroy(flows);
    decoder_destroy(dec);
    capture_source_destroy(src);
}

static void type_list(uint32_t types, char *out, size_t cap) {
    size_t n = 0;
    out[0] = '\0';
    for (int t = 0; t < SENSITIVE_TYPE_COUNT; t++)
        if (types & SENSITIVE_BIT(t))
            n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s ",
                                  sensitive_type_name((sensitive_type)t));
}

static void scenario_labels(void **state) {
    (void)state;
    static const char *const scenarios[] = {"sensitive_data", "normal",      "bola",
                                            "enumeration",    "brute_force", "credential_stuffing",
                                            "mixed"};
    limits lim = limits_default();
    limits label_lim = limits_default();
    label_lim.json_fields_per_body = 4096;
    json_fields_walker *walker = NULL;
    assert_int_equal(json_fields_walker_create(&label_lim, &walker), AS_OK);
    int checked = 0;
    int mismatches = 0;
    double scan_seconds = 0;
    uint64_t scan_bytes = 0;
    for (size_t s = 0; s < sizeof scenarios / sizeof scenarios[0]; s++) {
        char path[512];
        snprintf(path, sizeof path, "%s/pcaps/scenarios/%s.labels.json", SHARED_DIR, scenarios[s]);
        size_t len;
        char *text = read_file(path, &len);
        if (!text) {
            print_message("skipping %s: no labels at %s\n", scenarios[s], path);
            continue;
        }
        labels *l = calloc(1, sizeof *l);
        assert_non_null(l);
        assert_int_equal(
            json_fields_walker_run(walker, (const uint8_t *)text, len, on_label_value, l, NULL),
            JSON_FIELDS_OK);
        free(text);
        assert_true(l->count > 0);
        scenario_run r = {l, new_worker(&lim), {{0}}, 0, 0};
        snprintf(path, sizeof path, "%s/pcaps/scenarios/%s.pcap", SHARED_DIR, scenarios[s]);
        run_capture(path, &r);
        for (int i = 0; i < l->count; i++) {
            for (int loc = 0; loc < SENSITIVE_LOCATION_COUNT; loc++) {
                checked++;
                if (l->ep[i].want[loc] == l->ep[i].got[loc])
                    continue;
                char want[256];
                char got[256];
                type_list(l->ep[i].want[loc], want, sizeof want);
                type_list(l->ep[i].got[loc], got, sizeof got);
                print_message("%s: %s %s %s: label [%s] scanner [%s]\n", scenarios[s],
                              l->ep[i].method, l->ep[i].path,
                              sensitive_location_name((sensitive_location)loc), want, got);
                mismatches++;
            }
        }
        scan_seconds += r.scan_seconds;
        scan_bytes += sensitive_worker_get_stats(r.w).bytes;
        sensitive_worker_destroy(r.w);
        free(l);
    }
    json_fields_walker_destroy(walker);
    print_message("scenario labels: %d endpoint locations checked, %d mismatches; scanned "
                  "%.1f MB of real headers, queries and bodies at %.0f MB/s (thread CPU time)\n",
                  checked, mismatches, (double)scan_bytes / 1e6,
                  scan_seconds > 0 ? (double)scan_bytes / 1e6 / scan_seconds : 0.0);
    assert_int_equal(mismatches, 0);
}

/* --------------------------------------------------------------- throughput */

/* CPU time of this thread: the machine running tests is often shared. */
static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Scans 16 KiB JSON bodies shaped like the scenario responses (records with
 * emails, phones, dates, prices, ids, one card) and prints MB/s, next to a
 * plain byte-sum pass over the same bytes measured in the same run. */
static void throughput(void **state) {
    (void)state;
    limits lim = limits_default();
    sensitive_worker *w = new_worker(&lim);
    static char body[16384];
    size_t n = 0;
    body[n++] = '[';
    for (int i = 0; n + 400 < sizeof body; i++)
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "{\"id\":%d,\"userId\":%d,\"fullName\":\"Goran Fontaine\","
                              "\"email\":\"user%d@example.org\",\"phone\":\"+1-555-0%03d\","
                              "\"createdAt\":\"2024-10-25T14:00:00Z\",\"total\":%d.95,"
                              "\"items\":[{\"productId\":%d,\"qty\":2,\"price\":226.99}],"
                              "\"status\":\"delivered\",\"note\":\"call on arrival\"},",
                              i, i * 7, i, i % 1000, i * 31, i % 40);
    body[n - 1] = ']';
    const int rounds = 2000;
    sensitive_found found;
    json_fields_walker *walker = NULL;
    assert_int_equal(json_fields_walker_create(&lim, &walker), AS_OK);
    double t0 = seconds_now();
    for (int i = 0; i < rounds; i++) {
        sensitive_found_clear(&found);
        sensitive_scan_text(w, (const uint8_t *)body, n, &found);
    }
    double t1 = seconds_now();
    for (int i = 0; i < rounds; i++)
        json_fields_walker_run(walker, (const uint8_t *)body, n, NULL, NULL, NULL);
    double t2 = seconds_now();
    for (int i = 0; i < rounds; i++) {
        sensitive_found_clear(&found);
        sensitive_scan_body(w, (str_view){"application/json", 16}, (const uint8_t *)body, n, walker,
                            &found, NULL);
    }
    double t3 = seconds_now();
    volatile uint64_t sink = 0;
    for (int i = 0; i < rounds; i++) {
        uint64_t sum = 0;
        for (size_t k = 0; k < n; k++)
            sum += (uint8_t)body[k];
        sink += sum;
    }
    double t4 = seconds_now();
    double mb = (double)n * rounds / 1e6;
    print_message("on %zu-byte JSON bodies, MB/s of thread CPU time: patterns and digit runs %.0f, "
                  "JSON walk alone %.0f, body scan (both, name rules) %.0f; byte-sum baseline "
                  "%.0f (body scan / baseline %.2f)\n",
                  n, mb / (t1 - t0), mb / (t2 - t1), mb / (t3 - t2), mb / (t4 - t3),
                  (t4 - t3) / (t3 - t2));
    json_fields_walker_destroy(walker);
    assert_true(found.types & BIT(EMAIL));
    (void)sink;
    sensitive_worker_destroy(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(luhn_and_cards),
        cmocka_unit_test(ssn_rules),
        cmocka_unit_test(iban_checks),
        cmocka_unit_test(phone_numbers),
        cmocka_unit_test(email_addresses),
        cmocka_unit_test(password_hashes),
        cmocka_unit_test(jwt_structure),
        cmocka_unit_test(jwt_characters),
        cmocka_unit_test(jwt_in_text),
        cmocka_unit_test(masking),
        cmocka_unit_test(realistic_bodies),
        cmocka_unit_test(field_name_triggers_gate_the_json_walk),
        cmocka_unit_test(body_hints_say_what_was_scanned),
        cmocka_unit_test(jwt_member_is_a_token),
        cmocka_unit_test(digit_runs_at_every_offset),
        cmocka_unit_test(headers_and_query),
        cmocka_unit_test(scan_bound),
        cmocka_unit_test(scenario_labels),
        cmocka_unit_test(throughput),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
