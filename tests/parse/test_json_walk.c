/*
 * Tests of the JSON walker: the items of a document in order, strict
 * grammar, truncated input, the depth bound, where a walk stopped and
 * string unescaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "parse/json_walk.h"

/* Walks text to its end; writes one line per item ("depth type key=value")
 * into out and returns the final status. */
static as_status walk_all(const char *text, char *out, size_t cap) {
    static const char *const types[] = {"str", "num", "true", "false", "null", "{", "}", "[", "]"};
    json_walker w;
    json_walk_item item;
    json_walk_init(&w, (const uint8_t *)text, strlen(text));
    size_t used = 0;
    out[0] = '\0';
    as_status st;
    while ((st = json_walk_next(&w, &item)) == AS_OK) {
        int n = snprintf(out + used, cap - used, "%u %s %.*s=%.*s\n", item.depth, types[item.type],
                         (int)item.key.len, item.key.ptr ? item.key.ptr : "", (int)item.value.len,
                         item.value.ptr ? item.value.ptr : "");
        assert_true(n > 0 && (size_t)n < cap - used);
        used += (size_t)n;
    }
    return st;
}

static void test_items_in_order(void **state) {
    (void)state;
    char out[1024];
    assert_int_equal(walk_all(" {\"a\": 1, \"b\" : [true, null, \"x\\\"y\"], \"c\":{\"d\":-2.5e3},"
                              "\"e\":{}, \"f\":[]}\n",
                              out, sizeof out),
                     AS_DONE);
    assert_string_equal(out, "0 { =\n"
                             "1 num a=1\n"
                             "1 [ b=\n"
                             "2 true =\n"
                             "2 null =\n"
                             "2 str =x\\\"y\n"
                             "1 ] =\n"
                             "1 { c=\n"
                             "2 num d=-2.5e3\n"
                             "1 } =\n"
                             "1 { e=\n"
                             "1 } =\n"
                             "1 [ f=\n"
                             "1 ] =\n"
                             "0 } =\n");
    assert_int_equal(walk_all("42", out, sizeof out), AS_DONE);
    assert_string_equal(out, "0 num =42\n");
}

static void test_strict_grammar(void **state) {
    (void)state;
    static const char *const bad[] = {
        "{\"a\":1,}", "{\"a\" 1}", "[1 2]",     "{'a':1}",       "01",      "1.",
        "-",          "+1",        "[1,]",      "{\"a\":tru}",   "\"\\x\"", "\"a\x01\"",
        "{} {}",      "]",         "{\"a\":1]", "[\"\\u12G4\"]", "nul!",    "{1:2}"};
    char out[1024];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        as_status st = walk_all(bad[i], out, sizeof out);
        /* "1." and "-" end inside a number: truncated rather than wrong */
        assert_true(st == AS_ERR_FORMAT || st == AS_ERR_TRUNCATED);
        assert_true(st == AS_ERR_FORMAT || !strcmp(bad[i], "1.") || !strcmp(bad[i], "-"));
    }
}

static void test_truncated_input(void **state) {
    (void)state;
    char out[1024];
    static const char *const cut[] = {"{\"a\":1,\"b\":\"xy", "{\"a\"", "[tr", "{\"a\":[1,",
                                      "\"abc\\u00",          "",       "  "};
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++)
        assert_int_equal(walk_all(cut[i], out, sizeof out), AS_ERR_TRUNCATED);
    /* everything before the cut was reported */
    walk_all("{\"a\":1,\"b\":\"xy", out, sizeof out);
    assert_string_equal(out, "0 { =\n1 num a=1\n");
}

static void test_depth_bound(void **state) {
    (void)state;
    char text[JSON_WALK_MAX_DEPTH * 2 + 4];
    for (int i = 0; i < JSON_WALK_MAX_DEPTH; i++) {
        text[i] = '[';
        text[JSON_WALK_MAX_DEPTH + i] = ']';
    }
    text[2 * JSON_WALK_MAX_DEPTH] = '\0';
    json_walker w;
    json_walk_item item;
    json_walk_init(&w, (const uint8_t *)text, strlen(text));
    as_status st;
    int items = 0;
    while ((st = json_walk_next(&w, &item)) == AS_OK)
        items++;
    assert_int_equal(st, AS_DONE);
    assert_int_equal(items, 2 * JSON_WALK_MAX_DEPTH);

    char deeper[JSON_WALK_MAX_DEPTH + 2];
    memset(deeper, '[', JSON_WALK_MAX_DEPTH + 1);
    deeper[JSON_WALK_MAX_DEPTH + 1] = '\0';
    json_walk_init(&w, (const uint8_t *)deeper, strlen(deeper));
    while ((st = json_walk_next(&w, &item)) == AS_OK)
        ;
    assert_int_equal(st, AS_ERR_LIMIT);
    assert_int_equal(json_walk_next(&w, &item), AS_ERR_LIMIT);
}

/* Walks text to its end with a depth bound; returns the status and writes
 * json_walk_offset and the last item into *offset and *item. */
static as_status walk_to_end(const char *text, uint32_t max_depth, size_t *offset,
                             json_walk_item *item) {
    json_walker w;
    json_walk_init(&w, (const uint8_t *)text, strlen(text));
    json_walk_set_max_depth(&w, max_depth);
    as_status st;
    while ((st = json_walk_next(&w, item)) == AS_OK)
        ;
    *offset = json_walk_offset(&w);
    return st;
}

static void test_set_max_depth_and_offset(void **state) {
    (void)state;
    json_walk_item item;
    size_t offset;
    /* 100 nested arrays: beyond the default bound, within a bound of 100 */
    char deep[201];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = '\0';
    assert_int_equal(walk_to_end(deep, 100, &offset, &item), AS_DONE);
    assert_int_equal(offset, 200);
    assert_int_equal(walk_to_end(deep, 99, &offset, &item), AS_ERR_LIMIT);
    assert_int_equal(offset, 99); /* the bracket that went too deep */
    assert_int_equal(walk_to_end(deep, JSON_WALK_MAX_DEPTH, &offset, &item), AS_ERR_LIMIT);
    assert_int_equal(offset, JSON_WALK_MAX_DEPTH);

    /* a cut string value: the offset names its opening quote, the member
     * name stays in the item with the depth its value would have had */
    assert_int_equal(walk_to_end("{\"a\":1, \"name\" : \"cut", 64, &offset, &item),
                     AS_ERR_TRUNCATED);
    assert_int_equal(offset, 17);
    assert_int_equal(item.key.len, 4);
    assert_memory_equal(item.key.ptr, "name", 4);
    assert_int_equal(item.depth, 1);
    /* a missing colon: the offset names the byte found instead */
    assert_int_equal(walk_to_end("{\"k\" 1}", 64, &offset, &item), AS_ERR_FORMAT);
    assert_int_equal(offset, 5);
    assert_int_equal(item.key.len, 1);
    /* a cut member name: nothing read, the offset names its quote */
    assert_int_equal(walk_to_end("[{\"ke", 64, &offset, &item), AS_ERR_TRUNCATED);
    assert_int_equal(offset, 2);
    assert_null(item.key.ptr);
    /* input that ends between tokens */
    assert_int_equal(walk_to_end("[1, ", 64, &offset, &item), AS_ERR_TRUNCATED);
    assert_int_equal(offset, 4);
}

static void test_unescape(void **state) {
    (void)state;
    char out[64];
    /* escapes, U+00E9, a surrogate pair (U+1F600) and a lone surrogate (U+FFFD) */
    static const char raw[] = "a\\\"b\\\\c\\/\\n\\u00e9\\ud83d\\ude00\\udc00";
    str_view v = {raw, (uint32_t)strlen(raw)};
    int n = json_walk_unescape(v, out, sizeof out);
    assert_int_equal(n, 16);
    assert_memory_equal(out, "a\"b\\c/\n\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd", 16);
    assert_int_equal(json_walk_unescape(v, out, 10), -1);
    str_view bad = {"ab\\", 3};
    assert_int_equal(json_walk_unescape(bad, out, sizeof out), -1);
    str_view key = {"Access_Token", 12};
    assert_true(json_walk_key_is(key, "access_token"));
    assert_false(json_walk_key_is(key, "access_tokens"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_in_order),           cmocka_unit_test(test_strict_grammar),
        cmocka_unit_test(test_truncated_input),          cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_set_max_depth_and_offset), cmocka_unit_test(test_unescape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
