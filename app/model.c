/*
 * The model stage (see model.h): transaction -> inventory observation ->
 * inventory -> endpoint and finding events.
 *
 * This file is glue: it turns the facts of the parse stage into an
 * inventory_observation and the inventory's records into export's value
 * records. The rules themselves live in inventory/.
 */
#include "model.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "export/endpoint_event.h"
#include "export/finding_event.h"
#include "analytics/analytics.h"
#include "inventory/inventory.h"
#include "inventory/sensitive.h"
#include "parse/classify.h"
#include "log.h"
#include "parse/json_fields.h"
#include "parse/login.h"
#include "parse/pseudonym.h"

/* CONTRACT.md auth kinds, by inventory auth bit: the credential kinds of
 * HTTP (credential_kind order), then client certificates (mtls), which only
 * the TLS handshake shows. */
static const char *const auth_names[] = {
#define AUTH_NAME(id, name) name,
    CREDENTIAL_KIND_LIST(AUTH_NAME)
#undef AUTH_NAME
        "mtls"};
#define AUTH_KINDS (CREDENTIAL_KIND_COUNT + 1)

/* CONTRACT.md sensitive data types, by inventory type bit (sensitive_type order). */
static const char *const type_names[] = {
#define TYPE_NAME(id, name) name,
    SENSITIVE_TYPE_LIST(TYPE_NAME)
#undef TYPE_NAME
};
#define TYPE_COUNT SENSITIVE_TYPE_COUNT

/* Opaque tokens and session cookies handed out by a login, tied to the
 * user who logged in (direct-mapped: a newer login replaces an older one). */
#define ISSUED_SLOTS 4096
typedef struct issued_token {
    uint64_t fingerprint; /* 0 = free */
    char user[ANALYTICS_NAME_BYTES];
} issued_token;

struct model {
    model_config config;
    uint64_t next_snapshot_ns; /* packet time of the next periodic snapshot; 0 = not started */
    inventory *inventory;
    analytics *analytics;
    sensitive_db *sensitive_db;
    sensitive_worker *scanner;
    sensitive_stats scanned_elsewhere; /* the workers' scanners (model_add_scan_stats) */
    json_fields_walker *walker;
    pseudonym *pseudonym;
    credential_cache *jwt_cache;
    credential_set credentials;
    credential_config credential_settings; /* names and proxies in force (a reload swaps them) */
    login_facts login;
    sensitive_found found[SENSITIVE_LOCATION_COUNT]; /* its own scan (without --workers) */
    issued_token *issued;
    anomaly_counters anomalies;
    transaction_context context; /* of the last transaction */
    char *redacted;              /* its request-target with secrets redacted */
    size_t redacted_cap;
    record_endpoint context_endpoint;
    char context_identity[PSEUDONYM_HEX_BYTES > ANALYTICS_NAME_BYTES ? PSEUDONYM_HEX_BYTES
                                                                     : ANALYTICS_NAME_BYTES];
    json_writer json;
    model_totals totals;
    uint64_t flush_interval_ns; /* db_flush_seconds */
    uint64_t last_flush_ns;     /* packet time of the last store flush; 0 = none yet */
    /* A spec offered by another thread (model_offer_spec), taken between
     * transactions by the model's thread. */
    pthread_mutex_t offer_lock;
    atomic_int offer_pending;              /* 1 = `offered` waits to be taken */
    openapi_spec *offered;                 /* under offer_lock; NULL = run without a spec */
    int offered_spec;                      /* under offer_lock: `offered` is an offer */
    limits offered_lim;                    /* under offer_lock: thresholds offered */
    credential_config offered_credentials; /* under offer_lock: with offered_lim */
    int offered_settings;      /* under offer_lock: offered_lim and _credentials are an offer */
    openapi_spec *owned_spec;  /* the spec in force when it came from an offer */
    uint64_t spec_swaps;       /* offers taken */
    uint64_t settings_swaps;   /* offers of thresholds and credential settings taken */
    uint64_t spec_swap_failed; /* offers dropped: no memory for the new spec's table */
};

const char *const *model_auth_kinds(uint32_t *count) {
    *count = AUTH_KINDS;
    return auth_names;
}

const char *const *model_data_types(uint32_t *count) {
    *count = TYPE_COUNT;
    return type_names;
}

store *model_open_store(const char *path, int read_only, int *exit_code) {
    store_config sc = {path, read_only, auth_names, AUTH_KINDS, type_names, TYPE_COUNT};
    char err[1100];
    store *db = NULL;
    as_status st = store_open(&sc, err, sizeof err, &db);
    if (st != AS_OK) {
        log_error("%s", err);
        *exit_code = st == AS_ERR_UNSUPPORTED ? 2 : 1;
    }
    return db;
}

static uint32_t type_bit(const char *name) {
    for (uint32_t i = 0; i < TYPE_COUNT; i++)
        if (strcmp(type_names[i], name) == 0)
            return 1u << i;
    return 0;
}

as_status model_create(const model_config *config, model **out) {
    *out = NULL;
    model *m = calloc(1, sizeof *m);
    if (!m)
        return AS_ERR_NOMEM;
    m->config = *config;
    m->credential_settings = *config->credentials;
    pthread_mutex_init(&m->offer_lock, NULL);
    json_writer_init(&m->json);
    const limits *lim = config->lim;
    inventory_config ic = {
        .max_endpoints = (uint32_t)lim->inventory_max_endpoints,
        .max_findings = (uint32_t)lim->inventory_max_findings,
        .max_services = (uint32_t)lim->inventory_max_services,
        .learn_positions = (uint32_t)lim->template_learn_positions,
        .param_cardinality = (uint32_t)lim->template_param_cardinality,
        .exposure_types = type_bit("credit_card") | type_bit("ssn") | type_bit("iban") |
                          type_bit("password") | type_bit("password_hash") | type_bit("jwt") |
                          type_bit("api_key") | type_bit("access_token") | type_bit("private_key"),
        .token_types = type_bit("jwt") | type_bit("access_token"),
        .spec_loaded = config->spec != NULL,
        .spec_operations = config->spec ? openapi_operation_count(config->spec) : 0,
        .body_fields = (uint32_t)lim->inventory_body_fields,
        .field_path_bytes = (uint32_t)lim->inventory_field_path_bytes,
        .schema_samples = (uint32_t)lim->inventory_schema_samples,
        .schema_sample_every = (uint32_t)lim->inventory_schema_sample_every,
    };
    as_status st = inventory_create(&ic, &m->inventory);
    if (st == AS_OK)
        st = analytics_create(lim, &m->analytics);
    if (st == AS_OK)
        st = sensitive_db_create(&m->sensitive_db);
    if (st == AS_OK)
        st = sensitive_worker_create(m->sensitive_db, lim, &m->scanner);
    if (st == AS_OK)
        st = json_fields_walker_create(lim, &m->walker);
    if (st == AS_OK)
        st = pseudonym_create(config->pseudonym_key, config->pseudonym_key_len, &m->pseudonym);
    if (st == AS_OK && lim->jwt_cache_entries > 0)
        st = credential_cache_create((uint32_t)lim->jwt_cache_entries, &m->jwt_cache);
    if (st == AS_OK) {
        m->issued = calloc(ISSUED_SLOTS, sizeof *m->issued);
        if (!m->issued)
            st = AS_ERR_NOMEM;
    }
    if (st == AS_OK && config->db)
        st = store_load(config->db, m->inventory);
    if (st != AS_OK) {
        model_destroy(m);
        return st;
    }
    m->flush_interval_ns = (uint64_t)lim->db_flush_seconds * 1000000000ull;
    *out = m;
    return AS_OK;
}

void model_destroy(model *m) {
    if (!m)
        return;
    inventory_destroy(m->inventory);
    analytics_destroy(m->analytics);
    sensitive_worker_destroy(m->scanner);
    sensitive_db_destroy(m->sensitive_db);
    json_fields_walker_destroy(m->walker);
    pseudonym_destroy(m->pseudonym);
    credential_cache_destroy(m->jwt_cache);
    free(m->issued);
    free(m->redacted);
    json_writer_free(&m->json);
    if (atomic_load(&m->offer_pending))
        openapi_destroy(m->offered);
    openapi_destroy(m->owned_spec);
    pthread_mutex_destroy(&m->offer_lock);
    free(m);
}

void model_offer_spec(model *m, openapi_spec *spec) {
    pthread_mutex_lock(&m->offer_lock);
    if (m->offered_spec)
        openapi_destroy(m->offered); /* never taken: a newer reload replaces it */
    m->offered = spec;
    m->offered_spec = 1;
    atomic_store(&m->offer_pending, 1);
    pthread_mutex_unlock(&m->offer_lock);
}

void model_offer_settings(model *m, const limits *lim, const credential_config *credentials) {
    pthread_mutex_lock(&m->offer_lock);
    m->offered_lim = *lim;
    m->offered_credentials = *credentials;
    m->offered_settings = 1;
    atomic_store(&m->offer_pending, 1);
    pthread_mutex_unlock(&m->offer_lock);
}

void model_take_spec(model *m) {
    if (!atomic_load_explicit(&m->offer_pending, memory_order_acquire))
        return;
    pthread_mutex_lock(&m->offer_lock);
    openapi_spec *spec = m->offered;
    int has_spec = m->offered_spec, has_settings = m->offered_settings;
    if (has_settings) {
        analytics_set_thresholds(m->analytics, &m->offered_lim);
        m->credential_settings = m->offered_credentials;
        m->settings_swaps++;
    }
    m->offered = NULL;
    m->offered_spec = m->offered_settings = 0;
    atomic_store(&m->offer_pending, 0);
    pthread_mutex_unlock(&m->offer_lock);
    if (!has_spec)
        return;
    if (inventory_set_spec(m->inventory, spec != NULL, spec ? openapi_operation_count(spec) : 0) !=
        AS_OK) {
        openapi_destroy(spec);
        m->spec_swap_failed++;
        return;
    }
    openapi_destroy(m->owned_spec); /* the first spec is the caller's, never freed here */
    m->owned_spec = spec;
    m->config.spec = spec;
    m->spec_swaps++;
}

model_totals model_get_totals(const model *m) {
    return m->totals;
}

/* ---- events ------------------------------------------------------------------ */

/* Names of the bits set in mask, into items (capacity cap). */
static record_str_list names_of(uint32_t mask, const char *const *names, uint32_t count,
                                str_view *items, uint32_t cap) {
    record_str_list list = {items, 0};
    for (uint32_t i = 0; i < count && list.count < cap; i++)
        if (mask & (1u << i))
            items[list.count++] = (str_view){names[i], (uint32_t)strlen(names[i])};
    return list;
}

static str_view text(const char *s) {
    return (str_view){s, (uint32_t)strlen(s)};
}

void model_endpoint_view_fill(model_endpoint_view *v, const inventory_endpoint *ep,
                              uint64_t ts_ns) {
    endpoint_record *r = &v->record;
    memset(r, 0, sizeof *r);
    r->ts_ns = ts_ns;
    r->endpoint = (record_endpoint){text(ep->method), text(ep->host), text(ep->path)};
    r->status = (record_endpoint_status)ep->status;
    r->auth = names_of(ep->auth_kinds, auth_names, AUTH_KINDS, v->auth, AUTH_KINDS);
    if (ep->unauthenticated)
        v->auth[r->auth.count++] = text("none");
    record_str_list *lists[INVENTORY_LOCATIONS] = {
        &r->sensitive_data.request_body, &r->sensitive_data.request_headers,
        &r->sensitive_data.query, &r->sensitive_data.response_body};
    for (int i = 0; i < INVENTORY_LOCATIONS; i++)
        *lists[i] = names_of(ep->sensitive[i], type_names, TYPE_COUNT, v->sensitive[i], TYPE_COUNT);
    r->requests = ep->requests;
    uint32_t ncodes = 0;
    for (int i = 0; i < INVENTORY_STATUS_SLOTS && ep->status_codes[i]; i++) {
        /* insertion in ascending code order */
        uint32_t at = ncodes++;
        while (at > 0 && v->codes[at - 1].code > ep->status_codes[i]) {
            v->codes[at] = v->codes[at - 1];
            at--;
        }
        v->codes[at] = (record_status_count){ep->status_codes[i], ep->status_counts[i]};
    }
    r->status_codes = v->codes;
    r->status_code_count = ncodes;
    r->identities = inventory_endpoint_identities(ep);
    r->clients = inventory_endpoint_clients(ep);
    r->first_seen_ns = ep->first_seen_ns;
    r->last_seen_ns = ep->last_seen_ns;
    r->request_content_types = (record_str_list){v->request_types, 0};
    r->response_content_types = (record_str_list){v->response_types, 0};
    for (int i = 0; i < INVENTORY_CONTENT_TYPES; i++) {
        if (ep->request_types[i][0])
            v->request_types[r->request_content_types.count++] = text(ep->request_types[i]);
        if (ep->response_types[i][0])
            v->response_types[r->response_content_types.count++] = text(ep->response_types[i]);
    }
    for (uint32_t i = 0; i < ep->query_param_count; i++)
        v->parameters[i] = (record_parameter){text(ep->query_params[i]), text("query"), {NULL, 0}};
    r->parameters = ep->query_param_count ? v->parameters : NULL;
    r->parameter_count = ep->query_param_count;
    record_field_list *fields[INVENTORY_BODIES] = {&r->request_fields, &r->response_fields};
    for (int b = 0; b < INVENTORY_BODIES; b++) {
        uint32_t n = inventory_endpoint_field_count(ep, (inventory_body)b);
        n = n < INVENTORY_BODY_FIELDS_MAX ? n : INVENTORY_BODY_FIELDS_MAX;
        for (uint32_t i = 0; i < n; i++) {
            inventory_field f = inventory_endpoint_field(ep, (inventory_body)b, i);
            v->fields[b][i] = (record_field){text(f.path), f.types};
        }
        *fields[b] = (record_field_list){n ? v->fields[b] : NULL, n};
    }
}

static void write_endpoint(model *m, const inventory_endpoint *ep, uint64_t ts) {
    model_endpoint_view view;
    model_endpoint_view_fill(&view, ep, ts);
    sink_router_endpoint(m->config.router, &view.record);
    m->totals.endpoint_events++;
}

typedef struct finding_text {
    const char *severity;
    const char *owasp;
    const char *what;
} finding_text;

static finding_text finding_texts(inventory_finding_type type) {
    switch (type) {
    case INVENTORY_SHADOW_API:
        return (finding_text){"medium", "API9:2023", "is served but not declared in the spec"};
    case INVENTORY_ZOMBIE_API:
        return (finding_text){"medium", "API9:2023", "is deprecated in the spec but still called"};
    case INVENTORY_SENSITIVE_DATA_EXPOSURE:
        return (finding_text){"high", "API3:2023", "returns sensitive data"};
    case INVENTORY_TOKEN_IN_URL:
        return (finding_text){"medium", "API2:2023", "receives a credential in the URL"};
    case INVENTORY_UNAUTHENTICATED_ENDPOINT:
        break;
    }
    return (finding_text){"high", "API2:2023", "answers 2xx to requests without any credential"};
}

static void write_finding(model *m, const inventory_finding *f, uint64_t ts) {
    const inventory_endpoint *ep = inventory_endpoint_at(m->inventory, f->endpoint);
    if (!ep)
        return;
    finding_record r;
    memset(&r, 0, sizeof r);
    r.ts_ns = ts;
    char id[17];
    snprintf(id, sizeof id, "%016" PRIx64, f->id);
    r.id = text(id);
    r.type = text(inventory_finding_type_name(f->type));
    finding_text ft = finding_texts(f->type);
    r.severity = text(ft.severity);
    r.owasp = text(ft.owasp);
    r.first_seen_ns = f->first_seen_ns;
    r.last_seen_ns = f->last_seen_ns;
    r.count = f->count;
    r.has_endpoint = 1;
    r.endpoint = (record_endpoint){text(ep->method), text(ep->host), text(ep->path)};
    str_view types[TYPE_COUNT];
    if (f->type == INVENTORY_SENSITIVE_DATA_EXPOSURE)
        r.data_types = names_of(f->data_types, type_names, TYPE_COUNT, types, TYPE_COUNT);
    if (f->type == INVENTORY_TOKEN_IN_URL)
        r.parameter = text(f->parameter);

    char summary[1024];
    if (f->type == INVENTORY_SENSITIVE_DATA_EXPOSURE) {
        char list[256] = "";
        size_t len = 0;
        for (uint32_t i = 0; i < r.data_types.count; i++)
            len += (size_t)snprintf(list + len, len < sizeof list ? sizeof list - len : 0, "%s%s",
                                    i ? ", " : "", types[i].ptr);
        snprintf(summary, sizeof summary, "%s %s%s %s (%s) in %" PRIu64 " responses", ep->method,
                 ep->host, ep->path, ft.what, list, f->count);
    } else if (f->type == INVENTORY_TOKEN_IN_URL) {
        snprintf(summary, sizeof summary, "%s %s%s %s (query parameter %s, %" PRIu64 " requests)",
                 ep->method, ep->host, ep->path, ft.what, f->parameter, f->count);
    } else {
        snprintf(summary, sizeof summary, "%s %s%s %s (%" PRIu64 " requests)", ep->method, ep->host,
                 ep->path, ft.what, f->count);
    }
    r.summary = text(summary);

    uint32_t n = 0;
    r.evidence[n++] = (record_evidence){
        .key = "requests", .kind = RECORD_EVIDENCE_INT, .number = (int64_t)f->count};
    r.evidence[n++] = (record_evidence){
        .key = "endpoint_requests", .kind = RECORD_EVIDENCE_INT, .number = (int64_t)ep->requests};
    r.evidence[n++] = (record_evidence){.key = "distinct_callers",
                                        .kind = RECORD_EVIDENCE_INT,
                                        .number = (int64_t)inventory_endpoint_identities(ep)};
    if (f->type == INVENTORY_UNAUTHENTICATED_ENDPOINT)
        r.evidence[n++] = (record_evidence){.key = "unauthenticated_2xx_responses",
                                            .kind = RECORD_EVIDENCE_INT,
                                            .number = (int64_t)ep->unauthenticated_success};
    str_view masked_types[TYPE_COUNT], masked[TYPE_COUNT];
    uint32_t masked_count = 0;
    if (f->type == INVENTORY_SENSITIVE_DATA_EXPOSURE) {
        r.evidence[n++] = (record_evidence){
            .key = "data_types", .kind = RECORD_EVIDENCE_STRING_LIST, .list = r.data_types};
        for (uint32_t t = 0; t < TYPE_COUNT; t++) {
            if (!(f->data_types & SENSITIVE_BIT(t)) || !f->masked[t][0])
                continue;
            masked_types[masked_count] = text(type_names[t]);
            masked[masked_count++] = text(f->masked[t]);
        }
    }
    if (masked_count > 0)
        r.evidence[n++] = (record_evidence){.key = "masked_values",
                                            .kind = RECORD_EVIDENCE_STRING_MAP,
                                            .list = {masked, masked_count},
                                            .names = {masked_types, masked_count}};
    r.evidence_count = n;
    sink_router_finding(m->config.router, &r);
    m->totals.finding_events++;
}

typedef struct behaviour_text {
    const char *owasp;
    const char *what;
} behaviour_text;

static behaviour_text behaviour_texts(analytics_finding_type type) {
    switch (type) {
    case ANALYTICS_BOLA:
        return (behaviour_text){"API1:2023",
                                "reads objects of other identities far beyond its peers"};
    case ANALYTICS_ENUMERATION:
        return (behaviour_text){"API5:2023",
                                "probes many paths and IDs, mostly answered 401/403/404"};
    case ANALYTICS_CREDENTIAL_STUFFING:
        return (behaviour_text){"API2:2023",
                                "replays many usernames against a login endpoint, mostly failing"};
    case ANALYTICS_BRUTE_FORCE:
        return (behaviour_text){"API2:2023", "tries many passwords against one username"};
    case ANALYTICS_WEAK_JWT:
        return (behaviour_text){"API2:2023", "JWTs in use are weak"};
    case ANALYTICS_TRAFFIC_SPIKE:
        return (behaviour_text){"API4:2023", "receives far more requests than its learned level"};
    case ANALYTICS_ENDPOINT_SPRAY:
        return (behaviour_text){"API5:2023", "touches far more endpoints than it usually does"};
    case ANALYTICS_INJECTION_ATTEMPT:
        /* the 2023 list folds injection into security misconfiguration */
        return (behaviour_text){"API8:2023",
                                "sends injection payloads (SQL, XSS, command, path traversal)"};
    case ANALYTICS_SUSPICIOUS_USER_AGENT:
        return (behaviour_text){"API8:2023",
                                "uses a scanner or exploit user agent (nDPI flow risk)"};
    case ANALYTICS_CLEARTEXT_CREDENTIALS:
    case ANALYTICS_FINDING_TYPES:
        break;
    }
    return (behaviour_text){"API2:2023", "credentials travel over plain HTTP"};
}

/* Identities derived from a secret are written as pseudonyms (CONTRACT.md). */
static int identity_is_secret(analytics_identity_kind kind) {
    return kind == ANALYTICS_API_KEY || kind == ANALYTICS_BEARER_TOKEN ||
           kind == ANALYTICS_SESSION_COOKIE;
}

static void write_behaviour(model *m, const analytics_finding *f, uint64_t ts) {
    finding_record r;
    memset(&r, 0, sizeof r);
    r.ts_ns = ts;
    char id[17];
    snprintf(id, sizeof id, "%016" PRIx64, f->id);
    r.id = text(id);
    r.type = text(analytics_finding_type_name(f->type));
    behaviour_text bt = behaviour_texts(f->type);
    r.severity = text(f->severity);
    r.owasp = text(bt.owasp);
    r.first_seen_ns = f->first_seen_ns;
    r.last_seen_ns = f->last_seen_ns;
    r.count = f->count;
    char masked_id[PSEUDONYM_HEX_BYTES];
    if (f->identity_kind != ANALYTICS_ANONYMOUS) {
        r.identity_kind = text(analytics_identity_kind_name(f->identity_kind));
        r.identity_id = text(f->identity_id);
        if (identity_is_secret(f->identity_kind) && !m->config.raw_identities) {
            pseudonym_hex(m->pseudonym, f->identity_id, strlen(f->identity_id), masked_id);
            r.identity_id = text(masked_id);
        }
    } else if (f->client_ip.family &&
               (f->type == ANALYTICS_BOLA || f->type == ANALYTICS_ENUMERATION ||
                f->type == ANALYTICS_INJECTION_ATTEMPT ||
                f->type == ANALYTICS_SUSPICIOUS_USER_AGENT)) {
        r.identity_kind = text("client_ip");
    }
    char actor_ip[48] = "";
    if (f->client_ip.family) {
        r.client_ip = f->client_ip;
        ip_address_format(&f->client_ip, actor_ip, sizeof actor_ip);
        if (r.identity_kind.ptr && !r.identity_id.ptr)
            r.identity_id = text(actor_ip);
    }
    r.clients = f->client_count ? f->clients : NULL;
    r.client_count = f->client_count;
    record_endpoint endpoints[ANALYTICS_MAX_ENDPOINTS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->endpoint_count; i++) {
        const inventory_endpoint *ep =
            inventory_endpoint_at(m->inventory, (uint32_t)f->endpoints[i]);
        if (ep)
            endpoints[n++] = (record_endpoint){text(ep->method), text(ep->host), text(ep->path)};
    }
    r.endpoints = endpoints;
    r.endpoint_count = n;
    if ((f->type == ANALYTICS_CLEARTEXT_CREDENTIALS || f->type == ANALYTICS_TRAFFIC_SPIKE) &&
        n > 0) {
        r.has_endpoint = 1;
        r.endpoint = endpoints[0];
    }
    char summary[1024];
    /* the identity as written in the event: pseudonymised when a secret */
    const char *who = f->identity_kind != ANALYTICS_ANONYMOUS ? r.identity_id.ptr
                      : actor_ip[0]                           ? actor_ip
                                                              : "";
    if (who[0])
        snprintf(summary, sizeof summary, "%s %s %s (%" PRIu64 " requests, %u endpoints)",
                 analytics_identity_kind_name(f->identity_kind), who, bt.what, f->count, n);
    else
        snprintf(summary, sizeof summary, "%s (%" PRIu64 " requests, %u addresses, %u endpoints)",
                 bt.what, f->count, f->client_count, n);
    r.summary = text(summary);
    uint32_t k = 0;
    r.evidence[k++] = (record_evidence){
        .key = "requests", .kind = RECORD_EVIDENCE_INT, .number = (int64_t)f->count};
    for (int i = 0; i < ANALYTICS_MAX_EVIDENCE && f->evidence[i].key && k < RECORD_MAX_EVIDENCE - 1;
         i++)
        r.evidence[k++] = (record_evidence){
            .key = f->evidence[i].key, .kind = RECORD_EVIDENCE_INT, .number = f->evidence[i].value};
    str_view names[ANALYTICS_MAX_NAMES];
    for (uint32_t i = 0; i < f->name_count; i++)
        names[i] = text(f->names[i]);
    if (f->names_key)
        r.evidence[k++] = (record_evidence){.key = f->names_key,
                                            .kind = RECORD_EVIDENCE_STRING_LIST,
                                            .list = {names, f->name_count}};
    r.evidence_count = k;
    sink_router_finding(m->config.router, &r);
    m->totals.finding_events++;
}

static void drain_behaviour(model *m, uint64_t ts) {
    uint32_t index;
    while (analytics_next_event(m->analytics, &index)) {
        const analytics_finding *f = analytics_finding_at(m->analytics, index);
        if (f && m->config.router)
            write_behaviour(m, f, ts);
    }
}

static void drain(model *m, uint64_t ts) {
    inventory_event ev;
    while (inventory_next_event(m->inventory, &ev)) {
        if (!m->config.router)
            continue;
        if (ev.kind == INVENTORY_EVENT_ENDPOINT) {
            const inventory_endpoint *ep = inventory_endpoint_at(m->inventory, ev.index);
            if (ep)
                write_endpoint(m, ep, ts);
        } else {
            const inventory_finding *f = inventory_finding_at(m->inventory, ev.index);
            if (f)
                write_finding(m, f, ts);
        }
    }
}

/* Writes what changed to the store; the first failure is reported. */
static void flush(model *m, uint64_t ts) {
    m->last_flush_ns = ts;
    if (store_flush(m->config.db, m->inventory) == AS_OK)
        return;
    if (m->totals.db_errors++ == 0)
        log_error("%s", store_error(m->config.db));
}

/* ---- transactions ------------------------------------------------------------ */

/* Path and query of a request-target (origin or absolute form). Returns 0
 * for targets without a path (authority form, "*"). */
static int split_target(str_view uri, str_view *path, str_view *query) {
    const char *p = uri.ptr, *end = uri.ptr + uri.len;
    if (!p || p == end)
        return 0;
    if (*p != '/') {
        const char *scheme = memchr(p, ':', (size_t)(end - p));
        if (!scheme || end - scheme < 3 || scheme[1] != '/' || scheme[2] != '/')
            return 0;
        p = scheme + 3;
        while (p < end && *p != '/' && *p != '?')
            p++;
    }
    const char *q = p;
    while (q < end && *q != '?' && *q != '#')
        q++;
    *path = (str_view){p, (uint32_t)(q - p)};
    *query = (str_view){NULL, 0};
    if (q < end && *q == '?') {
        const char *qe = q + 1;
        while (qe < end && *qe != '#')
            qe++;
        *query = (str_view){q + 1, (uint32_t)(qe - q - 1)};
    }
    return 1;
}

/* The raw segments standing where the template has {...}; templates and
 * paths are aligned from the right, so a stripped spec base path is fine. */
static uint32_t path_objects(const char *template, str_view path, str_view *out, uint32_t cap) {
    const char *t_end = template + strlen(template);
    const char *p_end = path.ptr + path.len;
    uint32_t n = 0;
    while (t_end > template && p_end > path.ptr && n < cap) {
        while (t_end > template && t_end[-1] == '/')
            t_end--;
        while (p_end > path.ptr && p_end[-1] == '/')
            p_end--;
        const char *t = t_end, *p = p_end;
        while (t > template && t[-1] != '/')
            t--;
        while (p > path.ptr && p[-1] != '/')
            p--;
        if (t == t_end || p == p_end)
            break;
        if (*t == '{')
            out[n++] = (str_view){p, (uint32_t)(p_end - p)};
        t_end = t;
        p_end = p;
    }
    return n;
}

/* The identity a login response handed out, when a later request carries
 * it as an opaque token or session cookie. */
static issued_token *issued_slot(model *m, uint64_t fingerprint) {
    return &m->issued[hash_mix64(fingerprint) & (ISSUED_SLOTS - 1)];
}

static void remember_login(model *m, const login_facts *lf) {
    if (!lf->user.ptr || lf->user.len == 0)
        return;
    uint64_t fps[2] = {lf->returns_token && !lf->token_is_jwt ? lf->token_fingerprint : 0,
                       lf->sets_session_cookie ? lf->cookie_fingerprint : 0};
    for (int i = 0; i < 2; i++) {
        if (!fps[i])
            continue;
        issued_token *slot = issued_slot(m, fps[i]);
        slot->fingerprint = fps[i];
        size_t n = lf->user.len < sizeof slot->user - 1 ? lf->user.len : sizeof slot->user - 1;
        memcpy(slot->user, lf->user.ptr, n);
        slot->user[n] = 0;
    }
}

static analytics_identity_kind analytics_kind(identity_kind kind) {
    switch (kind) {
    case IDENTITY_JWT_SUB:
        return ANALYTICS_JWT_SUB;
    case IDENTITY_API_KEY:
        return ANALYTICS_API_KEY;
    case IDENTITY_BEARER_TOKEN:
        return ANALYTICS_BEARER_TOKEN;
    case IDENTITY_BASIC_USER:
        return ANALYTICS_BASIC_USER;
    case IDENTITY_SESSION_COOKIE:
        return ANALYTICS_SESSION_COOKIE;
    case IDENTITY_CLIENT_CERT:
        return ANALYTICS_CLIENT_CERT;
    case IDENTITY_CLIENT_IP:
    case IDENTITY_KIND_COUNT:
        break;
    }
    return ANALYTICS_ANONYMOUS;
}

/* Learns the JSON body fields of a 2xx exchange on its endpoint, when the
 * inventory samples the body (field names and types only). */
static void learn_fields(model *m, const http_transaction *tx, int endpoint) {
    if (endpoint < 0 || tx->status < 200 || tx->status >= 300)
        return;
    const http_message *bodies[INVENTORY_BODIES] = {&tx->request, &tx->response};
    for (int b = 0; b < INVENTORY_BODIES; b++) {
        if (!bodies[b]->body)
            continue;
        const uint8_t *p = bodies[b]->body, *end = p + bodies[b]->body_len;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
            p++;
        if (p == end || (*p != '{' && *p != '['))
            continue;
        if (!inventory_wants_fields(m->inventory, (uint32_t)endpoint, (inventory_body)b))
            continue;
        json_fields_status st = json_fields_walker_run(m->walker, bodies[b]->body,
                                                       bodies[b]->body_len, NULL, NULL, NULL);
        if (st != JSON_FIELDS_INVALID)
            inventory_add_fields(m->inventory, (uint32_t)endpoint, (inventory_body)b, m->walker);
    }
}

/* The sensitive scan read all of the body and met no credential-like
 * name or JWT: the login reader need not walk it. */
static uint8_t body_plain(const sensitive_found *found) {
    return (found->hints & SENSITIVE_HINT_SCANNED) && !(found->hints & SENSITIVE_HINT_CREDENTIAL);
}

/* The request-target written into the transaction event: the secrets it
 * carries redacted, unless identities are written raw. The buffer only
 * grows, to at most credential_redact_bound(http_head_bytes). */
static str_view shown_target(model *m, str_view target) {
    if (m->config.raw_identities || !target.ptr || target.len == 0)
        return target;
    size_t need = credential_redact_bound(target.len);
    if (need > m->redacted_cap) {
        char *grown = realloc(m->redacted, need);
        if (!grown) { /* no room to redact: leave the target out */
            m->anomalies.count[ANOMALY_CREDENTIAL_REDACT_NOMEM]++;
            return (str_view){"REDACTED", 8};
        }
        m->redacted = grown;
        m->redacted_cap = need;
    }
    size_t n = credential_redact_target(&m->credential_settings, target, m->redacted);
    return n ? (str_view){m->redacted, (uint32_t)n} : target;
}

/* The target, endpoint and identity written into the transaction event;
 * b NULL: a transaction the later stages did not analyse (target only). */
static const transaction_context *set_context(model *m, const http_transaction *tx,
                                              const inventory_endpoint *ep,
                                              const analytics_observation *b) {
    transaction_context *c = &m->context;
    memset(c, 0, sizeof *c);
    c->analysed = b != NULL;
    if (ep) {
        m->context_endpoint = (record_endpoint){text(ep->method), text(ep->host), text(ep->path)};
        c->endpoint = &m->context_endpoint;
    }
    if (!sink_router_wants_transactions(m->config.router))
        return c;
    c->uri = shown_target(m, tx->uri);
    if (!b)
        return c;
    c->identity_kind = text(analytics_identity_kind_name(b->identity_kind));
    if (b->identity_kind == ANALYTICS_ANONYMOUS) {
        ip_address_format(&b->client_ip, m->context_identity, sizeof m->context_identity);
    } else if (identity_is_secret(b->identity_kind) && !m->config.raw_identities) {
        pseudonym_hex(m->pseudonym, b->identity_id.ptr, b->identity_id.len, m->context_identity);
    } else {
        size_t n = b->identity_id.len < sizeof m->context_identity - 1
                       ? b->identity_id.len
                       : sizeof m->context_identity - 1;
        memcpy(m->context_identity, b->identity_id.ptr, n);
        m->context_identity[n] = 0;
    }
    c->identity_id = text(m->context_identity);
    return c;
}

/* A live sensor writes its whole inventory again every
 * snapshot_interval_seconds of packet time, so that consumers which start
 * late or lost events catch up (CONTRACT.md: "live: periodically"). */
static void periodic_snapshot(model *m, uint64_t ts) {
    if (!m->config.snapshot_interval_seconds || ts == 0)
        return;
    uint64_t interval = (uint64_t)m->config.snapshot_interval_seconds * 1000000000u;
    if (m->next_snapshot_ns == 0) {
        m->next_snapshot_ns = ts + interval;
    } else if (ts >= m->next_snapshot_ns) {
        model_snapshot(m, ts);
        m->next_snapshot_ns = ts + interval;
    }
}

int model_analyses(const http_transaction *tx) {
    str_view path, query;
    return str_view_present(tx->method) && split_target(tx->uri, &path, &query);
}

as_status model_scanner_create(const model *m, sensitive_worker **out) {
    return sensitive_worker_create(m->sensitive_db, m->config.lim, out);
}

void model_add_scan_stats(model *m, const sensitive_stats *stats) {
    sensitive_stats_add(&m->scanned_elsewhere, stats);
}

const transaction_context *model_transaction(model *m, const http_transaction *tx) {
    return model_transaction_scanned(m, tx, NULL);
}

const transaction_context *model_transaction_scanned(model *m, const http_transaction *tx,
                                                     const sensitive_found *found) {
    model_take_spec(m);
    periodic_snapshot(m, tx->request.present ? tx->request.first_ts_ns : tx->response.first_ts_ns);
    m->totals.transactions++;
    inventory_observation o;
    memset(&o, 0, sizeof o);
    if (!str_view_present(tx->method) || !split_target(tx->uri, &o.path, &o.query))
        return set_context(m, tx, NULL, NULL);
    o.ts_ns = tx->request.first_ts_ns;
    o.method = tx->method;
    char server[64];
    if (str_view_present(tx->host) && tx->host.len > 0) {
        o.host = tx->host;
    } else {
        char ip[48];
        ip_address_format(&tx->server_ip, ip, sizeof ip);
        int n = snprintf(server, sizeof server, "%s:%u", ip, tx->server_port);
        o.host = (str_view){server, n > 0 ? (uint32_t)n : 0};
    }
    o.status = tx->status;
    o.request_content_type = tx->request.content_type;
    o.response_content_type = tx->response.content_type;

    /* credentials, identity, login facts, sensitive data */
    credential_set *creds = &m->credentials;
    credential_extract(tx, &m->credential_settings, m->jwt_cache, creds, &m->anomalies);
    if (!found) {
        sensitive_scan_transaction(m->scanner, tx, m->found, &m->anomalies);
        found = m->found;
    }
    login_facts *lf = &m->login;
    login_hints hints = {body_plain(&found[SENSITIVE_IN_REQUEST_BODY]),
                         body_plain(&found[SENSITIVE_IN_RESPONSE_BODY])};
    login_extract(tx, &m->credential_settings, &hints, lf, &m->anomalies);
    const credential_identity *who = &creds->identity;
    const credential *jwt_cred = NULL;
    int basic = 0;
    for (uint32_t i = 0; i < creds->count; i++) {
        const credential *c = &creds->items[i];
        o.auth_kinds |= 1u << c->kind;
        basic |= c->kind == CREDENTIAL_BASIC;
        if (c->location == CREDENTIAL_IN_QUERY &&
            o.query_credential_count < INVENTORY_MAX_QUERY_CREDENTIALS)
            o.query_credentials[o.query_credential_count++] = c->name;
        if (!jwt_cred && c->jwt >= 0)
            jwt_cred = c;
    }
    o.identity = who->kind == IDENTITY_CLIENT_IP ? 0 : who->fingerprint;
    o.client = hash_bytes(HASH_SEED, &who->client_ip, sizeof who->client_ip);
    for (int i = 0; i < INVENTORY_LOCATIONS; i++)
        o.sensitive[i] = found[i].types;
    o.response_masked =
        (const char(*)[SENSITIVE_SAMPLE_MAX])found[SENSITIVE_IN_RESPONSE_BODY].sample;
    int success = tx->status >= 200 && tx->status < 300;
    o.issues_token = success && (lf->returns_token || lf->sets_session_cookie);
    if (o.issues_token)
        remember_login(m, lf);

    openapi_hit hit;
    inventory_spec_match match;
    char spec_path[INVENTORY_PATH_BYTES];
    if (m->config.spec && openapi_match(m->config.spec, o.method, tx->uri, &hit)) {
        /* the endpoint is named by the spec: its server base path + template */
        int n = snprintf(spec_path, sizeof spec_path, "%.*s%.*s", (int)hit.base_path.len,
                         hit.base_path.ptr ? hit.base_path.ptr : "", (int)hit.op->path.len,
                         hit.op->path.ptr);
        match.index = hit.op->index;
        match.path = (str_view){spec_path, n < 0                           ? 0
                                           : (size_t)n >= sizeof spec_path ? sizeof spec_path - 1
                                                                           : (uint32_t)n};
        match.deprecated = hit.op->deprecated;
        match.requires_auth = hit.op->requires_auth;
        o.spec = &match;
    }
    int endpoint = inventory_observe(m->inventory, &o);
    learn_fields(m, tx, endpoint);
    drain(m, o.ts_ns);

    analytics_observation b;
    memset(&b, 0, sizeof b);
    b.ts_ns = o.ts_ns;
    b.identity_kind = analytics_kind(who->kind);
    b.identity = o.identity;
    b.identity_id = who->id;
    if (who->kind == IDENTITY_BEARER_TOKEN || who->kind == IDENTITY_SESSION_COOKIE) {
        const credential *c = who->credential >= 0 ? &creds->items[who->credential] : NULL;
        issued_token *slot = c ? issued_slot(m, c->fingerprint) : NULL;
        if (slot && slot->fingerprint == c->fingerprint) {
            /* a token from a login: the user who logged in is the identity */
            b.identity_kind = ANALYTICS_BASIC_USER;
            b.identity_id = (str_view){slot->user, (uint32_t)strlen(slot->user)};
            b.identity = hash_bytes_nocase(HASH_SEED, slot->user, strlen(slot->user));
        }
    }
    b.client_ip = who->client_ip;
    b.endpoint = endpoint;
    b.path_key =
        hash_bytes(hash_bytes(HASH_SEED, o.method.ptr, o.method.len), o.path.ptr, o.path.len);
    const inventory_endpoint *ep =
        endpoint >= 0 ? inventory_endpoint_at(m->inventory, (uint32_t)endpoint) : NULL;
    if (ep) {
        b.endpoint_key =
            hash_bytes(hash_bytes(hash_bytes(HASH_SEED, ep->method, strlen(ep->method)), ep->host,
                                  strlen(ep->host)),
                       ep->path, strlen(ep->path));
        b.object_count = path_objects(ep->path, o.path, b.objects, ANALYTICS_MAX_OBJECTS);
        b.public_endpoint = (o.spec && !o.spec->requires_auth) || ep->anonymous_success > 0;
    } else {
        const char *t = inventory_last_template(m->inventory);
        b.endpoint_key =
            hash_bytes(hash_bytes(HASH_SEED, o.method.ptr, o.method.len), t, strlen(t));
    }
    b.status = tx->status;
    b.login_attempt = lf->user.ptr && lf->user.len > 0 && lf->has_password;
    b.username = lf->user;
    b.login_success = success && b.login_attempt && (lf->returns_token || lf->sets_session_cookie);
    b.cleartext = tx->tls == NULL;
    b.basic_auth = basic;
    /* nDPI judged the connection's first request (user agent, exploits);
     * the URL check runs on each request */
    b.risks = (tx->risks & ~(uint32_t)CLASSIFY_RISK_INJECTION) |
              (tx->uri.ptr ? classify_url_risks(tx->uri.ptr, tx->uri.len) : 0);
    if (b.risks)
        b.user_agent = http_message_header(&tx->request, "User-Agent");
    if (jwt_cred) {
        const jwt_claims *claims = credential_jwt(creds, jwt_cred);
        b.jwt.present = claims != NULL;
        if (claims) {
            b.jwt.alg = (str_view){claims->alg.text, claims->alg.len};
            b.jwt.has_exp = claims->has_exp;
            b.jwt.exp = claims->exp;
            b.jwt.iat = claims->has_iat ? claims->iat : 0;
            b.jwt.token = jwt_cred->value;
            uint64_t signer = hash_bytes(HASH_SEED, claims->alg.text, claims->alg.len);
            signer = hash_bytes(signer ^ 0x1, claims->iss.text, claims->iss.len);
            b.jwt.signer = hash_bytes(signer ^ 0x2, claims->kid.text, claims->kid.len);
        }
    }
    analytics_observe(m->analytics, &b);
    drain_behaviour(m, o.ts_ns);
    set_context(m, tx, ep, &b);
    if (m->config.db) {
        if (m->last_flush_ns == 0)
            m->last_flush_ns = o.ts_ns;
        else if (o.ts_ns >= m->last_flush_ns + m->flush_interval_ns)
            flush(m, o.ts_ns);
    }
    return &m->context;
}

/* Spec operations no request matched: {"event":"unseen_operation",
 * "operation":{"method","path","operation_id","deprecated","line"}}. */
static void write_unseen(model *m, uint64_t ts) {
    if (!m->config.spec)
        return;
    for (uint32_t i = 0; i < openapi_operation_count(m->config.spec); i++) {
        if (inventory_spec_seen(m->inventory, i))
            continue;
        const openapi_operation *op = openapi_operation_at(m->config.spec, i);
        json_writer_reset(&m->json);
        event_begin(&m->json, "unseen_operation", ts, &m->config.sensor);
        json_key(&m->json, "operation");
        json_object_begin(&m->json);
        json_key(&m->json, "method");
        json_cstring(&m->json, openapi_method_name(op->method));
        json_key(&m->json, "path");
        json_string(&m->json, op->path.ptr, op->path.len);
        json_key(&m->json, "operation_id");
        if (op->operation_id.ptr)
            json_string(&m->json, op->operation_id.ptr, op->operation_id.len);
        else
            json_null(&m->json);
        json_key(&m->json, "deprecated");
        json_bool(&m->json, op->deprecated);
        json_key(&m->json, "line");
        json_uint(&m->json, op->line);
        json_object_end(&m->json);
        json_object_end(&m->json);
        char key[512];
        int key_len = snprintf(key, sizeof key, "%s %.*s", openapi_method_name(op->method),
                               (int)op->path.len, op->path.ptr);
        sink_router_event(m->config.router, SINK_ENDPOINTS, key,
                          key_len < 0                    ? 0
                          : (size_t)key_len < sizeof key ? (size_t)key_len
                                                         : sizeof key - 1,
                          &m->json);
    }
}

void model_snapshot(model *m, uint64_t ts_ns) {
    model_take_spec(m);
    drain(m, ts_ns);
    drain_behaviour(m, ts_ns);
    if (m->config.db)
        flush(m, ts_ns);
    if (!m->config.router)
        return;
    for (uint32_t i = 0; i < inventory_endpoint_count(m->inventory); i++) {
        const inventory_endpoint *ep = inventory_endpoint_at(m->inventory, i);
        if (ep && ep->listed)
            write_endpoint(m, ep, ts_ns);
    }
    for (uint32_t i = 0; i < inventory_finding_count(m->inventory); i++) {
        const inventory_finding *f = inventory_finding_at(m->inventory, i);
        if (f)
            write_finding(m, f, ts_ns);
    }
    for (uint32_t i = 0; i < analytics_finding_count(m->analytics); i++)
        write_behaviour(m, analytics_finding_at(m->analytics, i), ts_ns);
    write_unseen(m, ts_ns);
}

const anomaly_counters *model_anomalies(const model *m) {
    return &m->anomalies;
}

void model_write_summary(const model *m, FILE *out) {
    inventory_stats st = inventory_get_stats(m->inventory);
    fprintf(out,
            "  inventory: %llu endpoints listed (%llu records), %llu findings; "
            "%llu noise requests not listed; limit hits: endpoints %llu, findings %llu, "
            "services %llu, template positions %llu\n",
            (unsigned long long)st.listed, (unsigned long long)st.endpoints,
            (unsigned long long)st.findings, (unsigned long long)st.noise,
            (unsigned long long)st.endpoints_full, (unsigned long long)st.findings_full,
            (unsigned long long)st.services_full, (unsigned long long)st.positions_full);
    fprintf(out,
            "  inventory body fields: %llu JSON bodies sampled; %llu field paths dropped "
            "(inventory_body_fields, inventory_field_path_bytes)\n",
            (unsigned long long)st.bodies_sampled, (unsigned long long)st.fields_dropped);
    sensitive_stats scan = sensitive_worker_get_stats(m->scanner);
    sensitive_stats_add(&scan, &m->scanned_elsewhere);
    fprintf(out,
            "  sensitive data: %llu message parts, %.1f MB scanned, %llu cut "
            "(sensitive_scan_bytes); %llu JSON bodies walked for field names\n",
            (unsigned long long)scan.parts, (double)scan.bytes / 1e6,
            (unsigned long long)scan.truncated, (unsigned long long)scan.json_walks);
    analytics_stats as = analytics_get_stats(m->analytics);
    fprintf(out,
            "  analytics: %llu transactions, %llu behavioural findings; evicted: actors %llu, "
            "objects %llu; findings refused (analytics_max_findings) %llu\n",
            (unsigned long long)as.observed, (unsigned long long)as.findings,
            (unsigned long long)as.actors_evicted, (unsigned long long)as.objects_evicted,
            (unsigned long long)as.findings_full);
    if (m->spec_swaps || m->spec_swap_failed) {
        const openapi_spec *spec = m->config.spec;
        fprintf(out,
                "  spec reloads: %llu taken, %llu dropped (no memory); in force: %u operations "
                "(%u deprecated)\n",
                (unsigned long long)m->spec_swaps, (unsigned long long)m->spec_swap_failed,
                spec ? openapi_operation_count(spec) : 0,
                spec ? openapi_deprecated_count(spec) : 0);
    }
    if (m->settings_swaps)
        fprintf(out, "  detector threshold and credential setting reloads: %llu\n",
                (unsigned long long)m->settings_swaps);
    if (m->config.db) {
        store_stats ss = store_get_stats(m->config.db);
        fprintf(out,
                "  db: loaded %llu endpoints, %llu findings (%llu refused: limits); "
                "%llu writes, %llu rows written, %llu removed; %llu failed\n",
                (unsigned long long)ss.endpoints_loaded, (unsigned long long)ss.findings_loaded,
                (unsigned long long)ss.refused, (unsigned long long)ss.flushes,
                (unsigned long long)ss.rows_written, (unsigned long long)ss.rows_deleted,
                (unsigned long long)m->totals.db_errors);
    }
}
