/* The endpoint table: listing rules, spec diff, posture findings, learned
 * templates folding records, bounds, JSON body fields (types, bounds,
 * sampling). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/limits.h"
#include "inventory/inventory.h"
#include "parse/json_fields.h"

enum { AUTH_JWT = 1u << 0 };
enum { T_EMAIL = 1u << 0, T_CARD = 1u << 1, T_JWT = 1u << 2 };

static str_view sv(const char *s) {
    return (str_view){s, s ? (uint32_t)strlen(s) : 0};
}

static inventory_observation obs(const char *method, const char *path, uint16_t status) {
    inventory_observation o;
    memset(&o, 0, sizeof o);
    o.ts_ns = 1000;
    o.host = sv("API.example:8080");
    o.method = sv(method);
    o.path = sv(path);
    o.status = status;
    o.client = 42;
    return o;
}

static inventory *make(int spec_loaded) {
    inventory_config c = {.max_endpoints = 64,
                          .max_findings = 64,
                          .max_services = 8,
                          .learn_positions = 256,
                          .param_cardinality = 4,
                          .spec_loaded = spec_loaded,
                          .spec_operations = 4,
                          .exposure_types = T_CARD | T_JWT,
                          .token_types = T_JWT};
    inventory *inv = NULL;
    assert_int_equal(inventory_create(&c, &inv), AS_OK);
    return inv;
}

/* Drains the queue; returns the number of events of kind. */
static int drain(inventory *inv, inventory_event_kind kind) {
    inventory_event ev;
    int n = 0;
    while (inventory_next_event(inv, &ev))
        n += ev.kind == kind;
    return n;
}

static const inventory_finding *find(inventory *inv, inventory_finding_type type) {
    for (uint32_t i = 0; i < inventory_finding_count(inv); i++) {
        const inventory_finding *f = inventory_finding_at(inv, i);
        if (f && f->type == type)
            return f;
    }
    return NULL;
}

static void test_listing_and_noise(void **state) {
    (void)state;
    inventory *inv = make(0);
    inventory_observation o = obs("GET", "/admin.php", 404);
    inventory_observe(inv, &o);
    /* a web page or asset answering 200 is not an API endpoint */
    o = obs("GET", "/index.html", 200);
    o.response_content_type = sv("Text/HTML; charset=UTF-8");
    inventory_observe(inv, &o);
    o = obs("GET", "/favicon.ico", 200);
    o.response_content_type = sv("image/x-icon");
    inventory_observe(inv, &o);
    o = obs("GET", "/orders/7", 200);
    inventory_observe(inv, &o);
    o = obs("GET", "/orders/8", 404);
    inventory_observe(inv, &o);
    assert_int_equal(drain(inv, INVENTORY_EVENT_ENDPOINT), 1);
    inventory_stats st = inventory_get_stats(inv);
    assert_int_equal(st.noise, 3);
    assert_int_equal(st.listed, 1);
    const inventory_endpoint *ep = inventory_endpoint_at(inv, 0);
    assert_string_equal(ep->host, "api.example:8080");
    assert_string_equal(ep->path, "/orders/{id}");
    assert_int_equal(ep->requests, 2);
    assert_int_equal(ep->status, INVENTORY_UNKNOWN);
    assert_int_equal(inventory_service_count(inv), 1);
    assert_int_equal(inventory_service_at(inv, 0)->noise, 3);
    assert_int_equal(inventory_service_at(inv, 0)->not_found, 1);
    /* no change, no event */
    o = obs("GET", "/orders/9", 200);
    inventory_observe(inv, &o);
    assert_int_equal(drain(inv, INVENTORY_EVENT_ENDPOINT), 0);
    inventory_destroy(inv);
}

static void test_spec_diff(void **state) {
    (void)state;
    inventory *inv = make(1);
    inventory_spec_match users = {0, sv("/users/{userId}"), 1, 1};
    inventory_observation o = obs("GET", "/users/5", 401);
    o.spec = &users;
    inventory_observe(inv, &o);
    assert_int_equal(drain(inv, INVENTORY_EVENT_ENDPOINT), 0); /* not listed yet */
    o.status = 200;
    o.auth_kinds = AUTH_JWT;
    inventory_observe(inv, &o);
    const inventory_endpoint *ep = inventory_endpoint_at(inv, 0);
    assert_string_equal(ep->path, "/users/{userId}");
    assert_int_equal(ep->status, INVENTORY_ZOMBIE);
    assert_int_equal(ep->requests, 2);
    assert_true(inventory_spec_seen(inv, 0));
    assert_false(inventory_spec_seen(inv, 1));
    assert_non_null(find(inv, INVENTORY_ZOMBIE_API));
    /* an undeclared route answering anonymously: shadow + unauthenticated */
    o = obs("GET", "/db", 200);
    inventory_observe(inv, &o);
    assert_int_equal(inventory_endpoint_at(inv, 1)->status, INVENTORY_SHADOW);
    assert_non_null(find(inv, INVENTORY_SHADOW_API));
    assert_non_null(find(inv, INVENTORY_UNAUTHENTICATED_ENDPOINT));
    /* a declared public operation answering anonymously is fine */
    inventory_spec_match login = {1, sv("/login"), 0, 0};
    o = obs("POST", "/login", 200);
    o.spec = &login;
    inventory_observe(inv, &o);
    const inventory_finding *f = find(inv, INVENTORY_UNAUTHENTICATED_ENDPOINT);
    assert_int_equal(f->endpoint, 1);
    assert_int_equal(f->count, 1);
    inventory_destroy(inv);
}

/* A spec replaced mid-run (SIGHUP): records stay, each endpoint is
 * classified again at its next observation, seen operations start over. */
static void test_spec_replaced(void **state) {
    (void)state;
    inventory *inv = make(1);
    inventory_observation o = obs("GET", "/db", 200);
    inventory_observe(inv, &o);
    o = obs("GET", "/orders/7", 200);
    inventory_observe(inv, &o);
    inventory_spec_match health = {3, sv("/health"), 0, 0};
    o = obs("GET", "/health", 200);
    o.spec = &health;
    inventory_observe(inv, &o);
    assert_true(inventory_spec_seen(inv, 3));
    drain(inv, INVENTORY_EVENT_ENDPOINT);
    assert_int_equal(inventory_endpoint_at(inv, 0)->status, INVENTORY_SHADOW);

    /* the new spec has 8 operations and declares /db as operation 5 */
    assert_int_equal(inventory_set_spec(inv, 1, 8), AS_OK);
    assert_int_equal(inventory_endpoint_count(inv), 3);
    assert_false(inventory_spec_seen(inv, 3));
    /* not observed again: status unchanged, no event */
    assert_int_equal(inventory_endpoint_at(inv, 1)->status, INVENTORY_SHADOW);
    inventory_spec_match db = {5, sv("/db"), 0, 0};
    o = obs("GET", "/db", 200);
    o.spec = &db;
    inventory_observe(inv, &o);
    const inventory_endpoint *ep = inventory_endpoint_at(inv, 0);
    assert_int_equal(ep->status, INVENTORY_DECLARED);
    assert_int_equal(ep->spec_index, 5);
    assert_int_equal(ep->requests, 2); /* the record, and its counts, were kept */
    assert_true(inventory_spec_seen(inv, 5));
    assert_int_equal(drain(inv, INVENTORY_EVENT_ENDPOINT), 1); /* reclassified */
    /* classified once: a later observation changes nothing */
    inventory_observe(inv, &o);
    assert_int_equal(drain(inv, INVENTORY_EVENT_ENDPOINT), 0);
    /* the spec dropped: endpoints seen afterwards are unknown */
    assert_int_equal(inventory_set_spec(inv, 0, 0), AS_OK);
    o = obs("GET", "/orders/8", 200);
    inventory_observe(inv, &o);
    assert_int_equal(inventory_endpoint_at(inv, 1)->status, INVENTORY_UNKNOWN);
    inventory_destroy(inv);
}

static void test_exposure_and_tokens(void **state) {
    (void)state;
    inventory *inv = make(0);
    /* a login endpoint hands out a JWT: expected, no exposure */
    inventory_observation o = obs("POST", "/login", 200);
    o.sensitive[INVENTORY_RESPONSE_BODY] = T_JWT | T_EMAIL;
    o.issues_token = 1;
    inventory_observe(inv, &o);
    assert_null(find(inv, INVENTORY_SENSITIVE_DATA_EXPOSURE));
    /* a card number in a response is; e-mail alone is not */
    o = obs("GET", "/wallet/3", 200);
    o.sensitive[INVENTORY_RESPONSE_BODY] = T_EMAIL;
    inventory_observe(inv, &o);
    assert_null(find(inv, INVENTORY_SENSITIVE_DATA_EXPOSURE));
    o.sensitive[INVENTORY_RESPONSE_BODY] = T_CARD | T_EMAIL;
    inventory_observe(inv, &o);
    const inventory_finding *f = find(inv, INVENTORY_SENSITIVE_DATA_EXPOSURE);
    assert_non_null(f);
    assert_int_equal(f->data_types, T_CARD);
    assert_int_equal(inventory_endpoint_at(inv, f->endpoint)->response_type_counts[1], 1);
    /* credentials in the query string */
    o = obs("GET", "/products/4", 200);
    o.query = sv("api_key=sk_live_x&expand=1");
    o.query_credentials[0] = sv("api_key");
    o.query_credential_count = 1;
    inventory_observe(inv, &o);
    inventory_observe(inv, &o);
    f = find(inv, INVENTORY_TOKEN_IN_URL);
    assert_non_null(f);
    assert_string_equal(f->parameter, "api_key");
    assert_int_equal(f->count, 2);
    const inventory_endpoint *ep = inventory_endpoint_at(inv, f->endpoint);
    assert_int_equal(ep->query_param_count, 2);
    assert_string_equal(ep->query_params[1], "expand");
    inventory_destroy(inv);
}

/* An exposure keeps the first masked value of each exposed type: a later
 * value does not replace it, a newly exposed type adds its own and re-queues
 * the finding, and a type that is no exposure (e-mail here) keeps none. */
static void test_exposure_masked_values(void **state) {
    (void)state;
    inventory *inv = make(0);
    char masked[SENSITIVE_TYPE_COUNT][SENSITIVE_SAMPLE_MAX] = {{0}};
    snprintf(masked[0], sizeof masked[0], "j***@example.com");
    snprintf(masked[1], sizeof masked[1], "4111********1111");
    inventory_observation o = obs("GET", "/wallet/3", 200);
    o.sensitive[INVENTORY_RESPONSE_BODY] = T_CARD | T_EMAIL;
    o.response_masked = (const char(*)[SENSITIVE_SAMPLE_MAX])masked;
    inventory_observe(inv, &o);
    assert_int_equal(drain(inv, INVENTORY_EVENT_FINDING), 1);
    const inventory_finding *f = find(inv, INVENTORY_SENSITIVE_DATA_EXPOSURE);
    assert_non_null(f);
    assert_string_equal(f->masked[1], "4111********1111");
    assert_string_equal(f->masked[0], "");

    snprintf(masked[1], sizeof masked[1], "5500********0004");
    inventory_observe(inv, &o);
    assert_int_equal(drain(inv, INVENTORY_EVENT_FINDING), 0);
    assert_string_equal(f->masked[1], "4111********1111");

    snprintf(masked[2], sizeof masked[2], "eyJh***");
    o.sensitive[INVENTORY_RESPONSE_BODY] = T_CARD | T_JWT;
    inventory_observe(inv, &o);
    assert_int_equal(drain(inv, INVENTORY_EVENT_FINDING), 1);
    assert_int_equal(f->data_types, T_CARD | T_JWT);
    assert_string_equal(f->masked[2], "eyJh***");
    assert_string_equal(f->masked[1], "4111********1111");

    /* an observation without masked values changes none */
    o.response_masked = NULL;
    inventory_observe(inv, &o);
    assert_int_equal(drain(inv, INVENTORY_EVENT_FINDING), 0);
    assert_string_equal(f->masked[2], "eyJh***");
    assert_int_equal(f->count, 4);
    inventory_destroy(inv);
}

static void test_unauthenticated_without_spec(void **state) {
    (void)state;
    inventory *inv = make(0);
    inventory_observation o = obs("GET", "/health", 200);
    inventory_observe(inv, &o);
    assert_null(find(inv, INVENTORY_UNAUTHENTICATED_ENDPOINT));
    /* callers authenticate on /reports, one does not and gets a 200 */
    o = obs("GET", "/reports", 200);
    o.auth_kinds = AUTH_JWT;
    inventory_observe(inv, &o);
    o.auth_kinds = 0;
    inventory_observe(inv, &o);
    const inventory_finding *f = find(inv, INVENTORY_UNAUTHENTICATED_ENDPOINT);
    assert_non_null(f);
    assert_string_equal(inventory_endpoint_at(inv, f->endpoint)->path, "/reports");
    inventory_destroy(inv);
}

static void test_learned_merge(void **state) {
    (void)state;
    inventory *inv = make(0);
    static const char *names[] = {"alice", "bob", "carol", "dave"};
    for (int i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof path, "/people/%s", names[i]);
        inventory_observation o = obs("GET", path, 200);
        o.identity = (uint64_t)i + 1;
        inventory_observe(inv, &o);
    }
    inventory_stats st = inventory_get_stats(inv);
    assert_int_equal(st.merged, 2);
    assert_int_equal(st.listed, 1);
    const inventory_endpoint *ep = NULL;
    for (uint32_t i = 0; i < inventory_endpoint_count(inv); i++)
        if (inventory_endpoint_at(inv, i))
            ep = inventory_endpoint_at(inv, i);
    assert_string_equal(ep->path, "/people/{param}");
    assert_int_equal(ep->requests, 4);
    assert_int_equal(inventory_endpoint_identities(ep), 4);
    inventory_destroy(inv);
}

static void test_bounds(void **state) {
    (void)state;
    inventory_config c = {.max_endpoints = 2,
                          .max_findings = 1,
                          .max_services = 1,
                          .learn_positions = 16,
                          .param_cardinality = 100};
    inventory *inv = NULL;
    assert_int_equal(inventory_create(&c, &inv), AS_OK);
    for (int i = 0; i < 5; i++) {
        char path[32];
        snprintf(path, sizeof path, "/r%c", 'a' + i);
        inventory_observation o = obs("GET", path, 200);
        inventory_observe(inv, &o);
    }
    inventory_stats st = inventory_get_stats(inv);
    assert_int_equal(st.endpoints, 2);
    assert_int_equal(st.endpoints_full, 3);
    c.max_endpoints = 0;
    inventory *bad = NULL;
    assert_int_equal(inventory_create(&c, &bad), AS_ERR_ARG);
    assert_null(bad);
    inventory_destroy(inv);
}

/* ---- JSON body fields ------------------------------------------------------ */

static inventory *make_learning(uint32_t fields, uint32_t path_bytes, uint32_t samples,
                                uint32_t every) {
    inventory_config c = {.max_endpoints = 64,
                          .max_findings = 64,
                          .max_services = 8,
                          .learn_positions = 256,
                          .param_cardinality = 4,
                          .body_fields = fields,
                          .field_path_bytes = path_bytes,
                          .schema_samples = samples,
                          .schema_sample_every = every};
    inventory *inv = NULL;
    assert_int_equal(inventory_create(&c, &inv), AS_OK);
    return inv;
}

/* Walks the JSON text and adds its fields to the endpoint's side. */
static void learn(inventory *inv, json_fields_walker *w, int endpoint, inventory_body body,
                  const char *json) {
    json_fields_walker_run(w, (const uint8_t *)json, strlen(json), NULL, NULL, NULL);
    inventory_add_fields(inv, (uint32_t)endpoint, body, w);
}

static json_fields_walker *make_walker(void) {
    limits lim = limits_default();
    json_fields_walker *w = NULL;
    assert_int_equal(json_fields_walker_create(&lim, &w), AS_OK);
    return w;
}

/* Types of the field called path on the side, -1 when it is not there. */
static int types_of(const inventory_endpoint *ep, inventory_body body, const char *path) {
    for (uint32_t i = 0; i < inventory_endpoint_field_count(ep, body); i++) {
        inventory_field f = inventory_endpoint_field(ep, body, i);
        if (strcmp(f.path, path) == 0)
            return f.types;
    }
    return -1;
}

#define K(kind) (1 << JSON_KIND_##kind)

static void test_body_fields_types(void **state) {
    (void)state;
    inventory *inv = make_learning(16, 32, 64, 64);
    json_fields_walker *w = make_walker();
    inventory_observation o = obs("POST", "/orders", 201);
    int e = inventory_observe(inv, &o);
    assert_true(e >= 0);
    learn(inv, w, e, INVENTORY_BODY_REQUEST,
          "{\"sku\":\"A-1\",\"qty\":2,\"user\":{\"name\":\"ann\"},\"items\":[{\"price\":9.5}]}");
    learn(inv, w, e, INVENTORY_BODY_REQUEST, "{\"qty\":null,\"user\":{\"name\":7}}");
    learn(inv, w, e, INVENTORY_BODY_RESPONSE, "[{\"id\":17,\"ok\":true}]");
    const inventory_endpoint *ep = inventory_endpoint_at(inv, (uint32_t)e);
    /* the union of the types seen per path, json_fields' notation */
    assert_int_equal(types_of(ep, INVENTORY_BODY_REQUEST, "sku"), K(STRING));
    assert_int_equal(types_of(ep, INVENTORY_BODY_REQUEST, "qty"), K(INTEGER) | K(NULL));
    assert_int_equal(types_of(ep, INVENTORY_BODY_REQUEST, "user"), K(OBJECT));
    assert_int_equal(types_of(ep, INVENTORY_BODY_REQUEST, "user.name"), K(STRING) | K(INTEGER));
    assert_int_equal(types_of(ep, INVENTORY_BODY_REQUEST, "items"), K(ARRAY));
    assert_int_equal(types_of(ep, INVENTORY_BODY_REQUEST, "items[].price"), K(NUMBER));
    assert_int_equal(types_of(ep, INVENTORY_BODY_REQUEST, "id"), -1); /* sides apart */
    assert_int_equal(types_of(ep, INVENTORY_BODY_RESPONSE, "[]"), K(OBJECT));
    assert_int_equal(types_of(ep, INVENTORY_BODY_RESPONSE, "[].id"), K(INTEGER));
    assert_int_equal(types_of(ep, INVENTORY_BODY_RESPONSE, "[].ok"), K(BOOLEAN));
    /* never a value */
    for (uint32_t i = 0; i < inventory_endpoint_field_count(ep, INVENTORY_BODY_REQUEST); i++) {
        const char *path = inventory_endpoint_field(ep, INVENTORY_BODY_REQUEST, i).path;
        assert_null(strstr(path, "A-1"));
        assert_null(strstr(path, "ann"));
    }
    assert_int_equal(inventory_get_stats(inv).fields_dropped, 0);
    /* a bad index or side learns nothing */
    assert_int_equal(inventory_wants_fields(inv, 99, INVENTORY_BODY_REQUEST), 0);
    assert_int_equal(inventory_wants_fields(inv, (uint32_t)e, INVENTORY_BODIES), 0);
    json_fields_walker_destroy(w);
    inventory_destroy(inv);
}

static void test_body_fields_bounds(void **state) {
    (void)state;
    /* 3 paths of at most 9 bytes per side: the first ones kept, the rest counted */
    inventory *inv = make_learning(3, 10, 64, 64);
    json_fields_walker *w = make_walker();
    inventory_observation o = obs("POST", "/orders", 200);
    int e = inventory_observe(inv, &o);
    learn(inv, w, e, INVENTORY_BODY_REQUEST, "{\"a\":1,\"b\":2,\"long_name_x\":3,\"c\":4,\"d\":5}");
    const inventory_endpoint *ep = inventory_endpoint_at(inv, (uint32_t)e);
    assert_int_equal(inventory_endpoint_field_count(ep, INVENTORY_BODY_REQUEST), 3);
    assert_string_equal(inventory_endpoint_field(ep, INVENTORY_BODY_REQUEST, 0).path, "a");
    assert_string_equal(inventory_endpoint_field(ep, INVENTORY_BODY_REQUEST, 1).path, "b");
    assert_string_equal(inventory_endpoint_field(ep, INVENTORY_BODY_REQUEST, 2).path, "c");
    assert_int_equal(types_of(ep, INVENTORY_BODY_REQUEST, "long_name_x"), -1);
    /* long_name_x (too long) and d (table full) */
    assert_int_equal(inventory_get_stats(inv).fields_dropped, 2);
    /* a known path still widens its types when the table is full */
    learn(inv, w, e, INVENTORY_BODY_REQUEST, "{\"a\":\"x\"}");
    assert_int_equal(types_of(ep, INVENTORY_BODY_REQUEST, "a"), K(INTEGER) | K(STRING));
    assert_int_equal(inventory_get_stats(inv).fields_dropped, 2);
    json_fields_walker_destroy(w);
    inventory_destroy(inv);

    /* learning off: nothing asked, nothing kept */
    inv = make_learning(0, 0, 0, 0);
    w = make_walker();
    e = inventory_observe(inv, &o);
    assert_int_equal(inventory_wants_fields(inv, (uint32_t)e, INVENTORY_BODY_REQUEST), 0);
    learn(inv, w, e, INVENTORY_BODY_REQUEST, "{\"a\":1}");
    assert_int_equal(inventory_endpoint_field_count(inventory_endpoint_at(inv, (uint32_t)e),
                                                    INVENTORY_BODY_REQUEST),
                     0);
    json_fields_walker_destroy(w);
    inventory_destroy(inv);
}

static void test_body_fields_sampling(void **state) {
    (void)state;
    /* the first 3 bodies, then one in 4 (counting every body offered) */
    inventory *inv = make_learning(16, 32, 3, 4);
    inventory_observation o = obs("GET", "/orders", 200);
    int e = inventory_observe(inv, &o);
    static const int want[12] = {1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    for (int i = 0; i < 12; i++)
        assert_int_equal(inventory_wants_fields(inv, (uint32_t)e, INVENTORY_BODY_RESPONSE),
                         want[i]);
    /* the other side counts apart */
    assert_int_equal(inventory_wants_fields(inv, (uint32_t)e, INVENTORY_BODY_REQUEST), 1);
    const inventory_endpoint *ep = inventory_endpoint_at(inv, (uint32_t)e);
    assert_int_equal(ep->json_bodies[INVENTORY_BODY_RESPONSE], 12);
    assert_int_equal(ep->json_bodies[INVENTORY_BODY_REQUEST], 1);
    assert_int_equal(inventory_get_stats(inv).bodies_sampled, 7);
    inventory_destroy(inv);
}

static void test_body_fields_follow_merges(void **state) {
    (void)state;
    inventory *inv = make_learning(16, 32, 64, 64);
    json_fields_walker *w = make_walker();
    static const char *names[] = {"alice", "bob", "carol", "dave"};
    static const char *bodies[] = {"{\"id\":1}", "{\"name\":\"b\"}", "{\"id\":\"c\"}",
                                   "{\"age\":4}"};
    for (int i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof path, "/people/%s", names[i]);
        inventory_observation o = obs("GET", path, 200);
        int e = inventory_observe(inv, &o);
        learn(inv, w, e, INVENTORY_BODY_RESPONSE, bodies[i]);
    }
    const inventory_endpoint *ep = NULL;
    for (uint32_t i = 0; i < inventory_endpoint_count(inv); i++)
        if (inventory_endpoint_at(inv, i))
            ep = inventory_endpoint_at(inv, i);
    assert_string_equal(ep->path, "/people/{param}");
    assert_int_equal(types_of(ep, INVENTORY_BODY_RESPONSE, "id"), K(INTEGER) | K(STRING));
    assert_int_equal(types_of(ep, INVENTORY_BODY_RESPONSE, "name"), K(STRING));
    assert_int_equal(types_of(ep, INVENTORY_BODY_RESPONSE, "age"), K(INTEGER));
    json_fields_walker_destroy(w);
    inventory_destroy(inv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listing_and_noise),
        cmocka_unit_test(test_spec_diff),
        cmocka_unit_test(test_spec_replaced),
        cmocka_unit_test(test_exposure_and_tokens),
        cmocka_unit_test(test_exposure_masked_values),
        cmocka_unit_test(test_unauthenticated_without_spec),
        cmocka_unit_test(test_learned_merge),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_body_fields_types),
        cmocka_unit_test(test_body_fields_bounds),
        cmocka_unit_test(test_body_fields_sampling),
        cmocka_unit_test(test_body_fields_follow_merges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
