/* Unit tests of the finding event: the CONTRACT.md shape, optional keys, evidence and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "export/finding_event.h"

#define V(text) ((str_view){text, (uint32_t)sizeof(text) - 1})

static const event_sensor sensor = {"s1", "0.1.0"};

static ip_address v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    ip_address ip = {4, {a, b, c, d}};
    return ip;
}

static void writes_behavioural_finding(void **state) {
    (void)state;
    static const str_view statuses[] = {V("200"), V("404")};
    ip_address clients[2] = {v4(10, 1, 2, 3), v4(10, 1, 2, 4)};
    record_endpoint endpoints[1] = {{V("GET"), V("shop"), V("/orders/{id}")}};
    finding_record r;
    memset(&r, 0, sizeof r);
    r.ts_ns = 1700000000000000000ull;
    r.id = V("f-1");
    r.type = V("bola");
    r.severity = V("high");
    r.owasp = V("API1:2023");
    r.first_seen_ns = 1699999990000000000ull;
    r.last_seen_ns = 1700000000000000000ull;
    r.count = 110;
    r.summary = V("jwt_sub 17 read 110 orders of 9 other users");
    r.identity_kind = V("jwt_sub");
    r.identity_id = V("17");
    r.client_ip = clients[0];
    r.clients = clients;
    r.client_count = 2;
    r.endpoints = endpoints;
    r.endpoint_count = 1;
    r.evidence[0] =
        (record_evidence){.key = "foreign_objects", .kind = RECORD_EVIDENCE_INT, .number = 96};
    r.evidence[1] = (record_evidence){.key = "statuses",
                                      .kind = RECORD_EVIDENCE_STRING_LIST,
                                      .list = (record_str_list){statuses, 2}};
    r.evidence[2] = (record_evidence){
        .key = "sample_path", .kind = RECORD_EVIDENCE_STRING, .text = V("/orders/5")};
    r.evidence_count = 3;
    json_writer w;
    json_writer_init(&w);
    finding_event_write(&w, &sensor, &r);
    assert_true(json_writer_ok(&w));
    assert_string_equal(
        w.buf, "{\"event\":\"finding\",\"@timestamp\":\"2023-11-14T22:13:20.000000Z\","
               "\"sensor\":{\"name\":\"s1\",\"version\":\"0.1.0\"},"
               "\"finding\":{\"id\":\"f-1\",\"type\":\"bola\",\"severity\":\"high\","
               "\"owasp\":\"API1:2023\",\"first_seen\":\"2023-11-14T22:13:10.000000Z\","
               "\"last_seen\":\"2023-11-14T22:13:20.000000Z\",\"count\":110,"
               "\"summary\":\"jwt_sub 17 read 110 orders of 9 other users\"},"
               "\"identity\":{\"kind\":\"jwt_sub\",\"id\":\"17\"},\"client\":{\"ip\":\"10.1.2.3\"},"
               "\"clients\":[\"10.1.2.3\",\"10.1.2.4\"],"
               "\"endpoints\":[{\"method\":\"GET\",\"host\":\"shop\",\"path\":\"/orders/{id}\"}],"
               "\"evidence\":{\"foreign_objects\":96,\"statuses\":[\"200\",\"404\"],"
               "\"sample_path\":\"/orders/5\"}}");
    char key[64];
    assert_int_equal(finding_event_key(&r, key, sizeof key), 10);
    assert_string_equal(key, "jwt_sub:17");
    json_writer_free(&w);
}

static void writes_posture_finding(void **state) {
    (void)state;
    static const str_view types[] = {V("api_key")};
    finding_record r;
    memset(&r, 0, sizeof r);
    r.id = V("f-2");
    r.type = V("token_in_url");
    r.severity = V("medium");
    r.has_endpoint = 1;
    r.endpoint = (record_endpoint){V("GET"), V("api"), V("/search")};
    r.parameter = V("api_key");
    r.data_types = (record_str_list){types, 1};
    json_writer w;
    json_writer_init(&w);
    finding_event_write(&w, &sensor, &r);
    assert_true(json_writer_ok(&w));
    /* anonymous: identity null; no owasp: null; no actor address: no client keys */
    assert_non_null(strstr(w.buf, "\"owasp\":null,"));
    assert_non_null(strstr(w.buf, "\"summary\":null},\"identity\":null,\"endpoint\":{"));
    assert_null(strstr(w.buf, "\"client"));
    assert_non_null(strstr(w.buf, "\"parameter\":\"api_key\",\"data_types\":[\"api_key\"],"
                                  "\"evidence\":{}}"));
    char key[64];
    finding_event_key(&r, key, sizeof key);
    assert_string_equal(key, "GET api /search");
    r.has_endpoint = 0;
    finding_event_key(&r, key, sizeof key);
    assert_string_equal(key, "f-2");
    r.client_ip = v4(192, 168, 0, 1);
    finding_event_key(&r, key, sizeof key);
    assert_string_equal(key, "client_ip:192.168.0.1");
    json_writer_free(&w);
}

static void evidence_is_bounded(void **state) {
    (void)state;
    finding_record r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < RECORD_MAX_EVIDENCE; i++)
        r.evidence[i] = (record_evidence){.key = "n", .kind = RECORD_EVIDENCE_INT, .number = i};
    r.evidence_count = RECORD_MAX_EVIDENCE + 5; /* more than the array holds */
    json_writer w;
    json_writer_init(&w);
    finding_event_evidence(&w, &r);
    assert_true(json_writer_ok(&w));
    assert_non_null(strstr(w.buf, "\"n\":15}"));
    json_writer_free(&w);
}

/* A string map is an object of its pairs, in order; a pair missing its
 * name or its value, or beyond the shorter list, is left out. */
static void evidence_string_map(void **state) {
    (void)state;
    str_view names[] = {V("credit_card"), V("ssn"), {NULL, 0}, V("iban")};
    str_view values[] = {V("4111********1111"), {NULL, 0}, V("x"), V("DE89***3000")};
    finding_record r;
    memset(&r, 0, sizeof r);
    r.evidence[0] = (record_evidence){.key = "masked_values",
                                      .kind = RECORD_EVIDENCE_STRING_MAP,
                                      .list = {values, 4},
                                      .names = {names, 4}};
    r.evidence[1] = (record_evidence){.key = "short",
                                      .kind = RECORD_EVIDENCE_STRING_MAP,
                                      .list = {values, 1},
                                      .names = {names, 4}};
    r.evidence_count = 2;
    json_writer w;
    json_writer_init(&w);
    finding_event_evidence(&w, &r);
    assert_true(json_writer_ok(&w));
    assert_string_equal(w.buf, "{\"masked_values\":{\"credit_card\":\"4111********1111\","
                               "\"iban\":\"DE89***3000\"},"
                               "\"short\":{\"credit_card\":\"4111********1111\"}}");
    json_writer_free(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writes_behavioural_finding),
        cmocka_unit_test(writes_posture_finding),
        cmocka_unit_test(evidence_is_bounded),
        cmocka_unit_test(evidence_string_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
