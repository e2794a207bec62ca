/*
 * TLS key derivation and record opening against published vectors:
 * - TLS 1.2 PRF: the P_SHA256 and P_SHA384 vectors posted to the IETF TLS
 *   working group (msg03416), secret/seed/"test label";
 * - TLS 1.3 key schedule, RFC 8448 section 3 (simple 1-RTT handshake,
 *   TLS_AES_128_GCM_SHA256): handshake and application traffic keys and
 *   IVs from the traffic secrets the RFC prints, and both application data
 *   records of the trace opened to their 50 bytes 00..31.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "parse/tls_crypto.h"
#include "test_tls_build.h"

static size_t unhex(const char *hex, uint8_t *out) {
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        char pair[3] = {hex[0], hex[1], 0};
        sscanf(pair, "%02x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void assert_hex(const uint8_t *got, size_t len, const char *want_hex) {
    uint8_t want[256];
    size_t n = unhex(want_hex, want);
    assert_int_equal(len, n);
    assert_memory_equal(got, want, n);
}

static void test_prf_sha256(void **state) {
    (void)state;
    uint8_t secret[16], seed[16], out[100];
    unhex("9bbe436ba940f017b17652849a71db35", secret);
    unhex("a0ba9f936cda311827a6f796ffd5198c", seed);
    assert_int_equal(
        tls12_prf(test_crypto(), 0, secret, 16, "test label", seed, 16, out, sizeof out), AS_OK);
    assert_hex(out, sizeof out,
               "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
               "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
               "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
               "87347b66");
}

static void test_prf_sha384(void **state) {
    (void)state;
    uint8_t secret[16], seed[16], out[32];
    unhex("b80b733d6ceefcdc71566ea48e5567df", secret);
    unhex("cd665cf6a8447dd6ff8b27555edb7465", seed);
    assert_int_equal(
        tls12_prf(test_crypto(), 1, secret, 16, "test label", seed, 16, out, sizeof out), AS_OK);
    assert_hex(out, sizeof out, "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd");
}

/* RFC 8448 section 3: traffic secret -> write key and IV (AES-128-GCM). */
static void check_keys(const char *secret_hex, const char *key_hex, const char *iv_hex) {
    uint8_t secret[32], key[16], iv[12];
    unhex(secret_hex, secret);
    assert_int_equal(tls13_expand_label(test_crypto(), 0, secret, 32, "key", NULL, 0, key, 16),
                     AS_OK);
    assert_int_equal(tls13_expand_label(test_crypto(), 0, secret, 32, "iv", NULL, 0, iv, 12),
                     AS_OK);
    assert_hex(key, 16, key_hex);
    assert_hex(iv, 12, iv_hex);
}

static void test_rfc8448_traffic_keys(void **state) {
    (void)state;
    /* {server} derive write traffic keys for handshake data */
    check_keys("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
               "3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30");
    /* {client} derive write traffic keys for handshake data */
    check_keys("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
               "dbfaa693d1762c5b666af5d950258d01", "5bd3c71b836e0b76bb73265f");
    /* {server} derive write traffic keys for application data */
    check_keys("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
               "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984");
    /* {client} derive write traffic keys for application data */
    check_keys("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
               "17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9");
}

/* Opens one complete record of the trace with the given traffic secret at
 * sequence number seq and checks it holds the 50 bytes 00..31. */
static void open_trace_record(const char *secret_hex, uint64_t seq, const char *record_hex) {
    uint8_t secret[32], rec[128], out[128];
    unhex(secret_hex, secret);
    size_t len = unhex(record_hex, rec);
    tls_cipher c;
    memset(&c, 0, sizeof c);
    assert_int_equal(tls_cipher_set13(test_crypto(), &c, tls_suite_find(0x1301), secret, 32),
                     AS_OK);
    c.seq = seq;
    size_t out_len = 0;
    uint8_t inner = 0;
    assert_int_equal(tls_cipher_open(&c, rec, rec + 5, len - 5, out, &out_len, &inner), AS_OK);
    assert_int_equal(inner, 23); /* application_data */
    assert_int_equal(out_len, 50);
    for (int i = 0; i < 50; i++)
        assert_int_equal(out[i], i);
    assert_int_equal(c.seq, seq + 1);
    /* the same record with one bit flipped does not authenticate */
    rec[10] ^= 1;
    c.seq = seq;
    assert_int_equal(tls_cipher_open(&c, rec, rec + 5, len - 5, out, &out_len, &inner),
                     AS_ERR_FORMAT);
    tls_cipher_clear(&c);
}

static void test_rfc8448_records(void **state) {
    (void)state;
    /* {client} send application_data record: the client's first record
     * under its application keys (sequence 0) */
    open_trace_record("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5", 0,
                      "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f"
                      "2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae6"
                      "3aeebb21694915e4");
    /* {server} send application_data record: the server's second record
     * under its application keys (the NewSessionTicket was sequence 0) */
    open_trace_record("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643", 1,
                      "17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36"
                      "e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf33254"
                      "0dd032e167c2955d");
}

static void test_suites(void **state) {
    (void)state;
    assert_non_null(tls_suite_find(0x1303));
    assert_int_equal(tls_suite_hash_bytes(tls_suite_find(0x1302)), 48);
    assert_int_equal(tls_suite_find(0xc030)->key_bytes, 32);
    assert_int_equal(tls_suite_find(0x002f)->mac_bytes, 20); /* AES_128_CBC_SHA */
    assert_null(tls_suite_find(0x000a)); /* TLS_RSA_WITH_3DES_EDE_CBC_SHA: not decrypted */
    assert_null(tls_suite_find(0x0005)); /* TLS_RSA_WITH_RC4_128_SHA */
    assert_null(tls_suite_find(0x0a0a)); /* GREASE */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prf_sha256),
        cmocka_unit_test(test_prf_sha384),
        cmocka_unit_test(test_rfc8448_traffic_keys),
        cmocka_unit_test(test_rfc8448_records),
        cmocka_unit_test(test_suites),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
