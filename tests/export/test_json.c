/* Unit tests of the JSON encoder: structure, escaping, UTF-8 repair, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "export/json.h"

static void writes_nested_structure_with_commas(void **state) {
    (void)state;
    json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_key(&w, "a");
    json_int(&w, -3);
    json_key(&w, "b");
    json_array_begin(&w);
    json_uint(&w, 1);
    json_null(&w);
    json_bool(&w, 1);
    json_object_begin(&w);
    json_object_end(&w);
    json_array_end(&w);
    json_key(&w, "c");
    json_cstring(&w, NULL);
    json_object_end(&w);
    assert_true(json_writer_ok(&w));
    assert_string_equal(w.buf, "{\"a\":-3,\"b\":[1,null,true,{}],\"c\":null}");
    json_writer_free(&w);
}

static void writes_integer_extremes(void **state) {
    (void)state;
    json_writer w;
    json_writer_init(&w);
    json_array_begin(&w);
    json_int(&w, INT64_MIN);
    json_int(&w, INT64_MAX);
    json_int(&w, 0);
    json_uint(&w, UINT64_MAX);
    json_uint(&w, 0);
    json_uint(&w, 10);
    json_array_end(&w);
    assert_true(json_writer_ok(&w));
    assert_string_equal(w.buf, "[-9223372036854775808,9223372036854775807,0,"
                               "18446744073709551615,0,10]");
    json_writer_free(&w);
}

static void escapes_quotes_backslashes_and_controls(void **state) {
    (void)state;
    json_writer w;
    json_writer_init(&w);
    /* quote, backslash, newline, tab, CR, 0x01, DEL stays */
    const char input[] = "a\"b\\c\nd\te\rf\x01g\x7f";
    json_string(&w, input, sizeof input - 1);
    assert_string_equal(w.buf, "\"a\\\"b\\\\c\\nd\\te\\rf\\u0001g\x7f\"");
    json_writer_free(&w);
}

static void keeps_valid_utf8_and_repairs_invalid(void **state) {
    (void)state;
    json_writer w;
    json_writer_init(&w);
    /* "é" (c3 a9), "€" (e2 82 ac), "😀" (f0 9f 98 80) are valid */
    const char valid[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    json_string(&w, valid, sizeof valid - 1);
    assert_string_equal(w.buf, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    json_writer_reset(&w);
    /* lone continuation, overlong "/" (c0 af), surrogate (ed a0 80), cut sequence (e2 82) */
    const char invalid[] = "\x80x\xc0\xafy\xed\xa0\x80z\xe2\x82";
    json_string(&w, invalid, sizeof invalid - 1);
    const char *fffd = "\xef\xbf\xbd";
    char expected[128];
    snprintf(expected, sizeof expected, "\"%sx%s%sy%s%s%sz%s%s\"", fffd, fffd, fffd, fffd, fffd,
             fffd, fffd, fffd);
    assert_string_equal(w.buf, expected);
    json_writer_free(&w);
}

static void embedded_nul_is_escaped(void **state) {
    (void)state;
    json_writer w;
    json_writer_init(&w);
    const char input[] = {'a', '\0', 'b'};
    json_string(&w, input, sizeof input);
    assert_string_equal(w.buf, "\"a\\u0000b\"");
    json_writer_free(&w);
}

static void misuse_is_a_sticky_error(void **state) {
    (void)state;
    json_writer w;
    json_writer_init(&w);
    json_object_end(&w); /* nothing open */
    assert_false(json_writer_ok(&w));
    json_writer_reset(&w);
    assert_true(json_writer_ok(&w));
    json_key(&w, "top"); /* key outside an object */
    assert_false(json_writer_ok(&w));
    json_writer_reset(&w);
    for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
        json_array_begin(&w);
    assert_false(json_writer_ok(&w));
    json_writer_free(&w);
}

static void large_strings_grow_the_buffer(void **state) {
    (void)state;
    json_writer w;
    json_writer_init(&w);
    static char big[200000];
    memset(big, 'x', sizeof big);
    json_string(&w, big, sizeof big);
    assert_true(json_writer_ok(&w));
    assert_int_equal(w.len, sizeof big + 2);
    json_writer_free(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writes_nested_structure_with_commas),
        cmocka_unit_test(writes_integer_extremes),
        cmocka_unit_test(escapes_quotes_backslashes_and_controls),
        cmocka_unit_test(keeps_valid_utf8_and_repairs_invalid),
        cmocka_unit_test(embedded_nul_is_escaped),
        cmocka_unit_test(misuse_is_a_sticky_error),
        cmocka_unit_test(large_strings_grow_the_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
