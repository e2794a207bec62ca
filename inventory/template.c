/*
 * Path templating: segment shapes, the route-word dictionary and the
 * cardinality learner (see template.h for the rules).
 *
 * The learner is an open-addressing table of positions keyed by a hash of
 * (scope, depth, index, templated prefix). Each position keeps up to
 * `cardinality` distinct value fingerprints; the slot that would hold one
 * more turns the position into a parameter for good, and its fingerprints
 * are no longer needed. Keys are 64-bit hashes: two positions colliding
 * would share a verdict, which at 2^-64 per pair is accepted.
 */
#include "inventory/template.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

/* ---- segment classes ---------------------------------------------------- */

static int is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}
static int is_alpha(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_hex(unsigned char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static unsigned char lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

int template_is_version(const char *segment, size_t len) {
    const unsigned char *s = (const unsigned char *)segment;
    if (len < 2 || len > 16 || lower(s[0]) != 'v' || !is_digit(s[1]))
        return 0;
    size_t i = 1;
    while (i < len && (is_digit(s[i]) || s[i] == '.'))
        i++;
    /* an optional pre-release word with an optional number: v2beta1, v1alpha */
    while (i < len && s[i] >= 'a' && s[i] <= 'z')
        i++;
    while (i < len && is_digit(s[i]))
        i++;
    return i == len;
}

/* Route words of public APIs, sorted for bsearch. Letters and digits only;
 * compounds (payment_methods, audit-logs, userProfile) are split first. */
static const char *const route_words[] = {"about",
                                          "access",
                                          "account",
                                          "accounts",
                                          "action",
                                          "actions",
                                          "activate",
                                          "active",
                                          "activities",
                                          "activity",
                                          "actuator",
                                          "add",
                                          "address",
                                          "addresses",
                                          "admin",
                                          "alert",
                                          "alerts",
                                          "all",
                                          "analytics",
                                          "api",
                                          "apis",
                                          "app",
                                          "apps",
                                          "archive",
                                          "article",
                                          "articles",
                                          "asset",
                                          "assets",
                                          "attachments",
                                          "audit",
                                          "auth",
                                          "authorize",
                                          "avatar",
                                          "backup",
                                          "balance",
                                          "balances",
                                          "base64",
                                          "basket",
                                          "batch",
                                          "billing",
                                          "blog",
                                          "book",
                                          "booking",
                                          "bookings",
                                          "books",
                                          "branch",
                                          "branches",
                                          "bulk",
                                          "by",
                                          "cache",
                                          "callback",
                                          "cancel",
                                          "card",
                                          "cards",
                                          "cart",
                                          "carts",
                                          "catalog",
                                          "categories",
                                          "category",
                                          "change",
                                          "channel",
                                          "channels",
                                          "charge",
                                          "charges",
                                          "chat",
                                          "check",
                                          "checkout",
                                          "children",
                                          "client",
                                          "clients",
                                          "close",
                                          "comment",
                                          "comments",
                                          "companies",
                                          "company",
                                          "config",
                                          "configs",
                                          "confirm",
                                          "connect",
                                          "console",
                                          "contact",
                                          "contacts",
                                          "content",
                                          "count",
                                          "countries",
                                          "country",
                                          "coupon",
                                          "coupons",
                                          "create",
                                          "credentials",
                                          "current",
                                          "customer",
                                          "customers",
                                          "dashboard",
                                          "data",
                                          "db",
                                          "debug",
                                          "default",
                                          "delete",
                                          "deliveries",
                                          "delivery",
                                          "detail",
                                          "details",
                                          "device",
                                          "devices",
                                          "discount",
                                          "discounts",
                                          "docs",
                                          "document",
                                          "documents",
                                          "download",
                                          "downloads",
                                          "edit",
                                          "email",
                                          "emails",
                                          "employee",
                                          "employees",
                                          "env",
                                          "event",
                                          "events",
                                          "export",
                                          "exports",
                                          "feed",
                                          "feedback",
                                          "file",
                                          "files",
                                          "filter",
                                          "find",
                                          "follow",
                                          "followers",
                                          "following",
                                          "forgot",
                                          "friends",
                                          "graphql",
                                          "group",
                                          "groups",
                                          "health",
                                          "healthz",
                                          "history",
                                          "home",
                                          "html",
                                          "http2",
                                          "image",
                                          "images",
                                          "import",
                                          "inbox",
                                          "index",
                                          "info",
                                          "internal",
                                          "inventory",
                                          "invite",
                                          "invites",
                                          "invoice",
                                          "invoices",
                                          "ipv4",
                                          "ipv6",
                                          "issue",
                                          "issues",
                                          "item",
                                          "items",
                                          "job",
                                          "jobs",
                                          "js",
                                          "json",
                                          "jwks",
                                          "key",
                                          "keys",
                                          "known",
                                          "label",
                                          "labels",
                                          "latest",
                                          "like",
                                          "likes",
                                          "limits",
                                          "line",
                                          "lines",
                                          "link",
                                          "links",
                                          "list",
                                          "live",
                                          "livez",
                                          "location",
                                          "locations",
                                          "lock",
                                          "log",
                                          "login",
                                          "logout",
                                          "logs",
                                          "manage",
                                          "me",
                                          "media",
                                          "member",
                                          "members",
                                          "merchant",
                                          "merchants",
                                          "message",
                                          "messages",
                                          "meta",
                                          "metadata",
                                          "method",
                                          "methods",
                                          "metrics",
                                          "mine",
                                          "mobile",
                                          "new",
                                          "news",
                                          "next",
                                          "note",
                                          "notes",
                                          "notification",
                                          "notifications",
                                          "oauth",
                                          "oauth2",
                                          "offer",
                                          "offers",
                                          "openapi",
                                          "openid",
                                          "option",
                                          "options",
                                          "order",
                                          "orders",
                                          "org",
                                          "organization",
                                          "organizations",
                                          "orgs",
                                          "owner",
                                          "page",
                                          "pages",
                                          "partner",
                                          "partners",
                                          "password",
                                          "payment",
                                          "payments",
                                          "payout",
                                          "payouts",
                                          "pending",
                                          "permission",
                                          "permissions",
                                          "photo",
                                          "photos",
                                          "ping",
                                          "plan",
                                          "plans",
                                          "policies",
                                          "policy",
                                          "post",
                                          "posts",
                                          "preferences",
                                          "price",
                                          "prices",
                                          "pricing",
                                          "private",
                                          "product",
                                          "products",
                                          "profile",
                                          "profiles",
                                          "project",
                                          "projects",
                                          "public",
                                          "purchase",
                                          "purchases",
                                          "query",
                                          "queue",
                                          "quote",
                                          "quotes",
                                          "rates",
                                          "read",
                                          "readyz",
                                          "recent",
                                          "record",
                                          "records",
                                          "redirect",
                                          "refresh",
                                          "refund",
                                          "refunds",
                                          "register",
                                          "registration",
                                          "release",
                                          "releases",
                                          "remove",
                                          "report",
                                          "reports",
                                          "repos",
                                          "request",
                                          "requests",
                                          "reset",
                                          "resource",
                                          "resources",
                                          "rest",
                                          "review",
                                          "reviews",
                                          "revoke",
                                          "role",
                                          "roles",
                                          "root",
                                          "rpc",
                                          "rules",
                                          "schema",
                                          "schemas",
                                          "search",
                                          "secret",
                                          "secrets",
                                          "security",
                                          "send",
                                          "service",
                                          "services",
                                          "session",
                                          "sessions",
                                          "settings",
                                          "share",
                                          "shipment",
                                          "shipments",
                                          "shipping",
                                          "shop",
                                          "signin",
                                          "signout",
                                          "signup",
                                          "sitemap",
                                          "sso",
                                          "stats",
                                          "status",
                                          "store",
                                          "stores",
                                          "stream",
                                          "subscribe",
                                          "subscription",
                                          "subscriptions",
                                          "summary",
                                          "support",
                                          "swagger",
                                          "sync",
                                          "system",
                                          "tag",
                                          "tags",
                                          "task",
                                          "tasks",
                                          "team",
                                          "teams",
                                          "tenant",
                                          "tenants",
                                          "test",
                                          "thread",
                                          "threads",
                                          "ticket",
                                          "tickets",
                                          "token",
                                          "tokens",
                                          "top",
                                          "track",
                                          "tracking",
                                          "transaction",
                                          "transactions",
                                          "transfer",
                                          "transfers",
                                          "trending",
                                          "txt",
                                          "types",
                                          "unsubscribe",
                                          "update",
                                          "upload",
                                          "uploads",
                                          "usage",
                                          "user",
                                          "userinfo",
                                          "users",
                                          "utf8",
                                          "v",
                                          "validate",
                                          "verify",
                                          "version",
                                          "view",
                                          "views",
                                          "wallet",
                                          "wallets",
                                          "webhook",
                                          "webhooks",
                                          "well",
                                          "whoami",
                                          "wishlist",
                                          "write",
                                          "xml",
                                          "yaml"};

typedef struct word_key {
    const char *ptr;
    size_t len;
} word_key;

static int word_compare(const void *key, const void *elem) {
    const word_key *k = key;
    const char *w = *(const char *const *)elem;
    size_t i = 0;
    for (; i < k->len && w[i]; i++) {
        unsigned char a = lower((unsigned char)k->ptr[i]), b = (unsigned char)w[i];
        if (a != b)
            return a < b ? -1 : 1;
    }
    if (i == k->len)
        return w[i] ? -1 : 0;
    return 1;
}

static int is_route_word(const char *s, size_t len) {
    if (len == 0 || len > 32)
        return 0;
    word_key key = {s, len};
    return bsearch(&key, route_words, sizeof route_words / sizeof route_words[0],
                   sizeof route_words[0], word_compare) != NULL;
}

int template_is_word(const char *segment, size_t len) {
    /* split at '-', '_', '.' and lower-to-upper case changes (camelCase) */
    size_t start = 0;
    int parts = 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)segment[i] : 0;
        int boundary = i == len || c == '-' || c == '_' || c == '.';
        int camel = i > start && i < len && c >= 'A' && c <= 'Z' && segment[i - 1] >= 'a' &&
                    segment[i - 1] <= 'z';
        if (!boundary && !camel) {
            if (!is_alpha(c) && !is_digit(c))
                return 0;
            continue;
        }
        if (i > start) {
            if (!is_route_word(segment + start, i - start))
                return 0;
            parts++;
        }
        start = camel ? i : i + 1;
    }
    return parts > 0;
}

static int is_uuid(const unsigned char *s, size_t len) {
    if (len != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!is_hex(s[i])) {
            return 0;
        }
    }
    return 1;
}

static int is_date(const unsigned char *s, size_t len) {
    /* YYYY-MM-DD, optionally followed by a time part (2024-05-01T10:00:00Z) */
    if (len < 10 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) || !is_digit(s[3]) ||
        s[4] != '-' || !is_digit(s[5]) || !is_digit(s[6]) || s[7] != '-' || !is_digit(s[8]) ||
        !is_digit(s[9]))
        return 0;
    return len == 10 || s[10] == 'T' || s[10] == 't' || s[10] == '_' || s[10] == '%';
}

static int is_email(const unsigned char *s, size_t len) {
    size_t at = len;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '@') {
            at = i;
            break;
        }
        if (i + 2 < len && s[i] == '%' && s[i + 1] == '4' && s[i + 2] == '0') {
            at = i + 2;
            break;
        }
    }
    if (at == 0 || at + 1 >= len)
        return 0;
    for (size_t i = at + 1; i + 1 < len; i++)
        if (s[i] == '.' && i > at + 1)
            return 1;
    return 0;
}

template_shape template_segment_shape(const char *segment, size_t len) {
    const unsigned char *s = (const unsigned char *)segment;
    if (len == 0)
        return TEMPLATE_LITERAL;
    if (len >= 2 && s[0] == '{' && s[len - 1] == '}')
        return TEMPLATE_PARAM;
    size_t digits = 0, hex_letters = 0, letters = 0, other = 0, token_chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (is_digit(c)) {
            digits++;
        } else if (is_alpha(c)) {
            letters++;
            if (is_hex(c))
                hex_letters++;
        } else if (c == '-' || c == '_' || c == '=' || c == '~' || c == '.') {
            token_chars++;
        } else {
            other++;
        }
    }
    if (digits == len)
        return TEMPLATE_INTEGER;
    if (is_uuid(s, len))
        return TEMPLATE_UUID;
    if (is_date(s, len))
        return TEMPLATE_DATE;
    if (is_email(s, len))
        return TEMPLATE_EMAIL;
    if (template_is_version(segment, len) || template_is_word(segment, len))
        return TEMPLATE_LITERAL;
    if (other == 0 && token_chars == 0 && letters == hex_letters && digits > 0 && letters > 0) {
        if (len == 24)
            return TEMPLATE_OBJECT_ID;
        if (len >= 8)
            return TEMPLATE_HEX;
    }
    if (other == 0 && len >= 16 && digits > 0 && letters > 0)
        return TEMPLATE_TOKEN;
    if (other == 0 && token_chars == 0 && digits > 0 && letters > 0 &&
        (digits >= 3 || (len >= 8 && digits >= 2)))
        return TEMPLATE_ALNUM_ID;
    return TEMPLATE_LITERAL;
}

const char *template_placeholder(template_shape shape) {
    switch (shape) {
    case TEMPLATE_UUID:
        return "{uuid}";
    case TEMPLATE_EMAIL:
        return "{email}";
    case TEMPLATE_DATE:
        return "{date}";
    case TEMPLATE_TOKEN:
        return "{token}";
    case TEMPLATE_LITERAL:
    case TEMPLATE_PARAM:
        return "{param}";
    case TEMPLATE_INTEGER:
    case TEMPLATE_OBJECT_ID:
    case TEMPLATE_HEX:
    case TEMPLATE_ALNUM_ID:
        break;
    }
    return "{id}";
}

/* ---- the learner ---------------------------------------------------------- */

struct template_learner {
    uint64_t *keys;   /* 0 = empty slot */
    uint64_t *values; /* cardinality fingerprints per slot */
    uint32_t *counts; /* distinct values seen; cardinality means parameter */
    uint32_t mask;    /* slots - 1 */
    uint32_t max_positions;
    uint32_t cardinality;
    template_learner_stats stats;
};

as_status template_learner_create(uint32_t max_positions, uint32_t cardinality,
                                  template_learner **out) {
    *out = NULL;
    if (max_positions == 0 || cardinality < 2 || max_positions > (1u << 28))
        return AS_ERR_ARG;
    uint32_t slots = 16;
    while (slots < max_positions + max_positions / 2)
        slots <<= 1;
    template_learner *l = calloc(1, sizeof *l);
    if (!l)
        return AS_ERR_NOMEM;
    l->keys = calloc(slots, sizeof *l->keys);
    l->counts = calloc(slots, sizeof *l->counts);
    l->values = calloc((size_t)slots * cardinality, sizeof *l->values);
    if (!l->keys || !l->counts || !l->values) {
        template_learner_destroy(l);
        return AS_ERR_NOMEM;
    }
    l->mask = slots - 1;
    l->max_positions = max_positions;
    l->cardinality = cardinality;
    *out = l;
    return AS_OK;
}

void template_learner_destroy(template_learner *learner) {
    if (!learner)
        return;
    free(learner->keys);
    free(learner->values);
    free(learner->counts);
    free(learner);
}

template_learner_stats template_learner_get_stats(const template_learner *learner) {
    return learner->stats;
}

/* Slot of key, or of the empty slot where it would go; UINT32_MAX if the
 * key is absent and the table is full. */
static uint32_t learner_find(template_learner *l, uint64_t key, int insert) {
    uint32_t i = (uint32_t)key & l->mask;
    for (;;) {
        if (l->keys[i] == key)
            return i;
        if (l->keys[i] == 0) {
            if (!insert)
                return UINT32_MAX;
            if (l->stats.positions >= l->max_positions) {
                l->stats.table_full++;
                return UINT32_MAX;
            }
            l->keys[i] = key;
            l->stats.positions++;
            return i;
        }
        i = (i + 1) & l->mask;
    }
}

/* Is the position a parameter (after counting value when learn is set)?
 * Sets *learned when this call made it one. */
static int learner_position(template_learner *l, uint64_t key, uint64_t value, int learn,
                            int *learned) {
    uint32_t slot = learner_find(l, key, learn);
    if (slot == UINT32_MAX)
        return 0;
    uint32_t n = l->counts[slot];
    if (n >= l->cardinality)
        return 1;
    if (!learn)
        return 0;
    uint64_t *vals = l->values + (size_t)slot * l->cardinality;
    for (uint32_t i = 0; i < n; i++)
        if (vals[i] == value)
            return 0;
    if (n + 1 == l->cardinality) {
        l->counts[slot] = l->cardinality;
        l->stats.learned++;
        *learned = 1;
        return 1;
    }
    vals[n] = value;
    l->counts[slot] = n + 1;
    return 0;
}

typedef struct out_buf {
    char *p;
    size_t len, cap;
    int cut;
} out_buf;

static void out_put(out_buf *o, const char *s, size_t n) {
    if (o->len + n + 1 > o->cap) {
        n = o->cap > o->len + 1 ? o->cap - o->len - 1 : 0;
        o->cut = 1;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = 0;
}

template_result template_learner_apply(template_learner *learner, uint64_t scope, const char *path,
                                       size_t path_len, int learn, char *out, size_t cap) {
    template_result r = {0, 0, 0};
    struct {
        const char *p;
        size_t n;
    } seg[TEMPLATE_MAX_SEGMENTS];
    int count = 0;
    for (size_t i = 0; i < path_len;) {
        while (i < path_len && path[i] == '/')
            i++;
        size_t start = i;
        while (i < path_len && path[i] != '/')
            i++;
        if (i == start)
            continue;
        if (count == TEMPLATE_MAX_SEGMENTS) {
            learner->stats.cut_segments++;
            break;
        }
        seg[count].p = path + start;
        seg[count].n = i - start;
        count++;
    }
    if (cap == 0)
        return r;
    out_buf o = {out, 0, cap, 0};
    out[0] = 0;
    if (count == 0)
        out_put(&o, "/", 1);
    for (int i = 0; i < count; i++) {
        size_t prefix_len = o.len;
        out_put(&o, "/", 1);
        template_shape shape = template_segment_shape(seg[i].p, seg[i].n);
        if (shape == TEMPLATE_PARAM) {
            out_put(&o, seg[i].p, seg[i].n);
            continue;
        }
        if (shape == TEMPLATE_LITERAL && !template_is_word(seg[i].p, seg[i].n) &&
            !template_is_version(seg[i].p, seg[i].n)) {
            uint64_t key =
                hash_bytes(scope ^ hash_mix64((uint64_t)count << 8 | (uint64_t)i), out, prefix_len);
            key = hash_mix64(key) | 1;
            uint64_t value = hash_mix64(hash_bytes(HASH_SEED, seg[i].p, seg[i].n));
            if (learner_position(learner, key, value, learn, &r.learned))
                shape = TEMPLATE_PARAM;
        }
        if (shape == TEMPLATE_LITERAL)
            out_put(&o, seg[i].p, seg[i].n);
        else
            out_put(&o, template_placeholder(shape), strlen(template_placeholder(shape)));
    }
    if (o.cut)
        learner->stats.cut_characters++;
    r.len = o.len;
    r.segments = count;
    return r;
}
