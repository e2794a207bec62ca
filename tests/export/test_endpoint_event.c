/* Unit tests of the endpoint event: the CONTRACT.md shape, absent lists, extras and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "export/endpoint_event.h"
#include "parse/json_fields.h"

#define V(text) ((str_view){text, (uint32_t)sizeof(text) - 1})

static const event_sensor sensor = {"s1", "0.1.0"};

static void writes_contract_shape(void **state) {
    (void)state;
    static const str_view auth[] = {V("bearer_jwt")};
    static const str_view response_types[] = {V("email")};
    static const record_status_count codes[] = {{200, 120}, {404, 8}};
    endpoint_record r;
    memset(&r, 0, sizeof r);
    r.ts_ns = 1700000000000000000ull;
    r.endpoint = (record_endpoint){V("GET"), V("api.example.com"), V("/users/{id}")};
    r.status = RECORD_ENDPOINT_DECLARED;
    r.auth = (record_str_list){auth, 1};
    r.sensitive_data.response_body = (record_str_list){response_types, 1};
    r.requests = 128;
    r.status_codes = codes;
    r.status_code_count = 2;
    r.identities = 37;
    r.clients = 35;
    r.first_seen_ns = 1699999990000000000ull;
    r.last_seen_ns = 1700000000000000000ull;
    json_writer w;
    json_writer_init(&w);
    endpoint_event_write(&w, &sensor, &r);
    assert_true(json_writer_ok(&w));
    assert_string_equal(
        w.buf, "{\"event\":\"endpoint\",\"@timestamp\":\"2023-11-14T22:13:20.000000Z\","
               "\"sensor\":{\"name\":\"s1\",\"version\":\"0.1.0\"},"
               "\"endpoint\":{\"method\":\"GET\",\"host\":\"api.example.com\","
               "\"path\":\"/users/{id}\"},\"status\":\"declared\",\"auth\":[\"bearer_jwt\"],"
               "\"sensitive_data\":{\"request_body\":[],\"request_headers\":[],\"query\":[],"
               "\"response_body\":[\"email\"]},\"requests\":128,"
               "\"status_codes\":{\"200\":120,\"404\":8},\"identities\":37,\"clients\":35,"
               "\"first_seen\":\"2023-11-14T22:13:10.000000Z\","
               "\"last_seen\":\"2023-11-14T22:13:20.000000Z\"}");
    json_writer_free(&w);
}

static void writes_extras_when_present(void **state) {
    (void)state;
    static const str_view request_types[] = {V("application/json")};
    static const record_parameter params[] = {
        {V("id"), V("path"), V("integer")},
        {V("expand"), V("query"), {NULL, 0}},
    };
    endpoint_record r;
    memset(&r, 0, sizeof r);
    r.endpoint = (record_endpoint){V("POST"), {NULL, 0}, V("/orders")};
    r.request_content_types = (record_str_list){request_types, 1};
    r.parameters = params;
    r.parameter_count = 2;
    json_writer w;
    json_writer_init(&w);
    endpoint_event_write(&w, &sensor, &r);
    assert_true(json_writer_ok(&w));
    /* no spec: unknown; the host is null when the record has none */
    assert_non_null(strstr(w.buf, "\"host\":null,"));
    assert_non_null(strstr(w.buf, "\"status\":\"unknown\",\"auth\":[],"));
    assert_non_null(strstr(w.buf, "\"status_codes\":{},"));
    assert_non_null(strstr(w.buf, "\"content_types\":{\"request\":[\"application/json\"],"
                                  "\"response\":[]},"
                                  "\"parameters\":[{\"name\":\"id\",\"in\":\"path\","
                                  "\"type\":\"integer\"},{\"name\":\"expand\",\"in\":\"query\","
                                  "\"type\":null}]}"));
    json_writer_free(&w);
}

static void writes_body_fields(void **state) {
    (void)state;
    /* paths from traffic are escaped; types in json_kind order */
    static const record_field request[] = {
        {V("qty"), (1u << JSON_KIND_INTEGER) | (1u << JSON_KIND_NULL)},
        {V("say \"hi\""), 1u << JSON_KIND_STRING},
        {V("items[].sku"), 1u << JSON_KIND_STRING},
    };
    endpoint_record r;
    memset(&r, 0, sizeof r);
    r.endpoint = (record_endpoint){V("POST"), V("api.example.com"), V("/orders")};
    r.request_fields = (record_field_list){request, 3};
    r.response_fields = (record_field_list){request, 0}; /* empty: left out */
    json_writer w;
    json_writer_init(&w);
    endpoint_event_write(&w, &sensor, &r);
    assert_true(json_writer_ok(&w));
    assert_non_null(strstr(w.buf, ",\"request_fields\":{\"qty\":[\"null\",\"integer\"],"
                                  "\"say \\\"hi\\\"\":[\"string\"],"
                                  "\"items[].sku\":[\"string\"]}}"));
    assert_null(strstr(w.buf, "response_fields"));
    json_writer_free(&w);
}

static void status_names(void **state) {
    (void)state;
    assert_string_equal(endpoint_event_status_name(RECORD_ENDPOINT_SHADOW), "shadow");
    assert_string_equal(endpoint_event_status_name(RECORD_ENDPOINT_ZOMBIE), "zombie");
    assert_string_equal(endpoint_event_status_name((record_endpoint_status)42), "unknown");
}

static void key_is_method_host_path(void **state) {
    (void)state;
    record_endpoint e = {V("GET"), V("api.example.com"), V("/users/{id}")};
    char key[64];
    assert_int_equal(endpoint_event_key(&e, key, sizeof key), 31);
    assert_string_equal(key, "GET api.example.com /users/{id}");
    char small[8];
    assert_int_equal(endpoint_event_key(&e, small, sizeof small), 7);
    assert_string_equal(small, "GET api");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writes_contract_shape),   cmocka_unit_test(writes_extras_when_present),
        cmocka_unit_test(writes_body_fields),      cmocka_unit_test(status_names),
        cmocka_unit_test(key_is_method_host_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
