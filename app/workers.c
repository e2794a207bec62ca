/*
 * --workers N (see workers.h): the dispatcher, the worker threads and the
 * model thread's merge.
 *
 * Records. Dispatcher -> worker: PACKET (a packet_head and the packet's
 * bytes), MARK (a packet_head without bytes: packet time of another
 * worker's packet, perhaps a stats tick), SOURCE_END, FINISH. Worker ->
 * model: TX (an out_head, a scan_record when there is a model, and a
 * tx_record), WATERMARK, STATS, SOURCE_DONE and FINISHED (an out_head and
 * the worker's counters). The sensitive-data scan of a transaction reads it
 * alone, so the worker runs it (its anomalies go with the worker's
 * counters) and the model thread takes its result.
 *
 * Order keys. Every record to the model carries (seq, phase, origin): seq of
 * the packet (or mark, or end of source) being handled, the pipeline_phase
 * of its handling (STATS between expiry and lookup, SOURCE_DONE and FINISHED
 * after every transaction of the end), and for transactions the seq of the
 * packet that created the flow (flows ended together close in that order in
 * the single-threaded pipeline too: oldest serial first). A worker's records
 * leave in key order. Ends of sources and the finish take a seq of their
 * own, so no two events share a key except the N parts of one event.
 *
 * Merge. For each ring the model thread keeps the head record, or when the
 * ring is empty a floor: the key of the worker's last record, or its last
 * watermark (seq, after every phase); a worker's keys never go down. The
 * smallest head is released when no empty ring's floor is below it;
 * otherwise the thread sleeps on the shared data bell. A worker sends a watermark whenever its
 * input runs dry, and the dispatcher sends every worker a mark before it waits for a full ring, so
 * the worker it waits for can always drain.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "workers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/decode.h"
#include "common/hash.h"
#include "export/community_id.h"
#include "merge.h"
#include "ring.h"
#include "scan_record.h"
#include "tx_record.h"

/* Packets read at once from a source; rings are published once per window. */
#define WORKERS_WINDOW 16
/* Largest packet copied whole into a ring (pcap's and live capture's snaplen
 * is 256 KiB; a longer pcapng packet is cut here). */
#define WORKERS_MAX_PACKET (1u << 20)
/* Sleep of a waiting thread before it looks again (also the model thread's
 * idle tick and Kafka poll). */
#define WORKERS_WAIT_MS 100
/* Input records a worker handles between two publications of its output. */
#define WORKERS_PUBLISH_EVERY 64

enum { REC_PACKET = 1, REC_MARK, REC_SOURCE_END, REC_FINISH };
enum { OUT_TX = 1, OUT_WATERMARK, OUT_STATS, OUT_SOURCE_DONE, OUT_FINISHED };
/* Phases of the records that are not transactions: DONE after the
 * transactions of an end, AFTER (watermarks) after everything of a seq. */
enum { PHASE_DONE = PIPELINE_PHASE_END + 1, PHASE_AFTER = 255 };

typedef struct packet_head {
    uint64_t seq;
    uint64_t ts_ns;
    uint32_t caplen, wirelen;
    uint32_t linktype, interface_id;
    uint32_t stats_tick; /* 1: a stats tick comes with this packet time */
    uint32_t reserved;
} packet_head;

typedef struct out_head {
    merge_key key;  /* origin: TX, seq of the packet that created the flow; else 0 */
    uint64_t ts_ns; /* STATS, SOURCE_DONE, FINISHED: packet time */
} out_head;

typedef struct worker {
    pipeline *pipeline;
    tls_keylog *keylog; /* the worker's copy of --keylog, NULL = none */
    ring *in;           /* from the dispatcher */
    ring *out;          /* to the model thread */
    pthread_t thread;
    int started;
    uint64_t seq;          /* of the record being handled */
    uint64_t watermark;    /* last watermark sent */
    uint64_t tx_too_large; /* transactions over the model ring's record size (not sent) */
    size_t max_tx;
    double cpu_seconds; /* of the thread, when it finished */
    /* the sensitive-data scan of the worker's transactions (NULL: no model) */
    sensitive_worker *scanner;
    sensitive_found found[SENSITIVE_LOCATION_COUNT];
} worker;

typedef struct merge_state {
    void *rec[64]; /* head record per worker (past its out_head), NULL = none */
    int has_head[64];
    merge_key head[64];
    uint64_t ts_ns[64];
    uint32_t type[64];
    size_t len[64];
    merge_key floor[64];        /* no later record of the worker has a smaller key */
    unsigned parts;             /* parts of the current STATS/SOURCE_DONE/FINISHED event */
    pipeline_counters counters; /* added up over the parts */
} merge_state;

struct workers {
    workers_config config;
    unsigned count;
    double model_cpu_seconds; /* of the model thread, when it finished */
    worker *workers;
    decoder *peek; /* dispatcher: finds each packet's flow, never reassembles */
    ring_bell model_bell;
    pthread_t model_thread;
    int model_started;
    /* dispatcher */
    uint64_t seq;                      /* last seq handed out */
    uint64_t now_ns;                   /* latest packet time */
    uint64_t next_stats_ns;            /* as pipeline.c's tick_stats; 0 = not started */
    uint64_t *sent_seq;                /* per worker: seq of the last record sent */
    uint64_t *sent_second;             /* per worker: packet time (s) of the last record sent */
    uint64_t live_drops;               /* packets the capture threads' rings dropped (full) */
    capture_source *reading;           /* the source workers_run reads; NULL otherwise */
    capture_source_stats sources_read; /* drop counters of the sources already ended */
    /* the kernel's and the interfaces' drops, published by the dispatcher at
     * every stats tick and at the end of each source for the model thread's
     * stats events */
    _Atomic uint64_t kernel_drops, iface_drops;
    _Atomic int live; /* a live source was read */
    /* model thread */
    community_id *community_id;
    merge_state merge;
    sensitive_found found[SENSITIVE_LOCATION_COUNT]; /* read from a scan record */
};

/* ---- worker threads -------------------------------------------------------- */

/* Space for an output record; waits while the model thread catches up. */
static void *out_reserve(worker *wk, uint32_t type, size_t len) {
    void *p;
    while (!(p = ring_reserve(wk->out, type, len)))
        ring_wait_space(wk->out, len, WORKERS_WAIT_MS);
    return p;
}

static void out_event(worker *wk, uint32_t type, uint32_t phase, uint64_t ts_ns,
                      const pipeline_counters *counters) {
    size_t len = sizeof(out_head) + (counters ? sizeof *counters : 0);
    uint8_t *p = out_reserve(wk, type, len);
    out_head h = {.key = {.seq = wk->seq, .phase = phase}, .ts_ns = ts_ns};
    memcpy(p, &h, sizeof h);
    if (counters)
        memcpy(p + sizeof h, counters, sizeof *counters);
    ring_commit(wk->out, len);
}

/* A transaction to the model thread: its scan record (when the worker
 * scans) and its tx_record. */
static void on_transaction(void *arg, const http_transaction *tx, pipeline_phase phase,
                           uint64_t flow_origin) {
    worker *wk = arg;
    size_t size = tx_record_size(tx);
    if (size + (wk->scanner ? scan_record_max_size() : 0) > wk->max_tx) {
        wk->tx_too_large++;
        return;
    }
    const sensitive_found *found = NULL;
    if (wk->scanner && model_analyses(tx)) {
        sensitive_scan_transaction(wk->scanner, tx, wk->found, pipeline_anomalies(wk->pipeline));
        found = wk->found;
    }
    size_t scan_size = wk->scanner ? scan_record_size(found) : 0;
    uint8_t *p = out_reserve(wk, OUT_TX, sizeof(out_head) + scan_size + size);
    out_head h = {.key = {.seq = wk->seq, .origin = flow_origin, .phase = phase}};
    memcpy(p, &h, sizeof h);
    if (wk->scanner)
        scan_record_write(p + sizeof h, found);
    tx_record_write(p + sizeof h + scan_size, tx);
    ring_commit(wk->out, sizeof h + scan_size + size);
}

static void on_stats_tick(void *arg) {
    worker *wk = arg;
    pipeline_counters c;
    pipeline_get_counters(wk->pipeline, &c);
    out_event(wk, OUT_STATS, PIPELINE_PHASE_STATS, pipeline_now(wk->pipeline), &c);
}

static void send_watermark(worker *wk) {
    if (wk->seq > wk->watermark) {
        wk->watermark = wk->seq;
        out_event(wk, OUT_WATERMARK, PHASE_AFTER, 0, NULL);
    }
    ring_publish(wk->out);
}

/* CPU time of the calling thread; the summary splits the work by stage. */
static double thread_cpu_seconds(void) {
    struct timespec t;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0)
        return 0;
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* "as-NAME" in top -H, ps -L and perf; best effort. */
static void name_thread(const char *name) {
    char full[16];
    snprintf(full, sizeof full, "as-%s", name);
    (void)pthread_setname_np(pthread_self(), full);
}

static void *worker_main(void *arg) {
    worker *wk = arg;
    unsigned handled = 0;
    name_thread("worker");
    for (;;) {
        uint32_t type;
        size_t len;
        uint8_t *rec = ring_peek(wk->in, &type, &len);
        if (!rec) {
            ring_consume(wk->in);
            send_watermark(wk);
            ring_wait(wk->in, WORKERS_WAIT_MS);
            continue;
        }
        packet_head h;
        memcpy(&h, rec, sizeof h);
        wk->seq = h.seq;
        if (type == REC_PACKET) {
            capture_packet pkt = {rec + sizeof h, h.caplen,   h.wirelen,
                                  h.ts_ns,        h.linktype, h.interface_id};
            pipeline_packet(wk->pipeline, &pkt, h.seq, (int)h.stats_tick);
        } else if (type == REC_MARK) {
            pipeline_advance(wk->pipeline, h.ts_ns, (int)h.stats_tick);
        } else if (type == REC_SOURCE_END) {
            pipeline_end_flows(wk->pipeline);
            out_event(wk, OUT_SOURCE_DONE, PHASE_DONE, h.ts_ns, NULL);
        } else if (type == REC_FINISH) {
            pipeline_counters c;
            pipeline_get_counters(wk->pipeline, &c);
            wk->cpu_seconds = thread_cpu_seconds();
            out_event(wk, OUT_FINISHED, PHASE_DONE, h.ts_ns, &c);
            ring_release(wk->in);
            ring_consume(wk->in);
            ring_publish(wk->out);
            return NULL;
        }
        ring_release(wk->in);
        if (++handled % WORKERS_PUBLISH_EVERY == 0) {
            ring_consume(wk->in);
            send_watermark(wk);
        }
    }
}

/* ---- model thread ---------------------------------------------------------- */

static void handle_tx(workers *w, void *rec) {
    model *m = w->config.pipeline.model;
    int scanned = 0;
    if (m) /* the workers scan when there is a model */
        rec = (uint8_t *)rec + scan_record_read(rec, w->found, &scanned);
    const http_transaction *tx = tx_record_open(rec);
    sink_router *router = w->config.pipeline.router;
    const transaction_context *ctx =
        m ? model_transaction_scanned(m, tx, scanned ? w->found : NULL) : NULL;
    if (!sink_router_wants_transactions(router))
        return;
    char community[64];
    community_id_format(w->community_id, &tx->client_ip, tx->client_port, &tx->server_ip,
                        tx->server_port, 6, community, sizeof community);
    sink_router_transaction(router, community, tx, ctx);
}

/* One part of an event every worker sends; acts on the last part. Returns
 * 1 when the run is over. */
static int handle_part(workers *w, merge_state *ms, uint32_t type, uint64_t ts_ns,
                       const void *counters) {
    if (counters) {
        pipeline_counters c;
        memcpy(&c, counters, sizeof c);
        pipeline_counters_add(&ms->counters, &c);
    }
    if (++ms->parts < w->count)
        return 0;
    ms->parts = 0;
    const pipeline_config *pc = &w->config.pipeline;
    int over = 0;
    if (type == OUT_STATS || type == OUT_FINISHED) {
        ms->counters.totals.output_errors = sink_router_errors(pc->router);
        ms->counters.captured.kernel_drops = atomic_load(&w->kernel_drops);
        ms->counters.captured.iface_drops = atomic_load(&w->iface_drops);
        ms->counters.live = (uint64_t)atomic_load(&w->live);
        if (pc->model) /* the model's anomalies so far: this thread's */
            anomaly_counters_add(&ms->counters.anomalies, model_anomalies(pc->model));
        pipeline_write_stats(pc->router, &ms->counters, ts_ns, pc->stats_interval_seconds,
                             type == OUT_FINISHED);
        over = type == OUT_FINISHED;
    } else if (type == OUT_SOURCE_DONE && pc->model) {
        model_snapshot(pc->model, ts_ns);
    }
    memset(&ms->counters, 0, sizeof ms->counters);
    return over;
}

static void *model_main(void *arg) {
    workers *w = arg;
    merge_state *ms = &w->merge;
    name_thread("model");
    for (;;) {
        for (unsigned i = 0; i < w->count; i++) {
            while (!ms->has_head[i]) {
                uint8_t *rec = ring_peek(w->workers[i].out, &ms->type[i], &ms->len[i]);
                if (!rec)
                    break;
                out_head h;
                memcpy(&h, rec, sizeof h);
                if (ms->type[i] == OUT_WATERMARK) {
                    ms->floor[i] = h.key;
                    ring_release(w->workers[i].out);
                    continue;
                }
                ms->head[i] = h.key;
                ms->ts_ns[i] = h.ts_ns;
                ms->rec[i] = rec + sizeof h;
                ms->has_head[i] = 1;
            }
        }
        int best = merge_pick(ms->head, ms->has_head, ms->floor, w->count);
        if (best < 0) {
            for (unsigned i = 0; i < w->count; i++)
                ring_consume(w->workers[i].out);
            uint32_t seen = ring_bell_prepare(&w->model_bell);
            int ready = 0;
            for (unsigned i = 0; i < w->count && !ready; i++) {
                uint32_t type;
                size_t len;
                ready = !ms->has_head[i] && ring_peek(w->workers[i].out, &type, &len) != NULL;
            }
            if (ready) {
                ring_bell_cancel(&w->model_bell);
            } else {
                ring_bell_wait(&w->model_bell, seen, WORKERS_WAIT_MS);
                if (w->config.model_tick)
                    w->config.model_tick(w->config.model_tick_arg);
                sink_router_poll(w->config.pipeline.router);
            }
            continue;
        }
        unsigned i = (unsigned)best;
        int over = 0;
        if (ms->type[i] == OUT_TX) {
            handle_tx(w, ms->rec[i]);
            if (w->config.model_tick)
                w->config.model_tick(w->config.model_tick_arg);
        } else {
            over = handle_part(w, ms, ms->type[i], ms->ts_ns[i],
                               ms->len[i] > sizeof(out_head) ? ms->rec[i] : NULL);
        }
        ms->floor[i] = ms->head[i];
        ms->has_head[i] = 0;
        ms->rec[i] = NULL;
        ring_release(w->workers[i].out);
        ring_consume(w->workers[i].out);
        if (over)
            break;
    }
    for (unsigned i = 0; i < w->count; i++)
        ring_consume(w->workers[i].out);
    w->model_cpu_seconds = thread_cpu_seconds();
    return NULL;
}

/* ---- set-up ------------------------------------------------------------------ */

as_status workers_create(const workers_config *config, workers **out) {
    *out = NULL;
    if (config->count < 1 || config->count > 64)
        return AS_ERR_ARG;
    workers *w = calloc(1, sizeof *w);
    if (!w)
        return AS_ERR_NOMEM;
    w->config = *config;
    w->count = config->count;
    w->workers = calloc(w->count, sizeof *w->workers);
    w->sent_seq = calloc(w->count, sizeof *w->sent_seq);
    w->sent_second = calloc(w->count, sizeof *w->sent_second);
    as_status st = w->workers && w->sent_seq && w->sent_second ? AS_OK : AS_ERR_NOMEM;
    limits peek_lim = config->pipeline.lim;
    peek_lim.ipfrag_max_datagrams = 0;
    if (st == AS_OK)
        st = decoder_create(&peek_lim, &w->peek);
    if (st == AS_OK)
        st = community_id_create(&w->community_id);
    const limits *lim = &config->pipeline.lim;
    model *m = config->pipeline.model;
    size_t max_tx = tx_record_max_size(lim) + (m ? scan_record_max_size() : 0);
    for (unsigned i = 0; st == AS_OK && i < w->count; i++) {
        worker *wk = &w->workers[i];
        wk->max_tx = max_tx;
        if (m)
            st = model_scanner_create(m, &wk->scanner); /* the model's limits, not the share */
        if (st != AS_OK)
            break;
        pipeline_config pc = config->pipeline;
        char err[256];
        if (config->keylog_path)
            st = tls_keylog_open(config->keylog_path, lim, err, sizeof err, &wk->keylog);
        if (st != AS_OK)
            break;
        pc.keylog = wk->keylog;
        pc.model = NULL;
        pc.on_transaction = on_transaction;
        pc.on_stats_tick = on_stats_tick;
        pc.hook_arg = wk;
        st = pipeline_create(&pc, &wk->pipeline);
        if (st == AS_OK)
            st = ring_create((size_t)lim->worker_ring_kbytes * 1024,
                             sizeof(packet_head) + WORKERS_MAX_PACKET,
                             config->live ? RING_DROP_NEW : RING_BLOCK, NULL, &wk->in);
        if (st == AS_OK)
            st = ring_create((size_t)lim->model_ring_kbytes * 1024, sizeof(out_head) + max_tx,
                             RING_BLOCK, &w->model_bell, &wk->out);
    }
    for (unsigned i = 0; st == AS_OK && i < w->count; i++) {
        worker *wk = &w->workers[i];
        if (pthread_create(&wk->thread, NULL, worker_main, wk) != 0)
            st = AS_ERR_NOMEM;
        else
            wk->started = 1;
    }
    if (st == AS_OK) {
        if (pthread_create(&w->model_thread, NULL, model_main, w) != 0)
            st = AS_ERR_NOMEM;
        else
            w->model_started = 1;
    }
    if (st != AS_OK) {
        workers_finish(w);
        workers_destroy(w);
        return st;
    }
    *out = w;
    return AS_OK;
}

/* ---- dispatcher -------------------------------------------------------------- */

/* The worker of a packet: the symmetric 5-tuple hash; an IPv4 fragment (not
 * decoded here) by its address pair; anything else not IP to worker 0. */
static unsigned shard(workers *w, const capture_packet *pkt) {
    decoded_packet dp;
    as_status st = decoder_decode(w->peek, pkt, &dp, NULL);
    if (dp.src.family == 0)
        return 0;
    uint64_t a = hash_bytes(HASH_SEED, dp.src.bytes, sizeof dp.src.bytes);
    uint64_t b = hash_bytes(HASH_SEED, dp.dst.bytes, sizeof dp.dst.bytes);
    if (st == AS_OK) {
        a = hash_mix64(a ^ dp.src_port);
        b = hash_mix64(b ^ dp.dst_port);
    }
    uint64_t h = hash_mix64((a + b) ^ (a * b) ^ (st == AS_OK ? dp.ip_proto : 0));
    return (unsigned)(h % w->count);
}

/* Space in worker i's ring. Capture files: waits, sending every other worker
 * a mark of the last packet first (see the top of the file); live: NULL
 * when full (the packet is dropped and counted). */
static void *dispatch_reserve(workers *w, unsigned i, uint32_t type, size_t len, int may_drop) {
    void *p = ring_reserve(w->workers[i].in, type, len);
    if (p || (may_drop && w->config.live))
        return p;
    for (;;) {
        for (unsigned v = 0; v < w->count; v++) {
            if (v != i && w->sent_seq[v] < w->seq - 1) {
                packet_head *h = ring_reserve(w->workers[v].in, REC_MARK, sizeof *h);
                if (h) {
                    *h = (packet_head){.seq = w->seq - 1, .ts_ns = w->now_ns};
                    ring_commit(w->workers[v].in, sizeof *h);
                    w->sent_seq[v] = w->seq - 1;
                }
            }
            ring_publish(w->workers[v].in);
        }
        if (ring_wait_space(w->workers[i].in, len, WORKERS_WAIT_MS) &&
            (p = ring_reserve(w->workers[i].in, type, len)) != NULL)
            return p;
    }
}

static void send_head(workers *w, unsigned i, uint32_t type, const packet_head *h) {
    packet_head *p = dispatch_reserve(w, i, type, sizeof *h, 0);
    *p = *h;
    ring_commit(w->workers[i].in, sizeof *h);
    w->sent_seq[i] = h->seq;
    w->sent_second[i] = h->ts_ns / 1000000000u;
}

/* As pipeline.c's tick_stats, on the dispatcher's clock: 1 when packet time
 * now crosses a multiple of the interval. */
static int stats_tick(workers *w) {
    uint64_t interval = (uint64_t)w->config.pipeline.stats_interval_seconds * 1000000000u;
    if (!interval)
        return 0;
    if (!w->next_stats_ns) {
        w->next_stats_ns = w->now_ns - w->now_ns % interval + interval;
        return 0;
    }
    if (w->now_ns < w->next_stats_ns)
        return 0;
    w->next_stats_ns = w->now_ns - w->now_ns % interval + interval;
    return 1;
}

/* Publishes the capture drop counters (dispatcher thread, which owns the
 * source; capture threads' sources are read only after their join). */
static void publish_capture_stats(workers *w) {
    capture_source_stats cs = w->sources_read;
    if (w->reading) {
        capture_source_stats now = capture_source_get_stats(w->reading);
        cs.kernel_drops += now.kernel_drops;
        cs.iface_drops += now.iface_drops;
    }
    atomic_store(&w->kernel_drops, cs.kernel_drops);
    atomic_store(&w->iface_drops, cs.iface_drops);
}

/* A source has ended: its counters join those of the earlier ones. */
static void source_ended(workers *w, capture_source *src) {
    capture_source_stats cs = capture_source_get_stats(src);
    w->sources_read.kernel_drops += cs.kernel_drops;
    w->sources_read.iface_drops += cs.iface_drops;
    if (capture_source_is_live(src))
        atomic_store(&w->live, 1);
    w->reading = NULL;
    publish_capture_stats(w);
}

static void dispatch(workers *w, const capture_packet *pkt) {
    packet_head h = {.seq = ++w->seq,
                     .ts_ns = pkt->ts_ns,
                     .caplen = pkt->caplen < WORKERS_MAX_PACKET ? pkt->caplen : WORKERS_MAX_PACKET,
                     .wirelen = pkt->wirelen,
                     .linktype = pkt->linktype,
                     .interface_id = pkt->interface_id};
    if (pkt->ts_ns > w->now_ns) {
        w->now_ns = pkt->ts_ns;
        h.stats_tick = (uint32_t)stats_tick(w);
        if (h.stats_tick && w->reading)
            publish_capture_stats(w);
    }
    unsigned target = shard(w, pkt);
    uint64_t second = pkt->ts_ns / 1000000000u;
    for (unsigned v = 0; v < w->count; v++)
        if (v != target && (h.stats_tick || second > w->sent_second[v]))
            send_head(w, v, REC_MARK, &h);
    uint8_t *p = dispatch_reserve(w, target, REC_PACKET, sizeof h + h.caplen, 1);
    if (!p)
        return;
    memcpy(p, &h, sizeof h);
    memcpy(p + sizeof h, pkt->data, h.caplen);
    ring_commit(w->workers[target].in, sizeof h + h.caplen);
    w->sent_seq[target] = h.seq;
    w->sent_second[target] = second;
}

static void publish_all(workers *w) {
    for (unsigned v = 0; v < w->count; v++)
        ring_publish(w->workers[v].in);
}

/* Live and no packet waiting: every worker's packet time follows the wall
 * clock (pipeline_idle_clock), with the stats tick it brings. */
static void idle_mark(workers *w) {
    uint64_t idle = w->config.live ? pipeline_idle_clock(w->now_ns) : 0;
    if (!idle)
        return;
    w->now_ns = idle;
    packet_head h = {.seq = ++w->seq, .ts_ns = idle};
    h.stats_tick = (uint32_t)stats_tick(w);
    if (h.stats_tick && w->reading)
        publish_capture_stats(w);
    for (unsigned v = 0; v < w->count; v++)
        send_head(w, v, REC_MARK, &h);
    publish_all(w);
}

/* An event for every worker, with a seq of its own. */
static void broadcast(workers *w, uint32_t type) {
    packet_head h = {.seq = ++w->seq, .ts_ns = w->now_ns};
    for (unsigned v = 0; v < w->count; v++)
        send_head(w, v, type, &h);
    publish_all(w);
}

as_status workers_run(workers *w, capture_source *src, volatile int *stop,
                      void (*progress)(void *arg), void *arg) {
    capture_packet window[WORKERS_WINDOW];
    unsigned count = 0;
    as_status st = AS_DONE;
    uint64_t since_progress = 0;
    w->reading = src;
    if (capture_source_is_live(src))
        atomic_store(&w->live, 1);
    while (!*stop) {
        st = capture_source_next_batch(src, window, WORKERS_WINDOW, &count);
        if (st == AS_NEED_MORE) {
            publish_all(w);
            idle_mark(w);
            continue;
        }
        if (st != AS_OK)
            break;
        for (unsigned i = 0; i < count && !*stop; i++) {
            dispatch(w, &window[i]);
            if (progress && ++since_progress == 65536) {
                since_progress = 0;
                progress(arg);
            }
        }
        publish_all(w);
    }
    if (*stop)
        st = AS_DONE;
    source_ended(w, src);
    broadcast(w, REC_SOURCE_END);
    return st;
}

/* ---- several live sources at once ---------------------------------------------- */

/* A capture thread: reads one live source into its ring to the dispatcher
 * (packet_head without seq, then the bytes; drop new when full). */
typedef struct capture_feed {
    capture_source *src;
    ring *ring;
    _Atomic int *stop; /* set by the dispatcher, which watches the caller's flag */
    pthread_t thread;
    int started;
    _Atomic int done;
    as_status status; /* the source's final status, read after the join */
} capture_feed;

static void *capture_main(void *arg) {
    capture_feed *cf = arg;
    name_thread("capture");
    capture_packet window[WORKERS_WINDOW];
    unsigned count = 0;
    as_status st = AS_DONE;
    while (!atomic_load_explicit(cf->stop, memory_order_relaxed)) {
        st = capture_source_next_batch(cf->src, window, WORKERS_WINDOW, &count);
        if (st == AS_NEED_MORE) {
            ring_publish(cf->ring);
            continue;
        }
        if (st != AS_OK)
            break;
        for (unsigned i = 0; i < count; i++) {
            const capture_packet *pkt = &window[i];
            packet_head h = {.ts_ns = pkt->ts_ns,
                             .caplen = pkt->caplen < WORKERS_MAX_PACKET ? pkt->caplen
                                                                        : WORKERS_MAX_PACKET,
                             .wirelen = pkt->wirelen,
                             .linktype = pkt->linktype,
                             .interface_id = pkt->interface_id};
            uint8_t *p = ring_reserve(cf->ring, REC_PACKET, sizeof h + h.caplen);
            if (!p)
                continue; /* counted in the ring's dropped */
            memcpy(p, &h, sizeof h);
            memcpy(p + sizeof h, pkt->data, h.caplen);
            ring_commit(cf->ring, sizeof h + h.caplen);
        }
        ring_publish(cf->ring);
    }
    cf->status = atomic_load(cf->stop) ? AS_DONE : st;
    ring_publish(cf->ring);
    atomic_store(&cf->done, 1);
    return NULL;
}

/* Dispatches the feeds' packets in the order the dispatcher finds them,
 * taking from each feed in turn; returns when every feed is done and
 * drained. */
static void dispatch_feeds(workers *w, capture_feed *feeds, unsigned n, ring_bell *bell,
                           volatile int *stop, _Atomic int *feeds_stop) {
    for (;;) {
        if (*stop) /* the caller's flag, set by a signal handler on this thread */
            atomic_store(feeds_stop, 1);
        unsigned taken = 0, done = 0;
        for (unsigned f = 0; f < n; f++) {
            int finished = atomic_load(&feeds[f].done);
            for (unsigned k = 0; k < WORKERS_WINDOW; k++, taken++) {
                uint32_t type;
                size_t len;
                uint8_t *rec = ring_peek(feeds[f].ring, &type, &len);
                if (!rec)
                    break;
                packet_head h;
                memcpy(&h, rec, sizeof h);
                capture_packet pkt = {rec + sizeof h, h.caplen,   h.wirelen,
                                      h.ts_ns,        h.linktype, h.interface_id};
                dispatch(w, &pkt);
                ring_release(feeds[f].ring);
            }
            ring_consume(feeds[f].ring);
            uint32_t type;
            size_t len;
            if (finished && !ring_peek(feeds[f].ring, &type, &len))
                done++;
        }
        publish_all(w);
        if (done == n)
            return;
        if (taken)
            continue;
        uint32_t seen = ring_bell_prepare(bell);
        int ready = 0;
        for (unsigned f = 0; f < n && !ready; f++) {
            uint32_t type;
            size_t len;
            ready = atomic_load(&feeds[f].done) || ring_peek(feeds[f].ring, &type, &len) != NULL;
        }
        if (ready)
            ring_bell_cancel(bell);
        else
            ring_bell_wait(bell, seen, WORKERS_WAIT_MS);
        idle_mark(w);
    }
}

as_status workers_run_live(workers *w, capture_source **sources, unsigned n, volatile int *stop,
                           as_status *statuses) {
    capture_feed *feeds = calloc(n, sizeof *feeds);
    ring_bell bell = {0};
    _Atomic int feeds_stop = 0;
    as_status st = feeds ? AS_OK : AS_ERR_NOMEM;
    const limits *lim = &w->config.pipeline.lim;
    for (unsigned f = 0; st == AS_OK && f < n; f++) {
        feeds[f].src = sources[f];
        feeds[f].stop = &feeds_stop;
        atomic_init(&feeds[f].done, 0);
        st = ring_create((size_t)lim->worker_ring_kbytes * 1024,
                         sizeof(packet_head) + WORKERS_MAX_PACKET, RING_DROP_NEW, &bell,
                         &feeds[f].ring);
        if (st == AS_OK && pthread_create(&feeds[f].thread, NULL, capture_main, &feeds[f]) != 0)
            st = AS_ERR_NOMEM;
        if (st == AS_OK)
            feeds[f].started = 1;
    }
    if (st == AS_OK)
        dispatch_feeds(w, feeds, n, &bell, stop, &feeds_stop);
    for (unsigned f = 0; feeds && f < n; f++) {
        if (feeds[f].started) {
            if (st != AS_OK) { /* set-up failed: stop the threads that run */
                capture_source_break(feeds[f].src);
            }
            pthread_join(feeds[f].thread, NULL);
            w->live_drops += ring_get_stats(feeds[f].ring).dropped;
            source_ended(w, feeds[f].src);
        }
        statuses[f] = feeds[f].started ? feeds[f].status : st;
        ring_destroy(feeds[f].ring);
    }
    free(feeds);
    broadcast(w, REC_SOURCE_END);
    return st;
}

void workers_finish(workers *w) {
    if (!w)
        return;
    packet_head h = {.seq = ++w->seq, .ts_ns = w->now_ns};
    for (unsigned v = 0; v < w->count; v++) {
        worker *wk = &w->workers[v];
        if (!wk->started)
            continue;
        send_head(w, v, REC_FINISH, &h);
        ring_publish(wk->in);
    }
    for (unsigned v = 0; v < w->count; v++) {
        worker *wk = &w->workers[v];
        if (wk->started) {
            pthread_join(wk->thread, NULL);
            if (wk->scanner) { /* summary figures only: the model thread never reads them */
                sensitive_stats scan = sensitive_worker_get_stats(wk->scanner);
                model_add_scan_stats(w->config.pipeline.model, &scan);
            }
        }
        wk->started = 0;
    }
    if (w->model_started)
        pthread_join(w->model_thread, NULL);
    w->model_started = 0;
}

uint64_t workers_now(const workers *w) {
    return w->now_ns;
}

void workers_write_summary(const workers *w, FILE *out, double elapsed_seconds) {
    pipeline *pipelines[64];
    for (unsigned i = 0; i < w->count; i++)
        pipelines[i] = w->workers[i].pipeline;
    const model *m = w->config.pipeline.model;
    pipeline_write_summary_many(pipelines, w->count, m ? model_anomalies(m) : NULL, out,
                                elapsed_seconds);
    fprintf(out, " workers: %u (rings: packets %s, transactions %s)\n", w->count,
            ring_policy_name(w->config.live ? RING_DROP_NEW : RING_BLOCK),
            ring_policy_name(RING_BLOCK));
    if (w->live_drops)
        fprintf(out, "  capture threads: %llu packets dropped (their rings were full: drop new)\n",
                (unsigned long long)w->live_drops);
    for (unsigned i = 0; i < w->count; i++) {
        ring_stats in = ring_get_stats(w->workers[i].in);
        ring_stats out_stats = ring_get_stats(w->workers[i].out);
        fprintf(out,
                "  worker %u: CPU %.2f s; packets ring %llu records, peak %llu of %llu KiB, "
                "%llu full waits, %llu dropped; transactions ring %llu records, peak %llu KiB, "
                "%llu full waits; %llu transactions too large\n",
                i, w->workers[i].cpu_seconds, (unsigned long long)in.records,
                (unsigned long long)in.peak_bytes / 1024, (unsigned long long)in.capacity / 1024,
                (unsigned long long)in.full_waits, (unsigned long long)in.dropped,
                (unsigned long long)out_stats.records,
                (unsigned long long)out_stats.peak_bytes / 1024,
                (unsigned long long)out_stats.full_waits,
                (unsigned long long)w->workers[i].tx_too_large);
    }
    fprintf(out, "  model thread (credentials, inventory, analytics, output): CPU %.2f s\n",
            w->model_cpu_seconds);
}

void workers_destroy(workers *w) {
    if (!w)
        return;
    for (unsigned i = 0; w->workers && i < w->count; i++) {
        pipeline_destroy(w->workers[i].pipeline);
        tls_keylog_destroy(w->workers[i].keylog);
        sensitive_worker_destroy(w->workers[i].scanner);
        ring_destroy(w->workers[i].in);
        ring_destroy(w->workers[i].out);
    }
    free(w->workers);
    free(w->sent_seq);
    free(w->sent_second);
    decoder_destroy(w->peek);
    community_id_destroy(w->community_id);
    free(w);
}
