/*
 * HTTP/1.x over reassembled TCP streams, with llhttp.
 *
 * The engine keeps one session per flow slot (opened when the flow first
 * carries data, closed at close; the slot array is mapped lazily, so memory
 * follows the slots that carried data). A session runs one llhttp
 * parser per direction, keeps request heads in FIFO order (pipelining) and
 * pairs each response with the oldest unanswered request.
 *
 * Detection is by content, on any port: a direction is parsed once its
 * first bytes are a request line (to server) or a status line (to client).
 * Streams that start mid-message (pickup without SYN), streams after a gap
 * and streams after a parse error are scanned, bounded by
 * http_resync_scan_bytes, for the next line that proves a message boundary;
 * recognisably non-HTTP streams (TLS records, SSH banners) stop at once.
 * A gap inside a body of known length is skipped; otherwise the parser
 * resynchronises. Every transaction touched by a gap is flagged.
 *
 * Usage, one thread per engine:
 *
 *   http_engine_feed(e, f, dir, &chunk, anomalies);
 *   while (http_engine_next(e, &tx)) use(&tx);
 *
 * Drain http_engine_next() until it returns 0 after every feed and close:
 * the engine parses lazily inside next(), so the chunk's bytes must stay
 * valid until then. A transaction's views are valid until the next call
 * on the engine. (A feed or close arriving before the drain finishes the
 * previous chunk at once; transactions beyond the ready queue's bound,
 * twice http_pipeline_depth, are then dropped and counted as
 * http.tx_queue_full.)
 *
 * Pairing survives capture loss: a request lost in a gap (or a stream
 * picked up inside a request) keeps its place in the FIFO, so its response
 * comes out as an orphan instead of answering the next request; a response
 * lost in a gap (or a server stream picked up inside a response) leaves the
 * oldest waiting request with no_response.
 */
#ifndef APISENSOR_PARSE_HTTP1_H
#define APISENSOR_PARSE_HTTP1_H

#include <stdint.h>

#include "capture/flow_table.h"
#include "capture/tcp_stream.h"
#include "common/anomaly.h"
#include "common/limits.h"
#include "common/status.h"
#include "transaction.h"

typedef struct http_engine http_engine;

typedef struct http_engine_stats {
    uint64_t sessions;          /* flows that carried HTTP */
    uint64_t requests;          /* request heads parsed */
    uint64_t responses;         /* final responses parsed */
    uint64_t interim_responses; /* 1xx */
    uint64_t transactions;      /* records produced */
    uint64_t body_bytes_captured;
    uint64_t body_bytes_decoded;
    uint64_t sessions_live;      /* now */
    uint64_t session_bytes_live; /* memory held by sessions now */
} http_engine_stats;

/* slot_count: flow_table_slot_count() of the table whose flows are fed. */
as_status http_engine_create(const limits *lim, uint32_t slot_count, http_engine **out);

/* Feeds one chunk (data, gap, FIN or RST) of one direction of flow f. */
void http_engine_feed(http_engine *e, const flow *f, flow_direction dir, const tcp_chunk *chunk,
                      anomaly_counters *anomalies);

/* A hint, no effect on results: starts loading what a feed for the flow in
 * flow slot `slot` will read, so the cache misses overlap with the caller's
 * other work. */
void http_engine_prefetch(const http_engine *e, uint32_t slot);

/* Stops HTTP parsing on flow f (another protocol was identified). A flow on
 * which HTTP messages were already parsed keeps being parsed: content that
 * proved HTTP wins over a later classification. */
void http_engine_ignore(http_engine *e, const flow *f);

/* The flow ended: completes close-delimited bodies, reports requests still
 * waiting (no_response) and partial messages (incomplete), frees the session. */
void http_engine_close(http_engine *e, const flow *f, anomaly_counters *anomalies);

/* Next transaction: 1 with *tx filled, 0 when there is none. */
int http_engine_next(http_engine *e, http_transaction *tx);

http_engine_stats http_engine_get_stats(const http_engine *e);

void http_engine_destroy(http_engine *e);

/* First-bytes checks, exposed for the classifier and tests: 1 when data
 * starts with a plausible request line / status line (or a prefix of one). */
int http1_looks_like_request(const uint8_t *data, uint32_t len);
int http1_looks_like_response(const uint8_t *data, uint32_t len);

#endif
