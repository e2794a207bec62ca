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
 *   tcp.overlap_conflict and set TCP_CHUNK_OVERLAP_CONFLICT on the next chunk
 *   (when nothing else is ready the flag comes at once on an empty chunk:
 *   data NULL, len 0, no other flag);
 * - sequence numbers compare with 32-bit serial arithmetic (wrap-safe);
 * - snaplen-cut segments deliver their captured bytes then a gap for the rest.
 *
 * Output is pulled: after tcp_reasm_add()/tcp_reasm_ack()/tcp_reasm_flush()
 * call tcp_reasm_next() until it returns 0. A chunk's data is valid until the
 * next call on the reassembler. In-order data is delivered straight from the
 * packet without a copy, so the stream fed by tcp_reasm_add() must be drained
 * before the packet's buffer goes away: bytes of a packet still undrained when
 * the next tcp_reasm_add() (any stream) or a tcp_reasm_ack() on that stream
 * arrives are never read and come out as a gap instead.
 *
 * Details of the policy:
 * - tcp_reasm_ack() takes the acknowledgement number carried by the peer's
 *   packets. An ack beyond next_seq declares the hole below it a gap at once
 *   when later data is held; with nothing held it declares a gap only when a
 *   second such ack arrives and the stream has not moved since the first (a
 *   capture that merely shows the ack before the data does not lose bytes).
 * - Conflicting overlaps are found against held segments and against the
 *   last TCP_STREAM_HISTORY_BYTES delivered bytes of the direction; older
 *   delivered bytes are only counted as retransmitted.
 * - When a bound would be exceeded (tcp.out_of_order_limit), every hole below
 *   the arriving segment becomes a gap and the segment is delivered in order
 *   after them.
 * - A FIN takes one sequence number: after the TCP_CHUNK_FIN chunk next_seq is
 *   fin_seq + 1. Data at or beyond fin_seq counts tcp.data_after_close.
 * - An RST ends the direction it was sent in: held data is delivered with its
 *   holes as gaps, then one TCP_CHUNK_RST chunk; later data counts
 *   tcp.data_after_close. The RST's own payload is ignored.
 * - A segment starting more than 2^30 bytes beyond the stream is dropped
 *   (tcp.out_of_window).
 *
 * The reassembler holds the shared out-of-order memory pool (fixed-size
 * blocks grown in slabs up to tcp_ooo_bytes_total, recycled through a free
 * list) and accounting; tcp_stream (per direction, embedded in a flow) holds
 * no pointers the caller may touch. One reassembler per worker thread.
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

/* Delivered bytes kept per direction to detect conflicting retransmissions. */
enum { TCP_STREAM_HISTORY_BYTES = 128 };

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
    uint32_t ooo_segments;        /* blocks held out of order (a segment uses one per 2 KiB) */
    uint32_t ooo_bytes;           /* bytes held out of order */
    struct tcp_segment *ooo_head; /* held segments, ascending sequence; owned by the reassembler */
    /* private to tcp_stream.c */
    uint64_t event_ts_ns; /* time of the packet that declared the last gap, FIN or RST */
    uint32_t gap_until;   /* when gap_armed: missing bytes below this are gaps */
    uint32_t stall_ack;   /* when stall_armed: the ack beyond next_seq seen first */
    uint32_t stall_next;  /* next_seq when stall_armed was set */
    uint8_t gap_armed;    /* gap_until is valid */
    uint8_t stall_armed;  /* an ack beyond next_seq came while nothing was held */
    uint8_t ended;        /* TCP_CHUNK_FIN / TCP_CHUNK_RST bits already delivered */
    uint8_t history_len;  /* valid bytes in history, ending at next_seq */
    uint8_t history_pos;  /* ring index where the next delivered byte goes */
    uint8_t history[TCP_STREAM_HISTORY_BYTES]; /* ring of the last delivered bytes */
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
