/* Unit tests of the on-disk spool: order, persistence across reopen, the
 * byte bound, segment rotation, torn records, file modes and bad directories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "export/spool.h"

static char dir[256];

static int make_dir(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/apisensor-test-spool.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int remove_dir(void **state) {
    (void)state;
    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    return system(command) == 0 ? 0 : -1;
}

/* Appends event number i: key "k<i>", value "value <i>" padded to pad bytes. */
static as_status append_numbered(spool *s, int i, int pad) {
    char key[32], value[4096];
    int key_len = snprintf(key, sizeof key, "k%d", i);
    int value_len = snprintf(value, sizeof value, "value %d", i);
    while (value_len < pad && value_len < (int)sizeof value - 1)
        value[value_len++] = '.';
    return spool_append(s, (uint32_t)(i % 4), key, (uint32_t)key_len, value, (uint32_t)value_len);
}

static void expect_numbered(spool *s, int i) {
    spool_record r;
    char key[32], value[32];
    as_status st = spool_peek(s, &r);
    if (st != AS_OK)
        fail_msg("event %d: %s: %s", i, status_name(st), spool_error(s));
    snprintf(key, sizeof key, "k%d", i);
    int value_len = snprintf(value, sizeof value, "value %d", i);
    assert_int_equal(r.topic, (uint32_t)(i % 4));
    assert_int_equal(r.key_len, strlen(key));
    assert_memory_equal(r.key, key, r.key_len);
    assert_true(r.value_len >= (uint32_t)value_len);
    assert_memory_equal(r.value, value, (size_t)value_len);
    assert_int_equal(spool_pop(s), AS_OK);
}

static void keeps_order_across_reopen(void **state) {
    (void)state;
    char err[256];
    spool *s = NULL;
    assert_int_equal(spool_open(dir, 1 << 20, err, sizeof err, &s), AS_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(append_numbered(s, i, 0), AS_OK);
    for (int i = 0; i < 40; i++)
        expect_numbered(s, i);
    assert_int_equal(spool_records(s), 60);
    spool_close(s);

    /* a new run resumes after the 40 events taken */
    assert_int_equal(spool_open(dir, 1 << 20, err, sizeof err, &s), AS_OK);
    assert_int_equal(spool_records(s), 60);
    for (int i = 40; i < 100; i++)
        expect_numbered(s, i);
    spool_record r;
    assert_int_equal(spool_peek(s, &r), AS_DONE);
    assert_int_equal(spool_bytes(s), 0);
    /* an event without key */
    assert_int_equal(spool_append(s, 2, NULL, 0, "v", 1), AS_OK);
    assert_int_equal(spool_peek(s, &r), AS_OK);
    assert_null(r.key);
    assert_int_equal(r.value_len, 1);
    spool_close(s);
}

static void rotates_segments_and_deletes_consumed_ones(void **state) {
    (void)state;
    char err[256];
    spool *s = NULL;
    /* 256 KiB bound: segments of 64 KiB, events of about 1 KiB */
    assert_int_equal(spool_open(dir, 256 << 10, err, sizeof err, &s), AS_OK);
    int n = 0;
    while (append_numbered(s, n, 1000) == AS_OK)
        n++;
    assert_true(n > 200 && n < 260);
    assert_string_not_equal(spool_error(s), "");
    assert_non_null(strstr(spool_error(s), "full"));
    for (int i = 0; i < n / 2; i++)
        expect_numbered(s, i);
    /* room again: the bound is on events not yet taken */
    assert_int_equal(append_numbered(s, n, 1000), AS_OK);
    spool_close(s);

    assert_int_equal(spool_open(dir, 256 << 10, err, sizeof err, &s), AS_OK);
    for (int i = n / 2; i <= n; i++)
        expect_numbered(s, i);
    spool_close(s);
    /* everything consumed: at most the one current segment is left */
    char path[512];
    int left = 0;
    for (int seq = 1; seq < 10; seq++) {
        snprintf(path, sizeof path, "%s/%012d.spool", dir, seq);
        struct stat st;
        if (stat(path, &st) == 0) {
            left++;
            assert_int_equal(st.st_mode & 0777, 0600);
        }
    }
    assert_true(left <= 1);
}

static void cuts_a_torn_record(void **state) {
    (void)state;
    char err[256];
    spool *s = NULL;
    assert_int_equal(spool_open(dir, 1 << 20, err, sizeof err, &s), AS_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(append_numbered(s, i, 0), AS_OK);
    spool_close(s);
    /* the sensor died in the middle of a fourth record: a head announcing
     * 100 value bytes, followed by 3 */
    char path[512];
    snprintf(path, sizeof path, "%s/%012d.spool", dir, 1);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    static const unsigned char torn[] = {1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 'a', 'b', 'c'};
    fwrite(torn, 1, sizeof torn, f);
    fclose(f);
    assert_int_equal(spool_open(dir, 1 << 20, err, sizeof err, &s), AS_OK);
    assert_int_equal(spool_records(s), 3);
    assert_int_equal(append_numbered(s, 3, 0), AS_OK); /* lands after the cut */
    for (int i = 0; i < 4; i++)
        expect_numbered(s, i);
    spool_close(s);
}

static void refuses_a_bad_directory(void **state) {
    (void)state;
    char err[512] = "";
    spool *s = NULL;
    char file[512], below[600];
    snprintf(file, sizeof file, "%s/plain-file", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(below, sizeof below, "%s/spool", file);
    assert_int_equal(spool_open(below, 1 << 20, err, sizeof err, &s), AS_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err, "cannot create the directory"));
    unlink(file);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(keeps_order_across_reopen, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(rotates_segments_and_deletes_consumed_ones, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(cuts_a_torn_record, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(refuses_a_bad_directory, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
