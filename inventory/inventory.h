/*
 * The live API inventory: one record per endpoint (service + method + path
 * template) with what was observed on it, the spec diff (declared / shadow /
 * zombie) and the posture findings that follow from it (shadow_api,
 * zombie_api, sensitive_data_exposure, token_in_url,
 * unauthenticated_endpoint).
 *
 * The caller (the model stage) turns each transaction into an
 * inventory_observation: the credential kinds it carried, the sensitive data
 * types the scanner found per location, the spec operation it matched, and
 * fingerprints of its identity and client. inventory_observe() updates the
 * table; what changed is queued and read back with inventory_next_event()
 * (an endpoint first listed or reclassified, a finding raised or widened).
 * The full state is read with inventory_endpoint_at()/inventory_finding_at().
 *
 * An endpoint is listed once it has answered a success status (2xx/3xx) or
 * a 500 (a handler ran); failed requests to paths that are neither listed
 * nor declared are scanner noise, counted per service and not recorded. Tables are bounded
 * (inventory_max_endpoints, _findings): when full, new records are refused and counted. Time is
 * packet time.
 *
 * JSON body fields: after inventory_observe() has named the endpoint, the
 * caller asks inventory_wants_fields() whether to walk a JSON request body
 * (of a 2xx exchange) or 2xx response body, and hands the walk to
 * inventory_add_fields(). Each endpoint learns from its first
 * inventory_schema_samples bodies per side, then from one body in
 * inventory_schema_sample_every, so the walks stay bounded on the hot path.
 * Only field paths and the union of JSON types seen are kept, never values;
 * at most inventory_body_fields paths per side (the first ones), each
 * shorter than inventory_field_path_bytes; the rest are counted as dropped.
 * A field set is allocated once per endpoint and side, at its first field.
 * New fields do not queue an event by themselves: they show in the next
 * event of the endpoint and in the end-of-file snapshot.
 *
 * Records returned are owned by the inventory and valid until the next
 * inventory_observe() or inventory_destroy(). Single-threaded.
 */
#ifndef APISENSOR_INVENTORY_INVENTORY_H
#define APISENSOR_INVENTORY_INVENTORY_H

#include <stdint.h>

#include "common/status.h"
#include "common/strview.h"
#include "inventory/sensitive.h"
#include "parse/json_fields.h"

/* Where data was seen, in CONTRACT.md's order. */
typedef enum inventory_location {
    INVENTORY_REQUEST_BODY,
    INVENTORY_REQUEST_HEADERS,
    INVENTORY_QUERY,
    INVENTORY_RESPONSE_BODY,
    INVENTORY_LOCATIONS
} inventory_location;

typedef enum inventory_status {
    INVENTORY_UNKNOWN, /* no spec loaded */
    INVENTORY_DECLARED,
    INVENTORY_SHADOW,
    INVENTORY_ZOMBIE
} inventory_status;

const char *inventory_status_name(inventory_status status);

/* Posture finding types raised by the inventory. */
typedef enum inventory_finding_type {
    INVENTORY_SHADOW_API,
    INVENTORY_ZOMBIE_API,
    INVENTORY_SENSITIVE_DATA_EXPOSURE,
    INVENTORY_TOKEN_IN_URL,
    INVENTORY_UNAUTHENTICATED_ENDPOINT
} inventory_finding_type;

const char *inventory_finding_type_name(inventory_finding_type type);

/* The spec operation a request matched (filled by the caller from its spec). */
typedef struct inventory_spec_match {
    uint32_t index;    /* operation index, < inventory_config.spec_operations */
    str_view path;     /* the spec's path template: it names the endpoint */
    int deprecated;    /* deprecated: true -> zombie */
    int requires_auth; /* the effective security requirement names a scheme */
} inventory_spec_match;

#define INVENTORY_MAX_QUERY_CREDENTIALS 4

typedef struct inventory_observation {
    uint64_t ts_ns;      /* packet time of the request */
    str_view host;       /* Host (any case), or "ip:port" of the server */
    str_view method;     /* request method */
    str_view path;       /* request path, no query */
    str_view query;      /* raw query after '?', absent when none */
    uint16_t status;     /* final response status, 0 when none */
    uint32_t auth_kinds; /* bit i = credential kind i of the caller's table; 0 = none */
    uint64_t identity;   /* fingerprint of the identity, 0 = anonymous */
    uint64_t client;     /* fingerprint of the client address */
    uint32_t sensitive[INVENTORY_LOCATIONS]; /* bit i = sensitive type i per location */
    /* masked value of each type found in the response body ("" where none;
     * sensitive_found.sample); NULL = none kept */
    const char (*response_masked)[SENSITIVE_SAMPLE_MAX];
    str_view request_content_type, response_content_type;
    int issues_token; /* the response hands out a token or session cookie */
    str_view query_credentials[INVENTORY_MAX_QUERY_CREDENTIALS]; /* parameter names */
    uint32_t query_credential_count;
    const inventory_spec_match *spec; /* NULL: no spec loaded or no match */
} inventory_observation;

#define INVENTORY_HOST_BYTES 128
#define INVENTORY_PATH_BYTES 256
#define INVENTORY_STATUS_SLOTS 16
#define INVENTORY_CONTENT_TYPES 4
#define INVENTORY_MEDIA_BYTES 64
#define INVENTORY_PARAMS 24
#define INVENTORY_PARAM_BYTES 32
#define INVENTORY_SKETCH_REGISTERS 256
#define INVENTORY_TYPE_BITS 32

/* The JSON bodies whose field names an endpoint learns. */
typedef enum inventory_body {
    INVENTORY_BODY_REQUEST,  /* request bodies of exchanges answered 2xx */
    INVENTORY_BODY_RESPONSE, /* 2xx response bodies */
    INVENTORY_BODIES
} inventory_body;

/* Ceiling of inventory_body_fields: the events and the OpenAPI export hold
 * one side's fields in fixed arrays of this size. */
#define INVENTORY_BODY_FIELDS_MAX 256

/* One learned field of a body. */
typedef struct inventory_field {
    const char *path; /* json_fields notation: "id", "user.name", "items[].sku", "[]" */
    uint8_t types;    /* bit (1u << json_kind) for every JSON type seen at the path */
} inventory_field;

/* The field paths of one side of an endpoint (opaque, owned by the inventory). */
typedef struct inventory_fields inventory_fields;

typedef struct inventory_endpoint {
    char host[INVENTORY_HOST_BYTES];            /* lower case */
    char service_prefix[INVENTORY_PARAM_BYTES]; /* configured prefix the path is under, or "" */
    char method[16];
    char path[INVENTORY_PATH_BYTES];
    inventory_status status;
    int32_t spec_index;  /* matched spec operation, -1 when none */
    int listed;          /* answered a success status */
    uint32_t auth_kinds; /* credential kinds seen (caller's bits) */
    int unauthenticated; /* some request carried no credential */
    uint32_t sensitive[INVENTORY_LOCATIONS];
    uint64_t requests;
    uint64_t success;                 /* 2xx and 3xx */
    uint64_t unauthenticated_success; /* 2xx without a credential where one was required */
    uint64_t anonymous_success;       /* 2xx without any credential */
    uint16_t status_codes[INVENTORY_STATUS_SLOTS]; /* 0 = free slot */
    uint64_t status_counts[INVENTORY_STATUS_SLOTS];
    uint64_t status_other; /* statuses beyond the slots, and "no response" */
    uint32_t response_type_counts[INVENTORY_TYPE_BITS]; /* responses carrying each type */
    uint64_t first_seen_ns, last_seen_ns;
    char request_types[INVENTORY_CONTENT_TYPES][INVENTORY_MEDIA_BYTES]; /* "" = free */
    char response_types[INVENTORY_CONTENT_TYPES][INVENTORY_MEDIA_BYTES];
    char query_params[INVENTORY_PARAMS][INVENTORY_PARAM_BYTES];
    uint32_t query_param_count;
    int issues_token; /* a success response handed out a token: a login endpoint */
    uint8_t identity_sketch[INVENTORY_SKETCH_REGISTERS];
    uint8_t client_sketch[INVENTORY_SKETCH_REGISTERS];
    uint64_t json_bodies[INVENTORY_BODIES];     /* JSON bodies offered to inventory_wants_fields */
    inventory_fields *fields[INVENTORY_BODIES]; /* NULL = none learned; owned by the inventory,
                                                   read with inventory_endpoint_field() */
} inventory_endpoint;

/* Learned fields of one side, in first-seen order; views valid as the record. */
uint32_t inventory_endpoint_field_count(const inventory_endpoint *endpoint, inventory_body body);
inventory_field inventory_endpoint_field(const inventory_endpoint *endpoint, inventory_body body,
                                         uint32_t index);

/* Distinct identities / clients, estimated from the sketches. */
uint64_t inventory_endpoint_identities(const inventory_endpoint *endpoint);
uint64_t inventory_endpoint_clients(const inventory_endpoint *endpoint);

#define INVENTORY_FINDING_STATUS_CLASSES 6 /* none, 1xx .. 5xx */

typedef struct inventory_finding {
    inventory_finding_type type;
    uint32_t endpoint;                     /* index for inventory_endpoint_at */
    char parameter[INVENTORY_PARAM_BYTES]; /* token_in_url */
    uint32_t data_types;                   /* sensitive_data_exposure: type bits */
    /* sensitive_data_exposure: the first masked value of each type ("" for
     * none yet); the store keeps them from schema version 3 on */
    char masked[SENSITIVE_TYPE_COUNT][SENSITIVE_SAMPLE_MAX];
    uint64_t id; /* stable for (type, endpoint, parameter) */
    uint64_t first_seen_ns, last_seen_ns;
    uint64_t count; /* requests that showed the problem */
    uint64_t status_classes[INVENTORY_FINDING_STATUS_CLASSES];
    int open;
} inventory_finding;

typedef struct inventory_config {
    uint32_t max_endpoints;
    uint32_t max_findings;
    uint32_t max_services;
    uint32_t learn_positions;   /* template learner positions */
    uint32_t param_cardinality; /* distinct values that make a position a parameter */
    int spec_loaded;
    uint32_t spec_operations;
    uint32_t exposure_types;          /* response types that are an exposure */
    uint32_t token_types;             /* response types a login endpoint is expected to return */
    const str_view *service_prefixes; /* path prefixes that split a host into services */
    uint32_t service_prefix_count;
    uint32_t body_fields; /* field paths kept per endpoint and side, <= INVENTORY_BODY_FIELDS_MAX;
                             0 = learn none */
    uint32_t field_path_bytes;    /* longest path kept, NUL included (>= 2 when body_fields > 0) */
    uint32_t schema_samples;      /* bodies learned from first, per endpoint and side */
    uint32_t schema_sample_every; /* then one body in this many (>= 1) */
} inventory_config;

typedef struct inventory_stats {
    uint64_t observed;
    uint64_t noise;          /* failed requests to unknown paths, not recorded */
    uint64_t endpoints;      /* records in use */
    uint64_t listed;         /* records answering a success */
    uint64_t endpoints_full; /* records refused: inventory_max_endpoints */
    uint64_t findings;
    uint64_t findings_full;  /* findings refused: inventory_max_findings */
    uint64_t merged;         /* records folded into a learned template */
    uint64_t spec_seen;      /* spec operations matched at least once */
    uint64_t services_full;  /* hosts whose noise was not counted: inventory_max_services */
    uint64_t positions_full; /* paths not learned from: template_learn_positions */
    uint64_t bodies_sampled; /* JSON bodies inventory_wants_fields chose to learn from */
    uint64_t fields_dropped; /* body field paths not kept: inventory_body_fields, _path_bytes */
} inventory_stats;

typedef struct inventory inventory;

as_status inventory_create(const inventory_config *config, inventory **out);
void inventory_destroy(inventory *inv);

/* Returns the index of the endpoint the observation was counted in, or -1
 * (noise, or the table was full). */
int inventory_observe(inventory *inv, const inventory_observation *obs);

/* The path template the last inventory_observe() computed, also for noise
 * (valid until the next call). */
const char *inventory_last_template(const inventory *inv);

/* 1 when the caller should walk this JSON body of the endpoint (returned by
 * inventory_observe) and pass the walk to inventory_add_fields; counts the
 * body either way. 0 for a bad index or when learning is off. */
int inventory_wants_fields(inventory *inv, uint32_t endpoint, inventory_body body);

/* Adds the field paths and types of the walker's last run to the endpoint's
 * side (the first inventory_body_fields ones; the rest counted as dropped). */
void inventory_add_fields(inventory *inv, uint32_t endpoint, inventory_body body,
                          const json_fields_walker *walker);

typedef enum inventory_event_kind {
    INVENTORY_EVENT_ENDPOINT,
    INVENTORY_EVENT_FINDING
} inventory_event_kind;

typedef struct inventory_event {
    inventory_event_kind kind;
    uint32_t index; /* for inventory_endpoint_at / inventory_finding_at */
} inventory_event;

/* Next queued change; 0 when none is left. */
int inventory_next_event(inventory *inv, inventory_event *event);

/* Records by index, 0 <= index < the count; NULL for a record merged away. */
uint32_t inventory_endpoint_count(const inventory *inv);
const inventory_endpoint *inventory_endpoint_at(const inventory *inv, uint32_t index);
uint32_t inventory_finding_count(const inventory *inv);
const inventory_finding *inventory_finding_at(const inventory *inv, uint32_t index);

/* 1 when spec operation index was matched by a listed endpoint. */
int inventory_spec_seen(const inventory *inv, uint32_t index);

/*
 * Replaces the declared inventory (a spec reloaded on SIGHUP): spec_loaded
 * and spec_operations as in inventory_config. Every record is kept; each
 * endpoint is classified again (status, spec operation) from the
 * observation after this call, and the operations count as seen again once
 * a request matches them. AS_ERR_NOMEM leaves the old spec in force.
 */
as_status inventory_set_spec(inventory *inv, int spec_loaded, uint32_t spec_operations);

/* Per host: failed requests to paths that are neither listed nor declared
 * (scanner noise), counted and not recorded as endpoints. */
typedef struct inventory_service {
    char host[INVENTORY_HOST_BYTES];
    uint64_t noise;
    uint64_t not_found; /* of which 404 */
} inventory_service;

uint32_t inventory_service_count(const inventory *inv);
const inventory_service *inventory_service_at(const inventory *inv, uint32_t index);

inventory_stats inventory_get_stats(const inventory *inv);

/* ---- persistence (inventory/store.c) ----------------------------------------
 * Restoring adds a stored record to the table as if it had been observed: it
 * is keyed exactly as inventory_observe keys it (host, service prefix, method,
 * path template), and a record whose key is already present is folded into
 * that one (counts added, first_seen kept as the earliest). Restoring queues
 * no event and leaves the record clean; call it before the first
 * inventory_observe. AS_ERR_LIMIT when the table is full (counted as for
 * observations), AS_ERR_ARG for a finding whose endpoint index is not live.
 * A restored finding's endpoint is an index returned by
 * inventory_restore_endpoint; its id is recomputed. A restored endpoint
 * comes without fields (its `fields` pointers are ignored): add them with
 * inventory_restore_field (AS_ERR_LIMIT when the field is not kept: counted
 * as dropped; AS_ERR_ARG for an index that is not live). */
as_status inventory_restore_endpoint(inventory *inv, const inventory_endpoint *endpoint,
                                     uint32_t *index);
as_status inventory_restore_finding(inventory *inv, const inventory_finding *finding,
                                    uint32_t *index);
as_status inventory_restore_field(inventory *inv, uint32_t endpoint, inventory_body body,
                                  const char *path, uint8_t types);
as_status inventory_restore_service(inventory *inv, const inventory_service *service);

/* Dirty flags: 1 for a record changed since the last inventory_clear_dirty()
 * (an endpoint or finding merged away since is dirty and no longer live:
 * inventory_endpoint_at / inventory_finding_at return NULL for it). */
int inventory_endpoint_dirty(const inventory *inv, uint32_t index);
int inventory_finding_dirty(const inventory *inv, uint32_t index);
int inventory_service_dirty(const inventory *inv, uint32_t index);
void inventory_clear_dirty(inventory *inv);

#endif
