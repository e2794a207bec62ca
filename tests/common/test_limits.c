/* Unit tests of the limit table: defaults, parsing, ranges, unknown keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/limits.h"

static void defaults_match_table(void **state) {
    (void)state;
    limits lim = limits_default();
    const limit_info *info = limits_info();
    int found = 0;
    for (int i = 0; i < limits_info_count(); i++) {
        assert_true(info[i].default_value >= info[i].min_value);
        assert_true(info[i].default_value <= info[i].max_value);
        if (strcmp(info[i].key, "flow_max") == 0) {
            assert_int_equal(lim.flow_max, info[i].default_value);
            found = 1;
        }
    }
    assert_true(found);
}

static void set_parses_suffixes(void **state) {
    (void)state;
    limits lim = limits_default();
    assert_int_equal(limits_set(&lim, "http_body_capture_bytes", "64K"), AS_OK);
    assert_int_equal(lim.http_body_capture_bytes, 65536);
    assert_int_equal(limits_set(&lim, "tcp_ooo_bytes_total", "1G"), AS_OK);
    assert_int_equal(lim.tcp_ooo_bytes_total, 1073741824);
}

static void set_rejects_bad_values_and_keys(void **state) {
    (void)state;
    limits lim = limits_default();
    int64_t before = lim.flow_max;
    assert_int_equal(limits_set(&lim, "flow_max", "12x"), AS_ERR_ARG);
    assert_int_equal(limits_set(&lim, "flow_max", "-5"), AS_ERR_ARG);
    assert_int_equal(limits_set(&lim, "flow_max", "1"), AS_ERR_ARG); /* below min 16 */
    assert_int_equal(limits_set(&lim, "flow_max", ""), AS_ERR_ARG);
    assert_int_equal(lim.flow_max, before);
    assert_int_equal(limits_set(&lim, "no_such_limit", "1"), AS_ERR_CONFIG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_match_table),
        cmocka_unit_test(set_parses_suffixes),
        cmocka_unit_test(set_rejects_bad_values_and_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
