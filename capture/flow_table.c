/*
 * The flow table: preallocated flow slots, a hash index over the symmetric
 * 5-tuple and lists that order the flows for expiry, eviction and output.
 *
 * Every slot is in exactly one place: never used yet (at or beyond `fresh`,
 * its memory untouched, so resident memory follows the flows actually seen);
 * the free list of recycled slots; an active class list
 * (half-open, established, closed, UDP); the ended queue (ascending
 * serial, waiting for flow_table_take_ended); or with the caller between
 * take and recycle. Active flows are also in one hash chain and in the serial
 * list (creation order, for flow_table_end_all). All links are 32-bit slot
 * indices, FT_NONE for none; nothing is allocated after creation.
 *
 * Class lists keep their order without work per packet: a packet only marks
 * its flow touched; a flow moves to the back of its list when it changes
 * class, or when expiry or eviction finds it touched at the head (a CLOCK
 * approximation of least recently seen, see flow_table_expire).
 *
 * The hash is a fixed-key multiply-fold mix of both endpoints, combined
 * commutatively so both directions of a conversation land in the same
 * bucket; keys are fixed so every run places flows identically (no output
 * depends on the placement anyway: expiry and eviction follow the lists,
 * output follows serials). The table keeps at most flow_max active flows;
 * FT_RESERVE more slots hold ended flows until the caller recycles them.
 */
#include "flow_table.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/bigmem.h"

#define FT_NONE UINT32_MAX
#define FT_SECOND_NS 1000000000ull

enum {
    FT_RESERVE = 256,         /* slots beyond flow_max for the ended queue */
    FT_EXPIRE_PER_CLASS = 16, /* flows ended or requeued per class and expire call */
    FT_SECOND_CHANCES = 8     /* touched flows requeued before one is evicted anyway */
};

/* Every slot is a flow: with the later stages' per-slot state it must stay
 * within the 1 KiB per idle tracked flow of DESIGN.md. */
_Static_assert(sizeof(flow) <= 512, "a flow outgrew its share of a flow slot");

/* flow.state */
enum { FT_FREE = 0, FT_HALFOPEN, FT_ESTABLISHED, FT_CLOSED, FT_UDP, FT_ENDED };

/* Class lists: indexed by state - FT_HALFOPEN. */
enum { FT_CLASS_COUNT = 4 };

/* flow.queued */
enum { FT_ACTIVE = 0, FT_QUEUED = 1, FT_TAKEN = 2 };

/* flow.seen */
enum {
    FT_SEEN_FIN_TO_SERVER = 1,
    FT_SEEN_FIN_TO_CLIENT = 2,
    FT_SEEN_RST = 4,
    FT_SEEN_PAYLOAD = 8,
    FT_SEEN_SYN = 16,     /* syn_seq is valid */
    FT_SEEN_TOUCHED = 32, /* a packet came since the flow was (re)listed in its class */
};

typedef struct ft_list {
    uint32_t head, tail;
} ft_list;

struct flow_table {
    flow *flows;
    uint32_t *buckets; /* first slot of each hash chain */
    uint32_t bucket_mask;
    uint32_t slot_count;
    uint32_t flow_max;
    uint32_t free_head;                  /* recycled slots, linked through lru_next */
    uint32_t fresh;                      /* slots from here on were never used (untouched pages) */
    ft_list classes[FT_CLASS_COUNT];     /* active flows, in order of listing */
    ft_list serial;                      /* active flows, ascending serial */
    ft_list queue;                       /* ended flows not taken yet, ascending serial */
    uint64_t timeout_ns[FT_CLASS_COUNT]; /* idle time that ends a flow of each class */
    uint64_t next_serial;
    flow_table_stats stats;
};

/* ------------------------------------------------------------------------ */
/* Hashing and keys                                                          */
/* ------------------------------------------------------------------------ */

static const uint64_t ft_key[4] = {0x243f6a8885a308d3ull, 0x13198a2e03707344ull,
                                   0xa4093822299f31d0ull, 0x082efa98ec4e6c89ull};

static inline uint64_t ft_mix(uint64_t a, uint64_t b) {
#ifdef __SIZEOF_INT128__
    __uint128_t product = (__uint128_t)a * b;
    return (uint64_t)product ^ (uint64_t)(product >> 64);
#else
    uint64_t h = (a ^ (b >> 29)) * 0xbf58476d1ce4e5b9ull;
    h ^= b + (h >> 31);
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 29);
#endif
}

static inline void ft_words(const ip_address *addr, uint64_t *w0, uint64_t *w1) {
    memcpy(w0, addr->bytes, 8);
    memcpy(w1, addr->bytes + 8, 8);
}

/* One endpoint; the linear term keeps distinct inputs apart when the
 * product happens to vanish. */
static inline uint64_t ft_endpoint_hash(const ip_address *addr, uint16_t port) {
    uint64_t w0, w1;
    ft_words(addr, &w0, &w1);
    return ft_mix(w0 ^ ft_key[0], w1 ^ ft_key[1] ^ port) ^ w0 ^ (w1 + port);
}

static inline uint32_t ft_hash(const decoded_packet *pkt) {
    uint64_t sum =
        ft_endpoint_hash(&pkt->src, pkt->src_port) + ft_endpoint_hash(&pkt->dst, pkt->dst_port);
    uint64_t h =
        ft_mix(sum ^ ft_key[2], ((uint64_t)pkt->ip_proto << 8 | pkt->src.family) ^ ft_key[3]);
    return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

static inline int ft_ip_equal(const ip_address *a, const ip_address *b) {
    uint64_t a0, a1, b0, b1;
    ft_words(a, &a0, &a1);
    ft_words(b, &b0, &b1);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0 && a->family == b->family;
}

/* Does f carry pkt's conversation? Sets *dir when it does. */
static inline int ft_match(const flow *f, const decoded_packet *pkt, flow_direction *dir) {
    if (f->client_port == pkt->src_port && f->server_port == pkt->dst_port &&
        ft_ip_equal(&f->client_ip, &pkt->src) && ft_ip_equal(&f->server_ip, &pkt->dst)) {
        *dir = FLOW_TO_SERVER;
        return 1;
    }
    if (f->client_port == pkt->dst_port && f->server_port == pkt->src_port &&
        ft_ip_equal(&f->client_ip, &pkt->dst) && ft_ip_equal(&f->server_ip, &pkt->src)) {
        *dir = FLOW_TO_CLIENT;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Lists                                                                     */
/* ------------------------------------------------------------------------ */

/* Appends to a class list; the flow is listed as of its last packet. */
static void ft_lru_append(flow_table *ft, ft_list *list, uint32_t idx) {
    flow *f = &ft->flows[idx];
    f->listed_s = (uint32_t)(f->last_ts_ns / FT_SECOND_NS);
    f->seen &= (uint8_t)~FT_SEEN_TOUCHED;
    f->lru_prev = list->tail;
    f->lru_next = FT_NONE;
    if (list->tail != FT_NONE)
        ft->flows[list->tail].lru_next = idx;
    else
        list->head = idx;
    list->tail = idx;
}

static void ft_lru_remove(flow_table *ft, ft_list *list, uint32_t idx) {
    flow *f = &ft->flows[idx];
    if (f->lru_prev != FT_NONE)
        ft->flows[f->lru_prev].lru_next = f->lru_next;
    else
        list->head = f->lru_next;
    if (f->lru_next != FT_NONE)
        ft->flows[f->lru_next].lru_prev = f->lru_prev;
    else
        list->tail = f->lru_prev;
    f->lru_prev = f->lru_next = FT_NONE;
}

static void ft_serial_append(flow_table *ft, uint32_t idx) {
    flow *f = &ft->flows[idx];
    f->serial_prev = ft->serial.tail;
    f->serial_next = FT_NONE;
    if (ft->serial.tail != FT_NONE)
        ft->flows[ft->serial.tail].serial_next = idx;
    else
        ft->serial.head = idx;
    ft->serial.tail = idx;
}

static void ft_serial_remove(flow_table *ft, uint32_t idx) {
    flow *f = &ft->flows[idx];
    if (f->serial_prev != FT_NONE)
        ft->flows[f->serial_prev].serial_next = f->serial_next;
    else
        ft->serial.head = f->serial_next;
    if (f->serial_next != FT_NONE)
        ft->flows[f->serial_next].serial_prev = f->serial_prev;
    else
        ft->serial.tail = f->serial_prev;
}

static void ft_bucket_remove(flow_table *ft, uint32_t idx) {
    uint32_t *link = &ft->buckets[ft->flows[idx].hash & ft->bucket_mask];
    while (*link != idx)
        link = &ft->flows[*link].bucket_next;
    *link = ft->flows[idx].bucket_next;
}

/* Inserts an ended flow into the queue, keeping it in ascending serial. */
static void ft_queue_insert(flow_table *ft, uint32_t idx) {
    flow *f = &ft->flows[idx];
    f->queued = FT_QUEUED;
    f->lru_next = FT_NONE;
    if (ft->queue.tail == FT_NONE) {
        ft->queue.head = ft->queue.tail = idx;
        return;
    }
    if (ft->flows[ft->queue.tail].serial < f->serial) {
        ft->flows[ft->queue.tail].lru_next = idx;
        ft->queue.tail = idx;
        return;
    }
    uint32_t *link = &ft->queue.head;
    while (ft->flows[*link].serial < f->serial)
        link = &ft->flows[*link].lru_next;
    f->lru_next = *link;
    *link = idx;
}

/* ------------------------------------------------------------------------ */
/* Flow life                                                                 */
/* ------------------------------------------------------------------------ */

static inline ft_list *ft_class(flow_table *ft, const flow *f) {
    return &ft->classes[f->state - FT_HALFOPEN];
}

/* Takes an active flow out of the index and lists; the caller queues it. */
static void ft_detach(flow_table *ft, flow *f, flow_end_reason reason) {
    uint32_t idx = f->slot;
    ft_bucket_remove(ft, idx);
    ft_lru_remove(ft, ft_class(ft, f), idx);
    ft_serial_remove(ft, idx);
    f->state = FT_ENDED;
    f->end_reason = (uint8_t)reason;
    ft->stats.active--;
    switch (reason) {
    case FLOW_END_IDLE:
        ft->stats.ended_idle++;
        break;
    case FLOW_END_EVICTED:
        ft->stats.ended_evicted++;
        break;
    case FLOW_END_PORT_REUSE:
        ft->stats.ended_port_reuse++;
        break;
    case FLOW_END_CLOSED:
        ft->stats.ended_closed++;
        break;
    case FLOW_END_SHUTDOWN:
    case FLOW_END_NONE:
        ft->stats.ended_shutdown++;
        break;
    }
    if (f->ip_proto == 6 && !(f->seen & FT_SEEN_PAYLOAD))
        ft->stats.halfopen_dropped++;
}

static void ft_end(flow_table *ft, flow *f, flow_end_reason reason) {
    ft_detach(ft, f, reason);
    ft_queue_insert(ft, f->slot);
}

/* Moves a flow seen since it was listed to the back of its class. */
static void ft_requeue(flow_table *ft, ft_list *list, uint32_t idx) {
    ft_lru_remove(ft, list, idx);
    ft_lru_append(ft, list, idx);
}

/* The least recently seen flow of a class (CLOCK-style: touched heads get a
 * second chance, at most FT_SECOND_CHANCES of them), or FT_NONE. */
static uint32_t ft_oldest(flow_table *ft, int class_index) {
    ft_list *list = &ft->classes[class_index];
    for (int chance = 0; chance < FT_SECOND_CHANCES; chance++) {
        uint32_t idx = list->head;
        if (idx == FT_NONE || !(ft->flows[idx].seen & FT_SEEN_TOUCHED))
            return idx;
        ft_requeue(ft, list, idx);
    }
    return list->head;
}

/* Table full: half-open flows go first, then closed ones, then the least
 * recently seen of the others. */
static void ft_evict_one(flow_table *ft, anomaly_counters *anomalies) {
    uint32_t victim = ft_oldest(ft, FT_HALFOPEN - FT_HALFOPEN);
    if (victim == FT_NONE)
        victim = ft_oldest(ft, FT_CLOSED - FT_HALFOPEN);
    if (victim == FT_NONE) {
        uint32_t est = ft_oldest(ft, FT_ESTABLISHED - FT_HALFOPEN);
        uint32_t udp = ft_oldest(ft, FT_UDP - FT_HALFOPEN);
        if (est == FT_NONE)
            victim = udp;
        else if (udp == FT_NONE)
            victim = est;
        else
            victim = ft->flows[udp].last_ts_ns < ft->flows[est].last_ts_ns ? udp : est;
    }
    if (victim == FT_NONE)
        return;
    anomaly_count(anomalies, ANOMALY_FLOW_TABLE_FULL);
    ft_end(ft, &ft->flows[victim], FLOW_END_EVICTED);
}

static void ft_swap_sides(flow *f) {
    ip_address ip = f->client_ip;
    f->client_ip = f->server_ip;
    f->server_ip = ip;
    uint16_t port = f->client_port;
    f->client_port = f->server_port;
    f->server_port = port;
    uint32_t count = f->packets[0];
    f->packets[0] = f->packets[1];
    f->packets[1] = count;
    tcp_stream stream = f->stream[0];
    f->stream[0] = f->stream[1];
    f->stream[1] = stream;
}

/* A SYN without ACK on an existing flow: does it start a new connection? */
static int ft_is_port_reuse(const flow *f, const decoded_packet *pkt) {
    int same_syn = (f->seen & FT_SEEN_SYN) && f->syn_seq == pkt->seq;
    if (f->state == FT_CLOSED || (f->seen & (FT_SEEN_FIN_TO_SERVER | FT_SEEN_FIN_TO_CLIENT)))
        return !same_syn;
    if (!(f->seen & FT_SEEN_PAYLOAD))
        return (f->seen & FT_SEEN_SYN) && !same_syn;
    return 0;
}

static int ft_has_free_slot(const flow_table *ft) {
    return ft->free_head != FT_NONE || ft->fresh < ft->slot_count;
}

static flow *ft_create(flow_table *ft, const decoded_packet *pkt, uint32_t hash,
                       flow_direction *dir, anomaly_counters *anomalies) {
    if (!ft_has_free_slot(ft)) {
        anomaly_count(anomalies, ANOMALY_FLOW_QUEUE_NOT_DRAINED);
        return NULL;
    }
    if (ft->stats.active >= ft->flow_max)
        ft_evict_one(ft, anomalies);
    uint32_t idx;
    if (ft->free_head != FT_NONE) {
        idx = ft->free_head;
        ft->free_head = ft->flows[idx].lru_next;
    } else {
        idx = ft->fresh++;
    }
    flow *f = &ft->flows[idx];
    memset(f, 0, sizeof *f);
    f->slot = idx;
    int src_is_client;
    uint8_t syn_ack = pkt->tcp_flags & (TCP_SYN | TCP_ACK);
    if (pkt->ip_proto == 6 && syn_ack == TCP_SYN) {
        src_is_client = 1;
        f->orientation_sure = 1;
    } else if (pkt->ip_proto == 6 && syn_ack == (TCP_SYN | TCP_ACK)) {
        src_is_client = 0;
        f->orientation_sure = 1;
    } else {
        src_is_client = pkt->src_port > pkt->dst_port || pkt->src_port == pkt->dst_port;
    }
    if (src_is_client) {
        f->client_ip = pkt->src;
        f->server_ip = pkt->dst;
        f->client_port = pkt->src_port;
        f->server_port = pkt->dst_port;
        *dir = FLOW_TO_SERVER;
    } else {
        f->client_ip = pkt->dst;
        f->server_ip = pkt->src;
        f->client_port = pkt->dst_port;
        f->server_port = pkt->src_port;
        *dir = FLOW_TO_CLIENT;
    }
    f->ip_proto = pkt->ip_proto;
    f->serial = ++ft->next_serial;
    f->last_ts_ns = pkt->ts_ns;
    f->hash = hash;
    f->state = pkt->ip_proto == 17 ? FT_UDP : FT_HALFOPEN;
    f->queued = FT_ACTIVE;
    uint32_t *bucket = &ft->buckets[hash & ft->bucket_mask];
    f->bucket_next = *bucket;
    *bucket = idx;
    ft_lru_append(ft, ft_class(ft, f), idx);
    ft_serial_append(ft, idx);
    ft->stats.created++;
    ft->stats.active++;
    if (ft->stats.active > ft->stats.peak)
        ft->stats.peak = ft->stats.active;
    return f;
}

/* Accounts a packet of flow f; a change of class moves it to its new list. */
static void ft_touch(flow_table *ft, flow *f, const decoded_packet *pkt, flow_direction *dir) {
    uint32_t wire =
        pkt->payload_wire_len > pkt->payload_len ? pkt->payload_wire_len : pkt->payload_len;
    uint8_t old_state = f->state;
    if (f->ip_proto == 6) {
        uint8_t flags = pkt->tcp_flags;
        if (flags & TCP_SYN) {
            /* a SYN names the client, a SYN+ACK the server */
            flow_direction sender_should_be = (flags & TCP_ACK) ? FLOW_TO_CLIENT : FLOW_TO_SERVER;
            /* swap only while no stream can have delivered anything */
            uint8_t delivered =
                FT_SEEN_PAYLOAD | FT_SEEN_FIN_TO_SERVER | FT_SEEN_FIN_TO_CLIENT | FT_SEEN_RST;
            if (*dir != sender_should_be && !f->orientation_sure && !(f->seen & delivered)) {
                ft_swap_sides(f);
                *dir = sender_should_be;
            }
            if (*dir == sender_should_be)
                f->orientation_sure = 1;
            if (!(flags & TCP_ACK) && *dir == FLOW_TO_SERVER && !(f->seen & FT_SEEN_SYN)) {
                f->seen |= FT_SEEN_SYN;
                f->syn_seq = pkt->seq;
            }
        }
        if (wire)
            f->seen |= FT_SEEN_PAYLOAD;
        if (flags & TCP_FIN)
            f->seen |= *dir == FLOW_TO_SERVER ? FT_SEEN_FIN_TO_SERVER : FT_SEEN_FIN_TO_CLIENT;
        if (flags & TCP_RST)
            f->seen |= FT_SEEN_RST;
        uint8_t fins = FT_SEEN_FIN_TO_SERVER | FT_SEEN_FIN_TO_CLIENT;
        if (f->state == FT_CLOSED || (f->seen & FT_SEEN_RST) || (f->seen & fins) == fins)
            f->state = FT_CLOSED;
        else if (f->seen & FT_SEEN_PAYLOAD)
            f->state = FT_ESTABLISHED;
    }
    if (f->packets[*dir] < UINT32_MAX)
        f->packets[*dir]++;
    if (pkt->ts_ns > f->last_ts_ns)
        f->last_ts_ns = pkt->ts_ns;
    uint8_t new_state = f->state;
    if (new_state == old_state) {
        /* no list work per packet: expiry and eviction requeue touched flows */
        f->seen |= FT_SEEN_TOUCHED;
        return;
    }
    f->state = old_state;
    ft_lru_remove(ft, ft_class(ft, f), f->slot);
    f->state = new_state;
    ft_lru_append(ft, ft_class(ft, f), f->slot);
}

/* ------------------------------------------------------------------------ */
/* Public calls                                                              */
/* ------------------------------------------------------------------------ */

as_status flow_table_create(const limits *lim, flow_table **out) {
    if (!out)
        return AS_ERR_ARG;
    *out = NULL;
    if (!lim || lim->flow_max < 1 || lim->flow_max > (int64_t)(UINT32_MAX / 4) ||
        lim->flow_idle_timeout_seconds < 0 || lim->flow_halfopen_timeout_seconds < 0 ||
        lim->flow_closed_linger_seconds < 0 || lim->flow_udp_timeout_seconds < 0)
        return AS_ERR_ARG;
    flow_table *ft = calloc(1, sizeof *ft);
    if (!ft)
        return AS_ERR_NOMEM;
    ft->flow_max = (uint32_t)lim->flow_max;
    ft->slot_count = ft->flow_max + FT_RESERVE;
    uint32_t buckets = 16;
    while (buckets < 2 * ft->slot_count)
        buckets *= 2;
    ft->bucket_mask = buckets - 1;
    /* a slot is initialised when first used, so memory follows the number
     * of flows actually seen */
    ft->flows = bigmem_alloc((size_t)ft->slot_count * sizeof *ft->flows);
    ft->buckets = bigmem_alloc((size_t)buckets * sizeof *ft->buckets);
    if (!ft->flows || !ft->buckets) {
        flow_table_destroy(ft);
        return AS_ERR_NOMEM;
    }
    memset(ft->buckets, 0xff, (size_t)buckets * sizeof *ft->buckets);
    ft->free_head = FT_NONE;
    for (int c = 0; c < FT_CLASS_COUNT; c++)
        ft->classes[c].head = ft->classes[c].tail = FT_NONE;
    ft->serial.head = ft->serial.tail = FT_NONE;
    ft->queue.head = ft->queue.tail = FT_NONE;
    const uint64_t second = FT_SECOND_NS;
    ft->timeout_ns[FT_HALFOPEN - FT_HALFOPEN] =
        (uint64_t)lim->flow_halfopen_timeout_seconds * second;
    ft->timeout_ns[FT_ESTABLISHED - FT_HALFOPEN] =
        (uint64_t)lim->flow_idle_timeout_seconds * second;
    ft->timeout_ns[FT_CLOSED - FT_HALFOPEN] = (uint64_t)lim->flow_closed_linger_seconds * second;
    ft->timeout_ns[FT_UDP - FT_HALFOPEN] = (uint64_t)lim->flow_udp_timeout_seconds * second;
    *out = ft;
    return AS_OK;
}

void flow_table_destroy(flow_table *ft) {
    if (!ft)
        return;
    bigmem_free(ft->flows, (size_t)ft->slot_count * sizeof *ft->flows);
    bigmem_free(ft->buckets, ((size_t)ft->bucket_mask + 1) * sizeof *ft->buckets);
    free(ft);
}

as_status flow_table_lookup(flow_table *ft, const decoded_packet *pkt, flow **flow_out,
                            flow_direction *dir, anomaly_counters *anomalies) {
    if (!ft || !pkt || !flow_out || !dir || (pkt->ip_proto != 6 && pkt->ip_proto != 17))
        return AS_ERR_ARG;
    uint32_t hash = ft_hash(pkt);
    flow_direction d = FLOW_TO_SERVER;
    flow *f = NULL;
    for (uint32_t idx = ft->buckets[hash & ft->bucket_mask]; idx != FT_NONE;
         idx = ft->flows[idx].bucket_next) {
        flow *candidate = &ft->flows[idx];
        if (candidate->hash == hash && candidate->ip_proto == pkt->ip_proto &&
            ft_match(candidate, pkt, &d)) {
            f = candidate;
            break;
        }
    }
    if (f && f->ip_proto == 6 && (pkt->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
        ft_is_port_reuse(f, pkt)) {
        if (!ft_has_free_slot(ft)) {
            anomaly_count(anomalies, ANOMALY_FLOW_QUEUE_NOT_DRAINED);
            return AS_ERR_LIMIT;
        }
        anomaly_count(anomalies, ANOMALY_FLOW_PORT_REUSE);
        ft_end(ft, f, FLOW_END_PORT_REUSE);
        f = NULL;
    }
    int created = 0;
    if (!f) {
        f = ft_create(ft, pkt, hash, &d, anomalies);
        if (!f)
            return AS_ERR_LIMIT;
        created = 1;
    }
    ft_touch(ft, f, pkt, &d);
    if (created) /* listed as of this very packet */
        f->seen &= (uint8_t)~FT_SEEN_TOUCHED;
    *flow_out = f;
    *dir = d;
    return AS_OK;
}

uint32_t flow_table_prefetch_bucket(const flow_table *ft, const decoded_packet *pkt) {
    uint32_t hash = ft_hash(pkt);
    __builtin_prefetch(&ft->buckets[hash & ft->bucket_mask]);
    return hash;
}

uint32_t flow_table_prefetch_flow(const flow_table *ft, uint32_t hash) {
    uint32_t idx = ft->buckets[hash & ft->bucket_mask];
    if (idx == FT_NONE)
        return FT_NONE;
    /* the key and counters, then both streams: what a packet reads */
    const char *f = (const char *)&ft->flows[idx];
    for (size_t line = 0; line < offsetof(flow, lru_prev); line += 64)
        __builtin_prefetch(f + line);
    return idx;
}

/*
 * A class list is ordered by listing time (listed_s), not by last packet:
 * packets only mark a flow touched. The head is examined once it was listed
 * a timeout ago: idle for the timeout, it ends; touched since, it goes to
 * the back; neither, it is the oldest flow and nothing behind it is due.
 */
void flow_table_expire(flow_table *ft, uint64_t now_ns) {
    if (!ft)
        return;
    int64_t now_s = (int64_t)(now_ns / FT_SECOND_NS);
    for (int c = 0; c < FT_CLASS_COUNT; c++) {
        ft_list *list = &ft->classes[c];
        for (int n = 0; n < FT_EXPIRE_PER_CLASS; n++) {
            uint32_t idx = list->head;
            if (idx == FT_NONE)
                break;
            flow *f = &ft->flows[idx];
            if (now_ns >= f->last_ts_ns && now_ns - f->last_ts_ns >= ft->timeout_ns[c]) {
                ft_end(ft, f, c + FT_HALFOPEN == FT_CLOSED ? FLOW_END_CLOSED : FLOW_END_IDLE);
                continue;
            }
            if (now_s - (int64_t)f->listed_s < (int64_t)(ft->timeout_ns[c] / FT_SECOND_NS) ||
                !(f->seen & FT_SEEN_TOUCHED))
                break;
            ft_requeue(ft, list, idx);
        }
    }
}

void flow_table_end_all(flow_table *ft) {
    if (!ft)
        return;
    /* merge the active flows (ascending serial) into the queue (ascending serial) */
    uint32_t queued = ft->queue.head;
    ft->queue.head = ft->queue.tail = FT_NONE;
    uint32_t idx = ft->serial.head;
    while (idx != FT_NONE || queued != FT_NONE) {
        uint32_t take;
        if (queued != FT_NONE &&
            (idx == FT_NONE || ft->flows[queued].serial < ft->flows[idx].serial)) {
            take = queued;
            queued = ft->flows[queued].lru_next;
        } else {
            take = idx;
            idx = ft->flows[idx].serial_next;
            ft_detach(ft, &ft->flows[take], FLOW_END_SHUTDOWN);
        }
        flow *f = &ft->flows[take];
        f->queued = FT_QUEUED;
        f->lru_next = FT_NONE;
        if (ft->queue.tail != FT_NONE)
            ft->flows[ft->queue.tail].lru_next = take;
        else
            ft->queue.head = take;
        ft->queue.tail = take;
    }
}

flow *flow_table_take_ended(flow_table *ft) {
    if (!ft || ft->queue.head == FT_NONE)
        return NULL;
    uint32_t idx = ft->queue.head;
    flow *f = &ft->flows[idx];
    ft->queue.head = f->lru_next;
    if (ft->queue.head == FT_NONE)
        ft->queue.tail = FT_NONE;
    f->lru_next = FT_NONE;
    f->queued = FT_TAKEN;
    return f;
}

void flow_table_recycle(flow_table *ft, flow *f) {
    if (!ft || !f || f < ft->flows || f >= ft->flows + ft->fresh || f->queued != FT_TAKEN)
        return;
    f->state = FT_FREE;
    f->queued = FT_ACTIVE;
    f->lru_next = ft->free_head;
    ft->free_head = f->slot;
}

uint32_t flow_table_slot_count(const flow_table *ft) {
    return ft ? ft->slot_count : 0;
}

flow_table_stats flow_table_get_stats(const flow_table *ft) {
    flow_table_stats none = {0};
    return ft ? ft->stats : none;
}
