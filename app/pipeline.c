/*
 * One worker's data path (see pipeline.h).
 *
 * Per packet: decode; advance packet time and expire idle flows; find the
 * flow; for TCP, first apply the packet's ACK to the opposite stream (it may
 * reveal a capture gap there and release held data), then add the segment to
 * its own stream; let nDPI see the packet (its verdict does not steer the
 * other stages, so it comes where its state has had time to load). Every chunk a stream releases
 * goes straight to the HTTP engine, and every transaction the engine completes is written before
 * the next chunk is pulled, because chunk and transaction views only live until the next call.
 *
 * Ended flows (timeout, eviction, port reuse, end of input) are closed in a
 * fixed order: flush both streams, close the HTTP session, count the
 * protocol, release the streams, recycle the slot.
 *
 * Packets come in windows where the source has them in memory (pcap files):
 * before a window is processed, a second decoder (no fragment reassembly, no
 * counting: it only looks) finds each packet's flow hash, and the hash
 * buckets, then the flows and the classifier's and HTTP engine's state of
 * their slots, are prefetched in two rounds. The flow table's and the
 * stages' state are far larger than the caches, so this lets a window's
 * cache misses overlap instead of stalling each packet. Only hints: the
 * packets are then processed one by one exactly as without a window.
 *
 * Hooked mode (a worker thread of --workers N, see workers.h): the same
 * per-packet code, fed one packet at a time by the worker; transactions go
 * to on_transaction with the phase of the packet's handling and the
 * sequence number of the packet that created their flow (kept per flow
 * slot), and stats ticks are decided by the dispatcher, not by this
 * pipeline's own clock.
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/decode.h"
#include "capture/flow_table.h"
#include "capture/tcp_stream.h"
#include "common/bigmem.h"
#include "export/stats_event.h"
#include "export/community_id.h"
#include "parse/classify.h"
#include "parse/http1.h"
#include "parse/tls.h"

/* Packets read at once from a source that holds them in memory. */
#define PIPELINE_WINDOW 16

struct pipeline {
    pipeline_config config;
    decoder *decoder;
    decoder *peek_decoder; /* decodes a window ahead for prefetching; never reassembles */
    flow_table *flows;
    tcp_reassembler *reasm;
    classifier *classifier;
    http_engine *http;
    tls_engine *tls;
    classify_flow *classify_state; /* per flow slot */
    uint32_t slot_count;           /* flow slots of the flow table */
    community_id *community_id;
    anomaly_counters anomalies;
    pipeline_totals totals;
    capture_source *source;        /* being read by pipeline_run; NULL between runs */
    capture_source_stats captured; /* drop counters of the sources already read */
    int live;                      /* 1 once a live source was read */
    uint64_t now_ns;               /* latest packet time seen */
    uint64_t next_stats_ns;        /* packet time of the next stats event; 0 = not started */
    /* hooked mode */
    uint64_t *flow_origin; /* per flow slot: seq of the packet that created the flow */
    uint64_t seq;          /* of the packet being handled */
    pipeline_phase phase;  /* of the packet's handling */
};

as_status pipeline_create(const pipeline_config *config, pipeline **out) {
    *out = NULL;
    pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return AS_ERR_NOMEM;
    p->config = *config;
    as_status st = decoder_create(&config->lim, &p->decoder);
    limits peek_lim = config->lim;
    peek_lim.ipfrag_max_datagrams = 0;
    if (st == AS_OK)
        st = decoder_create(&peek_lim, &p->peek_decoder);
    if (st == AS_OK)
        st = flow_table_create(&config->lim, &p->flows);
    if (st == AS_OK)
        st = tcp_reasm_create(&config->lim, &p->reasm);
    if (st == AS_OK)
        st = classifier_create(&config->lim, &p->classifier);
    if (st == AS_OK)
        st = community_id_create(&p->community_id);
    if (st == AS_OK) {
        p->slot_count = flow_table_slot_count(p->flows);
        st = http_engine_create(&config->lim, p->slot_count, &p->http);
    }
    if (st == AS_OK)
        st = tls_engine_create(&config->lim, p->slot_count, config->keylog, &p->tls);
    if (st == AS_OK) {
        p->classify_state = bigmem_alloc((size_t)p->slot_count * sizeof *p->classify_state);
        if (!p->classify_state)
            st = AS_ERR_NOMEM;
    }
    if (st == AS_OK && config->on_transaction) {
        p->flow_origin = bigmem_alloc((size_t)p->slot_count * sizeof *p->flow_origin);
        if (!p->flow_origin)
            st = AS_ERR_NOMEM;
    }
    if (st != AS_OK) {
        pipeline_destroy(p);
        return st;
    }
    *out = p;
    return AS_OK;
}

static void emit_transactions(pipeline *p, const flow *f) {
    http_transaction tx;
    int wanted = !p->config.on_transaction && sink_router_wants_transactions(p->config.router);
    while (http_engine_next(p->http, &tx)) {
        tls_engine_annotate(p->tls, f, &tx);
        tx.risks = classify_flow_risks(&p->classify_state[f->slot]);
        p->totals.transactions++;
        if (p->config.on_transaction) {
            p->config.on_transaction(p->config.hook_arg, &tx, p->phase, p->flow_origin[f->slot]);
            continue;
        }
        const transaction_context *ctx =
            p->config.model ? model_transaction(p->config.model, &tx) : NULL;
        if (!wanted)
            continue;
        char community[64];
        community_id_format(p->community_id, &tx.client_ip, tx.client_port, &tx.server_ip,
                            tx.server_port, 6, community, sizeof community);
        sink_router_transaction(p->config.router, community, &tx, ctx);
    }
}

/* Live drop counters (the kernel's and the interface's) of every source read so far. */
static capture_source_stats pipeline_capture_stats(const pipeline *p) {
    capture_source_stats cs = p->captured;
    if (p->source) {
        capture_source_stats now = capture_source_get_stats(p->source);
        cs.kernel_drops += now.kernel_drops;
        cs.iface_drops += now.iface_drops;
    }
    return cs;
}

void pipeline_write_stats(sink_router *router, const pipeline_counters *c, uint64_t ts_ns,
                          uint32_t interval_seconds, int final) {
    const pipeline_totals *t = &c->totals;
    const stats_counter counters[] = {
        {"packets", t->packets},
        {"bytes", t->bytes},
        {"packets_skipped", t->packets_skipped},
        {"flows_created", c->flows.created},
        {"flows_peak", c->flows.peak},
        {"flows_evicted", c->flows.ended_evicted},
        {"flows_halfopen_dropped", c->flows.halfopen_dropped},
        {"tcp_gaps", c->tcp.gaps},
        {"tcp_ooo_limit_hits", c->tcp.ooo_limit_hits},
        {"http_requests", c->http.requests},
        {"http_responses", c->http.responses},
        {"transactions", t->transactions},
        {"output_errors", t->output_errors},
        {"capture_kernel_drops", c->captured.kernel_drops},
        {"capture_interface_drops", c->captured.iface_drops},
    };
    stats_counter anomalies[ANOMALY_COUNT];
    uint32_t anomaly_count = 0;
    for (int i = 0; i < ANOMALY_COUNT; i++)
        if (c->anomalies.count[i])
            anomalies[anomaly_count++] =
                (stats_counter){anomaly_name((anomaly_id)i), c->anomalies.count[i]};
    stats_record r = {
        .ts_ns = ts_ns,
        .final = final,
        .interval_seconds = interval_seconds,
        .counters = counters,
        /* the capture drop counters (last two) only mean something live */
        .counter_count = (uint32_t)(sizeof counters / sizeof counters[0]) - (c->live ? 0 : 2),
        .anomalies = anomalies,
        .anomaly_count = anomaly_count,
    };
    sink_router_stats(router, &r);
}

static void emit_stats(pipeline *p, int final) {
    pipeline_counters c;
    pipeline_get_counters(p, &c);
    p->totals.stats_events++;
    pipeline_write_stats(p->config.router, &c, p->now_ns, p->config.stats_interval_seconds, final);
}

/* Stats events on the packet-time clock: one at every multiple of the
 * interval that packet time crosses. */
static void tick_stats(pipeline *p) {
    uint64_t interval = (uint64_t)p->config.stats_interval_seconds * 1000000000u;
    if (!interval)
        return;
    if (!p->next_stats_ns) {
        p->next_stats_ns = p->now_ns - p->now_ns % interval + interval;
        return;
    }
    if (p->now_ns < p->next_stats_ns)
        return;
    emit_stats(p, 0);
    p->next_stats_ns = p->now_ns - p->now_ns % interval + interval;
}

static void drain_stream(pipeline *p, flow *f, flow_direction dir) {
    tcp_chunk chunk;
    while (tcp_reasm_next(p->reasm, &f->stream[dir], &chunk)) {
        if (!tls_engine_feed(p->tls, f, dir, &chunk, &p->anomalies)) {
            http_engine_feed(p->http, f, dir, &chunk, &p->anomalies);
            emit_transactions(p, f);
            continue;
        }
        tcp_chunk plain; /* TLS: decrypted data goes to HTTP like cleartext */
        while (tls_engine_next(p->tls, &plain)) {
            http_engine_feed(p->http, f, dir, &plain, &p->anomalies);
            emit_transactions(p, f);
        }
    }
}

static void close_ended_flows(pipeline *p) {
    flow *f;
    while ((f = flow_table_take_ended(p->flows)) != NULL) {
        if (f->ip_proto == 6) {
            for (int dir = 0; dir < 2; dir++) {
                tcp_reasm_flush(p->reasm, &f->stream[dir], f->last_ts_ns);
                drain_stream(p, f, (flow_direction)dir);
            }
        }
        http_engine_close(p->http, f, &p->anomalies);
        emit_transactions(p, f);
        tls_engine_close(p->tls, f);
        classifier_finish(p->classifier, &p->classify_state[f->slot]);
        tcp_reasm_release(p->reasm, &f->stream[0]);
        tcp_reasm_release(p->reasm, &f->stream[1]);
        flow_table_recycle(p->flows, f);
    }
}

/* Packet time moves to ts_ns: flows due end. Single-threaded, stats events
 * follow their own clock; hooked, the dispatcher says when a tick comes. */
static void advance_time(pipeline *p, uint64_t ts_ns, int stats_tick) {
    if (ts_ns > p->now_ns) {
        p->now_ns = ts_ns;
        p->phase = PIPELINE_PHASE_EXPIRED;
        flow_table_expire(p->flows, p->now_ns);
        decoder_expire(p->decoder, p->now_ns, &p->anomalies);
        close_ended_flows(p);
        if (!p->config.on_transaction)
            tick_stats(p);
    }
    if (stats_tick && p->config.on_stats_tick)
        p->config.on_stats_tick(p->config.hook_arg);
}

static void process_packet(pipeline *p, const capture_packet *pkt, int stats_tick) {
    decoded_packet dp;
    p->totals.packets++;
    p->totals.bytes += pkt->caplen;
    advance_time(p, pkt->ts_ns, stats_tick);
    if (decoder_decode(p->decoder, pkt, &dp, &p->anomalies) != AS_OK) {
        p->totals.packets_skipped++;
        return;
    }
    flow *f;
    flow_direction dir;
    as_status st = flow_table_lookup(p->flows, &dp, &f, &dir, &p->anomalies);
    p->phase = PIPELINE_PHASE_ENDED;
    close_ended_flows(p);
    if (st != AS_OK) {
        p->totals.packets_skipped++;
        return;
    }
    p->phase = PIPELINE_PHASE_PACKET;
    if (p->flow_origin && f->packets[0] + f->packets[1] == 1)
        p->flow_origin[f->slot] = p->seq;
    /* The stages keep their state in separate arrays: start loading it all
     * now so that the cache misses overlap. */
    classify_flow *cf = &p->classify_state[f->slot];
    __builtin_prefetch(cf);
    if (dp.ip_proto != 6) {
        classifier_packet(p->classifier, cf, &dp);
        return;
    }
    if (dp.payload_len > 0)
        http_engine_prefetch(p->http, f->slot);
    flow_direction other = dir == FLOW_TO_SERVER ? FLOW_TO_CLIENT : FLOW_TO_SERVER;
    if (dp.tcp_flags & TCP_ACK) {
        tcp_reasm_ack(p->reasm, &f->stream[other], dp.ack, dp.ts_ns, &p->anomalies);
        drain_stream(p, f, other);
    }
    tcp_reasm_add(p->reasm, &f->stream[dir], &dp, &p->anomalies);
    classifier_packet(p->classifier, cf, &dp);
    drain_stream(p, f, dir);
    /* nDPI would try every later packet of a TLS flow picked up
     * mid-stream for a hello that is not coming */
    if (!cf->done && tls_engine_hello_missed(p->tls, f))
        classifier_give_up(p->classifier, cf);
}

/* Prefetches the flow state of a window of packets (see the top of the file). */
static void prefetch_window(pipeline *p, const capture_packet *pkts, unsigned n) {
    uint32_t hash[PIPELINE_WINDOW];
    uint8_t state[PIPELINE_WINDOW]; /* 0 no flow, 1 flow, 2 flow and payload */
    decoded_packet dp;
    for (unsigned i = 0; i < n; i++) {
        state[i] = 0;
        if (decoder_decode(p->peek_decoder, &pkts[i], &dp, NULL) != AS_OK)
            continue;
        hash[i] = flow_table_prefetch_bucket(p->flows, &dp);
        state[i] = dp.payload_len > 0 ? 2 : 1;
    }
    for (unsigned i = 0; i < n; i++) {
        if (!state[i])
            continue;
        uint32_t slot = flow_table_prefetch_flow(p->flows, hash[i]);
        if (slot >= p->slot_count)
            continue;
        __builtin_prefetch(&p->classify_state[slot]);
        if (state[i] == 2)
            http_engine_prefetch(p->http, slot);
    }
}

as_status pipeline_run(pipeline *p, capture_source *src, volatile int *stop,
                       void (*progress)(void *arg), void *arg) {
    capture_packet window[PIPELINE_WINDOW];
    unsigned count = 0;
    as_status st = AS_DONE;
    uint64_t since_progress = 0;
    p->source = src;
    p->live |= capture_source_is_live(src);
    while (!*stop) {
        st = capture_source_next_batch(src, window, PIPELINE_WINDOW, &count);
        if (st == AS_NEED_MORE) {
            uint64_t idle = p->live ? pipeline_idle_clock(p->now_ns) : 0;
            if (idle)
                advance_time(p, idle, 0);
            sink_router_poll(p->config.router);
            continue;
        }
        if (st != AS_OK)
            break;
        if (count > 1)
            prefetch_window(p, window, count);
        for (unsigned i = 0; i < count && !*stop; i++) {
            process_packet(p, &window[i], 0);
            if (progress && ++since_progress == 65536) {
                since_progress = 0;
                progress(arg);
            }
        }
    }
    if (*stop)
        st = AS_DONE;
    pipeline_end_flows(p);
    p->captured = pipeline_capture_stats(p);
    p->source = NULL;
    return st;
}

void pipeline_packet(pipeline *p, const capture_packet *pkt, uint64_t seq, int stats_tick) {
    p->seq = seq;
    process_packet(p, pkt, stats_tick);
}

void pipeline_advance(pipeline *p, uint64_t ts_ns, int stats_tick) {
    advance_time(p, ts_ns, stats_tick);
}

uint64_t pipeline_idle_clock(uint64_t now_ns) {
    struct timespec t;
    if (clock_gettime(CLOCK_REALTIME, &t) != 0)
        return 0;
    uint64_t wall = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
    if (wall < PIPELINE_IDLE_LAG_NS || wall - PIPELINE_IDLE_LAG_NS < now_ns + 1000000000u)
        return 0;
    return wall - PIPELINE_IDLE_LAG_NS;
}

void pipeline_end_flows(pipeline *p) {
    p->phase = PIPELINE_PHASE_END;
    flow_table_end_all(p->flows);
    close_ended_flows(p);
}

void pipeline_get_counters(const pipeline *p, pipeline_counters *out) {
    out->totals = pipeline_get_totals(p);
    out->flows = flow_table_get_stats(p->flows);
    out->tcp = tcp_reasm_get_stats(p->reasm);
    out->http = http_engine_get_stats(p->http);
    out->tls = tls_engine_get_stats(p->tls);
    out->anomalies = p->anomalies;
    if (p->config.model) /* one thread: the model's anomalies so far */
        anomaly_counters_add(&out->anomalies, model_anomalies(p->config.model));
    out->captured = pipeline_capture_stats(p);
    out->live = (uint64_t)p->live;
}

/* Adds the 64-bit counters of a structure made only of them. */
static void add_u64(void *a, const void *b, size_t size) {
    uint64_t *x = a;
    const uint64_t *y = b;
    for (size_t i = 0; i < size / sizeof(uint64_t); i++)
        x[i] += y[i];
}

void pipeline_counters_add(pipeline_counters *a, const pipeline_counters *b) {
    _Static_assert(sizeof(pipeline_counters) % sizeof(uint64_t) == 0, "counters only");
    add_u64(a, b, sizeof *a);
}

void pipeline_finish(pipeline *p) {
    emit_stats(p, 1);
}

pipeline_totals pipeline_get_totals(const pipeline *p) {
    pipeline_totals t = p->totals;
    /* hooked: the router belongs to the model thread, which counts its errors */
    t.output_errors = p->config.on_transaction ? 0 : sink_router_errors(p->config.router);
    return t;
}

uint64_t pipeline_now(const pipeline *p) {
    return p->now_ns;
}

anomaly_counters *pipeline_anomalies(pipeline *p) {
    return &p->anomalies;
}

/* Names with counts added up over several pipelines, in order of first
 * appearance (the summary of --workers N). Not on the hot path. */
typedef struct name_count {
    const char *name, *name2;
    uint64_t count;
} name_count;

typedef struct name_counts {
    name_count *items;
    size_t count, capacity;
} name_counts;

static void name_counts_add(name_counts *list, const char *name, const char *name2,
                            uint64_t count) {
    for (size_t i = 0; i < list->count; i++) {
        if (strcmp(list->items[i].name, name) == 0 &&
            (!name2 || strcmp(list->items[i].name2, name2) == 0)) {
            list->items[i].count += count;
            return;
        }
    }
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 64;
        name_count *items = realloc(list->items, capacity * sizeof *items);
        if (!items)
            return; /* the summary lists what fitted */
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count++] = (name_count){name, name2, count};
}

static void collect_protocol(const char *name, uint64_t flows, void *arg) {
    name_counts_add(arg, name, NULL, flows);
}

static void collect_tls_pair(const char *sni, const char *ja4, uint64_t flows, void *arg) {
    name_counts_add(arg, sni, ja4, flows);
}

static void write_tls_summary(pipeline *const *ps, unsigned n, const tls_engine_stats *tls,
                              FILE *out) {
    const tls_engine_stats ts = *tls;
    if (!ts.flows)
        return;
    fprintf(out,
            "  tls: %llu flows (%llu with SNI, %llu with a ClientHello; TLS 1.2 %llu, TLS 1.3 "
            "%llu), %llu with keys, %llu decrypted; %llu records (%llu opened), %.1f MB, "
            "%.1f MB plaintext\n",
            (unsigned long long)ts.flows, (unsigned long long)ts.flows_sni,
            (unsigned long long)ts.flows_hello, (unsigned long long)ts.flows_tls12,
            (unsigned long long)ts.flows_tls13, (unsigned long long)ts.flows_with_keys,
            (unsigned long long)ts.flows_decrypted, (unsigned long long)ts.records,
            (unsigned long long)ts.records_decrypted, (double)ts.bytes / 1e6,
            (double)ts.plaintext_bytes / 1e6);
    if (ps[0]->config.keylog) {
        tls_keylog_stats ks = tls_keylog_get_stats(ps[0]->config.keylog);
        fprintf(out,
                "    key log: %llu client randoms, %llu lines kept, %llu malformed, %llu evicted "
                "(tls_keylog_entries)\n",
                (unsigned long long)ks.entries, (unsigned long long)ks.lines,
                (unsigned long long)ks.lines_bad, (unsigned long long)ks.evicted);
    }
    for (int r = 0; r < TLS_REASON_COUNT; r++)
        if (ts.flows_undecryptable[r])
            fprintf(out, "    undecryptable: %-44s %8llu\n", tls_reason_name((tls_reason)r),
                    (unsigned long long)ts.flows_undecryptable[r]);
    fprintf(out, "   tls flows by (SNI, JA4):\n");
    name_counts pairs = {0};
    for (unsigned i = 0; i < n; i++)
        tls_engine_foreach_pair(ps[i]->tls, collect_tls_pair, &pairs);
    for (size_t i = 0; i < pairs.count; i++) {
        const name_count *c = &pairs.items[i];
        fprintf(out, "    %-40s %-36s %8llu\n", *c->name ? c->name : "(no SNI)",
                *c->name2 ? c->name2 : "(no hello)", (unsigned long long)c->count);
    }
    free(pairs.items);
    if (ts.pairs_other)
        fprintf(out, "    %-77s %8llu\n", "(other pairs, over tls_fingerprint_pairs)",
                (unsigned long long)ts.pairs_other);
}

void pipeline_write_summary(const pipeline *p, FILE *out, double elapsed_seconds) {
    pipeline *one = (pipeline *)p; /* read only: the lists of one pipeline */
    pipeline_write_summary_many(&one, 1, NULL, out, elapsed_seconds);
}

void pipeline_write_summary_many(pipeline *const *pipelines, unsigned n,
                                 const anomaly_counters *more_anomalies, FILE *out,
                                 double elapsed_seconds) {
    pipeline_counters c;
    pipeline_get_counters(pipelines[0], &c);
    for (unsigned i = 1; i < n; i++) {
        pipeline_counters more;
        pipeline_get_counters(pipelines[i], &more);
        pipeline_counters_add(&c, &more);
    }
    if (more_anomalies)
        anomaly_counters_add(&c.anomalies, more_anomalies);
    c.totals.output_errors = sink_router_errors(pipelines[0]->config.router);
    const pipeline_totals *t = &c.totals;
    const flow_table_stats fs = c.flows;
    const tcp_reasm_stats rs = c.tcp;
    const http_engine_stats hs = c.http;
    double mb = (double)t->bytes / 1e6;
    fprintf(out, "apisensor run summary\n");
    fprintf(out, "  packets %llu (%llu not analysed), %.1f MB captured\n",
            (unsigned long long)t->packets, (unsigned long long)t->packets_skipped, mb);
    fprintf(out, "  elapsed %.3f s, %.1f MB/s, %.0f packets/s\n", elapsed_seconds,
            elapsed_seconds > 0 ? mb / elapsed_seconds : 0.0,
            elapsed_seconds > 0 ? (double)t->packets / elapsed_seconds : 0.0);
    fprintf(out,
            "  flows %llu created, peak %llu%s; ended: idle %llu, closed %llu, "
            "port reuse %llu, end of input %llu, evicted (flow_max) %llu; "
            "half-open dropped %llu\n",
            (unsigned long long)fs.created, (unsigned long long)fs.peak,
            n > 1 ? " (sum of the workers' peaks)" : "", (unsigned long long)fs.ended_idle,
            (unsigned long long)fs.ended_closed, (unsigned long long)fs.ended_port_reuse,
            (unsigned long long)fs.ended_shutdown, (unsigned long long)fs.ended_evicted,
            (unsigned long long)fs.halfopen_dropped);
    fprintf(out,
            "  http: %llu sessions, %llu requests, %llu responses (%llu interim), "
            "%llu transactions\n",
            (unsigned long long)hs.sessions, (unsigned long long)hs.requests,
            (unsigned long long)hs.responses, (unsigned long long)hs.interim_responses,
            (unsigned long long)t->transactions);
    const openapi_spec *spec = pipelines[0]->config.spec;
    if (spec) {
        openapi_load_stats ls = openapi_get_load_stats(spec);
        fprintf(out, "  spec: %u operations (%u deprecated)", openapi_operation_count(spec),
                openapi_deprecated_count(spec));
        if (ls.unresolved_refs || ls.duplicate_operations)
            fprintf(out, "; skipped %u external $ref, %u duplicate operations", ls.unresolved_refs,
                    ls.duplicate_operations);
        fprintf(out, "\n");
    }
    fprintf(out,
            "  tcp: %llu gaps (%llu bytes), %llu retransmitted bytes, "
            "%llu overlap conflicts, out-of-order peak %llu bytes, "
            "limit hits (tcp_ooo_*) %llu\n",
            (unsigned long long)rs.gaps, (unsigned long long)rs.gap_bytes,
            (unsigned long long)rs.retransmitted_bytes, (unsigned long long)rs.overlap_conflicts,
            (unsigned long long)rs.ooo_bytes_peak, (unsigned long long)rs.ooo_limit_hits);
    write_tls_summary(pipelines, n, &c.tls, out);
    if (t->output_errors)
        fprintf(out, "  output errors: %llu events not written\n",
                (unsigned long long)t->output_errors);
    fprintf(out, " flows by protocol (nDPI):\n");
    name_counts protocols = {0};
    for (unsigned i = 0; i < n; i++)
        classifier_foreach_count(pipelines[i]->classifier, collect_protocol, &protocols);
    for (size_t i = 0; i < protocols.count; i++)
        fprintf(out, "  %-28s %12llu\n", protocols.items[i].name,
                (unsigned long long)protocols.items[i].count);
    free(protocols.items);
    int any = 0;
    for (int i = 0; i < ANOMALY_COUNT; i++) {
        if (!c.anomalies.count[i])
            continue;
        if (!any++)
            fprintf(out, " anomalies:\n");
        fprintf(out, "  %-40s %12llu\n", anomaly_name((anomaly_id)i),
                (unsigned long long)c.anomalies.count[i]);
    }
}

void pipeline_destroy(pipeline *p) {
    if (!p)
        return;
    http_engine_destroy(p->http);
    tls_engine_destroy(p->tls);
    classifier_destroy(p->classifier);
    tcp_reasm_destroy(p->reasm);
    flow_table_destroy(p->flows);
    decoder_destroy(p->decoder);
    decoder_destroy(p->peek_decoder);
    bigmem_free(p->classify_state, (size_t)p->slot_count * sizeof *p->classify_state);
    bigmem_free(p->flow_origin, (size_t)p->slot_count * sizeof *p->flow_origin);
    community_id_destroy(p->community_id);
    free(p);
}
