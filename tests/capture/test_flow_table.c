/*
 * Unit tests of the flow table (capture/flow_table.c): symmetric lookup,
 * orientation, counters, eviction with the ended queue, timeouts in packet
 * time (with a SYN flood), port reuse, end_all ordering and UDP. Packets are
 * built by hand; the tests drain the ended queue after every call as the
 * pipeline does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "capture/flow_table.h"

#define SECOND 1000000000ull
#define T0 (1700000000ull * SECOND)

static ip_address ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    ip_address ip;
    memset(&ip, 0, sizeof ip);
    ip.family = 4;
    ip.bytes[0] = a;
    ip.bytes[1] = b;
    ip.bytes[2] = c;
    ip.bytes[3] = d;
    return ip;
}

/* 2001:db8:1::<last> */
static ip_address ip6(uint8_t last) {
    ip_address ip;
    memset(&ip, 0, sizeof ip);
    ip.family = 6;
    ip.bytes[0] = 0x20;
    ip.bytes[1] = 0x01;
    ip.bytes[2] = 0x0d;
    ip.bytes[3] = 0xb8;
    ip.bytes[5] = 0x01;
    ip.bytes[15] = last;
    return ip;
}

static decoded_packet packet(uint8_t proto, ip_address src, uint16_t sport, ip_address dst,
                             uint16_t dport, uint8_t flags, uint32_t seq, uint32_t len,
                             uint64_t ts_ns) {
    decoded_packet pkt;
    memset(&pkt, 0, sizeof pkt);
    pkt.ip_proto = proto;
    pkt.src = src;
    pkt.dst = dst;
    pkt.src_port = sport;
    pkt.dst_port = dport;
    pkt.tcp_flags = proto == 6 ? flags : 0;
    pkt.seq = seq;
    pkt.payload_len = len;
    pkt.payload_wire_len = len;
    pkt.ts_ns = ts_ns;
    return pkt;
}

/* What the ended queue gave back, in order. */
typedef struct ended_log {
    uint64_t serial[512];
    uint8_t reason[512];
    unsigned count;
} ended_log;

typedef struct fixture {
    flow_table *ft;
    anomaly_counters anomalies;
    ended_log ended;
} fixture;

static fixture *fixture_new(int64_t flow_max) {
    static fixture fx;
    memset(&fx, 0, sizeof fx);
    limits lim = limits_default();
    if (flow_max)
        lim.flow_max = flow_max;
    assert_int_equal(flow_table_create(&lim, &fx.ft), AS_OK);
    return &fx;
}

static void drain(fixture *fx) {
    flow *f;
    while ((f = flow_table_take_ended(fx->ft)) != NULL) {
        assert_int_not_equal(f->end_reason, FLOW_END_NONE);
        if (fx->ended.count < 512) {
            fx->ended.serial[fx->ended.count] = f->serial;
            fx->ended.reason[fx->ended.count] = f->end_reason;
        }
        fx->ended.count++;
        flow_table_recycle(fx->ft, f);
    }
}

static flow *lookup(fixture *fx, const decoded_packet *pkt, flow_direction *dir) {
    flow *f = NULL;
    flow_direction d;
    assert_int_equal(flow_table_lookup(fx->ft, pkt, &f, &d, &fx->anomalies), AS_OK);
    assert_non_null(f);
    if (dir)
        *dir = d;
    drain(fx);
    return f;
}

static void fixture_done(fixture *fx) {
    flow_table_end_all(fx->ft);
    drain(fx);
    assert_int_equal(flow_table_get_stats(fx->ft).active, 0);
    flow_table_destroy(fx->ft);
}

static ip_address client(void) {
    return ip4(10, 1, 0, 2);
}

static ip_address server(void) {
    return ip4(10, 2, 0, 80);
}

/* A handshake plus one request byte count, client port `port`, at `ts`. */
static flow *connection(fixture *fx, uint16_t port, uint32_t isn, uint64_t ts) {
    decoded_packet syn = packet(6, client(), port, server(), 80, TCP_SYN, isn, 0, ts);
    decoded_packet synack =
        packet(6, server(), 80, client(), port, TCP_SYN | TCP_ACK, 7000, 0, ts + 1000);
    decoded_packet data =
        packet(6, client(), port, server(), 80, TCP_ACK | TCP_PSH, isn + 1, 100, ts + 2000);
    flow *f = lookup(fx, &syn, NULL);
    assert_ptr_equal(lookup(fx, &synack, NULL), f);
    assert_ptr_equal(lookup(fx, &data, NULL), f);
    return f;
}

/* ------------------------------------------------------------------------ */

static void symmetric_lookup(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    flow_direction dir;
    decoded_packet syn = packet(6, client(), 40000, server(), 80, TCP_SYN, 1000, 0, T0);
    flow *f = lookup(fx, &syn, &dir);
    assert_int_equal(dir, FLOW_TO_SERVER);
    assert_true(f->orientation_sure);
    assert_int_equal(f->client_port, 40000);
    assert_int_equal(f->server_port, 80);
    assert_memory_equal(&f->client_ip, &syn.src, sizeof syn.src);
    assert_memory_equal(&f->server_ip, &syn.dst, sizeof syn.dst);
    assert_int_equal(f->serial, 1);
    assert_true(f->slot < flow_table_slot_count(fx->ft));
    decoded_packet reply =
        packet(6, server(), 80, client(), 40000, TCP_SYN | TCP_ACK, 5, 0, T0 + 1);
    assert_ptr_equal(lookup(fx, &reply, &dir), f);
    assert_int_equal(dir, FLOW_TO_CLIENT);
    decoded_packet data = packet(6, client(), 40000, server(), 80, TCP_ACK, 1001, 42, T0 + 2);
    assert_ptr_equal(lookup(fx, &data, &dir), f);
    assert_int_equal(dir, FLOW_TO_SERVER);
    assert_int_equal(f->packets[FLOW_TO_SERVER], 2);
    assert_int_equal(f->packets[FLOW_TO_CLIENT], 1);
    assert_int_equal(f->last_ts_ns, T0 + 2);
    /* another port, UDP on the same ports, and IPv6 are other flows */
    decoded_packet other = packet(6, client(), 40001, server(), 80, TCP_SYN, 1, 0, T0 + 3);
    assert_ptr_not_equal(lookup(fx, &other, NULL), f);
    decoded_packet udp = packet(17, client(), 40000, server(), 80, 0, 0, 10, T0 + 4);
    assert_ptr_not_equal(lookup(fx, &udp, NULL), f);
    decoded_packet v6 = packet(6, ip6(2), 40000, ip6(80), 80, TCP_SYN, 1, 0, T0 + 5);
    flow *f6 = lookup(fx, &v6, &dir);
    decoded_packet v6back = packet(6, ip6(80), 80, ip6(2), 40000, TCP_ACK, 1, 0, T0 + 6);
    assert_ptr_equal(lookup(fx, &v6back, &dir), f6);
    assert_int_equal(dir, FLOW_TO_CLIENT);
    flow_table_stats st = flow_table_get_stats(fx->ft);
    assert_int_equal(st.created, 4);
    assert_int_equal(st.active, 4);
    assert_int_equal(st.peak, 4);
    fixture_done(fx);
}

static void orientation_by_synack(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    flow_direction dir;
    /* the SYN was missed: the SYN+ACK's sender is the server, whatever the ports */
    decoded_packet synack =
        packet(6, ip4(10, 0, 0, 1), 40000, ip4(10, 0, 0, 2), 80, TCP_SYN | TCP_ACK, 1, 0, T0);
    flow *f = lookup(fx, &synack, &dir);
    assert_int_equal(dir, FLOW_TO_CLIENT);
    assert_true(f->orientation_sure);
    assert_int_equal(f->server_port, 40000);
    assert_int_equal(f->client_port, 80);
    assert_int_equal(f->packets[FLOW_TO_CLIENT], 1);
    fixture_done(fx);
}

static void orientation_by_port(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    flow_direction dir;
    /* mid-stream: the lower port is the server */
    decoded_packet data = packet(6, server(), 8080, client(), 51000, TCP_ACK, 1, 10, T0);
    flow *f = lookup(fx, &data, &dir);
    assert_int_equal(dir, FLOW_TO_CLIENT);
    assert_false(f->orientation_sure);
    assert_int_equal(f->server_port, 8080);
    /* equal ports: the destination of the first packet is the server */
    decoded_packet tie = packet(6, ip4(1, 1, 1, 1), 5000, ip4(2, 2, 2, 2), 5000, TCP_ACK, 1, 0, T0);
    f = lookup(fx, &tie, &dir);
    assert_int_equal(dir, FLOW_TO_SERVER);
    assert_memory_equal(&f->server_ip, &tie.dst, sizeof tie.dst);
    fixture_done(fx);
}

static void late_syn_fixes_orientation(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    flow_direction dir;
    decoded_packet ack =
        packet(6, ip4(10, 0, 0, 1), 1000, ip4(10, 0, 0, 2), 2000, TCP_ACK, 1, 0, T0);
    flow *f = lookup(fx, &ack, &dir);
    assert_int_equal(dir, FLOW_TO_CLIENT); /* port 1000 looks like the server */
    decoded_packet syn =
        packet(6, ip4(10, 0, 0, 1), 1000, ip4(10, 0, 0, 2), 2000, TCP_SYN, 9, 0, T0 + 1);
    assert_ptr_equal(lookup(fx, &syn, &dir), f);
    assert_int_equal(dir, FLOW_TO_SERVER);
    assert_true(f->orientation_sure);
    assert_int_equal(f->client_port, 1000);
    assert_int_equal(f->packets[FLOW_TO_SERVER], 2);
    assert_int_equal(f->packets[FLOW_TO_CLIENT], 0);
    /* once payload was seen, orientation stays */
    decoded_packet data =
        packet(6, ip4(10, 0, 0, 3), 1000, ip4(10, 0, 0, 4), 2000, TCP_ACK, 1, 5, T0 + 2);
    flow *g = lookup(fx, &data, &dir);
    assert_int_equal(dir, FLOW_TO_CLIENT);
    decoded_packet syn2 =
        packet(6, ip4(10, 0, 0, 3), 1000, ip4(10, 0, 0, 4), 2000, TCP_SYN, 9, 0, T0 + 3);
    assert_ptr_equal(lookup(fx, &syn2, &dir), g);
    assert_int_equal(dir, FLOW_TO_CLIENT);
    assert_int_equal(g->server_port, 1000);
    fixture_done(fx);
}

/* A payload the snaplen cut away entirely still makes the flow established:
 * it lives by the idle timeout, not the half-open one. */
static void cut_payload_counts_as_data(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    decoded_packet syn = packet(6, client(), 40000, server(), 80, TCP_SYN, 0, 0, T0);
    flow *f = lookup(fx, &syn, NULL);
    decoded_packet cut = packet(6, client(), 40000, server(), 80, TCP_ACK, 1, 0, T0 + 1);
    cut.payload_wire_len = 1460;
    assert_ptr_equal(lookup(fx, &cut, NULL), f);
    assert_int_equal(f->packets[FLOW_TO_SERVER], 2);
    flow_table_expire(fx->ft, T0 + 11 * SECOND);
    drain(fx);
    assert_int_equal(fx->ended.count, 0);
    assert_int_equal(flow_table_get_stats(fx->ft).halfopen_dropped, 0);
    fixture_done(fx);
}

static void lru_eviction_when_full(void **state) {
    (void)state;
    fixture *fx = fixture_new(16);
    assert_int_equal(flow_table_slot_count(fx->ft), 16 + 256);
    flow *flows[16];
    for (int i = 0; i < 16; i++)
        flows[i] = connection(fx, (uint16_t)(40000 + i), 100, T0 + (uint64_t)i * SECOND);
    /* flow 1 is seen again: flow 2 is now the least recently seen */
    decoded_packet again =
        packet(6, server(), 80, client(), 40000, TCP_ACK, 7001, 10, T0 + 20 * SECOND);
    assert_ptr_equal(lookup(fx, &again, NULL), flows[0]);
    assert_int_equal(fx->ended.count, 0);
    flow *newcomer = connection(fx, 50000, 100, T0 + 21 * SECOND);
    assert_int_equal(fx->ended.count, 1);
    assert_int_equal(fx->ended.serial[0], 2);
    assert_int_equal(fx->ended.reason[0], FLOW_END_EVICTED);
    assert_int_equal(fx->anomalies.count[ANOMALY_FLOW_TABLE_FULL], 1);
    flow_table_stats st = flow_table_get_stats(fx->ft);
    assert_int_equal(st.ended_evicted, 1);
    assert_int_equal(st.active, 16);
    assert_int_equal(st.peak, 16);
    assert_int_equal(newcomer->serial, 17);
    /* the evicted 4-tuple comes back as a new flow (mid-stream pickup) */
    decoded_packet back =
        packet(6, client(), 40001, server(), 80, TCP_ACK, 500, 10, T0 + 22 * SECOND);
    flow *f = lookup(fx, &back, NULL);
    assert_int_equal(f->serial, 18);
    assert_int_equal(fx->ended.serial[1], 3);
    fixture_done(fx);
}

static void eviction_prefers_halfopen_then_closed(void **state) {
    (void)state;
    fixture *fx = fixture_new(16);
    for (int i = 0; i < 14; i++)
        connection(fx, (uint16_t)(40000 + i), 100, T0 + (uint64_t)i);
    /* serial 15: closed by RST, serial 16: half-open, both seen last */
    connection(fx, 41000, 100, T0 + 100);
    decoded_packet rst = packet(6, client(), 41000, server(), 80, TCP_RST, 201, 0, T0 + 101);
    lookup(fx, &rst, NULL);
    decoded_packet syn = packet(6, client(), 42000, server(), 80, TCP_SYN, 1, 0, T0 + 102);
    lookup(fx, &syn, NULL);
    connection(fx, 43000, 100, T0 + 200);
    connection(fx, 43001, 100, T0 + 300);
    connection(fx, 43002, 100, T0 + 400);
    assert_int_equal(fx->ended.count, 3);
    assert_int_equal(fx->ended.serial[0], 16); /* half-open first */
    assert_int_equal(fx->ended.serial[1], 15); /* then closed */
    assert_int_equal(fx->ended.serial[2], 1);  /* then the least recently seen */
    assert_int_equal(flow_table_get_stats(fx->ft).halfopen_dropped, 1);
    fixture_done(fx);
}

static void eviction_gives_a_second_chance(void **state) {
    (void)state;
    fixture *fx = fixture_new(16);
    for (int i = 0; i < 16; i++) {
        decoded_packet syn = packet(6, client(), (uint16_t)(2000 + i), server(), 80, TCP_SYN, 1, 0,
                                    T0 + (uint64_t)i);
        lookup(fx, &syn, NULL);
    }
    /* the oldest half-open flow retransmits its SYN: the next oldest goes */
    decoded_packet again = packet(6, client(), 2000, server(), 80, TCP_SYN, 1, 0, T0 + 100);
    assert_int_equal(lookup(fx, &again, NULL)->serial, 1);
    decoded_packet newcomer = packet(6, client(), 3000, server(), 80, TCP_SYN, 1, 0, T0 + 101);
    lookup(fx, &newcomer, NULL);
    decoded_packet another = packet(6, client(), 3001, server(), 80, TCP_SYN, 1, 0, T0 + 102);
    lookup(fx, &another, NULL);
    assert_int_equal(fx->ended.count, 2);
    assert_int_equal(fx->ended.serial[0], 2);
    assert_int_equal(fx->ended.serial[1], 3);
    fixture_done(fx);
}

static void undrained_queue_is_refused(void **state) {
    (void)state;
    fixture *fx = fixture_new(16);
    limits lim = limits_default();
    lim.flow_max = 16;
    flow_table *ft;
    assert_int_equal(flow_table_create(&lim, &ft), AS_OK);
    flow *f;
    flow_direction dir;
    /* 16 flows fill the table; each further flow evicts one into the queue */
    for (int i = 0; i < 16 + 256; i++) {
        decoded_packet syn = packet(6, client(), (uint16_t)(1024 + i), server(), 80, TCP_SYN, 1, 0,
                                    T0 + (uint64_t)i);
        assert_int_equal(flow_table_lookup(ft, &syn, &f, &dir, &fx->anomalies), AS_OK);
    }
    decoded_packet one_more = packet(6, client(), 9999, server(), 80, TCP_SYN, 1, 0, T0 + 999);
    assert_int_equal(flow_table_lookup(ft, &one_more, &f, &dir, &fx->anomalies), AS_ERR_LIMIT);
    assert_int_equal(fx->anomalies.count[ANOMALY_FLOW_QUEUE_NOT_DRAINED], 1);
    /* known flows still work; draining makes room */
    decoded_packet known =
        packet(6, server(), 80, client(), 1024 + 271, TCP_SYN | TCP_ACK, 1, 0, T0 + 1000);
    assert_int_equal(flow_table_lookup(ft, &known, &f, &dir, &fx->anomalies), AS_OK);
    uint64_t last = 0;
    unsigned taken = 0;
    while ((f = flow_table_take_ended(ft)) != NULL) {
        assert_true(f->serial > last);
        last = f->serial;
        taken++;
        flow_table_recycle(ft, f);
    }
    assert_int_equal(taken, 256);
    assert_int_equal(flow_table_lookup(ft, &one_more, &f, &dir, &fx->anomalies), AS_OK);
    flow_table_destroy(ft);
    fixture_done(fx);
}

static void syn_flood_stays_bounded(void **state) {
    (void)state;
    fixture *fx = fixture_new(64);
    uint32_t rng = 12345;
    for (int i = 0; i < 100000; i++) {
        rng = rng * 1103515245u + 12345u;
        uint64_t now = T0 + (uint64_t)i * 10000; /* 100k SYNs in one second */
        flow_table_expire(fx->ft, now);
        drain(fx);
        decoded_packet syn =
            packet(6, ip4(198, 51, (uint8_t)(rng >> 24), (uint8_t)(rng >> 16)),
                   (uint16_t)(1024 + (rng >> 8) % 60000), server(), 80, TCP_SYN, rng, 0, now);
        lookup(fx, &syn, NULL);
        assert_true(flow_table_get_stats(fx->ft).active <= 64);
    }
    flow_table_stats st = flow_table_get_stats(fx->ft);
    assert_int_equal(st.peak, 64);
    assert_true(st.ended_evicted > 99000);
    /* a real connection after the flood works and keeps its flow */
    uint64_t after = T0 + 2 * SECOND;
    flow *f = connection(fx, 40000, 1000, after);
    decoded_packet resp =
        packet(6, server(), 80, client(), 40000, TCP_ACK, 7001, 500, after + 5000);
    assert_ptr_equal(lookup(fx, &resp, NULL), f);
    assert_int_equal(f->packets[FLOW_TO_SERVER], 2);
    assert_int_equal(f->packets[FLOW_TO_CLIENT], 2);
    /* the half-open flows time out; the real one stays */
    uint64_t later = after + 10 * SECOND + 5000;
    for (int i = 0; i < 8; i++) {
        flow_table_expire(fx->ft, later);
        drain(fx);
    }
    st = flow_table_get_stats(fx->ft);
    assert_int_equal(st.active, 1);
    assert_int_equal(st.halfopen_dropped, 100000);
    assert_int_equal(st.ended_idle + st.ended_evicted, 100000);
    assert_int_equal(st.created, 100001);
    fixture_done(fx);
}

static void idle_timeouts(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    connection(fx, 40000, 1, T0); /* established */
    decoded_packet syn =
        packet(6, client(), 40001, server(), 80, TCP_SYN, 1, 0, T0); /* half-open */
    lookup(fx, &syn, NULL);
    decoded_packet dns = packet(17, client(), 53000, ip4(8, 8, 8, 8), 53, 0, 0, 30, T0);
    lookup(fx, &dns, NULL);
    flow_table_expire(fx->ft, T0 + 10 * SECOND - 1);
    drain(fx);
    assert_int_equal(fx->ended.count, 0);
    flow_table_expire(fx->ft, T0 + 10 * SECOND);
    drain(fx);
    assert_int_equal(fx->ended.count, 1);
    assert_int_equal(fx->ended.serial[0], 2);
    assert_int_equal(fx->ended.reason[0], FLOW_END_IDLE);
    flow_table_expire(fx->ft, T0 + 60 * SECOND);
    drain(fx);
    assert_int_equal(fx->ended.count, 2);
    assert_int_equal(fx->ended.serial[1], 3); /* UDP */
    flow_table_expire(fx->ft, T0 + 300 * SECOND);
    drain(fx);
    assert_int_equal(fx->ended.count, 2); /* last seen at T0 + 2 us */
    flow_table_expire(fx->ft, T0 + 300 * SECOND + 2000);
    drain(fx);
    assert_int_equal(fx->ended.count, 3);
    assert_int_equal(fx->ended.serial[2], 1);
    assert_int_equal(fx->ended.reason[2], FLOW_END_IDLE);
    flow_table_stats st = flow_table_get_stats(fx->ft);
    assert_int_equal(st.ended_idle, 3);
    assert_int_equal(st.halfopen_dropped, 1);
    fixture_done(fx);
}

static void closed_flows_linger(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    connection(fx, 40000, 1, T0);
    decoded_packet fin1 =
        packet(6, client(), 40000, server(), 80, TCP_FIN | TCP_ACK, 102, 0, T0 + SECOND);
    decoded_packet fin2 =
        packet(6, server(), 80, client(), 40000, TCP_FIN | TCP_ACK, 7001, 0, T0 + SECOND);
    lookup(fx, &fin1, NULL);
    flow_table_expire(fx->ft, T0 + 7 * SECOND);
    drain(fx);
    assert_int_equal(fx->ended.count, 0); /* one FIN: still established */
    lookup(fx, &fin2, NULL);
    decoded_packet last_ack =
        packet(6, client(), 40000, server(), 80, TCP_ACK, 103, 0, T0 + 8 * SECOND);
    lookup(fx, &last_ack, NULL);
    flow_table_expire(fx->ft, T0 + 13 * SECOND - 1);
    drain(fx);
    assert_int_equal(fx->ended.count, 0);
    flow_table_expire(fx->ft, T0 + 13 * SECOND);
    drain(fx);
    assert_int_equal(fx->ended.count, 1);
    assert_int_equal(fx->ended.reason[0], FLOW_END_CLOSED);
    /* RST closes at once */
    connection(fx, 40001, 1, T0 + 20 * SECOND);
    decoded_packet rst =
        packet(6, server(), 80, client(), 40001, TCP_RST, 7001, 0, T0 + 21 * SECOND);
    lookup(fx, &rst, NULL);
    flow_table_expire(fx->ft, T0 + 26 * SECOND);
    drain(fx);
    assert_int_equal(fx->ended.count, 2);
    assert_int_equal(fx->ended.reason[1], FLOW_END_CLOSED);
    assert_int_equal(flow_table_get_stats(fx->ft).ended_closed, 2);
    fixture_done(fx);
}

static void expire_is_bounded_but_complete(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    for (int i = 0; i < 100; i++)
        connection(fx, (uint16_t)(20000 + i), 1, T0 + (uint64_t)i);
    flow_table_expire(fx->ft, T0 + 1000 * SECOND);
    drain(fx);
    assert_true(fx->ended.count > 0);
    assert_true(fx->ended.count <= 16);
    int calls = 1;
    while (flow_table_get_stats(fx->ft).active > 0) {
        flow_table_expire(fx->ft, T0 + 1000 * SECOND);
        drain(fx);
        calls++;
        assert_true(calls < 100);
    }
    assert_int_equal(fx->ended.count, 100);
    for (unsigned i = 0; i < 100; i++)
        assert_int_equal(fx->ended.serial[i], i + 1);
    fixture_done(fx);
}

static void expiry_passes_a_recently_seen_head(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    flow *a = connection(fx, 40000, 1, T0); /* listed first */
    connection(fx, 40001, 1, T0 + SECOND);  /* listed second */
    decoded_packet later = packet(6, client(), 40000, server(), 80, TCP_ACK, 102, 10,
                                  T0 + 200 * SECOND); /* a is seen again */
    assert_ptr_equal(lookup(fx, &later, NULL), a);
    flow_table_expire(fx->ft, T0 + 302 * SECOND);
    drain(fx);
    assert_int_equal(fx->ended.count, 1);
    assert_int_equal(fx->ended.serial[0], 2);
    flow_table_expire(fx->ft, T0 + 500 * SECOND - 1);
    drain(fx);
    assert_int_equal(fx->ended.count, 1);
    flow_table_expire(fx->ft, T0 + 500 * SECOND);
    drain(fx);
    assert_int_equal(fx->ended.count, 2);
    assert_int_equal(fx->ended.serial[1], 1);
    fixture_done(fx);
}

static void port_reuse_after_fin(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    flow *old = connection(fx, 40000, 1000, T0);
    decoded_packet fin1 =
        packet(6, client(), 40000, server(), 80, TCP_FIN | TCP_ACK, 1101, 0, T0 + 10);
    decoded_packet fin2 =
        packet(6, server(), 80, client(), 40000, TCP_FIN | TCP_ACK, 7001, 0, T0 + 11);
    lookup(fx, &fin1, NULL);
    lookup(fx, &fin2, NULL);
    /* a late retransmission of the old SYN is not a new connection */
    decoded_packet old_syn = packet(6, client(), 40000, server(), 80, TCP_SYN, 1000, 0, T0 + 12);
    assert_ptr_equal(lookup(fx, &old_syn, NULL), old);
    assert_int_equal(fx->ended.count, 0);
    /* a new SYN is */
    flow_direction dir;
    decoded_packet syn = packet(6, client(), 40000, server(), 80, TCP_SYN, 555555, 0, T0 + 20);
    flow *f = lookup(fx, &syn, &dir);
    assert_int_equal(dir, FLOW_TO_SERVER);
    assert_int_equal(fx->ended.count, 1);
    assert_int_equal(fx->ended.serial[0], 1);
    assert_int_equal(fx->ended.reason[0], FLOW_END_PORT_REUSE);
    assert_int_equal(f->serial, 2);
    assert_int_equal(f->packets[FLOW_TO_SERVER], 1);
    assert_int_equal(fx->anomalies.count[ANOMALY_FLOW_PORT_REUSE], 1);
    assert_int_equal(flow_table_get_stats(fx->ft).ended_port_reuse, 1);
    /* one FIN is enough for a new SYN to count as reuse */
    decoded_packet data = packet(6, client(), 40000, server(), 80, TCP_ACK, 555556, 10, T0 + 30);
    lookup(fx, &data, NULL);
    decoded_packet fin =
        packet(6, client(), 40000, server(), 80, TCP_FIN | TCP_ACK, 555566, 0, T0 + 31);
    lookup(fx, &fin, NULL);
    decoded_packet syn3 = packet(6, client(), 40000, server(), 80, TCP_SYN, 9, 0, T0 + 40);
    assert_int_equal(lookup(fx, &syn3, NULL)->serial, 3);
    fixture_done(fx);
}

static void port_reuse_after_rst(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    connection(fx, 40000, 1000, T0);
    decoded_packet rst = packet(6, client(), 40000, server(), 80, TCP_RST, 1101, 0, T0 + 10);
    lookup(fx, &rst, NULL);
    decoded_packet syn = packet(6, client(), 40000, server(), 80, TCP_SYN, 0xfffffff0u, 0, T0 + 20);
    flow *f = lookup(fx, &syn, NULL);
    assert_int_equal(f->serial, 2);
    assert_int_equal(fx->ended.count, 1);
    assert_int_equal(fx->ended.reason[0], FLOW_END_PORT_REUSE);
    fixture_done(fx);
}

static void syn_on_live_connection_is_not_reuse(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    flow *f = connection(fx, 40000, 1000, T0);
    decoded_packet forged = packet(6, client(), 40000, server(), 80, TCP_SYN, 4242, 0, T0 + 10);
    assert_ptr_equal(lookup(fx, &forged, NULL), f);
    assert_int_equal(fx->ended.count, 0);
    /* a half-open flow with another SYN is a new attempt */
    decoded_packet syn1 = packet(6, client(), 40001, server(), 80, TCP_SYN, 1, 0, T0 + 20);
    decoded_packet syn1again = packet(6, client(), 40001, server(), 80, TCP_SYN, 1, 0, T0 + 21);
    decoded_packet syn2 = packet(6, client(), 40001, server(), 80, TCP_SYN, 2, 0, T0 + 22);
    flow *h = lookup(fx, &syn1, NULL);
    assert_ptr_equal(lookup(fx, &syn1again, NULL), h);
    assert_int_equal(lookup(fx, &syn2, NULL)->serial, 3);
    assert_int_equal(fx->ended.count, 1);
    assert_int_equal(fx->ended.reason[0], FLOW_END_PORT_REUSE);
    fixture_done(fx);
}

static void end_all_in_serial_order(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    flow_table *ft = fx->ft;
    flow *f;
    flow_direction dir;
    /* serials 1..10; 2, 5 and 7 are half-open and time out first */
    for (int i = 0; i < 10; i++) {
        uint8_t flags = (i == 1 || i == 4 || i == 6) ? TCP_SYN : TCP_ACK;
        decoded_packet pkt = packet(6, client(), (uint16_t)(30000 + i), server(), 80, flags, 1,
                                    flags == TCP_ACK ? 10 : 0, T0 + (uint64_t)i);
        assert_int_equal(flow_table_lookup(ft, &pkt, &f, &dir, &fx->anomalies), AS_OK);
    }
    flow_table_expire(ft, T0 + 11 * SECOND); /* not drained before end_all */
    flow_table_end_all(ft);
    uint64_t expect = 1;
    while ((f = flow_table_take_ended(ft)) != NULL) {
        assert_int_equal(f->serial, expect);
        int halfopen = expect == 2 || expect == 5 || expect == 7;
        assert_int_equal(f->end_reason, halfopen ? FLOW_END_IDLE : FLOW_END_SHUTDOWN);
        expect++;
        flow_table_recycle(ft, f);
    }
    assert_int_equal(expect, 11);
    flow_table_stats st = flow_table_get_stats(ft);
    assert_int_equal(st.ended_shutdown, 7);
    assert_int_equal(st.active, 0);
    fixture_done(fx);
}

static void udp_flows(void **state) {
    (void)state;
    fixture *fx = fixture_new(0);
    flow_direction dir;
    decoded_packet query = packet(17, client(), 53000, ip4(8, 8, 8, 8), 53, 0, 0, 30, T0);
    decoded_packet answer = packet(17, ip4(8, 8, 8, 8), 53, client(), 53000, 0, 0, 90, T0 + 5);
    flow *f = lookup(fx, &query, &dir);
    assert_int_equal(dir, FLOW_TO_SERVER);
    assert_int_equal(f->ip_proto, 17);
    assert_int_equal(f->server_port, 53);
    assert_ptr_equal(lookup(fx, &answer, &dir), f);
    assert_int_equal(dir, FLOW_TO_CLIENT);
    assert_int_equal(f->packets[FLOW_TO_CLIENT], 1);
    flow_table_expire(fx->ft, T0 + 60 * SECOND + 4);
    drain(fx);
    assert_int_equal(fx->ended.count, 0);
    flow_table_expire(fx->ft, T0 + 60 * SECOND + 5);
    drain(fx);
    assert_int_equal(fx->ended.count, 1);
    assert_int_equal(flow_table_get_stats(fx->ft).halfopen_dropped, 0);
    fixture_done(fx);
}

static void slots_are_recycled(void **state) {
    (void)state;
    fixture *fx = fixture_new(16);
    uint32_t slots = flow_table_slot_count(fx->ft);
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 16; i++) {
            flow *f = connection(fx, (uint16_t)(1000 + i), 1, T0 + (uint64_t)round * 1000 * SECOND);
            assert_true(f->slot < slots);
        }
        flow_table_end_all(fx->ft);
        drain(fx);
    }
    flow_table_stats st = flow_table_get_stats(fx->ft);
    assert_int_equal(st.created, 800);
    assert_int_equal(st.ended_evicted, 0);
    assert_int_equal(st.peak, 16);
    fixture_done(fx);
}

static void bad_arguments(void **state) {
    (void)state;
    flow_table *ft = NULL;
    limits lim = limits_default();
    assert_int_equal(flow_table_create(NULL, &ft), AS_ERR_ARG);
    assert_null(ft);
    assert_int_equal(flow_table_create(&lim, &ft), AS_OK);
    flow *f;
    flow_direction dir;
    decoded_packet icmp = packet(1, client(), 0, server(), 0, 0, 0, 0, T0);
    assert_int_equal(flow_table_lookup(ft, &icmp, &f, &dir, NULL), AS_ERR_ARG);
    assert_int_equal(flow_table_lookup(ft, NULL, &f, &dir, NULL), AS_ERR_ARG);
    assert_null(flow_table_take_ended(ft));
    flow_table_recycle(ft, NULL);
    flow_table_expire(NULL, 0);
    flow_table_end_all(NULL);
    flow_table_destroy(ft);
    flow_table_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(symmetric_lookup),
        cmocka_unit_test(orientation_by_synack),
        cmocka_unit_test(orientation_by_port),
        cmocka_unit_test(late_syn_fixes_orientation),
        cmocka_unit_test(cut_payload_counts_as_data),
        cmocka_unit_test(lru_eviction_when_full),
        cmocka_unit_test(eviction_prefers_halfopen_then_closed),
        cmocka_unit_test(eviction_gives_a_second_chance),
        cmocka_unit_test(undrained_queue_is_refused),
        cmocka_unit_test(syn_flood_stays_bounded),
        cmocka_unit_test(idle_timeouts),
        cmocka_unit_test(closed_flows_linger),
        cmocka_unit_test(expire_is_bounded_but_complete),
        cmocka_unit_test(expiry_passes_a_recently_seen_head),
        cmocka_unit_test(port_reuse_after_fin),
        cmocka_unit_test(port_reuse_after_rst),
        cmocka_unit_test(syn_on_live_connection_is_not_reuse),
        cmocka_unit_test(end_all_in_serial_order),
        cmocka_unit_test(udp_flows),
        cmocka_unit_test(slots_are_recycled),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
