/*
 * Behavioural analytics: who does what, compared with their peers, in packet
 * time. Each transaction arrives as an analytics_observation (identity and
 * client already resolved by the caller, endpoint already templated by the
 * inventory); detectors keep bounded windowed state per actor and raise
 * findings as episodes: one finding per (type, actor), opened when a rule
 * fires, updated while matching activity continues (count, last_seen,
 * evidence), closed after analytics_quiet_seconds without it. A closed
 * episode that starts again gets a new finding id.
 *
 * Detectors (docs/detectors.md has the rules and thresholds):
 *   bola                 an identity reading many objects of one endpoint far
 *                        beyond its peers, or objects first seen with others
 *   enumeration          an actor touching many distinct paths, mostly
 *                        answered 401/403/404
 *   credential_stuffing  many failing logins with many distinct usernames,
 *                        from one or many addresses
 *   brute_force          many failing logins against one username
 *   weak_jwt             alg none, no exp, exp too far, a known default key
 *   cleartext_credentials Basic credentials or a login over plain HTTP
 *   traffic_spike        an endpoint's requests per window far above its own
 *                        learned level
 *   endpoint_spray       an actor touching far more endpoints per window than
 *                        it usually does
 *   injection_attempt    requests whose URL nDPI judges an injection (SQL,
 *                        XSS, command) or a path traversal
 *   suspicious_user_agent requests on connections nDPI flagged for their
 *                        user agent (scanners, exploit payloads)
 *
 * All state is bounded (analytics_max_* limits) and evicted oldest-first;
 * evictions are counted. Same input, same findings: nothing reads the wall
 * clock and nothing depends on hash-table iteration order for output.
 * Single-threaded.
 */
#ifndef APISENSOR_ANALYTICS_ANALYTICS_H
#define APISENSOR_ANALYTICS_ANALYTICS_H

#include <stdint.h>

#include "capture/packet.h"
#include "common/limits.h"
#include "common/status.h"
#include "common/strview.h"

/* CONTRACT.md identity kinds. */
typedef enum analytics_identity_kind {
    ANALYTICS_ANONYMOUS = 0, /* written as a client_ip actor */
    ANALYTICS_JWT_SUB,
    ANALYTICS_API_KEY,
    ANALYTICS_BEARER_TOKEN,
    ANALYTICS_BASIC_USER,
    ANALYTICS_SESSION_COOKIE,
    ANALYTICS_CLIENT_CERT
} analytics_identity_kind;

const char *analytics_identity_kind_name(analytics_identity_kind kind);

typedef enum analytics_finding_type {
    ANALYTICS_BOLA,
    ANALYTICS_ENUMERATION,
    ANALYTICS_CREDENTIAL_STUFFING,
    ANALYTICS_BRUTE_FORCE,
    ANALYTICS_WEAK_JWT,
    ANALYTICS_CLEARTEXT_CREDENTIALS,
    ANALYTICS_TRAFFIC_SPIKE,
    ANALYTICS_ENDPOINT_SPRAY,
    ANALYTICS_INJECTION_ATTEMPT,
    ANALYTICS_SUSPICIOUS_USER_AGENT,
    ANALYTICS_FINDING_TYPES
} analytics_finding_type;

const char *analytics_finding_type_name(analytics_finding_type type);

/* Facts of a JWT the request carried (weak_jwt). */
typedef struct analytics_jwt {
    int present;
    str_view alg; /* header alg as written */
    int has_exp;
    int64_t exp, iat; /* seconds since the epoch (0 when absent) */
    str_view token;   /* the token as sent, for the default-key check */
    uint64_t signer;  /* hash of alg, iss and kid: tokens of one signer share its key,
                         so the default-key check runs once per signer */
} analytics_jwt;

/* Objects (IDs) a request names: the path segments the template turned
 * into parameters. */
#define ANALYTICS_MAX_OBJECTS 4

typedef struct analytics_observation {
    uint64_t ts_ns;
    analytics_identity_kind identity_kind;
    uint64_t identity;    /* fingerprint of the identity; 0 for anonymous */
    str_view identity_id; /* what findings print (pseudonymised by the caller) */
    ip_address client_ip;
    int endpoint;          /* inventory endpoint index, -1 for noise */
    uint64_t endpoint_key; /* hash of method, host and template (noise: of the raw path) */
    uint64_t path_key;     /* hash of method and raw path */
    str_view objects[ANALYTICS_MAX_OBJECTS];
    uint32_t object_count;
    int public_endpoint; /* objects readable without credentials: no object-level
                            authorization to break (spec says public, or anonymous
                            callers got 2xx) */
    uint16_t status;
    /* login facts: a request that carries a username and a password field */
    int login_attempt;
    str_view username;
    int login_success; /* 2xx that issued a token or session */
    int cleartext;     /* the exchange was not encrypted */
    int basic_auth;    /* the request carried Basic credentials */
    analytics_jwt jwt;
    uint32_t risks;      /* CLASSIFY_RISK_* of the request (parse/classify.h) */
    str_view user_agent; /* User-Agent of a risky request (evidence) */
} analytics_observation;

#define ANALYTICS_MAX_CLIENTS 16
#define ANALYTICS_MAX_ENDPOINTS 16
#define ANALYTICS_MAX_NAMES 8
#define ANALYTICS_NAME_BYTES 96
#define ANALYTICS_MAX_EVIDENCE 10

typedef struct analytics_counter {
    const char *key; /* snake_case literal; NULL = unused */
    int64_t value;
} analytics_counter;

typedef struct analytics_finding {
    analytics_finding_type type;
    uint64_t id; /* stable for the episode */
    analytics_identity_kind identity_kind;
    char identity_id[ANALYTICS_NAME_BYTES]; /* "" for anonymous actors */
    ip_address client_ip;                   /* the actor's latest address */
    ip_address clients[ANALYTICS_MAX_CLIENTS];
    uint32_t client_count;
    int endpoints[ANALYTICS_MAX_ENDPOINTS]; /* inventory endpoint indexes */
    uint32_t endpoint_count;
    uint64_t first_seen_ns, last_seen_ns;
    uint64_t count; /* requests in the episode */
    const char *severity;
    analytics_counter evidence[ANALYTICS_MAX_EVIDENCE];
    /* named lists for evidence: usernames (stuffing, brute force), reasons */
    const char *names_key;
    char names[ANALYTICS_MAX_NAMES][ANALYTICS_NAME_BYTES];
    uint32_t name_count;
    int open;
} analytics_finding;

typedef struct analytics_stats {
    uint64_t observed;
    uint64_t findings;
    uint64_t actors_evicted;
    uint64_t objects_evicted;
    uint64_t findings_full;
} analytics_stats;

typedef struct analytics analytics;

/* The rule thresholds of docs/detectors.md: the limits analytics_set_thresholds
 * changes on a running instance. Table sizes, the window and the quiet time
 * stay as created. */
#define ANALYTICS_THRESHOLDS(X)                                                                    \
    X(enumeration_min_paths)                                                                       \
    X(enumeration_min_endpoints)                                                                   \
    X(enumeration_strict_percent)                                                                  \
    X(enumeration_error_percent)                                                                   \
    X(bola_min_objects)                                                                            \
    X(bola_min_foreign)                                                                            \
    X(bola_peer_factor)                                                                            \
    X(stuffing_min_usernames)                                                                      \
    X(stuffing_source_usernames)                                                                   \
    X(stuffing_failure_percent)                                                                    \
    X(brute_force_min_failures)                                                                    \
    X(jwt_max_lifetime_seconds)                                                                    \
    X(baseline_min_windows)                                                                        \
    X(traffic_spike_min_requests)                                                                  \
    X(traffic_spike_factor)                                                                        \
    X(endpoint_spray_min_endpoints)                                                                \
    X(endpoint_spray_factor)

as_status analytics_create(const limits *lim, analytics **out);

/* Takes the rule thresholds of lim (ANALYTICS_THRESHOLDS); state is kept. */
void analytics_set_thresholds(analytics *a, const limits *lim);

/* 1 when key names one of ANALYTICS_THRESHOLDS. */
int analytics_is_threshold(const char *key);
void analytics_destroy(analytics *a);

void analytics_observe(analytics *a, const analytics_observation *obs);

/* Closes episodes quiet since before now_ns - analytics_quiet_seconds. */
void analytics_tick(analytics *a, uint64_t now_ns);

/* Next finding raised or changed since the last call (index for
 * analytics_finding_at); 0 when none. */
int analytics_next_event(analytics *a, uint32_t *index);

uint32_t analytics_finding_count(const analytics *a);
const analytics_finding *analytics_finding_at(const analytics *a, uint32_t index);

analytics_stats analytics_get_stats(const analytics *a);

#endif
