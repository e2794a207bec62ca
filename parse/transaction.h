/*
 * The transaction record: one HTTP request paired with its response (or the
 * lack of one), built once in parse/ and read by every later stage.
 *
 * Every str_view and pointer is a borrowed view into the HTTP session that
 * produced it, valid until the next call into that session's engine
 * (http_engine_next). A stage that keeps anything copies it.
 */
#ifndef APISENSOR_PARSE_TRANSACTION_H
#define APISENSOR_PARSE_TRANSACTION_H

#include <stdint.h>

#include "capture/packet.h"
#include "common/strview.h"

/* X(id, name as written in the transaction event's "flags") */
#define TX_FLAG_LIST(X)                                                                            \
    X(NO_RESPONSE, "no_response")               /* request without a response */                   \
    X(ORPHAN_RESPONSE, "orphan_response")       /* response without a request */                   \
    X(REQUEST_GAP, "request_gap")               /* capture loss inside the request */              \
    X(RESPONSE_GAP, "response_gap")             /* capture loss inside the response */             \
    X(INCOMPLETE, "incomplete")                 /* a message ended before its declared end */      \
    X(BODY_TRUNCATED, "body_truncated")         /* captured or decoded body cut at a limit */      \
    X(HEAD_TRUNCATED, "head_truncated")         /* URI or headers cut at http_head_bytes */        \
    X(MALFORMED_REQUEST, "malformed_request")   /* the request failed to parse */                  \
    X(MALFORMED_RESPONSE, "malformed_response") /* the response failed to parse */                 \
    X(CONNECTION_RESET, "connection_reset")     /* a RST cut the exchange */                       \
    X(UPGRADE, "upgrade")                       /* protocol switched (101); parsing stopped */     \
    X(TUNNEL, "tunnel")                         /* CONNECT accepted; parsing stopped */            \
    X(OVERLAP_CONFLICT, "overlap_conflict")     /* TCP retransmission with different bytes */      \
    X(SNAPLEN, "truncated")                     /* packets were cut by the snaplen */              \
    X(RESYNC, "resync")                         /* found by scanning after a gap or pickup */      \
    X(DECODE_ERROR, "body_decode_error")        /* Content-Encoding could not be decoded */

enum {
#define TX_FLAG_BIT(id, name) TX_FLAG_BIT_##id,
    TX_FLAG_LIST(TX_FLAG_BIT)
#undef TX_FLAG_BIT
        TX_FLAG_COUNT
};

enum {
#define TX_FLAG_VALUE(id, name) TX_FLAG_##id = 1u << TX_FLAG_BIT_##id,
    TX_FLAG_LIST(TX_FLAG_VALUE)
#undef TX_FLAG_VALUE
};

/* Name of flag bit i (0 <= i < TX_FLAG_COUNT). */
const char *tx_flag_name(int bit);

typedef struct http_header_view {
    str_view name;
    str_view value;
} http_header_view;

typedef struct http_message {
    int present;                     /* 0: this side was never seen */
    uint64_t first_ts_ns;            /* packet time of the first byte */
    uint64_t last_ts_ns;             /* packet time of the last byte */
    const http_header_view *headers; /* in wire order */
    uint32_t header_count;
    str_view content_type;     /* value of Content-Type, or absent */
    str_view content_encoding; /* value of Content-Encoding, or absent */
    int body_bytes_known;      /* 0 when the message did not complete */
    uint64_t body_bytes;       /* entity-body bytes on the wire after de-chunking, before
                                  content decoding; gap bytes inside a known length count */
    const uint8_t *body;       /* first bytes of the body, content-decoded when encoded */
    uint32_t body_len;         /* bytes at body (<= http_body_capture_bytes/decoded limit) */
    int body_decoded;          /* 1 when body holds content-decoded bytes */
} http_message;

/* What the TLS layer knew of the connection that carried a transaction
 * (parse/tls.h). Views and strings live as long as the transaction's. */
typedef struct tx_tls {
    uint16_t version;        /* negotiated: 0x0303 TLS 1.2, 0x0304 TLS 1.3; 0 unknown */
    uint16_t cipher;         /* negotiated cipher suite; 0 unknown */
    const char *cipher_name; /* IANA name of a decrypted suite, NULL otherwise */
    str_view sni;            /* server_name of the ClientHello, absent without one */
    str_view alpn;           /* first ALPN protocol the client offered, absent without one */
    const char *ja3;         /* 32 hex digits; NULL without a ClientHello */
    const char *ja4;         /* JA4 (FoxIO); NULL without a ClientHello */
} tx_tls;

/* Value of the first header called name (ASCII case ignored), or an
 * absent view. */
str_view http_message_header(const http_message *m, const char *name);

typedef struct http_transaction {
    uint64_t flow_serial; /* flow_table serial of the connection */
    ip_address client_ip, server_ip;
    uint16_t client_port, server_port;
    uint8_t version_major, version_minor; /* of the request (else the response) */
    str_view method;                      /* request method, absent for an orphan response */
    str_view uri;                         /* raw request-target */
    str_view host;          /* Host header; else the authority of an absolute-form target */
    uint16_t status;        /* final status code, 0 when no response */
    str_view reason;        /* reason phrase */
    uint16_t interim_count; /* 1xx responses before the final one */
    uint32_t flags;         /* TX_FLAG_* */
    http_message request;
    http_message response;
    const tx_tls *tls; /* NULL for cleartext HTTP */
    uint32_t risks;    /* CLASSIFY_RISK_* nDPI set on the connection (parse/classify.h) */
} http_transaction;

#endif
