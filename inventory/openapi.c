/*
 * OpenAPI reader and request matcher (see openapi.h).
 *
 * Loading is two passes of libyaml over the bytes: an event pass that only
 * checks the shape of the stream (one document, nesting within
 * spec_nesting_depth, syntax) before anything is built, then libyaml's
 * document loader, whose node tree is walked for the few things the sensor
 * needs and freed. What is kept is copied into an arena owned by the spec:
 * the operation table, the security schemes, the base paths, and a segment
 * trie over the path templates.
 *
 * The trie has one node per template prefix. A node's literal children are
 * in one open-addressing hash table for the whole spec, keyed by (parent
 * node, percent-decoded segment); its template child (`{x}`) and its mixed
 * children (`{name}.json`) hang off the node. Each node holds, per method,
 * the operation whose template ends there. Matching walks the request path
 * segment by segment, literal child first, then mixed, then template, and
 * backtracks when a branch ends without an operation for the method; the
 * recursion is bounded by the template depth and the work by
 * MATCH_STEPS_MAX node visits.
 */
#include "openapi.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "common/ascii.h"

#define TEMPLATE_SEGMENTS_MAX 64 /* segments in one path template */
#define MATCH_STEPS_MAX 4096     /* trie nodes visited by one match */
#define MIXED_SEGMENT_MAX 512    /* decoded request segment tried against mixed segments */
#define POINTER_TOKEN_MAX 1024   /* one token of a $ref JSON pointer */
#define SERVER_URL_MAX 2048      /* server URL after variable substitution */
#define ARENA_BLOCK_BYTES 65536

/* ---------------------------------------------------------------- spec */

typedef struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t size;
    char data[];
} arena_block;

/* An operation while loading: its parameters and schemes are ranges of the
 * spec-wide arrays, turned into pointers once the arrays stop growing. */
typedef struct op_entry {
    openapi_operation pub;
    uint32_t param_start;
    uint32_t scheme_start;
} op_entry;

typedef struct trie_node {
    uint32_t template_child;            /* node of the `{x}` child; 0 = none (0 is the root) */
    uint32_t first_mixed;               /* index + 1 into mixed; 0 = none */
    uint32_t ops[OPENAPI_METHOD_COUNT]; /* operation index + 1; 0 = none */
} trie_node;

typedef struct trie_edge {
    uint32_t parent;
    uint32_t child; /* 0 = empty slot */
    uint32_t hash;
    str_view segment; /* percent-decoded literal */
} trie_edge;

typedef struct trie_mixed {
    str_view pattern; /* segment as declared, e.g. "{name}.json" */
    uint32_t child;
    uint32_t next; /* index + 1 of the next mixed child of the same node; 0 = end */
} trie_mixed;

struct openapi_spec {
    arena_block *arena;
    char version[16];
    op_entry *ops;
    uint32_t op_count, op_cap;
    uint32_t deprecated;
    openapi_param *params;
    uint32_t param_count, param_cap;
    uint32_t *op_schemes;
    uint32_t op_scheme_count, op_scheme_cap;
    openapi_security_scheme *schemes;
    uint32_t scheme_count, scheme_cap;
    str_view *base_paths;
    uint32_t base_path_count, base_path_cap;
    trie_node *nodes;
    uint32_t node_count, node_cap;
    trie_edge *edges; /* hash table of literal children, edge_mask + 1 slots */
    uint32_t edge_mask, edge_count;
    trie_mixed *mixed;
    uint32_t mixed_count, mixed_cap;
    openapi_load_stats stats;
};

static char *arena_alloc(openapi_spec *s, size_t len) {
    arena_block *b = s->arena;
    if (!b || b->size - b->used < len) {
        size_t size = len > ARENA_BLOCK_BYTES ? len : ARENA_BLOCK_BYTES;
        b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->size = size;
        b->used = 0;
        b->next = s->arena;
        s->arena = b;
    }
    char *p = b->data + b->used;
    b->used += len;
    return p;
}

/* Grows an array to hold `need` elements; 0 on allocation failure. */
static int grow(void **array, uint32_t *cap, uint32_t need, size_t elem_size) {
    if (need <= *cap)
        return 1;
    uint32_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(*array, (size_t)n * elem_size);
    if (!p)
        return 0;
    *array = p;
    *cap = n;
    return 1;
}

/* ------------------------------------------------- segments and hashing */

/* The byte at s[*i] of a percent-encoded string, decoded; advances *i.
 * A '%' not followed by two hex digits stands for itself. */
static unsigned char decode_next(const char *s, size_t len, size_t *i) {
    size_t at = *i;
    if (s[at] == '%' && at + 2 < len) {
        int hi = ascii_hex_value((unsigned char)s[at + 1]),
            lo = ascii_hex_value((unsigned char)s[at + 2]);
        if (hi >= 0 && lo >= 0) {
            *i = at + 3;
            return (unsigned char)(hi * 16 + lo);
        }
    }
    *i = at + 1;
    return (unsigned char)s[at];
}

static size_t decode_into(const char *s, size_t len, char *out, size_t out_len) {
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = decode_next(s, len, &i);
        if (n == out_len)
            return SIZE_MAX;
        out[n++] = (char)c;
    }
    return n;
}

/* FNV-1a over the parent node and the decoded segment. */
static uint32_t hash_start(uint32_t parent) {
    uint32_t h = 2166136261u;
    for (int i = 0; i < 4; i++) {
        h ^= (parent >> (8 * i)) & 0xff;
        h *= 16777619u;
    }
    return h;
}

static uint32_t hash_add(uint32_t h, unsigned char c) {
    return (h ^ c) * 16777619u;
}

static uint32_t hash_encoded(uint32_t parent, const char *s, size_t len) {
    uint32_t h = hash_start(parent);
    for (size_t i = 0; i < len;)
        h = hash_add(h, decode_next(s, len, &i));
    return h;
}

static int equals_encoded(const char *s, size_t len, str_view decoded) {
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        unsigned char c = decode_next(s, len, &i);
        if (n == decoded.len || (unsigned char)decoded.ptr[n] != c)
            return 0;
    }
    return n == decoded.len;
}

/* A mixed segment matches when its literal parts match and every `{x}`
 * takes at least one byte: `{x}` is "one byte, then any bytes", matched
 * greedily with backtracking to the last template. */
static int mixed_matches(str_view pattern, const char *s, size_t len) {
    size_t pi = 0, si = 0, resume_pi = SIZE_MAX, resume_si = 0;
    while (si < len) {
        if (pi < pattern.len && pattern.ptr[pi] == '{') {
            const char *close = memchr(pattern.ptr + pi, '}', pattern.len - pi);
            pi = (size_t)(close - pattern.ptr) + 1;
            si++;
            resume_pi = pi;
            resume_si = si;
        } else if (pi < pattern.len && pattern.ptr[pi] == s[si]) {
            pi++;
            si++;
        } else if (resume_pi != SIZE_MAX) {
            pi = resume_pi;
            si = ++resume_si;
        } else {
            return 0;
        }
    }
    return pi == pattern.len;
}

/* ---------------------------------------------------------------- trie */

/* The literal child of `parent` for a request segment (percent-encoded as
 * sent), or 0. Segments without '%' (nearly all) skip the decoder. */
static uint32_t edge_find(const openapi_spec *s, uint32_t parent, const char *seg, size_t len) {
    if (!s->edges)
        return 0;
    int encoded = memchr(seg, '%', len) != NULL;
    uint32_t h;
    if (encoded) {
        h = hash_encoded(parent, seg, len);
    } else {
        h = hash_start(parent);
        for (size_t i = 0; i < len; i++)
            h = hash_add(h, (unsigned char)seg[i]);
    }
    for (uint32_t i = h & s->edge_mask;; i = (i + 1) & s->edge_mask) {
        const trie_edge *e = &s->edges[i];
        if (!e->child)
            return 0;
        if (e->hash != h || e->parent != parent)
            continue;
        if (encoded ? equals_encoded(seg, len, e->segment)
                    : e->segment.len == len && memcmp(e->segment.ptr, seg, len) == 0)
            return e->child;
    }
}

static void edge_place(trie_edge *table, uint32_t mask, const trie_edge *e) {
    uint32_t i = e->hash & mask;
    while (table[i].child)
        i = (i + 1) & mask;
    table[i] = *e;
}

/* Keeps the table at most half full. */
static int edge_reserve(openapi_spec *s) {
    uint32_t slots = s->edges ? s->edge_mask + 1 : 0;
    if ((s->edge_count + 1) * 2 <= slots)
        return 1;
    uint32_t n = slots ? slots * 2 : 64;
    trie_edge *table = calloc(n, sizeof *table);
    if (!table)
        return 0;
    for (uint32_t i = 0; i < slots; i++)
        if (s->edges[i].child)
            edge_place(table, n - 1, &s->edges[i]);
    free(s->edges);
    s->edges = table;
    s->edge_mask = n - 1;
    return 1;
}

/* A new child node; 0 on allocation failure (the root is never a child). */
static uint32_t node_new(openapi_spec *s) {
    if (!grow((void **)&s->nodes, &s->node_cap, s->node_count + 1, sizeof *s->nodes))
        return 0;
    memset(&s->nodes[s->node_count], 0, sizeof *s->nodes);
    return s->node_count++;
}

/* ------------------------------------------------------------- loading */

typedef struct load {
    openapi_spec *spec;
    const limits *lim;
    const char *name;
    const char *data; /* the bytes libyaml reads */
    size_t len;
    yaml_document_t doc;
    char *err;
    size_t err_len;
    as_status status; /* first error; AS_OK while loading goes well */
    int swagger;      /* 1 for a Swagger 2.0 document */
    int major, minor;
} load;

__attribute__((format(printf, 5, 6))) static as_status
fail_at(load *ld, as_status st, size_t line, size_t column, const char *fmt, ...) {
    if (ld->status != AS_OK)
        return ld->status;
    ld->status = st;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (ld->err_len)
        snprintf(ld->err, ld->err_len, "%s:%zu:%zu: %s", ld->name, line, column, what);
    return st;
}

#define fail_node(ld, st, node, ...)                                                               \
    fail_at(ld, st, (node)->start_mark.line + 1, (node)->start_mark.column + 1, __VA_ARGS__)

static as_status fail_nomem(load *ld) {
    if (ld->status == AS_OK && ld->err_len)
        snprintf(ld->err, ld->err_len, "%s: out of memory while reading the spec", ld->name);
    if (ld->status == AS_OK)
        ld->status = AS_ERR_NOMEM;
    return ld->status;
}

/* The parser's complaint. Reader errors (bad UTF-8, control characters)
 * carry a byte offset, not a mark: turn it into a line and column. */
static as_status fail_parser(load *ld, const yaml_parser_t *p) {
    if (p->error == YAML_MEMORY_ERROR)
        return fail_nomem(ld);
    const char *problem = p->problem ? p->problem : "unreadable input";
    if (p->error == YAML_READER_ERROR) {
        size_t line = 1, column = 1;
        for (size_t i = 0; i < p->problem_offset && i < ld->len; i++) {
            column++;
            if (ld->data[i] == '\n') {
                line++;
                column = 1;
            }
        }
        return fail_at(ld, AS_ERR_FORMAT, line, column, "not YAML or JSON text: %s (byte 0x%02x)",
                       problem, (unsigned)p->problem_value & 0xff);
    }
    if (p->context)
        return fail_at(ld, AS_ERR_FORMAT, p->problem_mark.line + 1, p->problem_mark.column + 1,
                       "not valid YAML or JSON: %s (%s that started at line %zu, column %zu)",
                       problem, p->context, p->context_mark.line + 1, p->context_mark.column + 1);
    return fail_at(ld, AS_ERR_FORMAT, p->problem_mark.line + 1, p->problem_mark.column + 1,
                   "not valid YAML or JSON: %s", problem);
}

static yaml_node_t *node_at(load *ld, int id) {
    return yaml_document_get_node(&ld->doc, id);
}

static str_view scalar_view(const yaml_node_t *n) {
    str_view v = {(const char *)n->data.scalar.value, (uint32_t)n->data.scalar.length};
    return v;
}

static int scalar_is(const yaml_node_t *n, const char *text) {
    size_t len = strlen(text);
    return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == len &&
           memcmp(n->data.scalar.value, text, len) == 0;
}

static int scalar_is_empty(const yaml_node_t *n) {
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (n->data.scalar.length == 0 || scalar_is(n, "null") || scalar_is(n, "~"));
}

static const char *kind_name(const yaml_node_t *n) {
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a sequence";
    return scalar_is_empty(n) ? "empty" : "a scalar";
}

static yaml_node_t *map_get_n(load *ld, const yaml_node_t *map, const char *key, size_t len) {
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *k = node_at(ld, pair->key);
        if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == len &&
            memcmp(k->data.scalar.value, key, len) == 0)
            return node_at(ld, pair->value);
    }
    return NULL;
}

static yaml_node_t *map_get(load *ld, const yaml_node_t *map, const char *key) {
    return map_get_n(ld, map, key, strlen(key));
}

/* 1 when n is of the wanted type; else records "WHAT is KIND, expected ...". */
static int expect_type(load *ld, const yaml_node_t *n, yaml_node_type_t type, const char *what) {
    if (n->type == type)
        return 1;
    const char *wanted = type == YAML_MAPPING_NODE    ? "a mapping"
                         : type == YAML_SEQUENCE_NODE ? "a sequence"
                                                      : "a scalar";
    fail_node(ld, AS_ERR_FORMAT, n, "%s is %s, expected %s", what, kind_name(n), wanted);
    return 0;
}

static int keep(load *ld, const char *p, size_t len, str_view *out) {
    char *copy = arena_alloc(ld->spec, len + 1);
    if (!copy) {
        fail_nomem(ld);
        return 0;
    }
    memcpy(copy, p, len);
    copy[len] = '\0';
    out->ptr = copy;
    out->len = (uint32_t)len;
    return 1;
}

static int keep_scalar(load *ld, const yaml_node_t *n, const char *what, str_view *out) {
    if (!expect_type(ld, n, YAML_SCALAR_NODE, what))
        return 0;
    return keep(ld, (const char *)n->data.scalar.value, n->data.scalar.length, out);
}

/* ------------------------------------------------------------- $ref */

/* The node a local JSON pointer ("#/components/parameters/limit") names,
 * or NULL. Tokens are percent-decoded, then ~1 -> '/' and ~0 -> '~'. */
static yaml_node_t *pointer_target(load *ld, str_view ref) {
    yaml_node_t *cur = yaml_document_get_root_node(&ld->doc);
    size_t i = 1;
    if (ref.len == 1)
        return cur;
    if (ref.ptr[1] != '/')
        return NULL;
    while (cur && i < ref.len) {
        size_t start = i + 1, stop = start;
        while (stop < ref.len && ref.ptr[stop] != '/')
            stop++;
        char raw[POINTER_TOKEN_MAX], token[POINTER_TOKEN_MAX];
        size_t raw_len = decode_into(ref.ptr + start, stop - start, raw, sizeof raw);
        if (raw_len == SIZE_MAX)
            return NULL;
        size_t n = 0;
        for (size_t k = 0; k < raw_len; k++) {
            if (raw[k] == '~' && k + 1 < raw_len && (raw[k + 1] == '0' || raw[k + 1] == '1')) {
                token[n++] = raw[k + 1] == '0' ? '~' : '/';
                k++;
            } else {
                token[n++] = raw[k];
            }
        }
        if (cur->type == YAML_MAPPING_NODE) {
            cur = map_get_n(ld, cur, token, n);
        } else if (cur->type == YAML_SEQUENCE_NODE) {
            size_t index = 0;
            if (n == 0 || n > 9)
                return NULL;
            for (size_t k = 0; k < n; k++) {
                if (token[k] < '0' || token[k] > '9')
                    return NULL;
                index = index * 10 + (size_t)(token[k] - '0');
            }
            size_t count = (size_t)(cur->data.sequence.items.top - cur->data.sequence.items.start);
            cur = index < count ? node_at(ld, cur->data.sequence.items.start[index]) : NULL;
        } else {
            return NULL;
        }
        i = stop;
    }
    return cur;
}

/* Follows `$ref` from n, at most spec_ref_hops times. Returns the node
 * reached; NULL for a reference outside this document (counted, the caller
 * skips the item) or on error (ld->status set). */
static yaml_node_t *deref(load *ld, yaml_node_t *n) {
    for (int64_t hops = 0; n && n->type == YAML_MAPPING_NODE; hops++) {
        yaml_node_t *ref = map_get(ld, n, "$ref");
        if (!ref)
            return n;
        if (!expect_type(ld, ref, YAML_SCALAR_NODE, "$ref"))
            return NULL;
        if (hops >= ld->lim->spec_ref_hops) {
            fail_node(ld, AS_ERR_LIMIT, ref,
                      "more than %lld chained $ref (spec_ref_hops): a reference cycle?",
                      (long long)ld->lim->spec_ref_hops);
            return NULL;
        }
        str_view target = scalar_view(ref);
        if (target.len == 0 || target.ptr[0] != '#') {
            ld->spec->stats.unresolved_refs++;
            return NULL;
        }
        yaml_node_t *next = pointer_target(ld, target);
        if (!next) {
            fail_node(ld, AS_ERR_FORMAT, ref, "$ref '%.*s' names nothing in this document",
                      (int)target.len, target.ptr);
            return NULL;
        }
        n = next;
    }
    return n;
}

/* ------------------------------------------------- security schemes */

static uint32_t scheme_index(load *ld, str_view name) {
    openapi_spec *s = ld->spec;
    for (uint32_t i = 0; i < s->scheme_count; i++)
        if (s->schemes[i].name.len == name.len &&
            memcmp(s->schemes[i].name.ptr, name.ptr, name.len) == 0)
            return i;
    if (!grow((void **)&s->schemes, &s->scheme_cap, s->scheme_count + 1, sizeof *s->schemes)) {
        fail_nomem(ld);
        return UINT32_MAX;
    }
    openapi_security_scheme *sc = &s->schemes[s->scheme_count];
    memset(sc, 0, sizeof *sc);
    if (!keep(ld, name.ptr, name.len, &sc->name))
        return UINT32_MAX;
    return s->scheme_count++;
}

static int param_in_from(const yaml_node_t *n, openapi_param_in *in) {
    static const char *const names[] = {"path", "query", "header", "cookie"};
    for (int i = 0; i < 4; i++)
        if (scalar_is(n, names[i])) {
            *in = (openapi_param_in)i;
            return 1;
        }
    return 0;
}

static int view_equals_nocase(str_view v, const char *text) {
    size_t len = strlen(text);
    return v.len == len && ascii_equal_nocase(v.ptr, text, len);
}

static void read_scheme(load *ld, str_view name, yaml_node_t *def) {
    uint32_t index = scheme_index(ld, name);
    if (index == UINT32_MAX)
        return;
    def = deref(ld, def);
    if (!def || !expect_type(ld, def, YAML_MAPPING_NODE, "a security scheme"))
        return;
    openapi_security_scheme *sc = &ld->spec->schemes[index];
    yaml_node_t *type = map_get(ld, def, "type");
    if (!type) {
        fail_node(ld, AS_ERR_FORMAT, def, "security scheme '%.*s' has no 'type'", (int)name.len,
                  name.ptr);
        return;
    }
    if (scalar_is(type, "http")) {
        yaml_node_t *scheme = map_get(ld, def, "scheme");
        if (scheme && !keep_scalar(ld, scheme, "scheme", &sc->http_scheme))
            return;
        yaml_node_t *format = map_get(ld, def, "bearerFormat");
        if (format && !keep_scalar(ld, format, "bearerFormat", &sc->bearer_format))
            return;
        sc->type = view_equals_nocase(sc->http_scheme, "bearer")  ? OPENAPI_SCHEME_HTTP_BEARER
                   : view_equals_nocase(sc->http_scheme, "basic") ? OPENAPI_SCHEME_HTTP_BASIC
                                                                  : OPENAPI_SCHEME_HTTP_OTHER;
    } else if (scalar_is(type, "basic")) { /* Swagger 2.0 */
        sc->type = OPENAPI_SCHEME_HTTP_BASIC;
    } else if (scalar_is(type, "apiKey")) {
        yaml_node_t *in = map_get(ld, def, "in");
        yaml_node_t *key = map_get(ld, def, "name");
        if (!in || !param_in_from(in, &sc->api_key_in) || sc->api_key_in == OPENAPI_IN_PATH) {
            fail_node(ld, AS_ERR_FORMAT, in ? in : def,
                      "apiKey scheme '%.*s' needs 'in: header', 'in: query' or 'in: cookie'",
                      (int)name.len, name.ptr);
            return;
        }
        if (!key) {
            fail_node(ld, AS_ERR_FORMAT, def, "apiKey scheme '%.*s' has no 'name'", (int)name.len,
                      name.ptr);
            return;
        }
        if (!keep_scalar(ld, key, "name", &sc->api_key_name))
            return;
        sc->type = OPENAPI_SCHEME_API_KEY;
    } else if (scalar_is(type, "oauth2")) {
        sc->type = OPENAPI_SCHEME_OAUTH2;
    } else if (scalar_is(type, "openIdConnect")) {
        sc->type = OPENAPI_SCHEME_OPENID_CONNECT;
    } else if (scalar_is(type, "mutualTLS")) {
        sc->type = OPENAPI_SCHEME_MUTUAL_TLS;
    }
}

static void read_schemes(load *ld, yaml_node_t *root) {
    yaml_node_t *defs;
    if (ld->swagger) {
        defs = map_get(ld, root, "securityDefinitions");
    } else {
        yaml_node_t *components = map_get(ld, root, "components");
        if (components && !expect_type(ld, components, YAML_MAPPING_NODE, "components"))
            return;
        defs = map_get(ld, components, "securitySchemes");
    }
    if (!defs || !expect_type(ld, defs, YAML_MAPPING_NODE, "the security schemes"))
        return;
    for (yaml_node_pair_t *pair = defs->data.mapping.pairs.start;
         pair < defs->data.mapping.pairs.top && ld->status == AS_OK; pair++) {
        yaml_node_t *key = node_at(ld, pair->key);
        if (expect_type(ld, key, YAML_SCALAR_NODE, "a security scheme name"))
            read_scheme(ld, scalar_view(key), node_at(ld, pair->value));
    }
}

/* ------------------------------------------------------- base paths */

static void add_base_path(load *ld, const char *path, size_t len) {
    while (len > 0 && path[len - 1] == '/')
        len--;
    openapi_spec *s = ld->spec;
    char buf[SERVER_URL_MAX + 1];
    size_t n = 0;
    if (len > 0 && path[0] != '/')
        buf[n++] = '/';
    if (len > SERVER_URL_MAX)
        len = SERVER_URL_MAX;
    memcpy(buf + n, path, len);
    n += len;
    for (uint32_t i = 0; i < s->base_path_count; i++)
        if (s->base_paths[i].len == n && memcmp(s->base_paths[i].ptr, buf, n) == 0)
            return;
    if (!grow((void **)&s->base_paths, &s->base_path_cap, s->base_path_count + 1,
              sizeof *s->base_paths)) {
        fail_nomem(ld);
        return;
    }
    str_view v;
    if (!keep(ld, buf, n, &v))
        return;
    /* longest first, so the most specific prefix is tried first */
    uint32_t at = s->base_path_count;
    while (at > 0 && s->base_paths[at - 1].len < v.len) {
        s->base_paths[at] = s->base_paths[at - 1];
        at--;
    }
    s->base_paths[at] = v;
    s->base_path_count++;
}

/* The path part of a server URL, after substituting the variables'
 * defaults: "https://{host}/v{major}" -> "/v1". Relative URLs are paths. */
static void read_server(load *ld, yaml_node_t *server) {
    if (!expect_type(ld, server, YAML_MAPPING_NODE, "a server"))
        return;
    yaml_node_t *url = map_get(ld, server, "url");
    if (!url) {
        fail_node(ld, AS_ERR_FORMAT, server, "server has no 'url'");
        return;
    }
    if (!expect_type(ld, url, YAML_SCALAR_NODE, "server url"))
        return;
    yaml_node_t *variables = map_get(ld, server, "variables");
    str_view in = scalar_view(url);
    char buf[SERVER_URL_MAX];
    size_t n = 0;
    for (size_t i = 0; i < in.len;) {
        const char *close = in.ptr[i] == '{' ? memchr(in.ptr + i, '}', in.len - i) : NULL;
        yaml_node_t *var = NULL;
        if (close)
            var = map_get(
                ld, map_get_n(ld, variables, in.ptr + i + 1, (size_t)(close - in.ptr) - i - 1),
                "default");
        str_view piece = {in.ptr + i, 1};
        if (var && var->type == YAML_SCALAR_NODE) {
            piece = scalar_view(var);
            i = (size_t)(close - in.ptr) + 1;
        } else {
            i++;
        }
        if (n + piece.len > sizeof buf) {
            fail_node(ld, AS_ERR_FORMAT, url, "server url longer than %d bytes", SERVER_URL_MAX);
            return;
        }
        memcpy(buf + n, piece.ptr, piece.len);
        n += piece.len;
    }
    size_t start = 0, stop = n;
    const char *scheme_end = memchr(buf, ':', n);
    if (scheme_end && scheme_end + 2 < buf + n && scheme_end[1] == '/' && scheme_end[2] == '/')
        start = (size_t)(scheme_end - buf) + 3;
    else if (n >= 2 && buf[0] == '/' && buf[1] == '/')
        start = 2;
    if (start > 0) {
        const char *slash = memchr(buf + start, '/', n - start);
        start = slash ? (size_t)(slash - buf) : n;
    }
    for (size_t i = start; i < n; i++)
        if (buf[i] == '?' || buf[i] == '#') {
            stop = i;
            break;
        }
    add_base_path(ld, buf + start, stop - start);
}

static void read_base_paths(load *ld, yaml_node_t *root) {
    if (ld->swagger) {
        yaml_node_t *base = map_get(ld, root, "basePath");
        if (base && expect_type(ld, base, YAML_SCALAR_NODE, "basePath"))
            add_base_path(ld, (const char *)base->data.scalar.value, base->data.scalar.length);
    } else {
        yaml_node_t *servers = map_get(ld, root, "servers");
        if (servers && expect_type(ld, servers, YAML_SEQUENCE_NODE, "servers"))
            for (yaml_node_item_t *item = servers->data.sequence.items.start;
                 item < servers->data.sequence.items.top && ld->status == AS_OK; item++)
                read_server(ld, node_at(ld, *item));
    }
    if (ld->status == AS_OK && ld->spec->base_path_count == 0)
        add_base_path(ld, "", 0);
}

/* ------------------------------------------------------- operations */

static void read_security(load *ld, op_entry *e, yaml_node_t *security) {
    openapi_spec *s = ld->spec;
    e->pub.requires_auth = 0;
    if (!security || !expect_type(ld, security, YAML_SEQUENCE_NODE, "security"))
        return;
    int optional = 0;
    for (yaml_node_item_t *item = security->data.sequence.items.start;
         item < security->data.sequence.items.top && ld->status == AS_OK; item++) {
        yaml_node_t *req = node_at(ld, *item);
        if (!expect_type(ld, req, YAML_MAPPING_NODE, "a security requirement"))
            return;
        if (req->data.mapping.pairs.top == req->data.mapping.pairs.start)
            optional = 1;
        for (yaml_node_pair_t *pair = req->data.mapping.pairs.start;
             pair < req->data.mapping.pairs.top; pair++) {
            yaml_node_t *key = node_at(ld, pair->key);
            if (!expect_type(ld, key, YAML_SCALAR_NODE, "a security scheme name"))
                return;
            uint32_t index = scheme_index(ld, scalar_view(key));
            if (index == UINT32_MAX)
                return;
            uint32_t i = e->scheme_start;
            while (i < s->op_scheme_count && s->op_schemes[i] != index)
                i++;
            if (i < s->op_scheme_count)
                continue;
            if (!grow((void **)&s->op_schemes, &s->op_scheme_cap, s->op_scheme_count + 1,
                      sizeof *s->op_schemes)) {
                fail_nomem(ld);
                return;
            }
            s->op_schemes[s->op_scheme_count++] = index;
        }
    }
    e->pub.scheme_count = s->op_scheme_count - e->scheme_start;
    e->pub.requires_auth = e->pub.scheme_count > 0 && !optional;
}

/* Adds the parameters of `list`; with `skip_declared`, those whose name and
 * location the operation already declares are left out (operation-level
 * parameters override the path item's). */
static void read_params(load *ld, op_entry *e, yaml_node_t *list, int skip_declared) {
    openapi_spec *s = ld->spec;
    if (!list || !expect_type(ld, list, YAML_SEQUENCE_NODE, "parameters"))
        return;
    uint32_t own_end = s->param_count;
    for (yaml_node_item_t *item = list->data.sequence.items.start;
         item < list->data.sequence.items.top && ld->status == AS_OK; item++) {
        yaml_node_t *p = deref(ld, node_at(ld, *item));
        if (!p || !expect_type(ld, p, YAML_MAPPING_NODE, "a parameter"))
            continue;
        yaml_node_t *name = map_get(ld, p, "name");
        yaml_node_t *in = map_get(ld, p, "in");
        if (!name || !in) {
            fail_node(ld, AS_ERR_FORMAT, p, "parameter without '%s'", name ? "in" : "name");
            return;
        }
        if (!expect_type(ld, name, YAML_SCALAR_NODE, "parameter name"))
            return;
        openapi_param param;
        if (!param_in_from(in, &param.in)) {
            if (ld->swagger && (scalar_is(in, "body") || scalar_is(in, "formData")))
                continue;
            str_view n = scalar_view(name);
            str_view where = in->type == YAML_SCALAR_NODE ? scalar_view(in) : (str_view){"?", 1};
            fail_node(ld, AS_ERR_FORMAT, in,
                      "parameter '%.*s' has in: '%.*s', expected path, query, header or cookie",
                      (int)n.len, n.ptr, (int)where.len, where.ptr);
            return;
        }
        str_view n = scalar_view(name);
        int declared = 0;
        for (uint32_t i = e->param_start; i < (skip_declared ? own_end : s->param_count); i++)
            declared |= s->params[i].in == param.in && s->params[i].name.len == n.len &&
                        memcmp(s->params[i].name.ptr, n.ptr, n.len) == 0;
        if (declared)
            continue;
        if (s->param_count - e->param_start >= (uint64_t)ld->lim->spec_parameters_per_operation) {
            fail_node(ld, AS_ERR_LIMIT, p,
                      "more than %lld parameters in one operation "
                      "(spec_parameters_per_operation)",
                      (long long)ld->lim->spec_parameters_per_operation);
            return;
        }
        if (!grow((void **)&s->params, &s->param_cap, s->param_count + 1, sizeof *s->params)) {
            fail_nomem(ld);
            return;
        }
        if (!keep(ld, n.ptr, n.len, &param.name))
            return;
        s->params[s->param_count++] = param;
    }
}

/* The trie node where a template ends, creating the path to it. */
static uint32_t trie_insert(load *ld, const yaml_node_t *key, str_view path) {
    openapi_spec *s = ld->spec;
    uint32_t node = 0, segments = 0;
    size_t i = 1;
    size_t len = path.len;
    if (len > 1 && path.ptr[len - 1] == '/')
        len--; /* "/users/" is the same route as "/users" for matching */
    while (i < len) {
        size_t stop = i;
        while (stop < len && path.ptr[stop] != '/')
            stop++;
        str_view seg = {path.ptr + i, (uint32_t)(stop - i)};
        i = stop + 1;
        if (++segments > TEMPLATE_SEGMENTS_MAX) {
            fail_node(ld, AS_ERR_LIMIT, key, "path has more than %d segments",
                      TEMPLATE_SEGMENTS_MAX);
            return UINT32_MAX;
        }
        if (seg.len == 0) {
            fail_node(ld, AS_ERR_FORMAT, key, "empty segment ('//') in path '%.*s'", (int)path.len,
                      path.ptr);
            return UINT32_MAX;
        }
        /* kind: literal (no braces), template ("{x}"), or mixed ("{x}.json") */
        int opens = 0, depth = 0, bad = 0;
        for (uint32_t k = 0; k < seg.len; k++) {
            if (seg.ptr[k] == '{') {
                bad |= depth != 0 || (k + 1 < seg.len && seg.ptr[k + 1] == '}');
                depth++;
                opens++;
            } else if (seg.ptr[k] == '}') {
                bad |= depth != 1;
                depth--;
            }
        }
        if (bad || depth != 0) {
            fail_node(ld, AS_ERR_FORMAT, key, "unbalanced or empty '{}' in path '%.*s'",
                      (int)path.len, path.ptr);
            return UINT32_MAX;
        }
        uint32_t child = 0;
        if (opens == 1 && seg.ptr[0] == '{' && seg.ptr[seg.len - 1] == '}') {
            child = s->nodes[node].template_child;
            if (!child) {
                child = node_new(s);
                if (!child) {
                    fail_nomem(ld);
                    return UINT32_MAX;
                }
                s->nodes[node].template_child = child;
            }
        } else if (opens > 0) {
            for (uint32_t m = s->nodes[node].first_mixed; m; m = s->mixed[m - 1].next)
                if (s->mixed[m - 1].pattern.len == seg.len &&
                    memcmp(s->mixed[m - 1].pattern.ptr, seg.ptr, seg.len) == 0)
                    child = s->mixed[m - 1].child;
            if (!child) {
                trie_mixed mx = {{0, 0}, 0, s->nodes[node].first_mixed};
                if (!keep(ld, seg.ptr, seg.len, &mx.pattern))
                    return UINT32_MAX;
                if (!grow((void **)&s->mixed, &s->mixed_cap, s->mixed_count + 1,
                          sizeof *s->mixed) ||
                    !(mx.child = node_new(s))) {
                    fail_nomem(ld);
                    return UINT32_MAX;
                }
                child = mx.child;
                s->mixed[s->mixed_count++] = mx;
                s->nodes[node].first_mixed = s->mixed_count;
            }
        } else {
            child = edge_find(s, node, seg.ptr, seg.len);
            if (!child) {
                trie_edge edge = {node, 0, hash_encoded(node, seg.ptr, seg.len), {0, 0}};
                char *decoded = arena_alloc(s, seg.len);
                if (!decoded || !edge_reserve(s) || !(edge.child = node_new(s))) {
                    fail_nomem(ld);
                    return UINT32_MAX;
                }
                edge.segment.ptr = decoded;
                edge.segment.len = (uint32_t)decode_into(seg.ptr, seg.len, decoded, seg.len);
                edge_place(s->edges, s->edge_mask, &edge);
                s->edge_count++;
                child = edge.child;
            }
        }
        node = child;
    }
    return node;
}

static int method_from_key(const yaml_node_t *key) {
    static const char *const keys[] = {
#define OPENAPI_METHOD_KEY(name, key, http) key,
        OPENAPI_METHOD_LIST(OPENAPI_METHOD_KEY)
#undef OPENAPI_METHOD_KEY
    };
    for (int m = 0; m < OPENAPI_METHOD_COUNT; m++)
        if (scalar_is(key, keys[m]))
            return m;
    return -1;
}

/* One operation of a path item: `path_key` is the path's key node, `key`
 * the method's. */
static void read_operation(load *ld, str_view path, const yaml_node_t *path_key, yaml_node_t *key,
                           openapi_method method, yaml_node_t *op, yaml_node_t *path_params,
                           yaml_node_t *global_security) {
    openapi_spec *s = ld->spec;
    if (!expect_type(ld, op, YAML_MAPPING_NODE, "an operation"))
        return;
    if (s->op_count >= (uint64_t)ld->lim->spec_operations_max) {
        fail_node(ld, AS_ERR_LIMIT, key, "more than %lld operations (spec_operations_max)",
                  (long long)ld->lim->spec_operations_max);
        return;
    }
    uint32_t node = trie_insert(ld, path_key, path);
    if (node == UINT32_MAX)
        return;
    if (s->nodes[node].ops[method]) {
        s->stats.duplicate_operations++;
        return;
    }
    if (!grow((void **)&s->ops, &s->op_cap, s->op_count + 1, sizeof *s->ops)) {
        fail_nomem(ld);
        return;
    }
    op_entry *e = &s->ops[s->op_count];
    memset(e, 0, sizeof *e);
    e->pub.index = s->op_count;
    e->pub.method = method;
    e->pub.path = path;
    e->pub.line = (uint32_t)key->start_mark.line + 1;
    e->param_start = s->param_count;
    e->scheme_start = s->op_scheme_count;
    yaml_node_t *id = map_get(ld, op, "operationId");
    if (id && !keep_scalar(ld, id, "operationId", &e->pub.operation_id))
        return;
    yaml_node_t *deprecated = map_get(ld, op, "deprecated");
    if (deprecated && deprecated->type == YAML_SCALAR_NODE)
        e->pub.deprecated = view_equals_nocase(scalar_view(deprecated), "true");
    yaml_node_t *security = map_get(ld, op, "security");
    read_security(ld, e, security ? security : global_security);
    read_params(ld, e, map_get(ld, op, "parameters"), 0);
    read_params(ld, e, path_params, 1);
    if (ld->status != AS_OK)
        return;
    e->pub.param_count = s->param_count - e->param_start;
    s->nodes[node].ops[method] = s->op_count + 1;
    s->deprecated += (uint32_t)e->pub.deprecated;
    s->op_count++;
}

static void read_path_item(load *ld, yaml_node_t *key, yaml_node_t *item,
                           yaml_node_t *global_security) {
    if (!expect_type(ld, key, YAML_SCALAR_NODE, "a path"))
        return;
    str_view k = scalar_view(key);
    if (k.len >= 2 && k.ptr[0] == 'x' && k.ptr[1] == '-')
        return; /* extension */
    if (k.len == 0 || k.ptr[0] != '/') {
        fail_node(ld, AS_ERR_FORMAT, key, "path '%.*s' does not start with '/'", (int)k.len, k.ptr);
        return;
    }
    item = deref(ld, item);
    if (!item || !expect_type(ld, item, YAML_MAPPING_NODE, "a path item"))
        return;
    str_view path;
    if (!keep(ld, k.ptr, k.len, &path))
        return;
    yaml_node_t *path_params = map_get(ld, item, "parameters");
    for (yaml_node_pair_t *pair = item->data.mapping.pairs.start;
         pair < item->data.mapping.pairs.top && ld->status == AS_OK; pair++) {
        yaml_node_t *method_key = node_at(ld, pair->key);
        int method = method_from_key(method_key);
        if (method >= 0)
            read_operation(ld, path, key, method_key, (openapi_method)method,
                           node_at(ld, pair->value), path_params, global_security);
    }
}

/* "3.1.0" -> 3, 1; 0 when the text is not MAJOR.MINOR[.anything]. */
static int parse_version(str_view v, int *major, int *minor) {
    size_t i = 0;
    int parts[2] = {0, 0};
    for (int p = 0; p < 2; p++) {
        size_t start = i;
        while (i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9' && i - start < 4)
            parts[p] = parts[p] * 10 + (v.ptr[i++] - '0');
        if (i == start)
            return 0;
        if (p == 0 && (i >= v.len || v.ptr[i++] != '.'))
            return 0;
    }
    if (i < v.len && v.ptr[i] != '.')
        return 0;
    *major = parts[0];
    *minor = parts[1];
    return 1;
}

static void read_version(load *ld, yaml_node_t *root) {
    yaml_node_t *v = map_get(ld, root, "openapi");
    if (!v) {
        v = map_get(ld, root, "swagger");
        ld->swagger = v != NULL;
    }
    if (!v) {
        fail_node(ld, AS_ERR_FORMAT, root,
                  "not an OpenAPI document: no 'openapi' (3.x) or 'swagger' (2.0) key at the top "
                  "level");
        return;
    }
    if (!expect_type(ld, v, YAML_SCALAR_NODE, ld->swagger ? "swagger" : "openapi"))
        return;
    str_view text = scalar_view(v);
    int ok = parse_version(text, &ld->major, &ld->minor);
    if (ld->swagger)
        ok = ok && ld->major == 2 && ld->minor == 0;
    else
        ok = ok && ld->major == 3 && ld->minor <= 2;
    if (!ok) {
        fail_node(ld, AS_ERR_UNSUPPORTED, v,
                  "unsupported version '%.*s' (supported: OpenAPI 3.0, 3.1, 3.2 and Swagger 2.0)",
                  (int)(text.len > 32 ? 32 : text.len), text.ptr);
        return;
    }
    size_t n = text.len < sizeof ld->spec->version - 1 ? text.len : sizeof ld->spec->version - 1;
    memcpy(ld->spec->version, text.ptr, n);
    ld->spec->version[n] = '\0';
}

static void read_document(load *ld) {
    yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
    if (!root) {
        fail_at(ld, AS_ERR_FORMAT, 1, 1, "empty document, expected an OpenAPI mapping");
        return;
    }
    if (root->type != YAML_MAPPING_NODE) {
        fail_node(ld, AS_ERR_FORMAT, root,
                  "not an OpenAPI document: the top level is %s, expected a mapping",
                  kind_name(root));
        return;
    }
    read_version(ld, root);
    if (ld->status == AS_OK)
        read_schemes(ld, root);
    if (ld->status == AS_OK)
        read_base_paths(ld, root);
    if (ld->status != AS_OK)
        return;
    yaml_node_t *global_security = map_get(ld, root, "security");
    if (global_security && !expect_type(ld, global_security, YAML_SEQUENCE_NODE, "security"))
        return;
    yaml_node_t *paths = map_get(ld, root, "paths");
    if (!paths) {
        if (ld->swagger || ld->minor == 0)
            fail_node(ld, AS_ERR_FORMAT, root, "no 'paths' at the top level (required in %s)",
                      ld->swagger ? "Swagger 2.0" : "OpenAPI 3.0");
        return;
    }
    if (!expect_type(ld, paths, YAML_MAPPING_NODE, "paths"))
        return;
    for (yaml_node_pair_t *pair = paths->data.mapping.pairs.start;
         pair < paths->data.mapping.pairs.top && ld->status == AS_OK; pair++)
        read_path_item(ld, node_at(ld, pair->key), node_at(ld, pair->value), global_security);
}

/* The event pass: syntax, one document, nesting depth. */
static void check_stream(load *ld) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fail_nomem(ld);
        return;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)ld->data, ld->len);
    int64_t depth = 0;
    int documents = 0;
    for (;;) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            fail_parser(ld, &parser);
            break;
        }
        yaml_event_type_t type = event.type;
        yaml_mark_t mark = event.start_mark;
        yaml_event_delete(&event);
        if (type == YAML_DOCUMENT_START_EVENT && ++documents > 1)
            fail_at(ld, AS_ERR_FORMAT, mark.line + 1, mark.column + 1,
                    "a second YAML document; expected one OpenAPI document per file");
        else if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > ld->lim->spec_nesting_depth)
                fail_at(ld, AS_ERR_LIMIT, mark.line + 1, mark.column + 1,
                        "nested deeper than %lld levels (spec_nesting_depth)",
                        (long long)ld->lim->spec_nesting_depth);
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        if (type == YAML_STREAM_END_EVENT || ld->status != AS_OK)
            break;
    }
    yaml_parser_delete(&parser);
}

/* libyaml refuses \uD800-\uDFFF escapes, which JSON writers use for
 * characters outside the BMP (an emoji is "\ud83d\ude00"). In a JSON
 * document, a surrogate pair becomes the equivalent \UXXXXXXXX escape (two
 * columns shorter: later columns on that line shift) and a lone surrogate
 * \uFFFD. Writes into out, which holds at least len bytes; returns the new
 * length. */
static size_t json_rewrite_surrogates(const char *in, size_t len, char *out) {
    size_t n = 0;
    int in_string = 0;
    for (size_t i = 0; i < len;) {
        char c = in[i];
        if (c == '"') {
            in_string = !in_string;
        } else if (in_string && c == '\\' && i + 1 < len) {
            unsigned hi = 0, lo = 0;
            int is_u = in[i + 1] == 'u' && i + 6 <= len;
            for (size_t k = 2; is_u && k < 6; k++) {
                int h = ascii_hex_value((unsigned char)in[i + k]);
                is_u = h >= 0;
                hi = hi * 16 + (unsigned)(h < 0 ? 0 : h);
            }
            if (is_u && hi >= 0xd800 && hi <= 0xdfff) {
                int pair = hi <= 0xdbff && i + 12 <= len && in[i + 6] == '\\' && in[i + 7] == 'u';
                for (size_t k = 8; pair && k < 12; k++) {
                    int h = ascii_hex_value((unsigned char)in[i + k]);
                    pair = h >= 0;
                    lo = lo * 16 + (unsigned)(h < 0 ? 0 : h);
                }
                pair = pair && lo >= 0xdc00 && lo <= 0xdfff;
                char esc[11];
                if (pair) {
                    unsigned cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                    snprintf(esc, sizeof esc, "\\U%08X", cp);
                    memcpy(out + n, esc, 10);
                    n += 10;
                    i += 12;
                } else {
                    memcpy(out + n, "\\uFFFD", 6);
                    n += 6;
                    i += 6;
                }
                continue;
            }
            out[n++] = in[i++]; /* the backslash; the escaped byte follows */
            c = in[i];
        }
        out[n++] = c;
        i++;
    }
    return n;
}

static int looks_like_json(const char *data, size_t len) {
    size_t i = 0;
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    return i < len && data[i] == '{';
}

/* ------------------------------------------------------------ public */

void openapi_destroy(openapi_spec *spec) {
    if (!spec)
        return;
    while (spec->arena) {
        arena_block *next = spec->arena->next;
        free(spec->arena);
        spec->arena = next;
    }
    free(spec->ops);
    free(spec->params);
    free(spec->op_schemes);
    free(spec->schemes);
    free(spec->base_paths);
    free(spec->nodes);
    free(spec->edges);
    free(spec->mixed);
    free(spec);
}

as_status openapi_load_buffer(const char *name, const char *data, size_t len, const limits *lim,
                              char *errbuf, size_t errbuf_len, openapi_spec **out) {
    *out = NULL;
    if (errbuf_len)
        errbuf[0] = '\0';
    load ld;
    memset(&ld, 0, sizeof ld);
    ld.lim = lim;
    ld.name = name;
    ld.err = errbuf;
    ld.err_len = errbuf_len;
    if ((uint64_t)len > (uint64_t)lim->spec_file_bytes) {
        if (errbuf_len)
            snprintf(errbuf, errbuf_len, "%s: %zu bytes, more than spec_file_bytes (%lld)", name,
                     len, (long long)lim->spec_file_bytes);
        return AS_ERR_LIMIT;
    }
    char *rewritten = NULL;
    ld.data = data;
    ld.len = len;
    if (looks_like_json(data, len)) {
        rewritten = malloc(len ? len : 1);
        if (!rewritten)
            return fail_nomem(&ld);
        ld.len = json_rewrite_surrogates(data, len, rewritten);
        ld.data = rewritten;
    }
    check_stream(&ld);
    ld.spec = calloc(1, sizeof *ld.spec);
    if (!ld.spec || !grow((void **)&ld.spec->nodes, &ld.spec->node_cap, 1, sizeof *ld.spec->nodes))
        fail_nomem(&ld);
    else
        memset(&ld.spec->nodes[ld.spec->node_count++], 0, sizeof *ld.spec->nodes); /* the root */
    if (ld.status == AS_OK) {
        yaml_parser_t parser;
        if (!yaml_parser_initialize(&parser)) {
            fail_nomem(&ld);
        } else {
            yaml_parser_set_input_string(&parser, (const unsigned char *)ld.data, ld.len);
            if (!yaml_parser_load(&parser, &ld.doc)) {
                fail_parser(&ld, &parser);
            } else {
                read_document(&ld);
                yaml_document_delete(&ld.doc);
            }
            yaml_parser_delete(&parser);
        }
    }
    free(rewritten);
    if (ld.status != AS_OK) {
        openapi_destroy(ld.spec);
        return ld.status;
    }
    openapi_spec *s = ld.spec;
    for (uint32_t i = 0; i < s->op_count; i++) {
        op_entry *e = &s->ops[i];
        e->pub.params = e->pub.param_count ? s->params + e->param_start : NULL;
        e->pub.schemes = e->pub.scheme_count ? s->op_schemes + e->scheme_start : NULL;
    }
    *out = s;
    return AS_OK;
}

as_status openapi_load_file(const char *path, const limits *lim, char *errbuf, size_t errbuf_len,
                            openapi_spec **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
        if (errbuf_len)
            snprintf(errbuf, errbuf_len, "%s: cannot read the spec: %s", path,
                     f ? "is a directory" : strerror(errno));
        if (f)
            fclose(f);
        return AS_ERR_IO;
    }
    size_t limit = (size_t)lim->spec_file_bytes;
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > limit) {
        if (errbuf_len)
            snprintf(errbuf, errbuf_len, "%s: %lld bytes, more than spec_file_bytes (%lld)", path,
                     (long long)st.st_size, (long long)lim->spec_file_bytes);
        fclose(f);
        return AS_ERR_LIMIT;
    }
    /* one byte more than the file, so that the end is seen without growing */
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
    char *buf = malloc(cap);
    size_t len = 0;
    as_status status = buf ? AS_OK : AS_ERR_NOMEM;
    while (status == AS_OK) {
        if (len == cap) {
            char *grown = cap <= limit ? realloc(buf, cap * 2) : NULL;
            if (!grown) {
                status = cap <= limit ? AS_ERR_NOMEM : AS_OK;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (status == AS_OK && ferror(f)) {
        if (errbuf_len)
            snprintf(errbuf, errbuf_len, "%s: read error: %s", path, strerror(errno));
        status = AS_ERR_IO;
    } else if (status == AS_ERR_NOMEM && errbuf_len) {
        snprintf(errbuf, errbuf_len, "%s: out of memory while reading the spec", path);
    }
    fclose(f);
    if (status == AS_OK && len > limit) {
        if (errbuf_len)
            snprintf(errbuf, errbuf_len, "%s: more than spec_file_bytes (%lld) bytes", path,
                     (long long)lim->spec_file_bytes);
        status = AS_ERR_LIMIT;
    }
    if (status == AS_OK)
        status = openapi_load_buffer(path, buf, len, lim, errbuf, errbuf_len, out);
    free(buf);
    return status;
}

const char *openapi_version(const openapi_spec *spec) {
    return spec->version;
}

uint32_t openapi_operation_count(const openapi_spec *spec) {
    return spec->op_count;
}

const openapi_operation *openapi_operation_at(const openapi_spec *spec, uint32_t index) {
    return index < spec->op_count ? &spec->ops[index].pub : NULL;
}

uint32_t openapi_deprecated_count(const openapi_spec *spec) {
    return spec->deprecated;
}

uint32_t openapi_security_scheme_count(const openapi_spec *spec) {
    return spec->scheme_count;
}

const openapi_security_scheme *openapi_security_scheme_at(const openapi_spec *spec,
                                                          uint32_t index) {
    return index < spec->scheme_count ? &spec->schemes[index] : NULL;
}

uint32_t openapi_base_path_count(const openapi_spec *spec) {
    return spec->base_path_count;
}

str_view openapi_base_path_at(const openapi_spec *spec, uint32_t index) {
    str_view none = {NULL, 0};
    return index < spec->base_path_count ? spec->base_paths[index] : none;
}

openapi_load_stats openapi_get_load_stats(const openapi_spec *spec) {
    return spec->stats;
}

static const char *const method_names[] = {
#define OPENAPI_METHOD_HTTP(name, key, http) http,
    OPENAPI_METHOD_LIST(OPENAPI_METHOD_HTTP)
#undef OPENAPI_METHOD_HTTP
};

const char *openapi_method_name(openapi_method method) {
    return (unsigned)method < OPENAPI_METHOD_COUNT ? method_names[method] : "?";
}

const char *openapi_param_in_name(openapi_param_in in) {
    static const char *const names[] = {"path", "query", "header", "cookie"};
    return (unsigned)in < 4 ? names[in] : "?";
}

/* ------------------------------------------------------------ matching */

/* Operation index + 1 for the rest of the path from `node`, or 0. p is at
 * the '/' before the next segment, or at end. */
static uint32_t match_from(const openapi_spec *s, uint32_t node, const char *p, const char *end,
                           int method, uint32_t *steps) {
    if (++*steps > MATCH_STEPS_MAX)
        return 0;
    if (p == end || (p + 1 == end && *p == '/'))
        return s->nodes[node].ops[method];
    if (*p != '/')
        return 0;
    const char *seg = p + 1;
    const char *next = memchr(seg, '/', (size_t)(end - seg));
    if (!next)
        next = end;
    size_t len = (size_t)(next - seg);
    if (len == 0)
        return 0;
    uint32_t found = 0;
    uint32_t child = edge_find(s, node, seg, len);
    if (child)
        found = match_from(s, child, next, end, method, steps);
    const trie_node *n = &s->nodes[node];
    if (!found && n->first_mixed) {
        char decoded[MIXED_SEGMENT_MAX];
        size_t dlen = decode_into(seg, len, decoded, sizeof decoded);
        for (uint32_t m = n->first_mixed; !found && m && dlen != SIZE_MAX; m = s->mixed[m - 1].next)
            if (mixed_matches(s->mixed[m - 1].pattern, decoded, dlen))
                found = match_from(s, s->mixed[m - 1].child, next, end, method, steps);
    }
    if (!found && n->template_child)
        found = match_from(s, n->template_child, next, end, method, steps);
    return found;
}

static int method_from_http(str_view method) {
    static const uint8_t lengths[] = {
#define OPENAPI_METHOD_LENGTH(name, key, http) sizeof http - 1,
        OPENAPI_METHOD_LIST(OPENAPI_METHOD_LENGTH)
#undef OPENAPI_METHOD_LENGTH
    };
    for (int m = 0; m < OPENAPI_METHOD_COUNT; m++)
        if (lengths[m] == method.len && method_names[m][0] == method.ptr[0] &&
            memcmp(method_names[m], method.ptr, method.len) == 0)
            return m;
    return -1;
}

static int starts_nocase(const char *p, const char *end, const char *prefix) {
    size_t n = strlen(prefix);
    if ((size_t)(end - p) < n)
        return 0;
    str_view v = {p, (uint32_t)n};
    return view_equals_nocase(v, prefix);
}

int openapi_match(const openapi_spec *spec, str_view method, str_view target, openapi_hit *hit) {
    if (!spec || !target.ptr)
        return 0;
    int m = method_from_http(method);
    if (m < 0)
        return 0;
    const char *p = target.ptr, *end = target.ptr + target.len;
    const char *query = memchr(p, '?', target.len);
    if (query)
        end = query;
    const char *fragment = memchr(p, '#', (size_t)(end - p));
    if (fragment)
        end = fragment;
    if (p < end && *p != '/' &&
        (starts_nocase(p, end, "http://") || starts_nocase(p, end, "https://"))) {
        p = memchr(p, ':', (size_t)(end - p)) + 3;
        const char *slash = memchr(p, '/', (size_t)(end - p));
        p = slash ? slash : end;
    }
    if (p < end && *p != '/')
        return 0;
    for (uint32_t b = 0; b < spec->base_path_count; b++) {
        str_view base = spec->base_paths[b];
        size_t rest = (size_t)(end - p);
        if (rest < base.len || memcmp(p, base.ptr, base.len) != 0 ||
            (rest > base.len && p[base.len] != '/'))
            continue;
        uint32_t steps = 0;
        uint32_t found = match_from(spec, 0, p + base.len, end, m, &steps);
        if (found) {
            hit->op = &spec->ops[found - 1].pub;
            hit->base_path = base;
            return 1;
        }
    }
    return 0;
}
