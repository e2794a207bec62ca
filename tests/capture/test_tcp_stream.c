/*
 * Unit tests of TCP reassembly (capture/tcp_stream.c). Segments are built by
 * hand; every test drains the stream into a text transcript and compares it
 * exactly: data bytes as they are, "[gap N]" for a gap of N bytes, "[snap N]"
 * for a snaplen gap, "[FIN]", "[RST]", "[]" for an empty chunk, and "!"
 * before a chunk that carries TCP_CHUNK_OVERLAP_CONFLICT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "capture/tcp_stream.h"

typedef struct sink {
    char text[1 << 17];
    size_t len;
    unsigned chunks;
} sink;

typedef struct fixture {
    limits lim;
    tcp_reassembler *r;
    tcp_stream s;
    anomaly_counters anomalies;
    sink out;
} fixture;

static void sink_append(sink *out, const char *data, size_t len) {
    assert_true(out->len + len < sizeof out->text);
    memcpy(out->text + out->len, data, len);
    out->len += len;
    out->text[out->len] = '\0';
}

static void drain(fixture *fx) {
    tcp_chunk chunk;
    while (tcp_reasm_next(fx->r, &fx->s, &chunk)) {
        char note[64];
        fx->out.chunks++;
        if (chunk.flags & TCP_CHUNK_OVERLAP_CONFLICT)
            sink_append(&fx->out, "!", 1);
        if (chunk.flags & TCP_CHUNK_GAP) {
            assert_null(chunk.data);
            int n = snprintf(note, sizeof note, "[%s %u]",
                             (chunk.flags & TCP_CHUNK_SNAPLEN) ? "snap" : "gap", chunk.len);
            sink_append(&fx->out, note, (size_t)n);
        } else if (chunk.flags & TCP_CHUNK_FIN) {
            assert_int_equal(chunk.len, 0);
            sink_append(&fx->out, "[FIN]", 5);
        } else if (chunk.flags & TCP_CHUNK_RST) {
            assert_int_equal(chunk.len, 0);
            sink_append(&fx->out, "[RST]", 5);
        } else if (chunk.len == 0) {
            /* a conflict reported on its own */
            assert_null(chunk.data);
            assert_int_equal(chunk.flags, TCP_CHUNK_OVERLAP_CONFLICT);
            sink_append(&fx->out, "[]", 2);
        } else {
            assert_non_null(chunk.data);
            assert_true(chunk.len > 0);
            sink_append(&fx->out, (const char *)chunk.data, chunk.len);
        }
    }
}

static fixture *fixture_new(const limits *lim) {
    static fixture fx;
    memset(&fx, 0, sizeof fx);
    fx.lim = lim ? *lim : limits_default();
    assert_int_equal(tcp_reasm_create(&fx.lim, &fx.r), AS_OK);
    return &fx;
}

/* Releases the stream, checks the pool is empty again, destroys. */
static void fixture_done(fixture *fx) {
    tcp_reasm_release(fx->r, &fx->s);
    tcp_reasm_stats st = tcp_reasm_get_stats(fx->r);
    assert_int_equal(st.ooo_bytes_held, 0);
    assert_int_equal(fx->s.ooo_segments, 0);
    tcp_reasm_destroy(fx->r);
}

static decoded_packet segment(uint32_t seq, uint8_t flags, const char *payload, uint32_t len) {
    decoded_packet pkt;
    memset(&pkt, 0, sizeof pkt);
    pkt.ip_proto = 6;
    pkt.seq = seq;
    pkt.tcp_flags = flags | TCP_ACK;
    pkt.payload = (const uint8_t *)payload;
    pkt.payload_len = len;
    pkt.payload_wire_len = len;
    pkt.ts_ns = 1700000000000000000ull + seq;
    return pkt;
}

/* Feeds a segment and drains, as the pipeline does per packet. */
static void feed(fixture *fx, uint32_t seq, uint8_t flags, const char *payload) {
    uint32_t len = payload ? (uint32_t)strlen(payload) : 0;
    decoded_packet pkt = segment(seq, flags, payload, len);
    tcp_reasm_add(fx->r, &fx->s, &pkt, &fx->anomalies);
    drain(fx);
}

static void ack(fixture *fx, uint32_t ack_seq) {
    tcp_reasm_ack(fx->r, &fx->s, ack_seq, 1, &fx->anomalies);
    drain(fx);
}

static void flush(fixture *fx) {
    tcp_reasm_flush(fx->r, &fx->s, 2);
    drain(fx);
}

static uint64_t anomaly(const fixture *fx, anomaly_id id) {
    return fx->anomalies.count[id];
}

/* ------------------------------------------------------------------------ */

static void in_order_is_zero_copy(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 1000, TCP_SYN, NULL);
    assert_true(fx->s.syn_seen);
    assert_int_equal(fx->s.isn, 1000);
    assert_int_equal(fx->s.next_seq, 1001);
    static const char request[] = "GET / HTTP/1.1\r\n";
    decoded_packet pkt = segment(1001, TCP_PSH, request, 16);
    tcp_reasm_add(fx->r, &fx->s, &pkt, &fx->anomalies);
    tcp_chunk chunk;
    assert_int_equal(tcp_reasm_next(fx->r, &fx->s, &chunk), 1);
    assert_ptr_equal(chunk.data, (const uint8_t *)request); /* no copy */
    assert_int_equal(chunk.len, 16);
    assert_int_equal(chunk.flags, 0);
    assert_int_equal(chunk.ts_ns, pkt.ts_ns);
    assert_int_equal(tcp_reasm_next(fx->r, &fx->s, &chunk), 0);
    feed(fx, 1017, 0, "Host: a\r\n\r\n");
    feed(fx, 1028, TCP_FIN, NULL);
    assert_string_equal(fx->out.text, "Host: a\r\n\r\n[FIN]");
    assert_int_equal(fx->s.next_seq, 1029);
    fixture_done(fx);
}

static void reversed_order(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 99, TCP_SYN, NULL);
    feed(fx, 111, TCP_FIN, "!");
    feed(fx, 108, 0, "rld");
    feed(fx, 104, 0, "o wo");
    feed(fx, 100, 0, "hell");
    assert_string_equal(fx->out.text, "hello world![FIN]");
    assert_int_equal(tcp_reasm_get_stats(fx->r).ooo_bytes_peak, 8);
    fixture_done(fx);
}

static void all_permutations(void **state) {
    (void)state;
    /* 5 segments of "abcdefghijklmnopqrstuvwxyz" (5,5,5,5,6 bytes) in all 120 orders */
    static const char text[] = "abcdefghijklmnopqrstuvwxyz";
    const uint32_t starts[6] = {0, 5, 10, 15, 20, 26};
    int order[5] = {0, 1, 2, 3, 4};
    int count = 0;
    for (;;) {
        fixture *fx = fixture_new(NULL);
        feed(fx, 0xfffffff0u, TCP_SYN, NULL); /* across the 2^32 wrap as well */
        for (int i = 0; i < 5; i++) {
            int k = order[i];
            uint32_t seq = 0xfffffff1u + starts[k];
            decoded_packet pkt = segment(seq, 0, text + starts[k], starts[k + 1] - starts[k]);
            tcp_reasm_add(fx->r, &fx->s, &pkt, &fx->anomalies);
            drain(fx);
        }
        assert_string_equal(fx->out.text, text);
        fixture_done(fx);
        count++;
        /* next permutation */
        int i = 3;
        while (i >= 0 && order[i] > order[i + 1])
            i--;
        if (i < 0)
            break;
        int j = 4;
        while (order[j] < order[i])
            j--;
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
        for (int a = i + 1, b = 4; a < b; a++, b--) {
            t = order[a];
            order[a] = order[b];
            order[b] = t;
        }
    }
    assert_int_equal(count, 120);
}

static void retransmissions_dropped(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, 0, "abcd");
    feed(fx, 1, 0, "abcd");         /* verbatim, delivered already */
    feed(fx, 9, 0, "ijkl");         /* held */
    feed(fx, 9, 0, "ijkl");         /* verbatim, held already */
    feed(fx, 5, 0, "efgh");         /* fills the hole */
    feed(fx, 1, 0, "abcdefghijkl"); /* all old */
    assert_string_equal(fx->out.text, "abcdefghijkl");
    assert_int_equal(anomaly(fx, ANOMALY_TCP_RETRANSMISSION), 3);
    assert_int_equal(tcp_reasm_get_stats(fx->r).retransmitted_bytes, 4 + 4 + 12);
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OVERLAP_CONFLICT), 0);
    assert_int_equal(tcp_reasm_get_stats(fx->r).overlap_conflicts, 0);
    fixture_done(fx);
}

static void partial_overlaps_trimmed(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, 0, "abcd");
    feed(fx, 3, 0, "cdef");     /* 2 old bytes, 2 new */
    feed(fx, 11, 0, "klmn");    /* held */
    feed(fx, 9, 0, "ijklmnop"); /* overlaps the held block on both sides */
    feed(fx, 6, 0, "fghij");    /* overlaps delivered and held */
    assert_string_equal(fx->out.text, "abcdefghijklmnop");
    assert_int_equal(anomaly(fx, ANOMALY_TCP_RETRANSMISSION), 0);
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OVERLAP_CONFLICT), 0);
    assert_int_equal(tcp_reasm_get_stats(fx->r).retransmitted_bytes, 2 + 4 + 1 + 2);
    fixture_done(fx);
}

/* tcp-overlap-conflict.pcap, flow 1: request A=[0,16) B=[16,87) then a late
 * C=[12,28) that rewrites the token AAAA (bytes 18..21) as BBBB. */
static const char overlap_request[] =
    "GET /api/v1/items/AAAA/detail HTTP/1.1\r\nHost: api.example\r\nAccept: */*\r\n\r\n";

static void conflict_late_rewrite_flagged(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    char evil[17];
    memcpy(evil, overlap_request + 12, 16);
    memcpy(evil + 6, "BBBB", 4);
    evil[16] = '\0';
    size_t total = strlen(overlap_request);
    feed(fx, 1000, TCP_SYN, NULL);
    decoded_packet a = segment(1001, 0, overlap_request, 16);
    decoded_packet b = segment(1017, TCP_PSH, overlap_request + 16, (uint32_t)total - 16);
    tcp_reasm_add(fx->r, &fx->s, &a, &fx->anomalies);
    drain(fx);
    tcp_reasm_add(fx->r, &fx->s, &b, &fx->anomalies);
    drain(fx);
    feed(fx, 1013, 0, evil); /* rewrites delivered bytes: first copy wins */
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OVERLAP_CONFLICT), 1);
    feed(fx, 1001 + (uint32_t)total, TCP_FIN, NULL);
    char expect[256];
    /* nothing new to deliver: the conflict is reported at once, on its own */
    snprintf(expect, sizeof expect, "%s![][FIN]", overlap_request);
    assert_string_equal(fx->out.text, expect);
    assert_int_equal(tcp_reasm_get_stats(fx->r).overlap_conflicts, 1);
    fixture_done(fx);
}

/* Flow 2: A, then the forged C (DDDD) fills the hole first, then B (CCCC). */
static void conflict_hole_filled_first_flagged(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    char good[128], evil[17];
    snprintf(good, sizeof good, "%s", overlap_request);
    memcpy(good + 18, "CCCC", 4);
    memcpy(evil, good + 12, 16);
    memcpy(evil + 6, "DDDD", 4);
    evil[16] = '\0';
    size_t total = strlen(good);
    feed(fx, 1000, TCP_SYN, NULL);
    decoded_packet a = segment(1001, 0, good, 16);
    decoded_packet c = segment(1013, 0, evil, 16);
    decoded_packet b = segment(1017, TCP_PSH, good + 16, (uint32_t)total - 16);
    tcp_reasm_add(fx->r, &fx->s, &a, &fx->anomalies);
    drain(fx);
    tcp_reasm_add(fx->r, &fx->s, &c, &fx->anomalies);
    drain(fx);
    tcp_reasm_add(fx->r, &fx->s, &b, &fx->anomalies);
    drain(fx);
    char expect[256];
    /* first copy wins: DDDD stays; the chunk after B's conflict is flagged */
    snprintf(expect, sizeof expect, "%.16s%.12s!%s", good, evil + 4, good + 28);
    assert_string_equal(fx->out.text, expect);
    assert_non_null(strstr(fx->out.text, "items/DDDD/"));
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OVERLAP_CONFLICT), 1);
    fixture_done(fx);
}

static void conflict_with_held_segment_flagged(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 5, 0, "EFGH"); /* held */
    feed(fx, 5, 0, "efgh"); /* differs from the held copy */
    feed(fx, 1, 0, "abcd");
    assert_string_equal(fx->out.text, "![]abcdEFGH");
    feed(fx, 7, 0, "ghIJ"); /* rewrites delivered bytes and brings new ones: they carry the flag */
    assert_string_equal(fx->out.text, "![]abcdEFGH!IJ");
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OVERLAP_CONFLICT), 2);
    fixture_done(fx);
}

/* Rewrites are compared with the last TCP_STREAM_HISTORY_BYTES delivered
 * bytes; a rewrite of older bytes is a retransmission, not a conflict. */
static void conflict_found_within_history_only(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    char data[TCP_STREAM_HISTORY_BYTES + 9];
    memset(data, 'a', sizeof data - 1);
    data[sizeof data - 1] = '\0';
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, 0, data); /* next_seq = sizeof data */
    uint32_t oldest_kept = (uint32_t)sizeof data - TCP_STREAM_HISTORY_BYTES;
    feed(fx, oldest_kept - 4, 0, "XXXX"); /* just before the history */
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OVERLAP_CONFLICT), 0);
    assert_int_equal(anomaly(fx, ANOMALY_TCP_RETRANSMISSION), 1);
    feed(fx, oldest_kept, 0, "X"); /* the oldest byte kept */
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OVERLAP_CONFLICT), 1);
    assert_int_equal(strlen(fx->out.text), sizeof data - 1 + strlen("![]"));
    fixture_done(fx);
}

static void keepalive_probe_is_not_a_conflict(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, 0, "abcd");
    feed(fx, 4, 0, "\x01"); /* one garbage byte at next_seq - 1 */
    feed(fx, 5, 0, "e");
    assert_string_equal(fx->out.text, "abcde");
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OVERLAP_CONFLICT), 0);
    fixture_done(fx);
}

static void hole_declared_by_ack(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, 0, "aaaa");
    feed(fx, 9, 0, "cccc"); /* [5,9) never captured */
    feed(fx, 13, 0, "dddd");
    assert_string_equal(fx->out.text, "aaaa");
    ack(fx, 5); /* not beyond next_seq: nothing */
    assert_string_equal(fx->out.text, "aaaa");
    ack(fx, 17); /* the peer has it all: the hole is lost */
    assert_string_equal(fx->out.text, "aaaa[gap 4]ccccdddd");
    assert_int_equal(anomaly(fx, ANOMALY_TCP_GAP), 1);
    feed(fx, 5, 0, "bbbb"); /* arrives too late: old */
    feed(fx, 17, 0, "eeee");
    assert_string_equal(fx->out.text, "aaaa[gap 4]ccccddddeeee");
    tcp_reasm_stats st = tcp_reasm_get_stats(fx->r);
    assert_int_equal(st.gaps, 1);
    assert_int_equal(st.gap_bytes, 4);
    fixture_done(fx);
}

static void hole_declared_by_ack_inside_the_hole(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, 0, "aaaa");
    feed(fx, 13, 0, "dddd"); /* [5,13) missing */
    ack(fx, 9);              /* the peer got [5,9) */
    assert_string_equal(fx->out.text, "aaaa[gap 4]");
    feed(fx, 9, 0, "cccc"); /* the rest of the hole arrives in order */
    assert_string_equal(fx->out.text, "aaaa[gap 4]ccccdddd");
    fixture_done(fx);
}

static void ack_stall_declares_gap_on_second_ack(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, 0, "aaaa");
    /* the ack overtakes the data in the capture: no gap */
    ack(fx, 9);
    feed(fx, 5, 0, "bbbb");
    ack(fx, 9);
    assert_string_equal(fx->out.text, "aaaabbbb");
    /* the data never comes: two acks without progress make a gap */
    ack(fx, 13);
    assert_string_equal(fx->out.text, "aaaabbbb");
    ack(fx, 17);
    assert_string_equal(fx->out.text, "aaaabbbb[gap 4]");
    feed(fx, 13, 0, "dddd");
    assert_string_equal(fx->out.text, "aaaabbbb[gap 4]dddd");
    fixture_done(fx);
}

static void hole_declared_by_segment_limit(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.tcp_ooo_segments_per_direction = 2;
    fixture *fx = fixture_new(&lim);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, 0, "aa");
    feed(fx, 5, 0, "cc");  /* held (1 block) */
    feed(fx, 9, 0, "ee");  /* held (2 blocks) */
    feed(fx, 13, 0, "gg"); /* a third block is over the bound */
    assert_string_equal(fx->out.text, "aa[gap 2]cc[gap 2]ee[gap 2]gg");
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OOO_LIMIT), 1);
    assert_int_equal(tcp_reasm_get_stats(fx->r).ooo_limit_hits, 1);
    feed(fx, 15, 0, "hh");
    assert_string_equal(fx->out.text, "aa[gap 2]cc[gap 2]ee[gap 2]gghh");
    fixture_done(fx);
}

static void hole_declared_by_byte_limit(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.tcp_ooo_bytes_per_direction = 6;
    fixture *fx = fixture_new(&lim);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 5, 0, "eeee");  /* held: 4 bytes */
    feed(fx, 13, 0, "mmmm"); /* 2 fit; the rest hits the bound */
    assert_string_equal(fx->out.text, "[gap 4]eeee[gap 4]mmmm");
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OOO_LIMIT), 1);
    fixture_done(fx);
}

static void hole_declared_by_global_limit(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.tcp_ooo_bytes_total = 2048; /* one block for everyone */
    fixture *fx = fixture_new(&lim);
    tcp_stream other;
    memset(&other, 0, sizeof other);
    decoded_packet pkt = segment(0, TCP_SYN, NULL, 0);
    tcp_reasm_add(fx->r, &other, &pkt, &fx->anomalies);
    pkt = segment(5, 0, "xxxx", 4);
    tcp_reasm_add(fx->r, &other, &pkt, &fx->anomalies); /* takes the only block */
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 5, 0, "eeee"); /* no block left: delivered after a gap */
    assert_string_equal(fx->out.text, "[gap 4]eeee");
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OOO_LIMIT), 1);
    tcp_reasm_release(fx->r, &other);
    feed(fx, 13, 0, "mmmm"); /* the block is free again */
    assert_int_equal(fx->s.ooo_segments, 1);
    fixture_done(fx);
}

static void zero_limits_mean_no_holding(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.tcp_ooo_bytes_per_direction = 0;
    fixture *fx = fixture_new(&lim);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 3, 0, "cd");
    feed(fx, 1, 0, "ab"); /* too late */
    feed(fx, 5, 0, "ef");
    assert_string_equal(fx->out.text, "[gap 2]cdef");
    fixture_done(fx);
}

static void flush_delivers_gaps(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, 0, "aa");
    feed(fx, 5, 0, "cc");
    feed(fx, 11, TCP_FIN, "ff"); /* FIN at 13 */
    assert_string_equal(fx->out.text, "aa");
    flush(fx);
    assert_string_equal(fx->out.text, "aa[gap 2]cc[gap 4]ff[FIN]");
    assert_int_equal(fx->s.ooo_segments, 0);
    flush(fx); /* nothing more */
    assert_string_equal(fx->out.text, "aa[gap 2]cc[gap 4]ff[FIN]");
    fixture_done(fx);
}

static void flush_without_data_is_quiet(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    flush(fx);
    feed(fx, 0, TCP_SYN, NULL);
    flush(fx);
    assert_int_equal(fx->out.chunks, 0);
    fixture_done(fx);
}

static void snaplen_cut_segments(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    /* in order: 4 of 10 bytes captured */
    decoded_packet pkt = segment(1, 0, "abcd", 4);
    pkt.payload_wire_len = 10;
    tcp_reasm_add(fx->r, &fx->s, &pkt, &fx->anomalies);
    drain(fx);
    assert_string_equal(fx->out.text, "abcd[snap 6]");
    /* out of order: [21,31) captured 3 of 10, then [11,21) captured 2 */
    pkt = segment(21, 0, "uvw", 3);
    pkt.payload_wire_len = 10;
    tcp_reasm_add(fx->r, &fx->s, &pkt, &fx->anomalies);
    drain(fx);
    pkt = segment(11, 0, "kl", 2);
    pkt.payload_wire_len = 10;
    tcp_reasm_add(fx->r, &fx->s, &pkt, &fx->anomalies);
    drain(fx);
    assert_string_equal(fx->out.text, "abcd[snap 6]kl[snap 8]uvw[snap 7]");
    assert_int_equal(fx->s.next_seq, 31);
    assert_int_equal(anomaly(fx, ANOMALY_TCP_GAP), 0);
    fixture_done(fx);
}

static void snaplen_segment_split_by_held_data(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 7, 0, "gh"); /* held [7,9) */
    decoded_packet pkt = segment(1, 0, "ab", 2);
    pkt.payload_wire_len = 10; /* [1,11): captured [1,3), cut [3,11) */
    tcp_reasm_add(fx->r, &fx->s, &pkt, &fx->anomalies);
    drain(fx);
    feed(fx, 11, 0, "k");
    assert_string_equal(fx->out.text, "ab[snap 4]gh[snap 2]k");
    fixture_done(fx);
}

static void fin_chunk_once(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, TCP_FIN, "bye");
    feed(fx, 1, TCP_FIN, "bye"); /* retransmitted FIN */
    feed(fx, 4, TCP_FIN, NULL);
    assert_string_equal(fx->out.text, "bye[FIN]");
    assert_int_equal(fx->s.next_seq, 5);
    assert_int_equal(anomaly(fx, ANOMALY_TCP_DATA_AFTER_CLOSE), 0);
    feed(fx, 5, 0, "more"); /* after the FIN */
    assert_string_equal(fx->out.text, "bye[FIN]");
    assert_int_equal(anomaly(fx, ANOMALY_TCP_DATA_AFTER_CLOSE), 1);
    ack(fx, 100); /* acks after the FIN change nothing */
    flush(fx);
    assert_string_equal(fx->out.text, "bye[FIN]");
    fixture_done(fx);
}

static void fin_out_of_order_waits(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 5, TCP_FIN, "ef"); /* FIN at 7, held */
    feed(fx, 9, 0, "xx");       /* beyond the FIN */
    assert_int_equal(anomaly(fx, ANOMALY_TCP_DATA_AFTER_CLOSE), 1);
    feed(fx, 1, 0, "abcd");
    assert_string_equal(fx->out.text, "abcdef[FIN]");
    fixture_done(fx);
}

static void fin_trims_held_data_beyond_it(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 5, 0, "efgh");     /* held [5,9) */
    feed(fx, 3, TCP_FIN, "cd"); /* FIN at 5: the held bytes are after close */
    assert_int_equal(anomaly(fx, ANOMALY_TCP_DATA_AFTER_CLOSE), 1);
    assert_int_equal(fx->s.ooo_bytes, 2); /* only "cd" is held */
    feed(fx, 1, 0, "ab");
    assert_string_equal(fx->out.text, "abcd[FIN]");
    fixture_done(fx);
}

static void rst_chunk(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, 0, "HTTP/1.1 200 OK\r\n");
    feed(fx, 18, TCP_RST, NULL);
    assert_string_equal(fx->out.text, "HTTP/1.1 200 OK\r\n[RST]");
    feed(fx, 18, 0, "late");
    feed(fx, 18, TCP_RST, NULL);
    assert_string_equal(fx->out.text, "HTTP/1.1 200 OK\r\n[RST]");
    assert_int_equal(anomaly(fx, ANOMALY_TCP_DATA_AFTER_CLOSE), 1);
    flush(fx);
    assert_string_equal(fx->out.text, "HTTP/1.1 200 OK\r\n[RST]");
    fixture_done(fx);
}

static void rst_delivers_held_data_first(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, 0, "ab");
    feed(fx, 5, 0, "ef");
    feed(fx, 9, TCP_RST, NULL);
    assert_string_equal(fx->out.text, "ab[gap 2]ef[RST]");
    fixture_done(fx);
}

static void rst_without_data(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 77, TCP_RST, NULL);
    assert_string_equal(fx->out.text, "[RST]");
    fixture_done(fx);
}

static void sequence_wrap(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0xfffffffau, TCP_SYN, NULL); /* data starts at 2^32 - 5 */
    feed(fx, 0xfffffffbu, 0, "abc");
    feed(fx, 0x00000002u, 0, "hij");  /* held, after the wrap */
    feed(fx, 0xfffffffeu, 0, "defg"); /* crosses 2^32 */
    feed(fx, 0xfffffffdu, 0, "cd");   /* partly old */
    feed(fx, 0x00000008u, 0, "op");   /* held */
    assert_string_equal(fx->out.text, "abcdefghij");
    ack(fx, 0x0000000au); /* gap [5,8) after the wrap */
    feed(fx, 0x0000000au, TCP_FIN, "q");
    assert_string_equal(fx->out.text, "abcdefghij[gap 3]opq[FIN]");
    assert_int_equal(fx->s.next_seq, 0x0000000cu);
    fixture_done(fx);
}

static void mid_stream_pickup(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 5000, 0, NULL); /* a pure ACK does not start the stream */
    assert_false(fx->s.started);
    ack(fx, 123456); /* nor does an ack for it */
    assert_false(fx->s.started);
    feed(fx, 123456789, 0, "ody\":1}");
    assert_true(fx->s.started);
    assert_false(fx->s.syn_seen);
    feed(fx, 123456789 + 16, 0, "200"); /* held */
    feed(fx, 123456789 + 7, 0, "HTTP/1.1 ");
    feed(fx, 123456789 - 3, 0, "{\"b"); /* before the pickup point: old */
    assert_string_equal(fx->out.text, "ody\":1}HTTP/1.1 200");
    fixture_done(fx);
}

static void one_byte_segments(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    char text[301];
    for (int i = 0; i < 300; i++)
        text[i] = (char)('a' + i % 26);
    text[300] = '\0';
    feed(fx, 0, TCP_SYN, NULL);
    /* the second half backwards, then the first half forwards */
    for (int i = 299; i >= 150; i--) {
        decoded_packet pkt = segment(1 + (uint32_t)i, 0, text + i, 1);
        tcp_reasm_add(fx->r, &fx->s, &pkt, &fx->anomalies);
        drain(fx);
    }
    assert_int_equal(fx->s.ooo_bytes, 150);
    assert_int_equal(fx->s.ooo_segments, 1); /* coalesced into one block */
    for (int i = 0; i < 150; i++) {
        decoded_packet pkt = segment(1 + (uint32_t)i, 0, text + i, 1);
        tcp_reasm_add(fx->r, &fx->s, &pkt, &fx->anomalies);
        drain(fx);
    }
    assert_string_equal(fx->out.text, text);
    assert_int_equal(fx->s.ooo_bytes, 0);
    fixture_done(fx);
}

static void large_segment_spans_blocks(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    static char big[9001];
    for (int i = 0; i < 9000; i++)
        big[i] = (char)('A' + i % 23);
    big[9000] = '\0';
    feed(fx, 0, TCP_SYN, NULL);
    decoded_packet pkt = segment(11, 0, big, 9000);
    tcp_reasm_add(fx->r, &fx->s, &pkt, &fx->anomalies);
    drain(fx);
    assert_int_equal(fx->s.ooo_bytes, 9000);
    assert_true(fx->s.ooo_segments >= 5);
    feed(fx, 1, 0, "0123456789");
    assert_int_equal(fx->out.len, 9010);
    assert_memory_equal(fx->out.text, "0123456789", 10);
    assert_memory_equal(fx->out.text + 10, big, 9000);
    fixture_done(fx);
}

static void undrained_view_becomes_gap(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    decoded_packet pkt = segment(1, 0, "abcd", 4);
    tcp_reasm_add(fx->r, &fx->s, &pkt, &fx->anomalies); /* not drained */
    pkt = segment(5, 0, "efgh", 4);
    tcp_reasm_add(fx->r, &fx->s, &pkt, &fx->anomalies);
    drain(fx);
    assert_string_equal(fx->out.text, "[gap 4]efgh");
    fixture_done(fx);
}

static void out_of_window_dropped(void **state) {
    (void)state;
    fixture *fx = fixture_new(NULL);
    feed(fx, 0, TCP_SYN, NULL);
    feed(fx, 1, 0, "ab");
    feed(fx, 0x60000000u, 0, "far");
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OUT_OF_WINDOW), 1);
    assert_int_equal(fx->s.ooo_segments, 0);
    ack(fx, 0x60000000u); /* nonsense ack: ignored */
    ack(fx, 0x60000000u);
    feed(fx, 3, 0, "cd");
    assert_string_equal(fx->out.text, "abcd");
    fixture_done(fx);
}

static void memory_returns_to_zero(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.tcp_ooo_bytes_total = 4 * 2048;
    fixture *fx = fixture_new(&lim);
    for (int round = 0; round < 200; round++) {
        tcp_stream streams[3];
        memset(streams, 0, sizeof streams);
        for (int k = 0; k < 3; k++) {
            decoded_packet pkt = segment(0, TCP_SYN, NULL, 0);
            tcp_reasm_add(fx->r, &streams[k], &pkt, &fx->anomalies);
            pkt = segment(10, 0, "held", 4);
            tcp_reasm_add(fx->r, &streams[k], &pkt, &fx->anomalies);
            assert_int_equal(streams[k].ooo_segments, 1);
        }
        assert_int_equal(tcp_reasm_get_stats(fx->r).ooo_bytes_held, 12);
        for (int k = 0; k < 3; k++)
            tcp_reasm_release(fx->r, &streams[k]);
        assert_int_equal(tcp_reasm_get_stats(fx->r).ooo_bytes_held, 0);
    }
    assert_int_equal(anomaly(fx, ANOMALY_TCP_OOO_LIMIT), 0);
    assert_int_equal(tcp_reasm_get_stats(fx->r).ooo_bytes_peak, 12);
    fixture_done(fx);
}

static void null_arguments_are_safe(void **state) {
    (void)state;
    tcp_chunk chunk;
    tcp_reasm_add(NULL, NULL, NULL, NULL);
    tcp_reasm_ack(NULL, NULL, 0, 0, NULL);
    tcp_reasm_flush(NULL, NULL, 0);
    assert_int_equal(tcp_reasm_next(NULL, NULL, &chunk), 0);
    tcp_reasm_release(NULL, NULL);
    tcp_reasm_destroy(NULL);
    tcp_reassembler *r = NULL;
    assert_int_equal(tcp_reasm_create(NULL, &r), AS_ERR_ARG);
    assert_null(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order_is_zero_copy),
        cmocka_unit_test(reversed_order),
        cmocka_unit_test(all_permutations),
        cmocka_unit_test(retransmissions_dropped),
        cmocka_unit_test(partial_overlaps_trimmed),
        cmocka_unit_test(conflict_late_rewrite_flagged),
        cmocka_unit_test(conflict_hole_filled_first_flagged),
        cmocka_unit_test(conflict_with_held_segment_flagged),
        cmocka_unit_test(conflict_found_within_history_only),
        cmocka_unit_test(keepalive_probe_is_not_a_conflict),
        cmocka_unit_test(hole_declared_by_ack),
        cmocka_unit_test(hole_declared_by_ack_inside_the_hole),
        cmocka_unit_test(ack_stall_declares_gap_on_second_ack),
        cmocka_unit_test(hole_declared_by_segment_limit),
        cmocka_unit_test(hole_declared_by_byte_limit),
        cmocka_unit_test(hole_declared_by_global_limit),
        cmocka_unit_test(zero_limits_mean_no_holding),
        cmocka_unit_test(flush_delivers_gaps),
        cmocka_unit_test(flush_without_data_is_quiet),
        cmocka_unit_test(snaplen_cut_segments),
        cmocka_unit_test(snaplen_segment_split_by_held_data),
        cmocka_unit_test(fin_chunk_once),
        cmocka_unit_test(fin_out_of_order_waits),
        cmocka_unit_test(fin_trims_held_data_beyond_it),
        cmocka_unit_test(rst_chunk),
        cmocka_unit_test(rst_delivers_held_data_first),
        cmocka_unit_test(rst_without_data),
        cmocka_unit_test(sequence_wrap),
        cmocka_unit_test(mid_stream_pickup),
        cmocka_unit_test(one_byte_segments),
        cmocka_unit_test(large_segment_spans_blocks),
        cmocka_unit_test(undrained_view_becomes_gap),
        cmocka_unit_test(out_of_window_dropped),
        cmocka_unit_test(memory_returns_to_zero),
        cmocka_unit_test(null_arguments_are_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
