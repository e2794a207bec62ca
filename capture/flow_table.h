/*
 * The flow table: a bounded hash table of TCP and UDP conversations keyed by
 * a symmetric 5-tuple, with idle timeouts in packet time.
 *
 * Orientation: the client is the sender of a SYN without ACK; failing that
 * (mid-stream pickup) the sender of a SYN+ACK is the server; failing that the
 * side using the lower port (ties: the destination of the first packet) is
 * the server. Direction 0 is client -> server.
 *
 * Lifetimes. A flow pointer returned by flow_table_lookup() stays valid until
 * it has ended and been recycled. Flows end by idle timeout
 * (flow_table_expire), by eviction when the table is full (half-open flows
 * first, then closed ones, then the least recently seen), by a new SYN on a
 * closed 4-tuple (port reuse) and by flow_table_end_all(). Ended flows are
 * not freed: they queue until the caller takes each one
 * (flow_table_take_ended), finishes it (flushes its streams, releases them,
 * closes the parser state it keeps under flow->slot) and hands it back
 * (flow_table_recycle). The caller must drain the queue after every
 * lookup/expire call; a small reserve of slots beyond flow_max covers the
 * queue between drains.
 *
 * Timeouts run in packet time since a flow was last seen: a TCP flow that
 * never carried payload is half-open (flow_halfopen_timeout_seconds), one
 * with FIN both ways or an RST is closed (flow_closed_linger_seconds), other
 * TCP flows use flow_idle_timeout_seconds and UDP flows
 * flow_udp_timeout_seconds. Port reuse: a SYN without ACK on a flow that is
 * closed or has seen a FIN (unless it repeats the flow's SYN), or on a
 * half-open flow whose SYN had another sequence number, ends the old flow and
 * starts a new one. If the flow was created without a SYN, a later SYN or
 * SYN+ACK may still swap client and server (and the streams) while no
 * payload, FIN or RST has been seen, so no stream has delivered anything.
 *
 * flow->slot is an index below flow_table_slot_count(): later stages keep
 * per-flow state in their own arrays under it (no callbacks, no pointers
 * back into capture/). No allocation after creation: all flow slots are
 * preallocated. One table per worker thread.
 */
#ifndef APISENSOR_CAPTURE_FLOW_TABLE_H
#define APISENSOR_CAPTURE_FLOW_TABLE_H

#include <stdint.h>

#include "common/anomaly.h"
#include "common/limits.h"
#include "common/status.h"
#include "packet.h"
#include "tcp_stream.h"

typedef enum { FLOW_TO_SERVER = 0, FLOW_TO_CLIENT = 1 } flow_direction;

typedef enum {
    FLOW_END_NONE = 0,
    FLOW_END_IDLE,       /* idle timeout (or half-open timeout) */
    FLOW_END_EVICTED,    /* table full, least recently seen */
    FLOW_END_PORT_REUSE, /* a new connection reused the 4-tuple */
    FLOW_END_CLOSED,     /* FIN both ways or RST, then linger elapsed */
    FLOW_END_SHUTDOWN,   /* flow_table_end_all */
} flow_end_reason;

typedef struct flow {
    _Alignas(64) ip_address client_ip; /* flows start on a cache line: the key, */
    ip_address server_ip;              /* hash and chain link share the first one */
    uint16_t client_port, server_port;
    uint8_t ip_proto;            /* 6 TCP, 17 UDP */
    uint8_t orientation_sure;    /* 1 when a SYN decided who the client is */
    uint8_t end_reason;          /* flow_end_reason, set when the flow ends */
    uint8_t state, queued, seen; /* private to flow_table.c */
    uint32_t hash;               /* private: of the symmetric 5-tuple */
    uint32_t bucket_next;        /* private: next slot in the hash chain */
    uint32_t slot;               /* stable index for per-flow state of later stages */
    uint64_t serial;             /* 1, 2, 3 ... in order of creation; unique per table */
    uint64_t last_ts_ns;
    uint32_t packets[2];  /* per flow_direction; stops at UINT32_MAX */
    tcp_stream stream[2]; /* per flow_direction, TCP only */
    /* private to flow_table.c */
    uint32_t lru_prev, lru_next;       /* class list while active; lru_next links queues */
    uint32_t serial_prev, serial_next; /* active flows in creation order */
    uint32_t syn_seq;                  /* sequence number of the client's SYN, if seen */
    uint32_t listed_s;                 /* packet time (s) when put at the back of its class */
} flow;

typedef struct flow_table flow_table;

typedef struct flow_table_stats {
    uint64_t active; /* flows in the table now */
    uint64_t peak;   /* most flows at once */
    uint64_t created;
    uint64_t ended_idle;
    uint64_t ended_evicted; /* the limit flow_max was hit */
    uint64_t ended_port_reuse;
    uint64_t ended_closed;
    uint64_t ended_shutdown;
    uint64_t halfopen_dropped; /* ended without ever carrying payload */
} flow_table_stats;

as_status flow_table_create(const limits *lim, flow_table **out);

/*
 * Finds or creates the flow of a TCP or UDP packet and updates its counters
 * and last-seen time. Sets *dir to the packet's direction.
 *   AS_OK          *flow_out is the flow
 *   AS_ERR_LIMIT   the ended-flow queue was not drained; the packet is not
 *                  accounted (a caller bug, counted as
 *                  flow.ended_queue_not_drained)
 *   AS_ERR_ARG     a NULL argument, or neither TCP nor UDP
 * Does not touch the TCP streams: the caller feeds them.
 */
as_status flow_table_lookup(flow_table *ft, const decoded_packet *pkt, flow **flow_out,
                            flow_direction *dir, anomaly_counters *anomalies);

/*
 * Prefetch hints, no effect on results, for a caller that looks ahead at the
 * packets to come: flow_table_prefetch_bucket() starts loading the hash
 * bucket of pkt's conversation (TCP or UDP) and returns the hash; later,
 * once that load has had time to finish, flow_table_prefetch_flow() starts
 * loading the first flow of the bucket and returns its slot (the flow the
 * packet will most likely find), or UINT32_MAX for an empty bucket.
 */
uint32_t flow_table_prefetch_bucket(const flow_table *ft, const decoded_packet *pkt);
uint32_t flow_table_prefetch_flow(const flow_table *ft, uint32_t hash);

/* Ends flows idle past their timeout at now_ns; bounded work per call. */
void flow_table_expire(flow_table *ft, uint64_t now_ns);

/* Ends every flow (end of input, shutdown). Drain with flow_table_take_ended. */
void flow_table_end_all(flow_table *ft);

/* Next ended flow, oldest serial first among those queued together, or NULL. */
flow *flow_table_take_ended(flow_table *ft);

/* Returns an ended flow's slot to the free list. */
void flow_table_recycle(flow_table *ft, flow *f);

/* Number of distinct slot values (flow_max plus the reserve). */
uint32_t flow_table_slot_count(const flow_table *ft);

flow_table_stats flow_table_get_stats(const flow_table *ft);

void flow_table_destroy(flow_table *ft);

#endif
