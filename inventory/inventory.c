/*
 * The endpoint table, its spec diff and the posture findings (see
 * inventory.h for the rules).
 *
 * Records live in preallocated arrays (endpoints, findings, services) and are
 * found through open-addressing maps from a 64-bit key to an index. Indexes
 * are stable: a record folded into another one (when the template learner
 * turns a position into a parameter) is marked dead and never reused, so an
 * index handed out in an event stays meaningful. Changes are queued in a
 * ring as large as both tables, with a flag per record so a record is queued
 * at most once: the ring cannot overflow. A second flag per record says it
 * changed since the store last wrote it (inventory/store.c).
 *
 * Body fields: each endpoint side owns at most one inventory_fields block,
 * allocated whole (body_fields slots of a type byte and a path of
 * field_path_bytes) at its first field and freed with the inventory or when
 * the record is folded into another one.
 */
#include "inventory/inventory.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "inventory/template.h"

/* ---- a map from a non-zero 64-bit key to an index -------------------------- */

typedef struct index_map {
    uint64_t *keys; /* 0 = free */
    uint32_t *values;
    uint32_t mask;
} index_map;

static int map_init(index_map *m, uint32_t max_entries) {
    uint32_t slots = 16;
    while (slots < max_entries + max_entries / 2 + 1)
        slots <<= 1;
    m->keys = calloc(slots, sizeof *m->keys);
    m->values = calloc(slots, sizeof *m->values);
    m->mask = slots - 1;
    return m->keys && m->values;
}

static void map_free(index_map *m) {
    free(m->keys);
    free(m->values);
}

static uint32_t map_get(const index_map *m, uint64_t key) {
    for (uint32_t i = (uint32_t)key & m->mask;; i = (i + 1) & m->mask) {
        if (m->keys[i] == key)
            return m->values[i];
        if (m->keys[i] == 0)
            return UINT32_MAX;
    }
}

/* The caller keeps the entry count below the table's max_entries. */
static void map_put(index_map *m, uint64_t key, uint32_t value) {
    uint32_t i = (uint32_t)key & m->mask;
    while (m->keys[i] != 0 && m->keys[i] != key)
        i = (i + 1) & m->mask;
    m->keys[i] = key;
    m->values[i] = value;
}

/* Removal with backward shift, so lookups never need tombstones. */
static void map_remove(index_map *m, uint64_t key) {
    uint32_t i = (uint32_t)key & m->mask;
    while (m->keys[i] != key) {
        if (m->keys[i] == 0)
            return;
        i = (i + 1) & m->mask;
    }
    for (uint32_t j = (i + 1) & m->mask; m->keys[j] != 0; j = (j + 1) & m->mask) {
        uint32_t home = (uint32_t)m->keys[j] & m->mask;
        /* move j into the hole at i when its home is not in (i, j] */
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->keys[i] = m->keys[j];
            m->values[i] = m->values[j];
            i = j;
        }
    }
    m->keys[i] = 0;
}

static uint64_t nonzero(uint64_t h) {
    return h ? h : 1;
}

/* ---- the inventory --------------------------------------------------------- */

struct inventory {
    inventory_config config;
    template_learner *learner;

    inventory_endpoint *endpoints;
    uint64_t *endpoint_keys;  /* 0 = dead (merged away) */
    uint64_t *endpoint_scope; /* hash of host, prefix, method */
    uint8_t *endpoint_queued;
    uint8_t *endpoint_dirty;
    uint8_t *endpoint_respec; /* 1 = classify again against the spec at the next observation */
    uint32_t endpoint_count;
    index_map endpoint_map;

    inventory_finding *findings;
    uint8_t *finding_queued;
    uint8_t *finding_dead;
    uint8_t *finding_dirty;
    uint32_t finding_count;
    index_map finding_map;

    inventory_service *services;
    uint8_t *service_dirty;
    uint32_t service_count;
    index_map service_map;

    inventory_event *ring;
    uint32_t ring_size, ring_head, ring_len;

    uint8_t *spec_seen;
    inventory_stats stats;
    char last_template[INVENTORY_PATH_BYTES];
};

const char *inventory_status_name(inventory_status status) {
    switch (status) {
    case INVENTORY_DECLARED:
        return "declared";
    case INVENTORY_SHADOW:
        return "shadow";
    case INVENTORY_ZOMBIE:
        return "zombie";
    case INVENTORY_UNKNOWN:
        break;
    }
    return "unknown";
}

const char *inventory_finding_type_name(inventory_finding_type type) {
    switch (type) {
    case INVENTORY_SHADOW_API:
        return "shadow_api";
    case INVENTORY_ZOMBIE_API:
        return "zombie_api";
    case INVENTORY_SENSITIVE_DATA_EXPOSURE:
        return "sensitive_data_exposure";
    case INVENTORY_TOKEN_IN_URL:
        return "token_in_url";
    case INVENTORY_UNAUTHENTICATED_ENDPOINT:
        break;
    }
    return "unauthenticated_endpoint";
}

as_status inventory_create(const inventory_config *config, inventory **out) {
    *out = NULL;
    if (config->max_endpoints == 0 || config->max_findings == 0 || config->max_services == 0 ||
        config->max_endpoints > (1u << 24) || config->max_findings > (1u << 24) ||
        config->max_services > (1u << 24) || config->body_fields > INVENTORY_BODY_FIELDS_MAX ||
        (config->body_fields > 0 &&
         (config->field_path_bytes < 2 || config->field_path_bytes > 65536 ||
          config->schema_sample_every == 0)))
        return AS_ERR_ARG;
    inventory *inv = calloc(1, sizeof *inv);
    if (!inv)
        return AS_ERR_NOMEM;
    inv->config = *config;
    as_status st =
        template_learner_create(config->learn_positions, config->param_cardinality, &inv->learner);
    if (st != AS_OK) {
        free(inv);
        return st;
    }
    uint32_t ne = config->max_endpoints, nf = config->max_findings;
    inv->endpoints = calloc(ne, sizeof *inv->endpoints);
    inv->endpoint_keys = calloc(ne, sizeof *inv->endpoint_keys);
    inv->endpoint_scope = calloc(ne, sizeof *inv->endpoint_scope);
    inv->endpoint_queued = calloc(ne, 1);
    inv->endpoint_dirty = calloc(ne, 1);
    inv->endpoint_respec = calloc(ne, 1);
    inv->findings = calloc(nf, sizeof *inv->findings);
    inv->finding_queued = calloc(nf, 1);
    inv->finding_dead = calloc(nf, 1);
    inv->finding_dirty = calloc(nf, 1);
    inv->services = calloc(config->max_services, sizeof *inv->services);
    inv->service_dirty = calloc(config->max_services, 1);
    inv->ring_size = ne + nf;
    inv->ring = calloc(inv->ring_size, sizeof *inv->ring);
    inv->spec_seen = calloc(config->spec_operations + 1, 1);
    int ok = map_init(&inv->endpoint_map, ne) & map_init(&inv->finding_map, nf) &
             map_init(&inv->service_map, config->max_services);
    if (!ok || !inv->endpoints || !inv->endpoint_keys || !inv->endpoint_scope ||
        !inv->endpoint_queued || !inv->endpoint_dirty || !inv->endpoint_respec || !inv->findings ||
        !inv->finding_queued || !inv->finding_dead || !inv->finding_dirty || !inv->services ||
        !inv->service_dirty || !inv->ring || !inv->spec_seen) {
        inventory_destroy(inv);
        return AS_ERR_NOMEM;
    }
    *out = inv;
    return AS_OK;
}

void inventory_destroy(inventory *inv) {
    if (!inv)
        return;
    for (uint32_t i = 0; inv->endpoints && i < inv->endpoint_count; i++)
        for (int b = 0; b < INVENTORY_BODIES; b++)
            free(inv->endpoints[i].fields[b]);
    template_learner_destroy(inv->learner);
    free(inv->endpoints);
    free(inv->endpoint_keys);
    free(inv->endpoint_scope);
    free(inv->endpoint_queued);
    free(inv->endpoint_dirty);
    free(inv->endpoint_respec);
    map_free(&inv->endpoint_map);
    free(inv->findings);
    free(inv->finding_queued);
    free(inv->finding_dead);
    free(inv->finding_dirty);
    map_free(&inv->finding_map);
    free(inv->services);
    free(inv->service_dirty);
    map_free(&inv->service_map);
    free(inv->ring);
    free(inv->spec_seen);
    free(inv);
}

/* ---- small helpers --------------------------------------------------------- */

static void copy_text(char *dst, size_t cap, const char *src, size_t len) {
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = 0;
}

static void copy_lower(char *dst, size_t cap, const char *src, size_t len) {
    copy_text(dst, cap, src, len);
    for (char *p = dst; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
}

static int is_success(uint16_t status) {
    return status >= 200 && status < 400;
}

static void sketch_add(uint8_t *registers, uint64_t value) {
    uint64_t h = hash_mix64(value);
    uint32_t index = (uint32_t)(h >> 56);
    uint64_t rest = h << 8;
    uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : 57;
    if (registers[index] < rank)
        registers[index] = rank;
}

/* HyperLogLog estimate with linear counting for small cardinalities. */
static uint64_t sketch_estimate(const uint8_t *registers) {
    const double m = INVENTORY_SKETCH_REGISTERS;
    double sum = 0;
    int zeros = 0;
    for (int i = 0; i < INVENTORY_SKETCH_REGISTERS; i++) {
        sum += ldexp(1.0, -registers[i]);
        zeros += registers[i] == 0;
    }
    double estimate = (0.7213 / (1 + 1.079 / m)) * m * m / sum;
    if (estimate <= 2.5 * m && zeros > 0)
        estimate = m * log(m / zeros);
    return (uint64_t)(estimate + 0.5);
}

uint64_t inventory_endpoint_identities(const inventory_endpoint *endpoint) {
    return sketch_estimate(endpoint->identity_sketch);
}

uint64_t inventory_endpoint_clients(const inventory_endpoint *endpoint) {
    return sketch_estimate(endpoint->client_sketch);
}

static void queue(inventory *inv, inventory_event_kind kind, uint32_t index) {
    uint8_t *flag = kind == INVENTORY_EVENT_ENDPOINT ? &inv->endpoint_queued[index]
                                                     : &inv->finding_queued[index];
    if (*flag)
        return;
    *flag = 1;
    uint32_t at = (inv->ring_head + inv->ring_len) % inv->ring_size;
    inv->ring[at] = (inventory_event){kind, index};
    inv->ring_len++;
}

int inventory_next_event(inventory *inv, inventory_event *event) {
    while (inv->ring_len > 0) {
        *event = inv->ring[inv->ring_head];
        inv->ring_head = (inv->ring_head + 1) % inv->ring_size;
        inv->ring_len--;
        if (event->kind == INVENTORY_EVENT_ENDPOINT) {
            inv->endpoint_queued[event->index] = 0;
            if (inv->endpoint_keys[event->index] == 0)
                continue;
        } else {
            inv->finding_queued[event->index] = 0;
            if (inv->finding_dead[event->index])
                continue;
        }
        return 1;
    }
    return 0;
}

uint32_t inventory_endpoint_count(const inventory *inv) {
    return inv->endpoint_count;
}

const inventory_endpoint *inventory_endpoint_at(const inventory *inv, uint32_t index) {
    if (index >= inv->endpoint_count || inv->endpoint_keys[index] == 0)
        return NULL;
    return &inv->endpoints[index];
}

uint32_t inventory_finding_count(const inventory *inv) {
    return inv->finding_count;
}

const inventory_finding *inventory_finding_at(const inventory *inv, uint32_t index) {
    if (index >= inv->finding_count || inv->finding_dead[index])
        return NULL;
    return &inv->findings[index];
}

uint32_t inventory_service_count(const inventory *inv) {
    return inv->service_count;
}

const inventory_service *inventory_service_at(const inventory *inv, uint32_t index) {
    return index < inv->service_count ? &inv->services[index] : NULL;
}

as_status inventory_set_spec(inventory *inv, int spec_loaded, uint32_t spec_operations) {
    uint8_t *seen = calloc((size_t)spec_operations + 1, 1);
    if (!seen)
        return AS_ERR_NOMEM;
    free(inv->spec_seen);
    inv->spec_seen = seen;
    inv->config.spec_loaded = spec_loaded;
    inv->config.spec_operations = spec_operations;
    memset(inv->endpoint_respec, 1, inv->endpoint_count);
    return AS_OK;
}

int inventory_spec_seen(const inventory *inv, uint32_t index) {
    return index < inv->config.spec_operations && inv->spec_seen[index];
}

const char *inventory_last_template(const inventory *inv) {
    return inv->last_template;
}

inventory_stats inventory_get_stats(const inventory *inv) {
    inventory_stats st = inv->stats;
    st.endpoints = 0;
    st.listed = 0;
    for (uint32_t i = 0; i < inv->endpoint_count; i++) {
        if (inv->endpoint_keys[i] == 0)
            continue;
        st.endpoints++;
        st.listed += inv->endpoints[i].listed != 0;
    }
    st.positions_full = template_learner_get_stats(inv->learner).table_full;
    st.spec_seen = 0;
    for (uint32_t i = 0; i < inv->config.spec_operations; i++)
        st.spec_seen += inv->spec_seen[i];
    return st;
}

/* ---- body fields ----------------------------------------------------------- */

struct inventory_fields {
    uint32_t count, capacity;
    uint32_t slot_bytes;   /* a type byte, then the NUL-terminated path */
    unsigned char slots[]; /* capacity * slot_bytes */
};

uint32_t inventory_endpoint_field_count(const inventory_endpoint *endpoint, inventory_body body) {
    return body < INVENTORY_BODIES && endpoint->fields[body] ? endpoint->fields[body]->count : 0;
}

inventory_field inventory_endpoint_field(const inventory_endpoint *endpoint, inventory_body body,
                                         uint32_t index) {
    if (index >= inventory_endpoint_field_count(endpoint, body))
        return (inventory_field){"", 0};
    const unsigned char *slot =
        endpoint->fields[body]->slots + (size_t)index * endpoint->fields[body]->slot_bytes;
    return (inventory_field){(const char *)slot + 1, slot[0]};
}

/* Merges one field into the side; 1 when something new was learned. A field
 * that does not fit is counted as dropped. */
static int field_add(inventory *inv, inventory_endpoint *ep, inventory_body body, const char *path,
                     size_t len, uint8_t types) {
    if (len == 0 || inv->config.body_fields == 0)
        return 0;
    if (len >= inv->config.field_path_bytes) {
        inv->stats.fields_dropped++;
        return 0;
    }
    inventory_fields *set = ep->fields[body];
    for (uint32_t i = 0; set && i < set->count; i++) {
        unsigned char *slot = set->slots + (size_t)i * set->slot_bytes;
        if (strncmp((const char *)slot + 1, path, len) != 0 || slot[1 + len] != 0)
            continue;
        if ((slot[0] | types) == slot[0])
            return 0;
        slot[0] |= types;
        return 1;
    }
    if (!set) {
        uint32_t slot_bytes = 1 + inv->config.field_path_bytes;
        set = malloc(sizeof *set + (size_t)inv->config.body_fields * slot_bytes);
        if (!set) {
            inv->stats.fields_dropped++;
            return 0;
        }
        *set = (inventory_fields){0, inv->config.body_fields, slot_bytes};
        ep->fields[body] = set;
    }
    if (set->count == set->capacity) {
        inv->stats.fields_dropped++;
        return 0;
    }
    unsigned char *slot = set->slots + (size_t)set->count++ * set->slot_bytes;
    slot[0] = types;
    memcpy(slot + 1, path, len);
    slot[1 + len] = 0;
    return 1;
}

/* Fields of a record folded away move to the one it folded into. */
static void fold_fields(inventory *inv, inventory_endpoint *into, inventory_endpoint *from) {
    for (int b = 0; b < INVENTORY_BODIES; b++) {
        for (uint32_t i = 0; i < inventory_endpoint_field_count(from, (inventory_body)b); i++) {
            inventory_field f = inventory_endpoint_field(from, (inventory_body)b, i);
            field_add(inv, into, (inventory_body)b, f.path, strlen(f.path), f.types);
        }
        free(from->fields[b]);
        from->fields[b] = NULL;
    }
}

static int live_endpoint(const inventory *inv, uint32_t index) {
    return index < inv->endpoint_count && inv->endpoint_keys[index] != 0;
}

int inventory_wants_fields(inventory *inv, uint32_t endpoint, inventory_body body) {
    if (!live_endpoint(inv, endpoint) || body >= INVENTORY_BODIES || inv->config.body_fields == 0)
        return 0;
    inventory_endpoint *ep = &inv->endpoints[endpoint];
    uint64_t n = ++ep->json_bodies[body];
    inv->endpoint_dirty[endpoint] = 1;
    if (n > inv->config.schema_samples && n % inv->config.schema_sample_every != 0)
        return 0;
    inv->stats.bodies_sampled++;
    return 1;
}

void inventory_add_fields(inventory *inv, uint32_t endpoint, inventory_body body,
                          const json_fields_walker *walker) {
    if (!live_endpoint(inv, endpoint) || body >= INVENTORY_BODIES)
        return;
    inventory_endpoint *ep = &inv->endpoints[endpoint];
    uint32_t n = json_fields_walker_field_count(walker);
    for (uint32_t i = 0; i < n; i++) {
        const json_field *f = json_fields_walker_field(walker, i);
        if (field_add(inv, ep, body, f->path.ptr, f->path.len, f->kinds))
            inv->endpoint_dirty[endpoint] = 1;
    }
}

as_status inventory_restore_field(inventory *inv, uint32_t endpoint, inventory_body body,
                                  const char *path, uint8_t types) {
    if (!live_endpoint(inv, endpoint) || body >= INVENTORY_BODIES)
        return AS_ERR_ARG;
    uint64_t dropped = inv->stats.fields_dropped;
    field_add(inv, &inv->endpoints[endpoint], body, path, strlen(path), types);
    return inv->stats.fields_dropped == dropped ? AS_OK : AS_ERR_LIMIT;
}

/* ---- keys ------------------------------------------------------------------ */

/* Learning scope of an endpoint: its service (host and prefix) and method. */
static uint64_t scope_key(const char *host, str_view prefix, const char *method) {
    uint64_t scope = hash_bytes(HASH_SEED, host, strlen(host));
    scope = hash_bytes(scope ^ 0x2f, prefix.ptr, prefix.len);
    return hash_mix64(hash_bytes(scope ^ 0x20, method, strlen(method)));
}

static uint64_t endpoint_key(uint64_t scope, const char *path) {
    return nonzero(hash_mix64(hash_bytes(scope, path, strlen(path))));
}

static uint64_t finding_key(inventory_finding_type type, uint64_t endpoint_key,
                            const char *parameter) {
    uint64_t h =
        hash_bytes(endpoint_key ^ hash_mix64((uint64_t)type + 1), parameter, strlen(parameter));
    return nonzero(hash_mix64(h));
}

/* ---- findings -------------------------------------------------------------- */

static int status_class(uint16_t status) {
    return status >= 100 && status < 600 ? status / 100 : 0;
}

/* Keeps the first masked value of each type of types that f has none of;
 * 1 when one was added. */
static int keep_masked(inventory_finding *f, uint32_t types,
                       const char (*masked)[SENSITIVE_SAMPLE_MAX]) {
    int added = 0;
    for (int t = 0; t < SENSITIVE_TYPE_COUNT; t++) {
        if (!(types & SENSITIVE_BIT(t)) || f->masked[t][0] || !masked[t][0])
            continue;
        memcpy(f->masked[t], masked[t], SENSITIVE_SAMPLE_MAX);
        f->masked[t][SENSITIVE_SAMPLE_MAX - 1] = '\0';
        added = 1;
    }
    return added;
}

/* Raises or updates the finding; widening data types or a first masked
 * value of one (masked: per type, or NULL) re-queues it. */
static void raise_finding(inventory *inv, inventory_finding_type type, uint32_t endpoint,
                          const char *parameter, uint32_t data_types,
                          const char (*masked)[SENSITIVE_SAMPLE_MAX], uint64_t ts,
                          uint16_t status) {
    uint64_t key = finding_key(type, inv->endpoint_keys[endpoint], parameter);
    uint32_t index = map_get(&inv->finding_map, key);
    inventory_finding *f;
    if (index == UINT32_MAX) {
        if (inv->finding_count == inv->config.max_findings) {
            inv->stats.findings_full++;
            return;
        }
        index = inv->finding_count++;
        map_put(&inv->finding_map, key, index);
        f = &inv->findings[index];
        f->type = type;
        f->endpoint = endpoint;
        copy_text(f->parameter, sizeof f->parameter, parameter, strlen(parameter));
        f->id = key;
        f->first_seen_ns = ts;
        f->open = 1;
        inv->stats.findings++;
        queue(inv, INVENTORY_EVENT_FINDING, index);
    } else {
        f = &inv->findings[index];
    }
    inv->finding_dirty[index] = 1;
    int widened = (f->data_types | data_types) != f->data_types;
    f->data_types |= data_types;
    if ((masked && keep_masked(f, data_types, masked)) || widened)
        queue(inv, INVENTORY_EVENT_FINDING, index);
    f->count++;
    f->status_classes[status_class(status)]++;
    if (ts > f->last_seen_ns)
        f->last_seen_ns = ts;
    if (ts < f->first_seen_ns)
        f->first_seen_ns = ts;
}

static void posture(inventory *inv, uint32_t index, const inventory_observation *obs) {
    inventory_endpoint *ep = &inv->endpoints[index];
    if (!ep->listed)
        return;
    int success = is_success(obs->status);
    if (ep->status == INVENTORY_SHADOW)
        raise_finding(inv, INVENTORY_SHADOW_API, index, "", 0, NULL, obs->ts_ns, obs->status);
    else if (ep->status == INVENTORY_ZOMBIE)
        raise_finding(inv, INVENTORY_ZOMBIE_API, index, "", 0, NULL, obs->ts_ns, obs->status);

    uint32_t exposed = obs->sensitive[INVENTORY_RESPONSE_BODY] & inv->config.exposure_types;
    if (ep->issues_token)
        exposed &= ~inv->config.token_types;
    if (success && exposed)
        raise_finding(inv, INVENTORY_SENSITIVE_DATA_EXPOSURE, index, "", exposed,
                      obs->response_masked, obs->ts_ns, obs->status);

    for (uint32_t i = 0; i < obs->query_credential_count && i < INVENTORY_MAX_QUERY_CREDENTIALS;
         i++) {
        char name[INVENTORY_PARAM_BYTES];
        copy_text(name, sizeof name, obs->query_credentials[i].ptr, obs->query_credentials[i].len);
        raise_finding(inv, INVENTORY_TOKEN_IN_URL, index, name, 0, NULL, obs->ts_ns, obs->status);
    }

    /* unauthenticated: a 2xx without any credential where the spec asks for
     * one or does not declare the endpoint; with no spec, where other callers
     * do authenticate */
    if (ep->unauthenticated_success > 0) {
        int required = inv->config.spec_loaded ? (ep->status == INVENTORY_SHADOW ||
                                                  (obs->spec && obs->spec->requires_auth))
                                               : ep->auth_kinds != 0;
        if (required && obs->auth_kinds == 0 && obs->status >= 200 && obs->status < 300)
            raise_finding(inv, INVENTORY_UNAUTHENTICATED_ENDPOINT, index, "", 0, NULL, obs->ts_ns,
                          obs->status);
    }
}

/* ---- merging after a learned position ------------------------------------- */

static void add_status(inventory_endpoint *ep, uint16_t code, uint64_t n) {
    for (int i = 0; i < INVENTORY_STATUS_SLOTS; i++) {
        if (ep->status_codes[i] == code && code != 0) {
            ep->status_counts[i] += n;
            return;
        }
        if (ep->status_codes[i] == 0 && code != 0) {
            ep->status_codes[i] = code;
            ep->status_counts[i] = n;
            return;
        }
    }
    ep->status_other += n;
}

static void add_text(char (*set)[INVENTORY_MEDIA_BYTES], int slots, const char *text) {
    for (int i = 0; i < slots; i++) {
        if (strcmp(set[i], text) == 0)
            return;
        if (set[i][0] == 0) {
            copy_text(set[i], INVENTORY_MEDIA_BYTES, text, strlen(text));
            return;
        }
    }
}

static void add_param(inventory_endpoint *ep, const char *name, size_t len) {
    if (len == 0)
        return;
    for (uint32_t i = 0; i < ep->query_param_count; i++)
        if (strlen(ep->query_params[i]) == len && memcmp(ep->query_params[i], name, len) == 0)
            return;
    if (ep->query_param_count < INVENTORY_PARAMS)
        copy_text(ep->query_params[ep->query_param_count++], INVENTORY_PARAM_BYTES, name, len);
}

static void fold_endpoint(inventory_endpoint *into, const inventory_endpoint *from) {
    into->listed |= from->listed;
    into->auth_kinds |= from->auth_kinds;
    into->unauthenticated |= from->unauthenticated;
    into->issues_token |= from->issues_token;
    for (int i = 0; i < INVENTORY_LOCATIONS; i++)
        into->sensitive[i] |= from->sensitive[i];
    into->requests += from->requests;
    for (int b = 0; b < INVENTORY_BODIES; b++)
        into->json_bodies[b] += from->json_bodies[b];
    into->success += from->success;
    into->unauthenticated_success += from->unauthenticated_success;
    into->anonymous_success += from->anonymous_success;
    for (int i = 0; i < INVENTORY_STATUS_SLOTS; i++)
        if (from->status_codes[i])
            add_status(into, from->status_codes[i], from->status_counts[i]);
    into->status_other += from->status_other;
    for (int i = 0; i < INVENTORY_TYPE_BITS; i++)
        into->response_type_counts[i] += from->response_type_counts[i];
    if (from->first_seen_ns < into->first_seen_ns)
        into->first_seen_ns = from->first_seen_ns;
    if (from->last_seen_ns > into->last_seen_ns)
        into->last_seen_ns = from->last_seen_ns;
    for (int i = 0; i < INVENTORY_CONTENT_TYPES; i++) {
        if (from->request_types[i][0])
            add_text(into->request_types, INVENTORY_CONTENT_TYPES, from->request_types[i]);
        if (from->response_types[i][0])
            add_text(into->response_types, INVENTORY_CONTENT_TYPES, from->response_types[i]);
    }
    for (uint32_t i = 0; i < from->query_param_count; i++)
        add_param(into, from->query_params[i], strlen(from->query_params[i]));
    for (int i = 0; i < INVENTORY_SKETCH_REGISTERS; i++) {
        if (from->identity_sketch[i] > into->identity_sketch[i])
            into->identity_sketch[i] = from->identity_sketch[i];
        if (from->client_sketch[i] > into->client_sketch[i])
            into->client_sketch[i] = from->client_sketch[i];
    }
}

static void fold_finding(inventory_finding *into, const inventory_finding *from) {
    into->count += from->count;
    keep_masked(into, from->data_types, from->masked);
    into->data_types |= from->data_types;
    for (int c = 0; c < INVENTORY_FINDING_STATUS_CLASSES; c++)
        into->status_classes[c] += from->status_classes[c];
    if (from->first_seen_ns < into->first_seen_ns)
        into->first_seen_ns = from->first_seen_ns;
    if (from->last_seen_ns > into->last_seen_ns)
        into->last_seen_ns = from->last_seen_ns;
}

/* Moves the findings of endpoint `from` (now keyed new_key) onto `to`. */
static void move_findings(inventory *inv, uint32_t from, uint32_t to, uint64_t old_key) {
    for (uint32_t i = 0; i < inv->finding_count; i++) {
        inventory_finding *f = &inv->findings[i];
        if (inv->finding_dead[i] || f->endpoint != from)
            continue;
        inv->finding_dirty[i] = 1;
        map_remove(&inv->finding_map, finding_key(f->type, old_key, f->parameter));
        uint64_t key = finding_key(f->type, inv->endpoint_keys[to], f->parameter);
        uint32_t other = map_get(&inv->finding_map, key);
        if (other == UINT32_MAX) {
            f->endpoint = to;
            f->id = key;
            map_put(&inv->finding_map, key, i);
            queue(inv, INVENTORY_EVENT_FINDING, i);
            continue;
        }
        fold_finding(&inv->findings[other], f);
        inv->finding_dead[i] = 1;
        inv->finding_dirty[other] = 1;
        queue(inv, INVENTORY_EVENT_FINDING, other);
    }
}

/* A position of scope became a parameter: re-key the records it covers. */
static void relearn_scope(inventory *inv, uint64_t scope) {
    for (uint32_t i = 0; i < inv->endpoint_count; i++) {
        inventory_endpoint *ep = &inv->endpoints[i];
        if (inv->endpoint_keys[i] == 0 || inv->endpoint_scope[i] != scope || ep->spec_index >= 0)
            continue;
        char path[INVENTORY_PATH_BYTES];
        template_learner_apply(inv->learner, scope, ep->path, strlen(ep->path), 0, path,
                               sizeof path);
        if (strcmp(path, ep->path) == 0)
            continue;
        uint64_t old_key = inv->endpoint_keys[i];
        uint64_t key = endpoint_key(scope, path);
        inv->endpoint_dirty[i] = 1;
        map_remove(&inv->endpoint_map, old_key);
        uint32_t target = map_get(&inv->endpoint_map, key);
        if (target == UINT32_MAX) {
            copy_text(ep->path, sizeof ep->path, path, strlen(path));
            inv->endpoint_keys[i] = key;
            map_put(&inv->endpoint_map, key, i);
            move_findings(inv, i, i, old_key);
        } else {
            fold_endpoint(&inv->endpoints[target], ep);
            fold_fields(inv, &inv->endpoints[target], ep);
            inv->endpoint_dirty[target] = 1;
            inv->endpoint_keys[i] = 0;
            move_findings(inv, i, target, old_key);
            inv->stats.merged++;
        }
        queue(inv, INVENTORY_EVENT_ENDPOINT, target == UINT32_MAX ? i : target);
    }
}

/* ---- observing a transaction ----------------------------------------------- */

static void count_noise(inventory *inv, const char *host, uint16_t status) {
    uint64_t key = nonzero(hash_bytes(HASH_SEED, host, strlen(host)));
    uint32_t index = map_get(&inv->service_map, key);
    if (index == UINT32_MAX) {
        if (inv->service_count == inv->config.max_services) {
            inv->stats.services_full++;
            return;
        }
        index = inv->service_count++;
        map_put(&inv->service_map, key, index);
        copy_text(inv->services[index].host, INVENTORY_HOST_BYTES, host, strlen(host));
    }
    inv->service_dirty[index] = 1;
    inv->services[index].noise++;
    inv->services[index].not_found += status == 404;
}

/* Media type of a Content-Type value: lower case, parameters dropped. */
static void media_type(char *out, size_t cap, str_view value) {
    size_t len = 0;
    while (len < value.len && value.ptr[len] != ';')
        len++;
    while (len > 0 && (value.ptr[len - 1] == ' ' || value.ptr[len - 1] == '\t'))
        len--;
    copy_lower(out, cap, value.ptr, len);
}

static void add_query_params(inventory_endpoint *ep, str_view query) {
    size_t i = 0;
    while (i < query.len) {
        size_t start = i;
        while (i < query.len && query.ptr[i] != '&' && query.ptr[i] != '=' && query.ptr[i] != ';')
            i++;
        add_param(ep, query.ptr + start, i - start);
        while (i < query.len && query.ptr[i] != '&' && query.ptr[i] != ';')
            i++;
        i++;
    }
}

/* Configured service prefix the path lies under (segment boundary), or -1. */
static int service_prefix(const inventory *inv, str_view path) {
    for (uint32_t i = 0; i < inv->config.service_prefix_count; i++) {
        str_view p = inv->config.service_prefixes[i];
        if (p.len == 0 || p.len > path.len || memcmp(p.ptr, path.ptr, p.len) != 0)
            continue;
        if (p.len == path.len || path.ptr[p.len] == '/' || p.ptr[p.len - 1] == '/')
            return (int)i;
    }
    return -1;
}

/* Web pages and their assets: a success carrying one does not make an API
 * endpoint (scanners fetch /, /index.html, /favicon.ico from any server). */
static int web_content(str_view content_type) {
    static const char *const prefixes[] = {
        "text/html", "text/css", "text/javascript", "application/javascript", "image/",
        "font/",     "audio/",   "video/",          "application/x-font",     "application/font"};
    if (!content_type.ptr)
        return 0;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (content_type.len < n)
            continue;
        size_t k = 0;
        while (k < n && (content_type.ptr[k] | 0x20) == (prefixes[i][k] | 0x20))
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

/* The spec diff of an observation: declared, zombie, shadow, or unknown without a spec. */
static inventory_status spec_status(const inventory *inv, const inventory_observation *obs) {
    return !inv->config.spec_loaded ? INVENTORY_UNKNOWN
           : !obs->spec             ? INVENTORY_SHADOW
           : obs->spec->deprecated  ? INVENTORY_ZOMBIE
                                    : INVENTORY_DECLARED;
}

int inventory_observe(inventory *inv, const inventory_observation *obs) {
    inv->stats.observed++;
    char host[INVENTORY_HOST_BYTES];
    copy_lower(host, sizeof host, obs->host.ptr ? obs->host.ptr : "", obs->host.len);
    char method[16];
    copy_text(method, sizeof method, obs->method.ptr ? obs->method.ptr : "", obs->method.len);
    int prefix = service_prefix(inv, obs->path);
    str_view prefix_text = prefix >= 0 ? inv->config.service_prefixes[prefix] : (str_view){"", 0};

    uint64_t scope = scope_key(host, prefix_text, method);

    /* a route exists when it answered a success, or a 500 (its handler ran and
     * failed); 404s, auth refusals and gateway errors prove nothing */
    int success =
        (is_success(obs->status) || obs->status == 500) && !web_content(obs->response_content_type);
    char path[INVENTORY_PATH_BYTES];
    if (obs->spec) {
        copy_text(path, sizeof path, obs->spec->path.ptr, obs->spec->path.len);
    } else {
        template_result r = template_learner_apply(inv->learner, scope, obs->path.ptr,
                                                   obs->path.len, success, path, sizeof path);
        if (r.learned)
            relearn_scope(inv, scope);
    }
    memcpy(inv->last_template, path, sizeof path);
    uint64_t key = endpoint_key(scope, path);
    uint32_t index = map_get(&inv->endpoint_map, key);
    if (index == UINT32_MAX) {
        if (!success && !obs->spec) {
            inv->stats.noise++;
            count_noise(inv, host, obs->status);
            return -1;
        }
        if (inv->endpoint_count == inv->config.max_endpoints) {
            inv->stats.endpoints_full++;
            return -1;
        }
        index = inv->endpoint_count++;
        map_put(&inv->endpoint_map, key, index);
        inv->endpoint_keys[index] = key;
        inv->endpoint_scope[index] = scope;
        inventory_endpoint *ep = &inv->endpoints[index];
        memcpy(ep->host, host, sizeof host);
        copy_text(ep->service_prefix, sizeof ep->service_prefix, prefix_text.ptr, prefix_text.len);
        memcpy(ep->method, method, sizeof method);
        memcpy(ep->path, path, sizeof path);
        ep->spec_index = obs->spec ? (int32_t)obs->spec->index : -1;
        ep->status = spec_status(inv, obs);
        ep->first_seen_ns = obs->ts_ns;
        ep->last_seen_ns = obs->ts_ns;
    }
    inventory_endpoint *ep = &inv->endpoints[index];
    int changed = 0;
    inv->endpoint_dirty[index] = 1;
    if (inv->endpoint_respec[index]) {
        /* the spec was replaced since this record was classified */
        inv->endpoint_respec[index] = 0;
        inventory_status status = spec_status(inv, obs);
        ep->spec_index = obs->spec ? (int32_t)obs->spec->index : -1;
        if (status != ep->status) {
            ep->status = status;
            changed = 1;
        }
    }

    ep->requests++;
    add_status(ep, obs->status, 1);
    if (obs->ts_ns < ep->first_seen_ns)
        ep->first_seen_ns = obs->ts_ns;
    if (obs->ts_ns > ep->last_seen_ns)
        ep->last_seen_ns = obs->ts_ns;
    if ((ep->auth_kinds | obs->auth_kinds) != ep->auth_kinds) {
        ep->auth_kinds |= obs->auth_kinds;
        changed = 1;
    }
    if (obs->auth_kinds == 0 && !ep->unauthenticated) {
        ep->unauthenticated = 1;
        changed = 1;
    }
    for (int i = 0; i < INVENTORY_LOCATIONS; i++) {
        if ((ep->sensitive[i] | obs->sensitive[i]) != ep->sensitive[i]) {
            ep->sensitive[i] |= obs->sensitive[i];
            changed = 1;
        }
    }
    for (int bit = 0; bit < INVENTORY_TYPE_BITS; bit++)
        if (obs->sensitive[INVENTORY_RESPONSE_BODY] & (1u << bit))
            ep->response_type_counts[bit]++;
    if (obs->request_content_type.ptr) {
        char media[INVENTORY_MEDIA_BYTES];
        media_type(media, sizeof media, obs->request_content_type);
        if (media[0])
            add_text(ep->request_types, INVENTORY_CONTENT_TYPES, media);
    }
    if (obs->response_content_type.ptr) {
        char media[INVENTORY_MEDIA_BYTES];
        media_type(media, sizeof media, obs->response_content_type);
        if (media[0])
            add_text(ep->response_types, INVENTORY_CONTENT_TYPES, media);
    }
    if (obs->query.ptr)
        add_query_params(ep, obs->query);
    if (obs->identity)
        sketch_add(ep->identity_sketch, obs->identity);
    sketch_add(ep->client_sketch, obs->client);
    if (success) {
        ep->success++;
        if (!ep->listed) {
            ep->listed = 1;
            changed = 1;
        }
        if (obs->issues_token)
            ep->issues_token = 1;
        if (obs->spec && obs->spec->index < inv->config.spec_operations)
            inv->spec_seen[obs->spec->index] = 1;
        int required = inv->config.spec_loaded ? (!obs->spec || obs->spec->requires_auth) : 1;
        if (obs->auth_kinds == 0 && obs->status < 300 && required)
            ep->unauthenticated_success++;
        if (obs->auth_kinds == 0 && obs->status < 300)
            ep->anonymous_success++;
    }
    if (changed && ep->listed)
        queue(inv, INVENTORY_EVENT_ENDPOINT, index);
    posture(inv, index, obs);
    return (int)index;
}

/* ---- persistence ------------------------------------------------------------ */

as_status inventory_restore_endpoint(inventory *inv, const inventory_endpoint *endpoint,
                                     uint32_t *index) {
    inventory_endpoint ep = *endpoint;
    ep.host[sizeof ep.host - 1] = 0;
    ep.service_prefix[sizeof ep.service_prefix - 1] = 0;
    ep.method[sizeof ep.method - 1] = 0;
    ep.path[sizeof ep.path - 1] = 0;
    if (ep.query_param_count > INVENTORY_PARAMS)
        ep.query_param_count = INVENTORY_PARAMS;
    for (int b = 0; b < INVENTORY_BODIES; b++)
        ep.fields[b] = NULL;
    uint64_t scope = scope_key(
        ep.host, (str_view){ep.service_prefix, (uint32_t)strlen(ep.service_prefix)}, ep.method);
    uint64_t key = endpoint_key(scope, ep.path);
    uint32_t at = map_get(&inv->endpoint_map, key);
    if (at != UINT32_MAX) {
        fold_endpoint(&inv->endpoints[at], &ep);
        inv->endpoint_dirty[at] = 1;
        *index = at;
        return AS_OK;
    }
    if (inv->endpoint_count == inv->config.max_endpoints) {
        inv->stats.endpoints_full++;
        return AS_ERR_LIMIT;
    }
    at = inv->endpoint_count++;
    map_put(&inv->endpoint_map, key, at);
    inv->endpoint_keys[at] = key;
    inv->endpoint_scope[at] = scope;
    inv->endpoints[at] = ep;
    *index = at;
    return AS_OK;
}

as_status inventory_restore_finding(inventory *inv, const inventory_finding *finding,
                                    uint32_t *index) {
    if (finding->endpoint >= inv->endpoint_count || inv->endpoint_keys[finding->endpoint] == 0)
        return AS_ERR_ARG;
    inventory_finding f = *finding;
    f.parameter[sizeof f.parameter - 1] = 0;
    for (int t = 0; t < SENSITIVE_TYPE_COUNT; t++)
        f.masked[t][SENSITIVE_SAMPLE_MAX - 1] = 0;
    uint64_t key = finding_key(f.type, inv->endpoint_keys[f.endpoint], f.parameter);
    uint32_t at = map_get(&inv->finding_map, key);
    if (at != UINT32_MAX) {
        fold_finding(&inv->findings[at], &f);
        inv->finding_dirty[at] = 1;
        *index = at;
        return AS_OK;
    }
    if (inv->finding_count == inv->config.max_findings) {
        inv->stats.findings_full++;
        return AS_ERR_LIMIT;
    }
    at = inv->finding_count++;
    map_put(&inv->finding_map, key, at);
    f.id = key;
    inv->findings[at] = f;
    inv->stats.findings++;
    *index = at;
    return AS_OK;
}

as_status inventory_restore_service(inventory *inv, const inventory_service *service) {
    char host[INVENTORY_HOST_BYTES];
    copy_text(host, sizeof host, service->host, strnlen(service->host, sizeof host));
    uint64_t key = nonzero(hash_bytes(HASH_SEED, host, strlen(host)));
    uint32_t at = map_get(&inv->service_map, key);
    if (at == UINT32_MAX) {
        if (inv->service_count == inv->config.max_services) {
            inv->stats.services_full++;
            return AS_ERR_LIMIT;
        }
        at = inv->service_count++;
        map_put(&inv->service_map, key, at);
        memcpy(inv->services[at].host, host, sizeof host);
    }
    inv->services[at].noise += service->noise;
    inv->services[at].not_found += service->not_found;
    return AS_OK;
}

int inventory_endpoint_dirty(const inventory *inv, uint32_t index) {
    return index < inv->endpoint_count && inv->endpoint_dirty[index];
}

int inventory_finding_dirty(const inventory *inv, uint32_t index) {
    return index < inv->finding_count && inv->finding_dirty[index];
}

int inventory_service_dirty(const inventory *inv, uint32_t index) {
    return index < inv->service_count && inv->service_dirty[index];
}

void inventory_clear_dirty(inventory *inv) {
    memset(inv->endpoint_dirty, 0, inv->endpoint_count);
    memset(inv->finding_dirty, 0, inv->finding_count);
    memset(inv->service_dirty, 0, inv->service_count);
}
