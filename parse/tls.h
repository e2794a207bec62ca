/*
 * TLS over reassembled TCP streams: record layer, handshake facts, client
 * fingerprints and decryption from a key log.
 *
 * A flow is TLS when the first data of either direction starts like a TLS
 * record (content type 20..23, version 3.x): a ClientHello (0x16 0x03 0x0X)
 * or, for a connection picked up mid-stream, any other record. Such a flow
 * is fed here instead of to the HTTP engine; the application data decrypted
 * from it comes back out as plaintext chunks that the caller feeds to the
 * HTTP engine exactly like cleartext, so every HTTP feature (pipelining,
 * bodies, gaps) applies unchanged.
 *
 * Per flow (a session, allocated when the flow is found to be TLS):
 * - records are framed per direction across chunks (a record split over
 *   segments waits in a per-direction buffer of at most tls_record_bytes;
 *   several records in one chunk are handled in place);
 * - handshake messages (split over records too) are scanned: ClientHello
 *   gives SNI, ALPN, JA3, JA4; ServerHello the version and suite
 *   (HelloRetryRequest is recognised and skipped);
 * - with a key log, TLS 1.2 (master secret, PRF key block, AEAD suites) and
 *   TLS 1.3 (handshake and application traffic secrets, KeyUpdate) records
 *   are opened. A flow that cannot be decrypted (no key log, key missing,
 *   authentication failure, capture gap, unsupported suite or version,
 *   no handshake seen, malformed record, record over the buffer bound) is
 *   counted under the first such reason and parsed no further; other flows
 *   are not affected. Its SNI, fingerprints and volume are still counted.
 *
 * Usage, one thread per engine (as the HTTP engine):
 *
 *   if (tls_engine_feed(t, f, dir, &chunk, anomalies))
 *       while (tls_engine_next(t, &plain)) http_engine_feed(http, f, dir, &plain, ...);
 *   else
 *       http_engine_feed(http, f, dir, &chunk, ...);
 *
 * The engine works lazily inside next(): the fed chunk must stay valid
 * until next() returns 0, and a plaintext chunk is valid until the next
 * call on the engine. Gap, FIN and RST chunks of a decrypting flow come
 * out too, so the HTTP layer flags what a gap touched.
 */
#ifndef APISENSOR_PARSE_TLS_H
#define APISENSOR_PARSE_TLS_H

#include <stdint.h>

#include "capture/flow_table.h"
#include "capture/tcp_stream.h"
#include "common/anomaly.h"
#include "common/limits.h"
#include "common/status.h"
#include "tls_keylog.h"
#include "transaction.h"

/* X(id, name in the run summary): why a TLS flow was not decrypted */
#define TLS_REASON_LIST(X)                                                                         \
    X(NO_KEYLOG, "no key log")                                                                     \
    X(MISSING_KEY, "key not in the key log")                                                       \
    X(AUTH_FAILED, "record authentication failed")                                                 \
    X(GAP, "capture gap")                                                                          \
    X(UNSUPPORTED_CIPHER, "cipher suite not decrypted (RC4, 3DES, ...)")                           \
    X(UNSUPPORTED_VERSION, "protocol version before TLS 1.2")                                      \
    X(NO_HANDSHAKE, "handshake not seen (picked up mid-stream)")                                   \
    X(MALFORMED, "malformed record or handshake")                                                  \
    X(RECORD_LIMIT, "record over tls_record_bytes")

typedef enum {
#define TLS_REASON_ENUM(id, name) TLS_REASON_##id,
    TLS_REASON_LIST(TLS_REASON_ENUM)
#undef TLS_REASON_ENUM
        TLS_REASON_COUNT
} tls_reason;

const char *tls_reason_name(tls_reason reason);

typedef struct tls_engine tls_engine;

/* Counted when a flow ends (flows) or as records go by (records, bytes). */
typedef struct tls_engine_stats {
    uint64_t flows;           /* TLS flows ended */
    uint64_t flows_hello;     /* with a ClientHello (SNI when sent, JA3, JA4) */
    uint64_t flows_sni;       /* with a server name */
    uint64_t flows_tls12;     /* negotiated TLS 1.2 */
    uint64_t flows_tls13;     /* negotiated TLS 1.3 */
    uint64_t flows_with_keys; /* the key log held the flow's secrets */
    uint64_t flows_decrypted; /* at least one record opened */
    uint64_t flows_undecryptable[TLS_REASON_COUNT];
    uint64_t records;           /* records framed */
    uint64_t records_decrypted; /* records opened */
    uint64_t bytes;             /* TLS stream bytes, both directions */
    uint64_t plaintext_bytes;   /* application data handed to HTTP */
    uint64_t pairs_other;       /* flows whose (SNI, JA4) pair did not fit the list */
} tls_engine_stats;

/* keylog: borrowed, may be NULL (fingerprints only); it must outlive the
 * engine. slot_count: flow_table_slot_count() of the table whose flows are
 * fed. */
as_status tls_engine_create(const limits *lim, uint32_t slot_count, tls_keylog *keylog,
                            tls_engine **out);

/* Offers one chunk of flow f. Returns 1 when the flow is TLS (the chunk is
 * taken: drain tls_engine_next()), 0 when it is not (feed it to HTTP). The
 * verdict is made on the flow's first data and kept until close. */
int tls_engine_feed(tls_engine *e, const flow *f, flow_direction dir, const tcp_chunk *chunk,
                    anomaly_counters *anomalies);

/* 1 when flow f is TLS and will show no ClientHello: its records were
 * found unreadable before one came (no key log, or no handshake: a
 * connection picked up mid-stream). A classifier waiting for the hello can
 * stop there. */
int tls_engine_hello_missed(const tls_engine *e, const flow *f);

/* Next chunk for the HTTP layer (decrypted data, gap, FIN, RST): 1 and
 * *out filled, or 0 when the fed chunk is used up. */
int tls_engine_next(tls_engine *e, tcp_chunk *out);

/* For a transaction of flow f: points tx->tls at the flow's TLS facts
 * and, when the request had no Host, uses the SNI as host. No-op for a
 * cleartext flow. Valid until tls_engine_close(f). */
void tls_engine_annotate(const tls_engine *e, const flow *f, http_transaction *tx);

/* The flow ended: counts it and frees its session. */
void tls_engine_close(tls_engine *e, const flow *f);

tls_engine_stats tls_engine_get_stats(const tls_engine *e);

/* Distinct (SNI, JA4) pairs of ended flows in order of first appearance,
 * at most tls_fingerprint_pairs of them; sni or ja4 is "" when unknown. */
void tls_engine_foreach_pair(const tls_engine *e,
                             void (*visit)(const char *sni, const char *ja4, uint64_t flows,
                                           void *arg),
                             void *arg);

void tls_engine_destroy(tls_engine *e);

#endif
