/*
 * Named, counted anomalies: malformed traffic is data, not an error.
 *
 * Decoders never log per packet; they bump a counter from this one table.
 * Names are dotted, lower case and stable: they appear in the run summary and
 * in stats events. Add new names at the end of their section; never reuse or
 * rename one (a name is part of the output).
 *
 * A counter set is owned by one worker thread (no atomics on the hot path);
 * the composition root sums the sets for reporting.
 */
#ifndef APISENSOR_COMMON_ANOMALY_H
#define APISENSOR_COMMON_ANOMALY_H

#include <stdint.h>

#define ANOMALY_LIST(X)                                                                            \
    /* capture file and packet source */                                                           \
    X(SOURCE_TRUNCATED_RECORD, "source.truncated_record")                                          \
    X(SOURCE_BAD_BLOCK, "source.pcapng.bad_block")                                                 \
    X(SOURCE_UNKNOWN_INTERFACE, "source.pcapng.unknown_interface")                                 \
    X(SOURCE_CAPLEN_OVER_SNAPLEN, "source.caplen_over_snaplen")                                    \
    X(SOURCE_TIME_BACKWARDS, "source.time_backwards")                                              \
    /* link layer and encapsulations */                                                            \
    X(DECODE_LINKTYPE_UNSUPPORTED, "decode.linktype.unsupported")                                  \
    X(DECODE_ETH_TRUNCATED, "decode.ethernet.truncated")                                           \
    X(DECODE_VLAN_TOO_DEEP, "decode.vlan.too_deep")                                                \
    X(DECODE_MPLS_TRUNCATED, "decode.mpls.truncated")                                              \
    X(DECODE_PPPOE_TRUNCATED, "decode.pppoe.truncated")                                            \
    X(DECODE_SLL_TRUNCATED, "decode.sll.truncated")                                                \
    X(DECODE_NULL_TRUNCATED, "decode.null.truncated")                                              \
    X(DECODE_RADIOTAP_TRUNCATED, "decode.radiotap.truncated")                                      \
    X(DECODE_WIFI_TRUNCATED, "decode.ieee80211.truncated")                                         \
    X(DECODE_NFLOG_TRUNCATED, "decode.nflog.truncated")                                            \
    X(DECODE_CHDLC_TRUNCATED, "decode.chdlc.truncated")                                            \
    X(DECODE_GRE_TRUNCATED, "decode.gre.truncated")                                                \
    X(DECODE_GRE_UNSUPPORTED, "decode.gre.unsupported")                                            \
    X(DECODE_ERSPAN_TRUNCATED, "decode.erspan.truncated")                                          \
    X(DECODE_VXLAN_TRUNCATED, "decode.vxlan.truncated")                                            \
    X(DECODE_TEREDO_TRUNCATED, "decode.teredo.truncated")                                          \
    X(DECODE_TUNNEL_TOO_DEEP, "decode.tunnel.too_deep")                                            \
    X(DECODE_L3_UNKNOWN, "decode.l3.unknown")                                                      \
    X(DECODE_MPLS_TOO_DEEP, "decode.mpls.too_deep")                                                \
    /* IPv4 / IPv6 */                                                                              \
    X(DECODE_IPV4_TRUNCATED, "decode.ipv4.truncated")                                              \
    X(DECODE_IPV4_BAD_VERSION, "decode.ipv4.bad_version")                                          \
    X(DECODE_IPV4_BAD_HLEN, "decode.ipv4.bad_header_length")                                       \
    X(DECODE_IPV4_BAD_TOTLEN, "decode.ipv4.bad_total_length")                                      \
    X(DECODE_IPV6_TRUNCATED, "decode.ipv6.truncated")                                              \
    X(DECODE_IPV6_BAD_EXTHDR, "decode.ipv6.bad_extension_header")                                  \
    X(DECODE_IPV6_FRAGMENT, "decode.ipv6.fragment_unsupported")                                    \
    X(DECODE_L4_OTHER, "decode.l4.other")                                                          \
    X(DECODE_IPV6_BAD_VERSION, "decode.ipv6.bad_version")                                          \
    /* IPv4 fragment reassembly */                                                                 \
    X(IPFRAG_TABLE_FULL, "ipfrag.table_full")                                                      \
    X(IPFRAG_TIMEOUT, "ipfrag.timeout")                                                            \
    X(IPFRAG_OVERLAP, "ipfrag.overlap")                                                            \
    X(IPFRAG_TOO_BIG, "ipfrag.too_big")                                                            \
    X(IPFRAG_BAD_FRAGMENT, "ipfrag.bad_fragment")                                                  \
    /* TCP header */                                                                               \
    X(DECODE_TCP_TRUNCATED, "decode.tcp.truncated")                                                \
    X(DECODE_TCP_BAD_HLEN, "decode.tcp.bad_header_length")                                         \
    X(DECODE_UDP_TRUNCATED, "decode.udp.truncated")                                                \
    X(DECODE_PAYLOAD_CAPLEN, "decode.payload.cut_by_snaplen")                                      \
    /* flow table */                                                                               \
    X(FLOW_TABLE_FULL, "flow.table_full_evicted")                                                  \
    X(FLOW_PORT_REUSE, "flow.port_reuse")                                                          \
    X(FLOW_QUEUE_NOT_DRAINED, "flow.ended_queue_not_drained")                                      \
    /* TCP reassembly */                                                                           \
    X(TCP_OVERLAP_CONFLICT, "tcp.overlap_conflict")                                                \
    X(TCP_OOO_LIMIT, "tcp.out_of_order_limit")                                                     \
    X(TCP_GAP, "tcp.gap")                                                                          \
    X(TCP_DATA_AFTER_CLOSE, "tcp.data_after_close")                                                \
    X(TCP_RETRANSMISSION, "tcp.retransmission")                                                    \
    X(TCP_OUT_OF_WINDOW, "tcp.out_of_window")                                                      \
    /* HTTP */                                                                                     \
    X(HTTP_MALFORMED_REQUEST, "http.malformed_request")                                            \
    X(HTTP_MALFORMED_RESPONSE, "http.malformed_response")                                          \
    X(HTTP_ORPHAN_RESPONSE, "http.orphan_response")                                                \
    X(HTTP_PIPELINE_FULL, "http.pipeline_full")                                                    \
    X(HTTP_HEAD_TRUNCATED, "http.head_truncated")                                                  \
    X(HTTP_RESYNC, "http.resync")                                                                  \
    X(HTTP_RESYNC_FAILED, "http.resync_failed")                                                    \
    X(HTTP_DECODE_ERROR, "http.body.decode_error")                                                 \
    X(HTTP_DECODE_RATIO, "http.body.decompression_ratio_limit")                                    \
    X(HTTP_NOT_HTTP, "http.not_http_stream")                                                       \
    X(HTTP_TX_QUEUE_FULL, "http.tx_queue_full")                                                    \
    X(HTTP_ALLOC_FAILED, "http.alloc_failed")                                                      \
    X(HTTP_MEMORY_LIMIT, "http.memory_limit")                                                      \
    /* credentials: JWTs, Authorization values, identities */                                      \
    X(JWT_TOO_LONG, "jwt.too_long")                                                                \
    X(JWT_BAD_BASE64URL, "jwt.bad_base64url")                                                      \
    X(JWT_BAD_HEADER, "jwt.bad_header")                                                            \
    X(JWT_HEADER_WITHOUT_ALG, "jwt.header_without_alg")                                            \
    X(JWT_BAD_PAYLOAD, "jwt.bad_payload")                                                          \
    X(JWT_CLAIM_TRUNCATED, "jwt.claim_truncated")                                                  \
    X(CREDENTIAL_TOO_MANY, "credential.too_many")                                                  \
    X(CREDENTIAL_BAD_BASIC, "credential.bad_basic")                                                \
    X(CREDENTIAL_DECODE_FULL, "credential.decode_space_full")                                      \
    X(CREDENTIAL_BAD_FORWARDED_FOR, "credential.bad_forwarded_for")                                \
    X(CREDENTIAL_REDACT_NOMEM, "credential.redact_no_memory")                                      \
    /* body facts and sensitive data */                                                            \
    X(JSON_INVALID, "json.invalid")                                                                \
    X(JSON_TOO_DEEP, "json.too_deep")                                                              \
    X(JSON_FIELDS_DROPPED, "json.fields_dropped")                                                  \
    X(JSON_NAME_TOO_LONG, "json.name_too_long")                                                    \
    X(JSON_BAD_NAME, "json.bad_name")                                                              \
    X(SENSITIVE_TRUNCATED, "sensitive.truncated")                                                  \
    /* TLS */                                                                                      \
    X(TLS_MALFORMED_RECORD, "tls.malformed_record")                                                \
    X(TLS_MALFORMED_HANDSHAKE, "tls.malformed_handshake")                                          \
    X(TLS_RECORD_LIMIT, "tls.record_limit")                                                        \
    X(TLS_HANDSHAKE_LIMIT, "tls.handshake_limit")                                                  \
    X(TLS_AUTH_FAILED, "tls.auth_failed")                                                          \
    X(TLS_MISSING_KEY, "tls.missing_key")                                                          \
    X(TLS_GAP, "tls.gap_undecryptable")                                                            \
    X(TLS_ALLOC_FAILED, "tls.alloc_failed")

typedef enum {
#define ANOMALY_ENUM(id, name) ANOMALY_##id,
    ANOMALY_LIST(ANOMALY_ENUM)
#undef ANOMALY_ENUM
        ANOMALY_COUNT
} anomaly_id;

/* One counter per anomaly; zero-initialise. Owned by one thread. */
typedef struct anomaly_counters {
    uint64_t count[ANOMALY_COUNT];
} anomaly_counters;

static inline void anomaly_count(anomaly_counters *counters, anomaly_id id) {
    if (counters)
        counters->count[id]++;
}

/* Dotted name of an anomaly ("decode.ipv4.truncated"). */
const char *anomaly_name(anomaly_id id);

/* Adds every counter of `from` into `into`. */
void anomaly_counters_add(anomaly_counters *into, const anomaly_counters *from);

#endif
