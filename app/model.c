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
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "export/endpoint_event.h"
#include "export/finding_event.h"
#include "inventory/inventory.h"

/* CONTRACT.md auth kinds, by inventory auth bit. */
static const char *const auth_names[] = {
    "bearer_jwt", "bearer_token", "api_key_header", "query_credential", "basic", "cookie", "mtls"};
#define AUTH_KINDS (sizeof auth_names / sizeof auth_names[0])

/* CONTRACT.md sensitive data types, by inventory type bit. */
static const char *const type_names[] = {"email",   "credit_card",  "ssn",           "iban",
                                         "phone",   "password",     "password_hash", "jwt",
                                         "api_key", "access_token", "private_key"};
#define TYPE_COUNT (sizeof type_names / sizeof type_names[0])

struct model {
    model_config config;
    inventory *inventory;
    json_writer json;
    model_totals totals;
    uint64_t flush_interval_ns; /* db_flush_seconds */
    uint64_t last_flush_ns;     /* packet time of the last store flush; 0 = none yet */
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
        fprintf(stderr, "apisensor: %s\n", err);
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
    };
    as_status st = inventory_create(&ic, &m->inventory);
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
    json_writer_free(&m->json);
    free(m);
}

model_totals model_get_totals(const model *m) {
    return m->totals;
}

/* ---- events ------------------------------------------------------------------ */

static void write_event(model *m) {
    json_newline(&m->json);
    if (!json_writer_ok(&m->json) ||
        fwrite(m->json.buf, 1, m->json.len, m->config.events) != m->json.len)
        m->totals.output_errors++;
}

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
}

static void write_endpoint(model *m, const inventory_endpoint *ep, uint64_t ts) {
    model_endpoint_view view;
    model_endpoint_view_fill(&view, ep, ts);
    json_writer_reset(&m->json);
    endpoint_event_write(&m->json, &m->config.sensor, &view.record);
    write_event(m);
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

    char summary[512];
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
    if (f->type == INVENTORY_SENSITIVE_DATA_EXPOSURE)
        r.evidence[n++] = (record_evidence){
            .key = "data_types", .kind = RECORD_EVIDENCE_STRING_LIST, .list = r.data_types};
    r.evidence_count = n;
    json_writer_reset(&m->json);
    finding_event_write(&m->json, &m->config.sensor, &r);
    write_event(m);
    m->totals.finding_events++;
}

static void drain(model *m, uint64_t ts) {
    inventory_event ev;
    while (inventory_next_event(m->inventory, &ev)) {
        if (!m->config.events)
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
        fprintf(stderr, "apisensor: %s\n", store_error(m->config.db));
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

void model_transaction(model *m, const http_transaction *tx) {
    m->totals.transactions++;
    inventory_observation o;
    memset(&o, 0, sizeof o);
    if (!str_view_present(tx->method) || !split_target(tx->uri, &o.path, &o.query))
        return;
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
    o.client = hash_bytes(HASH_SEED, &tx->client_ip, sizeof tx->client_ip);
    o.request_content_type = tx->request.content_type;
    o.response_content_type = tx->response.content_type;
    inventory_observe(m->inventory, &o);
    drain(m, o.ts_ns);
    if (m->config.db) {
        if (m->last_flush_ns == 0)
            m->last_flush_ns = o.ts_ns;
        else if (o.ts_ns >= m->last_flush_ns + m->flush_interval_ns)
            flush(m, o.ts_ns);
    }
}

void model_snapshot(model *m, uint64_t ts_ns) {
    drain(m, ts_ns);
    if (m->config.db)
        flush(m, ts_ns);
    if (!m->config.events)
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
}

void model_write_summary(const model *m, FILE *out) {
    inventory_stats st = inventory_get_stats(m->inventory);
    fprintf(out,
            "  inventory: %llu endpoints listed (%llu records), %llu findings; "
            "%llu noise requests not listed; limit hits: endpoints %llu, findings %llu\n",
            (unsigned long long)st.listed, (unsigned long long)st.endpoints,
            (unsigned long long)st.findings, (unsigned long long)st.noise,
            (unsigned long long)st.endpoints_full, (unsigned long long)st.findings_full);
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
