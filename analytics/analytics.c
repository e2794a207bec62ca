/*
 * Behavioural analytics (see analytics.h for the detectors).
 *
 * State lives in set-associative caches of fixed-size entries: a key picks a
 * set of ANALYTICS_WAYS entries, and a new key replaces the least recently
 * used entry of its set (counted as an eviction). That bounds memory
 * (analytics_max_* limits) under any number of identities, addresses or
 * objects, with O(1) work per observation; below the bound it follows the
 * keys held (see struct cache).
 *
 * Windows: each tracker keeps a current and a previous bucket of
 * analytics_window_seconds; rules read the two merged, a cheap sliding window
 * of one to two bucket lengths. Distinct counts use 64-register HyperLogLog
 * sketches (about 13 % error, which the thresholds tolerate).
 *
 * Findings are episodes keyed by (type, actor key); see analytics.h.
 */
#include "analytics/analytics.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/bigmem.h"
#include "common/hash.h"
#include "parse/classify.h"
#include "parse/jwt.h"

#define ANALYTICS_WAYS 8
#define SKETCH 64

static const char *const identity_kind_names[] = {"client_ip",    "jwt_sub",    "api_key",
                                                  "bearer_token", "basic_user", "session_cookie",
                                                  "client_cert"};

const char *analytics_identity_kind_name(analytics_identity_kind kind) {
    return (unsigned)kind < sizeof identity_kind_names / sizeof identity_kind_names[0]
               ? identity_kind_names[kind]
               : "client_ip";
}

static const char *const finding_type_names[ANALYTICS_FINDING_TYPES] = {"bola",
                                                                        "enumeration",
                                                                        "credential_stuffing",
                                                                        "brute_force",
                                                                        "weak_jwt",
                                                                        "cleartext_credentials",
                                                                        "traffic_spike",
                                                                        "endpoint_spray",
                                                                        "injection_attempt",
                                                                        "suspicious_user_agent"};

const char *analytics_finding_type_name(analytics_finding_type type) {
    return (unsigned)type < ANALYTICS_FINDING_TYPES ? finding_type_names[type] : "unknown";
}

/* ---- sketches ------------------------------------------------------------- */

typedef struct sketch {
    uint8_t reg[SKETCH];
} sketch;

static void sketch_add(sketch *s, uint64_t value) {
    uint64_t h = hash_mix64(value ^ 0x9e3779b97f4a7c15ULL);
    uint32_t index = (uint32_t)(h >> 58);
    uint64_t rest = h << 6;
    uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : 59;
    if (s->reg[index] < rank)
        s->reg[index] = rank;
}

/* 2^-r, exact: r only moves the exponent (r <= 64, far from subnormals). */
static double pow2_negative(uint8_t r) {
    uint64_t bits = (uint64_t)(1023 - r) << 52;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static uint64_t sketch_count2(const sketch *a, const sketch *b) {
    double sum = 0;
    int zeros = 0;
    for (int i = 0; i < SKETCH; i++) {
        uint8_t r = a->reg[i] > b->reg[i] ? a->reg[i] : b->reg[i];
        sum += pow2_negative(r);
        zeros += r == 0;
    }
    double m = SKETCH, estimate = 0.709 * m * m / sum;
    if (estimate <= 2.5 * m && zeros > 0)
        estimate = m * log(m / zeros);
    return (uint64_t)(estimate + 0.5);
}

/* ---- windows ---------------------------------------------------------------- */

typedef struct bucket {
    uint32_t requests;
    uint32_t errors;         /* 401, 403, 404 */
    uint32_t denied;         /* 401, 403 */
    uint32_t not_found;      /* 404 */
    uint32_t success;        /* 2xx */
    uint32_t noise;          /* paths that are not endpoints */
    uint32_t foreign_ok;     /* 2xx on objects first seen with another identity */
    uint32_t foreign_denied; /* 401/403/404 on such objects */
} bucket;

typedef struct window {
    uint64_t start_ns; /* of cur */
    uint64_t first_ns; /* first activity counted in prev or cur */
    bucket cur, prev;
} window;

/* A distinct count kept along a window: [CUR] and [PREV] follow its
 * buckets. Each tracker holds only the sketches its detector reads. */
enum { CUR, PREV };
typedef sketch sketch_pair[2];

/* Moves w to ts: the current bucket becomes the previous one after a
 * window, both clear after two; the n sketch pairs follow. */
static void window_advance(window *w, uint64_t ts, uint64_t len_ns, sketch_pair *pairs,
                           unsigned n) {
    if (w->start_ns == 0 || ts < w->start_ns) {
        if (w->start_ns == 0) {
            w->start_ns = ts;
            w->first_ns = ts;
        }
        return;
    }
    if (ts - w->start_ns < len_ns)
        return;
    if (ts - w->start_ns < 2 * len_ns) {
        w->prev = w->cur;
        for (unsigned i = 0; i < n; i++)
            pairs[i][PREV] = pairs[i][CUR];
        w->start_ns += len_ns;
    } else {
        memset(&w->prev, 0, sizeof w->prev);
        for (unsigned i = 0; i < n; i++)
            memset(&pairs[i][PREV], 0, sizeof(sketch));
        w->start_ns = ts;
        w->first_ns = ts;
    }
    memset(&w->cur, 0, sizeof w->cur);
    for (unsigned i = 0; i < n; i++)
        memset(&pairs[i][CUR], 0, sizeof(sketch));
    if (w->prev.requests == 0)
        w->first_ns = ts;
}

static uint32_t sum(const window *w, size_t offset) {
    uint32_t a, b;
    memcpy(&a, (const char *)&w->cur + offset, sizeof a);
    memcpy(&b, (const char *)&w->prev + offset, sizeof b);
    return a + b;
}
#define WSUM(w, field) sum((w), offsetof(bucket, field))

/* ---- set-associative caches ---------------------------------------------------- */

/* A set holds the keys, recency and entry numbers of its ways in three
 * adjacent cache lines, so a lookup touches one page of the index. Entries
 * are handed out in order from a pool of the same capacity, and an evicted
 * key's entry goes to the key replacing it. So the entries touched are as
 * many as the keys ever held at once, however the hash scatters the keys:
 * resident memory follows the actors, objects and endpoints seen, not the
 * limits. */
typedef struct cache_set {
    uint64_t key[ANALYTICS_WAYS];     /* 0 = free */
    uint64_t last_ns[ANALYTICS_WAYS]; /* for LRU replacement */
    uint32_t entry[ANALYTICS_WAYS];   /* entry number of an occupied way */
    uint32_t unused[ANALYTICS_WAYS];  /* pads a set to whole cache lines */
} cache_set;
_Static_assert(sizeof(cache_set) == 3 * 64, "a cache set is three cache lines");

typedef struct cache {
    cache_set *sets;
    void *entries;
    size_t entry_size;
    uint32_t set_count;
    uint32_t entries_used; /* entries handed out so far */
    uint64_t *evictions;
} cache;

static int cache_init(cache *c, uint32_t max_entries, size_t entry_size, uint64_t *evictions) {
    uint32_t sets = 1;
    while ((uint64_t)sets * ANALYTICS_WAYS < max_entries)
        sets <<= 1;
    c->set_count = sets;
    c->entry_size = entry_size;
    c->evictions = evictions;
    c->sets = bigmem_alloc((size_t)sets * sizeof *c->sets);
    c->entries = bigmem_alloc((size_t)sets * ANALYTICS_WAYS * entry_size);
    return c->sets && c->entries;
}

static void cache_free(cache *c) {
    bigmem_free(c->sets, (size_t)c->set_count * sizeof *c->sets);
    bigmem_free(c->entries, (size_t)c->set_count * ANALYTICS_WAYS * c->entry_size);
}

static cache_set *set_of(const cache *c, uint64_t key) {
    return &c->sets[hash_mix64(key) & (c->set_count - 1)];
}

static void *entry_at(const cache *c, const cache_set *set, unsigned way) {
    return (char *)c->entries + (size_t)set->entry[way] * c->entry_size;
}

/* Entry of key, created zeroed (evicting the set's least recent) if absent;
 * *fresh tells which. An entry never handed out is still zero from
 * bigmem_alloc and is not cleared again. */
static void *cache_get(cache *c, uint64_t key, uint64_t ts, int *fresh) {
    key = key ? key : 1;
    cache_set *set = set_of(c, key);
    for (unsigned i = 0; i < ANALYTICS_WAYS; i++) {
        if (set->key[i] == key) {
            if (ts > set->last_ns[i])
                set->last_ns[i] = ts;
            *fresh = 0;
            return entry_at(c, set, i);
        }
    }
    unsigned victim = 0;
    for (unsigned i = 0; i < ANALYTICS_WAYS && set->key[victim] != 0; i++)
        if (set->key[i] == 0 || set->last_ns[i] < set->last_ns[victim])
            victim = i;
    if (set->key[victim] != 0) {
        (*c->evictions)++;
        memset(entry_at(c, set, victim), 0, c->entry_size);
    } else {
        set->entry[victim] = c->entries_used++; /* ways held never outnumber entries */
    }
    set->key[victim] = key;
    set->last_ns[victim] = ts;
    *fresh = 1;
    return entry_at(c, set, victim);
}

/* Entry of key or NULL; does not create. */
static void *cache_find(cache *c, uint64_t key) {
    key = key ? key : 1;
    const cache_set *set = set_of(c, key);
    for (unsigned i = 0; i < ANALYTICS_WAYS; i++)
        if (set->key[i] == key)
            return entry_at(c, set, i);
    return NULL;
}

/* Starts loading the set of key: the detectors of one observation look up
 * several tables at random, and their misses overlap when issued first. */
static void cache_prefetch(const cache *c, uint64_t key) {
    key = key ? key : 1;
    const cache_set *set = set_of(c, key);
    __builtin_prefetch(set->key);
    __builtin_prefetch(set->last_ns);
    __builtin_prefetch(set->entry);
}

/* ---- trackers ------------------------------------------------------------------ */

typedef struct actor_state { /* enumeration, per actor */
    window w;
    sketch_pair sketches[2]; /* ACTOR_PATHS: raw paths, ACTOR_ENDPOINTS: endpoints */
} actor_state;
enum { ACTOR_PATHS, ACTOR_ENDPOINTS };

typedef struct bola_state { /* per (identity, endpoint) */
    window w;
    sketch_pair objects;
} bola_state;

typedef struct peer_state { /* per endpoint: requests and identities with objects */
    window w;
    sketch_pair identities;
} peer_state;

typedef struct object_state { /* per (endpoint, object) */
    uint64_t owner;           /* first identity that touched it */
    uint64_t other;           /* a second one */
    uint32_t identities;      /* distinct identities, capped at 3 (3 = shared/public) */
} object_state;

#define LOGIN_CLIENTS 4

typedef struct login_ip_state { /* per (endpoint, client address) */
    window w;
    sketch_pair usernames;
    int flagged; /* a stuffing source */
} login_ip_state;

typedef struct login_user_state { /* per (endpoint, username) */
    window w;
    ip_address clients[LOGIN_CLIENTS];
    uint32_t client_count;
    char username[ANALYTICS_NAME_BYTES];
} login_user_state;

typedef struct campaign_state { /* per login endpoint: the stuffing sources */
    window w;
    sketch_pair usernames; /* from the sources */
    ip_address sources[ANALYTICS_MAX_CLIENTS];
    uint32_t source_count;
} campaign_state;

#define JWT_VERDICTS 1024 /* signers whose default-key verdict is kept */

/* A learned level: a count per tumbling window and its moving average
 * over the windows closed so far (traffic_spike per endpoint,
 * endpoint_spray per actor). */
typedef struct level_state {
    uint64_t start_ns; /* of the current window */
    uint32_t count;    /* requests (spike) in the current window */
    uint32_t windows;  /* windows closed */
    double average;    /* exponentially weighted, per window */
    sketch distinct;   /* endpoints (spray) in the current window */
} level_state;

typedef struct open_episode {
    uint32_t index; /* finding index + 1; 0 = none */
} open_episode;

struct analytics {
    limits lim;
    uint64_t window_ns, quiet_ns;
    cache actors, bola, peers, objects, login_ips, login_users, campaigns, open, levels;
    analytics_finding *findings;
    uint8_t *queued;
    uint32_t finding_count, max_findings;
    uint32_t *ring;
    uint32_t ring_head, ring_len;
    uint64_t last_tick_ns;
    analytics_stats stats;
    uint64_t jwt_checked[JWT_VERDICTS]; /* signers checked for default keys */
    uint8_t jwt_weak[JWT_VERDICTS];
};

as_status analytics_create(const limits *lim, analytics **out) {
    *out = NULL;
    analytics *a = calloc(1, sizeof *a);
    if (!a)
        return AS_ERR_NOMEM;
    a->lim = *lim;
    a->window_ns = (uint64_t)lim->analytics_window_seconds * 1000000000ULL;
    a->quiet_ns = (uint64_t)lim->analytics_quiet_seconds * 1000000000ULL;
    uint32_t actors = (uint32_t)lim->analytics_max_actors;
    uint32_t objects = (uint32_t)lim->analytics_max_objects;
    a->max_findings = (uint32_t)lim->analytics_max_findings;
    uint64_t *ev_a = &a->stats.actors_evicted, *ev_o = &a->stats.objects_evicted;
    int ok = cache_init(&a->actors, actors, sizeof(actor_state), ev_a) &
             cache_init(&a->bola, actors, sizeof(bola_state), ev_a) &
             cache_init(&a->peers, actors / 4 + 1, sizeof(peer_state), ev_a) &
             cache_init(&a->objects, objects, sizeof(object_state), ev_o) &
             cache_init(&a->login_ips, actors, sizeof(login_ip_state), ev_a) &
             cache_init(&a->login_users, actors, sizeof(login_user_state), ev_a) &
             cache_init(&a->campaigns, 64, sizeof(campaign_state), ev_a) &
             cache_init(&a->levels, actors, sizeof(level_state), ev_a) &
             cache_init(&a->open, a->max_findings, sizeof(open_episode), ev_a);
    a->findings = calloc(a->max_findings, sizeof *a->findings);
    a->queued = calloc(a->max_findings, 1);
    a->ring = calloc(a->max_findings, sizeof *a->ring);
    if (!ok || !a->findings || !a->queued || !a->ring) {
        analytics_destroy(a);
        return AS_ERR_NOMEM;
    }
    *out = a;
    return AS_OK;
}

void analytics_destroy(analytics *a) {
    if (!a)
        return;
    cache_free(&a->actors);
    cache_free(&a->bola);
    cache_free(&a->peers);
    cache_free(&a->objects);
    cache_free(&a->login_ips);
    cache_free(&a->login_users);
    cache_free(&a->campaigns);
    cache_free(&a->levels);
    cache_free(&a->open);
    free(a->findings);
    free(a->queued);
    free(a->ring);
    free(a);
}

analytics_stats analytics_get_stats(const analytics *a) {
    return a->stats;
}

uint32_t analytics_finding_count(const analytics *a) {
    return a->finding_count;
}

const analytics_finding *analytics_finding_at(const analytics *a, uint32_t index) {
    return index < a->finding_count ? &a->findings[index] : NULL;
}

/* ---- episodes ---------------------------------------------------------------- */

static void queue(analytics *a, uint32_t index) {
    if (a->queued[index])
        return;
    a->queued[index] = 1;
    a->ring[(a->ring_head + a->ring_len) % a->max_findings] = index;
    a->ring_len++;
}

int analytics_next_event(analytics *a, uint32_t *index) {
    if (a->ring_len == 0)
        return 0;
    *index = a->ring[a->ring_head];
    a->ring_head = (a->ring_head + 1) % a->max_findings;
    a->ring_len--;
    a->queued[*index] = 0;
    return 1;
}

static int same_ip(const ip_address *x, const ip_address *y) {
    return memcmp(x, y, sizeof *x) == 0;
}

static void add_client(ip_address *list, uint32_t *count, uint32_t cap, const ip_address *ip) {
    if (ip->family == 0)
        return;
    for (uint32_t i = 0; i < *count; i++)
        if (same_ip(&list[i], ip))
            return;
    if (*count < cap)
        list[(*count)++] = *ip;
}

static void add_name(analytics_finding *f, str_view name) {
    if (!name.ptr || name.len == 0)
        return;
    size_t len = name.len < ANALYTICS_NAME_BYTES - 1 ? name.len : ANALYTICS_NAME_BYTES - 1;
    for (uint32_t i = 0; i < f->name_count; i++)
        if (strlen(f->names[i]) == len && memcmp(f->names[i], name.ptr, len) == 0)
            return;
    if (f->name_count == ANALYTICS_MAX_NAMES)
        return;
    memcpy(f->names[f->name_count], name.ptr, len);
    f->names[f->name_count][len] = 0;
    f->name_count++;
}

static int64_t *evidence(analytics_finding *f, const char *key) {
    for (int i = 0; i < ANALYTICS_MAX_EVIDENCE; i++) {
        if (f->evidence[i].key == key)
            return &f->evidence[i].value;
        if (!f->evidence[i].key) {
            f->evidence[i].key = key;
            return &f->evidence[i].value;
        }
    }
    static int64_t sink; /* more keys than slots: a programming error, kept harmless */
    return &sink;
}

/* The open episode of (type, actor key), or NULL. */
static analytics_finding *episode_find(analytics *a, analytics_finding_type type, uint64_t key) {
    open_episode *o = cache_find(&a->open, hash_mix64(key ^ ((uint64_t)type << 56)));
    if (!o || o->index == 0 || !a->findings[o->index - 1].open)
        return NULL;
    return &a->findings[o->index - 1];
}

/* Opens an episode (the caller checked none is open). */
static analytics_finding *episode_open(analytics *a, analytics_finding_type type, uint64_t key,
                                       const analytics_observation *obs, uint64_t first_ns) {
    if (a->finding_count == a->max_findings) {
        a->stats.findings_full++;
        return NULL;
    }
    int fresh;
    open_episode *o =
        cache_get(&a->open, hash_mix64(key ^ ((uint64_t)type << 56)), obs->ts_ns, &fresh);
    uint32_t index = a->finding_count++;
    o->index = index + 1;
    analytics_finding *f = &a->findings[index];
    f->type = type;
    f->id = hash_mix64(key ^ hash_mix64(((uint64_t)type << 56) ^ first_ns));
    f->first_seen_ns = first_ns;
    f->last_seen_ns = obs->ts_ns;
    f->severity = "high";
    f->open = 1;
    a->stats.findings++;
    queue(a, index);
    return f;
}

/* The open episode of (type, key), or a new one from now listing names
 * under names_key; NULL when the findings table is full. */
static analytics_finding *episode_named(analytics *a, analytics_finding_type type, uint64_t key,
                                        const analytics_observation *obs, const char *names_key,
                                        const char *severity) {
    analytics_finding *f = episode_find(a, type, key);
    if (!f) {
        f = episode_open(a, type, key, obs, obs->ts_ns);
        if (f) {
            f->names_key = names_key;
            f->severity = severity;
        }
    }
    return f;
}

/* Counts one more request in the episode; re-reports at powers of two. */
static void episode_update(analytics *a, analytics_finding *f, const analytics_observation *obs,
                           int with_actor) {
    f->count++;
    if (obs->ts_ns > f->last_seen_ns)
        f->last_seen_ns = obs->ts_ns;
    if (with_actor) {
        f->identity_kind = obs->identity_kind;
        if (obs->identity_kind != ANALYTICS_ANONYMOUS) {
            size_t n = obs->identity_id.len < ANALYTICS_NAME_BYTES - 1 ? obs->identity_id.len
                                                                       : ANALYTICS_NAME_BYTES - 1;
            memcpy(f->identity_id, obs->identity_id.ptr, n);
            f->identity_id[n] = 0;
        }
        if (obs->client_ip.family)
            f->client_ip = obs->client_ip;
    }
    add_client(f->clients, &f->client_count, ANALYTICS_MAX_CLIENTS, &obs->client_ip);
    if (obs->endpoint >= 0) {
        uint32_t i = 0;
        while (i < f->endpoint_count && f->endpoints[i] != obs->endpoint)
            i++;
        if (i == f->endpoint_count && i < ANALYTICS_MAX_ENDPOINTS)
            f->endpoints[f->endpoint_count++] = obs->endpoint;
    }
    if (f->count >= 16 && (f->count & (f->count - 1)) == 0)
        queue(a, (uint32_t)(f - a->findings));
}

void analytics_tick(analytics *a, uint64_t now_ns) {
    if (now_ns < a->last_tick_ns + 1000000000ULL)
        return;
    a->last_tick_ns = now_ns;
    for (uint32_t i = 0; i < a->finding_count; i++) {
        analytics_finding *f = &a->findings[i];
        if (f->open && f->last_seen_ns + a->quiet_ns < now_ns) {
            f->open = 0;
            queue(a, i);
        }
    }
}

static uint64_t actor_key(const analytics_observation *obs) {
    if (obs->identity_kind != ANALYTICS_ANONYMOUS && obs->identity)
        return obs->identity;
    return hash_mix64(hash_bytes(HASH_SEED, &obs->client_ip, sizeof obs->client_ip));
}

/* Keys of the per-object, per-(identity, endpoint) and level entries. */
static uint64_t object_key(uint64_t endpoint_key, str_view object) {
    return hash_mix64(hash_bytes(endpoint_key, object.ptr, object.len));
}

static uint64_t bola_key(const analytics_observation *obs) {
    return hash_mix64(obs->identity ^ hash_mix64(obs->endpoint_key));
}

static uint64_t spike_key(const analytics_observation *obs) {
    return hash_mix64(obs->endpoint_key ^ 0x5b1e);
}

static uint64_t spray_key(uint64_t actor) {
    return hash_mix64(actor ^ 0x59a7);
}

static int bola_applies(const analytics_observation *obs) {
    return obs->identity_kind != ANALYTICS_ANONYMOUS && obs->object_count > 0 &&
           obs->endpoint >= 0 && !obs->public_endpoint;
}

static int is_error(uint16_t status) {
    return status == 401 || status == 403 || status == 404;
}

static int is_2xx(uint16_t status) {
    return status >= 200 && status < 300;
}

/* ---- enumeration ------------------------------------------------------------------ */

static void detect_enumeration(analytics *a, const analytics_observation *obs, uint64_t actor) {
    int fresh;
    actor_state *s = cache_get(&a->actors, actor, obs->ts_ns, &fresh);
    window_advance(&s->w, obs->ts_ns, a->window_ns, s->sketches, 2);
    bucket *b = &s->w.cur;
    b->requests++;
    b->errors += is_error(obs->status);
    b->not_found += obs->status == 404;
    b->noise += obs->endpoint < 0;
    sketch_add(&s->sketches[ACTOR_PATHS][CUR], obs->path_key);
    sketch_add(&s->sketches[ACTOR_ENDPOINTS][CUR], obs->endpoint_key);

    analytics_finding *f = episode_find(a, ANALYTICS_ENUMERATION, actor);
    uint32_t requests = WSUM(&s->w, requests), errors = WSUM(&s->w, errors);
    int erring = (uint64_t)errors * 100 >= (uint64_t)requests * a->lim.enumeration_error_percent;
    if (!f && !erring)
        return; /* no episode can open without the error share: skip the estimates */
    uint64_t paths = sketch_count2(&s->sketches[ACTOR_PATHS][CUR], &s->sketches[ACTOR_PATHS][PREV]);
    uint64_t endpoints =
        sketch_count2(&s->sketches[ACTOR_ENDPOINTS][CUR], &s->sketches[ACTOR_ENDPOINTS][PREV]);
    /* breadth: many endpoints, or an anonymous actor, or almost only errors
     * (an authenticated user walking IDs of a few endpoints is bola's case) */
    int broad = endpoints >= (uint64_t)a->lim.enumeration_min_endpoints ||
                obs->identity_kind == ANALYTICS_ANONYMOUS ||
                (uint64_t)errors * 100 >= (uint64_t)requests * a->lim.enumeration_strict_percent;
    int holds = broad && paths >= (uint64_t)a->lim.enumeration_min_paths && erring;
    if (!f) {
        if (!holds)
            return;
        f = episode_open(a, ANALYTICS_ENUMERATION, actor, obs, s->w.first_ns);
        if (!f)
            return;
        f->count = requests - 1;
        *evidence(f, "errors_401_403_404") = errors - is_error(obs->status);
        *evidence(f, "not_found_404") = WSUM(&s->w, not_found) - (obs->status == 404);
        *evidence(f, "non_endpoint_requests") = WSUM(&s->w, noise) - (obs->endpoint < 0);
    }
    episode_update(a, f, obs, 1);
    *evidence(f, "errors_401_403_404") += is_error(obs->status);
    *evidence(f, "not_found_404") += obs->status == 404;
    *evidence(f, "non_endpoint_requests") += obs->endpoint < 0;
    if ((int64_t)paths > *evidence(f, "distinct_paths"))
        *evidence(f, "distinct_paths") = (int64_t)paths;
}

/* ---- bola --------------------------------------------------------------------------- */

/* Updates ownership; returns 1 when the object belongs to another identity
 * (first seen with one, and not shared by three or more). */
static int object_foreign(analytics *a, uint64_t endpoint_key, str_view object, uint64_t identity,
                          uint64_t ts) {
    uint64_t key = object_key(endpoint_key, object);
    int fresh;
    object_state *o = cache_get(&a->objects, key, ts, &fresh);
    if (fresh) {
        o->owner = identity;
        o->identities = 1;
        return 0;
    }
    if (o->owner == identity)
        return 0;
    if (o->identities == 1) {
        o->other = identity;
        o->identities = 2;
    } else if (o->identities == 2 && o->other != identity) {
        o->identities = 3;
    }
    return o->identities < 3;
}

static void detect_bola(analytics *a, const analytics_observation *obs) {
    if (!bola_applies(obs))
        return;
    int foreign = 0;
    for (uint32_t i = 0; i < obs->object_count && i < ANALYTICS_MAX_OBJECTS; i++)
        foreign |= object_foreign(a, obs->endpoint_key, obs->objects[i], obs->identity, obs->ts_ns);

    int fresh;
    peer_state *peer = cache_get(&a->peers, obs->endpoint_key, obs->ts_ns, &fresh);
    window_advance(&peer->w, obs->ts_ns, a->window_ns, &peer->identities, 1);
    peer->w.cur.requests++;
    sketch_add(&peer->identities[CUR], obs->identity);

    uint64_t key = bola_key(obs);
    bola_state *s = cache_get(&a->bola, key, obs->ts_ns, &fresh);
    window_advance(&s->w, obs->ts_ns, a->window_ns, &s->objects, 1);
    bucket *b = &s->w.cur;
    b->requests++;
    b->success += is_2xx(obs->status);
    b->errors += is_error(obs->status);
    b->foreign_ok += foreign && is_2xx(obs->status);
    b->foreign_denied += foreign && is_error(obs->status);
    for (uint32_t i = 0; i < obs->object_count && i < ANALYTICS_MAX_OBJECTS; i++)
        sketch_add(&s->objects[CUR],
                   hash_bytes(HASH_SEED, obs->objects[i].ptr, obs->objects[i].len));

    analytics_finding *f = episode_find(a, ANALYTICS_BOLA, obs->identity);
    uint64_t objects = sketch_count2(&s->objects[CUR], &s->objects[PREV]);
    uint32_t mine = WSUM(&s->w, requests);
    uint32_t foreign_total = WSUM(&s->w, foreign_ok) + WSUM(&s->w, foreign_denied);
    if (!f) {
        if (objects < (uint64_t)a->lim.bola_min_objects &&
            foreign_total < (uint32_t)a->lim.bola_min_foreign)
            return; /* neither rule can hold: the peers' level is not needed */
        uint64_t identities = sketch_count2(&peer->identities[CUR], &peer->identities[PREV]);
        uint32_t all = WSUM(&peer->w, requests);
        /* requests per other identity on this endpoint: the peers' level */
        double peers = 1.0;
        if (identities > 1 && all > mine)
            peers = (double)(all - mine) / (double)(identities - 1);
        if (peers < 1.0)
            peers = 1.0;
        int walks = objects >= (uint64_t)a->lim.bola_min_objects &&
                    (double)objects >= peers * (double)a->lim.bola_peer_factor;
        int reads_foreign = foreign_total >= (uint32_t)a->lim.bola_min_foreign &&
                            (double)foreign_total >= peers * (double)a->lim.bola_peer_factor;
        if (!walks && !reads_foreign)
            return;
        f = episode_open(a, ANALYTICS_BOLA, obs->identity, obs, s->w.first_ns);
        if (!f)
            return;
        f->count = mine - 1;
        *evidence(f, "foreign_objects_read_2xx") = WSUM(&s->w, foreign_ok);
        *evidence(f, "foreign_objects_denied") = WSUM(&s->w, foreign_denied);
        *evidence(f, "denied_401_403_404") = WSUM(&s->w, errors);
        *evidence(f, "distinct_objects") = (int64_t)objects;
        *evidence(f, "peer_requests_per_identity") = (int64_t)(peers + 0.5);
        episode_update(a, f, obs, 1);
        return;
    }
    episode_update(a, f, obs, 1);
    *evidence(f, "foreign_objects_read_2xx") += foreign && is_2xx(obs->status);
    *evidence(f, "foreign_objects_denied") += foreign && is_error(obs->status);
    *evidence(f, "denied_401_403_404") += is_error(obs->status);
    if ((int64_t)objects > *evidence(f, "distinct_objects"))
        *evidence(f, "distinct_objects") = (int64_t)objects;
}

/* ---- logins: credential stuffing and brute force ------------------------------------- */

static int login_failed(uint16_t status) {
    return status == 400 || status == 401 || status == 403 || status == 422;
}

static void detect_logins(analytics *a, const analytics_observation *obs) {
    if (!obs->login_attempt || !obs->username.ptr || obs->username.len == 0)
        return;
    int failed = login_failed(obs->status);
    uint64_t user = hash_bytes_nocase(HASH_SEED, obs->username.ptr, obs->username.len);
    uint64_t ip = hash_bytes(HASH_SEED, &obs->client_ip, sizeof obs->client_ip);
    int fresh;

    /* per address: is it a stuffing source? */
    login_ip_state *src =
        cache_get(&a->login_ips, hash_mix64(ip ^ obs->endpoint_key), obs->ts_ns, &fresh);
    window_advance(&src->w, obs->ts_ns, a->window_ns, &src->usernames, 1);
    src->w.cur.requests++;
    src->w.cur.errors += failed;
    src->w.cur.success += obs->login_success;
    sketch_add(&src->usernames[CUR], user);
    uint64_t usernames = sketch_count2(&src->usernames[CUR], &src->usernames[PREV]);
    uint32_t attempts = WSUM(&src->w, requests), failures = WSUM(&src->w, errors);
    if (!src->flagged && usernames >= (uint64_t)a->lim.stuffing_source_usernames &&
        (uint64_t)failures * 100 >= (uint64_t)attempts * a->lim.stuffing_failure_percent &&
        failures >= (uint32_t)a->lim.stuffing_source_usernames)
        src->flagged = 1;

    if (src->flagged) {
        campaign_state *c = cache_get(&a->campaigns, obs->endpoint_key, obs->ts_ns, &fresh);
        window_advance(&c->w, obs->ts_ns, a->window_ns, &c->usernames, 1);
        uint32_t before = c->source_count;
        add_client(c->sources, &c->source_count, ANALYTICS_MAX_CLIENTS, &obs->client_ip);
        if (c->source_count != before) {
            /* a new source brings the usernames it already tried */
            for (int i = 0; i < SKETCH; i++) {
                uint8_t r = src->usernames[CUR].reg[i] > src->usernames[PREV].reg[i]
                                ? src->usernames[CUR].reg[i]
                                : src->usernames[PREV].reg[i];
                if (c->usernames[CUR].reg[i] < r)
                    c->usernames[CUR].reg[i] = r;
            }
            c->w.cur.requests += attempts - 1;
            c->w.cur.errors += failures - failed;
            if (src->w.first_ns < c->w.first_ns)
                c->w.first_ns = src->w.first_ns;
        }
        c->w.cur.requests++;
        c->w.cur.errors += failed;
        sketch_add(&c->usernames[CUR], user);
        uint64_t campaign_users = sketch_count2(&c->usernames[CUR], &c->usernames[PREV]);
        analytics_finding *f = episode_find(a, ANALYTICS_CREDENTIAL_STUFFING, obs->endpoint_key);
        if (!f && campaign_users >= (uint64_t)a->lim.stuffing_min_usernames) {
            f = episode_open(a, ANALYTICS_CREDENTIAL_STUFFING, obs->endpoint_key, obs,
                             c->w.first_ns);
            if (f) {
                f->count = WSUM(&c->w, requests) - 1;
                *evidence(f, "failed") = WSUM(&c->w, errors) - failed;
                for (uint32_t i = 0; i < c->source_count; i++)
                    add_client(f->clients, &f->client_count, ANALYTICS_MAX_CLIENTS, &c->sources[i]);
                f->names_key = "compromised_usernames";
            }
        }
        if (f) {
            episode_update(a, f, obs, 0);
            f->client_ip = obs->client_ip;
            *evidence(f, "failed") += failed;
            *evidence(f, "successful_logins") += obs->login_success;
            if ((int64_t)campaign_users > *evidence(f, "distinct_usernames"))
                *evidence(f, "distinct_usernames") = (int64_t)campaign_users;
            if (obs->login_success)
                add_name(f, obs->username);
        }
    }

    /* per username: brute force */
    login_user_state *u =
        cache_get(&a->login_users, hash_mix64(user ^ obs->endpoint_key), obs->ts_ns, &fresh);
    if (fresh) {
        size_t n = obs->username.len < ANALYTICS_NAME_BYTES - 1 ? obs->username.len
                                                                : ANALYTICS_NAME_BYTES - 1;
        memcpy(u->username, obs->username.ptr, n);
        u->username[n] = 0;
    }
    window_advance(&u->w, obs->ts_ns, a->window_ns, NULL, 0);
    u->w.cur.requests++;
    u->w.cur.errors += failed;
    if (failed)
        add_client(u->clients, &u->client_count, LOGIN_CLIENTS, &obs->client_ip);
    uint64_t victim = hash_mix64(user ^ obs->endpoint_key ^ 0xb7);
    analytics_finding *f = episode_find(a, ANALYTICS_BRUTE_FORCE, victim);
    if (!f && WSUM(&u->w, errors) >= (uint32_t)a->lim.brute_force_min_failures &&
        u->client_count <= LOGIN_CLIENTS - 1) {
        f = episode_open(a, ANALYTICS_BRUTE_FORCE, victim, obs, u->w.first_ns);
        if (f) {
            f->count = WSUM(&u->w, requests) - 1;
            *evidence(f, "failed") = WSUM(&u->w, errors) - failed;
            for (uint32_t i = 0; i < u->client_count; i++)
                add_client(f->clients, &f->client_count, ANALYTICS_MAX_CLIENTS, &u->clients[i]);
            f->names_key = "target_usernames";
            add_name(f, obs->username);
        }
    }
    if (f && (failed || obs->login_success)) {
        episode_update(a, f, obs, 0);
        f->client_ip = obs->client_ip;
        *evidence(f, "failed") += failed;
        *evidence(f, "successful_logins") += obs->login_success;
    }
}

/* ---- weak tokens and cleartext credentials --------------------------------------------- */

/* Secrets that framework documentation, tutorials and sample configs ship
 * with; a token signed with one can be forged by anyone. */
static const char *const default_secret_list[] = {
    "secret",          "secretkey",  "secret-key", "secret_key",  "your-256-bit-secret",
    "your_jwt_secret", "jwt-secret", "jwt_secret", "jwtsecret",   "changeme",
    "change-me",       "changeit",   "mysecret",   "supersecret", "shhhhh",
    "keyboard cat",    "password",   "123456",     "default",     "test",
    "development",     "s3cr3t",     "key",        "private",     "token"};

/* 1 when the HMAC-signed token verifies with a default secret; checked
 * on the first token of each signer (a direct-mapped cache of verdicts). */
static int default_key(analytics *a, const analytics_jwt *j) {
    if (j->alg.len < 2 || (j->alg.ptr[0] | 0x20) != 'h' || (j->alg.ptr[1] | 0x20) != 's' ||
        !j->token.ptr)
        return 0;
    uint64_t fp = j->signer ? j->signer : 1;
    size_t slot = hash_mix64(fp) % JWT_VERDICTS;
    if (a->jwt_checked[slot] == fp)
        return a->jwt_weak[slot];
    enum { SECRETS = sizeof default_secret_list / sizeof default_secret_list[0] };
    jwt_key keys[SECRETS];
    for (size_t i = 0; i < SECRETS; i++)
        keys[i] = (jwt_key){default_secret_list[i], strlen(default_secret_list[i])};
    int weak = jwt_hs_key_find(j->token.ptr, j->token.len, keys, SECRETS) >= 0;
    a->jwt_checked[slot] = fp;
    a->jwt_weak[slot] = (uint8_t)weak;
    return weak;
}

static int alg_is_none(str_view alg) {
    return alg.len == 0 ||
           (alg.len == 4 && (alg.ptr[0] | 0x20) == 'n' && (alg.ptr[1] | 0x20) == 'o' &&
            (alg.ptr[2] | 0x20) == 'n' && (alg.ptr[3] | 0x20) == 'e');
}

static void detect_weak_jwt(analytics *a, const analytics_observation *obs) {
    const analytics_jwt *j = &obs->jwt;
    if (!j->present)
        return;
    int64_t max_life = a->lim.jwt_max_lifetime_seconds;
    int64_t now = (int64_t)(obs->ts_ns / 1000000000ULL);
    const char *reasons[4];
    int n = 0;
    if (alg_is_none(j->alg))
        reasons[n++] = "alg_none";
    if (!j->has_exp)
        reasons[n++] = "no_exp";
    else if ((j->iat && j->exp - j->iat > max_life) || j->exp - now > max_life)
        reasons[n++] = "long_lived";
    int weak_key = default_key(a, j);
    if (weak_key)
        reasons[n++] = "default_key";
    if (n == 0)
        return;
    uint64_t key = HASH_SEED;
    for (int i = 0; i < n; i++)
        key = hash_bytes(key, reasons[i], strlen(reasons[i]));
    key = hash_bytes(key, j->alg.ptr, j->alg.len);
    analytics_finding *f = episode_find(a, ANALYTICS_WEAK_JWT, key);
    if (!f) {
        f = episode_open(a, ANALYTICS_WEAK_JWT, key, obs, obs->ts_ns);
        if (!f)
            return;
        f->names_key = "reasons";
        for (int i = 0; i < n; i++)
            add_name(f, (str_view){reasons[i], (uint32_t)strlen(reasons[i])});
        f->severity = weak_key || alg_is_none(j->alg) ? "high" : "medium";
    }
    episode_update(a, f, obs, 0);
}

static void detect_cleartext(analytics *a, const analytics_observation *obs) {
    if (!obs->cleartext || (!obs->basic_auth && !obs->login_attempt))
        return;
    uint64_t key = hash_mix64(obs->endpoint_key ^ 0xc1ea);
    analytics_finding *f =
        episode_named(a, ANALYTICS_CLEARTEXT_CREDENTIALS, key, obs, "credential_kinds", "medium");
    if (!f)
        return;
    add_name(f, obs->basic_auth ? (str_view){"basic", 5} : (str_view){"login_password", 14});
    episode_update(a, f, obs, 0);
}

/* Closes the windows that ended before ts; returns the level. */
static level_state *level_at(analytics *a, uint64_t key, uint64_t ts,
                             uint64_t (*value)(level_state *)) {
    int fresh;
    level_state *l = cache_get(&a->levels, key, ts, &fresh);
    if (fresh || ts < l->start_ns) {
        if (fresh)
            l->start_ns = ts;
        return l;
    }
    while (ts - l->start_ns >= a->window_ns) {
        double closed = (double)value(l);
        l->average = l->windows ? 0.7 * l->average + 0.3 * closed : closed;
        l->windows++;
        l->count = 0;
        memset(&l->distinct, 0, sizeof l->distinct);
        l->start_ns += a->window_ns;
        if (ts - l->start_ns >= 16 * a->window_ns) { /* a long silence: decay at once */
            l->average = 0;
            l->start_ns = ts;
        }
    }
    return l;
}

static uint64_t level_count(level_state *l) {
    return l->count;
}

static uint64_t level_distinct(level_state *l) {
    return sketch_count2(&l->distinct, &l->distinct);
}

static void detect_traffic_spike(analytics *a, const analytics_observation *obs) {
    if (obs->endpoint < 0)
        return;
    uint64_t key = spike_key(obs);
    level_state *l = level_at(a, key, obs->ts_ns, level_count);
    l->count++;
    analytics_finding *f = episode_find(a, ANALYTICS_TRAFFIC_SPIKE, key);
    int holds = l->windows >= (uint32_t)a->lim.baseline_min_windows &&
                l->count >= (uint32_t)a->lim.traffic_spike_min_requests &&
                (double)l->count >= l->average * (double)a->lim.traffic_spike_factor;
    if (!f) {
        if (!holds)
            return;
        f = episode_open(a, ANALYTICS_TRAFFIC_SPIKE, key, obs, l->start_ns);
        if (!f)
            return;
        f->severity = "medium";
        f->count = l->count - 1;
        *evidence(f, "baseline_requests_per_window") = (int64_t)(l->average + 0.5);
    }
    episode_update(a, f, obs, 0);
    if ((int64_t)l->count > *evidence(f, "peak_requests_per_window"))
        *evidence(f, "peak_requests_per_window") = l->count;
}

static void detect_endpoint_spray(analytics *a, const analytics_observation *obs, uint64_t actor) {
    if (obs->endpoint < 0)
        return;
    uint64_t key = spray_key(actor);
    level_state *l = level_at(a, key, obs->ts_ns, level_distinct);
    sketch_add(&l->distinct, obs->endpoint_key);
    uint64_t endpoints = level_distinct(l);
    analytics_finding *f = episode_find(a, ANALYTICS_ENDPOINT_SPRAY, actor);
    int holds = l->windows >= (uint32_t)a->lim.baseline_min_windows &&
                endpoints >= (uint64_t)a->lim.endpoint_spray_min_endpoints &&
                (double)endpoints >= l->average * (double)a->lim.endpoint_spray_factor;
    if (!f) {
        if (!holds)
            return;
        f = episode_open(a, ANALYTICS_ENDPOINT_SPRAY, actor, obs, l->start_ns);
        if (!f)
            return;
        f->severity = "medium";
        *evidence(f, "baseline_endpoints_per_window") = (int64_t)(l->average + 0.5);
    }
    episode_update(a, f, obs, 1);
    if ((int64_t)endpoints > *evidence(f, "distinct_endpoints"))
        *evidence(f, "distinct_endpoints") = (int64_t)endpoints;
}

/* ---- nDPI's risks ---------------------------------------------------------------------- */

/* Evidence keys of the injection kinds, indexed by CLASSIFY_RISK_* bit. */
static const char *const injection_keys[] = {"sql_injection", "xss", "rce_injection",
                                             "path_traversal"};

static void detect_injection(analytics *a, const analytics_observation *obs, uint64_t actor) {
    uint32_t kinds = obs->risks & CLASSIFY_RISK_INJECTION;
    if (!kinds)
        return;
    analytics_finding *f =
        episode_named(a, ANALYTICS_INJECTION_ATTEMPT, actor, obs, "kinds", "medium");
    if (!f)
        return;
    for (int bit = 0; bit < (int)(sizeof injection_keys / sizeof injection_keys[0]); bit++) {
        if (!(kinds & (1u << bit)))
            continue;
        (*evidence(f, injection_keys[bit]))++;
        const char *name = classify_risk_name(bit);
        add_name(f, (str_view){name, (uint32_t)strlen(name)});
    }
    /* a server that answers an injection-looking request with success may
     * have run it */
    if (is_2xx(obs->status)) {
        (*evidence(f, "answered_2xx"))++;
        f->severity = "high";
    }
    episode_update(a, f, obs, 1);
}

static void detect_user_agent(analytics *a, const analytics_observation *obs, uint64_t actor) {
    if (!(obs->risks & CLASSIFY_RISK_SUSPICIOUS_USER_AGENT))
        return;
    analytics_finding *f =
        episode_named(a, ANALYTICS_SUSPICIOUS_USER_AGENT, actor, obs, "user_agents", "low");
    if (!f)
        return;
    add_name(f, obs->user_agent);
    /* nDPI 4.2 also sets "possible exploit" for any URL in a user agent,
     * which crawlers do: counted, but no reason to raise the severity */
    if (obs->risks & CLASSIFY_RISK_POSSIBLE_EXPLOIT)
        (*evidence(f, "possible_exploit"))++;
    episode_update(a, f, obs, 1);
}

void analytics_set_thresholds(analytics *a, const limits *lim) {
#define ANALYTICS_COPY(key) a->lim.key = lim->key;
    ANALYTICS_THRESHOLDS(ANALYTICS_COPY)
#undef ANALYTICS_COPY
}

int analytics_is_threshold(const char *key) {
    static const char *const keys[] = {
#define ANALYTICS_NAME(key) #key,
        ANALYTICS_THRESHOLDS(ANALYTICS_NAME)
#undef ANALYTICS_NAME
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i], key))
            return 1;
    return 0;
}

void analytics_observe(analytics *a, const analytics_observation *obs) {
    a->stats.observed++;
    uint64_t actor = actor_key(obs);
    cache_prefetch(&a->actors, actor);
    if (obs->endpoint >= 0) {
        cache_prefetch(&a->levels, spike_key(obs));
        cache_prefetch(&a->levels, spray_key(actor));
    }
    if (bola_applies(obs)) {
        cache_prefetch(&a->peers, obs->endpoint_key);
        cache_prefetch(&a->bola, bola_key(obs));
        for (uint32_t i = 0; i < obs->object_count && i < ANALYTICS_MAX_OBJECTS; i++)
            cache_prefetch(&a->objects, object_key(obs->endpoint_key, obs->objects[i]));
    }
    detect_enumeration(a, obs, actor);
    detect_bola(a, obs);
    detect_logins(a, obs);
    detect_weak_jwt(a, obs);
    detect_cleartext(a, obs);
    detect_traffic_spike(a, obs);
    detect_endpoint_spray(a, obs, actor);
    detect_injection(a, obs, actor);
    detect_user_agent(a, obs, actor);
    analytics_tick(a, obs->ts_ns);
}
