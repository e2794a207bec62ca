/* Unit tests of the transaction event: Community ID vectors and the contract shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "export/transaction_event.h"

static ip_address v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    ip_address ip = {4, {a, b, c, d}};
    return ip;
}

static void community_id_matches_published_vector(void **state) {
    (void)state;
    /* Vector of the Community ID spec (as in Zeek's tests): 1.2.3.4:1122 -> 5.6.7.8:3344 TCP */
    ip_address a = v4(1, 2, 3, 4), b = v4(5, 6, 7, 8);
    char out[64];
    community_id *cid = NULL;
    assert_int_equal(community_id_create(&cid), AS_OK);
    assert_string_equal(community_id_format(cid, &a, 1122, &b, 3344, 6, out, sizeof out),
                        "1:wCb3OG7yAFWelaUydu0D+125CLM=");
    /* same flow seen from the other side */
    assert_string_equal(community_id_format(cid, &b, 3344, &a, 1122, 6, out, sizeof out),
                        "1:wCb3OG7yAFWelaUydu0D+125CLM=");
    /* UDP vector */
    assert_string_equal(community_id_format(cid, &a, 1122, &b, 3344, 17, out, sizeof out),
                        "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=");
    /* IPv6 flow: both orientations give one ID of the right shape */
    ip_address c = {6, {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
    ip_address d = {6, {0x20, 0x01, 0x0d, 0xb8, [15] = 2}};
    char other[64];
    community_id_format(cid, &c, 80, &d, 40000, 6, out, sizeof out);
    community_id_format(cid, &d, 40000, &c, 80, 6, other, sizeof other);
    assert_string_equal(out, other);
    assert_int_equal(strlen(out), 30); /* "1:" + 28 base64 characters of SHA-1 */
    community_id_destroy(cid);
}

static void formats_packet_time_in_utc(void **state) {
    (void)state;
    char out[40];
    assert_string_equal(event_format_time(0, out, sizeof out), "1970-01-01T00:00:00.000000Z");
    assert_string_equal(event_format_time(1700000000123456789ull, out, sizeof out),
                        "2023-11-14T22:13:20.123456Z");
    /* leap day, and the last microsecond of a leap year */
    assert_string_equal(event_format_time(951782400000000000ull, out, sizeof out),
                        "2000-02-29T00:00:00.000000Z");
    assert_string_equal(event_format_time(1483228799999999000ull, out, sizeof out),
                        "2016-12-31T23:59:59.999999Z");
    /* the largest nanosecond count */
    assert_string_equal(event_format_time(UINT64_MAX, out, sizeof out),
                        "2554-07-21T23:34:33.709551Z");
    char small[8] = "x";
    assert_string_equal(event_format_time(0, small, sizeof small), "");
}

static void writes_contract_shape(void **state) {
    (void)state;
    static const http_header_view headers[] = {
        {{"Host", 4}, {"api.example.com", 15}},
    };
    http_transaction tx;
    memset(&tx, 0, sizeof tx);
    tx.client_ip = v4(10, 0, 0, 5);
    tx.server_ip = v4(10, 0, 0, 9);
    tx.client_port = 51234;
    tx.server_port = 8080;
    tx.version_major = 1;
    tx.version_minor = 1;
    tx.method = (str_view){"GET", 3};
    tx.uri = (str_view){"/users/17?expand=1", 18};
    tx.host = (str_view){"api.example.com", 15};
    tx.status = 200;
    tx.request.present = 1;
    tx.request.first_ts_ns = 1700000000000000000ull;
    tx.request.last_ts_ns = 1700000000000100000ull;
    tx.request.headers = headers;
    tx.request.header_count = 1;
    tx.request.body_bytes_known = 1;
    tx.response.present = 1;
    tx.response.first_ts_ns = 1700000000001930000ull;
    tx.response.last_ts_ns = 1700000000002000000ull;
    tx.response.content_type = (str_view){"application/json", 16};
    tx.response.body_bytes_known = 1;
    tx.response.body_bytes = 412;
    tx.flags = TX_FLAG_RESPONSE_GAP;
    event_sensor sensor = {"s1", "0.1.0"};
    community_id *cid = NULL;
    assert_int_equal(community_id_create(&cid), AS_OK);
    json_writer w;
    json_writer_init(&w);
    transaction_event_write(&w, &sensor, cid, &tx);
    assert_true(json_writer_ok(&w));
    char community[64];
    community_id_format(cid, &tx.client_ip, 51234, &tx.server_ip, 8080, 6, community,
                        sizeof community);
    char expected[1024];
    snprintf(expected, sizeof expected,
             "{\"event\":\"transaction\",\"@timestamp\":\"2023-11-14T22:13:20.000000Z\","
             "\"sensor\":{\"name\":\"s1\",\"version\":\"0.1.0\"},\"community_id\":\"%s\","
             "\"client\":{\"ip\":\"10.0.0.5\",\"port\":51234},"
             "\"server\":{\"ip\":\"10.0.0.9\",\"port\":8080},"
             "\"http\":{\"version\":\"1.1\",\"method\":\"GET\",\"host\":\"api.example.com\","
             "\"uri\":\"/users/17?expand=1\",\"status\":200,\"latency_us\":1830,"
             "\"request\":{\"content_type\":null,\"body_bytes\":0},"
             "\"response\":{\"content_type\":\"application/json\",\"body_bytes\":412}},"
             "\"flags\":[\"response_gap\"]}",
             community);
    assert_string_equal(w.buf, expected);
    json_writer_free(&w);
    community_id_destroy(cid);
}

static void missing_response_gives_nulls(void **state) {
    (void)state;
    http_transaction tx;
    memset(&tx, 0, sizeof tx);
    tx.client_ip = v4(10, 0, 0, 5);
    tx.server_ip = v4(10, 0, 0, 9);
    tx.version_major = 1;
    tx.method = (str_view){"POST", 4};
    tx.uri = (str_view){"/login", 6};
    tx.request.present = 1;
    tx.request.body_bytes_known = 0; /* the request body never completed */
    tx.flags = TX_FLAG_NO_RESPONSE | TX_FLAG_INCOMPLETE;
    event_sensor sensor = {"s1", "0.1.0"};
    community_id *cid = NULL;
    assert_int_equal(community_id_create(&cid), AS_OK);
    json_writer w;
    json_writer_init(&w);
    transaction_event_write(&w, &sensor, cid, &tx);
    assert_non_null(strstr(w.buf, "\"host\":null,"));
    assert_non_null(strstr(w.buf, "\"status\":null,\"latency_us\":null,"));
    assert_non_null(strstr(w.buf, "\"request\":{\"content_type\":null,\"body_bytes\":null}"));
    assert_non_null(strstr(w.buf, "\"response\":{\"content_type\":null,\"body_bytes\":null}"));
    assert_non_null(strstr(w.buf, "\"flags\":[\"no_response\",\"incomplete\"]"));
    json_writer_free(&w);
    community_id_destroy(cid);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(community_id_matches_published_vector),
        cmocka_unit_test(formats_packet_time_in_utc),
        cmocka_unit_test(writes_contract_shape),
        cmocka_unit_test(missing_response_gives_nulls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
