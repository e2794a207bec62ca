/* Unit tests of the sink router: each kind reaches the right file sink in the
 * selected format, transactions only when a sink wants them, stats carry the
 * sinks' figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "export/sink_router.h"

#define V(text) ((str_view){text, (uint32_t)sizeof(text) - 1})

/* The whole file as a NUL-terminated string (caller frees). */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static int count_lines(const char *text) {
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static void routes_each_kind(void **state) {
    (void)state;
    char events_path[] = "/tmp/apisensor-router-events.XXXXXX";
    char tx_path[] = "/tmp/apisensor-router-tx.XXXXXX";
    close(mkstemp(events_path));
    close(mkstemp(tx_path));
    char err[256];
    sink *events = NULL, *transactions = NULL;
    assert_int_equal(sink_file_create(events_path, err, sizeof err, &events), AS_OK);
    assert_int_equal(sink_file_create(tx_path, err, sizeof err, &transactions), AS_OK);
    sink_router_config config = {FORMAT_SPLUNK, {"s1", "0.1.0"}, events, transactions, NULL, 0};
    sink_router *r = NULL;
    assert_int_equal(sink_router_create(&config, &r), AS_OK);
    assert_true(sink_router_wants_transactions(r));

    endpoint_record e;
    memset(&e, 0, sizeof e);
    e.endpoint = (record_endpoint){V("GET"), V("api"), V("/users/{id}")};
    sink_router_endpoint(r, &e);
    finding_record f;
    memset(&f, 0, sizeof f);
    f.id = V("f1");
    f.type = V("shadow_api");
    f.severity = V("low");
    sink_router_finding(r, &f);
    http_transaction tx;
    memset(&tx, 0, sizeof tx);
    tx.method = V("GET");
    tx.uri = V("/users/1");
    tx.request.present = 1;
    sink_router_transaction(r, "1:abc", &tx, NULL);
    json_writer own; /* an event the caller encodes itself */
    json_writer_init(&own);
    json_object_begin(&own);
    json_key(&own, "event");
    json_cstring(&own, "unseen_operation");
    json_object_end(&own);
    sink_router_event(r, SINK_ENDPOINTS, "k", 1, &own);
    json_writer_free(&own);
    stats_record s;
    memset(&s, 0, sizeof s);
    s.final = 1;
    sink_router_stats(r, &s);
    assert_int_equal(s.exported.written, 4); /* endpoint, finding, transaction, own */
    assert_int_equal(sink_router_errors(r), 0);
    sink_router_destroy(r);
    sink_destroy(events);
    sink_destroy(transactions);

    char *ev = slurp(events_path);
    char *tr = slurp(tx_path);
    assert_int_equal(count_lines(ev), 4);
    assert_non_null(strstr(ev, "{\"event\":\"unseen_operation\"}\n"));
    assert_non_null(strstr(ev, "\"sourcetype\":\"apisensor:endpoint\""));
    assert_non_null(strstr(ev, "\"sourcetype\":\"apisensor:finding\""));
    assert_non_null(strstr(ev, "\"sourcetype\":\"apisensor:stats\""));
    assert_int_equal(count_lines(tr), 1);
    assert_non_null(strstr(tr, "\"sourcetype\":\"apisensor:transaction\""));
    assert_non_null(strstr(tr, "\"community_id\":\"1:abc\""));
    free(ev);
    free(tr);
    unlink(events_path);
    unlink(tx_path);
}

static void no_transaction_sink_skips_transactions(void **state) {
    (void)state;
    sink_router_config config = {FORMAT_NATIVE, {"s1", "0.1.0"}, NULL, NULL, NULL, 1};
    sink_router *r = NULL;
    assert_int_equal(sink_router_create(&config, &r), AS_OK);
    /* kafka_transactions without a Kafka sink: nobody wants them */
    assert_false(sink_router_wants_transactions(r));
    http_transaction tx;
    memset(&tx, 0, sizeof tx);
    sink_router_transaction(r, "1:abc", &tx, NULL);
    sink_stats st = sink_router_sink_stats(r);
    assert_int_equal(st.written, 0);
    sink_router_destroy(r);
    sink_router_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_each_kind),
        cmocka_unit_test(no_transaction_sink_skips_transactions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
