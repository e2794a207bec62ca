/*
 * The inventory command (see inventory_cmd.h): opens the store read-only,
 * restores it into an inventory sized for it, and writes one of three views
 * of the listed endpoints, sorted by host, path and method:
 *
 *   table    one aligned line per endpoint for a human (control bytes from
 *            traffic are shown as '?', so a hostile path cannot drive the
 *            terminal);
 *   --json   the CONTRACT.md "endpoint" events, built by the same conversion
 *            as the live output (model_endpoint_view_fill) and stamped with
 *            each endpoint's last_seen;
 *   --openapi an OpenAPI 3.1 document: one server per host (each operation
 *            names its own when there are several), one path item per
 *            path template (templates that differ only in parameter names are
 *            one OpenAPI path), one operation per method, path parameters from
 *            the {...} segments (a repeated name is numbered: {id}, {id2}),
 *            query parameters, content types, security schemes from the auth
 *            kinds seen, observed statuses as responses, zombies deprecated,
 *            and JSON body schemas (request, 2xx responses) from the learned
 *            field paths: nested objects from dotted paths, arrays from "[]",
 *            "type" from the JSON types seen (a list when several); a side
 *            with no learned field keeps an open schema ({}).
 */
#include "inventory_cmd.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "export/endpoint_event.h"
#include "export/json.h"
#include "model.h"

typedef struct cmd_options {
    const char *db_path;
    int json;
    int openapi;
} cmd_options;

static void usage(FILE *out) {
    fputs("usage: apisensor inventory [--db FILE] [--json | --openapi]\n"
          "\n"
          "  --db FILE    sqlite3 inventory written by earlier runs (default apisensor.db)\n"
          "  --json       one \"endpoint\" event per line, as on the live output\n"
          "  --openapi    an OpenAPI 3.1 document (JSON) of what was observed\n"
          "  -h, --help   this text\n",
          out);
}

/* Returns -1 to go on, or the exit status. */
static int parse_options(int argc, char **argv, cmd_options *o) {
    static const struct option long_options[] = {
        {"db", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"openapi", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->db_path = "apisensor.db";
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->db_path = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'a':
            o->openapi = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "apisensor inventory: option '%s' needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "apisensor inventory: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "apisensor inventory: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (o->json && o->openapi) {
        fprintf(stderr, "apisensor inventory: --json and --openapi cannot be combined\n");
        return 2;
    }
    if (strcmp(o->db_path, ":memory:") == 0) {
        fprintf(stderr, "apisensor inventory: --db :memory: holds no stored inventory\n");
        return 2;
    }
    return -1;
}

/* ---- loading -------------------------------------------------------------------- */

static uint32_t table_size(uint64_t rows) {
    return rows < 16 ? 16 : (uint32_t)rows;
}

/* Opens the store read-only and restores it; returns -1 or the exit status. */
static int load(const char *path, inventory **out) {
    int exit_code = 1;
    store *db = model_open_store(path, 1, &exit_code);
    if (!db)
        return exit_code;
    uint64_t endpoints = 0, findings = 0, services = 0;
    as_status st = store_counts(db, &endpoints, &findings, &services);
    if (st == AS_OK && (endpoints > (1u << 24) || findings > (1u << 24) || services > (1u << 24)))
        st = AS_ERR_LIMIT;
    inventory_config ic = {.max_endpoints = table_size(endpoints),
                           .max_findings = table_size(findings),
                           .max_services = table_size(services),
                           .learn_positions = 16,
                           .param_cardinality = 2,
                           .body_fields = INVENTORY_BODY_FIELDS_MAX,
                           .field_path_bytes = 4096,
                           .schema_sample_every = 1};
    if (st == AS_OK)
        st = inventory_create(&ic, out);
    if (st == AS_OK)
        st = store_load(db, *out);
    if (st != AS_OK) {
        fprintf(stderr, "apisensor: %s\n",
                store_error(db)[0] ? store_error(db) : status_message(st));
        inventory_destroy(*out);
        *out = NULL;
    }
    store_close(db);
    return st == AS_OK ? -1 : 1;
}

/* A listed endpoint and its inventory index. */
typedef struct listed {
    const inventory_endpoint *ep;
    uint32_t index;
} listed;

static int by_host_path_method(const void *a, const void *b) {
    const inventory_endpoint *x = ((const listed *)a)->ep;
    const inventory_endpoint *y = ((const listed *)b)->ep;
    int c = strcmp(x->host, y->host);
    if (!c)
        c = strcmp(x->path, y->path);
    return c ? c : strcmp(x->method, y->method);
}

/* The listed endpoints, sorted; the caller frees the array. */
static listed *listed_endpoints(const inventory *inv, uint32_t *count) {
    uint32_t n = inventory_endpoint_count(inv);
    listed *list = calloc(n ? n : 1, sizeof *list);
    *count = 0;
    if (!list)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        const inventory_endpoint *ep = inventory_endpoint_at(inv, i);
        if (ep && ep->listed)
            list[(*count)++] = (listed){ep, i};
    }
    qsort(list, *count, sizeof *list, by_host_path_method);
    return list;
}

/* ---- table ---------------------------------------------------------------------- */

enum {
    COL_SERVICE,
    COL_METHOD,
    COL_PATH,
    COL_STATUS,
    COL_AUTH,
    COL_SENSITIVE,
    COL_REQUESTS,
    COL_LAST_SEEN,
    COLUMNS
};

static const char *const column_titles[COLUMNS] = {"SERVICE", "METHOD",    "PATH",     "STATUS",
                                                   "AUTH",    "SENSITIVE", "REQUESTS", "LAST SEEN"};

typedef struct table_row {
    char cells[COLUMNS][INVENTORY_HOST_BYTES + INVENTORY_PATH_BYTES];
} table_row;

/* Names of a record list joined by ','; "-" when empty. */
static void join(char *out, size_t cap, const record_str_list *lists, int count) {
    size_t len = 0;
    out[0] = 0;
    for (int l = 0; l < count; l++) {
        for (uint32_t i = 0; i < lists[l].count; i++) {
            const str_view *item = &lists[l].items[i];
            int seen = 0;
            for (int k = 0; k < l && !seen; k++)
                for (uint32_t j = 0; j < lists[k].count && !seen; j++)
                    seen = lists[k].items[j].len == item->len &&
                           memcmp(lists[k].items[j].ptr, item->ptr, item->len) == 0;
            if (!seen && len + item->len + 2 < cap) {
                if (len)
                    out[len++] = ',';
                memcpy(out + len, item->ptr, item->len);
                len += item->len;
                out[len] = 0;
            }
        }
    }
    if (!len)
        snprintf(out, cap, "-");
}

/* Text from traffic for a terminal: control bytes become '?'. */
static void printable(char *out, size_t cap, const char *a, const char *b) {
    snprintf(out, cap, "%s%s", a, b);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static void fill_row(table_row *row, const inventory_endpoint *ep) {
    model_endpoint_view v;
    model_endpoint_view_fill(&v, ep, ep->last_seen_ns);
    const size_t cap = sizeof row->cells[0];
    printable(row->cells[COL_SERVICE], cap, ep->host, ep->service_prefix); /* host/prefix */
    printable(row->cells[COL_METHOD], cap, ep->method, "");
    printable(row->cells[COL_PATH], cap, ep->path, "");
    snprintf(row->cells[COL_STATUS], cap, "%s", endpoint_event_status_name(v.record.status));
    join(row->cells[COL_AUTH], cap, &v.record.auth, 1);
    record_str_list sensitive[4] = {
        v.record.sensitive_data.request_body, v.record.sensitive_data.request_headers,
        v.record.sensitive_data.query, v.record.sensitive_data.response_body};
    join(row->cells[COL_SENSITIVE], cap, sensitive, 4);
    snprintf(row->cells[COL_REQUESTS], cap, "%" PRIu64, ep->requests);
    time_t secs = (time_t)(ep->last_seen_ns / 1000000000ull);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(row->cells[COL_LAST_SEEN], cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_row(FILE *out, const char *const *cells, const size_t *width) {
    for (int c = 0; c < COLUMNS; c++) {
        if (c == COL_REQUESTS) /* numbers right-aligned */
            fprintf(out, "%*s", (int)width[c], cells[c]);
        else if (c == COLUMNS - 1)
            fputs(cells[c], out);
        else
            fprintf(out, "%-*s", (int)width[c], cells[c]);
        fputs(c == COLUMNS - 1 ? "\n" : "  ", out);
    }
}

static void write_table(FILE *out, const inventory *inv, const listed *list, uint32_t count) {
    size_t width[COLUMNS];
    for (int c = 0; c < COLUMNS; c++)
        width[c] = strlen(column_titles[c]);
    table_row *row = malloc(sizeof *row);
    if (!row)
        return;
    for (uint32_t i = 0; i < count; i++) {
        fill_row(row, list[i].ep);
        for (int c = 0; c < COLUMNS; c++)
            if (strlen(row->cells[c]) > width[c])
                width[c] = strlen(row->cells[c]);
    }
    print_row(out, column_titles, width);
    for (uint32_t i = 0; i < count; i++) {
        fill_row(row, list[i].ep);
        const char *cells[COLUMNS];
        for (int c = 0; c < COLUMNS; c++)
            cells[c] = row->cells[c];
        print_row(out, cells, width);
    }
    free(row);
    inventory_stats st = inventory_get_stats(inv);
    uint64_t noise = 0;
    for (uint32_t i = 0; i < inventory_service_count(inv); i++)
        noise += inventory_service_at(inv, i)->noise;
    fprintf(out, "%u endpoints, %" PRIu64 " findings, %" PRIu64 " requests to unknown paths\n",
            count, st.findings, noise);
}

/* ---- --json ---------------------------------------------------------------------- */

static void write_json(FILE *out, const listed *list, uint32_t count) {
    char hostname[256] = "apisensor";
    if (gethostname(hostname, sizeof hostname) != 0)
        snprintf(hostname, sizeof hostname, "apisensor");
    hostname[sizeof hostname - 1] = 0;
    event_sensor sensor = {hostname, APISENSOR_VERSION};
    json_writer w;
    json_writer_init(&w);
    for (uint32_t i = 0; i < count; i++) {
        model_endpoint_view v;
        model_endpoint_view_fill(&v, list[i].ep, list[i].ep->last_seen_ns);
        json_writer_reset(&w);
        endpoint_event_write(&w, &sensor, &v.record);
        json_newline(&w);
        if (json_writer_ok(&w))
            fwrite(w.buf, 1, w.len, out);
    }
    json_writer_free(&w);
}

/* ---- --openapi -------------------------------------------------------------------- */

#define OPENAPI_PATH_BYTES (3 * INVENTORY_PATH_BYTES + 64)
#define OPENAPI_PARAMS 32
#define OPENAPI_QUERY_SCHEMES 32

/* One listed endpoint with its OpenAPI path. */
typedef struct op_entry {
    const inventory_endpoint *ep;
    uint32_t index;                 /* inventory index */
    char shape[OPENAPI_PATH_BYTES]; /* path with every parameter written "{}": the grouping key */
    char path[OPENAPI_PATH_BYTES];  /* path key with unique parameter names */
    char params[OPENAPI_PARAMS][INVENTORY_PARAM_BYTES + 4];
    uint32_t param_count;
} op_entry;

static int lower_method(const char *method, char *out, size_t cap) {
    static const char *const methods[] = {"get",     "put",  "post",  "delete",
                                          "options", "head", "patch", "trace"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (strcasecmp(method, methods[i]) == 0) {
            snprintf(out, cap, "%s", methods[i]);
            return (int)i;
        }
    }
    return -1; /* a method OpenAPI 3.1 cannot express */
}

static void add_char(char *out, size_t *len, char c) {
    if (*len + 1 < OPENAPI_PATH_BYTES) {
        out[(*len)++] = c;
        out[*len] = 0;
    }
}

static void add_text(char *out, size_t *len, const char *text) {
    while (*text)
        add_char(out, len, *text++);
}

/* Splits ep->path into the path key and its parameters. Literal braces are
 * percent-encoded so that only whole {name} segments are parameters. */
static void entry_init(op_entry *e, const inventory_endpoint *ep, uint32_t index) {
    memset(e, 0, sizeof *e);
    e->ep = ep;
    e->index = index;
    size_t plen = 0, slen = 0;
    const char *p = ep->path;
    if (*p != '/') {
        add_char(e->path, &plen, '/');
        add_char(e->shape, &slen, '/');
    }
    while (*p) {
        const char *end = strchr(p, '/');
        size_t seg = end ? (size_t)(end - p) : strlen(p);
        int param = seg >= 2 && p[0] == '{' && p[seg - 1] == '}' && !memchr(p + 1, '{', seg - 2) &&
                    !memchr(p + 1, '}', seg - 2);
        if (param && e->param_count < OPENAPI_PARAMS) {
            char name[INVENTORY_PARAM_BYTES];
            size_t n = 0;
            for (size_t i = 1; i + 1 < seg && n + 1 < sizeof name; i++)
                if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                    (p[i] >= '0' && p[i] <= '9') || p[i] == '_')
                    name[n++] = p[i];
            name[n] = 0;
            if (!n)
                snprintf(name, sizeof name, "param");
            char *unique = e->params[e->param_count];
            size_t cap = sizeof e->params[0];
            snprintf(unique, cap, "%s", name);
            for (int suffix = 2;; suffix++) {
                uint32_t k = 0;
                while (k < e->param_count && strcmp(e->params[k], unique) != 0)
                    k++;
                if (k == e->param_count)
                    break;
                snprintf(unique, cap, "%.*s%d", (int)(cap - 12), name, suffix);
            }
            add_char(e->path, &plen, '{');
            add_text(e->path, &plen, unique);
            add_char(e->path, &plen, '}');
            add_text(e->shape, &slen, "{}");
            e->param_count++;
        } else {
            for (size_t i = 0; i < seg; i++) {
                const char *enc = p[i] == '{' ? "%7B" : p[i] == '}' ? "%7D" : NULL;
                char one[2] = {p[i], 0};
                add_text(e->path, &plen, enc ? enc : one);
                add_text(e->shape, &slen, enc ? enc : one);
            }
        }
        if (!end)
            break;
        add_char(e->path, &plen, '/');
        add_char(e->shape, &slen, '/');
        p = end + 1;
    }
}

static int by_shape_method_host_path(const void *a, const void *b) {
    const op_entry *x = a, *y = b;
    int c = strcmp(x->shape, y->shape);
    if (!c)
        c = strcasecmp(x->ep->method, y->ep->method);
    if (!c)
        c = strcmp(x->ep->host, y->ep->host);
    return c ? c : strcmp(x->ep->path, y->ep->path);
}

/* A media type worth a key: type "/" subtype, RFC 6838 token characters. */
static int media_type_ok(const char *t) {
    int slash = 0;
    size_t n = 0;
    for (; *t; t++, n++) {
        if (*t == '/') {
            if (slash++ || n == 0)
                return 0;
            continue;
        }
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
              strchr("!#$&^_.+-*", *t)))
            return 0;
    }
    return slash == 1 && t[-1] != '/';
}

typedef struct doc_state {
    json_writer *w;
    const inventory *inv;
    const char *const *auth_names;
    uint32_t auth_count;
    const char *const *type_names;
    uint32_t type_count;
    uint32_t auth_used;                                            /* auth bits seen */
    char query_keys[OPENAPI_QUERY_SCHEMES][INVENTORY_PARAM_BYTES]; /* token_in_url parameters */
    uint32_t query_key_count;
    uint64_t skipped_methods;
    int multi_host;     /* more than one host: operations name their servers */
    const char **hosts; /* scratch, one slot per endpoint */
} doc_state;

/* Security scheme name of an auth kind; NULL for kinds without one. */
static const char *scheme_name(const char *kind) {
    static const char *const map[][2] = {{"bearer_jwt", "bearerJwt"},
                                         {"bearer_token", "bearerToken"},
                                         {"basic", "basicAuth"},
                                         {"api_key_header", "apiKeyHeader"},
                                         {"query_credential", "apiKeyQuery"},
                                         {"cookie", "cookieAuth"},
                                         {"mtls", "mutualTLS"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], kind) == 0)
            return map[i][1];
    return NULL;
}

/* "apiKeyQuery_<name>" with the characters a component key allows. */
static void query_scheme_key(char *out, size_t cap, const char *param) {
    size_t n = (size_t)snprintf(out, cap, "apiKeyQuery_");
    for (; *param && n + 1 < cap; param++)
        out[n++] =
            ((*param >= 'a' && *param <= 'z') || (*param >= 'A' && *param <= 'Z') ||
             (*param >= '0' && *param <= '9') || *param == '_' || *param == '-' || *param == '.')
                ? *param
                : '_';
    out[n] = 0;
}

/* token_in_url parameters of endpoint index, into names. */
static uint32_t query_credentials(const doc_state *d, uint32_t index, const char **names,
                                  uint32_t cap) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < inventory_finding_count(d->inv) && n < cap; i++) {
        const inventory_finding *f = inventory_finding_at(d->inv, i);
        if (f && f->type == INVENTORY_TOKEN_IN_URL && f->endpoint == index && f->parameter[0])
            names[n++] = f->parameter;
    }
    return n;
}

static void remember_query_key(doc_state *d, const char *name) {
    for (uint32_t i = 0; i < d->query_key_count; i++)
        if (strcmp(d->query_keys[i], name) == 0)
            return;
    if (d->query_key_count < OPENAPI_QUERY_SCHEMES)
        snprintf(d->query_keys[d->query_key_count++], INVENTORY_PARAM_BYTES, "%s", name);
}

static void write_schema_for(json_writer *w, const char *param) {
    json_object_begin(w);
    json_key(w, "type");
    json_cstring(w, "string");
    if (strncmp(param, "uuid", 4) == 0 || strncmp(param, "email", 5) == 0) {
        json_key(w, "format");
        json_cstring(w, param[0] == 'u' ? "uuid" : "email");
    }
    json_object_end(w);
}

/* ---- body schemas -------------------------------------------------------------------- */

/* A body schema built from the learned field paths of one side: a node per
 * property or array level, with the JSON types seen there. */
typedef struct schema_node {
    const char *name; /* property name, a view into a field path */
    size_t name_len;
    uint8_t types;                         /* bit (1u << json_kind) */
    int32_t first_child, last_child, next; /* properties, first-seen order; -1 = none */
    int32_t items;                         /* array elements; -1 = none */
} schema_node;

typedef struct schema_tree {
    schema_node *nodes; /* [0] is the body itself */
    uint32_t count, cap;
} schema_tree;

static int32_t schema_new(schema_tree *t, const char *name, size_t len) {
    if (t->count == t->cap)
        return -1;
    t->nodes[t->count] = (schema_node){name, len, 0, -1, -1, -1, -1};
    return (int32_t)t->count++;
}

static int32_t schema_child(schema_tree *t, int32_t parent, const char *name, size_t len) {
    for (int32_t c = t->nodes[parent].first_child; c >= 0; c = t->nodes[c].next)
        if (t->nodes[c].name_len == len && memcmp(t->nodes[c].name, name, len) == 0)
            return c;
    int32_t c = schema_new(t, name, len);
    if (c < 0)
        return -1;
    if (t->nodes[parent].last_child >= 0)
        t->nodes[t->nodes[parent].last_child].next = c;
    else
        t->nodes[parent].first_child = c;
    t->nodes[parent].last_child = c;
    return c;
}

/* Adds "user.name", "items[].sku", "[]" (json_fields notation) with its types. */
static void schema_add(schema_tree *t, const char *path, uint8_t types) {
    int32_t node = 0;
    const char *p = path;
    while (*p && node >= 0) {
        if (p[0] == '[' && p[1] == ']') {
            if (t->nodes[node].items < 0) {
                int32_t items = schema_new(t, "", 0);
                if (items < 0)
                    return;
                t->nodes[node].items = items;
            }
            node = t->nodes[node].items;
            p += 2;
            if (*p == '.')
                p++;
            continue;
        }
        const char *end = p;
        while (*end && *end != '.' && !(end[0] == '[' && end[1] == ']'))
            end++;
        node = schema_child(t, node, p, (size_t)(end - p));
        p = *end == '.' ? end + 1 : end;
    }
    if (node >= 0)
        t->nodes[node].types |= types;
}

/* The tree of one side over a group of entries (one per host); 0 when no
 * field was learned. t->nodes must be freed by the caller. */
static int schema_build(schema_tree *t, const op_entry *group, uint32_t n, inventory_body body) {
    uint32_t cap = 1;
    for (uint32_t g = 0; g < n; g++)
        for (uint32_t i = 0; i < inventory_endpoint_field_count(group[g].ep, body); i++)
            cap += (uint32_t)strlen(inventory_endpoint_field(group[g].ep, body, i).path) + 1;
    *t = (schema_tree){NULL, 0, cap};
    if (cap == 1 || !(t->nodes = calloc(cap, sizeof *t->nodes)))
        return 0;
    schema_new(t, "", 0);
    for (uint32_t g = 0; g < n; g++) {
        for (uint32_t i = 0; i < inventory_endpoint_field_count(group[g].ep, body); i++) {
            inventory_field f = inventory_endpoint_field(group[g].ep, body, i);
            schema_add(t, f.path, f.types);
        }
    }
    return 1;
}

/* A JSON Schema (2020-12, as OpenAPI 3.1): "type" from the types seen (a
 * list when several), "properties" and "items" from the paths below. */
static void write_schema_node(json_writer *w, const schema_tree *t, int32_t index) {
    const schema_node *node = &t->nodes[index];
    uint8_t types = node->types;
    if (node->first_child >= 0)
        types |= 1u << JSON_KIND_OBJECT;
    if (node->items >= 0)
        types |= 1u << JSON_KIND_ARRAY;
    json_object_begin(w);
    if (types) {
        int several = (types & (types - 1)) != 0;
        json_key(w, "type");
        if (several)
            json_array_begin(w);
        for (int kind = 0; kind < JSON_KIND_COUNT; kind++)
            if (types & (1u << kind))
                json_cstring(w, json_kind_name((json_kind)kind));
        if (several)
            json_array_end(w);
    }
    if (node->first_child >= 0) {
        json_key(w, "properties");
        json_object_begin(w);
        for (int32_t c = node->first_child; c >= 0; c = t->nodes[c].next) {
            json_key_len(w, t->nodes[c].name, t->nodes[c].name_len);
            write_schema_node(w, t, c);
        }
        json_object_end(w);
    }
    if (node->items >= 0) {
        json_key(w, "items");
        write_schema_node(w, t, node->items);
    }
    json_object_end(w);
}

static int media_is_json(const char *type) {
    return strstr(type, "json") != NULL;
}

/* Content by media type; JSON ones carry the learned schema when there is
 * one, others (and JSON without learned fields) any value ({}). */
static void write_content(json_writer *w, const char *const *types, uint32_t count,
                          const schema_tree *schema) {
    json_object_begin(w);
    for (uint32_t i = 0; i < count; i++) {
        json_key(w, types[i]);
        json_object_begin(w);
        json_key(w, "schema");
        if (schema && schema->count > 0 && media_is_json(types[i])) {
            write_schema_node(w, schema, 0);
        } else {
            json_object_begin(w);
            json_object_end(w);
        }
        json_object_end(w);
    }
    json_object_end(w);
}

/* A body parsed as JSON whose messages named no JSON media type is listed
 * as application/json. */
static uint32_t add_json_type(const schema_tree *schema, const char **types, uint32_t n,
                              uint32_t cap) {
    if (schema->count == 0 || n == cap)
        return n;
    for (uint32_t i = 0; i < n; i++)
        if (media_is_json(types[i]))
            return n;
    types[n] = "application/json";
    return n + 1;
}

/* Distinct media types of one direction over a group of entries. */
static uint32_t media_types(const op_entry *group, uint32_t n, int response, const char **out,
                            uint32_t cap) {
    uint32_t count = 0;
    for (uint32_t g = 0; g < n; g++) {
        for (int i = 0; i < INVENTORY_CONTENT_TYPES; i++) {
            const char *t =
                response ? group[g].ep->response_types[i] : group[g].ep->request_types[i];
            if (!t[0] || !media_type_ok(t))
                continue;
            uint32_t k = 0;
            while (k < count && strcmp(out[k], t) != 0)
                k++;
            if (k == count && count < cap)
                out[count++] = t;
        }
    }
    return count;
}

/* "http://host" with bytes a URL authority does not allow percent-encoded. */
static void write_server(json_writer *w, const char *host) {
    char url[INVENTORY_HOST_BYTES * 3 + 8];
    size_t n = (size_t)snprintf(url, sizeof url, "http://");
    for (const unsigned char *p = (const unsigned char *)host; *p && n + 4 < sizeof url; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr(".-_~:[]", *p))
            url[n++] = (char)*p;
        else
            n += (size_t)snprintf(url + n, sizeof url - n, "%%%02X", *p);
    }
    url[n] = 0;
    json_object_begin(w);
    json_key(w, "url");
    json_cstring(w, url);
    json_object_end(w);
}

static int by_string(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One server per distinct host; sorts hosts. "/" when there is none. */
static void write_servers(json_writer *w, const char **hosts, uint32_t n) {
    qsort(hosts, n, sizeof *hosts, by_string);
    json_array_begin(w);
    for (uint32_t i = 0; i < n; i++)
        if (i == 0 || strcmp(hosts[i], hosts[i - 1]) != 0)
            write_server(w, hosts[i]);
    if (n == 0) {
        json_object_begin(w);
        json_key(w, "url");
        json_cstring(w, "/");
        json_object_end(w);
    }
    json_array_end(w);
}

/* The operation of one method over the entries of one path (one per host). */
static void write_operation(doc_state *d, const op_entry *group, uint32_t n, const char *path) {
    json_writer *w = d->w;
    uint64_t requests = 0, first = UINT64_MAX, last = 0;
    uint32_t auth = 0, sensitive = 0;
    int unauthenticated = 0;
    inventory_status status = INVENTORY_UNKNOWN;
    for (uint32_t g = 0; g < n; g++) {
        const inventory_endpoint *ep = group[g].ep;
        requests += ep->requests;
        first = ep->first_seen_ns < first ? ep->first_seen_ns : first;
        last = ep->last_seen_ns > last ? ep->last_seen_ns : last;
        auth |= ep->auth_kinds;
        unauthenticated |= ep->unauthenticated;
        for (int l = 0; l < INVENTORY_LOCATIONS; l++)
            sensitive |= ep->sensitive[l];
        if (ep->status > status) /* zombie over shadow over declared over unknown */
            status = ep->status;
    }
    char method[16];
    lower_method(group[0].ep->method, method, sizeof method);
    json_key(w, method);
    json_object_begin(w);
    char summary[OPENAPI_PATH_BYTES + 96];
    snprintf(summary, sizeof summary, "%s %s (%s, %" PRIu64 " requests observed)",
             group[0].ep->method, path, inventory_status_name(status), requests);
    json_key(w, "summary");
    json_cstring(w, summary);
    if (status == INVENTORY_ZOMBIE) {
        json_key(w, "deprecated");
        json_bool(w, 1);
    }
    if (d->multi_host) {
        for (uint32_t g = 0; g < n; g++)
            d->hosts[g] = group[g].ep->host;
        json_key(w, "servers");
        write_servers(w, d->hosts, n);
    }

    /* query parameters: the union over the hosts */
    const char *query[INVENTORY_PARAMS];
    uint32_t nq = 0;
    for (uint32_t g = 0; g < n; g++) {
        for (uint32_t i = 0; i < group[g].ep->query_param_count; i++) {
            const char *name = group[g].ep->query_params[i];
            uint32_t k = 0;
            while (k < nq && strcmp(query[k], name) != 0)
                k++;
            if (k == nq && nq < INVENTORY_PARAMS)
                query[nq++] = name;
        }
    }
    if (nq) {
        json_key(w, "parameters");
        json_array_begin(w);
        for (uint32_t i = 0; i < nq; i++) {
            json_object_begin(w);
            json_key(w, "name");
            json_cstring(w, query[i]);
            json_key(w, "in");
            json_cstring(w, "query");
            json_key(w, "required");
            json_bool(w, 0);
            json_key(w, "schema");
            write_schema_for(w, "");
            json_object_end(w);
        }
        json_array_end(w);
    }

    const char *types[INVENTORY_CONTENT_TYPES * 8 + 1];
    uint32_t cap = sizeof types / sizeof types[0];
    schema_tree schema;
    schema_build(&schema, group, n, INVENTORY_BODY_REQUEST);
    uint32_t nt = add_json_type(&schema, types, media_types(group, n, 0, types, cap - 1), cap);
    if (nt) {
        json_key(w, "requestBody");
        json_object_begin(w);
        json_key(w, "content");
        write_content(w, types, nt, &schema);
        json_object_end(w);
    }
    free(schema.nodes);

    /* observed statuses, ascending; 2xx carry the response content types */
    uint64_t counts[600] = {0};
    uint64_t other = 0;
    for (uint32_t g = 0; g < n; g++) {
        const inventory_endpoint *ep = group[g].ep;
        for (int i = 0; i < INVENTORY_STATUS_SLOTS && ep->status_codes[i]; i++) {
            if (ep->status_codes[i] >= 100 && ep->status_codes[i] < 600)
                counts[ep->status_codes[i]] += ep->status_counts[i];
            else
                other += ep->status_counts[i];
        }
        other += ep->status_other;
    }
    schema_build(&schema, group, n, INVENTORY_BODY_RESPONSE);
    nt = add_json_type(&schema, types, media_types(group, n, 1, types, cap - 1), cap);
    json_key(w, "responses");
    json_object_begin(w);
    int any = 0;
    for (int code = 100; code < 600; code++) {
        if (!counts[code])
            continue;
        char key[8], text[64];
        snprintf(key, sizeof key, "%d", code);
        snprintf(text, sizeof text, "observed %" PRIu64 " times", counts[code]);
        json_key(w, key);
        json_object_begin(w);
        json_key(w, "description");
        json_cstring(w, text);
        if (code >= 200 && code < 300 && nt) {
            json_key(w, "content");
            write_content(w, types, nt, &schema);
        }
        json_object_end(w);
        any = 1;
    }
    free(schema.nodes);
    if (other || !any) {
        char text[96];
        snprintf(text, sizeof text, "no response or a status outside 100-599 (%" PRIu64 " times)",
                 other);
        json_key(w, "default");
        json_object_begin(w);
        json_key(w, "description");
        json_cstring(w, text);
        json_object_end(w);
    }
    json_object_end(w);

    /* security: each auth kind seen is an alternative; {} when some request
     * carried no credential */
    json_key(w, "security");
    json_array_begin(w);
    for (uint32_t bit = 0; bit < d->auth_count; bit++) {
        if (!(auth & (1u << bit)) || !scheme_name(d->auth_names[bit]))
            continue;
        if (strcmp(d->auth_names[bit], "query_credential") == 0) {
            const char *names[OPENAPI_QUERY_SCHEMES];
            uint32_t nn = 0;
            for (uint32_t g = 0; g < n; g++)
                nn += query_credentials(d, group[g].index, names + nn, OPENAPI_QUERY_SCHEMES - nn);
            for (uint32_t i = 0; i < nn; i++) {
                char key[INVENTORY_PARAM_BYTES + 16];
                query_scheme_key(key, sizeof key, names[i]);
                remember_query_key(d, names[i]);
                json_object_begin(w);
                json_key(w, key);
                json_array_begin(w);
                json_array_end(w);
                json_object_end(w);
            }
            if (nn)
                continue;
        }
        d->auth_used |= 1u << bit;
        json_object_begin(w);
        json_key(w, scheme_name(d->auth_names[bit]));
        json_array_begin(w);
        json_array_end(w);
        json_object_end(w);
    }
    if (unauthenticated && auth) {
        json_object_begin(w);
        json_object_end(w);
    }
    json_array_end(w);

    json_key(w, "x-apisensor-status");
    json_cstring(w, inventory_status_name(status));
    json_key(w, "x-apisensor-requests");
    json_uint(w, requests);
    event_time_field(w, "x-apisensor-first-seen", first);
    event_time_field(w, "x-apisensor-last-seen", last);
    json_key(w, "x-apisensor-sensitive-data");
    json_array_begin(w);
    for (uint32_t bit = 0; bit < d->type_count; bit++)
        if (sensitive & (1u << bit))
            json_cstring(w, d->type_names[bit]);
    json_array_end(w);
    json_object_end(w);
}

static void write_security_schemes(doc_state *d) {
    json_writer *w = d->w;
    json_key(w, "securitySchemes");
    json_object_begin(w);
    for (uint32_t bit = 0; bit < d->auth_count; bit++) {
        const char *kind = d->auth_names[bit];
        if (strcmp(kind, "query_credential") == 0) {
            for (uint32_t i = 0; i < d->query_key_count; i++) {
                char key[INVENTORY_PARAM_BYTES + 16];
                query_scheme_key(key, sizeof key, d->query_keys[i]);
                json_key(w, key);
                json_object_begin(w);
                json_key(w, "type");
                json_cstring(w, "apiKey");
                json_key(w, "in");
                json_cstring(w, "query");
                json_key(w, "name");
                json_cstring(w, d->query_keys[i]);
                json_object_end(w);
            }
        }
        if (!(d->auth_used & (1u << bit)) || !scheme_name(kind))
            continue;
        json_key(w, scheme_name(kind));
        json_object_begin(w);
        const char *type = "http", *scheme = NULL, *format = NULL, *in = NULL, *name = NULL;
        const char *note = NULL;
        if (strcmp(kind, "bearer_jwt") == 0) {
            scheme = "bearer";
            format = "JWT";
        } else if (strcmp(kind, "bearer_token") == 0) {
            scheme = "bearer";
        } else if (strcmp(kind, "basic") == 0) {
            scheme = "basic";
        } else if (strcmp(kind, "mtls") == 0) {
            type = "mutualTLS";
        } else {
            type = "apiKey";
            in = strcmp(kind, "cookie") == 0           ? "cookie"
                 : strcmp(kind, "api_key_header") == 0 ? "header"
                                                       : "query";
            name = in[0] == 'c' ? "session" : in[0] == 'h' ? "X-API-Key" : "api_key";
            note = "the sensor does not record the credential's name: this one is a placeholder";
        }
        json_key(w, "type");
        json_cstring(w, type);
        if (scheme) {
            json_key(w, "scheme");
            json_cstring(w, scheme);
        }
        if (format) {
            json_key(w, "bearerFormat");
            json_cstring(w, format);
        }
        if (in) {
            json_key(w, "in");
            json_cstring(w, in);
            json_key(w, "name");
            json_cstring(w, name);
            json_key(w, "description");
            json_cstring(w, note);
        }
        json_object_end(w);
    }
    json_object_end(w);
}

static void write_path_parameters(json_writer *w, const op_entry *e) {
    if (!e->param_count)
        return;
    json_key(w, "parameters");
    json_array_begin(w);
    for (uint32_t i = 0; i < e->param_count; i++) {
        json_object_begin(w);
        json_key(w, "name");
        json_cstring(w, e->params[i]);
        json_key(w, "in");
        json_cstring(w, "path");
        json_key(w, "required");
        json_bool(w, 1);
        json_key(w, "schema");
        write_schema_for(w, e->params[i]);
        json_object_end(w);
    }
    json_array_end(w);
}

static int write_openapi(FILE *out, const inventory *inv, const listed *list, uint32_t count) {
    op_entry *entries = calloc(count ? count : 1, sizeof *entries);
    if (!entries) {
        fprintf(stderr, "apisensor inventory: out of memory\n");
        return 1;
    }
    json_writer w;
    json_writer_init(&w);
    doc_state d = {.w = &w, .inv = inv};
    d.auth_names = model_auth_kinds(&d.auth_count);
    d.type_names = model_data_types(&d.type_count);
    uint32_t n = 0;
    uint64_t first = UINT64_MAX, last = 0;
    for (uint32_t i = 0; i < count; i++) {
        const inventory_endpoint *ep = list[i].ep;
        char method[16];
        if (lower_method(ep->method, method, sizeof method) < 0) {
            d.skipped_methods++;
            continue;
        }
        entry_init(&entries[n++], ep, list[i].index);
        first = ep->first_seen_ns < first ? ep->first_seen_ns : first;
        last = ep->last_seen_ns > last ? ep->last_seen_ns : last;
    }
    qsort(entries, n, sizeof *entries, by_shape_method_host_path);
    /* operations name their servers only when there is more than one */
    for (uint32_t i = 1; i < count && !d.multi_host; i++)
        d.multi_host = strcmp(list[i].ep->host, list[0].ep->host) != 0;

    char from[40] = "-", to[40] = "-", description[512];
    if (n) {
        event_format_time(first, from, sizeof from);
        event_format_time(last, to, sizeof to);
    }
    snprintf(description, sizeof description,
             "Endpoints observed on the wire by apisensor between %s and %s. Operations carry "
             "x-apisensor-status (declared, shadow, zombie, unknown) and their observed counts; "
             "JSON body schemas list the fields and types seen in sampled bodies ({} when none "
             "were learned); fields are not marked required. "
             "%" PRIu64 " endpoints with methods OpenAPI 3.1 cannot express are left out.",
             from, to, d.skipped_methods);
    json_object_begin(&w);
    json_key(&w, "openapi");
    json_cstring(&w, "3.1.0");
    json_key(&w, "info");
    json_object_begin(&w);
    json_key(&w, "title");
    json_cstring(&w, "APIs observed by apisensor");
    json_key(&w, "version");
    json_cstring(&w, n ? to : "empty");
    json_key(&w, "description");
    json_cstring(&w, description);
    json_object_end(&w);
    const char **hosts = calloc(n ? n : 1, sizeof *hosts);
    if (!hosts) {
        free(entries);
        json_writer_free(&w);
        fprintf(stderr, "apisensor inventory: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < n; i++)
        hosts[i] = entries[i].ep->host;
    json_key(&w, "servers");
    write_servers(&w, hosts, n);
    d.hosts = hosts;
    json_key(&w, "paths");
    json_object_begin(&w);
    for (uint32_t start = 0; start < n;) {
        uint32_t end = start;
        while (end < n && strcmp(entries[end].shape, entries[start].shape) == 0)
            end++;
        /* the group's OpenAPI path: that of its smallest template */
        const op_entry *first_entry = &entries[start];
        for (uint32_t k = start + 1; k < end; k++)
            if (strcmp(entries[k].ep->path, first_entry->ep->path) < 0)
                first_entry = &entries[k];
        json_key(&w, first_entry->path);
        json_object_begin(&w);
        write_path_parameters(&w, first_entry);
        for (uint32_t m = start; m < end;) {
            uint32_t k = m;
            while (k < end && strcasecmp(entries[k].ep->method, entries[m].ep->method) == 0)
                k++;
            write_operation(&d, &entries[m], k - m, first_entry->path);
            m = k;
        }
        json_object_end(&w);
        start = end;
    }
    json_object_end(&w);
    json_key(&w, "components");
    json_object_begin(&w);
    write_security_schemes(&d);
    json_object_end(&w);
    json_object_end(&w);
    json_newline(&w);
    int rc = 0;
    if (!json_writer_ok(&w) || fwrite(w.buf, 1, w.len, out) != w.len)
        rc = 1;
    json_writer_free(&w);
    free(hosts);
    free(entries);
    return rc;
}

/* ---- the command -------------------------------------------------------------------- */

int inventory_cmd_main(int argc, char **argv) {
    cmd_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0)
        return rc;
    inventory *inv = NULL;
    rc = load(o.db_path, &inv);
    if (rc >= 0)
        return rc;
    uint32_t count = 0;
    listed *list = listed_endpoints(inv, &count);
    rc = 0;
    if (!list) {
        fprintf(stderr, "apisensor inventory: out of memory\n");
        rc = 1;
    } else if (o.openapi) {
        rc = write_openapi(stdout, inv, list, count);
    } else if (o.json) {
        write_json(stdout, list, count);
    } else {
        write_table(stdout, inv, list, count);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "apisensor inventory: standard output: write failed\n");
        rc = 1;
    }
    free(list);
    inventory_destroy(inv);
    return rc;
}
