/*
 * Unit tests of the OpenAPI reader and matcher (inventory/openapi.c): the
 * scenario spec in YAML and the same converted to JSON, an OpenAPI 3.1 and a
 * Swagger 2.0 fixture (tests/inventory/fixtures/), matching rules (base
 * paths, literal over template, trailing slash, percent-encoding, mixed
 * segments), and every class of broken spec with its file:line message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "inventory/openapi.h"

#define SCENARIO_SPEC SHARED_DIR "/pcaps/scenarios/openapi.yaml"
#define FIXTURES SOURCE_DIR "/tests/inventory/fixtures/"

static char errbuf[1024];

static openapi_spec *load_file_ok(const char *path) {
    limits lim = limits_default();
    openapi_spec *spec = NULL;
    as_status st = openapi_load_file(path, &lim, errbuf, sizeof errbuf, &spec);
    if (st != AS_OK)
        fail_msg("%s: %s", status_name(st), errbuf);
    assert_non_null(spec);
    return spec;
}

static openapi_spec *load_text_ok(const char *text) {
    limits lim = limits_default();
    openapi_spec *spec = NULL;
    as_status st =
        openapi_load_buffer("inline.yaml", text, strlen(text), &lim, errbuf, sizeof errbuf, &spec);
    if (st != AS_OK)
        fail_msg("%s: %s", status_name(st), errbuf);
    return spec;
}

static str_view sv(const char *s) {
    str_view v = {s, (uint32_t)strlen(s)};
    return v;
}

static int view_is(str_view v, const char *s) {
    return v.ptr && v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

/* The operation matched by "METHOD target", or NULL. */
static const openapi_operation *match(const openapi_spec *spec, const char *method,
                                      const char *target) {
    openapi_hit hit = {NULL, {NULL, 0}};
    if (!openapi_match(spec, sv(method), sv(target), &hit))
        return NULL;
    assert_non_null(hit.op);
    return hit.op;
}

/* operationId of the match, "" when the operation has none, NULL for none. */
static const char *match_id(const openapi_spec *spec, const char *method, const char *target) {
    static char id[128];
    const openapi_operation *op = match(spec, method, target);
    if (!op)
        return NULL;
    snprintf(id, sizeof id, "%.*s", (int)op->operation_id.len,
             op->operation_id.ptr ? op->operation_id.ptr : "");
    return id;
}

static const openapi_operation *find_op(const openapi_spec *spec, openapi_method method,
                                        const char *path) {
    for (uint32_t i = 0; i < openapi_operation_count(spec); i++) {
        const openapi_operation *op = openapi_operation_at(spec, i);
        if (op->method == method && view_is(op->path, path))
            return op;
    }
    fail_msg("no %s %s", openapi_method_name(method), path);
    return NULL;
}

static int has_param(const openapi_operation *op, openapi_param_in in, const char *name) {
    for (uint32_t i = 0; i < op->param_count; i++)
        if (op->params[i].in == in && view_is(op->params[i].name, name))
            return 1;
    return 0;
}

static const openapi_security_scheme *op_scheme(const openapi_spec *spec,
                                                const openapi_operation *op, uint32_t i) {
    assert_true(i < op->scheme_count);
    return openapi_security_scheme_at(spec, op->schemes[i]);
}

/* ------------------------------------------------- the scenario spec */

/* What ../shared/pcaps/scenarios/openapi.yaml declares: 11 paths, 14
 * operations, /users/{id} and /users/{id}/orders deprecated, a global bearer
 * requirement that /register, /login and the product reads turn off. */
static void check_shopapi(const openapi_spec *spec) {
    assert_string_equal(openapi_version(spec), "3.0.3");
    assert_int_equal(openapi_operation_count(spec), 14);
    assert_int_equal(openapi_deprecated_count(spec), 2);
    int distinct_paths = 0;
    for (uint32_t i = 0; i < openapi_operation_count(spec); i++) {
        const openapi_operation *op = openapi_operation_at(spec, i);
        assert_int_equal(op->index, i);
        int first = 1;
        for (uint32_t j = 0; j < i; j++)
            first &= !view_is(openapi_operation_at(spec, j)->path, op->path.ptr);
        distinct_paths += first;
    }
    assert_int_equal(distinct_paths, 11);

    /* both servers are at the root */
    assert_int_equal(openapi_base_path_count(spec), 1);
    assert_true(view_is(openapi_base_path_at(spec, 0), ""));

    assert_int_equal(openapi_security_scheme_count(spec), 1);
    const openapi_security_scheme *bearer = openapi_security_scheme_at(spec, 0);
    assert_true(view_is(bearer->name, "bearerAuth"));
    assert_int_equal(bearer->type, OPENAPI_SCHEME_HTTP_BEARER);
    assert_true(view_is(bearer->bearer_format, "JWT"));

    const openapi_operation *reg = find_op(spec, OPENAPI_POST, "/register");
    assert_false(reg->requires_auth);
    assert_int_equal(reg->scheme_count, 0);
    assert_false(find_op(spec, OPENAPI_POST, "/login")->requires_auth);
    assert_false(find_op(spec, OPENAPI_GET, "/products/{id}")->requires_auth);
    const openapi_operation *orders = find_op(spec, OPENAPI_GET, "/orders");
    assert_true(orders->requires_auth);
    assert_int_equal(orders->scheme_count, 1);
    assert_ptr_equal(op_scheme(spec, orders, 0), bearer);
    assert_true(has_param(orders, OPENAPI_IN_QUERY, "userId"));
    const openapi_operation *products = find_op(spec, OPENAPI_GET, "/products");
    assert_int_equal(products->param_count, 3);
    assert_true(has_param(products, OPENAPI_IN_QUERY, "_page"));
    assert_true(has_param(products, OPENAPI_IN_QUERY, "category"));

    const openapi_operation *user = find_op(spec, OPENAPI_GET, "/users/{id}");
    assert_true(user->deprecated);
    assert_true(user->requires_auth);
    assert_true(has_param(user, OPENAPI_IN_PATH, "id"));
    assert_true(find_op(spec, OPENAPI_GET, "/users/{id}/orders")->deprecated);
    assert_false(find_op(spec, OPENAPI_PATCH, "/orders/{id}")->deprecated);

    assert_ptr_equal(match(spec, "GET", "/users/17"), user);
    assert_ptr_equal(match(spec, "GET", "/users/17/orders?x=1"),
                     find_op(spec, OPENAPI_GET, "/users/{id}/orders"));
    assert_ptr_equal(match(spec, "GET", "/orders?userId=3"), orders);
    assert_ptr_equal(match(spec, "PATCH", "/profiles/4"),
                     find_op(spec, OPENAPI_PATCH, "/profiles/{id}"));
    assert_ptr_equal(match(spec, "POST", "/login"), find_op(spec, OPENAPI_POST, "/login"));
    assert_null(match(spec, "DELETE", "/orders/1")); /* path declared, method not */
    assert_null(match(spec, "GET", "/users"));       /* shadow */
    assert_null(match(spec, "GET", "/admin/users/1"));
    assert_null(match(spec, "GET", "/products/1/extra"));
}

static void scenario_spec_yaml(void **state) {
    (void)state;
    openapi_spec *spec = load_file_ok(SCENARIO_SPEC);
    check_shopapi(spec);
    openapi_destroy(spec);
}

static void scenario_spec_json(void **state) {
    (void)state;
    openapi_spec *yaml = load_file_ok(SCENARIO_SPEC);
    openapi_spec *json = load_file_ok(FIXTURES "shopapi.json");
    check_shopapi(json);
    /* the same table, in the same order, from both encodings */
    for (uint32_t i = 0; i < openapi_operation_count(yaml); i++) {
        const openapi_operation *a = openapi_operation_at(yaml, i);
        const openapi_operation *b = openapi_operation_at(json, i);
        assert_int_equal(a->method, b->method);
        assert_true(view_is(b->path, a->path.ptr));
        assert_int_equal(a->deprecated, b->deprecated);
        assert_int_equal(a->requires_auth, b->requires_auth);
        assert_int_equal(a->param_count, b->param_count);
    }
    openapi_destroy(yaml);
    openapi_destroy(json);
}

/* Minified JSON (no spaces after ':'), tab indentation and \/ escapes are
 * read by libyaml as they are; a surrogate pair (an emoji as a JSON writer
 * escapes it) and a lone surrogate are rewritten before parsing. */
static void json_quirks(void **state) {
    (void)state;
    openapi_spec *spec =
        load_text_ok("{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"\\ud83d\\ude00 caf\\u00e9 "
                     "\\udc00\",\"version\":\"1\"},\n"
                     "\t\"paths\":{\"\\/a\\/{id}\":{\"get\":{\"deprecated\":true,"
                     "\"summary\":\"\\\\ud83d not an escape\"}}}}");
    assert_int_equal(openapi_operation_count(spec), 1);
    assert_true(view_is(openapi_operation_at(spec, 0)->path, "/a/{id}"));
    assert_int_equal(openapi_deprecated_count(spec), 1);
    openapi_destroy(spec);
}

/* ------------------------------------------------ OpenAPI 3.1 fixture */

static void openapi31_fixture(void **state) {
    (void)state;
    openapi_spec *spec = load_file_ok(FIXTURES "openapi31.yaml");
    assert_string_equal(openapi_version(spec), "3.1.0");
    assert_int_equal(openapi_operation_count(spec), 12); /* webhooks are not paths */
    assert_int_equal(openapi_deprecated_count(spec), 2);

    /* "https://{region}.api.example.com/{version}/" -> "/v2"; "/internal" */
    assert_int_equal(openapi_base_path_count(spec), 2);
    assert_true(view_is(openapi_base_path_at(spec, 0), "/internal"));
    assert_true(view_is(openapi_base_path_at(spec, 1), "/v2"));

    assert_int_equal(openapi_security_scheme_count(spec), 7);
    static const struct {
        const char *name;
        openapi_scheme_type type;
    } schemes[] = {
        {"apiKeyHeader", OPENAPI_SCHEME_API_KEY},  {"apiKeyQuery", OPENAPI_SCHEME_API_KEY},
        {"sessionCookie", OPENAPI_SCHEME_API_KEY}, {"basicAuth", OPENAPI_SCHEME_HTTP_BASIC},
        {"oauth", OPENAPI_SCHEME_OAUTH2},          {"oidc", OPENAPI_SCHEME_OPENID_CONNECT},
        {"mtls", OPENAPI_SCHEME_MUTUAL_TLS}};
    for (uint32_t i = 0; i < 7; i++) {
        const openapi_security_scheme *sc = openapi_security_scheme_at(spec, i);
        assert_true(view_is(sc->name, schemes[i].name));
        assert_int_equal(sc->type, schemes[i].type);
    }
    assert_int_equal(openapi_security_scheme_at(spec, 0)->api_key_in, OPENAPI_IN_HEADER);
    assert_true(view_is(openapi_security_scheme_at(spec, 0)->api_key_name, "X-API-Key"));
    assert_int_equal(openapi_security_scheme_at(spec, 1)->api_key_in, OPENAPI_IN_QUERY);
    assert_int_equal(openapi_security_scheme_at(spec, 2)->api_key_in, OPENAPI_IN_COOKIE);
    assert_true(view_is(openapi_security_scheme_at(spec, 2)->api_key_name, "SID"));

    /* global security: apiKeyHeader OR oauth */
    const openapi_operation *list = find_op(spec, OPENAPI_GET, "/users");
    assert_true(view_is(list->operation_id, "listUsers"));
    assert_true(list->requires_auth);
    assert_int_equal(list->scheme_count, 2);
    assert_true(view_is(op_scheme(spec, list, 0)->name, "apiKeyHeader"));
    assert_true(view_is(op_scheme(spec, list, 1)->name, "oauth"));
    /* $ref -> $ref -> Limit, and a cookie parameter */
    assert_int_equal(list->param_count, 2);
    assert_true(has_param(list, OPENAPI_IN_QUERY, "limit"));
    assert_true(has_param(list, OPENAPI_IN_COOKIE, "SID"));

    /* security: [{}, {basicAuth: []}] is optional authentication */
    const openapi_operation *create = find_op(spec, OPENAPI_POST, "/users");
    assert_false(create->requires_auth);
    assert_int_equal(create->scheme_count, 1);
    assert_false(find_op(spec, OPENAPI_GET, "/")->requires_auth);

    /* the operation's parameters first, then the path item's not overridden */
    const openapi_operation *get = find_op(spec, OPENAPI_GET, "/users/{id}");
    assert_int_equal(get->param_count, 3);
    assert_int_equal(get->params[0].in, OPENAPI_IN_PATH);
    assert_true(has_param(get, OPENAPI_IN_QUERY, "fields"));
    assert_true(has_param(get, OPENAPI_IN_HEADER, "X-Trace-Id"));
    const openapi_operation *del = find_op(spec, OPENAPI_DELETE, "/users/{id}");
    assert_true(del->deprecated);
    assert_true(del->requires_auth);
    assert_int_equal(del->scheme_count, 3); /* (apiKeyHeader AND apiKeyQuery) OR oidc */
    assert_int_equal(del->param_count, 2);
    assert_int_equal(find_op(spec, OPENAPI_GET, "/users/me")->line, 69);

    /* a path item given by $ref */
    const openapi_operation *legacy = find_op(spec, OPENAPI_GET, "/legacy");
    assert_true(legacy->deprecated);
    assert_true(view_is(legacy->operation_id, "legacy"));
    assert_string_equal(match_id(spec, "GET", "/v2/legacy"), "legacy");
    openapi_destroy(spec);
}

static void swagger2_base_path(void **state) {
    (void)state;
    openapi_spec *spec = load_file_ok(FIXTURES "swagger2.yaml");
    assert_string_equal(openapi_version(spec), "2.0");
    assert_int_equal(openapi_operation_count(spec), 3);
    assert_int_equal(openapi_base_path_count(spec), 1);
    assert_true(view_is(openapi_base_path_at(spec, 0), "/api/v1"));
    assert_int_equal(openapi_security_scheme_count(spec), 3);
    assert_int_equal(openapi_security_scheme_at(spec, 0)->type, OPENAPI_SCHEME_HTTP_BASIC);
    assert_int_equal(openapi_security_scheme_at(spec, 1)->type, OPENAPI_SCHEME_API_KEY);
    assert_int_equal(openapi_security_scheme_at(spec, 2)->type, OPENAPI_SCHEME_OAUTH2);

    const openapi_operation *add = find_op(spec, OPENAPI_POST, "/pets");
    assert_int_equal(add->param_count, 0); /* body and formData are not kept */
    assert_int_equal(add->scheme_count, 1);
    assert_int_equal(op_scheme(spec, add, 0)->type, OPENAPI_SCHEME_HTTP_BASIC);
    const openapi_operation *pet = find_op(spec, OPENAPI_GET, "/pets/{petId}");
    assert_true(pet->deprecated);
    assert_true(has_param(pet, OPENAPI_IN_PATH, "petId"));

    assert_string_equal(match_id(spec, "GET", "/api/v1/pets/12"), "getPet");
    assert_string_equal(match_id(spec, "GET", "/api/v1/pets?limit=2"), "listPets");
    openapi_hit hit;
    assert_true(openapi_match(spec, sv("POST"), sv("/api/v1/pets/"), &hit));
    assert_true(view_is(hit.base_path, "/api/v1"));
    assert_null(match(spec, "GET", "/pets/12"));        /* outside the base path */
    assert_null(match(spec, "GET", "/api/v10/pets/1")); /* not at a segment boundary */
    openapi_destroy(spec);
}

/* ------------------------------------------------------------ matching */

static openapi_spec *fixture31(void) {
    return load_file_ok(FIXTURES "openapi31.yaml");
}

static void server_base_paths(void **state) {
    (void)state;
    openapi_spec *spec = fixture31();
    openapi_hit hit;
    assert_true(openapi_match(spec, sv("GET"), sv("/v2/users"), &hit));
    assert_true(view_is(hit.base_path, "/v2"));
    assert_true(openapi_match(spec, sv("GET"), sv("/internal/users/7"), &hit));
    assert_true(view_is(hit.base_path, "/internal"));
    assert_string_equal(match_id(spec, "GET", "http://eu.api.example.com/v2/users?limit=1"),
                        "listUsers");
    assert_string_equal(match_id(spec, "GET", "HTTPS://h/v2/users#top"), "listUsers");
    assert_null(match(spec, "GET", "/users")); /* no declared server serves the root */
    assert_null(match(spec, "GET", "/v3/users"));
    assert_string_equal(match_id(spec, "GET", "/v2"), "root");
    assert_string_equal(match_id(spec, "GET", "/v2/"), "root");
    assert_string_equal(match_id(spec, "GET", "http://h/v2"), "root");
    openapi_destroy(spec);
}

static void literal_wins_over_template(void **state) {
    (void)state;
    openapi_spec *spec = fixture31();
    assert_string_equal(match_id(spec, "GET", "/v2/users/me"), "getMe");
    assert_string_equal(match_id(spec, "GET", "/v2/users/mine"), "getUser");
    assert_string_equal(match_id(spec, "GET", "/v2/users/17"), "getUser");
    assert_string_equal(match_id(spec, "GET", "/v2/users/me/settings"), "getMySettings");
    /* the literal branch leads nowhere: back to the template */
    assert_string_equal(match_id(spec, "GET", "/v2/users/me/orders/5"), "getUserOrder");
    assert_string_equal(match_id(spec, "DELETE", "/v2/users/me"), "deleteUser");
    assert_null(match(spec, "PUT", "/v2/users/me"));
    const openapi_operation *op = match(spec, "GET", "/v2/users/17/orders/3");
    assert_non_null(op);
    assert_true(view_is(op->path, "/users/{id}/orders/{orderId}"));
    openapi_destroy(spec);
}

static void trailing_slash_and_empty_segments(void **state) {
    (void)state;
    openapi_spec *spec = fixture31();
    assert_string_equal(match_id(spec, "GET", "/v2/users/"), "listUsers");
    assert_string_equal(match_id(spec, "GET", "/v2/users/17/"), "getUser");
    assert_string_equal(match_id(spec, "GET", "/v2/users/me/?a=b"), "getMe");
    assert_null(match(spec, "GET", "/v2/users//17"));  /* an empty segment is no id */
    assert_null(match(spec, "GET", "/v2/users/17//")); /* one trailing slash only */
    assert_null(match(spec, "GET", "/v2/users/17/orders/"));
    assert_null(match(spec, "GET", "*"));
    assert_null(match(spec, "GET", ""));
    openapi_destroy(spec);
}

static void percent_encoding(void **state) {
    (void)state;
    openapi_spec *spec = fixture31();
    assert_string_equal(match_id(spec, "GET", "/v2/search/caf%C3%A9"), "searchCafe");
    assert_string_equal(match_id(spec, "GET", "/v2/search/caf%c3%a9"), "searchCafe");
    assert_string_equal(match_id(spec, "GET", "/v2/search/caf\xc3\xa9"), "searchCafe");
    assert_string_equal(match_id(spec, "GET", "/v2/users/%6De"), "getMe"); /* %6D = 'm' */
    assert_string_equal(match_id(spec, "GET", "/v2/users/a%2Fb"), "getUser");
    assert_null(match(spec, "GET", "/v2/search/caf%C3"));
    assert_null(match(spec, "GET", "/v2/search/caf%"));
    assert_string_equal(match_id(spec, "GET", "/v2/users/%zz"), "getUser"); /* kept as is */
    openapi_destroy(spec);
}

static void mixed_segments(void **state) {
    (void)state;
    openapi_spec *spec = fixture31();
    assert_string_equal(match_id(spec, "GET", "/v2/files/report.json"), "getJsonFile");
    assert_string_equal(match_id(spec, "GET", "/v2/files/a.json.json"), "getJsonFile");
    assert_string_equal(match_id(spec, "GET", "/v2/files/.json"), "getFile"); /* {name} empty */
    assert_string_equal(match_id(spec, "GET", "/v2/files/report.txt"), "getFile");
    assert_string_equal(match_id(spec, "GET", "/v2/files/r%2Ejson"), "getJsonFile");
    openapi_destroy(spec);

    /* two parameters in one segment, each at least one byte */
    spec = load_text_ok("openapi: 3.0.0\npaths:\n  /d/{a}-{b}.json:\n    get: {operationId: ab}\n");
    assert_string_equal(match_id(spec, "GET", "/d/x-y-z.json"), "ab");
    assert_string_equal(match_id(spec, "GET", "/d/x-y.json"), "ab");
    assert_null(match(spec, "GET", "/d/x-.json"));
    assert_null(match(spec, "GET", "/d/-y.json"));
    assert_null(match(spec, "GET", "/d/xy.json"));
    openapi_destroy(spec);
}

static void methods_are_exact(void **state) {
    (void)state;
    openapi_spec *spec = fixture31();
    assert_null(match(spec, "get", "/v2/users"));
    assert_null(match(spec, "PROPFIND", "/v2/users"));
    assert_null(match(spec, "", "/v2/users"));
    assert_null(match(spec, "HEAD", "/v2/users")); /* HEAD is its own operation */
    openapi_destroy(spec);
}

/* A table walk: thousands of operations, deep and wide, still match. */
static void many_operations(void **state) {
    (void)state;
    static char text[1 << 20];
    size_t n = (size_t)snprintf(text, sizeof text, "openapi: 3.0.0\npaths:\n");
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "  /r%d/{a}/x/{b}:\n    get: {operationId: op%d}\n", i, i);
    openapi_spec *spec = load_text_ok(text);
    assert_int_equal(openapi_operation_count(spec), 2000);
    assert_string_equal(match_id(spec, "GET", "/r1999/1/x/2"), "op1999");
    assert_string_equal(match_id(spec, "GET", "/r0/a/x/b"), "op0");
    assert_null(match(spec, "GET", "/r2000/1/x/2"));
    openapi_destroy(spec);
}

static void lenient_parts(void **state) {
    (void)state;
    /* an external $ref is skipped and counted; an equivalent template under
     * another parameter name is a duplicate (the first kept); anchors and
     * aliases work */
    openapi_spec *spec = load_text_ok("openapi: 3.0.1\n"
                                      "paths:\n"
                                      "  /a/{x}:\n"
                                      "    get: &op\n"
                                      "      parameters:\n"
                                      "        - $ref: 'common.yaml#/Limit'\n"
                                      "        - {name: q, in: query}\n"
                                      "  /a/{y}:\n"
                                      "    get: {operationId: second}\n"
                                      "  /b:\n"
                                      "    get: *op\n");
    assert_int_equal(openapi_operation_count(spec), 2);
    openapi_load_stats stats = openapi_get_load_stats(spec);
    assert_int_equal(stats.unresolved_refs, 2);
    assert_int_equal(stats.duplicate_operations, 1);
    assert_int_equal(find_op(spec, OPENAPI_GET, "/b")->param_count, 1);
    assert_true(view_is(match(spec, "GET", "/a/1")->path, "/a/{x}"));
    openapi_destroy(spec);

    /* 3.1 does not require paths */
    spec = load_text_ok("openapi: 3.1.0\ninfo: {title: t, version: '1'}\nwebhooks: {}\n");
    assert_int_equal(openapi_operation_count(spec), 0);
    assert_null(match(spec, "GET", "/"));
    openapi_destroy(spec);
}

/* ------------------------------------------------------ broken specs */

typedef struct broken_case {
    const char *text;
    as_status status;
    const char *where;   /* "broken.yaml:LINE:COLUMN:" the message starts with */
    const char *message; /* a part of the message */
} broken_case;

static void check_broken(const broken_case *c, const limits *lim) {
    openapi_spec *spec = (openapi_spec *)1;
    errbuf[0] = '\0';
    as_status st = openapi_load_buffer("broken.yaml", c->text, strlen(c->text), lim, errbuf,
                                       sizeof errbuf, &spec);
    if (st != c->status || strncmp(errbuf, c->where, strlen(c->where)) != 0 ||
        !strstr(errbuf, c->message))
        fail_msg("for %.40s: got %s '%s', expected %s '%s ... %s'", c->text, status_name(st),
                 errbuf, status_name(c->status), c->where, c->message);
    assert_null(spec);
}

static void broken_specs(void **state) {
    (void)state;
    static const broken_case cases[] = {
        /* not YAML */
        {"openapi: 3.0.0\npaths: {\n  /a: [\n", AS_ERR_FORMAT,
         "broken.yaml:4:1:", "not valid YAML or JSON: did not find expected node content"},
        {"openapi: 3.0.0\npaths:\n  /a:\n   get: {}\n  bad\n", AS_ERR_FORMAT, "broken.yaml:6:1:",
         "could not find expected ':' (while scanning a simple key that started at line 5, "
         "column 3)"},
        /* not JSON: a missing '}' */
        {"{\"openapi\": \"3.0.0\",\n \"paths\": {\n  \"/a\": {}\n", AS_ERR_FORMAT,
         "broken.yaml:4:1:",
         "did not find expected ',' or '}' (while parsing a flow mapping "
         "that started at line 2, column 11)"},
        /* not text: a PNG signature */
        {"openapi: 3.0.0\n\x89PNG\r\n", AS_ERR_FORMAT,
         "broken.yaml:2:1:", "not YAML or JSON text: invalid leading UTF-8 octet (byte 0x89)"},
        {"", AS_ERR_FORMAT, "broken.yaml:1:1:", "empty document"},
        {"openapi: 3.0.0\npaths: {}\n---\nsecond: 1\n", AS_ERR_FORMAT,
         "broken.yaml:3:1:", "a second YAML document"},
        /* not OpenAPI */
        {"info:\n  title: x\npaths: {}\n", AS_ERR_FORMAT,
         "broken.yaml:1:1:", "not an OpenAPI document: no 'openapi' (3.x) or 'swagger' (2.0) key"},
        {"- openapi\n- 3.0.0\n", AS_ERR_FORMAT,
         "broken.yaml:1:1:", "the top level is a sequence, expected a mapping"},
        {"just some text\n", AS_ERR_FORMAT, "broken.yaml:1:1:", "the top level is a scalar"},
        /* versions */
        {"openapi: 4.0.0\npaths: {}\n", AS_ERR_UNSUPPORTED,
         "broken.yaml:1:10:", "unsupported version '4.0.0'"},
        {"swagger: '1.2'\npaths: {}\n", AS_ERR_UNSUPPORTED,
         "broken.yaml:1:10:", "unsupported version '1.2'"},
        {"openapi: three\n", AS_ERR_UNSUPPORTED, "broken.yaml:1:10:", "unsupported version"},
        {"openapi: [3]\n", AS_ERR_FORMAT,
         "broken.yaml:1:10:", "openapi is a sequence, expected a scalar"},
        /* structure */
        {"openapi: 3.0.0\ninfo: {}\n", AS_ERR_FORMAT,
         "broken.yaml:1:1:", "no 'paths' at the top level (required in OpenAPI 3.0)"},
        {"openapi: 3.0.0\npaths:\n  - /a\n", AS_ERR_FORMAT,
         "broken.yaml:3:3:", "paths is a sequence, expected a mapping"},
        {"openapi: 3.0.0\npaths:\n", AS_ERR_FORMAT,
         "broken.yaml:2:7:", "paths is empty, expected a mapping"},
        {"openapi: 3.0.0\npaths:\n  users: {}\n", AS_ERR_FORMAT,
         "broken.yaml:3:3:", "path 'users' does not start with '/'"},
        {"openapi: 3.0.0\npaths:\n  /a: [get]\n", AS_ERR_FORMAT,
         "broken.yaml:3:7:", "a path item is a sequence, expected a mapping"},
        {"openapi: 3.0.0\npaths:\n  /a:\n    get: nothing\n", AS_ERR_FORMAT,
         "broken.yaml:4:10:", "an operation is a scalar, expected a mapping"},
        {"openapi: 3.0.0\npaths:\n  /a/{id:\n    get: {}\n", AS_ERR_FORMAT,
         "broken.yaml:3:3:", "unbalanced or empty '{}' in path '/a/{id'"},
        {"openapi: 3.0.0\npaths:\n  /a//b:\n    get: {}\n", AS_ERR_FORMAT,
         "broken.yaml:3:3:", "empty segment ('//')"},
        {"openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters:\n        - in: query\n",
         AS_ERR_FORMAT, "broken.yaml:6:11:", "parameter without 'name'"},
        {"openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters: {name: q}\n", AS_ERR_FORMAT,
         "broken.yaml:5:19:", "parameters is a mapping, expected a sequence"},
        {"openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters:\n"
         "        - {name: q, in: body}\n",
         AS_ERR_FORMAT, "broken.yaml:6:25:",
         "parameter 'q' has in: 'body', expected path, query, header or cookie"},
        {"openapi: 3.0.0\npaths:\n  /a:\n    get:\n      security: bearer\n", AS_ERR_FORMAT,
         "broken.yaml:5:17:", "security is a scalar, expected a sequence"},
        {"openapi: 3.0.0\ncomponents:\n  securitySchemes:\n    k: {type: apiKey, in: path, "
         "name: k}\npaths: {}\n",
         AS_ERR_FORMAT, "broken.yaml:4:27:", "apiKey scheme 'k' needs 'in: header'"},
        {"openapi: 3.0.0\nservers:\n  - description: no url\npaths: {}\n", AS_ERR_FORMAT,
         "broken.yaml:3:5:", "server has no 'url'"},
        /* references */
        {"openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters:\n"
         "        - $ref: '#/components/parameters/Nope'\n",
         AS_ERR_FORMAT,
         "broken.yaml:6:17:", "$ref '#/components/parameters/Nope' names nothing in this document"},
        {"openapi: 3.0.0\ncomponents:\n  parameters:\n    A: {$ref: '#/components/parameters/B'}\n"
         "    B: {$ref: '#/components/parameters/A'}\n"
         "paths:\n  /a:\n    get:\n      parameters: [{$ref: '#/components/parameters/A'}]\n",
         AS_ERR_LIMIT, "broken.yaml:", "chained $ref (spec_ref_hops): a reference cycle?"},
    };
    limits lim = limits_default();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_broken(&cases[i], &lim);
}

static void limits_are_enforced(void **state) {
    (void)state;
    limits lim = limits_default();
    static char deep[4096];
    /* 200 nested flow sequences under a key */
    size_t n = (size_t)snprintf(deep, sizeof deep, "openapi: 3.0.0\npaths: {}\nx: ");
    for (int i = 0; i < 200; i++)
        deep[n++] = '[';
    for (int i = 0; i < 200; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    broken_case nesting = {deep, AS_ERR_LIMIT,
                           "broken.yaml:3:", "nested deeper than 128 levels (spec_nesting_depth)"};
    check_broken(&nesting, &lim);

    lim.spec_operations_max = 2;
    broken_case ops = {"openapi: 3.0.0\npaths:\n  /a:\n    get: {}\n    put: {}\n    post: {}\n",
                       AS_ERR_LIMIT,
                       "broken.yaml:6:5:", "more than 2 operations (spec_operations_max)"};
    check_broken(&ops, &lim);

    lim = limits_default();
    lim.spec_parameters_per_operation = 1;
    broken_case params = {"openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters:\n"
                          "        - {name: a, in: query}\n        - {name: b, in: query}\n",
                          AS_ERR_LIMIT, "broken.yaml:7:11:", "(spec_parameters_per_operation)"};
    check_broken(&params, &lim);

    lim = limits_default();
    lim.spec_file_bytes = 1024;
    openapi_spec *spec = (openapi_spec *)1;
    assert_int_equal(openapi_load_file(SCENARIO_SPEC, &lim, errbuf, sizeof errbuf, &spec),
                     AS_ERR_LIMIT);
    assert_null(spec);
    assert_non_null(strstr(errbuf, "openapi.yaml: "));
    assert_non_null(strstr(errbuf, "more than spec_file_bytes (1024)"));
}

static void unreadable_files(void **state) {
    (void)state;
    limits lim = limits_default();
    openapi_spec *spec = (openapi_spec *)1;
    assert_int_equal(openapi_load_file("/nonexistent/api.yaml", &lim, errbuf, sizeof errbuf, &spec),
                     AS_ERR_IO);
    assert_null(spec);
    assert_string_equal(errbuf, "/nonexistent/api.yaml: cannot read the spec: No such file or "
                                "directory");
    assert_int_equal(openapi_load_file(FIXTURES, &lim, errbuf, sizeof errbuf, &spec), AS_ERR_IO);
    assert_non_null(strstr(errbuf, "is a directory"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scenario_spec_yaml),
        cmocka_unit_test(scenario_spec_json),
        cmocka_unit_test(json_quirks),
        cmocka_unit_test(openapi31_fixture),
        cmocka_unit_test(swagger2_base_path),
        cmocka_unit_test(server_base_paths),
        cmocka_unit_test(literal_wins_over_template),
        cmocka_unit_test(trailing_slash_and_empty_segments),
        cmocka_unit_test(percent_encoding),
        cmocka_unit_test(mixed_segments),
        cmocka_unit_test(methods_are_exact),
        cmocka_unit_test(many_operations),
        cmocka_unit_test(lenient_parts),
        cmocka_unit_test(broken_specs),
        cmocka_unit_test(limits_are_enforced),
        cmocka_unit_test(unreadable_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
