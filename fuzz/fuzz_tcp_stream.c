/*
 * Fuzz target for the flow table and TCP reassembly together: the input is a
 * script of packets between 10.1.0.2 and 10.2.0.80:80, run the way the
 * pipeline runs them (expire, lookup, drain ended flows, ack the other
 * direction, add, drain), with small limits so every bound is hit.
 *
 * Script: 8 bytes of initial sequence numbers (client, server, big endian;
 * values near 2^32 exercise the wrap), then records. The first byte of a
 * record is op = kind << 6 | flags << 1 | direction, flags being SYN, FIN,
 * RST, ACK, PSH from bit 0:
 *   kind 0  segment: offset (2 bytes, from the direction's ISN), length (1),
 *           bytes cut by snaplen (1), ack offset (2), then `length` payload
 *   kind 1  bare packet with flags only: ack offset (2)
 *   kind 2  time passes: seconds (1)
 *   kind 3  switch client port: port index (1, low 2 bits)
 *
 * Checked on every chunk: a data chunk has data and a length, an empty chunk
 * is a FIN, an RST or a lone overlap conflict; nothing but an RST follows a
 * FIN; nothing follows an RST; FIN and RST come once; the data and gap
 * bytes handed out (and the FIN's sequence number) move next_seq from where
 * the stream started by exactly as much. At the end every flow is ended and
 * the out-of-order pool is empty again.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capture/flow_table.h"
#include "capture/tcp_stream.h"

enum { FUZZ_MAX_SLOTS = 1024 };

typedef struct fuzz_track {
    uint64_t handed_out; /* data and gap bytes delivered */
    uint32_t start_seq;  /* next_seq when the stream was first drained started */
    uint8_t started;
    uint8_t fin, rst;
    uint32_t checksum; /* reads every data byte, so stale views show up */
} fuzz_track;

typedef struct fuzz_run {
    flow_table *ft;
    tcp_reassembler *r;
    anomaly_counters anomalies;
    fuzz_track track[FUZZ_MAX_SLOTS][2];
} fuzz_run;

static void fuzz_check(int ok) {
    if (!ok)
        __builtin_trap();
}

static void fuzz_drain(fuzz_run *run, flow *f, int dir) {
    tcp_stream *s = &f->stream[dir];
    fuzz_track *t = &run->track[f->slot][dir];
    if (!t->started && s->started) {
        fuzz_check(t->handed_out == 0);
        t->started = 1;
        t->start_seq = s->next_seq;
    }
    tcp_chunk chunk;
    while (tcp_reasm_next(run->r, s, &chunk)) {
        fuzz_check(!t->rst);
        if (chunk.flags & TCP_CHUNK_RST) {
            fuzz_check(chunk.len == 0 && !chunk.data);
            t->rst = 1;
            continue;
        }
        fuzz_check(!t->fin);
        if (chunk.flags & TCP_CHUNK_FIN) {
            fuzz_check(chunk.len == 0 && !chunk.data);
            t->fin = 1;
            continue;
        }
        if (chunk.len == 0) {
            /* an overlap conflict reported on its own */
            fuzz_check(chunk.flags == TCP_CHUNK_OVERLAP_CONFLICT && !chunk.data);
            continue;
        }
        if (chunk.flags & TCP_CHUNK_GAP) {
            fuzz_check(!chunk.data);
        } else {
            fuzz_check(chunk.data != NULL);
            for (uint32_t i = 0; i < chunk.len; i++)
                t->checksum = t->checksum * 31 + chunk.data[i];
        }
        t->handed_out += chunk.len;
    }
    if (t->started)
        fuzz_check(s->next_seq == (uint32_t)(t->start_seq + t->handed_out + t->fin));
}

static void fuzz_close_ended(fuzz_run *run) {
    flow *f;
    while ((f = flow_table_take_ended(run->ft)) != NULL) {
        fuzz_check(f->slot < FUZZ_MAX_SLOTS);
        for (int dir = 0; dir < 2; dir++) {
            tcp_reasm_flush(run->r, &f->stream[dir], f->last_ts_ns);
            fuzz_drain(run, f, dir);
            /* after a flush nothing is held */
            fuzz_check(f->stream[dir].ooo_segments == 0);
            tcp_reasm_release(run->r, &f->stream[dir]);
            memset(&run->track[f->slot][dir], 0, sizeof run->track[f->slot][dir]);
        }
        flow_table_recycle(run->ft, f);
    }
}

static void fuzz_packet(fuzz_run *run, const decoded_packet *pkt) {
    flow_table_expire(run->ft, pkt->ts_ns);
    fuzz_close_ended(run);
    flow *f;
    flow_direction dir;
    as_status st = flow_table_lookup(run->ft, pkt, &f, &dir, &run->anomalies);
    fuzz_close_ended(run);
    if (st != AS_OK)
        return;
    fuzz_check(f->slot < FUZZ_MAX_SLOTS);
    int other = dir == FLOW_TO_SERVER ? FLOW_TO_CLIENT : FLOW_TO_SERVER;
    if (pkt->tcp_flags & TCP_ACK) {
        tcp_reasm_ack(run->r, &f->stream[other], pkt->ack, pkt->ts_ns, &run->anomalies);
        fuzz_drain(run, f, other);
    }
    tcp_reasm_add(run->r, &f->stream[dir], pkt, &run->anomalies);
    fuzz_drain(run, f, dir);
    flow_table_stats fs = flow_table_get_stats(run->ft);
    fuzz_check(fs.active <= 16);
}

static uint32_t fuzz_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t fuzz_be16(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fuzz_run run;
    if (size < 8)
        return 0;
    memset(&run, 0, sizeof run);
    limits lim = limits_default();
    lim.flow_max = 16;
    lim.tcp_ooo_bytes_per_direction = 3000;
    lim.tcp_ooo_segments_per_direction = 6;
    lim.tcp_ooo_bytes_total = 16 * 2048;
    if (flow_table_create(&lim, &run.ft) != AS_OK)
        return 0;
    if (tcp_reasm_create(&lim, &run.r) != AS_OK) {
        flow_table_destroy(run.ft);
        return 0;
    }
    fuzz_check(flow_table_slot_count(run.ft) <= FUZZ_MAX_SLOTS);
    uint32_t isn[2] = {fuzz_be32(data), fuzz_be32(data + 4)};
    const uint8_t *p = data + 8, *end = data + size;
    uint64_t now = 1700000000ull * 1000000000ull;
    uint16_t client_port = 40000;
    ip_address client = {.family = 4, .bytes = {10, 1, 0, 2}};
    ip_address server = {.family = 4, .bytes = {10, 2, 0, 80}};
    static const uint8_t flag_map[5] = {TCP_SYN, TCP_FIN, TCP_RST, TCP_ACK, TCP_PSH};
    while (p < end) {
        uint8_t op = *p++;
        int kind = op >> 6, dir = op & 1;
        uint8_t flags = 0;
        for (int i = 0; i < 5; i++)
            if (op & (1u << (i + 1)))
                flags |= flag_map[i];
        now += 1000;
        if (kind == 2) {
            if (p < end)
                now += (uint64_t)*p++ * 1000000000ull;
            flow_table_expire(run.ft, now);
            fuzz_close_ended(&run);
            continue;
        }
        if (kind == 3) {
            if (p < end)
                client_port = (uint16_t)(40000 + (*p++ & 3));
            continue;
        }
        decoded_packet pkt;
        memset(&pkt, 0, sizeof pkt);
        pkt.ts_ns = now;
        pkt.ip_proto = 6;
        pkt.src = dir ? server : client;
        pkt.dst = dir ? client : server;
        pkt.src_port = dir ? 80 : client_port;
        pkt.dst_port = dir ? client_port : 80;
        pkt.tcp_flags = flags;
        if (kind == 1) {
            if (end - p < 2)
                break;
            pkt.seq = isn[dir];
            pkt.ack = isn[!dir] + fuzz_be16(p);
            p += 2;
        } else {
            if (end - p < 6)
                break;
            pkt.seq = isn[dir] + fuzz_be16(p);
            uint32_t len = p[2], cut = p[3];
            pkt.ack = isn[!dir] + fuzz_be16(p + 4);
            p += 6;
            if (len > (uint32_t)(end - p))
                len = (uint32_t)(end - p);
            pkt.payload = len ? p : NULL;
            pkt.payload_len = len;
            pkt.payload_wire_len = len + cut;
            p += len;
        }
        fuzz_packet(&run, &pkt);
    }
    flow_table_end_all(run.ft);
    fuzz_close_ended(&run);
    fuzz_check(flow_table_get_stats(run.ft).active == 0);
    fuzz_check(tcp_reasm_get_stats(run.r).ooo_bytes_held == 0);
    tcp_reasm_destroy(run.r);
    flow_table_destroy(run.ft);
    return 0;
}
