/*
 * Every bound of the sensor in one table: a configuration key, a default, a
 * ceiling, the policy applied when the bound is hit and the reason for the
 * default. The composition root fills a `limits` struct from the defaults,
 * the config file and the command line (limits_set), then hands read-only
 * copies to the stages. Library code never reads a global.
 *
 * Units are in the key name (_bytes, _seconds, _packets ...).
 */
#ifndef APISENSOR_COMMON_LIMITS_H
#define APISENSOR_COMMON_LIMITS_H

#include <stdint.h>

#include "status.h"

/* X(field, default, min, max, policy when hit, why this default) */
#define LIMITS_LIST(X)                                                                             \
    X(flow_max, 262144, 16, 100000000, "evict least recently seen flow",                           \
      "about 256 MiB of flow state at the 1 KiB per idle flow target")                             \
    X(flow_idle_timeout_seconds, 300, 1, 86400, "close flow, flush its parser",                    \
      "long-lived keep-alive API connections idle for minutes")                                    \
    X(flow_halfopen_timeout_seconds, 10, 1, 3600, "drop flow that never carried data",             \
      "SYN floods and scans must not hold the table")                                              \
    X(flow_closed_linger_seconds, 5, 0, 600, "forget flow after FIN/RST",                          \
      "late retransmissions after close are absorbed, then the slot is reused")                    \
    X(flow_udp_timeout_seconds, 60, 1, 86400, "close UDP flow",                                    \
      "UDP has no close; request/response exchanges finish in seconds")                            \
    X(tcp_ooo_bytes_per_direction, 262144, 0, 67108864, "declare gap at the first hole",           \
      "covers a bandwidth-delay product of reordering on a 1 Gb/s link")                           \
    X(tcp_ooo_segments_per_direction, 256, 0, 65536, "declare gap at the first hole",              \
      "bounds per-direction segment bookkeeping")                                                  \
    X(tcp_ooo_bytes_total, 268435456, 0, 17179869184LL, "declare gap on the flow that asks",       \
      "global memcap for out-of-order data across all flows")                                      \
    X(ipfrag_max_datagrams, 1024, 0, 1048576, "drop new datagram, count ipfrag.table_full",        \
      "fragments are rare on API traffic; 1024 x 66 KiB bounds a fragment flood")                  \
    X(ipfrag_timeout_seconds, 30, 1, 600, "drop incomplete datagram, count ipfrag.timeout",        \
      "RFC 791 suggests up to 15-120 s; 30 s as Linux")                                            \
    X(http_head_bytes, 131072, 1024, 16777216, "keep the first bytes, flag head_truncated",        \
      "request line plus headers of one message; real heads are < 8 KiB")                          \
    X(http_body_capture_bytes, 16384, 0, 16777216, "keep the first bytes, count the rest",         \
      "enough of a JSON body for field names and sensitive data")                                  \
    X(http_decoded_body_bytes, 65536, 0, 67108864, "stop decoding, flag body_truncated",           \
      "bounded output of gzip/deflate/br decoding")                                                \
    X(http_decompression_ratio, 200, 1, 100000, "stop decoding, count ratio limit",                \
      "zip bombs: real JSON compresses 5-20x")                                                     \
    X(http_pipeline_depth, 64, 1, 4096, "emit oldest request without response",                    \
      "requests waiting for their response on one connection")                                     \
    X(http_resync_scan_bytes, 1048576, 0, 1073741824, "give up until the next gap",                \
      "bytes scanned for a message boundary after a gap or mid-stream pickup")                     \
    X(http_headers_per_message, 256, 8, 65536, "keep the first fields, flag head_truncated",       \
      "real messages carry fewer than 64 header fields")                                           \
    X(ndpi_max_packets, 16, 1, 1000, "give up classification, keep first-bytes verdict",           \
      "nDPI decides HTTP/TLS in the first few packets; bounds its exposure")                       \
    X(kafka_queue_messages, 100000, 16, 10000000,                                                  \
      "spool the event (drop, counted, without spool)",                                            \
      "librdkafka's in-memory queue (queue.buffering.max.messages): about 1 s at 100k events/s")   \
    X(kafka_queue_kbytes, 262144, 64, 2097151, "spool the event (drop, counted, without spool)",   \
      "librdkafka's in-memory queue in KiB (queue.buffering.max.kbytes): 256 MiB")                 \
    X(spool_max_bytes, 1073741824, 65536, 1099511627776LL, "drop the event, count kafka drops",    \
      "on-disk spool for a broker outage: 1 GiB holds minutes of events at full rate")

typedef struct limits {
#define LIMITS_FIELD(field, def, min, max, policy, reason) int64_t field;
    LIMITS_LIST(LIMITS_FIELD)
#undef LIMITS_FIELD
} limits;

typedef struct limit_info {
    const char *key; /* config key, same as the field name */
    int64_t default_value;
    int64_t min_value;
    int64_t max_value;
    const char *policy;
    const char *reason;
} limit_info;

/* The defaults. */
limits limits_default(void);

/* Sets a limit by config key from a decimal string (K/M/G suffixes: 1024-based).
 * AS_ERR_CONFIG for an unknown key, AS_ERR_ARG for a bad or out-of-range value. */
as_status limits_set(limits *lim, const char *key, const char *value);

/* The table, for --help and docs; count through limits_info_count(). */
const limit_info *limits_info(void);
int limits_info_count(void);

#endif
