/* Unit tests of the format helpers and of facts every format derives the same way:
 * host names without ports, request-target splitting, fixed-point numbers,
 * format names, and per-format classification of a transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "export/transaction_event.h"

#define V(text) ((str_view){text, (uint32_t)sizeof(text) - 1})

static void host_name_drops_the_port(void **state) {
    (void)state;
    str_view h = format_host_name(V("api.example.com:8443"));
    assert_int_equal(h.len, 15);
    assert_memory_equal(h.ptr, "api.example.com", 15);
    h = format_host_name(V("api.example.com"));
    assert_int_equal(h.len, 15);
    h = format_host_name(V("[2001:db8::1]:80")); /* IPv6 literal with port */
    assert_int_equal(h.len, 11);
    assert_memory_equal(h.ptr, "2001:db8::1", 11);
    h = format_host_name(V("2001:db8::1")); /* bare IPv6: every colon is part of it */
    assert_int_equal(h.len, 11);
    h = format_host_name(V("host:")); /* no digits after the colon: kept */
    assert_int_equal(h.len, 5);
    assert_null(format_host_name((str_view){NULL, 0}).ptr);
}

static void uri_splits_at_the_first_question_mark(void **state) {
    (void)state;
    str_view path, query;
    format_split_uri(V("/users/17?expand=1&q=a?b"), &path, &query);
    assert_int_equal(path.len, 9);
    assert_memory_equal(query.ptr, "expand=1&q=a?b", query.len);
    format_split_uri(V("/users"), &path, &query);
    assert_int_equal(path.len, 6);
    assert_null(query.ptr);
    format_split_uri(V("/x?"), &path, &query);
    assert_int_equal(path.len, 2);
    assert_non_null(query.ptr);
    assert_int_equal(query.len, 0);
}

static void fixed_point_numbers(void **state) {
    (void)state;
    json_writer w;
    json_writer_init(&w);
    json_array_begin(&w);
    json_fixed(&w, 1700000000123456ull, 6);
    json_fixed(&w, 74, 3);
    json_fixed(&w, 5, 0);
    json_array_end(&w);
    assert_string_equal(w.buf, "[1700000000.123456,0.074,5]");
    json_writer_free(&w);
}

static void format_names(void **state) {
    (void)state;
    export_format f;
    assert_true(format_parse("ocsf", &f));
    assert_int_equal(f, FORMAT_OCSF);
    assert_string_equal(format_name(FORMAT_SPLUNK), "splunk");
    assert_false(format_parse("cef", &f));
    assert_false(format_parse(NULL, &f));
}

/* A DELETE answered 404, in each format. */
static void transaction_in_each_format(void **state) {
    (void)state;
    http_transaction tx;
    memset(&tx, 0, sizeof tx);
    tx.client_ip = (ip_address){4, {10, 0, 0, 5}};
    tx.server_ip = (ip_address){4, {10, 0, 0, 9}};
    tx.client_port = 51234;
    tx.server_port = 8080;
    tx.version_major = 1;
    tx.version_minor = 1;
    tx.method = V("DELETE");
    tx.uri = V("/users/17?force=1");
    tx.host = V("api.example.com:8080");
    tx.status = 404;
    tx.request.present = 1;
    tx.request.first_ts_ns = 1700000000000000000ull;
    tx.request.last_ts_ns = 1700000000000000000ull;
    tx.response.present = 1;
    tx.response.first_ts_ns = 1700000000002500000ull;
    event_sensor sensor = {"s1", "0.1.0"};
    json_writer w;
    json_writer_init(&w);

    transaction_event_write_as(&w, FORMAT_ECS, &sensor, "1:abc", &tx, NULL);
    assert_non_null(strstr(w.buf, "\"outcome\":\"failure\",\"duration\":2500000}"));
    assert_non_null(strstr(w.buf, "\"url\":{\"original\":\"/users/17?force=1\","
                                  "\"path\":\"/users/17\",\"query\":\"force=1\","
                                  "\"domain\":\"api.example.com\"}"));
    json_writer_reset(&w);

    transaction_event_write_as(&w, FORMAT_OCSF, &sensor, "1:abc", &tx, NULL);
    assert_non_null(strstr(w.buf, "{\"activity_id\":4,\"activity_name\":\"Delete\","
                                  "\"category_uid\":6,"));
    assert_non_null(strstr(w.buf, "\"type_uid\":600304,"));
    assert_non_null(strstr(w.buf, "\"status_id\":2,\"status\":\"Failure\""));
    assert_non_null(strstr(w.buf, "\"http_response\":{\"code\":404,\"latency\":2}"));
    json_writer_reset(&w);

    transaction_event_write_as(&w, FORMAT_SPLUNK, &sensor, "1:abc", &tx, NULL);
    assert_non_null(strstr(w.buf, "{\"time\":1700000000.000000,\"host\":\"s1\","
                                  "\"source\":\"apisensor\","
                                  "\"sourcetype\":\"apisensor:transaction\",\"event\":{"));
    assert_non_null(strstr(w.buf, "\"uri_path\":\"/users/17\",\"uri_query\":\"force=1\","
                                  "\"status\":404,"));
    assert_non_null(strstr(w.buf, "\"response_time\":2.500,"));
    json_writer_free(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_name_drops_the_port),
        cmocka_unit_test(uri_splits_at_the_first_question_mark),
        cmocka_unit_test(fixed_point_numbers),
        cmocka_unit_test(format_names),
        cmocka_unit_test(transaction_in_each_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
