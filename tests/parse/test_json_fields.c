/*
 * Unit tests of the JSON body walker: field paths, kinds and formats,
 * value events, name decoding, the depth / field / name bounds, truncated
 * and invalid input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse/json_fields.h"

static json_fields_walker *make_walker(const limits *lim) {
    json_fields_walker *w = NULL;
    assert_int_equal(json_fields_walker_create(lim, &w), AS_OK);
    return w;
}

static json_fields_status walk(json_fields_walker *w, const char *text,
                               anomaly_counters *anomalies) {
    return json_fields_walker_run(w, (const uint8_t *)text, strlen(text), NULL, NULL, anomalies);
}

static const json_field *field(const json_fields_walker *w, const char *path) {
    for (uint32_t i = 0; i < json_fields_walker_field_count(w); i++) {
        const json_field *f = json_fields_walker_field(w, i);
        if (f->path.len == strlen(path) && memcmp(f->path.ptr, path, f->path.len) == 0)
            return f;
    }
    return NULL;
}

#define KIND(k) (1u << JSON_KIND_##k)

static void assert_field(const json_fields_walker *w, const char *path, unsigned kinds,
                         json_format format) {
    const json_field *f = field(w, path);
    if (!f)
        fail_msg("no field %s", path);
    assert_int_equal(f->kinds, kinds);
    assert_int_equal(f->format, format);
}

static void kinds_and_formats(void **state) {
    (void)state;
    limits lim = limits_default();
    json_fields_walker *w = make_walker(&lim);
    /* a profile-like record with every kind and the obvious string formats */
    const char *body = "{\"id\":33,\"total\":1002.95,\"big\":1e3,\"name\":\"Goran\",\"ok\":true,"
                       "\"none\":null,\"email\":\"goran.fontaine@example.org\","
                       "\"at\":\"2024-10-25T14:00:00Z\",\"born\":\"1957-06-04\","
                       "\"trace\":\"5f0c7b1e-8a4d-4b1e-9c3a-1d2e3f4a5b6c\","
                       "\"tags\":[\"a\",\"b\"],\"address\":{\"zip\":\"47484\",\"geo\":"
                       "{\"lat\":-1.5}}}";
    assert_int_equal(walk(w, body, NULL), JSON_FIELDS_OK);
    assert_int_equal(json_fields_walker_field_count(w), 16);
    assert_field(w, "id", KIND(INTEGER), JSON_FORMAT_NONE);
    assert_field(w, "total", KIND(NUMBER), JSON_FORMAT_NONE);
    assert_field(w, "big", KIND(NUMBER), JSON_FORMAT_NONE);
    assert_field(w, "name", KIND(STRING), JSON_FORMAT_NONE);
    assert_field(w, "ok", KIND(BOOLEAN), JSON_FORMAT_NONE);
    assert_field(w, "none", KIND(NULL), JSON_FORMAT_NONE);
    assert_field(w, "email", KIND(STRING), JSON_FORMAT_EMAIL);
    assert_field(w, "at", KIND(STRING), JSON_FORMAT_DATE_TIME);
    assert_field(w, "born", KIND(STRING), JSON_FORMAT_DATE);
    assert_field(w, "trace", KIND(STRING), JSON_FORMAT_UUID);
    assert_field(w, "tags", KIND(ARRAY), JSON_FORMAT_NONE);
    assert_field(w, "tags[]", KIND(STRING), JSON_FORMAT_NONE);
    assert_field(w, "address", KIND(OBJECT), JSON_FORMAT_NONE);
    assert_field(w, "address.zip", KIND(STRING), JSON_FORMAT_NONE);
    assert_field(w, "address.geo.lat", KIND(NUMBER), JSON_FORMAT_NONE);
    assert_int_equal(field(w, "address.geo.lat")->depth, 3);
    json_fields_walker_destroy(w);
}

static void arrays_of_records_merge(void **state) {
    (void)state;
    limits lim = limits_default();
    json_fields_walker *w = make_walker(&lim);
    /* records whose fields vary: kinds merge, formats must agree */
    const char *body = "[{\"id\":1,\"at\":\"2024-10-25\",\"note\":null},"
                       "{\"id\":2.5,\"at\":\"2024-10-26T10:00:00+02:00\",\"note\":\"x\"}]";
    assert_int_equal(walk(w, body, NULL), JSON_FIELDS_OK);
    assert_field(w, "[]", KIND(OBJECT), JSON_FORMAT_NONE);
    assert_field(w, "[].id", KIND(INTEGER) | KIND(NUMBER), JSON_FORMAT_NONE);
    assert_field(w, "[].at", KIND(STRING), JSON_FORMAT_NONE); /* date, then date-time */
    assert_field(w, "[].note", KIND(NULL) | KIND(STRING), JSON_FORMAT_NONE);
    assert_int_equal(field(w, "[].id")->count, 2);
    /* a second walk starts empty */
    assert_int_equal(walk(w, "{\"x\":\"2024-10-25\"}", NULL), JSON_FIELDS_OK);
    assert_int_equal(json_fields_walker_field_count(w), 1);
    assert_field(w, "x", KIND(STRING), JSON_FORMAT_DATE);
    json_fields_walker_destroy(w);
}

typedef struct seen {
    char text[1024];
    size_t len;
} seen;

static void append_view(seen *s, str_view v) {
    if (!v.ptr) {
        s->len += (size_t)snprintf(s->text + s->len, sizeof s->text - s->len, "-");
        return;
    }
    s->len +=
        (size_t)snprintf(s->text + s->len, sizeof s->text - s->len, "%.*s", (int)v.len, v.ptr);
}

/* Records "kind key path value depth;" per event. */
static void on_value(void *arg, const json_value_event *ev) {
    seen *s = arg;
    s->len += (size_t)snprintf(s->text + s->len, sizeof s->text - s->len, "%s ",
                               json_kind_name(ev->kind));
    append_view(s, ev->key);
    s->text[s->len++] = ' ';
    append_view(s, ev->path);
    s->text[s->len++] = ' ';
    append_view(s, ev->value);
    s->len += (size_t)snprintf(s->text + s->len, sizeof s->text - s->len, " %u;", ev->depth);
}

static void value_events(void **state) {
    (void)state;
    limits lim = limits_default();
    json_fields_walker *w = make_walker(&lim);
    seen s = {{0}, 0};
    /* raw values: escapes stay as sent; array elements carry the array's key */
    const char *body = "{\"user\":{\"e\\u006dail\":\"a\\/b\"},\"ids\":[7,true]}";
    assert_int_equal(
        json_fields_walker_run(w, (const uint8_t *)body, strlen(body), on_value, &s, NULL),
        JSON_FIELDS_OK);
    assert_string_equal(s.text, "object -  - 0;"
                                "object user user - 1;"
                                "string e\\u006dail user.email a\\/b 2;"
                                "array ids ids - 1;"
                                "integer ids ids[] 7 2;"
                                "boolean ids ids[] true 2;");
    json_fields_walker_destroy(w);
}

static void names_are_decoded_and_checked(void **state) {
    (void)state;
    limits lim = limits_default();
    json_fields_walker *w = make_walker(&lim);
    anomaly_counters an = {0};
    /* {"caf\u00e9":1,"q\"uote":2,"emoji\ud83d\ude00":3} */
    assert_int_equal(walk(w, "{\"caf\\u00e9\":1,\"q\\\"uote\":2,\"emoji\\ud83d\\ude00\":3}", &an),
                     JSON_FIELDS_OK);
    assert_non_null(field(w, "caf\xc3\xa9"));
    assert_non_null(field(w, "q\"uote"));
    assert_non_null(field(w, "emoji\xf0\x9f\x98\x80"));
    /* the same name sent as raw UTF-8 */
    assert_int_equal(walk(w, "{\"caf\xc3\xa9\":1}", &an), JSON_FIELDS_OK);
    assert_non_null(field(w, "caf\xc3\xa9"));
    assert_int_equal(an.count[ANOMALY_JSON_BAD_NAME], 0);
    /* a NUL escape, a lone surrogate and invalid UTF-8 bytes: not names */
    assert_int_equal(
        walk(w, "{\"a\\u0000\":1,\"b\\ud800\":2,\"c\xff\":3,\"d\xc3\":4,\"ok\":5}", &an),
        JSON_FIELDS_OK);
    assert_int_equal(json_fields_walker_field_count(w), 1);
    assert_non_null(field(w, "ok"));
    assert_int_equal(an.count[ANOMALY_JSON_BAD_NAME], 1);
    /* invalid UTF-8 inside string values is the scanner's business, not an error */
    assert_int_equal(walk(w, "{\"v\":\"\xff\xfe\xc0\x80\"}", NULL), JSON_FIELDS_OK);
    assert_field(w, "v", KIND(STRING), JSON_FORMAT_NONE);
    json_fields_walker_destroy(w);
}

static char *nested(int depth, size_t *len) {
    char *s = malloc((size_t)depth * 8 + 16);
    size_t n = 0;
    for (int i = 0; i < depth; i++) {
        memcpy(s + n, "{\"a\":", 5);
        n += 5;
    }
    s[n++] = '1';
    for (int i = 0; i < depth; i++)
        s[n++] = '}';
    s[n] = '\0';
    *len = n;
    return s;
}

static void depth_bound(void **state) {
    (void)state;
    limits lim = limits_default(); /* json_max_depth 32 */
    json_fields_walker *w = make_walker(&lim);
    anomaly_counters an = {0};
    size_t len;
    char *ok = nested(32, &len);
    assert_int_equal(json_fields_walker_run(w, (const uint8_t *)ok, len, NULL, NULL, &an),
                     JSON_FIELDS_OK);
    assert_int_equal(json_fields_walker_field_count(w), 32); /* a, a.a, ... */
    free(ok);
    char *deep = nested(100000, &len);
    assert_int_equal(json_fields_walker_run(w, (const uint8_t *)deep, len, NULL, NULL, &an),
                     JSON_FIELDS_TOO_DEEP);
    assert_int_equal(an.count[ANOMALY_JSON_TOO_DEEP], 1);
    /* what was above the bound is kept: the 31 members whose values opened
     * containers 2..32; the member holding container 33 is not */
    assert_int_equal(json_fields_walker_field_count(w), 31);
    assert_int_equal(json_fields_walker_stop_offset(w), 32 * 5);
    free(deep);
    json_fields_walker_destroy(w);
}

/* json_max_depth is honoured above parse/json_walk's default bound of 64. */
static void depth_bound_above_64(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.json_max_depth = 100;
    lim.json_fields_per_body = 200;
    lim.json_field_name_bytes = 1024;
    json_fields_walker *w = make_walker(&lim);
    anomaly_counters an = {0};
    size_t len;
    char *ok = nested(100, &len);
    assert_int_equal(json_fields_walker_run(w, (const uint8_t *)ok, len, NULL, NULL, &an),
                     JSON_FIELDS_OK);
    assert_int_equal(json_fields_walker_field_count(w), 100);
    free(ok);
    char *deep = nested(101, &len);
    assert_int_equal(json_fields_walker_run(w, (const uint8_t *)deep, len, NULL, NULL, &an),
                     JSON_FIELDS_TOO_DEEP);
    assert_int_equal(an.count[ANOMALY_JSON_TOO_DEEP], 1);
    assert_int_equal(json_fields_walker_stop_offset(w), 100 * 5);
    free(deep);
    json_fields_walker_destroy(w);
}

static void huge_array_and_field_bound(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.json_fields_per_body = 16;
    json_fields_walker *w = make_walker(&lim);
    anomaly_counters an = {0};
    /* [0,1,2,...,99999]: one field however long the array */
    size_t cap = 100000 * 7 + 2;
    char *big = malloc(cap);
    size_t n = 0;
    big[n++] = '[';
    for (int i = 0; i < 100000; i++)
        n += (size_t)snprintf(big + n, cap - n, i ? ",%d" : "%d", i);
    big[n++] = ']';
    assert_int_equal(json_fields_walker_run(w, (const uint8_t *)big, n, NULL, NULL, &an),
                     JSON_FIELDS_OK);
    assert_int_equal(json_fields_walker_field_count(w), 1);
    assert_int_equal(field(w, "[]")->count, 100000);
    /* 40 distinct names with room for 16 */
    n = 0;
    big[n++] = '{';
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(big + n, cap - n, "%s\"field%d\":%d", i ? "," : "", i, i);
    big[n++] = '}';
    assert_int_equal(json_fields_walker_run(w, (const uint8_t *)big, n, NULL, NULL, &an),
                     JSON_FIELDS_OK);
    assert_int_equal(json_fields_walker_field_count(w), 16);
    assert_non_null(field(w, "field15"));
    assert_null(field(w, "field16"));
    assert_int_equal(an.count[ANOMALY_JSON_FIELDS_DROPPED], 1);
    free(big);
    json_fields_walker_destroy(w);
}

static void name_length_bound(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.json_field_name_bytes = 16;
    json_fields_walker *w = make_walker(&lim);
    anomaly_counters an = {0};
    /* "outer.inner" fits; "averyveryverylongname" and what is inside it do not */
    assert_int_equal(walk(w,
                          "{\"outer\":{\"inner\":1},\"averyveryverylongname\":{\"x\":1},"
                          "\"after\":true}",
                          &an),
                     JSON_FIELDS_OK);
    assert_non_null(field(w, "outer.inner"));
    assert_non_null(field(w, "after"));
    assert_null(field(w, "x"));
    assert_int_equal(json_fields_walker_field_count(w), 3);
    assert_int_equal(an.count[ANOMALY_JSON_NAME_TOO_LONG], 1);
    json_fields_walker_destroy(w);
}

static void truncated_bodies(void **state) {
    (void)state;
    limits lim = limits_default();
    json_fields_walker *w = make_walker(&lim);
    const char *body = "{\"a\":\"hello\",\"b\":[1,2.5,-3e2],\"c\":{\"d\":true,\"e\":null}}";
    size_t len = strlen(body);
    uint32_t prev = 0;
    /* every cut: no crash, TRUNCATED, facts grow with the prefix */
    for (size_t cut = 0; cut < len; cut++) {
        json_fields_status st =
            json_fields_walker_run(w, (const uint8_t *)body, cut, NULL, NULL, NULL);
        assert_int_equal(st, JSON_FIELDS_TRUNCATED);
        assert_true(json_fields_walker_field_count(w) >= prev);
        prev = json_fields_walker_field_count(w);
    }
    assert_int_equal(json_fields_walker_run(w, (const uint8_t *)body, len, NULL, NULL, NULL),
                     JSON_FIELDS_OK);
    /* nothing partial: a string or number cut short is not reported */
    seen s = {{0}, 0};
    json_fields_walker_run(w, (const uint8_t *)"{\"a\":\"hel", 9, on_value, &s, NULL);
    assert_string_equal(s.text, "object -  - 0;");
    s.len = 0;
    s.text[0] = '\0';
    json_fields_walker_run(w, (const uint8_t *)"[12", 3, on_value, &s, NULL);
    assert_string_equal(s.text, "array -  - 0;");
    json_fields_walker_destroy(w);
}

static void invalid_and_top_level(void **state) {
    (void)state;
    limits lim = limits_default();
    json_fields_walker *w = make_walker(&lim);
    anomaly_counters an = {0};
    const char *invalid[] = {
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{} x",
        "[1 2]",
        "{\"a\":\"x\ny\"}",
        "{\"a\":01}",
        "[tru]",
        "[-]",
        "{\"a\":\"\\x\"}",
        "<html>",
        "{1:2}",
        "[1.]",
        "[1e+]",
        "]",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        if (walk(w, invalid[i], &an) != JSON_FIELDS_INVALID)
            fail_msg("accepted: %s", invalid[i]);
    assert_int_equal(an.count[ANOMALY_JSON_INVALID], sizeof invalid / sizeof invalid[0]);
    assert_int_equal(walk(w, "{\"a\":1,}", NULL), JSON_FIELDS_INVALID);
    assert_int_equal(json_fields_walker_stop_offset(w), 7);
    assert_int_equal(walk(w, "42", NULL), JSON_FIELDS_OK);
    assert_int_equal(walk(w, "-0.5e3", NULL), JSON_FIELDS_OK);
    assert_int_equal(walk(w, " \"x\" \n", NULL), JSON_FIELDS_OK);
    assert_int_equal(walk(w, "\xef\xbb\xbf{\"bom\":1}", NULL), JSON_FIELDS_OK); /* UTF-8 BOM */
    assert_non_null(field(w, "bom"));
    assert_int_equal(walk(w, "   ", NULL), JSON_FIELDS_TRUNCATED);
    json_fields_walker_destroy(w);
}

static void string_formats(void **state) {
    (void)state;
    struct {
        const char *value;
        json_format format;
    } cases[] = {
        {"2024-10-25T14:00:00Z", JSON_FORMAT_DATE_TIME},
        {"2024-10-25T14:00:00.123456+05:30", JSON_FORMAT_DATE_TIME},
        {"2024-10-25 14:00:00", JSON_FORMAT_NONE},
        {"2024-13-25", JSON_FORMAT_NONE},
        {"2024-10-25", JSON_FORMAT_DATE},
        {"5F0C7B1E-8A4D-4B1E-9C3A-1D2E3F4A5B6C", JSON_FORMAT_UUID},
        {"5f0c7b1e-8a4d-4b1e-9c3a-1d2e3f4a5b6", JSON_FORMAT_NONE},
        {"jane@example.com", JSON_FORMAT_EMAIL},
        {"jane@localhost", JSON_FORMAT_NONE},
        {"Jane <jane@example.com>", JSON_FORMAT_NONE},
        {"1957", JSON_FORMAT_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (json_string_format(cases[i].value, strlen(cases[i].value)) != cases[i].format)
            fail_msg("format of %s", cases[i].value);
    assert_string_equal(json_format_name(JSON_FORMAT_DATE_TIME), "date-time");
    assert_string_equal(json_kind_name(JSON_KIND_INTEGER), "integer");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kinds_and_formats),
        cmocka_unit_test(arrays_of_records_merge),
        cmocka_unit_test(value_events),
        cmocka_unit_test(names_are_decoded_and_checked),
        cmocka_unit_test(depth_bound),
        cmocka_unit_test(depth_bound_above_64),
        cmocka_unit_test(huge_array_and_field_bound),
        cmocka_unit_test(name_length_bound),
        cmocka_unit_test(truncated_bodies),
        cmocka_unit_test(invalid_and_top_level),
        cmocka_unit_test(string_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
