/*
 * Unit tests of IPv4 fragment reassembly: order, overlaps (first copy wins),
 * timeouts in packet time, the table bound, the size bound and malformed
 * fragment sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "capture/ipfrag.h"

#define SECOND UINT64_C(1000000000)
#define T0 (UINT64_C(1700000000) * SECOND)

/* IPv4 header 10.1.0.2 -> 10.2.0.80, TTL 64; id, protocol, offset and MF filled in below */
static const uint8_t header_template[20] = {0x45, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                            0x00, 0x40, 0x00, 0x00, 0x00, 10,   1,
                                            0,    2,    10,   2,    0,    80};

typedef struct fragment {
    uint8_t header[20];
    const uint8_t *payload;
    uint32_t payload_len;
} fragment;

static fragment make_fragment(uint16_t id, uint8_t protocol, uint32_t offset, int more,
                              const uint8_t *payload, uint32_t payload_len) {
    fragment f;
    memcpy(f.header, header_template, sizeof f.header);
    uint32_t total = 20 + payload_len;
    f.header[2] = (uint8_t)(total >> 8);
    f.header[3] = (uint8_t)total;
    f.header[4] = (uint8_t)(id >> 8);
    f.header[5] = (uint8_t)id;
    uint16_t flags_offset = (uint16_t)((more ? 0x2000 : 0) | (offset / 8));
    f.header[6] = (uint8_t)(flags_offset >> 8);
    f.header[7] = (uint8_t)flags_offset;
    f.header[9] = protocol;
    f.payload = payload;
    f.payload_len = payload_len;
    return f;
}

typedef struct result {
    as_status status;
    const uint8_t *datagram;
    uint32_t len;
} result;

static result add_fragment(ipfrag_table *table, const fragment *f, uint64_t now,
                           anomaly_counters *anomalies) {
    result r = {AS_SKIP, NULL, 0};
    r.status = ipfrag_add(table, f->header, 20, f->payload, f->payload_len, now, anomalies,
                          &r.datagram, &r.len);
    return r;
}

static uint8_t data[3000];

static int fill_data(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    return 0;
}

static void assert_datagram(const result *r, const uint8_t *payload, uint32_t payload_len) {
    assert_int_equal(r->status, AS_OK);
    assert_int_equal(r->len, 20 + payload_len);
    assert_int_equal((r->datagram[2] << 8) | r->datagram[3], 20 + payload_len);
    assert_int_equal(r->datagram[6] & 0x3f, 0); /* MF and offset cleared */
    assert_int_equal(r->datagram[7], 0);
    assert_memory_equal(r->datagram + 12, header_template + 12, 8); /* addresses */
    assert_memory_equal(r->datagram + 20, payload, payload_len);
}

static void in_order(void **state) {
    (void)state;
    ipfrag_table *table;
    assert_int_equal(ipfrag_create(16, 30 * SECOND, &table), AS_OK);
    anomaly_counters anomalies = {0};
    fragment a = make_fragment(7, 6, 0, 1, data, 1480);
    fragment b = make_fragment(7, 6, 1480, 1, data + 1480, 1480);
    fragment c = make_fragment(7, 6, 2960, 0, data + 2960, 40);
    assert_int_equal(add_fragment(table, &a, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(add_fragment(table, &b, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(ipfrag_held(table), 1);
    result r = add_fragment(table, &c, T0, &anomalies);
    assert_datagram(&r, data, 3000);
    assert_int_equal(r.datagram[9], 6);
    assert_int_equal(ipfrag_held(table), 0);
    for (int i = 0; i < ANOMALY_COUNT; i++)
        assert_int_equal(anomalies.count[i], 0);
    ipfrag_release(table);
    ipfrag_destroy(table);
}

static void reversed_and_shuffled(void **state) {
    (void)state;
    ipfrag_table *table;
    assert_int_equal(ipfrag_create(16, 30 * SECOND, &table), AS_OK);
    anomaly_counters anomalies = {0};
    fragment f[4] = {
        make_fragment(9, 17, 0, 1, data, 800),
        make_fragment(9, 17, 800, 1, data + 800, 800),
        make_fragment(9, 17, 1600, 1, data + 1600, 800),
        make_fragment(9, 17, 2400, 0, data + 2400, 333),
    };
    for (int i = 3; i > 0; i--)
        assert_int_equal(add_fragment(table, &f[i], T0, &anomalies).status, AS_SKIP);
    result r = add_fragment(table, &f[0], T0, &anomalies);
    assert_datagram(&r, data, 2733);
    ipfrag_release(table);

    /* middle first, then last, first, and the other middle */
    static const int order[4] = {2, 3, 0, 1};
    for (int i = 0; i < 3; i++)
        assert_int_equal(add_fragment(table, &f[order[i]], T0, &anomalies).status, AS_SKIP);
    r = add_fragment(table, &f[order[3]], T0, &anomalies);
    assert_datagram(&r, data, 2733);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_OVERLAP], 0);
    ipfrag_destroy(table);
}

static void overlap_first_copy_wins(void **state) {
    (void)state;
    ipfrag_table *table;
    assert_int_equal(ipfrag_create(16, 30 * SECOND, &table), AS_OK);
    anomaly_counters anomalies = {0};
    uint8_t forged[64];
    memset(forged, 0xee, sizeof forged);
    /* [0,32) original, then [16,48) forged overlapping 16 bytes, then [48,64) last */
    fragment first = make_fragment(3, 6, 0, 1, data, 32);
    fragment overlapping = make_fragment(3, 6, 16, 1, forged, 32);
    fragment last = make_fragment(3, 6, 48, 0, data + 48, 16);
    assert_int_equal(add_fragment(table, &first, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(add_fragment(table, &overlapping, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_OVERLAP], 1);
    result r = add_fragment(table, &last, T0, &anomalies);
    assert_int_equal(r.status, AS_OK);
    assert_memory_equal(r.datagram + 20, data, 32);        /* first copy kept */
    assert_memory_equal(r.datagram + 20 + 32, forged, 16); /* only new bytes taken */
    assert_memory_equal(r.datagram + 20 + 48, data + 48, 16);
    ipfrag_release(table);

    /* an exact duplicate is an overlap too, and the datagram still completes */
    assert_int_equal(add_fragment(table, &first, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(add_fragment(table, &first, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_OVERLAP], 2);
    fragment rest = make_fragment(3, 6, 32, 0, data + 32, 10);
    r = add_fragment(table, &rest, T0, &anomalies);
    assert_datagram(&r, data, 42);
    ipfrag_destroy(table);
}

static void timeout_in_packet_time(void **state) {
    (void)state;
    ipfrag_table *table;
    assert_int_equal(ipfrag_create(16, 30 * SECOND, &table), AS_OK);
    anomaly_counters anomalies = {0};
    fragment first = make_fragment(1, 6, 0, 1, data, 16);
    fragment last = make_fragment(1, 6, 16, 0, data + 16, 16);
    assert_int_equal(add_fragment(table, &first, T0, &anomalies).status, AS_SKIP);
    ipfrag_expire(table, T0 + 30 * SECOND - 1, &anomalies);
    assert_int_equal(ipfrag_held(table), 1);
    ipfrag_expire(table, T0 - SECOND, &anomalies); /* time going backwards expires nothing */
    assert_int_equal(ipfrag_held(table), 1);
    ipfrag_expire(table, T0 + 30 * SECOND, &anomalies);
    assert_int_equal(ipfrag_held(table), 0);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_TIMEOUT], 1);
    /* the last fragment alone now starts a new, incomplete datagram */
    assert_int_equal(add_fragment(table, &last, T0 + 31 * SECOND, &anomalies).status, AS_SKIP);
    assert_int_equal(ipfrag_held(table), 1);
    /* a later fragment of another datagram expires it inline (bounded work per add) */
    fragment other = make_fragment(2, 6, 0, 1, data, 16);
    assert_int_equal(add_fragment(table, &other, T0 + 62 * SECOND, &anomalies).status, AS_SKIP);
    assert_int_equal(ipfrag_held(table), 1);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_TIMEOUT], 2);
    ipfrag_destroy(table);
}

static void expiry_work_is_bounded(void **state) {
    (void)state;
    ipfrag_table *table;
    assert_int_equal(ipfrag_create(256, 30 * SECOND, &table), AS_OK);
    anomaly_counters anomalies = {0};
    for (uint16_t id = 0; id < 200; id++) {
        fragment f = make_fragment(id, 6, 0, 1, data, 8);
        assert_int_equal(add_fragment(table, &f, T0, &anomalies).status, AS_SKIP);
    }
    assert_int_equal(ipfrag_held(table), 200);
    ipfrag_expire(table, T0 + 60 * SECOND, &anomalies);
    assert_true(ipfrag_held(table) > 0);
    assert_true(ipfrag_held(table) < 200);
    for (int i = 0; i < 4; i++)
        ipfrag_expire(table, T0 + 60 * SECOND, &anomalies);
    assert_int_equal(ipfrag_held(table), 0);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_TIMEOUT], 200);
    ipfrag_destroy(table);
}

static void table_full_drops_new_datagrams(void **state) {
    (void)state;
    ipfrag_table *table;
    assert_int_equal(ipfrag_create(2, 30 * SECOND, &table), AS_OK);
    anomaly_counters anomalies = {0};
    fragment a = make_fragment(1, 6, 0, 1, data, 16);
    fragment b = make_fragment(2, 6, 0, 1, data, 16);
    fragment c = make_fragment(3, 6, 0, 1, data, 16);
    fragment b_last = make_fragment(2, 6, 16, 0, data + 16, 4);
    fragment c_other_protocol = make_fragment(1, 17, 0, 1, data, 16);
    assert_int_equal(add_fragment(table, &a, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(add_fragment(table, &b, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(add_fragment(table, &c, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(add_fragment(table, &c_other_protocol, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_TABLE_FULL], 2);
    assert_int_equal(ipfrag_held(table), 2);
    /* datagrams already held still complete */
    result r = add_fragment(table, &b_last, T0, &anomalies);
    assert_datagram(&r, data, 20);
    ipfrag_release(table);
    assert_int_equal(add_fragment(table, &c, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(ipfrag_held(table), 2);
    ipfrag_destroy(table);

    /* a table of size 0 holds nothing */
    assert_int_equal(ipfrag_create(0, 30 * SECOND, &table), AS_OK);
    assert_int_equal(add_fragment(table, &a, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_TABLE_FULL], 3);
    assert_int_equal(ipfrag_held(table), 0);
    ipfrag_destroy(table);
}

static void too_big_datagrams(void **state) {
    (void)state;
    ipfrag_table *table;
    assert_int_equal(ipfrag_create(16, 30 * SECOND, &table), AS_OK);
    anomaly_counters anomalies = {0};
    static uint8_t big[1500];
    /* offset 65000 + 1480 bytes ends past the 65515 payload bytes an IPv4 datagram can hold */
    fragment first = make_fragment(5, 6, 0, 1, big, 1480);
    fragment beyond = make_fragment(5, 6, 65000, 0, big, 1480);
    assert_int_equal(add_fragment(table, &first, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(ipfrag_held(table), 1);
    assert_int_equal(add_fragment(table, &beyond, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_TOO_BIG], 1);
    assert_int_equal(ipfrag_held(table), 0); /* the whole datagram is dropped */

    /* the largest datagram fits exactly: 20 + 65515 bytes */
    static uint8_t payload[65515];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i >> 3);
    result r = {AS_SKIP, NULL, 0};
    for (uint32_t offset = 65512;; offset -= 1480) {
        uint32_t len = offset == 65512 ? 3 : 1480;
        fragment f = make_fragment(6, 6, offset, offset != 65512, payload + offset, len);
        r = add_fragment(table, &f, T0, &anomalies);
        if (offset < 1480) {
            fragment head = make_fragment(6, 6, 0, 1, payload, offset);
            if (offset > 0)
                r = add_fragment(table, &head, T0, &anomalies);
            break;
        }
    }
    assert_datagram(&r, payload, 65515);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_TOO_BIG], 1);
    ipfrag_destroy(table);
}

static void malformed_fragment_sets(void **state) {
    (void)state;
    ipfrag_table *table;
    assert_int_equal(ipfrag_create(16, 30 * SECOND, &table), AS_OK);
    anomaly_counters anomalies = {0};
    /* a non-last fragment must carry a multiple of 8 bytes */
    fragment odd = make_fragment(4, 6, 0, 1, data, 13);
    assert_int_equal(add_fragment(table, &odd, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_BAD_FRAGMENT], 1);
    assert_int_equal(ipfrag_held(table), 0);
    /* an empty fragment */
    fragment empty = make_fragment(4, 6, 8, 1, data, 0);
    assert_int_equal(add_fragment(table, &empty, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_BAD_FRAGMENT], 2);
    /* two last fragments that disagree on the length: the first one stays */
    fragment last_a = make_fragment(4, 6, 16, 0, data + 16, 8);
    fragment last_b = make_fragment(4, 6, 24, 0, data + 24, 8);
    assert_int_equal(add_fragment(table, &last_a, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(add_fragment(table, &last_b, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_BAD_FRAGMENT], 3);
    /* data beyond the known end */
    fragment beyond = make_fragment(4, 6, 32, 1, data + 32, 8);
    assert_int_equal(add_fragment(table, &beyond, T0, &anomalies).status, AS_SKIP);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_BAD_FRAGMENT], 4);
    /* the consistent fragments still complete the datagram */
    fragment head = make_fragment(4, 6, 0, 1, data, 16);
    result r = add_fragment(table, &head, T0, &anomalies);
    assert_datagram(&r, data, 24);
    ipfrag_destroy(table);
}

static void completed_datagram_lives_until_release(void **state) {
    (void)state;
    ipfrag_table *table;
    assert_int_equal(ipfrag_create(1, 30 * SECOND, &table), AS_OK);
    anomaly_counters anomalies = {0};
    fragment a1 = make_fragment(1, 6, 0, 1, data, 8);
    fragment a2 = make_fragment(1, 6, 8, 0, data + 8, 8);
    fragment b1 = make_fragment(2, 6, 0, 1, data + 100, 8);
    fragment b2 = make_fragment(2, 6, 8, 0, data + 108, 8);
    assert_int_equal(add_fragment(table, &a1, T0, &anomalies).status, AS_SKIP);
    result ra = add_fragment(table, &a2, T0, &anomalies);
    assert_int_equal(ra.status, AS_OK);
    /* a second datagram completes while the first is still being read */
    assert_int_equal(add_fragment(table, &b1, T0, &anomalies).status, AS_SKIP);
    result rb = add_fragment(table, &b2, T0, &anomalies);
    assert_int_equal(rb.status, AS_OK);
    assert_datagram(&ra, data, 16);
    assert_datagram(&rb, data + 100, 16);
    ipfrag_release(table);
    /* recycled slots serve many more datagrams without growing */
    for (uint16_t id = 10; id < 1000; id++) {
        fragment x1 = make_fragment(id, 6, 0, 1, data, 8);
        fragment x2 = make_fragment(id, 6, 8, 0, data + 8, 8);
        assert_int_equal(add_fragment(table, &x1, T0, &anomalies).status, AS_SKIP);
        assert_int_equal(add_fragment(table, &x2, T0, &anomalies).status, AS_OK);
        ipfrag_release(table);
    }
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_TABLE_FULL], 0);
    ipfrag_destroy(table);
    ipfrag_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order),
        cmocka_unit_test(reversed_and_shuffled),
        cmocka_unit_test(overlap_first_copy_wins),
        cmocka_unit_test(timeout_in_packet_time),
        cmocka_unit_test(expiry_work_is_bounded),
        cmocka_unit_test(table_full_drops_new_datagrams),
        cmocka_unit_test(too_big_datagrams),
        cmocka_unit_test(malformed_fragment_sets),
        cmocka_unit_test(completed_datagram_lives_until_release),
    };
    return cmocka_run_group_tests(tests, fill_data, NULL);
}
