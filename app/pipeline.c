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
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

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
    if (st != AS_OK) {
        pipeline_destroy(p);
        return st;
    }
    *out = p;
    return AS_OK;
}

static void emit_transactions(pipeline *p, const flow *f) {
    http_transaction tx;
    int wanted = sink_router_wants_transactions(p->config.router);
    while (http_engine_next(p->http, &tx)) {
        tls_engine_annotate(p->tls, f, &tx);
        tx.risks = classify_flow_risks(&p->classify_state[f->slot]);
        p->totals.transactions++;
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
static capture_source_stats pipeline_capture_stats(pipeline *p) {
    capture_source_stats cs = p->captured;
    if (p->source) {
        capture_source_stats now = capture_source_get_stats(p->source);
        cs.kernel_drops += now.kernel_drops;
        cs.iface_drops += now.iface_drops;
    }
    return cs;
}

static void emit_stats(pipeline *p, int final) {
    pipeline_totals totals = pipeline_get_totals(p);
    const pipeline_totals *t = &totals;
    flow_table_stats fs = flow_table_get_stats(p->flows);
    tcp_reasm_stats rs = tcp_reasm_get_stats(p->reasm);
    http_engine_stats hs = http_engine_get_stats(p->http);
    capture_source_stats cs = pipeline_capture_stats(p);
    const stats_counter counters[] = {
        {"packets", t->packets},
        {"bytes", t->bytes},
        {"packets_skipped", t->packets_skipped},
        {"flows_created", fs.created},
        {"flows_peak", fs.peak},
        {"flows_evicted", fs.ended_evicted},
        {"flows_halfopen_dropped", fs.halfopen_dropped},
        {"tcp_gaps", rs.gaps},
        {"tcp_ooo_limit_hits", rs.ooo_limit_hits},
        {"http_requests", hs.requests},
        {"http_responses", hs.responses},
        {"transactions", t->transactions},
        {"output_errors", t->output_errors},
        {"capture_kernel_drops", cs.kernel_drops},
        {"capture_interface_drops", cs.iface_drops},
    };
    stats_counter anomalies[ANOMALY_COUNT];
    uint32_t anomaly_count = 0;
    for (int i = 0; i < ANOMALY_COUNT; i++)
        if (p->anomalies.count[i])
            anomalies[anomaly_count++] =
                (stats_counter){anomaly_name((anomaly_id)i), p->anomalies.count[i]};
    stats_record r = {
        .ts_ns = p->now_ns,
        .final = final,
        .interval_seconds = p->config.stats_interval_seconds,
        .counters = counters,
        /* the capture drop counters (last two) only mean something live */
        .counter_count = (uint32_t)(sizeof counters / sizeof counters[0]) - (p->live ? 0 : 2),
        .anomalies = anomalies,
        .anomaly_count = anomaly_count,
    };
    p->totals.stats_events++;
    sink_router_stats(p->config.router, &r);
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

static void process_packet(pipeline *p, const capture_packet *pkt) {
    decoded_packet dp;
    p->totals.packets++;
    p->totals.bytes += pkt->caplen;
    if (pkt->ts_ns > p->now_ns) {
        p->now_ns = pkt->ts_ns;
        flow_table_expire(p->flows, p->now_ns);
        decoder_expire(p->decoder, p->now_ns, &p->anomalies);
        close_ended_flows(p);
        tick_stats(p);
    }
    if (decoder_decode(p->decoder, pkt, &dp, &p->anomalies) != AS_OK) {
        p->totals.packets_skipped++;
        return;
    }
    flow *f;
    flow_direction dir;
    as_status st = flow_table_lookup(p->flows, &dp, &f, &dir, &p->anomalies);
    close_ended_flows(p);
    if (st != AS_OK) {
        p->totals.packets_skipped++;
        return;
    }
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
            sink_router_poll(p->config.router);
            continue;
        }
        if (st != AS_OK)
            break;
        if (count > 1)
            prefetch_window(p, window, count);
        for (unsigned i = 0; i < count && !*stop; i++) {
            process_packet(p, &window[i]);
            if (progress && ++since_progress == 65536) {
                since_progress = 0;
                progress(arg);
            }
        }
    }
    if (*stop)
        st = AS_DONE;
    flow_table_end_all(p->flows);
    close_ended_flows(p);
    p->captured = pipeline_capture_stats(p);
    p->source = NULL;
    return st;
}

void pipeline_finish(pipeline *p) {
    emit_stats(p, 1);
}

pipeline_totals pipeline_get_totals(const pipeline *p) {
    pipeline_totals t = p->totals;
    t.output_errors = sink_router_errors(p->config.router);
    return t;
}

uint64_t pipeline_now(const pipeline *p) {
    return p->now_ns;
}

const anomaly_counters *pipeline_anomalies(const pipeline *p) {
    return &p->anomalies;
}

static void write_protocol(const char *name, uint64_t flows, void *arg) {
    fprintf((FILE *)arg, "  %-28s %12llu\n", name, (unsigned long long)flows);
}

static void write_tls_pair(const char *sni, const char *ja4, uint64_t flows, void *arg) {
    fprintf((FILE *)arg, "    %-40s %-36s %8llu\n", *sni ? sni : "(no SNI)",
            *ja4 ? ja4 : "(no hello)", (unsigned long long)flows);
}

static void write_tls_summary(const pipeline *p, FILE *out) {
    tls_engine_stats ts = tls_engine_get_stats(p->tls);
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
    if (p->config.keylog) {
        tls_keylog_stats ks = tls_keylog_get_stats(p->config.keylog);
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
    tls_engine_foreach_pair(p->tls, write_tls_pair, out);
    if (ts.pairs_other)
        fprintf(out, "    %-77s %8llu\n", "(other pairs, over tls_fingerprint_pairs)",
                (unsigned long long)ts.pairs_other);
}

void pipeline_write_summary(const pipeline *p, FILE *out, double elapsed_seconds) {
    pipeline_totals totals = pipeline_get_totals(p);
    const pipeline_totals *t = &totals;
    flow_table_stats fs = flow_table_get_stats(p->flows);
    tcp_reasm_stats rs = tcp_reasm_get_stats(p->reasm);
    http_engine_stats hs = http_engine_get_stats(p->http);
    double mb = (double)t->bytes / 1e6;
    fprintf(out, "apisensor run summary\n");
    fprintf(out, "  packets %llu (%llu not analysed), %.1f MB captured\n",
            (unsigned long long)t->packets, (unsigned long long)t->packets_skipped, mb);
    fprintf(out, "  elapsed %.3f s, %.1f MB/s, %.0f packets/s\n", elapsed_seconds,
            elapsed_seconds > 0 ? mb / elapsed_seconds : 0.0,
            elapsed_seconds > 0 ? (double)t->packets / elapsed_seconds : 0.0);
    fprintf(out,
            "  flows %llu created, peak %llu; ended: idle %llu, closed %llu, "
            "port reuse %llu, end of input %llu, evicted (flow_max) %llu; "
            "half-open dropped %llu\n",
            (unsigned long long)fs.created, (unsigned long long)fs.peak,
            (unsigned long long)fs.ended_idle, (unsigned long long)fs.ended_closed,
            (unsigned long long)fs.ended_port_reuse, (unsigned long long)fs.ended_shutdown,
            (unsigned long long)fs.ended_evicted, (unsigned long long)fs.halfopen_dropped);
    fprintf(out,
            "  http: %llu sessions, %llu requests, %llu responses (%llu interim), "
            "%llu transactions\n",
            (unsigned long long)hs.sessions, (unsigned long long)hs.requests,
            (unsigned long long)hs.responses, (unsigned long long)hs.interim_responses,
            (unsigned long long)t->transactions);
    const openapi_spec *spec = p->config.spec;
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
    write_tls_summary(p, out);
    if (t->output_errors)
        fprintf(out, "  output errors: %llu events not written\n",
                (unsigned long long)t->output_errors);
    fprintf(out, " flows by protocol (nDPI):\n");
    classifier_foreach_count(p->classifier, write_protocol, out);
    int any = 0;
    for (int i = 0; i < ANOMALY_COUNT; i++) {
        if (!p->anomalies.count[i])
            continue;
        if (!any++)
            fprintf(out, " anomalies:\n");
        fprintf(out, "  %-40s %12llu\n", anomaly_name((anomaly_id)i),
                (unsigned long long)p->anomalies.count[i]);
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
    community_id_destroy(p->community_id);
    free(p);
}
