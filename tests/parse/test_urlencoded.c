/* Unit tests of query-string and form-body pairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parse/urlencoded.h"

static void assert_view(str_view v, const char *want) {
    assert_non_null(v.ptr);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.ptr, want, v.len);
}

static void pairs_are_decoded(void **state) {
    (void)state;
    /* percent escapes, '+' as space, a flag without '=', empty pairs, a bad escape */
    const char *q = "email=jane%40example.com&q=a+b%2Bc&&flag&x=%zz%4&=v";
    urlencoded_iter it = urlencoded_begin(q, strlen(q));
    urlencoded_pair p;
    char buf[64];
    assert_true(urlencoded_next(&it, buf, sizeof buf, &p));
    assert_view(p.name, "email");
    assert_view(p.value, "jane@example.com");
    assert_true(urlencoded_next(&it, buf, sizeof buf, &p));
    assert_view(p.value, "a b+c");
    assert_true(urlencoded_next(&it, buf, sizeof buf, &p));
    assert_view(p.name, "flag");
    assert_null(p.value.ptr);
    assert_true(urlencoded_next(&it, buf, sizeof buf, &p));
    assert_view(p.value, "%zz%4");
    assert_true(urlencoded_next(&it, buf, sizeof buf, &p));
    assert_int_equal(p.name.len, 0);
    assert_view(p.value, "v");
    assert_int_equal(p.truncated, 0);
    assert_false(urlencoded_next(&it, buf, sizeof buf, &p));
}

static void small_buffer_truncates(void **state) {
    (void)state;
    const char *q = "token=abcdefghijklmnop";
    urlencoded_iter it = urlencoded_begin(q, strlen(q));
    urlencoded_pair p;
    char buf[8];
    assert_true(urlencoded_next(&it, buf, sizeof buf, &p));
    assert_view(p.name, "token");
    assert_view(p.value, "abc");
    assert_int_equal(p.truncated, 1);
    char out[4];
    assert_int_equal(urlencoded_decode("%41%42%43%44%45", 15, out, sizeof out, 0), 4);
    assert_memory_equal(out, "ABCD", 4);
    assert_int_equal(urlencoded_decode("a+b", 3, out, sizeof out, 0), 3);
    assert_memory_equal(out, "a+b", 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pairs_are_decoded),
        cmocka_unit_test(small_buffer_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
