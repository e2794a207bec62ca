/*
 * Tests of pseudonyms: RFC 4231 HMAC-SHA256 vectors, the handle and the
 * one-shot form agree, different keys give different pseudonyms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parse/pseudonym.h"

static void test_rfc4231_case2(void **state) {
    (void)state;
    char hex[PSEUDONYM_HEX_BYTES];
    /* RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?" */
    assert_int_equal(pseudonym_hex_once("Jefe", 4, "what do ya want for nothing?", 28, hex), AS_OK);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_rfc4231_case1_with_handle(void **state) {
    (void)state;
    /* RFC 4231 test case 1: key 20 bytes of 0x0b, data "Hi There" */
    uint8_t key[20];
    memset(key, 0x0b, sizeof key);
    pseudonym *p = NULL;
    assert_int_equal(pseudonym_create(key, sizeof key, &p), AS_OK);
    char hex[PSEUDONYM_HEX_BYTES], again[PSEUDONYM_HEX_BYTES];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pseudonym_hex(p, "Hi There", 8, hex), AS_OK);
        assert_string_equal(hex,
                            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    }
    /* the context restarts cleanly after another secret */
    assert_int_equal(pseudonym_hex(p, "other", 5, again), AS_OK);
    assert_string_not_equal(again, hex);
    assert_int_equal(pseudonym_hex(p, "", 0, again), AS_OK);
    assert_int_equal(strlen(again), 64);
    pseudonym_destroy(p);
    pseudonym_destroy(NULL);
}

static void test_keys_and_arguments(void **state) {
    (void)state;
    char a[PSEUDONYM_HEX_BYTES], b[PSEUDONYM_HEX_BYTES];
    assert_int_equal(pseudonym_hex_once("key-a", 5, "sk_live_123", 11, a), AS_OK);
    assert_int_equal(pseudonym_hex_once("key-b", 5, "sk_live_123", 11, b), AS_OK);
    assert_string_not_equal(a, b);
    pseudonym *p = (pseudonym *)&p;
    assert_int_equal(pseudonym_create("", 0, &p), AS_ERR_ARG);
    assert_null(p);
    uint8_t big[PSEUDONYM_KEY_MAX_BYTES + 1] = {0};
    assert_int_equal(pseudonym_create(big, sizeof big, &p), AS_ERR_ARG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231_case2),
        cmocka_unit_test(test_rfc4231_case1_with_handle),
        cmocka_unit_test(test_keys_and_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
