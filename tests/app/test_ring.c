/*
 * Tests of the pieces of --workers N (app/workers.h) that stand alone: the
 * SPSC ring (order, wrap-around, bounds, full and empty policies, two
 * threads), the merge order of the model thread, and the flat transaction
 * and scan records that cross the ring.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "merge.h"
#include "ring.h"
#include "scan_record.h"
#include "tx_record.h"

/* ---- ring ---------------------------------------------------------------- */

static void push(ring *r, uint32_t type, uint32_t value, size_t len) {
    uint8_t *p = ring_reserve(r, type, len);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(value & 0xff);
    memcpy(p, &value, sizeof value);
    ring_commit(r, len);
}

static uint32_t pop(ring *r, uint32_t *type, size_t *len) {
    uint8_t *p = ring_peek(r, type, len);
    assert_non_null(p);
    uint32_t value;
    memcpy(&value, p, sizeof value);
    for (size_t i = sizeof value; i < *len; i++)
        assert_int_equal(p[i], value & 0xff);
    ring_release(r);
    return value;
}

static void test_order_and_wrap(void **state) {
    (void)state;
    ring *r = NULL;
    assert_int_equal(ring_create(4096, 1000, RING_BLOCK, NULL, &r), AS_OK);
    uint32_t type;
    size_t len;
    assert_null(ring_peek(r, &type, &len)); /* empty */
    uint32_t next_in = 0, next_out = 0;
    /* records of odd sizes go round the 4 KiB ring many times */
    for (int round = 0; round < 200; round++) {
        for (int k = 0; k < 3; k++, next_in++)
            push(r, 7 + next_in % 3, next_in, 4 + (next_in * 37) % 997);
        assert_null(ring_peek(r, &type, &len)); /* committed, not yet published */
        ring_publish(r);
        for (int k = 0; k < 3; k++, next_out++) {
            assert_int_equal(pop(r, &type, &len), next_out);
            assert_int_equal(type, 7 + next_out % 3);
            assert_int_equal(len, 4 + (next_out * 37) % 997);
        }
        ring_consume(r);
    }
    assert_null(ring_peek(r, &type, &len));
    ring_stats st = ring_get_stats(r);
    assert_int_equal(st.records, 600);
    assert_int_equal(st.full_waits, 0);
    assert_int_equal(st.capacity, 4096);
    ring_destroy(r);
}

static void test_bounds_and_policies(void **state) {
    (void)state;
    ring *r = NULL;
    /* asked for 100 bytes: grown to hold two of the largest record (2 x 264) */
    assert_int_equal(ring_create(100, 256, RING_BLOCK, NULL, &r), AS_OK);
    assert_int_equal(ring_get_stats(r).capacity, 1024);
    assert_null(ring_reserve(r, 1, 257)); /* over max_record */
    int pushed = 0;
    while (ring_reserve(r, 1, 120) != NULL) { /* 128 bytes each */
        ring_commit(r, 120);
        pushed++;
    }
    assert_int_equal(pushed, 8);
    assert_int_equal(ring_get_stats(r).full_waits, 1); /* block: the caller waits */
    assert_int_equal(ring_wait_space(r, 120, 1), 0);   /* nobody consumes: times out */
    uint32_t type;
    size_t len;
    assert_non_null(ring_peek(r, &type, &len)); /* ring_wait_space published */
    ring_release(r);
    assert_int_equal(ring_wait_space(r, 120, 1), 0); /* released, not yet consumed */
    ring_consume(r);
    assert_int_equal(ring_wait_space(r, 120, 1), 1);
    ring_destroy(r);

    assert_int_equal(ring_create(1024, 256, RING_DROP_NEW, NULL, &r), AS_OK);
    for (int i = 0; i < 8; i++)
        push(r, 1, (uint32_t)i, 120);
    assert_null(ring_reserve(r, 1, 8));
    assert_null(ring_reserve(r, 1, 8));
    ring_stats st = ring_get_stats(r);
    assert_int_equal(st.dropped, 2);
    assert_int_equal(st.full_waits, 0);
    assert_string_equal(ring_policy_name(RING_DROP_NEW), "drop new");
    assert_string_equal(ring_policy_name(RING_BLOCK), "block");
    ring_destroy(r);
}

/* A record smaller than what is left before the end is not split: the end
 * is padded and the record starts at offset 0. */
static void test_commit_shrinks(void **state) {
    (void)state;
    ring *r = NULL;
    assert_int_equal(ring_create(1024, 400, RING_BLOCK, NULL, &r), AS_OK);
    for (uint32_t i = 0; i < 50; i++) {
        uint8_t *p = ring_reserve(r, 3, 400);
        assert_non_null(p);
        memcpy(p, &i, sizeof i);
        ring_commit(r, 12); /* used only 12 of 400 */
        ring_publish(r);
        uint32_t type;
        size_t len;
        uint32_t *q = ring_peek(r, &type, &len);
        assert_non_null(q);
        assert_int_equal(len, 12);
        assert_int_equal(*q, i);
        ring_release(r);
        ring_consume(r);
    }
    ring_destroy(r);
}

typedef struct thread_arg {
    ring *r;
    uint32_t count;
} thread_arg;

static void *producer(void *arg) {
    thread_arg *a = arg;
    for (uint32_t i = 0; i < a->count; i++) {
        size_t len = 8 + i % 200;
        uint8_t *p;
        while (!(p = ring_reserve(a->r, 1, len)))
            ring_wait_space(a->r, len, 10);
        memcpy(p, &i, sizeof i);
        ring_commit(a->r, len);
        if (i % 16 == 0)
            ring_publish(a->r);
    }
    ring_publish(a->r);
    return NULL;
}

static void test_two_threads(void **state) {
    (void)state;
    ring *r = NULL;
    assert_int_equal(ring_create(2048, 256, RING_BLOCK, NULL, &r), AS_OK);
    thread_arg a = {r, 200000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, &a), 0);
    for (uint32_t expect = 0; expect < a.count;) {
        uint32_t type;
        size_t len;
        uint32_t *p = ring_peek(r, &type, &len);
        if (!p) {
            ring_wait(r, 10);
            continue;
        }
        assert_int_equal(*p, expect);
        assert_int_equal(len, 8 + expect % 200);
        ring_release(r);
        if (++expect % 8 == 0)
            ring_consume(r);
    }
    ring_consume(r);
    pthread_join(t, NULL);
    ring_stats st = ring_get_stats(r);
    assert_int_equal(st.records, a.count);
    assert_true(st.peak_bytes <= st.capacity);
    ring_destroy(r);
}

/* ---- merge order ----------------------------------------------------------- */

static void test_merge_keys(void **state) {
    (void)state;
    merge_key expired = {.seq = 10, .phase = 0, .origin = 3};
    merge_key expired_later_flow = {.seq = 10, .phase = 0, .origin = 7};
    merge_key own = {.seq = 10, .phase = 3, .origin = 1};
    merge_key next = {.seq = 11, .phase = 0, .origin = 0};
    assert_true(merge_key_less(&expired, &expired_later_flow));
    assert_true(merge_key_less(&expired_later_flow, &own)); /* phase before origin */
    assert_true(merge_key_less(&own, &next));               /* seq first */
    assert_false(merge_key_less(&own, &own));
}

static void test_merge_pick(void **state) {
    (void)state;
    merge_key heads[3] = {{.seq = 12}, {.seq = 10, .phase = 3}, {.seq = 10, .phase = 0}};
    merge_key floors[3] = {{0}};
    int has[3] = {1, 1, 1};
    assert_int_equal(merge_pick(heads, has, floors, 3), 2); /* smallest key */
    has[2] = 0;
    floors[2] = (merge_key){.seq = 9, .phase = 255};         /* worker 2 done up to packet 9 */
    assert_int_equal(merge_pick(heads, has, floors, 3), -2); /* may still send seq 10 */
    floors[2] = (merge_key){.seq = 10, .phase = 255};
    assert_int_equal(merge_pick(heads, has, floors, 3), 1);
    /* a floor equal to the head (the other parts of one event) does not block */
    merge_key part = {.seq = 20, .phase = 1};
    merge_key heads2[2] = {part, {.seq = 30}};
    merge_key floors2[2] = {{0}, part};
    int has2[2] = {1, 0};
    assert_int_equal(merge_pick(heads2, has2, floors2, 2), 0);
    has2[0] = 0;
    assert_int_equal(merge_pick(heads2, has2, floors2, 2), -1);
    /* ties between workers: the lowest worker first */
    merge_key same[2] = {part, part};
    int both[2] = {1, 1};
    assert_int_equal(merge_pick(same, both, floors2, 2), 0);
}

/* ---- transaction record ---------------------------------------------------- */

static str_view view(const char *s) {
    return (str_view){s, (uint32_t)strlen(s)};
}

static void test_tx_record(void **state) {
    (void)state;
    /* a GET with two request headers, a 200 with a JSON body, TLS facts */
    http_header_view req_headers[2] = {{view("Host"), view("api.example")},
                                       {view("Authorization"), view("Bearer abc")}};
    http_header_view resp_headers[1] = {{view("Content-Type"), view("application/json")}};
    static const uint8_t body[] = "{\"id\":1}";
    tx_tls tls = {.version = 0x0304, .sni = view("api.example"), .ja4 = "t13d1516h2_x_y"};
    http_transaction tx = {
        .flow_serial = 42,
        .client_port = 40000,
        .server_port = 443,
        .method = view("GET"),
        .uri = view("/users/1?x=2"),
        .host = view("api.example"),
        .status = 200,
        .reason = view(""), /* present and empty */
        .request = {.present = 1, .headers = req_headers, .header_count = 2},
        .response = {.present = 1,
                     .headers = resp_headers,
                     .header_count = 1,
                     .content_type = view("application/json"),
                     .body = body,
                     .body_len = 8},
        .tls = &tls,
    };
    size_t size = tx_record_size(&tx);
    limits lim = limits_default();
    assert_true(size <= tx_record_max_size(&lim));
    uint64_t *first = calloc(1, size + 8), *moved = calloc(1, size + 8);
    tx_record_write(first, &tx);
    memcpy(moved, first, size); /* the record works wherever it lands */
    memset(first, 0xee, size);
    const http_transaction *out = tx_record_open(moved);
    assert_int_equal(out->flow_serial, 42);
    assert_int_equal(out->server_port, 443);
    assert_memory_equal(out->uri.ptr, "/users/1?x=2", out->uri.len);
    assert_non_null(out->reason.ptr);
    assert_int_equal(out->reason.len, 0);
    assert_null(out->request.content_type.ptr); /* absent stays absent */
    assert_null(out->request.body);
    assert_int_equal(out->request.header_count, 2);
    assert_memory_equal(out->request.headers[1].value.ptr, "Bearer abc", 10);
    assert_memory_equal(out->response.headers[0].name.ptr, "Content-Type", 12);
    assert_memory_equal(out->response.body, body, 8);
    assert_non_null(out->tls);
    assert_int_equal(out->tls->version, 0x0304);
    assert_string_equal(out->tls->ja4, "t13d1516h2_x_y");
    assert_null(out->tls->ja3);
    assert_memory_equal(out->tls->sni.ptr, "api.example", 11);
    free(first);
    free(moved);
}

static void test_scan_record(void **state) {
    (void)state;
    static sensitive_found found[SENSITIVE_LOCATION_COUNT], back[SENSITIVE_LOCATION_COUNT];
    for (int l = 0; l < SENSITIVE_LOCATION_COUNT; l++)
        sensitive_found_clear(&found[l]);
    found[SENSITIVE_IN_RESPONSE_BODY].types =
        SENSITIVE_BIT(SENSITIVE_EMAIL) | SENSITIVE_BIT(SENSITIVE_CREDIT_CARD);
    found[SENSITIVE_IN_RESPONSE_BODY].hints = SENSITIVE_HINT_SCANNED;
    snprintf(found[SENSITIVE_IN_RESPONSE_BODY].sample[SENSITIVE_EMAIL], SENSITIVE_SAMPLE_MAX, "%s",
             "j***@example.com");
    snprintf(found[SENSITIVE_IN_RESPONSE_BODY].sample[SENSITIVE_CREDIT_CARD], SENSITIVE_SAMPLE_MAX,
             "%s", "4111********1111");
    found[SENSITIVE_IN_QUERY].truncated = 1;
    /* a sample as long as a sample can be */
    found[SENSITIVE_IN_REQUEST_HEADERS].types = SENSITIVE_BIT(SENSITIVE_JWT);
    memset(found[SENSITIVE_IN_REQUEST_HEADERS].sample[SENSITIVE_JWT], 'x',
           SENSITIVE_SAMPLE_MAX - 1);
    found[SENSITIVE_IN_REQUEST_HEADERS].sample[SENSITIVE_JWT][SENSITIVE_SAMPLE_MAX - 1] = '\0';

    size_t size = scan_record_size(found);
    assert_int_equal(size % 8, 0);
    assert_true(size <= scan_record_max_size());
    uint64_t *rec = calloc(1, scan_record_max_size());
    assert_non_null(rec);
    scan_record_write(rec, found);
    int scanned = 0;
    assert_int_equal(scan_record_read(rec, back, &scanned), size);
    assert_true(scanned);
    for (int l = 0; l < SENSITIVE_LOCATION_COUNT; l++) {
        assert_int_equal(back[l].types, found[l].types);
        assert_int_equal(back[l].truncated, found[l].truncated);
        assert_int_equal(back[l].hints, found[l].hints);
        for (int t = 0; t < SENSITIVE_TYPE_COUNT; t++)
            assert_string_equal(back[l].sample[t], found[l].sample[t]);
    }

    /* not scanned: eight bytes, nothing read back */
    assert_int_equal(scan_record_size(NULL), 8);
    scan_record_write(rec, NULL);
    assert_int_equal(scan_record_read(rec, back, &scanned), 8);
    assert_false(scanned);
    free(rec);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_wrap), cmocka_unit_test(test_bounds_and_policies),
        cmocka_unit_test(test_commit_shrinks), cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_merge_keys),     cmocka_unit_test(test_merge_pick),
        cmocka_unit_test(test_tx_record),      cmocka_unit_test(test_scan_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
