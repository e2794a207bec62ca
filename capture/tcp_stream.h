/*
 * TCP reassembly: one ordered byte stream per direction of a connection.
 *
 * Policy (DESIGN.md section 3):
 * - mid-stream pickup: without a SYN the first data segment fixes the start;
 * - out-of-order segments are held, bounded per direction and globally
 *   (limits tcp_ooo_*); when a bound is hit, or the peer acknowledges data
 *   beyond a hole (the capture lost it), or the stream is flushed, the hole
 *   is delivered as a gap chunk: never as zeros, never a stall;
 * - overlaps: first copy wins; differing bytes in an overlap count
 *   tcp.overlap_conflict and set TCP_CHUNK_OVERLAP_CONFLICT on the next chunk;
 * - sequence numbers compare with 32-bit serial arithmetic (wrap-safe);
 * - snaplen-cut segments deliver their captured bytes then a gap for the rest.
 *
 * Output is pulled: after tcp_reasm_add()/tcp_reasm_ack()/tcp_reasm_flush()
 * call tcp_reasm_next() until it returns 0. A chunk's data is valid until the
 * next call on the reassembler. In-order data is delivered straight from the
 * packet without a copy.
 *
 * The reassembler holds the shared out-of-order memory pool and accounting;
 * tcp_stream (per direction, embedded in a flow) holds no pointers the
 * caller may touch. One reassembler per worker thread.
 */
#ifndef APISENSOR_CAPTURE_TCP_STREAM_H
#define APISENSOR_CAPTURE_TCP_STREAM_H

#include <stdint.h>

#include "common/anomaly.h"
#include "common/limits.h"
#include "common/status.h"
#include "packet.h"

enum {
    TCP_CHUNK_GAP = 1u << 0,              /* no data: gap_len bytes were never captured */
    TCP_CHUNK_OVERLAP_CONFLICT = 1u << 1, /* a conflicting overlap was seen before this chunk */
    TCP_CHUNK_SNAPLEN = 1u << 2,          /* the gap comes from a snaplen-cut packet */
    TCP_CHUNK_FIN = 1u << 3, /* end of this direction (FIN reached in order); len 0, once */
    TCP_CHUNK_RST = 1u << 4, /* the connection was reset; len 0, once */
};

typedef struct tcp_chunk {
    const uint8_t *data; /* NULL for a gap */
    uint32_t len;        /* data bytes, or missing bytes for a gap */
    uint32_t flags;      /* TCP_CHUNK_* */
    uint64_t ts_ns;      /* time of the packet that carried (or revealed) these bytes */
} tcp_chunk;

struct tcp_segment;

/* Per-direction state; zero-initialised means "nothing seen yet". */
typedef struct tcp_stream {
    uint32_t next_seq; /* sequence number of the next byte to deliver */
    uint32_t isn;      /* initial sequence number (SYN's seq), if seen */
    uint8_t started;   /* next_seq is known */
    uint8_t syn_seen;
    uint8_t fin_seen;
    uint8_t rst_seen;
    uint8_t conflict_pending;     /* report TCP_CHUNK_OVERLAP_CONFLICT on the next chunk */
    uint32_t fin_seq;             /* sequence number of the FIN, if fin_seen */
    uint32_t ooo_segments;        /* segments held out of order */
    uint32_t ooo_bytes;           /* bytes held out of order */
    struct tcp_segment *ooo_head; /* held segments, ascending sequence; owned by the reassembler */
    uint64_t delivered_bytes;     /* data bytes delivered */
    uint64_t gap_bytes;           /* bytes delivered as gaps */
} tcp_stream;

typedef struct tcp_reassembler tcp_reassembler;

typedef struct tcp_reasm_stats {
    uint64_t ooo_bytes_held; /* now, all streams */
    uint64_t ooo_bytes_peak;
    uint64_t gaps; /* gap chunks delivered */
    uint64_t gap_bytes;
    uint64_t retransmitted_bytes;
    uint64_t overlap_conflicts;
    uint64_t ooo_limit_hits; /* holes declared because a bound was hit */
} tcp_reasm_stats;

as_status tcp_reasm_create(const limits *lim, tcp_reassembler **out);

/* Adds a segment (SYN/FIN/RST flags and payload) of stream s. */
void tcp_reasm_add(tcp_reassembler *r, tcp_stream *s, const decoded_packet *pkt,
                   anomaly_counters *anomalies);

/* The peer acknowledged `ack` for stream s: a hole below it will never be filled. */
void tcp_reasm_ack(tcp_reassembler *r, tcp_stream *s, uint32_t ack, uint64_t ts_ns,
                   anomaly_counters *anomalies);

/* Delivers everything held: holes become gaps. For close, eviction and end of input. */
void tcp_reasm_flush(tcp_reassembler *r, tcp_stream *s, uint64_t ts_ns);

/* Next in-order chunk of stream s: 1 and *out filled, or 0 when nothing is ready. */
int tcp_reasm_next(tcp_reassembler *r, tcp_stream *s, tcp_chunk *out);

/* Frees what s holds and zeroes it. */
void tcp_reasm_release(tcp_reassembler *r, tcp_stream *s);

tcp_reasm_stats tcp_reasm_get_stats(const tcp_reassembler *r);

void tcp_reasm_destroy(tcp_reassembler *r);

#endif
