/*
 * The inventory and analytics stages describe what they export with these
 * plain value records; export/ turns them into the CONTRACT.md "endpoint" and
 * "finding" events (native or any --format) without knowing the stages'
 * own tables.
 *
 * Ownership: a record only borrows. Every str_view, list and array points into
 * memory of the producer that must stay valid for the duration of the one
 * encode call the record is passed to; export/ copies nothing it keeps and
 * frees nothing. Build a record on the stack, fill it, encode it, forget it.
 *
 * Absence: a str_view with ptr == NULL is absent (written as null, or the key
 * left out where the contract marks it optional); a list with items == NULL
 * is absent, a list with items != NULL and count 0 is the empty list [].
 * Vocabulary values (auth kinds, data types, finding types, severities,
 * identity kinds) are the CONTRACT.md strings, e.g. "bearer_jwt", "email",
 * "bola", "high", "jwt_sub"; the encoders write them as given.
 * Times are packet times in nanoseconds since the epoch (UTC).
 */
#ifndef APISENSOR_EXPORT_RECORDS_H
#define APISENSOR_EXPORT_RECORDS_H

#include <stdint.h>

#include "capture/packet.h"
#include "common/strview.h"

/* A list of borrowed strings, written as a JSON array in the given order. */
typedef struct record_str_list {
    const str_view *items; /* NULL = absent */
    uint32_t count;
} record_str_list;

/* An endpoint key: method, host (service) and path template ("/users/{id}"). */
typedef struct record_endpoint {
    str_view method;
    str_view host;
    str_view path;
} record_endpoint;

/* What the later stages add to a transaction event: the request-target
 * with its secrets redacted, the endpoint the inventory counted it in and
 * the identity analytics gave it (already pseudonymised when it is a
 * secret). NULL pointers / absent views are written as null. */
typedef struct transaction_context {
    str_view uri;                    /* written instead of the transaction's when present */
    int analysed;                    /* 0: no endpoint and identity keys (not analysed) */
    const record_endpoint *endpoint; /* NULL = not an endpoint (noise) */
    str_view identity_kind;          /* CONTRACT identity kind */
    str_view identity_id;
} transaction_context;

/* ------------------------------------------------------------------ endpoint */

typedef enum {
    RECORD_ENDPOINT_UNKNOWN = 0, /* no spec loaded */
    RECORD_ENDPOINT_DECLARED,
    RECORD_ENDPOINT_SHADOW,
    RECORD_ENDPOINT_ZOMBIE,
} record_endpoint_status;

/* One bucket of the status code histogram. */
typedef struct record_status_count {
    uint16_t code; /* HTTP status, 100..999 */
    uint64_t count;
} record_status_count;

/* A parameter or JSON body field seen on the endpoint. */
typedef struct record_parameter {
    str_view name;     /* "id", "expand", "user.email" */
    str_view location; /* "path" | "query" | "header" | "cookie" | "body" */
    /* "integer" | "string" | "boolean" | "number" | "object" | "array";
     * absent = unknown */
    str_view type;
} record_parameter;

/* A JSON body field learned on the endpoint (names and types, never values). */
typedef struct record_field {
    str_view path; /* "id", "user.name", "items[].sku" (parse/json_fields.h notation) */
    uint8_t types; /* bit (1u << json_kind) for each JSON type seen (parse/json_fields.h) */
} record_field;

typedef struct record_field_list {
    const record_field *items; /* NULL or count 0 = key left out */
    uint32_t count;
} record_field_list;

/* Sensitive data types seen on the endpoint, by where they were seen. */
typedef struct record_sensitive_data {
    record_str_list request_body;
    record_str_list request_headers;
    record_str_list query;
    record_str_list response_body;
} record_sensitive_data;

typedef struct endpoint_record {
    uint64_t ts_ns; /* packet time of the event ("@timestamp") */
    record_endpoint endpoint;
    record_endpoint_status status;
    record_str_list auth; /* auth kinds; ["none"] when requests carried no credential */
    record_sensitive_data sensitive_data;
    uint64_t requests;
    const record_status_count *status_codes; /* ascending by code; NULL with count 0 = {} */
    uint32_t status_code_count;
    uint64_t identities; /* distinct identities (an estimate is fine) */
    uint64_t clients;    /* distinct client addresses (an estimate is fine) */
    uint64_t first_seen_ns;
    uint64_t last_seen_ns;
    /* Optional extras: written only when present. */
    record_str_list request_content_types;
    record_str_list response_content_types;
    const record_parameter *parameters; /* NULL = absent */
    uint32_t parameter_count;
    record_field_list request_fields;  /* request bodies of 2xx exchanges */
    record_field_list response_fields; /* 2xx response bodies */
} endpoint_record;

/* ------------------------------------------------------------------ finding */

typedef enum {
    RECORD_EVIDENCE_STRING = 0,
    RECORD_EVIDENCE_INT,
    RECORD_EVIDENCE_STRING_LIST,
    RECORD_EVIDENCE_STRING_MAP, /* an object: names[i] -> list[i] */
} record_evidence_kind;

/* One key of the finding's "evidence" object. Values are already redacted by
 * the producer: a masked card number, never the raw one. */
typedef struct record_evidence {
    const char *key; /* snake_case, NUL-terminated (a literal in practice) */
    record_evidence_kind kind;
    str_view text;         /* RECORD_EVIDENCE_STRING */
    int64_t number;        /* RECORD_EVIDENCE_INT */
    record_str_list list;  /* RECORD_EVIDENCE_STRING_LIST; the values of a STRING_MAP */
    record_str_list names; /* RECORD_EVIDENCE_STRING_MAP: the keys, as many as the values */
} record_evidence;

/* At most this many evidence entries are written; the rest are ignored. */
#define RECORD_MAX_EVIDENCE 16

typedef struct finding_record {
    uint64_t ts_ns;    /* packet time of the event ("@timestamp") */
    str_view id;       /* stable across updates of one episode */
    str_view type;     /* "bola", "shadow_api", ... */
    str_view severity; /* "info" | "low" | "medium" | "high" | "critical" */
    str_view owasp;    /* "API1:2023"; absent = null */
    uint64_t first_seen_ns;
    uint64_t last_seen_ns;
    uint64_t count;   /* requests (or events) in the episode so far */
    str_view summary; /* one line for a human */
    /* The actor's identity; kind absent = anonymous ("identity": null). */
    str_view identity_kind;
    str_view identity_id;
    ip_address client_ip;      /* family 0 = no single actor address (key left out) */
    const ip_address *clients; /* all actor addresses; NULL = key left out */
    uint32_t client_count;
    int has_endpoint; /* endpoint-scoped findings: 1 = "endpoint" written */
    record_endpoint endpoint;
    const record_endpoint *endpoints; /* behavioural findings; NULL = key left out */
    uint32_t endpoint_count;
    str_view parameter;         /* token_in_url; absent = key left out */
    record_str_list data_types; /* sensitive_data_exposure; absent = key left out */
    record_evidence evidence[RECORD_MAX_EVIDENCE];
    uint32_t evidence_count; /* "evidence" is always written, {} when 0 */
} finding_record;

#endif
