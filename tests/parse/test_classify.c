/*
 * Tests of the nDPI classifier on real captures: flows are counted under the
 * protocol nDPI names, nDPI state is bounded by ndpi_max_packets, and every
 * flow is counted once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "capture/decode.h"
#include "capture/flow_table.h"
#include "capture/source.h"
#include "parse/classify.h"

#define MAX_NAMES 32

typedef struct protocol_counts {
    char names[MAX_NAMES][32];
    uint64_t flows[MAX_NAMES];
    int count;
} protocol_counts;

static void collect(const char *name, uint64_t flows, void *arg) {
    protocol_counts *pc = arg;
    if (pc->count == MAX_NAMES)
        return;
    snprintf(pc->names[pc->count], sizeof pc->names[0], "%s", name);
    pc->flows[pc->count++] = flows;
}

static uint64_t flows_of(const protocol_counts *pc, const char *name) {
    for (int i = 0; i < pc->count; i++)
        if (!strcmp(pc->names[i], name))
            return pc->flows[i];
    return 0;
}

/* Flows of the last classify_capture with each CLASSIFY_RISK_* bit. */
static uint64_t flows_with_risk[CLASSIFY_RISK_COUNT];

/* When set, classify_capture gives up on each flow after its first packet
 * that reached nDPI (classifier_give_up). */
static int give_up_early;

/* Runs a capture through decoder, flow table and classifier; returns the
 * per-protocol counts and the largest number of packets nDPI saw in a flow. */
static void classify_capture(const char *file, int64_t max_packets, protocol_counts *pc,
                             uint64_t *flows_total, unsigned *most_packets) {
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/pcaps/%s", SHARED_DIR, file);
    limits lim = limits_default();
    lim.ndpi_max_packets = max_packets;
    capture_source *src = NULL;
    decoder *dec = NULL;
    flow_table *ft = NULL;
    classifier *cls = NULL;
    assert_int_equal(capture_source_open_file(path, NULL, err, sizeof err, &src), AS_OK);
    assert_int_equal(decoder_create(&lim, &dec), AS_OK);
    assert_int_equal(flow_table_create(&lim, &ft), AS_OK);
    assert_int_equal(classifier_create(&lim, &cls), AS_OK);
    static classify_flow state[300000];
    assert_true(flow_table_slot_count(ft) <= sizeof state / sizeof state[0]);
    memset(state, 0, sizeof state);
    *flows_total = 0;
    *most_packets = 0;
    memset(flows_with_risk, 0, sizeof flows_with_risk);
    capture_packet pkt;
    decoded_packet dp;
    for (;;) {
        as_status st = capture_source_next(src, &pkt);
        if (st != AS_OK) {
            flow_table_end_all(ft);
        } else if (decoder_decode(dec, &pkt, &dp, NULL) == AS_OK) {
            flow *f;
            flow_direction dir;
            assert_int_equal(flow_table_lookup(ft, &dp, &f, &dir, NULL), AS_OK);
            classifier_packet(cls, &state[f->slot], &dp);
            if (give_up_early && state[f->slot].packets > 0) {
                classifier_give_up(cls, &state[f->slot]);
                assert_true(state[f->slot].done);
                assert_null(state[f->slot].ndpi); /* state back in the pool at once */
            }
            if (state[f->slot].packets > *most_packets)
                *most_packets = state[f->slot].packets;
        }
        flow *ended;
        while ((ended = flow_table_take_ended(ft)) != NULL) {
            uint32_t risks = classify_flow_risks(&state[ended->slot]);
            for (int bit = 0; bit < CLASSIFY_RISK_COUNT; bit++)
                flows_with_risk[bit] += (risks >> bit) & 1u;
            classifier_finish(cls, &state[ended->slot]);
            assert_null(state[ended->slot].ndpi); /* state returned to the pool */
            (*flows_total)++;
            flow_table_recycle(ft, ended);
        }
        if (st != AS_OK)
            break;
    }
    memset(pc, 0, sizeof *pc);
    classifier_foreach_count(cls, collect, pc);
    classifier_destroy(cls);
    flow_table_destroy(ft);
    decoder_destroy(dec);
    capture_source_destroy(src);
}

static void http_flows_are_counted_as_http(void **state) {
    (void)state;
    protocol_counts pc;
    uint64_t flows;
    unsigned most;
    classify_capture("edge/http-api-mix.pcap", 16, &pc, &flows, &most);
    /* 6 keep-alive flows on port 80 and one on 8080 */
    assert_int_equal(flows, 7);
    assert_true(flows_of(&pc, "HTTP") + flows_of(&pc, "HTTP_Proxy") == 7);
    uint64_t counted = 0;
    for (int i = 0; i < pc.count; i++)
        counted += pc.flows[i];
    assert_int_equal(counted, flows); /* every flow counted exactly once */
}

static void non_http_on_port_80_is_named(void **state) {
    (void)state;
    protocol_counts pc;
    uint64_t flows;
    unsigned most;
    classify_capture("edge/non-http-on-port-80.pcap", 16, &pc, &flows, &most);
    /* TLS, SSH, random bytes, a malformed request line, one real request */
    assert_int_equal(flows, 5);
    assert_int_equal(flows_of(&pc, "SSH"), 1);
    /* The crafted TLS record is no full ClientHello: nDPI falls back to the
     * port (HTTP). The HTTP engine's content check is what keeps that flow
     * from becoming a transaction (tests/app edge non-http-on-port-80). */
    assert_int_equal(flows_of(&pc, "HTTP"), 4);
}

static void ndpi_sees_at_most_max_packets(void **state) {
    (void)state;
    protocol_counts pc;
    uint64_t flows;
    unsigned most;
    classify_capture("real/zeek-http-post-large.pcap", 3, &pc, &flows, &most);
    assert_true(flows > 0);
    assert_true(most <= 3);
}

static void giving_up_keeps_the_guess(void **state) {
    (void)state;
    protocol_counts pc;
    uint64_t flows;
    unsigned most;
    give_up_early = 1;
    classify_capture("edge/non-http-on-port-80.pcap", 16, &pc, &flows, &most);
    give_up_early = 0;
    /* one packet each, every flow still counted under nDPI's guess */
    assert_int_equal(most, 1);
    assert_int_equal(flows, 5);
    uint64_t counted = 0;
    for (int i = 0; i < pc.count; i++)
        counted += pc.flows[i];
    assert_int_equal(counted, flows);
    /* the SSH flow had not shown nDPI both banners yet: the port's guess */
    assert_int_equal(flows_of(&pc, "SSH"), 0);
    assert_int_equal(flows_of(&pc, "HTTP"), 5);
}

static void half_open_flows_hold_no_ndpi_state(void **state) {
    (void)state;
    protocol_counts pc;
    uint64_t flows;
    unsigned most;
    /* 100,000 SYNs from random sources, then one real transaction */
    classify_capture("edge/syn-flood-100k.pcap", 16, &pc, &flows, &most);
    assert_int_equal(flows, 100001);
    assert_int_equal(flows_of(&pc, "Unknown"), 100000);
    assert_int_equal(flows_of(&pc, "HTTP"), 1);
}

static void flow_risks_are_kept_at_the_verdict(void **state) {
    (void)state;
    protocol_counts pc;
    uint64_t flows;
    unsigned most;
    /* a Log4Shell attempt: "jndi:ldap://..." in the User-Agent of the
     * flow's first request */
    classify_capture("real/ndpi-log4j-webapp-exploit.pcap", 16, &pc, &flows, &most);
    assert_true(flows_with_risk[4] >= 1); /* CLASSIFY_RISK_SUSPICIOUS_USER_AGENT */
    assert_true(flows_with_risk[5] >= 1); /* CLASSIFY_RISK_POSSIBLE_EXPLOIT */
    assert_int_equal(flows_with_risk[0] + flows_with_risk[1] + flows_with_risk[2], 0);
    /* ordinary API traffic carries none */
    classify_capture("edge/http-api-mix.pcap", 16, &pc, &flows, &most);
    for (int bit = 0; bit < CLASSIFY_RISK_COUNT; bit++)
        assert_int_equal(flows_with_risk[bit], 0);
}

static void url_check_finds_injections(void **state) {
    (void)state;
#define URL_RISKS(s) classify_url_risks(s, sizeof(s) - 1)
    assert_int_equal(URL_RISKS("/api/users?id=1'%20OR%201=1--"), CLASSIFY_RISK_SQL_INJECTION);
    assert_int_equal(URL_RISKS("/a?q=%27%20union%20select%20password%20from%20users--"),
                     CLASSIFY_RISK_SQL_INJECTION);
    assert_int_equal(URL_RISKS("/search?q=<script>alert(1)</script>"), CLASSIFY_RISK_XSS);
    assert_int_equal(URL_RISKS("//index.php?page=../../../etc/passwd"),
                     CLASSIFY_RISK_PATH_TRAVERSAL);
    assert_int_equal(URL_RISKS("/static/../../etc/passwd"), CLASSIFY_RISK_PATH_TRAVERSAL);
    /* ordinary targets, with and without queries, apostrophes in names */
    assert_int_equal(URL_RISKS("/api/v1/users/17"), 0);
    assert_int_equal(URL_RISKS("/api/users?id=17&expand=orders"), 0);
    assert_int_equal(URL_RISKS("/api?email=a%40b.com&name=O%27Brien"), 0);
    /* ".." inside a name is no traversal (nDPI alone would flag it) */
    assert_int_equal(URL_RISKS("/files/report.v1..final"), 0);
    assert_int_equal(URL_RISKS("/files/a/.."), CLASSIFY_RISK_PATH_TRAVERSAL);
#undef URL_RISKS
    /* only the first CLASSIFY_URL_MAX bytes are checked: a payload beyond
     * them is not seen, and nothing reads past the bound */
    static char url[CLASSIFY_URL_MAX + 64];
    memset(url, 'a', sizeof url);
    memcpy(url, "/x?q=", 5);
    memcpy(url + CLASSIFY_URL_MAX + 8, "<script>", 8);
    assert_int_equal(classify_url_risks(url, sizeof url), 0);
    memcpy(url + 40, "<script>alert(1)</script>", 25);
    assert_int_equal(classify_url_risks(url, sizeof url), CLASSIFY_RISK_XSS);
    assert_string_equal(classify_risk_name(0), "sql_injection");
    assert_string_equal(classify_risk_name(CLASSIFY_RISK_COUNT), "unknown");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_flows_are_counted_as_http),
        cmocka_unit_test(non_http_on_port_80_is_named),
        cmocka_unit_test(ndpi_sees_at_most_max_packets),
        cmocka_unit_test(half_open_flows_hold_no_ndpi_state),
        cmocka_unit_test(giving_up_keeps_the_guess),
        cmocka_unit_test(flow_risks_are_kept_at_the_verdict),
        cmocka_unit_test(url_check_finds_injections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
