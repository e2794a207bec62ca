/* The SQLite store of the inventory: every field survives a write and a load,
 * a second run extends the first, merged records leave the file, the file is
 * created 0600, bad files give clear errors, body fields and masked values
 * round-trip, stored masked values are read defensively, and version 1 and
 * 2 files are upgraded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/limits.h"
#include "inventory/store.h"
#include "parse/json_fields.h"

/* The caller's vocabulary; bit 20 of auth has no name (written "bit20"). */
static const char *const auth_names[] = {"bearer_jwt", "basic", "cookie"};
static const char *const type_names[] = {"email", "credit_card", "jwt", "access_token"};
enum { AUTH_JWT = 1u << 0, AUTH_BASIC = 1u << 1, AUTH_UNNAMED = 1u << 20 };
enum { T_EMAIL = 1u << 0, T_CARD = 1u << 1, T_JWT = 1u << 2 };

static const str_view prefixes[] = {{"/billing", 8}};

static char dir[64];

static int make_dir(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/apisensor-store.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void db_path(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", dir, name);
}

static str_view sv(const char *s) {
    return (str_view){s, s ? (uint32_t)strlen(s) : 0};
}

static inventory *make_inventory(void) {
    inventory_config c = {.max_endpoints = 64,
                          .max_findings = 64,
                          .max_services = 8,
                          .learn_positions = 256,
                          .param_cardinality = 4,
                          .spec_loaded = 1,
                          .spec_operations = 4,
                          .exposure_types = T_CARD | T_JWT,
                          .token_types = T_JWT,
                          .service_prefixes = prefixes,
                          .service_prefix_count = 1,
                          .body_fields = 16,
                          .field_path_bytes = 64,
                          .schema_samples = 64,
                          .schema_sample_every = 64};
    inventory *inv = NULL;
    assert_int_equal(inventory_create(&c, &inv), AS_OK);
    return inv;
}

static store *open_store(const char *path, int read_only) {
    store_config c = {path, read_only, auth_names, 3, type_names, 4};
    char err[1100];
    store *s = NULL;
    as_status st = store_open(&c, err, sizeof err, &s);
    if (st != AS_OK)
        fail_msg("store_open %s: %s", path, err);
    return s;
}

/* Flushes written to a new store at path, loads it into a fresh inventory
 * read-only and returns that; *stats (may be NULL) gets the loading store's. */
static inventory *write_and_load(const char *path, inventory *written, store_stats *stats) {
    store *s = open_store(path, 0);
    assert_int_equal(store_flush(s, written), AS_OK);
    store_close(s);
    inventory *read = make_inventory();
    s = open_store(path, 1);
    assert_int_equal(store_load(s, read), AS_OK);
    if (stats)
        *stats = store_get_stats(s);
    store_close(s);
    return read;
}

static as_status open_error(const char *path, char *err, size_t cap) {
    store_config c = {path, 0, auth_names, 3, type_names, 4};
    store *s = NULL;
    as_status st = store_open(&c, err, cap, &s);
    assert_null(s);
    return st;
}

static inventory_observation obs(uint64_t ts, const char *method, const char *path,
                                 uint16_t status) {
    inventory_observation o;
    memset(&o, 0, sizeof o);
    o.ts_ns = ts;
    o.host = sv("API.example:8080");
    o.method = sv(method);
    o.path = sv(path);
    o.status = status;
    o.client = 42;
    return o;
}

/* Masked response values by type bit: a card (an exposure type, kept) and
 * an e-mail (not one, not kept). */
static const char response_masked[SENSITIVE_TYPE_COUNT][SENSITIVE_SAMPLE_MAX] = {
    [0] = "j***@example.com", [1] = "4111********1111"};

/* Traffic that sets every field of the endpoint records and raises each
 * posture finding type the inventory has. */
static void observe_everything(inventory *inv, uint64_t t0) {
    inventory_spec_match declared = {0, sv("/users/{id}"), 0, 1};
    inventory_spec_match zombie = {1, sv("/v1/legacy"), 1, 0};
    for (int i = 0; i < 5; i++) {
        inventory_observation o = obs(t0 + (uint64_t)i * 1000, "GET", "/users/17", 200);
        o.spec = &declared;
        o.auth_kinds = i == 4 ? 0 : AUTH_JWT | AUTH_UNNAMED;
        o.identity = (uint64_t)i + 100;
        o.client = (uint64_t)i + 7;
        o.query = sv("expand=1&fields=name;debug");
        o.request_content_type = sv("application/json; charset=utf-8");
        o.response_content_type = sv("Application/JSON");
        o.sensitive[INVENTORY_RESPONSE_BODY] = T_EMAIL | T_CARD | (1u << 30);
        o.sensitive[INVENTORY_REQUEST_HEADERS] = T_JWT;
        o.sensitive[INVENTORY_QUERY] = T_EMAIL;
        o.sensitive[INVENTORY_REQUEST_BODY] = T_CARD;
        o.response_masked = response_masked;
        inventory_observe(inv, &o);
    }
    static const uint16_t statuses[] = {404, 500, 0, 201, 302};
    for (int i = 0; i < 5; i++) {
        inventory_observation o = obs(t0 + 10000 + (uint64_t)i, "GET", "/users/18", statuses[i]);
        o.spec = &declared;
        o.auth_kinds = AUTH_BASIC;
        inventory_observe(inv, &o);
    }
    /* zombie, a login that issues tokens, a credential in the URL */
    inventory_observation o = obs(t0 + 20000, "POST", "/v1/legacy", 200);
    o.spec = &zombie;
    o.issues_token = 1;
    o.sensitive[INVENTORY_RESPONSE_BODY] = T_JWT;
    o.query = sv("api_key=s3cr3t");
    o.query_credentials[0] = sv("api_key");
    o.query_credential_count = 1;
    o.request_content_type = sv("application/x-www-form-urlencoded");
    inventory_observe(inv, &o);
    /* a shadow endpoint under the service prefix, called without credentials */
    o = obs(t0 + 30000, "DELETE", "/billing/invoices/9", 204);
    inventory_observe(inv, &o);
    /* scanner noise */
    o = obs(t0 + 40000, "GET", "/wp-admin.php", 404);
    inventory_observe(inv, &o);
    o = obs(t0 + 40001, "GET", "/.env", 403);
    inventory_observe(inv, &o);
}

static const inventory_endpoint *find_endpoint(const inventory *inv, const char *method,
                                               const char *path) {
    for (uint32_t i = 0; i < inventory_endpoint_count(inv); i++) {
        const inventory_endpoint *ep = inventory_endpoint_at(inv, i);
        if (ep && strcmp(ep->method, method) == 0 && strcmp(ep->path, path) == 0)
            return ep;
    }
    return NULL;
}

#define SAME(field) assert_memory_equal(&a->field, &b->field, sizeof a->field)

static void assert_endpoint_equal(const inventory_endpoint *a, const inventory_endpoint *b) {
    assert_non_null(b);
    /* text fields compare as strings: bytes after the NUL are not kept */
    assert_string_equal(a->host, b->host);
    assert_string_equal(a->service_prefix, b->service_prefix);
    assert_string_equal(a->method, b->method);
    assert_string_equal(a->path, b->path);
    SAME(status);
    SAME(spec_index);
    SAME(listed);
    SAME(auth_kinds);
    SAME(unauthenticated);
    SAME(sensitive);
    SAME(requests);
    SAME(success);
    SAME(unauthenticated_success);
    SAME(status_codes);
    SAME(status_counts);
    SAME(status_other);
    SAME(response_type_counts);
    SAME(first_seen_ns);
    SAME(last_seen_ns);
    for (int i = 0; i < INVENTORY_CONTENT_TYPES; i++) {
        assert_string_equal(a->request_types[i], b->request_types[i]);
        assert_string_equal(a->response_types[i], b->response_types[i]);
    }
    SAME(query_param_count);
    for (int i = 0; i < INVENTORY_PARAMS; i++)
        assert_string_equal(a->query_params[i], b->query_params[i]);
    SAME(issues_token);
    SAME(identity_sketch);
    SAME(client_sketch);
}

static void assert_finding_equal(const inventory *ia, const inventory_finding *a,
                                 const inventory *ib, const inventory_finding *b) {
    assert_non_null(b);
    SAME(type);
    assert_string_equal(a->parameter, b->parameter);
    SAME(data_types);
    SAME(id);
    SAME(first_seen_ns);
    SAME(last_seen_ns);
    SAME(count);
    SAME(status_classes);
    SAME(open);
    for (int t = 0; t < SENSITIVE_TYPE_COUNT; t++)
        assert_string_equal(a->masked[t], b->masked[t]);
    const inventory_endpoint *ea = inventory_endpoint_at(ia, a->endpoint);
    const inventory_endpoint *eb = inventory_endpoint_at(ib, b->endpoint);
    assert_string_equal(ea->path, eb->path);
}

static const inventory_finding *find_finding(const inventory *inv, inventory_finding_type type,
                                             const char *path) {
    for (uint32_t i = 0; i < inventory_finding_count(inv); i++) {
        const inventory_finding *f = inventory_finding_at(inv, i);
        if (f && f->type == type &&
            strcmp(inventory_endpoint_at(inv, f->endpoint)->path, path) == 0)
            return f;
    }
    return NULL;
}

static void test_round_trip(void **state) {
    (void)state;
    char path[128];
    db_path(path, sizeof path, "round-trip.db");
    inventory *written = make_inventory();
    observe_everything(written, 1700000000000000000ull);
    store_stats st;
    inventory *read = write_and_load(path, written, &st);

    uint32_t live = 0;
    for (uint32_t i = 0; i < inventory_endpoint_count(written); i++) {
        const inventory_endpoint *a = inventory_endpoint_at(written, i);
        if (!a)
            continue;
        live++;
        assert_endpoint_equal(a, find_endpoint(read, a->method, a->path));
    }
    assert_int_equal(st.endpoints_loaded, live);
    assert_int_equal(live, 3);
    /* the fields the traffic was chosen to set are really set */
    const inventory_endpoint *users = find_endpoint(read, "GET", "/users/{id}");
    assert_int_equal(users->auth_kinds, AUTH_JWT | AUTH_UNNAMED | AUTH_BASIC);
    assert_int_equal(users->sensitive[INVENTORY_RESPONSE_BODY], T_EMAIL | T_CARD | (1u << 30));
    assert_int_equal(users->status_other, 1);
    assert_int_equal(users->query_param_count, 3);
    assert_string_equal(users->request_types[0], "application/json");
    assert_int_equal(inventory_endpoint_identities(users), 5);
    const inventory_endpoint *billing = find_endpoint(read, "DELETE", "/billing/invoices/{id}");
    assert_string_equal(billing->service_prefix, "/billing");
    assert_int_equal(billing->status, INVENTORY_SHADOW);
    assert_int_equal(find_endpoint(read, "POST", "/v1/legacy")->status, INVENTORY_ZOMBIE);

    uint32_t findings = 0;
    for (uint32_t i = 0; i < inventory_finding_count(written); i++) {
        const inventory_finding *a = inventory_finding_at(written, i);
        if (!a)
            continue;
        findings++;
        const char *p = inventory_endpoint_at(written, a->endpoint)->path;
        assert_finding_equal(written, a, read, find_finding(read, a->type, p));
    }
    assert_true(findings >= 4);
    assert_int_equal(st.findings_loaded, findings);
    assert_non_null(find_finding(read, INVENTORY_TOKEN_IN_URL, "/v1/legacy"));
    const inventory_finding *exposure =
        find_finding(read, INVENTORY_SENSITIVE_DATA_EXPOSURE, "/users/{id}");
    assert_non_null(exposure);
    assert_string_equal(exposure->masked[1], "4111********1111");
    assert_string_equal(exposure->masked[0], "");

    assert_int_equal(inventory_service_count(read), 1);
    const inventory_service *svc = inventory_service_at(read, 0);
    assert_string_equal(svc->host, "api.example:8080");
    assert_int_equal(svc->noise, 2);
    assert_int_equal(svc->not_found, 1);
    inventory_destroy(written);
    inventory_destroy(read);
}

static void test_second_run_extends(void **state) {
    (void)state;
    char path[128];
    db_path(path, sizeof path, "extend.db");
    const uint64_t t1 = 1000000000000ull, t2 = 9000000000000ull;

    inventory *run1 = make_inventory();
    store *s = open_store(path, 0);
    assert_int_equal(store_load(s, run1), AS_OK);
    observe_everything(run1, t1);
    assert_int_equal(store_flush(s, run1), AS_OK);
    store_close(s);
    uint64_t requests1 = find_endpoint(run1, "GET", "/users/{id}")->requests;
    uint64_t exposure1 =
        find_finding(run1, INVENTORY_SENSITIVE_DATA_EXPOSURE, "/users/{id}")->count;

    inventory *run2 = make_inventory();
    s = open_store(path, 0);
    assert_int_equal(store_load(s, run2), AS_OK);
    observe_everything(run2, t2);
    inventory_observation o = obs(t2 + 5, "PUT", "/orders/3", 200);
    inventory_observe(run2, &o);
    assert_int_equal(store_flush(s, run2), AS_OK);
    /* a flush with nothing changed writes nothing */
    uint64_t written = store_get_stats(s).rows_written;
    assert_int_equal(store_flush(s, run2), AS_OK);
    assert_int_equal(store_get_stats(s).rows_written, written);
    /* one more request: only its endpoint and its finding (shadow_api) are rewritten */
    o = obs(t2 + 6, "PUT", "/orders/3", 200);
    o.auth_kinds = AUTH_JWT;
    inventory_observe(run2, &o);
    assert_int_equal(store_flush(s, run2), AS_OK);
    assert_int_equal(store_get_stats(s).rows_written, written + 2);
    store_close(s);

    inventory *run3 = make_inventory();
    s = open_store(path, 1);
    assert_int_equal(store_load(s, run3), AS_OK);
    store_close(s);
    const inventory_endpoint *users = find_endpoint(run3, "GET", "/users/{id}");
    assert_int_equal(users->requests, 2 * requests1);
    assert_int_equal(users->first_seen_ns, t1);
    assert_true(users->last_seen_ns > t2);
    assert_int_equal(find_endpoint(run3, "PUT", "/orders/{id}")->requests, 2);
    const inventory_finding *f =
        find_finding(run3, INVENTORY_SENSITIVE_DATA_EXPOSURE, "/users/{id}");
    assert_int_equal(f->count, 2 * exposure1);
    assert_int_equal(f->first_seen_ns, t1);
    assert_int_equal(inventory_service_at(run3, 0)->noise, 4);
    inventory_destroy(run1);
    inventory_destroy(run2);
    inventory_destroy(run3);
}

static void test_merged_records_leave_the_file(void **state) {
    (void)state;
    char path[128];
    db_path(path, sizeof path, "merge.db");
    inventory *inv = make_inventory();
    store *s = open_store(path, 0);
    static const char *names[] = {"alice", "bob", "carol", "dave"};
    for (int i = 0; i < 4; i++) {
        char p[64];
        snprintf(p, sizeof p, "/people/%s", names[i]);
        inventory_observation o = obs(1000 + (uint64_t)i, "GET", p, 200);
        inventory_observe(inv, &o);
        if (i == 2) {
            assert_int_equal(store_flush(s, inv), AS_OK);
            uint64_t endpoints, findings, services;
            assert_int_equal(store_counts(s, &endpoints, &findings, &services), AS_OK);
            assert_int_equal(endpoints, 3);
            assert_int_equal(findings, 6); /* shadow_api, unauthenticated_endpoint on each */
        }
    }
    assert_int_equal(store_flush(s, inv), AS_OK);
    uint64_t endpoints, findings, services;
    assert_int_equal(store_counts(s, &endpoints, &findings, &services), AS_OK);
    assert_int_equal(endpoints, 1);
    assert_int_equal(findings, 2);
    store_close(s);

    inventory *again = make_inventory();
    s = open_store(path, 1);
    assert_int_equal(store_load(s, again), AS_OK);
    store_close(s);
    assert_int_equal(find_endpoint(again, "GET", "/people/{param}")->requests, 4);
    assert_int_equal(find_finding(again, INVENTORY_SHADOW_API, "/people/{param}")->count, 4);
    inventory_destroy(inv);
    inventory_destroy(again);
}

static void test_restore_api(void **state) {
    (void)state;
    inventory *source = make_inventory();
    observe_everything(source, 5000);
    const inventory_endpoint *users = find_endpoint(source, "GET", "/users/{id}");
    inventory_config c = {.max_endpoints = 16,
                          .max_findings = 16,
                          .max_services = 1,
                          .learn_positions = 16,
                          .param_cardinality = 4};
    inventory *inv = NULL;
    assert_int_equal(inventory_create(&c, &inv), AS_OK);
    uint32_t a, b;
    assert_int_equal(inventory_restore_endpoint(inv, users, &a), AS_OK);
    assert_false(inventory_endpoint_dirty(inv, a)); /* restored as stored: nothing to write */
    inventory_event ev;
    assert_int_equal(inventory_next_event(inv, &ev), 0); /* and nothing to report */
    /* the same key again folds into the record */
    assert_int_equal(inventory_restore_endpoint(inv, users, &b), AS_OK);
    assert_int_equal(a, b);
    assert_int_equal(inventory_endpoint_at(inv, a)->requests, 2 * users->requests);
    assert_true(inventory_endpoint_dirty(inv, a));
    inventory_finding f = *find_finding(source, INVENTORY_SENSITIVE_DATA_EXPOSURE, "/users/{id}");
    f.endpoint = a;
    uint32_t fi;
    assert_int_equal(inventory_restore_finding(inv, &f, &fi), AS_OK);
    assert_int_equal(inventory_finding_at(inv, fi)->id, f.id); /* same key: same id */
    f.endpoint = 7;                                            /* no such endpoint */
    assert_int_equal(inventory_restore_finding(inv, &f, &fi), AS_ERR_ARG);
    inventory_service svc = {"one.example", 3, 1}, other = {"two.example", 1, 0};
    assert_int_equal(inventory_restore_service(inv, &svc), AS_OK);
    assert_int_equal(inventory_restore_service(inv, &svc), AS_OK);
    assert_int_equal(inventory_service_at(inv, 0)->noise, 6);
    assert_int_equal(inventory_restore_service(inv, &other), AS_ERR_LIMIT); /* max_services 1 */
    inventory_clear_dirty(inv);
    assert_false(inventory_endpoint_dirty(inv, a));
    inventory_destroy(source);
    inventory_destroy(inv);
}

/* Writes one observation to a new store at path. */
static void store_observation(const char *path, const inventory_observation *o) {
    inventory *inv = make_inventory();
    inventory_observe(inv, o);
    store *s = open_store(path, 0);
    assert_int_equal(store_flush(s, inv), AS_OK);
    store_close(s);
    inventory_destroy(inv);
}

/* Two stored rows that key the same record once loaded (hosts that differ
 * only past the record's host buffer) become one record and one row. */
static void test_load_folds_colliding_rows(void **state) {
    (void)state;
    char path[128];
    db_path(path, sizeof path, "collide.db");
    inventory_observation o = obs(100, "GET", "/users/1", 200);
    store_observation(path, &o);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* 200 'h' then the row id: distinct rows, equal after 127 bytes */
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TEMP TABLE copy AS SELECT * FROM endpoints;"
                                  "UPDATE copy SET id = id + 100, host = host || 'x';"
                                  "INSERT INTO endpoints SELECT * FROM copy;"
                                  "UPDATE endpoints SET host ="
                                  " replace(hex(zeroblob(100)), '0', 'h') || id;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    inventory *inv = make_inventory();
    store *s = open_store(path, 0);
    assert_int_equal(store_load(s, inv), AS_OK);
    uint64_t endpoints, findings, services;
    assert_int_equal(store_counts(s, &endpoints, &findings, &services), AS_OK);
    assert_int_equal(endpoints, 1); /* the folded row is gone */
    assert_int_equal(store_flush(s, inv), AS_OK);
    store_close(s);
    assert_int_equal(find_endpoint(inv, "GET", "/users/{id}")->requests, 2);
    inventory_destroy(inv);

    inv = make_inventory();
    s = open_store(path, 1);
    assert_int_equal(store_load(s, inv), AS_OK);
    store_close(s);
    assert_int_equal(find_endpoint(inv, "GET", "/users/{id}")->requests, 2);
    inventory_destroy(inv);
}

static void test_file_mode_0600(void **state) {
    (void)state;
    char path[128], wal[160];
    db_path(path, sizeof path, "mode.db");
    snprintf(wal, sizeof wal, "%s-wal", path);
    mode_t old = umask(0); /* a permissive umask must not make the file readable */
    inventory *inv = make_inventory();
    observe_everything(inv, 1);
    store *s = open_store(path, 0);
    assert_int_equal(store_flush(s, inv), AS_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(wal, &st), 0); /* WAL mode: the log exists while open */
    assert_int_equal(st.st_mode & 0777, 0600);
    store_close(s);
    umask(old);
    inventory_destroy(inv);
}

static void test_secret(void **state) {
    (void)state;
    char path[128];
    db_path(path, sizeof path, "secret.db");
    uint8_t a[32], b[32], c[32];
    store *s = open_store(path, 0);
    assert_int_equal(store_get_or_create_secret(s, "identity_hmac_key", a, sizeof a), AS_OK);
    assert_int_equal(store_get_or_create_secret(s, "other", c, sizeof c), AS_OK);
    store_close(s);
    s = open_store(path, 0);
    assert_int_equal(store_get_or_create_secret(s, "identity_hmac_key", b, sizeof b), AS_OK);
    store_close(s);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
}

static void set_schema_version(const char *path, const char *version) {
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE meta SET value = '%s' WHERE key = 'schema_version'", version);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_schema_version(void **state) {
    (void)state;
    char path[128], err[1100];
    db_path(path, sizeof path, "version.db");
    store_close(open_store(path, 0));
    set_schema_version(path, "99");
    assert_int_equal(open_error(path, err, sizeof err), AS_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "schema version 99"));
    assert_non_null(strstr(err, "newer"));
    set_schema_version(path, "x");
    assert_int_equal(open_error(path, err, sizeof err), AS_ERR_FORMAT);
}

static void test_bad_files(void **state) {
    (void)state;
    char path[128], err[1100];
    /* garbage where a database should be */
    db_path(path, sizeof path, "garbage.db");
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 200; i++)
        fputs("this is not an SQLite database, just text\n", f);
    fclose(f);
    assert_int_equal(open_error(path, err, sizeof err), AS_ERR_IO);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "not a database"));

    /* an SQLite database of something else */
    db_path(path, sizeof path, "other.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(open_error(path, err, sizeof err), AS_ERR_FORMAT);
    assert_non_null(strstr(err, "not an apisensor inventory"));

    /* a directory that does not exist */
    db_path(path, sizeof path, "no/such/dir.db");
    assert_int_equal(open_error(path, err, sizeof err), AS_ERR_IO);
    assert_non_null(strstr(err, "No such file"));

    /* read-only open of a missing file creates nothing */
    db_path(path, sizeof path, "missing.db");
    store_config c = {path, 1, auth_names, 3, type_names, 4};
    store *s = NULL;
    assert_int_equal(store_open(&c, err, sizeof err, &s), AS_ERR_IO);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_locked(void **state) {
    (void)state;
    char path[128];
    db_path(path, sizeof path, "locked.db");
    store *s = open_store(path, 0);
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    inventory *inv = make_inventory();
    inventory_observation o = obs(1, "GET", "/users/1", 200);
    inventory_observe(inv, &o);
    /* the busy timeout (5 s) runs out while the other connection writes */
    assert_int_equal(store_flush(s, inv), AS_ERR_IO);
    assert_non_null(strstr(store_error(s), "locked"));
    assert_true(inventory_endpoint_dirty(inv, 0)); /* kept for the next flush */
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    assert_int_equal(store_flush(s, inv), AS_OK);
    assert_false(inventory_endpoint_dirty(inv, 0));
    store_close(s);
    inventory_destroy(inv);
}

/* ---- body fields and the schema upgrade ------------------------------------------ */

/* Walks the JSON text into the endpoint's side. */
static void learn(inventory *inv, uint32_t endpoint, inventory_body body, const char *json) {
    limits lim = limits_default();
    json_fields_walker *w = NULL;
    assert_int_equal(json_fields_walker_create(&lim, &w), AS_OK);
    json_fields_walker_run(w, (const uint8_t *)json, strlen(json), NULL, NULL, NULL);
    inventory_add_fields(inv, endpoint, body, w);
    json_fields_walker_destroy(w);
}

static void assert_fields_equal(const inventory_endpoint *a, const inventory_endpoint *b) {
    for (int side = 0; side < INVENTORY_BODIES; side++) {
        uint32_t n = inventory_endpoint_field_count(a, (inventory_body)side);
        assert_int_equal(inventory_endpoint_field_count(b, (inventory_body)side), n);
        for (uint32_t i = 0; i < n; i++) {
            inventory_field fa = inventory_endpoint_field(a, (inventory_body)side, i);
            inventory_field fb = inventory_endpoint_field(b, (inventory_body)side, i);
            assert_string_equal(fa.path, fb.path);
            assert_int_equal(fa.types, fb.types);
        }
    }
}

static void test_fields_round_trip(void **state) {
    (void)state;
    char path[128];
    db_path(path, sizeof path, "fields.db");
    inventory *written = make_inventory();
    inventory_observation o = obs(1, "POST", "/orders", 201);
    uint32_t e = (uint32_t)inventory_observe(written, &o);
    /* a name with a space and a colon (json_fields drops names with control
     * characters, so a tab never occurs in a path) */
    learn(written, e, INVENTORY_BODY_REQUEST,
          "{\"sku\":\"A\",\"qty\":null,\"odd key:x\":1,\"items\":[{\"p\":1.5}]}");
    learn(written, e, INVENTORY_BODY_REQUEST, "{\"qty\":3}");
    learn(written, e, INVENTORY_BODY_RESPONSE, "[{\"id\":1,\"tags\":[\"a\",null]}]");
    inventory *read = write_and_load(path, written, NULL);
    const inventory_endpoint *a = inventory_endpoint_at(written, e);
    const inventory_endpoint *b = find_endpoint(read, "POST", "/orders");
    assert_non_null(b);
    assert_int_equal(inventory_endpoint_field_count(a, INVENTORY_BODY_REQUEST), 6);
    assert_int_equal(inventory_endpoint_field_count(a, INVENTORY_BODY_RESPONSE), 4);
    assert_fields_equal(a, b);
    /* the learned fields are the file's, readable with SQL */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT request_fields FROM endpoints", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    const char *blob = sqlite3_column_blob(stmt, 0);
    assert_memory_equal(blob, "string\tsku\0null integer\tqty\0", 25);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    inventory_destroy(written);
    inventory_destroy(read);
}

/* The version 1 schema, as apisensor wrote it before body fields. */
static const char schema_v1[] =
    "CREATE TABLE endpoints (id INTEGER PRIMARY KEY, host TEXT NOT NULL,"
    " service_prefix TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,"
    " status TEXT NOT NULL, spec_index INTEGER NOT NULL, listed INTEGER NOT NULL,"
    " auth_kinds TEXT NOT NULL, unauthenticated INTEGER NOT NULL,"
    " sensitive_request_body TEXT NOT NULL, sensitive_request_headers TEXT NOT NULL,"
    " sensitive_query TEXT NOT NULL, sensitive_response_body TEXT NOT NULL,"
    " requests INTEGER NOT NULL, success INTEGER NOT NULL,"
    " unauthenticated_success INTEGER NOT NULL, status_codes TEXT NOT NULL,"
    " status_other INTEGER NOT NULL, response_type_counts TEXT NOT NULL,"
    " first_seen_ns INTEGER NOT NULL, last_seen_ns INTEGER NOT NULL,"
    " request_types BLOB NOT NULL, response_types BLOB NOT NULL, query_params BLOB NOT NULL,"
    " issues_token INTEGER NOT NULL, identity_sketch BLOB NOT NULL,"
    " client_sketch BLOB NOT NULL, UNIQUE (host, service_prefix, method, path));"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE findings (id INTEGER PRIMARY KEY,"
    " endpoint_id INTEGER NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,"
    " type TEXT NOT NULL, parameter TEXT NOT NULL, data_types TEXT NOT NULL,"
    " finding_id TEXT NOT NULL, first_seen_ns INTEGER NOT NULL, last_seen_ns INTEGER NOT NULL,"
    " count INTEGER NOT NULL, status_classes TEXT NOT NULL, open INTEGER NOT NULL,"
    " UNIQUE (endpoint_id, type, parameter));"
    "CREATE TABLE services (host TEXT PRIMARY KEY, noise INTEGER NOT NULL,"
    " not_found INTEGER NOT NULL);"
    "INSERT INTO meta VALUES ('schema_version', '1'), ('created_by', 'apisensor');"
    "INSERT INTO endpoints VALUES (1, 'api.example:8080', '', 'GET', '/users/{id}', 'shadow',"
    " -1, 1, 'bearer_jwt', 0, '', '', '', 'email', 7, 7, 0, '200:7', 0, '', 100, 200, x'',"
    " x'6170706c69636174696f6e2f6a736f6e00', x'', 0, zeroblob(256), zeroblob(256));"
    "INSERT INTO services VALUES ('api.example:8080', 3, 3);";

static const char *schema_version(const char *path, char *out, size_t cap) {
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
}

static const char *this_version(void) {
    static char text[16];
    snprintf(text, sizeof text, "%d", STORE_SCHEMA_VERSION);
    return text;
}

static void test_upgrade_from_version_1(void **state) {
    (void)state;
    char path[128], version[16];
    db_path(path, sizeof path, "v1.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, schema_v1, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    /* read-only: read as it is, left at version 1 */
    inventory *inv = make_inventory();
    store *s = open_store(path, 1);
    assert_int_equal(store_load(s, inv), AS_OK);
    assert_int_equal(store_get_stats(s).endpoints_loaded, 1);
    store_close(s);
    const inventory_endpoint *ep = find_endpoint(inv, "GET", "/users/{id}");
    assert_non_null(ep);
    assert_int_equal(ep->requests, 7);
    assert_int_equal(inventory_endpoint_field_count(ep, INVENTORY_BODY_RESPONSE), 0);
    assert_string_equal(schema_version(path, version, sizeof version), "1");
    inventory_destroy(inv);

    /* writable: upgraded to this version, the old row kept, fields stored */
    inv = make_inventory();
    s = open_store(path, 0);
    assert_string_equal(schema_version(path, version, sizeof version), this_version());
    assert_int_equal(store_load(s, inv), AS_OK);
    inventory_observation o = obs(300, "GET", "/users/17", 200);
    int e = inventory_observe(inv, &o);
    assert_true(e >= 0);
    learn(inv, (uint32_t)e, INVENTORY_BODY_RESPONSE, "{\"id\":17,\"email\":\"a@b.c\"}");
    assert_int_equal(store_flush(s, inv), AS_OK);
    store_close(s);
    inventory_destroy(inv);

    inv = make_inventory();
    s = open_store(path, 1);
    assert_int_equal(store_load(s, inv), AS_OK);
    store_close(s);
    ep = find_endpoint(inv, "GET", "/users/{id}");
    assert_int_equal(ep->requests, 8);
    assert_string_equal(ep->response_types[0], "application/json");
    assert_int_equal(inventory_endpoint_field_count(ep, INVENTORY_BODY_RESPONSE), 2);
    assert_string_equal(inventory_endpoint_field(ep, INVENTORY_BODY_RESPONSE, 1).path, "email");
    inventory_destroy(inv);
    /* opening again changes nothing */
    store_close(open_store(path, 0));
    assert_string_equal(schema_version(path, version, sizeof version), this_version());
}

/* The version 2 schema: version 1 with the body field columns, findings
 * without masked values; one exposure finding on the endpoint. */
static const char schema_v2_extra[] =
    "ALTER TABLE endpoints ADD COLUMN request_fields BLOB DEFAULT x'' NOT NULL;"
    "ALTER TABLE endpoints ADD COLUMN response_fields BLOB DEFAULT x'' NOT NULL;"
    "UPDATE meta SET value = '2' WHERE key = 'schema_version';"
    "INSERT INTO findings VALUES (1, 1, 'sensitive_data_exposure', '', 'credit_card',"
    " '00000000000000aa', 100, 200, 3, '3 0 0 0 0', 1);";

/* The one sensitive_data_exposure finding of inv. */
static const inventory_finding *exposure_of(const inventory *inv) {
    const inventory_finding *found = NULL;
    for (uint32_t i = 0; i < inventory_finding_count(inv); i++) {
        const inventory_finding *f = inventory_finding_at(inv, i);
        if (f && f->type == INVENTORY_SENSITIVE_DATA_EXPOSURE) {
            assert_null(found);
            found = f;
        }
    }
    assert_non_null(found);
    return found;
}

static void test_upgrade_from_version_2(void **state) {
    (void)state;
    char path[128], version[16];
    db_path(path, sizeof path, "v2.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, schema_v1, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, schema_v2_extra, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    /* read-only: read as it is, left at version 2, no masked value */
    inventory *inv = make_inventory();
    store *s = open_store(path, 1);
    assert_int_equal(store_load(s, inv), AS_OK);
    store_close(s);
    assert_int_equal(exposure_of(inv)->count, 3);
    assert_string_equal(exposure_of(inv)->masked[1], "");
    assert_string_equal(schema_version(path, version, sizeof version), "2");
    inventory_destroy(inv);

    /* writable: upgraded, the finding kept; an exposure adds its masked value */
    inv = make_inventory();
    s = open_store(path, 0);
    assert_string_equal(schema_version(path, version, sizeof version), this_version());
    assert_int_equal(store_load(s, inv), AS_OK);
    inventory_observation o = obs(300, "GET", "/users/17", 200);
    o.sensitive[INVENTORY_RESPONSE_BODY] = T_CARD;
    o.response_masked = response_masked;
    inventory_observe(inv, &o);
    assert_int_equal(store_flush(s, inv), AS_OK);
    store_close(s);
    inventory_destroy(inv);

    inv = make_inventory();
    s = open_store(path, 1);
    assert_int_equal(store_load(s, inv), AS_OK);
    store_close(s);
    assert_int_equal(exposure_of(inv)->count, 4);
    assert_string_equal(exposure_of(inv)->masked[1], "4111********1111");
    inventory_destroy(inv);
}

/* masked_values as a hand-edited or damaged file may hold them: only lines
 * naming one of the finding's types are taken, values are cut to the sample
 * size, and nothing else is read. */
static void test_masked_values_read_defensively(void **state) {
    (void)state;
    char path[128];
    db_path(path, sizeof path, "masked.db");
    inventory_observation o = obs(100, "GET", "/users/17", 200);
    o.sensitive[INVENTORY_RESPONSE_BODY] = T_CARD | T_JWT;
    store_observation(path, &o);

    char long_value[200];
    memset(long_value, 'x', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    char text[512];
    snprintf(text, sizeof text,
             "no tab here\nemail\tnot-a-finding-type\nunknown\tv\n\tempty name\n"
             "credit_card\t%s\njwt\teyJ***\tmore",
             long_value);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "UPDATE findings SET masked_values = ?1", -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    inventory *read = make_inventory();
    store *s = open_store(path, 1);
    assert_int_equal(store_load(s, read), AS_OK);
    store_close(s);
    const inventory_finding *f = exposure_of(read);
    assert_int_equal(f->data_types, T_CARD | T_JWT);
    assert_string_equal(f->masked[0], "");
    assert_int_equal(strlen(f->masked[1]), SENSITIVE_SAMPLE_MAX - 1);
    assert_string_equal(f->masked[2], "eyJ***\tmore");
    assert_string_equal(f->masked[3], "");
    inventory_destroy(read);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_second_run_extends),
        cmocka_unit_test(test_merged_records_leave_the_file),
        cmocka_unit_test(test_restore_api),
        cmocka_unit_test(test_load_folds_colliding_rows),
        cmocka_unit_test(test_file_mode_0600),
        cmocka_unit_test(test_secret),
        cmocka_unit_test(test_schema_version),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_locked),
        cmocka_unit_test(test_fields_round_trip),
        cmocka_unit_test(test_upgrade_from_version_1),
        cmocka_unit_test(test_upgrade_from_version_2),
        cmocka_unit_test(test_masked_values_read_defensively),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
