/* Unit tests of the bounds-checked byte cursor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/cursor.h"

static void reads_big_and_little_endian(void **state) {
    (void)state;
    /* 0x0102 0x03040506 then little-endian 0x0201 */
    const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x01, 0x02};
    cursor c = cursor_make(bytes, sizeof bytes);
    assert_int_equal(cursor_be16(&c), 0x0102);
    assert_int_equal(cursor_be32(&c), 0x03040506);
    assert_int_equal(cursor_le16(&c), 0x0201);
    assert_int_equal(cursor_left(&c), 0);
    assert_true(cursor_ok(&c));
}

static void error_is_sticky_and_reads_stop_at_end(void **state) {
    (void)state;
    const uint8_t bytes[] = {0xaa, 0xbb, 0xcc};
    cursor c = cursor_make(bytes, sizeof bytes);
    assert_int_equal(cursor_be32(&c), 0); /* 4 > 3 bytes: fails */
    assert_false(cursor_ok(&c));
    assert_int_equal(cursor_left(&c), 0);
    assert_int_equal(cursor_u8(&c), 0); /* still failed, even though bytes existed */
    assert_null(cursor_take(&c, 1));
}

static void take_and_skip_respect_bounds(void **state) {
    (void)state;
    const uint8_t bytes[] = {1, 2, 3, 4, 5};
    cursor c = cursor_make(bytes, sizeof bytes);
    cursor_skip(&c, 2);
    const uint8_t *p = cursor_take(&c, 3);
    assert_non_null(p);
    assert_int_equal(p[0], 3);
    assert_true(cursor_ok(&c));
    cursor_skip(&c, 1);
    assert_false(cursor_ok(&c));
    uint8_t out[4] = {9, 9, 9, 9};
    cursor_copy(&c, out, sizeof out);
    assert_int_equal(out[0], 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_big_and_little_endian),
        cmocka_unit_test(error_is_sticky_and_reads_stop_at_end),
        cmocka_unit_test(take_and_skip_respect_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
