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
    X(http_memory_bytes, 536870912, 1048576, 1099511627776LL,                                      \
      "stop growing heads, fields and bodies; emit waiting requests; count http.memory_limit",     \
      "heads, fields and captured bodies of the messages in flight of all flows (per worker)")     \
    X(ndpi_max_packets, 16, 1, 1000, "give up classification, keep first-bytes verdict",           \
      "nDPI decides HTTP/TLS in the first few packets; bounds its exposure")                       \
    X(inventory_max_endpoints, 16384, 16, 16777216, "refuse new endpoints, count them",            \
      "a large API estate; about 3 KiB per endpoint record")                                       \
    X(inventory_max_findings, 16384, 16, 16777216, "refuse new posture findings, count them",      \
      "several posture findings per endpoint")                                                     \
    X(inventory_max_services, 4096, 1, 16777216, "stop counting noise for new hosts",              \
      "hosts seen behind one sensor")                                                              \
    X(template_learn_positions, 65536, 16, 16777216, "stop learning new path positions",           \
      "positions under which literal values are counted")                                          \
    X(template_param_cardinality, 20, 2, 4096, "position becomes a {param}",                       \
      "more distinct non-word values than any real set of sibling routes")                         \
    X(inventory_body_fields, 64, 0, 256, "keep the first field paths, count the rest",             \
      "request and 2xx response body fields per endpoint, each side: 8 KiB at 128-byte paths")     \
    X(inventory_field_path_bytes, 128, 8, 4096, "skip the field, count it as dropped",             \
      "dotted path of a body field kept in the inventory, as json_field_name_bytes")               \
    X(inventory_schema_samples, 64, 0, 1000000, "then learn from one body in sample_every",        \
      "JSON bodies per endpoint and side walked for field names while the schema is learned")      \
    X(inventory_schema_sample_every, 64, 1, 1000000, "skip the other bodies",                      \
      "after the first samples, one body in this many is walked to catch schema drift")            \
    X(analytics_max_actors, 65536, 64, 16777216, "evict the least recently seen actor",            \
      "actors (identities, addresses) tracked at once; about 1 KiB each with its trackers")        \
    X(analytics_max_objects, 262144, 64, 67108864, "evict the least recently seen object",         \
      "object ownership for bola; 24 bytes each")                                                  \
    X(analytics_max_findings, 4096, 16, 1048576, "stop raising findings, count them",              \
      "behavioural episodes kept for the run")                                                     \
    X(analytics_window_seconds, 300, 10, 86400, "older activity leaves the window",                \
      "attacks in bursts of minutes; rules read one to two windows")                               \
    X(analytics_quiet_seconds, 600, 10, 604800, "close the episode",                               \
      "an attack paused this long is a new episode")                                               \
    X(enumeration_min_paths, 40, 2, 1000000, "rule threshold",                                     \
      "distinct paths of one actor in the window")                                                 \
    X(enumeration_min_endpoints, 20, 1, 1000000, "rule threshold",                                 \
      "distinct endpoints (or unknown paths) of an authenticated actor in the window")             \
    X(enumeration_strict_percent, 70, 1, 100, "rule threshold",                                    \
      "share of 401/403/404 that makes a narrow authenticated scan enumeration")                   \
    X(enumeration_error_percent, 40, 1, 100, "rule threshold", "share of 401/403/404 answers")     \
    X(bola_min_objects, 20, 2, 1000000, "rule threshold",                                          \
      "distinct objects of one endpoint read by one identity in the window")                       \
    X(bola_min_foreign, 10, 1, 1000000, "rule threshold",                                          \
      "requests on objects first seen with other identities")                                      \
    X(bola_peer_factor, 5, 1, 1000, "rule threshold",                                              \
      "times the peers' requests per identity on the same endpoint")                               \
    X(stuffing_min_usernames, 20, 2, 1000000, "rule threshold",                                    \
      "distinct usernames tried by the stuffing sources of one login endpoint")                    \
    X(stuffing_source_usernames, 3, 2, 1000000, "rule threshold",                                  \
      "distinct failing usernames that make an address a stuffing source")                         \
    X(stuffing_failure_percent, 60, 1, 100, "rule threshold",                                      \
      "share of failed logins of a stuffing source")                                               \
    X(brute_force_min_failures, 10, 2, 1000000, "rule threshold",                                  \
      "failed logins against one username in the window")                                          \
    X(jwt_max_lifetime_seconds, 2592000, 60, 315360000, "weak_jwt: long_lived",                    \
      "tokens valid for more than 30 days")                                                        \
    X(baseline_min_windows, 3, 1, 1000, "no spike before the level is learned",                    \
      "windows an endpoint must have been seen before its level counts")                           \
    X(traffic_spike_min_requests, 200, 1, 100000000, "rule threshold",                             \
      "requests to one endpoint in a window")                                                      \
    X(traffic_spike_factor, 5, 2, 10000, "rule threshold", "times the endpoint's learned level")   \
    X(endpoint_spray_min_endpoints, 15, 2, 1000000, "rule threshold",                              \
      "distinct endpoints of one actor in a window")                                               \
    X(endpoint_spray_factor, 3, 1, 10000, "rule threshold", "times the actor's own level")         \
    X(spec_file_bytes, 33554432, 1024, 1073741824, "refuse the spec (exit 2)",                     \
      "the largest public OpenAPI documents are about 10 MiB of YAML")                             \
    X(spec_operations_max, 20000, 1, 1000000, "refuse the spec (exit 2)",                          \
      "large public APIs declare about 1000 operations")                                           \
    X(spec_nesting_depth, 128, 8, 4096, "refuse the spec (exit 2)",                                \
      "real schemas nest a few dozen levels; bounds parser work on hostile files")                 \
    X(spec_ref_hops, 8, 1, 64, "refuse the spec (exit 2)",                                         \
      "a $ref to a $ref is common, longer chains are cycles")                                      \
    X(spec_parameters_per_operation, 256, 1, 65536, "refuse the spec (exit 2)",                    \
      "real operations declare tens of parameters; aliases could repeat a list per operation")     \
    X(jwt_max_bytes, 8192, 64, 16384, "treat the token as opaque, count jwt.too_long",             \
      "access tokens are < 2 KiB; Azure AD tokens with group claims reach 4-6 KiB")                \
    X(credentials_per_request, 8, 1, 16, "keep the first ones, count credential.too_many",         \
      "a request carries one or two credentials; cookies can add a few")                           \
    X(sensitive_scan_bytes, 131072, 0, 16777216,                                                   \
      "scan the first bytes, count sensitive.truncated",                                           \
      "dumps of whole tables put cards ~90 KiB in; bounds scan time per message; 0 = off")         \
    X(json_max_depth, 32, 1, 1024, "stop walking the body, count json.too_deep",                   \
      "real API bodies nest < 10 levels; bounds the walker's stack")                               \
    X(json_fields_per_body, 128, 1, 65536, "keep the first fields, count json.fields_dropped",     \
      "distinct field paths of one body kept as facts (arrays of records repeat paths)")           \
    X(json_field_name_bytes, 128, 8, 4096, "skip the field, count json.name_too_long",             \
      "dotted path of a field (user.address.city); longer names are data, not schema")             \
    X(db_flush_seconds, 60, 1, 86400, "write the records changed since the last write",            \
      "packet time between inventory writes to --db; a crash loses at most this much")             \
    X(tls_keylog_entries, 65536, 16, 16777216, "evict the oldest entry, count it",                 \
      "client randoms held from the key log; 288 bytes each, 18 MiB at the default")               \
    X(tls_record_bytes, 18437, 1024, 1048576, "flow undecryptable, count tls.record_limit",        \
      "largest TLS 1.2 ciphertext record: 5 + 2^14 + 2048 bytes, buffered per direction")          \
    X(tls_handshake_bytes, 65536, 1024, 16777216, "skip the hello, count tls.handshake_limit",     \
      "ClientHello/ServerHello kept whole to parse; real ones are < 2 KiB (PQ key shares)")        \
    X(tls_fingerprint_pairs, 256, 0, 65536, "count the flow under other pairs",                    \
      "distinct (SNI, JA4) pairs listed in the run summary")                                       \
    X(jwt_cache_entries, 1024, 0, 1048576, "replace the entry in its slot (direct-mapped)",        \
      "decoded JWTs of about 1000 active clients per worker, 1.2 KiB each")                        \
    X(kafka_queue_messages, 100000, 16, 10000000,                                                  \
      "spool the event (drop, counted, without spool)",                                            \
      "librdkafka's in-memory queue (queue.buffering.max.messages): about 1 s at 100k events/s")   \
    X(kafka_queue_kbytes, 262144, 64, 2097151, "spool the event (drop, counted, without spool)",   \
      "librdkafka's in-memory queue in KiB (queue.buffering.max.kbytes): 256 MiB")                 \
    X(spool_max_bytes, 1073741824, 65536, 1099511627776LL, "drop the event, count kafka drops",    \
      "on-disk spool for a broker outage: 1 GiB holds minutes of events at full rate")             \
    X(worker_ring_kbytes, 16384, 1024, 4194304,                                                    \
      "capture files: dispatcher waits (block); live: drop new packet",                            \
      "--workers N: packets queued per worker; 16 MiB: ~10k full-size packets, ~130 ms at 1 "      \
      "Gbit/s")                                                                                    \
    X(model_ring_kbytes, 8192, 1024, 4194304, "worker waits (block)",                              \
      "--workers N: transactions queued per worker for the model thread; grown to two of the "     \
      "largest")

/* Index of each limit in the table (limits_info(), limits_get()). */
typedef enum limit_index {
#define LIMITS_INDEX(field, def, min, max, policy, reason) LIMIT_INDEX_##field,
    LIMITS_LIST(LIMITS_INDEX)
#undef LIMITS_INDEX
        LIMITS_COUNT
} limit_index;

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

/* Parses a size: a decimal number with an optional K/M/G suffix (1024-based).
 * Returns 1 and writes *out, or 0 for anything else (negative, overflow, junk). */
int limits_parse_size(const char *text, int64_t *out);

/* The value of the limit at index (the order of limits_info()). */
int64_t limits_get(const limits *lim, int index);

/* The table, for --help and docs; count through limits_info_count(). */
const limit_info *limits_info(void);
int limits_info_count(void);

#endif
