/*
 * TCP reassembly: turns the segments of one direction into an ordered byte
 * stream of chunks (data, gaps, FIN, RST), pulled by tcp_reasm_next().
 *
 * Delivery order. A stream delivers, in sequence order from next_seq: the
 * bytes of the current packet (the "view", never copied), held out-of-order
 * segments, and gaps. Three things make bytes deliverable: arriving in order
 * (the view), being held in a block whose sequence is reached, and being
 * declared lost (every missing byte below gap_until is a gap). After the last
 * byte come the FIN chunk (when fin_seq is reached) and the RST chunk.
 *
 * Invariants of a stream: held segments are sorted, do not overlap and all
 * lie at or after next_seq; the view (at most one, for the packet being
 * processed) overlaps no held segment; a declared gap never covers held data
 * (gaps stop at the next held segment, the view and the FIN).
 *
 * Ownership. The reassembler owns the out-of-order pool: fixed-size blocks
 * (struct tcp_segment, TCP_BLOCK_BYTES each) allocated in slabs up to
 * tcp_ooo_bytes_total and recycled through a free list, so steady state
 * allocates nothing. Each stream links the blocks it holds; a block delivered
 * by tcp_reasm_next() stays allocated until the next call on the reassembler
 * (the chunk points into it). The view borrows the caller's packet: it is
 * valid only while that packet is, which is why an undrained view becomes a
 * gap instead of being read later.
 */
#include "tcp_stream.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Sizes and sequence arithmetic                                             */
/* ------------------------------------------------------------------------ */

enum {
    TCP_BLOCK_BYTES = 2048,     /* one pool block: header plus data */
    TCP_SLAB_BLOCKS = 32,       /* blocks obtained per malloc when the pool grows */
    TCP_ENDED_FIN = 1,          /* tcp_stream.ended: FIN chunk delivered */
    TCP_ENDED_RST = 2,          /* tcp_stream.ended: RST chunk delivered */
    TCP_SEGMENT_MAX = 1u << 24, /* wire payload bound of one segment */
    TCP_WINDOW_MAX = 1u << 30,  /* furthest a segment or ack may be ahead */
    TCP_HISTORY_MASK = TCP_STREAM_HISTORY_BYTES - 1
};

_Static_assert((TCP_STREAM_HISTORY_BYTES & TCP_HISTORY_MASK) == 0 &&
                   TCP_STREAM_HISTORY_BYTES <= 128,
               "history is a power-of-two ring indexed by uint8_t");

/* A held range: `len` captured bytes at `seq`, then `missing` bytes the
 * capture cut (snaplen). A block with len 0 is a pure snaplen gap. */
struct tcp_segment {
    struct tcp_segment *next;
    uint64_t ts_ns;   /* time of the latest packet that contributed */
    uint32_t seq;     /* sequence number of data[0] */
    uint32_t len;     /* captured bytes in data, not yet delivered */
    uint32_t missing; /* bytes cut by snaplen right after the data */
    uint8_t data[];
};

enum { TCP_BLOCK_DATA = TCP_BLOCK_BYTES - offsetof(struct tcp_segment, data) };

typedef struct tcp_slab {
    struct tcp_slab *next;
    uint64_t align; /* keeps the blocks after the header 16-byte aligned */
} tcp_slab;

static inline int seq_lt(uint32_t a, uint32_t b) {
    return (int32_t)(a - b) < 0;
}

static inline int seq_le(uint32_t a, uint32_t b) {
    return (int32_t)(a - b) <= 0;
}

static inline int seq_gt(uint32_t a, uint32_t b) {
    return (int32_t)(a - b) > 0;
}

static inline uint32_t seq_min(uint32_t a, uint32_t b) {
    return seq_lt(a, b) ? a : b;
}

static inline uint32_t seq_max(uint32_t a, uint32_t b) {
    return seq_gt(a, b) ? a : b;
}

static inline uint32_t segment_end(const struct tcp_segment *seg) {
    return seg->seq + seg->len + seg->missing;
}

static inline uint32_t min_u32(uint32_t a, uint32_t b) {
    return a < b ? a : b;
}

/* ------------------------------------------------------------------------ */
/* The reassembler and its pool                                              */
/* ------------------------------------------------------------------------ */

/* In-order bytes of the packet being processed, delivered without a copy. */
typedef struct tcp_view {
    tcp_stream *stream;  /* NULL: nothing pending */
    const uint8_t *data; /* len bytes at seq, borrowed from the packet */
    uint32_t seq;
    uint32_t len;
    uint32_t missing; /* snaplen-cut bytes right after the data */
    uint64_t ts_ns;
} tcp_view;

struct tcp_reassembler {
    uint32_t per_direction_bytes;    /* tcp_ooo_bytes_per_direction */
    uint32_t per_direction_segments; /* tcp_ooo_segments_per_direction */
    uint64_t blocks_max;             /* tcp_ooo_bytes_total in blocks */
    uint64_t blocks_allocated;       /* blocks obtained from malloc so far */
    uint64_t blocks_in_use;
    struct tcp_segment *free_blocks;
    tcp_slab *slabs;
    struct tcp_segment *deferred; /* delivered by the last tcp_reasm_next; freed next call */
    tcp_view view;
    tcp_reasm_stats stats;
};

static int reasm_grow(tcp_reassembler *r) {
    uint64_t room = r->blocks_max - r->blocks_allocated;
    if (room == 0)
        return 0;
    uint32_t count = room < TCP_SLAB_BLOCKS ? (uint32_t)room : TCP_SLAB_BLOCKS;
    tcp_slab *slab = malloc(sizeof *slab + (size_t)count * TCP_BLOCK_BYTES);
    if (!slab)
        return 0;
    slab->next = r->slabs;
    r->slabs = slab;
    uint8_t *base = (uint8_t *)(slab + 1);
    for (uint32_t i = 0; i < count; i++) {
        struct tcp_segment *seg =
            (struct tcp_segment *)(void *)(base + (size_t)i * TCP_BLOCK_BYTES);
        seg->next = r->free_blocks;
        r->free_blocks = seg;
    }
    r->blocks_allocated += count;
    return 1;
}

static struct tcp_segment *reasm_block_get(tcp_reassembler *r) {
    if (!r->free_blocks && !reasm_grow(r))
        return NULL;
    struct tcp_segment *seg = r->free_blocks;
    r->free_blocks = seg->next;
    r->blocks_in_use++;
    return seg;
}

static void reasm_block_put(tcp_reassembler *r, struct tcp_segment *seg) {
    seg->next = r->free_blocks;
    r->free_blocks = seg;
    r->blocks_in_use--;
}

static void reasm_held_add(tcp_reassembler *r, tcp_stream *s, uint32_t bytes) {
    s->ooo_bytes += bytes;
    r->stats.ooo_bytes_held += bytes;
    if (r->stats.ooo_bytes_held > r->stats.ooo_bytes_peak)
        r->stats.ooo_bytes_peak = r->stats.ooo_bytes_held;
}

static void reasm_held_sub(tcp_reassembler *r, tcp_stream *s, uint32_t bytes) {
    s->ooo_bytes -= bytes;
    r->stats.ooo_bytes_held -= bytes;
}

/* Unlinks seg (whose predecessor is prev, NULL for the head) and frees it. */
static void stream_segment_free(tcp_reassembler *r, tcp_stream *s, struct tcp_segment *prev,
                                struct tcp_segment *seg) {
    if (prev)
        prev->next = seg->next;
    else
        s->ooo_head = seg->next;
    reasm_held_sub(r, s, seg->len);
    s->ooo_segments--;
    reasm_block_put(r, seg);
}

/* Start of every public call: the chunk handed out last is no longer used. */
static void reasm_settle(tcp_reassembler *r) {
    if (r->deferred) {
        reasm_block_put(r, r->deferred);
        r->deferred = NULL;
    }
}

as_status tcp_reasm_create(const limits *lim, tcp_reassembler **out) {
    if (!out)
        return AS_ERR_ARG;
    *out = NULL;
    if (!lim || lim->tcp_ooo_bytes_per_direction < 0 || lim->tcp_ooo_segments_per_direction < 0 ||
        lim->tcp_ooo_bytes_total < 0)
        return AS_ERR_ARG;
    tcp_reassembler *r = calloc(1, sizeof *r);
    if (!r)
        return AS_ERR_NOMEM;
    r->per_direction_bytes = lim->tcp_ooo_bytes_per_direction > UINT32_MAX
                                 ? UINT32_MAX
                                 : (uint32_t)lim->tcp_ooo_bytes_per_direction;
    r->per_direction_segments = lim->tcp_ooo_segments_per_direction > UINT32_MAX
                                    ? UINT32_MAX
                                    : (uint32_t)lim->tcp_ooo_segments_per_direction;
    r->blocks_max = (uint64_t)lim->tcp_ooo_bytes_total / TCP_BLOCK_BYTES;
    *out = r;
    return AS_OK;
}

void tcp_reasm_destroy(tcp_reassembler *r) {
    if (!r)
        return;
    tcp_slab *slab = r->slabs;
    while (slab) {
        tcp_slab *next = slab->next;
        free(slab);
        slab = next;
    }
    free(r);
}

tcp_reasm_stats tcp_reasm_get_stats(const tcp_reassembler *r) {
    tcp_reasm_stats none = {0};
    return r ? r->stats : none;
}

/* ------------------------------------------------------------------------ */
/* Stream helpers                                                            */
/* ------------------------------------------------------------------------ */

/* Every missing byte below `until` (and before the FIN) becomes a gap. */
static void stream_declare_gap(tcp_stream *s, uint32_t until, uint64_t ts_ns) {
    if (s->fin_seen && seq_gt(until, s->fin_seq))
        until = s->fin_seq;
    if (!seq_gt(until, s->next_seq))
        return;
    if (!s->gap_armed || seq_gt(until, s->gap_until)) {
        s->gap_until = until;
        s->gap_armed = 1;
    }
    s->event_ts_ns = ts_ns;
}

/* The view of an earlier packet was not drained: its bytes are gone. */
static void reasm_view_drop(tcp_reassembler *r) {
    tcp_view *v = &r->view;
    if (v->stream && (v->len || v->missing))
        stream_declare_gap(v->stream, v->seq + v->len + v->missing, v->ts_ns);
    v->stream = NULL;
}

static void reasm_view_set(tcp_reassembler *r, tcp_stream *s, uint32_t seq, const uint8_t *data,
                           uint32_t len, uint32_t missing, uint64_t ts_ns) {
    if (len == 0 && missing == 0)
        return;
    r->view.stream = s;
    r->view.data = data;
    r->view.seq = seq;
    r->view.len = len;
    r->view.missing = missing;
    r->view.ts_ns = ts_ns;
}

/* End of everything the stream knows about: held data, the view, the FIN. */
static uint32_t stream_known_end(const tcp_reassembler *r, const tcp_stream *s) {
    uint32_t end = s->next_seq;
    for (const struct tcp_segment *seg = s->ooo_head; seg; seg = seg->next)
        end = seq_max(end, segment_end(seg));
    if (r->view.stream == s)
        end = seq_max(end, r->view.seq + r->view.len + r->view.missing);
    if (s->fin_seen && !(s->ended & TCP_ENDED_FIN))
        end = seq_max(end, s->fin_seq);
    return end;
}

/* Nothing more will come: every hole up to the end of what is known (and
 * what the peer acknowledged while the stream stalled) is a gap. */
static void stream_declare_end(const tcp_reassembler *r, tcp_stream *s, uint64_t ts_ns) {
    uint32_t end = stream_known_end(r, s);
    if (s->stall_armed && s->stall_next == s->next_seq)
        end = seq_max(end, s->stall_ack);
    stream_declare_gap(s, end, ts_ns);
}

/* First sequence number not deliverable right now (held data and declared
 * gaps from next_seq onwards). Walks the held list: slow path only. */
static uint32_t stream_frontier(const tcp_stream *s) {
    uint32_t f = s->next_seq;
    const struct tcp_segment *seg = s->ooo_head;
    for (;;) {
        if (seg && seg->seq == f) {
            f = segment_end(seg);
            seg = seg->next;
        } else if (s->gap_armed && seq_lt(f, s->gap_until)) {
            f = seg && seq_lt(seg->seq, s->gap_until) ? seg->seq : s->gap_until;
        } else {
            return f;
        }
    }
}

static void history_push(tcp_stream *s, const uint8_t *data, uint32_t len) {
    if (len >= TCP_STREAM_HISTORY_BYTES) {
        memcpy(s->history, data + len - TCP_STREAM_HISTORY_BYTES, TCP_STREAM_HISTORY_BYTES);
        s->history_pos = 0;
        s->history_len = TCP_STREAM_HISTORY_BYTES;
        return;
    }
    uint32_t first = min_u32(len, TCP_STREAM_HISTORY_BYTES - s->history_pos);
    memcpy(s->history + s->history_pos, data, first);
    memcpy(s->history, data + first, len - first);
    s->history_pos = (uint8_t)((s->history_pos + len) & TCP_HISTORY_MASK);
    s->history_len = (uint8_t)min_u32(s->history_len + len, TCP_STREAM_HISTORY_BYTES);
}

/* Do the captured bytes [from, to) (data holds the byte at `start`) differ
 * from the delivered bytes kept in the history? */
static int history_differs(const tcp_stream *s, uint32_t start, const uint8_t *data, uint32_t from,
                           uint32_t to) {
    from = seq_max(from, s->next_seq - s->history_len);
    to = seq_min(to, s->next_seq);
    for (uint32_t seq = from; seq_lt(seq, to); seq++) {
        uint32_t back = s->next_seq - seq; /* 1 .. history_len */
        uint8_t kept = s->history[(s->history_pos - back) & TCP_HISTORY_MASK];
        if (kept != data[seq - start])
            return 1;
    }
    return 0;
}

/* Do the captured bytes [from, to) differ from those held in seg? */
static int segment_differs(const struct tcp_segment *seg, uint32_t start, const uint8_t *data,
                           uint32_t from, uint32_t to) {
    to = seq_min(to, seg->seq + seg->len);
    if (!seq_lt(from, to))
        return 0;
    return memcmp(seg->data + (from - seg->seq), data + (from - start), to - from) != 0;
}

/* Drops held bytes at or beyond the FIN. Returns 1 when something went. */
static int stream_trim_after_fin(tcp_reassembler *r, tcp_stream *s) {
    int trimmed = 0;
    struct tcp_segment *prev = NULL, *seg = s->ooo_head;
    while (seg) {
        struct tcp_segment *next = seg->next;
        if (seq_le(s->fin_seq, seg->seq)) {
            stream_segment_free(r, s, prev, seg);
            trimmed = 1;
            seg = next;
            continue;
        }
        if (seq_gt(segment_end(seg), s->fin_seq)) {
            uint32_t keep = s->fin_seq - seg->seq;
            if (keep < seg->len) {
                reasm_held_sub(r, s, seg->len - keep);
                seg->len = keep;
                seg->missing = 0;
            } else {
                seg->missing = keep - seg->len;
            }
            trimmed = 1;
        }
        prev = seg;
        seg = next;
    }
    return trimmed;
}

/*
 * Takes an empty block for sequence number `cur` and links it between *prev
 * (NULL: at the head) and next; *prev becomes the block. NULL when the
 * per-direction segment bound or the pool says no.
 */
static struct tcp_segment *stream_link_block(tcp_reassembler *r, tcp_stream *s,
                                             struct tcp_segment **prev, struct tcp_segment *next,
                                             uint32_t cur, uint64_t ts_ns) {
    if (s->ooo_segments >= r->per_direction_segments)
        return NULL;
    struct tcp_segment *seg = reasm_block_get(r);
    if (!seg)
        return NULL;
    seg->seq = cur;
    seg->len = 0;
    seg->missing = 0;
    seg->ts_ns = ts_ns;
    seg->next = next;
    if (*prev)
        (*prev)->next = seg;
    else
        s->ooo_head = seg;
    *prev = seg;
    s->ooo_segments++;
    return seg;
}

/*
 * Copies the hole piece [cur, hole_end) into the pool: captured bytes
 * [cur, data_end) from `data` (the byte at `cur`), then missing bytes up to
 * hole_end. *prev is the held segment before the hole (NULL: none), next the
 * one after it. Appends to *prev or prepends to next when they are adjacent
 * and have room. Returns how far it got: hole_end, or less when a bound was
 * hit.
 */
static uint32_t stream_store(tcp_reassembler *r, tcp_stream *s, struct tcp_segment **prev,
                             struct tcp_segment *next, uint32_t cur, uint32_t data_end,
                             uint32_t hole_end, const uint8_t *data, uint64_t ts_ns) {
    while (seq_lt(cur, data_end)) {
        uint32_t want = data_end - cur;
        if (s->ooo_bytes >= r->per_direction_bytes)
            return cur;
        uint32_t allow = r->per_direction_bytes - s->ooo_bytes;
        struct tcp_segment *p = *prev;
        if (p && p->missing == 0 && segment_end(p) == cur && p->len < TCP_BLOCK_DATA) {
            uint32_t take = min_u32(min_u32(want, TCP_BLOCK_DATA - p->len), allow);
            memcpy(p->data + p->len, data, take);
            p->len += take;
            if (ts_ns > p->ts_ns)
                p->ts_ns = ts_ns;
            reasm_held_add(r, s, take);
            data += take;
            cur += take;
            continue;
        }
        if (next && data_end == hole_end && cur + want == next->seq &&
            next->len + want <= TCP_BLOCK_DATA && want <= allow && next->len > 0) {
            memmove(next->data + want, next->data, next->len);
            memcpy(next->data, data, want);
            next->seq = cur;
            next->len += want;
            if (ts_ns > next->ts_ns)
                next->ts_ns = ts_ns;
            reasm_held_add(r, s, want);
            return hole_end;
        }
        struct tcp_segment *seg = stream_link_block(r, s, prev, next, cur, ts_ns);
        if (!seg)
            return cur;
        uint32_t take = min_u32(min_u32(want, TCP_BLOCK_DATA), allow);
        seg->len = take;
        memcpy(seg->data, data, take);
        reasm_held_add(r, s, take);
        data += take;
        cur += take;
    }
    if (!seq_lt(cur, hole_end))
        return hole_end;
    struct tcp_segment *p = *prev;
    if (p && segment_end(p) == cur) {
        p->missing += hole_end - cur;
        return hole_end;
    }
    struct tcp_segment *seg = stream_link_block(r, s, prev, next, cur, ts_ns);
    if (!seg)
        return cur;
    seg->missing = hole_end - cur;
    return hole_end;
}

/*
 * The slow path of tcp_reasm_add: places the payload [start, start + wire)
 * (the first `len` bytes captured in `data`) against what was delivered, what
 * is held and what is declared lost.
 */
static void stream_accept(tcp_reassembler *r, tcp_stream *s, uint32_t start, const uint8_t *data,
                          uint32_t len, uint32_t wire, uint64_t ts_ns,
                          anomaly_counters *anomalies) {
    uint32_t cap_end = start + len, end = start + wire;
    if (s->rst_seen || ((s->ended & TCP_ENDED_FIN) && seq_le(s->fin_seq, start))) {
        anomaly_count(anomalies, ANOMALY_TCP_DATA_AFTER_CLOSE);
        return;
    }
    if (s->fin_seen && seq_gt(end, s->fin_seq)) {
        anomaly_count(anomalies, ANOMALY_TCP_DATA_AFTER_CLOSE);
        if (!seq_lt(start, s->fin_seq))
            return;
        end = s->fin_seq;
        if (seq_gt(cap_end, end))
            cap_end = end;
    }
    uint32_t frontier = stream_frontier(s);
    if (seq_gt(start, frontier) && start - frontier > TCP_WINDOW_MAX) {
        anomaly_count(anomalies, ANOMALY_TCP_OUT_OF_WINDOW);
        return;
    }
    uint32_t cur = start, old_bytes = 0, new_bytes = 0;
    int conflict = 0;
    if (seq_lt(cur, s->next_seq)) {
        uint32_t old_end = seq_min(end, s->next_seq);
        /* a keep-alive probe repeats the last byte with any content: no conflict */
        int keepalive = wire == 1 && start + 1 == s->next_seq;
        if (!keepalive)
            conflict |= history_differs(s, start, data, cur, seq_min(old_end, cap_end));
        old_bytes += old_end - cur;
        cur = old_end;
    }
    struct tcp_segment *prev = NULL, *seg = s->ooo_head;
    while (seg && seq_le(segment_end(seg), cur)) {
        prev = seg;
        seg = seg->next;
    }
    while (seq_lt(cur, end)) {
        if (seg && seq_le(seg->seq, cur)) {
            uint32_t overlap_end = seq_min(segment_end(seg), end);
            conflict |= segment_differs(seg, start, data, cur, seq_min(overlap_end, cap_end));
            old_bytes += overlap_end - cur;
            cur = overlap_end;
            prev = seg;
            seg = seg->next;
            continue;
        }
        uint32_t hole_end = seg ? seq_min(seg->seq, end) : end;
        if (s->gap_armed && seq_lt(cur, s->gap_until)) {
            /* declared lost and not delivered yet: the gap stands */
            cur = seq_min(hole_end, s->gap_until);
            continue;
        }
        uint32_t data_end = seq_lt(cap_end, hole_end) ? cap_end : hole_end;
        if (seq_lt(data_end, cur))
            data_end = cur;
        const uint8_t *at = data ? data + (cur - start) : NULL;
        new_bytes += hole_end - cur;
        if (cur == frontier && !r->view.stream) {
            reasm_view_set(r, s, cur, at, data_end - cur, hole_end - data_end, ts_ns);
            cur = hole_end;
            continue;
        }
        uint32_t reached = stream_store(r, s, &prev, seg, cur, data_end, hole_end, at, ts_ns);
        if (reached == hole_end) {
            cur = hole_end;
            continue;
        }
        /* a bound was hit: every hole below `reached` is lost */
        anomaly_count(anomalies, ANOMALY_TCP_OOO_LIMIT);
        anomaly_count(anomalies, ANOMALY_TCP_GAP);
        r->stats.ooo_limit_hits++;
        stream_declare_gap(s, reached, ts_ns);
        if (!r->view.stream) {
            uint32_t view_data_end = seq_lt(data_end, reached) ? reached : data_end;
            reasm_view_set(r, s, reached, data ? data + (reached - start) : NULL,
                           view_data_end - reached, hole_end - view_data_end, ts_ns);
        } else {
            stream_declare_gap(s, hole_end, ts_ns);
        }
        cur = hole_end;
    }
    r->stats.retransmitted_bytes += old_bytes;
    if (old_bytes && !new_bytes)
        anomaly_count(anomalies, ANOMALY_TCP_RETRANSMISSION);
    if (conflict) {
        s->conflict_pending = 1;
        s->event_ts_ns = ts_ns;
        r->stats.overlap_conflicts++;
        anomaly_count(anomalies, ANOMALY_TCP_OVERLAP_CONFLICT);
    }
}

/* ------------------------------------------------------------------------ */
/* Public calls                                                              */
/* ------------------------------------------------------------------------ */

void tcp_reasm_add(tcp_reassembler *r, tcp_stream *s, const decoded_packet *pkt,
                   anomaly_counters *anomalies) {
    if (!r || !s || !pkt)
        return;
    reasm_settle(r);
    if (r->view.stream)
        reasm_view_drop(r);
    uint8_t flags = pkt->tcp_flags;
    uint32_t len = pkt->payload ? pkt->payload_len : 0;
    uint32_t wire = pkt->payload_wire_len > len ? pkt->payload_wire_len : len;
    if (wire > TCP_SEGMENT_MAX) {
        wire = TCP_SEGMENT_MAX;
        len = min_u32(len, wire);
    }
    if ((flags & (TCP_SYN | TCP_FIN | TCP_RST)) == 0) {
        if (wire == 0)
            return;
        /* the hot path: the next bytes, nothing held, nothing special */
        if (s->started && pkt->seq == s->next_seq && !s->ooo_head && !s->gap_armed &&
            !s->fin_seen && !s->rst_seen) {
            reasm_view_set(r, s, pkt->seq, pkt->payload, len, wire - len, pkt->ts_ns);
            return;
        }
    }
    if (flags & TCP_RST) {
        if (s->rst_seen)
            return;
        if (s->started)
            stream_declare_end(r, s, pkt->ts_ns);
        s->rst_seen = 1;
        s->event_ts_ns = pkt->ts_ns;
        return;
    }
    uint32_t seq = pkt->seq;
    if (flags & TCP_SYN) {
        if (!s->syn_seen) {
            s->syn_seen = 1;
            s->isn = seq;
            if (!s->started) {
                s->started = 1;
                s->next_seq = seq + 1;
            }
        }
        seq++;
    }
    if (!s->started) {
        if (wire == 0 && !(flags & TCP_FIN))
            return;
        s->started = 1;
        s->next_seq = seq;
    }
    if ((flags & TCP_FIN) && !s->fin_seen && !s->rst_seen) {
        uint32_t fin_seq = seq + wire;
        if (seq_le(s->next_seq, fin_seq)) {
            s->fin_seen = 1;
            s->fin_seq = fin_seq;
            s->event_ts_ns = pkt->ts_ns;
            if (s->gap_armed && seq_gt(s->gap_until, fin_seq))
                s->gap_until = fin_seq;
            if (stream_trim_after_fin(r, s))
                anomaly_count(anomalies, ANOMALY_TCP_DATA_AFTER_CLOSE);
        }
    }
    if (wire)
        stream_accept(r, s, seq, pkt->payload, len, wire, pkt->ts_ns, anomalies);
}

void tcp_reasm_ack(tcp_reassembler *r, tcp_stream *s, uint32_t ack, uint64_t ts_ns,
                   anomaly_counters *anomalies) {
    if (!r || !s)
        return;
    reasm_settle(r);
    if (r->view.stream == s)
        reasm_view_drop(r);
    if (!s->started || s->rst_seen || (s->ended & TCP_ENDED_FIN))
        return;
    if (!seq_gt(ack, s->next_seq) || ack - s->next_seq > TCP_WINDOW_MAX) {
        s->stall_armed = 0;
        return;
    }
    uint32_t declared = s->gap_armed ? seq_max(s->gap_until, s->next_seq) : s->next_seq;
    if (s->ooo_head) {
        if (seq_gt(ack, declared)) {
            anomaly_count(anomalies, ANOMALY_TCP_GAP);
            stream_declare_gap(s, ack, ts_ns);
        }
        s->stall_armed = 0;
        return;
    }
    if (s->stall_armed && s->stall_next == s->next_seq) {
        if (seq_gt(s->stall_ack, declared)) {
            anomaly_count(anomalies, ANOMALY_TCP_GAP);
            stream_declare_gap(s, s->stall_ack, ts_ns);
        }
        s->stall_armed = 0;
        return;
    }
    s->stall_armed = 1;
    s->stall_ack = ack;
    s->stall_next = s->next_seq;
}

void tcp_reasm_flush(tcp_reassembler *r, tcp_stream *s, uint64_t ts_ns) {
    if (!r || !s)
        return;
    reasm_settle(r);
    if (s->started && !s->rst_seen)
        stream_declare_end(r, s, ts_ns);
}

static int stream_emit(tcp_stream *s, tcp_chunk *out, const uint8_t *data, uint32_t len,
                       uint32_t flags, uint64_t ts_ns) {
    if (s->conflict_pending) {
        flags |= TCP_CHUNK_OVERLAP_CONFLICT;
        s->conflict_pending = 0;
    }
    out->data = data;
    out->len = len;
    out->flags = flags;
    out->ts_ns = ts_ns;
    return 1;
}

static int stream_emit_data(tcp_stream *s, tcp_chunk *out, const uint8_t *data, uint32_t len,
                            uint64_t ts_ns) {
    s->next_seq += len;
    history_push(s, data, len);
    return stream_emit(s, out, data, len, 0, ts_ns);
}

static int stream_emit_gap(tcp_reassembler *r, tcp_stream *s, tcp_chunk *out, uint32_t len,
                           uint32_t flags, uint64_t ts_ns) {
    s->next_seq += len;
    s->history_len = 0;
    r->stats.gaps++;
    r->stats.gap_bytes += len;
    return stream_emit(s, out, NULL, len, TCP_CHUNK_GAP | flags, ts_ns);
}

int tcp_reasm_next(tcp_reassembler *r, tcp_stream *s, tcp_chunk *out) {
    if (!r || !s || !out)
        return 0;
    reasm_settle(r);
    uint32_t seq = s->next_seq;
    tcp_view *v = &r->view;
    if (v->stream == s && v->seq == seq) {
        if (v->len) {
            const uint8_t *data = v->data;
            uint32_t len = v->len;
            v->seq += len;
            v->len = 0;
            if (!v->missing)
                v->stream = NULL;
            return stream_emit_data(s, out, data, len, v->ts_ns);
        }
        v->stream = NULL;
        if (v->missing)
            return stream_emit_gap(r, s, out, v->missing, TCP_CHUNK_SNAPLEN, v->ts_ns);
    }
    struct tcp_segment *head = s->ooo_head;
    if (head && head->seq == seq) {
        if (head->len) {
            uint32_t len = head->len;
            reasm_held_sub(r, s, len);
            if (head->missing) {
                /* the block stays, holding the data handed out, until its gap goes */
                head->seq += len;
                head->len = 0;
            } else {
                s->ooo_head = head->next;
                s->ooo_segments--;
                r->deferred = head;
            }
            return stream_emit_data(s, out, head->data, len, head->ts_ns);
        }
        uint32_t missing = head->missing;
        uint64_t ts_ns = head->ts_ns;
        stream_segment_free(r, s, NULL, head);
        return stream_emit_gap(r, s, out, missing, TCP_CHUNK_SNAPLEN, ts_ns);
    }
    if (s->gap_armed) {
        if (seq_lt(seq, s->gap_until)) {
            uint32_t end = s->gap_until;
            if (head && seq_lt(head->seq, end))
                end = head->seq;
            if (v->stream == s && seq_lt(v->seq, end))
                end = v->seq;
            if (s->fin_seen && !(s->ended & TCP_ENDED_FIN) && seq_lt(s->fin_seq, end))
                end = s->fin_seq;
            if (seq_gt(end, seq))
                return stream_emit_gap(r, s, out, end - seq, 0, s->event_ts_ns);
        } else {
            s->gap_armed = 0;
        }
    }
    if (s->fin_seen && !(s->ended & TCP_ENDED_FIN) && seq == s->fin_seq) {
        s->ended |= TCP_ENDED_FIN;
        s->next_seq = seq + 1;
        s->history_len = 0;
        return stream_emit(s, out, NULL, 0, TCP_CHUNK_FIN, s->event_ts_ns);
    }
    if (s->rst_seen && !(s->ended & TCP_ENDED_RST) && !head && v->stream != s) {
        s->ended |= TCP_ENDED_RST;
        return stream_emit(s, out, NULL, 0, TCP_CHUNK_RST, s->event_ts_ns);
    }
    if (s->conflict_pending) /* nothing to carry the flag: report it now */
        return stream_emit(s, out, NULL, 0, 0, s->event_ts_ns);
    return 0;
}

void tcp_reasm_release(tcp_reassembler *r, tcp_stream *s) {
    if (!r || !s)
        return;
    reasm_settle(r);
    if (r->view.stream == s)
        r->view.stream = NULL;
    while (s->ooo_head)
        stream_segment_free(r, s, NULL, s->ooo_head);
    memset(s, 0, sizeof *s);
}
