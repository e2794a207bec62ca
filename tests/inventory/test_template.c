/* Path templating: shapes, dictionary words, learned positions, and the
 * cases that must not merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "inventory/template.h"

static const char *apply(template_learner *l, uint64_t scope, const char *path, int learn) {
    static char out[512];
    template_learner_apply(l, scope, path, strlen(path), learn, out, sizeof out);
    return out;
}

static int setup(void **state) {
    template_learner *l = NULL;
    assert_int_equal(template_learner_create(1024, 5, &l), AS_OK);
    *state = l;
    return 0;
}

static int teardown(void **state) {
    template_learner_destroy(*state);
    return 0;
}

static void test_shapes(void **state) {
    (void)state;
    static const struct {
        const char *segment;
        template_shape shape;
    } cases[] = {
        {"17", TEMPLATE_INTEGER},
        {"a886a720-f194-4876-8e23-b808ab96323b", TEMPLATE_UUID},
        {"507f1f77bcf86cd799439011", TEMPLATE_OBJECT_ID},
        {"9f86d081", TEMPLATE_HEX},
        {"alice@example.com", TEMPLATE_EMAIL},
        {"alice%40example.com", TEMPLATE_EMAIL},
        {"2024-05-01", TEMPLATE_DATE},
        {"2024-05-01T10:00:00Z", TEMPLATE_DATE},
        {"eyJhbGciOiJIUzI1NiJ9", TEMPLATE_TOKEN},
        {"user123", TEMPLATE_ALNUM_ID},
        {"ord2024x", TEMPLATE_ALNUM_ID},
        /* literals: words, compounds, versions and short mixed tokens */
        {"users", TEMPLATE_LITERAL},
        {"payment_methods", TEMPLATE_LITERAL},
        {"audit-logs", TEMPLATE_LITERAL},
        {"paymentMethods", TEMPLATE_LITERAL},
        {"openapi.json", TEMPLATE_LITERAL},
        {"v1", TEMPLATE_LITERAL},
        {"v2beta1", TEMPLATE_LITERAL},
        {"oauth2", TEMPLATE_LITERAL},
        {"ipv6", TEMPLATE_LITERAL},
        {"s3", TEMPLATE_LITERAL},
        {"deadbeef", TEMPLATE_LITERAL},
        {"__rules", TEMPLATE_LITERAL},
        {"{id}", TEMPLATE_PARAM},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        template_shape got = template_segment_shape(cases[i].segment, strlen(cases[i].segment));
        if (got != cases[i].shape)
            fail_msg("%s: shape %d, want %d", cases[i].segment, got, cases[i].shape);
    }
}

static void test_shape_templates(void **state) {
    template_learner *l = *state;
    assert_string_equal(apply(l, 1, "/api/v1/users/884455/orders/2460", 1),
                        "/api/v1/users/{id}/orders/{id}");
    assert_string_equal(apply(l, 1, "/api/v2/products/a886a720-f194-4876-8e23-b808ab96323b", 1),
                        "/api/v2/products/{uuid}");
    assert_string_equal(apply(l, 1, "/health", 1), "/health");
    assert_string_equal(apply(l, 1, "", 1), "/");
    assert_string_equal(apply(l, 1, "/", 1), "/");
    assert_string_equal(apply(l, 1, "//orders//7/", 1), "/orders/{id}");
    /* applying to a template is idempotent */
    assert_string_equal(apply(l, 1, "/users/{id}/orders/{id}", 1), "/users/{id}/orders/{id}");
}

static void test_learned_position(void **state) {
    template_learner *l = *state;
    static const char *names[] = {"alice", "bob", "carol", "dave", "erin"};
    /* four distinct names stay literal (cardinality is 5) */
    for (int i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof path, "/people/%s/settings", names[i]);
        assert_string_equal(apply(l, 7, path, 1), path);
    }
    char out[128];
    template_result r =
        template_learner_apply(l, 7, "/people/erin/settings", 21, 1, out, sizeof out);
    assert_int_equal(r.learned, 1);
    assert_string_equal(out, "/people/{param}/settings");
    /* once learned, an unseen value maps to the template even without learning */
    assert_string_equal(apply(l, 7, "/people/frank/settings", 0), "/people/{param}/settings");
    /* another scope (service + method) learned nothing */
    assert_string_equal(apply(l, 8, "/people/frank/settings", 0), "/people/frank/settings");
    /* another depth is another position */
    assert_string_equal(apply(l, 7, "/people/frank", 0), "/people/frank");
}

static void test_must_not_merge(void **state) {
    template_learner *l = *state;
    /* many dictionary words at one position never make a parameter */
    static const char *words[] = {"users",  "orders",  "products", "invoices", "payments",
                                  "health", "metrics", "login",    "logout",   "search"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/%s", words[i]);
        assert_string_equal(apply(l, 3, path, 1), path);
    }
    /* versions stay apart */
    assert_string_equal(apply(l, 3, "/api/v2/users", 1), "/api/v2/users");
    /* literal sub-resources next to an id stay apart from the id */
    assert_string_equal(apply(l, 3, "/users/me", 1), "/users/me");
    assert_string_equal(apply(l, 3, "/users/17", 1), "/users/{id}");
    /* failed exchanges teach nothing: scanner noise under one prefix */
    for (int i = 0; i < 50; i++) {
        char path[64];
        snprintf(path, sizeof path, "/static/probe%c%c", 'a' + i % 26, 'a' + i / 26);
        apply(l, 3, path, 0);
    }
    assert_string_equal(apply(l, 3, "/static/probeqq", 0), "/static/probeqq");
}

static void test_bounds(void **state) {
    (void)state;
    template_learner *l = NULL;
    assert_int_equal(template_learner_create(0, 5, &l), AS_ERR_ARG);
    assert_int_equal(template_learner_create(2, 3, &l), AS_OK);
    /* a full table learns nothing more, and says so */
    for (int i = 0; i < 10; i++) {
        char path[64];
        snprintf(path, sizeof path, "/p%c/x%c", 'a' + i, 'a' + i);
        apply(l, 1, path, 1);
    }
    template_learner_stats st = template_learner_get_stats(l);
    assert_int_equal(st.positions, 2);
    assert_true(st.table_full > 0);
    /* a deep path is cut at TEMPLATE_MAX_SEGMENTS and a small buffer cuts text */
    char deep[81] = "";
    for (int i = 0; i < 40; i++)
        memcpy(deep + 2 * i, "/a", 3);
    char out[16];
    template_result r = template_learner_apply(l, 1, deep, strlen(deep), 0, out, sizeof out);
    assert_int_equal(r.segments, TEMPLATE_MAX_SEGMENTS);
    assert_int_equal(r.len, 15);
    st = template_learner_get_stats(l);
    assert_int_equal(st.cut_segments, 1);
    assert_int_equal(st.cut_characters, 1);
    template_learner_destroy(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test_setup_teardown(test_shape_templates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_learned_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_must_not_merge, setup, teardown),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
