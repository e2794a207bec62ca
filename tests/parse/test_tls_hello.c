/*
 * ClientHello / ServerHello decoding and the JA3 / JA4 fingerprints:
 * - JA4's hash parts on the published examples of the FoxIO JA4 spec
 *   (technical_details/JA4.md), and the whole JA4 of a ClientHello built
 *   with exactly that example's ciphers, extensions, signature algorithms,
 *   ALPN and versions (plus GREASE values, which must not count):
 *   t13d1516h2_8daaf6152771_e5627efa2ab1;
 * - JA3 and JA4 of the first ClientHello of
 *   ../shared/pcaps/scenarios/tls/mixed-tls12.pcap; its JA3 is the one
 *   tshark 4.0 prints (tls.handshake.ja3), its JA4 the one a Python
 *   rendering of the spec computes from tshark's fields;
 * - truncated and malformed hellos fail without reading past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse/tls_hello.h"
#include "test_tls_build.h"

/* TLS record (5-byte header) holding the first ClientHello of
 * mixed-tls12.pcap: SNI api.shop.test, 59 cipher suites, 10 extensions,
 * no ALPN, supported_versions TLS 1.3 and 1.2. */
static const uint8_t scenario_hello[] = {
    0x16, 0x03, 0x01, 0x01, 0x6e, 0x01, 0x00, 0x01, 0x6a, 0x03, 0x03, 0x72, 0xcb, 0xb1, 0x3c, 0xfd,
    0x31, 0xcd, 0x06, 0x91, 0xdb, 0x82, 0xbb, 0x11, 0x0c, 0x2a, 0x66, 0x32, 0xdd, 0x09, 0x32, 0xde,
    0x98, 0xc5, 0x46, 0xfb, 0x25, 0x66, 0x49, 0xac, 0x95, 0xfe, 0x19, 0x20, 0x73, 0x4f, 0xe3, 0xc7,
    0x97, 0xef, 0xaa, 0x10, 0x6a, 0xf7, 0x45, 0x3a, 0xf3, 0x8b, 0xd3, 0x83, 0x13, 0xba, 0x6f, 0x96,
    0x10, 0x39, 0xc7, 0xfe, 0x2c, 0x95, 0x12, 0xa4, 0xcb, 0x2f, 0x95, 0x31, 0x00, 0x76, 0x13, 0x02,
    0x13, 0x03, 0x13, 0x01, 0xc0, 0x2f, 0xc0, 0x2b, 0xc0, 0x30, 0xc0, 0x2c, 0x00, 0x9e, 0xc0, 0x27,
    0x00, 0x67, 0xc0, 0x28, 0x00, 0x6b, 0x00, 0xa3, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
    0xc0, 0xaf, 0xc0, 0xad, 0xc0, 0xa3, 0xc0, 0x9f, 0xc0, 0x5d, 0xc0, 0x61, 0xc0, 0x57, 0xc0, 0x53,
    0x00, 0xa2, 0xc0, 0xae, 0xc0, 0xac, 0xc0, 0xa2, 0xc0, 0x9e, 0xc0, 0x5c, 0xc0, 0x60, 0xc0, 0x56,
    0xc0, 0x52, 0xc0, 0x24, 0x00, 0x6a, 0xc0, 0x23, 0x00, 0x40, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
    0x00, 0x38, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x32, 0x00, 0x9d, 0xc0, 0xa1, 0xc0, 0x9d,
    0xc0, 0x51, 0x00, 0x9c, 0xc0, 0xa0, 0xc0, 0x9c, 0xc0, 0x50, 0x00, 0x3d, 0x00, 0x3c, 0x00, 0x35,
    0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xab, 0x00, 0x00, 0x00, 0x12, 0x00, 0x10, 0x00, 0x00,
    0x0d, 0x61, 0x70, 0x69, 0x2e, 0x73, 0x68, 0x6f, 0x70, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x00, 0x0b,
    0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17,
    0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04,
    0x00, 0x23, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a,
    0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a,
    0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03,
    0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x05, 0x04, 0x03,
    0x04, 0x03, 0x03, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00,
    0x1d, 0x00, 0x20, 0x3f, 0x62, 0xbc, 0x7d, 0x71, 0x06, 0x94, 0x16, 0xe0, 0xb1, 0x0d, 0x28, 0x63,
    0xba, 0x1b, 0xb2, 0x4e, 0x28, 0xa7, 0x36, 0xdc, 0x20, 0x0b, 0x9e, 0x7c, 0x80, 0xa2, 0x80, 0x66,
    0x2c, 0x53, 0x2f};

static void test_ja4_spec_hashes(void **state) {
    (void)state;
    char out[13];
    const char *ciphers = "002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,"
                          "cca8,cca9";
    assert_int_equal(tls_ja4_hash12(ciphers, strlen(ciphers), out), AS_OK);
    assert_string_equal(out, "8daaf6152771");
    const char *exts = "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01";
    assert_int_equal(tls_ja4_hash12(exts, strlen(exts), out), AS_OK);
    assert_string_equal(out, "6d807ffa2a79");
    const char *with_sigs = "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,"
                            "ff01_0403,0804,0401,0503,0805,0501,0806,0601";
    assert_int_equal(tls_ja4_hash12(with_sigs, strlen(with_sigs), out), AS_OK);
    assert_string_equal(out, "e5627efa2ab1");
    assert_int_equal(tls_ja4_hash12("", 0, out), AS_OK);
    assert_string_equal(out, "000000000000");
}

/* The spec's example hello: cipher and extension lists in its wire order. */
static size_t spec_example_hello(uint8_t *out) {
    static const uint16_t ciphers[] = {0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
                                       0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
                                       0x009c, 0x009d, 0x002f, 0x0035};
    static const uint16_t empty_exts[] = {0x001b, 0x0033, 0x4469, 0x0017, 0x002d,
                                          0x0005, 0x0023, 0x0012, 0xff01, 0x0015};
    static const uint16_t sigs[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    tbuf t = {.n = 0};
    uint8_t random[32] = {0};
    put16(&t, 0x0303);
    putn(&t, random, 32);
    put8(&t, 0);
    size_t s = begin16(&t);
    for (size_t i = 0; i < sizeof ciphers / sizeof ciphers[0]; i++)
        put16(&t, ciphers[i]);
    end16(&t, s);
    put8(&t, 1);
    put8(&t, 0);
    size_t exts = begin16(&t);
    put16(&t, 0x1a1a); /* GREASE extension, empty */
    put16(&t, 0);
    /* wire order of the spec: 001b,0000,0033,0010,4469,0017,002d,000d,
     * 0005,0023,0012,002b,ff01,000b,000a,0015 */
    put16(&t, empty_exts[0]);
    put16(&t, 0);
    put16(&t, 0x0000); /* server_name "example.com" */
    size_t e = begin16(&t);
    size_t list = begin16(&t);
    put8(&t, 0);
    put16(&t, 11);
    putn(&t, "example.com", 11);
    end16(&t, list);
    end16(&t, e);
    put16(&t, empty_exts[1]);
    put16(&t, 0);
    put16(&t, 0x0010); /* ALPN h2, http/1.1 */
    e = begin16(&t);
    list = begin16(&t);
    put8(&t, 2);
    putn(&t, "h2", 2);
    put8(&t, 8);
    putn(&t, "http/1.1", 8);
    end16(&t, list);
    end16(&t, e);
    for (int i = 2; i < 5; i++) {
        put16(&t, empty_exts[i]);
        put16(&t, 0);
    }
    put16(&t, 0x000d); /* signature_algorithms */
    e = begin16(&t);
    list = begin16(&t);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        put16(&t, sigs[i]);
    end16(&t, list);
    end16(&t, e);
    for (int i = 5; i < 8; i++) {
        put16(&t, empty_exts[i]);
        put16(&t, 0);
    }
    put16(&t, 0x002b); /* supported_versions: GREASE, 1.3, 1.2 */
    e = begin16(&t);
    put8(&t, 6);
    put16(&t, 0x3a3a);
    put16(&t, 0x0304);
    put16(&t, 0x0303);
    end16(&t, e);
    put16(&t, empty_exts[8]);
    put16(&t, 0);
    put16(&t, 0x000b); /* ec_point_formats: uncompressed */
    put16(&t, 2);
    put8(&t, 1);
    put8(&t, 0);
    put16(&t, 0x000a); /* supported_groups: GREASE, x25519, secp256r1 */
    e = begin16(&t);
    list = begin16(&t);
    put16(&t, 0x2a2a);
    put16(&t, 0x001d);
    put16(&t, 0x0017);
    end16(&t, list);
    end16(&t, e);
    put16(&t, empty_exts[9]);
    put16(&t, 0);
    end16(&t, exts);
    memcpy(out, t.b, t.n);
    return t.n;
}

static void test_ja4_spec_hello(void **state) {
    (void)state;
    uint8_t body[1024];
    size_t len = spec_example_hello(body);
    tls_client_hello ch;
    assert_int_equal(tls_client_hello_parse(body, len, &ch), AS_OK);
    assert_string_equal(ch.sni, "example.com");
    assert_string_equal(ch.alpn, "h2");
    char ja4[TLS_JA4_CHARS + 1], ja3[256];
    assert_int_equal(tls_ja4(&ch, ja4), AS_OK);
    assert_string_equal(ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
    /* JA3: decimal, wire order, GREASE left out (cipher, extensions, groups) */
    assert_true(tls_ja3_string(&ch, ja3, sizeof ja3) > 0);
    assert_string_equal(ja3, "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-"
                             "49172-156-157-47-53,27-0-51-16-17513-23-45-13-5-35-18-43-65281-"
                             "11-10-21,29-23,0");
}

static void test_scenario_hello(void **state) {
    (void)state;
    tls_client_hello ch;
    /* record header 5 bytes, handshake header 4 bytes */
    assert_int_equal(tls_client_hello_parse(scenario_hello + 9, sizeof scenario_hello - 9, &ch),
                     AS_OK);
    assert_string_equal(ch.sni, "api.shop.test");
    assert_int_equal(ch.ciphers.n, 59);
    assert_int_equal(ch.extensions.n, 10);
    assert_int_equal(ch.alpn_len, 0);
    char ja3[TLS_JA3_HEX + 1], ja4[TLS_JA4_CHARS + 1];
    assert_int_equal(tls_ja3(&ch, ja3), AS_OK);
    assert_string_equal(ja3, "0cce74b0d9b7f8528fb2181588d23793");
    assert_int_equal(tls_ja4(&ch, ja4), AS_OK);
    assert_string_equal(ja4, "t13d591000_a33745022dd6_1f22a2ca17c4");
}

static void test_truncated_hellos(void **state) {
    (void)state;
    tls_client_hello ch;
    size_t body_len = sizeof scenario_hello - 9;
    /* every prefix that cuts a length-delimited field fails or parses a
     * shorter hello; none reads past the end (ASan checks) */
    for (size_t len = 0; len < body_len; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, scenario_hello + 9, len);
        as_status st = tls_client_hello_parse(copy, len, &ch);
        assert_true(st == AS_OK || st == AS_ERR_FORMAT);
        free(copy);
    }
    /* the cipher suite length runs past the end */
    uint8_t bad[] = {0x03, 0x03, [34] = 0, 0xff, 0xff, 0x13, 0x01};
    assert_int_equal(tls_client_hello_parse(bad, sizeof bad, &ch), AS_ERR_FORMAT);
}

static void test_server_hello(void **state) {
    (void)state;
    uint8_t random[32], body[256];
    memset(random, 7, sizeof random);
    size_t len = server_hello_body(body, random, 0x1302, 1);
    tls_server_hello sh;
    assert_int_equal(tls_server_hello_parse(body, len, &sh), AS_OK);
    assert_int_equal(sh.version, 0x0304);
    assert_int_equal(sh.legacy_version, 0x0303);
    assert_int_equal(sh.cipher, 0x1302);
    assert_false(sh.retry_request);
    /* HelloRetryRequest: the random is SHA-256("HelloRetryRequest") */
    static const uint8_t retry[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
                                      0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
                                      0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
                                      0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
    len = server_hello_body(body, retry, 0x1301, 1);
    assert_int_equal(tls_server_hello_parse(body, len, &sh), AS_OK);
    assert_true(sh.retry_request);
    /* TLS 1.2 without supported_versions */
    len = server_hello_body(body, random, 0xc02f, 0);
    assert_int_equal(tls_server_hello_parse(body, len, &sh), AS_OK);
    assert_int_equal(sh.version, 0x0303);
    assert_int_equal(tls_server_hello_parse(body, 20, &sh), AS_ERR_FORMAT);
}

static void test_grease(void **state) {
    (void)state;
    assert_true(tls_is_grease(0x0a0a));
    assert_true(tls_is_grease(0xfafa));
    assert_false(tls_is_grease(0x0a1a));
    assert_false(tls_is_grease(0x1301));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ja4_spec_hashes), cmocka_unit_test(test_ja4_spec_hello),
        cmocka_unit_test(test_scenario_hello),  cmocka_unit_test(test_truncated_hellos),
        cmocka_unit_test(test_server_hello),    cmocka_unit_test(test_grease),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
