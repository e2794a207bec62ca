/*
 * Unit tests of the L2-L4 decoder: crafted packets for every link type and
 * encapsulation, truncation at every length (each packet copied into a
 * buffer of exactly caplen bytes so AddressSanitizer catches any read past
 * it), snaplen-cut payloads, malformed headers, and every packet of every
 * shared capture.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/decode.h"
#include "capture/source.h"

/* ---------------------------------------------------------------- building blocks */

/* Ethernet: dst 00:00:5e:00:53:01, src 00:00:5e:00:53:02, type IPv4 */
static const uint8_t eth_ipv4[] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x00,
                                   0x00, 0x5e, 0x00, 0x53, 0x02, 0x08, 0x00};
/* Ethernet, type IPv6 */
static const uint8_t eth_ipv6[] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x00,
                                   0x00, 0x5e, 0x00, 0x53, 0x02, 0x86, 0xdd};
/* Ethernet, type 802.1Q (a tag follows) */
static const uint8_t eth_8021q[] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x00,
                                    0x00, 0x5e, 0x00, 0x53, 0x02, 0x81, 0x00};
/* Ethernet, type 802.1ad (a service tag follows) */
static const uint8_t eth_8021ad[] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x00,
                                     0x00, 0x5e, 0x00, 0x53, 0x02, 0x88, 0xa8};
/* Ethernet, type 0x9100 (old QinQ) */
static const uint8_t eth_9100[] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x00,
                                   0x00, 0x5e, 0x00, 0x53, 0x02, 0x91, 0x00};
/* Ethernet, type MPLS unicast */
static const uint8_t eth_mpls[] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x00,
                                   0x00, 0x5e, 0x00, 0x53, 0x02, 0x88, 0x47};
/* Ethernet, type PPPoE session */
static const uint8_t eth_pppoe[] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x00,
                                    0x00, 0x5e, 0x00, 0x53, 0x02, 0x88, 0x64};
/* Ethernet, type ARP */
static const uint8_t eth_arp[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                                  0x00, 0x5e, 0x00, 0x53, 0x02, 0x08, 0x06};
/* Ethernet, 802.3 length 52, LLC AA AA 03 + SNAP OUI 000000 type IPv4 */
static const uint8_t eth_llc_snap_ipv4[] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x00, 0x00,
                                            0x5e, 0x00, 0x53, 0x02, 0x00, 0x34, 0xaa, 0xaa,
                                            0x03, 0x00, 0x00, 0x00, 0x08, 0x00};

/* 802.1Q tag: VID 100, then IPv4 */
static const uint8_t tag100_ipv4[] = {0x00, 0x64, 0x08, 0x00};
/* 802.1ad service tag: VID 200, then an 802.1Q tag */
static const uint8_t tag200_8021q[] = {0x00, 0xc8, 0x81, 0x00};
/* 802.1Q tag: priority 5, VID 300, then IPv4 */
static const uint8_t tag300_ipv4[] = {0xa1, 0x2c, 0x08, 0x00};
/* 802.1Q tag: VID 7, then another 802.1Q tag */
static const uint8_t tag7_8021q[] = {0x00, 0x07, 0x81, 0x00};

/* IPv4 10.1.0.2 -> 10.2.0.80, total length 44, id 0x1234, DF, TTL 64, protocol TCP */
static const uint8_t ipv4_tcp_header[] = {0x45, 0x00, 0x00, 0x2c, 0x12, 0x34, 0x40,
                                          0x00, 0x40, 0x06, 0x00, 0x00, 10,   1,
                                          0,    2,    10,   2,    0,    80};
/* TCP 40000 -> 80, seq 1000, ack 2000, data offset 5, PSH|ACK, window 65535; "GET " */
static const uint8_t tcp_get[] = {0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8,
                                  0x00, 0x00, 0x07, 0xd0, 0x50, 0x18, 0xff, 0xff,
                                  0x00, 0x00, 0x00, 0x00, 'G',  'E',  'T',  ' '};
/* IPv6 2001:db8:1::2 -> 2001:db8:2::80, payload length 24, next header TCP, hop limit 64 */
static const uint8_t ipv6_tcp_header[] = {
    0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8,
    0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80};

typedef struct pkt_builder {
    uint8_t bytes[512];
    size_t len;
} pkt_builder;

static void add(pkt_builder *b, const void *bytes, size_t n) {
    assert_true(b->len + n <= sizeof b->bytes);
    memcpy(b->bytes + b->len, bytes, n);
    b->len += n;
}

#define ADD(b, array) add((b), (array), sizeof(array))

/* The IPv4 + TCP "GET " packet shared by most cases (44 bytes). */
static void add_ipv4_tcp(pkt_builder *b) {
    ADD(b, ipv4_tcp_header);
    ADD(b, tcp_get);
}

/* The IPv6 + TCP "GET " packet (64 bytes). */
static void add_ipv6_tcp(pkt_builder *b) {
    ADD(b, ipv6_tcp_header);
    ADD(b, tcp_get);
}

/* Outer IPv4 header 192.0.2.1 -> 192.0.2.2 carrying `protocol`, total length 20 + payload_len. */
static void add_outer_ipv4(pkt_builder *b, uint8_t protocol, size_t payload_len) {
    size_t total = 20 + payload_len;
    const uint8_t header[] = {0x45,
                              0x00,
                              (uint8_t)(total >> 8),
                              (uint8_t)total,
                              0x00,
                              0x01,
                              0x00,
                              0x00,
                              0x40,
                              protocol,
                              0x00,
                              0x00,
                              192,
                              0,
                              2,
                              1,
                              192,
                              0,
                              2,
                              2};
    ADD(b, header);
}

/* UDP header with the given ports and length 8 + payload_len, checksum 0. */
static void add_udp(pkt_builder *b, uint16_t src_port, uint16_t dst_port, size_t payload_len) {
    size_t len = 8 + payload_len;
    const uint8_t header[] = {(uint8_t)(src_port >> 8),
                              (uint8_t)src_port,
                              (uint8_t)(dst_port >> 8),
                              (uint8_t)dst_port,
                              (uint8_t)(len >> 8),
                              (uint8_t)len,
                              0x00,
                              0x00};
    ADD(b, header);
}

/* ---------------------------------------------------------------- decoding helpers */

static decoder *test_decoder;

static int group_setup(void **state) {
    (void)state;
    limits lim = limits_default();
    return decoder_create(&lim, &test_decoder) == AS_OK ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    decoder_destroy(test_decoder);
    return 0;
}

static as_status decode_with(uint32_t linktype, const uint8_t *bytes, size_t caplen, size_t wirelen,
                             decoded_packet *out, anomaly_counters *anomalies) {
    capture_packet pkt = {.data = bytes,
                          .caplen = (uint32_t)caplen,
                          .wirelen = (uint32_t)wirelen,
                          .ts_ns = UINT64_C(1700000000000000000),
                          .linktype = linktype};
    return decoder_decode(test_decoder, &pkt, out, anomalies);
}

static as_status decode_built(uint32_t linktype, const pkt_builder *b, decoded_packet *out,
                              anomaly_counters *anomalies) {
    return decode_with(linktype, b->bytes, b->len, b->len, out, anomalies);
}

static uint64_t anomaly_total(const anomaly_counters *anomalies) {
    uint64_t total = 0;
    for (int i = 0; i < ANOMALY_COUNT; i++)
        total += anomalies->count[i];
    return total;
}

static void assert_tcp_get(const decoded_packet *out, int family) {
    char src[64], dst[64];
    ip_address_format(&out->src, src, sizeof src);
    ip_address_format(&out->dst, dst, sizeof dst);
    if (family == 4) {
        assert_string_equal(src, "10.1.0.2");
        assert_string_equal(dst, "10.2.0.80");
    } else {
        assert_string_equal(src, "2001:db8:1::2");
        assert_string_equal(dst, "2001:db8:2::80");
    }
    assert_int_equal(out->ip_proto, 6);
    assert_int_equal(out->src_port, 40000);
    assert_int_equal(out->dst_port, 80);
    assert_int_equal(out->seq, 1000);
    assert_int_equal(out->ack, 2000);
    assert_int_equal(out->tcp_flags, TCP_PSH | TCP_ACK);
    assert_int_equal(out->payload_len, 4);
    assert_int_equal(out->payload_wire_len, 4);
    assert_memory_equal(out->payload, "GET ", 4);
    assert_non_null(out->l3);
    assert_int_equal(out->l3[0] >> 4, family);
}

/* Decodes b and checks the inner "GET " segment; returns the decoded packet. */
static decoded_packet expect_get(uint32_t linktype, const pkt_builder *b, int family) {
    decoded_packet out;
    anomaly_counters anomalies = {0};
    as_status status = decode_built(linktype, b, &out, &anomalies);
    if (status != AS_OK) {
        for (int i = 0; i < ANOMALY_COUNT; i++)
            if (anomalies.count[i])
                print_message("anomaly %s\n", anomaly_name((anomaly_id)i));
        fail_msg("decode returned %s", status_name(status));
    }
    assert_tcp_get(&out, family);
    assert_int_equal(anomaly_total(&anomalies), 0);
    return out;
}

/* Decodes b, expects AS_SKIP and exactly one count of `id` (ANOMALY_COUNT: none at all). */
static void expect_skip(uint32_t linktype, const pkt_builder *b, anomaly_id id) {
    decoded_packet out;
    anomaly_counters anomalies = {0};
    assert_int_equal(decode_built(linktype, b, &out, &anomalies), AS_SKIP);
    if (id == ANOMALY_COUNT) {
        assert_int_equal(anomaly_total(&anomalies), 0);
    } else {
        if (anomalies.count[id] != 1)
            fail_msg("expected anomaly %s", anomaly_name(id));
        assert_int_equal(anomaly_total(&anomalies), 1);
    }
}

/* ---------------------------------------------------------------- Ethernet family */

static void ethernet_ipv4_and_ipv6(void **state) {
    (void)state;
    pkt_builder b = {.len = 0};
    ADD(&b, eth_ipv4);
    add_ipv4_tcp(&b);
    decoded_packet out = expect_get(LINK_ETHERNET, &b, 4);
    assert_ptr_equal(out.l3, b.bytes + 14);
    assert_int_equal(out.l3_len, 44);
    assert_int_equal(out.vlan_outer, 0);
    assert_int_equal(out.tunnel_depth, 0);
    assert_int_equal(out.reassembled, 0);
    assert_int_equal(out.ts_ns, UINT64_C(1700000000000000000));

    /* minimum-size frame padding after the IP packet is not payload */
    static const uint8_t padding[16] = {0};
    ADD(&b, padding);
    expect_get(LINK_ETHERNET, &b, 4);

    b.len = 0;
    ADD(&b, eth_ipv6);
    add_ipv6_tcp(&b);
    out = expect_get(LINK_ETHERNET, &b, 6);
    assert_int_equal(out.l3_len, 64);

    b.len = 0;
    ADD(&b, eth_llc_snap_ipv4);
    add_ipv4_tcp(&b);
    expect_get(LINK_ETHERNET, &b, 4);

    b.len = 0;
    ADD(&b, eth_arp);
    static const uint8_t arp_body[28] = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
    ADD(&b, arp_body);
    expect_skip(LINK_ETHERNET, &b, ANOMALY_DECODE_L3_UNKNOWN);
}

static void vlan_qinq_and_depth_bound(void **state) {
    (void)state;
    pkt_builder b = {.len = 0};
    ADD(&b, eth_8021q);
    ADD(&b, tag100_ipv4);
    add_ipv4_tcp(&b);
    decoded_packet out = expect_get(LINK_ETHERNET, &b, 4);
    assert_int_equal(out.vlan_outer, 100);
    assert_int_equal(out.vlan_inner, 0);

    b.len = 0;
    ADD(&b, eth_8021ad);
    ADD(&b, tag200_8021q);
    ADD(&b, tag300_ipv4);
    add_ipv4_tcp(&b);
    out = expect_get(LINK_ETHERNET, &b, 4);
    assert_int_equal(out.vlan_outer, 200);
    assert_int_equal(out.vlan_inner, 300);

    b.len = 0;
    ADD(&b, eth_9100);
    ADD(&b, tag200_8021q);
    ADD(&b, tag300_ipv4);
    add_ipv4_tcp(&b);
    out = expect_get(LINK_ETHERNET, &b, 4);
    assert_int_equal(out.vlan_outer, 200);

    /* five stacked tags: beyond the bound */
    b.len = 0;
    ADD(&b, eth_8021q);
    for (int i = 0; i < 4; i++)
        ADD(&b, tag7_8021q);
    ADD(&b, tag100_ipv4);
    add_ipv4_tcp(&b);
    expect_skip(LINK_ETHERNET, &b, ANOMALY_DECODE_VLAN_TOO_DEEP);
}

static void mpls_label_stacks(void **state) {
    (void)state;
    /* label 16 (TTL 64), label 32 with bottom of stack (TTL 64) */
    static const uint8_t two_labels[] = {0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40};
    pkt_builder b = {.len = 0};
    ADD(&b, eth_mpls);
    ADD(&b, two_labels);
    add_ipv4_tcp(&b);
    expect_get(LINK_ETHERNET, &b, 4);

    b.len = 0;
    ADD(&b, eth_mpls);
    ADD(&b, two_labels);
    add_ipv6_tcp(&b);
    expect_get(LINK_ETHERNET, &b, 6);

    /* Ethernet over MPLS: label 48 bottom of stack, pseudowire control word 0, a frame */
    static const uint8_t pw_label_and_control_word[] = {0x00, 0x03, 0x01, 0x40,
                                                        0x00, 0x00, 0x00, 0x00};
    b.len = 0;
    ADD(&b, eth_mpls);
    ADD(&b, pw_label_and_control_word);
    ADD(&b, eth_ipv4);
    add_ipv4_tcp(&b);
    decoded_packet out = expect_get(LINK_ETHERNET, &b, 4);
    assert_int_equal(out.tunnel_depth, 1);

    /* 17 labels without bottom of stack */
    static const uint8_t label_no_bottom[] = {0x00, 0x01, 0x00, 0x40};
    b.len = 0;
    ADD(&b, eth_mpls);
    for (int i = 0; i < 17; i++)
        ADD(&b, label_no_bottom);
    add_ipv4_tcp(&b);
    expect_skip(LINK_ETHERNET, &b, ANOMALY_DECODE_MPLS_TOO_DEEP);
}

static void pppoe_sessions(void **state) {
    (void)state;
    /* version 1 type 1, code 0 (session data), session 0x2d, length 46, PPP protocol IPv4 */
    static const uint8_t pppoe_ipv4[] = {0x11, 0x00, 0x00, 0x2d, 0x00, 0x2e, 0x00, 0x21};
    /* the same with the compressed one-byte PPP protocol field (length 45) */
    static const uint8_t pppoe_ipv4_pfc[] = {0x11, 0x00, 0x00, 0x2d, 0x00, 0x2d, 0x21};
    /* length 66, PPP protocol IPv6 */
    static const uint8_t pppoe_ipv6[] = {0x11, 0x00, 0x00, 0x2d, 0x00, 0x42, 0x00, 0x57};
    /* PPP protocol 0xc021 (LCP) */
    static const uint8_t pppoe_lcp[] = {0x11, 0x00, 0x00, 0x2d, 0x00, 0x06,
                                        0xc0, 0x21, 0x01, 0x01, 0x00, 0x04};
    pkt_builder b = {.len = 0};
    ADD(&b, eth_pppoe);
    ADD(&b, pppoe_ipv4);
    add_ipv4_tcp(&b);
    expect_get(LINK_ETHERNET, &b, 4);

    b.len = 0;
    ADD(&b, eth_pppoe);
    ADD(&b, pppoe_ipv4_pfc);
    add_ipv4_tcp(&b);
    expect_get(LINK_ETHERNET, &b, 4);

    b.len = 0;
    ADD(&b, eth_pppoe);
    ADD(&b, pppoe_ipv6);
    add_ipv6_tcp(&b);
    expect_get(LINK_ETHERNET, &b, 6);

    b.len = 0;
    ADD(&b, eth_pppoe);
    ADD(&b, pppoe_lcp);
    expect_skip(LINK_ETHERNET, &b, ANOMALY_DECODE_L3_UNKNOWN);
}

/* ---------------------------------------------------------------- other link types */

static void null_and_loop_address_families(void **state) {
    (void)state;
    static const uint8_t af_inet_le[] = {0x02, 0x00, 0x00, 0x00};  /* AF_INET, little-endian */
    static const uint8_t af_inet_be[] = {0x00, 0x00, 0x00, 0x02};  /* AF_INET, big-endian */
    static const uint8_t af_inet6_30[] = {0x1e, 0x00, 0x00, 0x00}; /* macOS AF_INET6 */
    static const uint8_t af_inet6_24[] = {0x00, 0x00, 0x00, 0x18}; /* NetBSD AF_INET6, BE */
    static const uint8_t af_inet6_28[] = {0x1c, 0x00, 0x00, 0x00}; /* FreeBSD AF_INET6 */
    static const uint8_t af_unix[] = {0x01, 0x00, 0x00, 0x00};     /* AF_UNIX: not IP */
    pkt_builder b = {.len = 0};
    ADD(&b, af_inet_le);
    add_ipv4_tcp(&b);
    expect_get(LINK_NULL, &b, 4);
    b.len = 0;
    ADD(&b, af_inet_be);
    add_ipv4_tcp(&b);
    expect_get(LINK_LOOP, &b, 4);
    const uint8_t *v6_families[] = {af_inet6_30, af_inet6_24, af_inet6_28};
    for (int i = 0; i < 3; i++) {
        b.len = 0;
        add(&b, v6_families[i], 4);
        add_ipv6_tcp(&b);
        expect_get(LINK_NULL, &b, 6);
    }
    b.len = 0;
    ADD(&b, af_unix);
    add_ipv4_tcp(&b);
    expect_skip(LINK_NULL, &b, ANOMALY_DECODE_L3_UNKNOWN);
}

static void raw_ip_link_types(void **state) {
    (void)state;
    pkt_builder b = {.len = 0};
    add_ipv4_tcp(&b);
    expect_get(LINK_RAW, &b, 4);
    expect_get(LINK_IPV4, &b, 4);
    expect_skip(LINK_IPV6, &b, ANOMALY_DECODE_IPV6_BAD_VERSION);
    b.len = 0;
    add_ipv6_tcp(&b);
    expect_get(LINK_RAW, &b, 6);
    expect_get(LINK_IPV6, &b, 6);
    expect_skip(LINK_IPV4, &b, ANOMALY_DECODE_IPV4_BAD_VERSION);
    expect_skip(12345, &b, ANOMALY_DECODE_LINKTYPE_UNSUPPORTED);
}

static void linux_cooked_captures(void **state) {
    (void)state;
    /* SLL: incoming unicast, ARPHRD_ETHER, address length 6, address + 2 pad, protocol IPv4 */
    static const uint8_t sll_ipv4[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00,
                                       0x5e, 0x00, 0x53, 0x02, 0x00, 0x00, 0x08, 0x00};
    /* SLL with protocol 802.1Q: the tag is still in the packet */
    static const uint8_t sll_vlan[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00,
                                       0x5e, 0x00, 0x53, 0x02, 0x00, 0x00, 0x81, 0x00};
    /* SLL2: protocol IPv6, reserved, interface 2, ARPHRD_ETHER, incoming, address length 6 */
    static const uint8_t sll2_ipv6[] = {0x86, 0xdd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01,
                                        0x00, 0x06, 0x00, 0x00, 0x5e, 0x00, 0x53, 0x02, 0x00, 0x00};
    pkt_builder b = {.len = 0};
    ADD(&b, sll_ipv4);
    add_ipv4_tcp(&b);
    expect_get(LINK_LINUX_SLL, &b, 4);
    b.len = 0;
    ADD(&b, sll_vlan);
    ADD(&b, tag100_ipv4);
    add_ipv4_tcp(&b);
    decoded_packet out = expect_get(LINK_LINUX_SLL, &b, 4);
    assert_int_equal(out.vlan_outer, 100);
    b.len = 0;
    ADD(&b, sll2_ipv6);
    add_ipv6_tcp(&b);
    expect_get(LINK_LINUX_SLL2, &b, 6);
}

/* 802.11 header fields after frame control: duration, three addresses, sequence control */
static const uint8_t wifi_rest[] = {0x00, 0x00, 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01,
                                    0x00, 0x00, 0x5e, 0x00, 0x53, 0x02, 0x00, 0x00,
                                    0x5e, 0x00, 0x53, 0x03, 0x10, 0x00};
/* LLC AA AA 03, SNAP OUI 000000, type IPv4 */
static const uint8_t llc_snap_ipv4[] = {0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00};

static void ieee80211_data_frames(void **state) {
    (void)state;
    static const uint8_t fc_data_to_ds[] = {0x08, 0x01};  /* data, ToDS */
    static const uint8_t fc_qos_from_ds[] = {0x88, 0x02}; /* QoS data, FromDS */
    static const uint8_t fc_qos_ht[] = {0x88, 0x82};      /* QoS data, FromDS, +HTC */
    static const uint8_t fc_wds[] = {0x08, 0x03};         /* data, ToDS and FromDS */
    static const uint8_t fc_protected[] = {0x08, 0x41};   /* data, ToDS, protected */
    static const uint8_t fc_beacon[] = {0x80, 0x00};      /* management: beacon */
    static const uint8_t fc_null[] = {0x48, 0x01};        /* null data (no body) */
    static const uint8_t qos_control[] = {0x00, 0x00};    /* TID 0 */
    static const uint8_t qos_amsdu[] = {0x80, 0x00};      /* A-MSDU present */
    static const uint8_t ht_control[] = {0x00, 0x00, 0x00, 0x00};
    static const uint8_t addr4[] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x04};
    /* radiotap: version 0, length 12, present = rate, rate 6 Mb/s, 3 pad */
    static const uint8_t radiotap[] = {0x00, 0x00, 0x0c, 0x00, 0x04, 0x00,
                                       0x00, 0x00, 0x0c, 0x00, 0x00, 0x00};

    pkt_builder b = {.len = 0};
    ADD(&b, fc_data_to_ds);
    ADD(&b, wifi_rest);
    ADD(&b, llc_snap_ipv4);
    add_ipv4_tcp(&b);
    expect_get(LINK_IEEE802_11, &b, 4);

    pkt_builder rt = {.len = 0};
    ADD(&rt, radiotap);
    add(&rt, b.bytes, b.len);
    expect_get(LINK_IEEE802_11_RADIOTAP, &rt, 4);

    b.len = 0;
    ADD(&b, fc_qos_from_ds);
    ADD(&b, wifi_rest);
    ADD(&b, qos_control);
    ADD(&b, llc_snap_ipv4);
    add_ipv4_tcp(&b);
    expect_get(LINK_IEEE802_11, &b, 4);

    b.len = 0;
    ADD(&b, fc_qos_ht);
    ADD(&b, wifi_rest);
    ADD(&b, qos_control);
    ADD(&b, ht_control);
    ADD(&b, llc_snap_ipv4);
    add_ipv4_tcp(&b);
    expect_get(LINK_IEEE802_11, &b, 4);

    b.len = 0;
    ADD(&b, fc_wds);
    ADD(&b, wifi_rest);
    ADD(&b, addr4);
    ADD(&b, llc_snap_ipv4);
    add_ipv4_tcp(&b);
    expect_get(LINK_IEEE802_11, &b, 4);

    b.len = 0;
    ADD(&b, fc_qos_from_ds);
    ADD(&b, wifi_rest);
    ADD(&b, qos_amsdu);
    ADD(&b, llc_snap_ipv4);
    add_ipv4_tcp(&b);
    expect_skip(LINK_IEEE802_11, &b, ANOMALY_DECODE_L3_UNKNOWN);

    /* protected, management and null frames are skipped without an anomaly */
    const uint8_t *quiet[] = {fc_protected, fc_beacon, fc_null};
    for (int i = 0; i < 3; i++) {
        b.len = 0;
        add(&b, quiet[i], 2);
        ADD(&b, wifi_rest);
        ADD(&b, llc_snap_ipv4);
        add_ipv4_tcp(&b);
        expect_skip(LINK_IEEE802_11, &b, ANOMALY_COUNT);
    }

    /* radiotap length beyond the packet */
    static const uint8_t radiotap_too_long[] = {0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00};
    b.len = 0;
    ADD(&b, radiotap_too_long);
    expect_skip(LINK_IEEE802_11_RADIOTAP, &b, ANOMALY_DECODE_RADIOTAP_TRUNCATED);
}

static void nflog_tlvs(void **state) {
    (void)state;
    /* NFLOG header: AF_INET, version 0, resource id 0 */
    static const uint8_t nflog_inet[] = {0x02, 0x00, 0x00, 0x00};
    /* TLV length 8, type 10 (NFULA_PREFIX), "http" */
    static const uint8_t tlv_prefix[] = {0x08, 0x00, 0x0a, 0x00, 'h', 't', 't', 'p'};
    /* TLV length 5, type 1 (NFULA_PACKET_HDR), 1 value byte + 3 padding */
    static const uint8_t tlv_odd[] = {0x05, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00};
    /* TLV length 48 (4 + 44), type 9 (NFULA_PAYLOAD): the IP packet follows */
    static const uint8_t tlv_payload_le[] = {0x30, 0x00, 0x09, 0x00};
    /* the same TLVs from a big-endian host */
    static const uint8_t tlv_prefix_be[] = {0x00, 0x08, 0x00, 0x0a, 'h', 't', 't', 'p'};
    static const uint8_t tlv_payload_be[] = {0x00, 0x30, 0x00, 0x09};
    /* TLV whose length runs past the packet */
    static const uint8_t tlv_too_long[] = {0xf0, 0x00, 0x0a, 0x00};

    pkt_builder b = {.len = 0};
    ADD(&b, nflog_inet);
    ADD(&b, tlv_prefix);
    ADD(&b, tlv_odd);
    ADD(&b, tlv_payload_le);
    add_ipv4_tcp(&b);
    expect_get(LINK_NFLOG, &b, 4);

    b.len = 0;
    ADD(&b, nflog_inet);
    ADD(&b, tlv_prefix_be);
    ADD(&b, tlv_payload_be);
    add_ipv4_tcp(&b);
    expect_get(LINK_NFLOG, &b, 4);

    b.len = 0;
    ADD(&b, nflog_inet);
    ADD(&b, tlv_too_long);
    ADD(&b, tlv_prefix);
    expect_skip(LINK_NFLOG, &b, ANOMALY_DECODE_NFLOG_TRUNCATED);

    b.len = 0;
    ADD(&b, nflog_inet);
    ADD(&b, tlv_prefix);
    expect_skip(LINK_NFLOG, &b, ANOMALY_DECODE_L3_UNKNOWN);
}

static void cisco_hdlc(void **state) {
    (void)state;
    static const uint8_t chdlc_ipv4[] = {0x0f, 0x00, 0x08, 0x00}; /* unicast, IPv4 */
    static const uint8_t chdlc_ipv6[] = {0x8f, 0x00, 0x86, 0xdd}; /* multicast, IPv6 */
    static const uint8_t chdlc_slarp[] = {0x8f, 0x00, 0x80, 0x35, 0, 0, 0, 0};
    pkt_builder b = {.len = 0};
    ADD(&b, chdlc_ipv4);
    add_ipv4_tcp(&b);
    expect_get(LINK_CHDLC, &b, 4);
    b.len = 0;
    ADD(&b, chdlc_ipv6);
    add_ipv6_tcp(&b);
    expect_get(LINK_CHDLC, &b, 6);
    b.len = 0;
    ADD(&b, chdlc_slarp);
    expect_skip(LINK_CHDLC, &b, ANOMALY_DECODE_L3_UNKNOWN);
}

/* ---------------------------------------------------------------- encapsulations */

static void gre_variants(void **state) {
    (void)state;
    static const uint8_t gre_ipv4[] = {0x00, 0x00, 0x08, 0x00}; /* no options, IPv4 */
    static const uint8_t gre_ipv6[] = {0x00, 0x00, 0x86, 0xdd}; /* no options, IPv6 */
    /* C, K and S set: checksum + reserved, key 0x0000002a, sequence 7; IPv4 */
    static const uint8_t gre_cks_ipv4[] = {0xb0, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
                                           0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x07};
    /* K set, transparent Ethernet bridging */
    static const uint8_t gre_teb[] = {0x20, 0x00, 0x65, 0x58, 0x00, 0x00, 0x00, 0x01};
    /* routing bit set (RFC 1701 source route): unsupported */
    static const uint8_t gre_routing[] = {0x40, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00};
    /* version 1 (PPTP), PPP payload: unsupported */
    static const uint8_t gre_pptp[] = {0x30, 0x01, 0x88, 0x0b, 0x00, 0x00,
                                       0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
    /* protocol 0x86dc: unknown */
    static const uint8_t gre_unknown[] = {0x00, 0x00, 0x86, 0xdc};

    pkt_builder b = {.len = 0};
    add_outer_ipv4(&b, 47, sizeof gre_ipv4 + 44);
    ADD(&b, gre_ipv4);
    add_ipv4_tcp(&b);
    decoded_packet out = expect_get(LINK_RAW, &b, 4);
    assert_int_equal(out.tunnel_depth, 1);
    assert_ptr_equal(out.l3, b.bytes + 24);

    b.len = 0;
    add_outer_ipv4(&b, 47, sizeof gre_ipv6 + 64);
    ADD(&b, gre_ipv6);
    add_ipv6_tcp(&b);
    expect_get(LINK_RAW, &b, 6);

    b.len = 0;
    add_outer_ipv4(&b, 47, sizeof gre_cks_ipv4 + 44);
    ADD(&b, gre_cks_ipv4);
    add_ipv4_tcp(&b);
    expect_get(LINK_RAW, &b, 4);

    b.len = 0;
    add_outer_ipv4(&b, 47, sizeof gre_teb + 14 + 4 + 44);
    ADD(&b, gre_teb);
    ADD(&b, eth_8021q);
    ADD(&b, tag100_ipv4);
    add_ipv4_tcp(&b);
    out = expect_get(LINK_RAW, &b, 4);
    assert_int_equal(out.vlan_outer, 100);

    const uint8_t *unsupported[] = {gre_routing, gre_pptp, gre_unknown};
    const size_t unsupported_len[] = {sizeof gre_routing, sizeof gre_pptp, sizeof gre_unknown};
    for (int i = 0; i < 3; i++) {
        b.len = 0;
        add_outer_ipv4(&b, 47, unsupported_len[i] + 44);
        add(&b, unsupported[i], unsupported_len[i]);
        add_ipv4_tcp(&b);
        expect_skip(LINK_RAW, &b, ANOMALY_DECODE_GRE_UNSUPPORTED);
    }
}

static void erspan_types(void **state) {
    (void)state;
    /* GRE with S set, protocol ERSPAN II (0x88be), sequence 1 */
    static const uint8_t gre_erspan2[] = {0x10, 0x00, 0x88, 0xbe, 0x00, 0x00, 0x00, 0x01};
    /* ERSPAN II: version 1, VLAN 100, COS 0, session 1; reserved, index 0 */
    static const uint8_t erspan2[] = {0x10, 0x64, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
    /* GRE without S, protocol 0x88be: ERSPAN type I, the frame follows directly */
    static const uint8_t gre_erspan1[] = {0x00, 0x00, 0x88, 0xbe};
    /* GRE with S set, protocol ERSPAN III (0x22eb), sequence 1 */
    static const uint8_t gre_erspan3[] = {0x10, 0x00, 0x22, 0xeb, 0x00, 0x00, 0x00, 0x01};
    /* ERSPAN III: version 2, VLAN 100, session 1, timestamp, SGT 0, FT 0 (Ethernet), O set */
    static const uint8_t erspan3_o[] = {0x20, 0x64, 0x00, 0x01, 0x00, 0x00,
                                        0x10, 0x00, 0x00, 0x00, 0x00, 0x01};
    /* platform-specific subheader (8 bytes) */
    static const uint8_t erspan3_platform[] = {0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    /* ERSPAN III without the subheader */
    static const uint8_t erspan3[] = {0x20, 0x64, 0x00, 0x01, 0x00, 0x00,
                                      0x10, 0x00, 0x00, 0x00, 0x00, 0x00};
    /* ERSPAN III with FT 2: an IP packet instead of a frame */
    static const uint8_t erspan3_ip[] = {0x20, 0x64, 0x00, 0x01, 0x00, 0x00,
                                         0x10, 0x00, 0x00, 0x00, 0x08, 0x00};

    pkt_builder b = {.len = 0};
    add_outer_ipv4(&b, 47, sizeof gre_erspan2 + sizeof erspan2 + 14 + 44);
    ADD(&b, gre_erspan2);
    ADD(&b, erspan2);
    ADD(&b, eth_ipv4);
    add_ipv4_tcp(&b);
    decoded_packet out = expect_get(LINK_RAW, &b, 4);
    assert_int_equal(out.tunnel_depth, 1);

    b.len = 0;
    add_outer_ipv4(&b, 47, sizeof gre_erspan1 + 14 + 44);
    ADD(&b, gre_erspan1);
    ADD(&b, eth_ipv4);
    add_ipv4_tcp(&b);
    expect_get(LINK_RAW, &b, 4);

    b.len = 0;
    add_outer_ipv4(&b, 47, sizeof gre_erspan3 + sizeof erspan3_o + 8 + 14 + 44);
    ADD(&b, gre_erspan3);
    ADD(&b, erspan3_o);
    ADD(&b, erspan3_platform);
    ADD(&b, eth_ipv4);
    add_ipv4_tcp(&b);
    expect_get(LINK_RAW, &b, 4);

    b.len = 0;
    add_outer_ipv4(&b, 47, sizeof gre_erspan3 + sizeof erspan3 + 14 + 44);
    ADD(&b, gre_erspan3);
    ADD(&b, erspan3);
    ADD(&b, eth_ipv4);
    add_ipv4_tcp(&b);
    expect_get(LINK_RAW, &b, 4);

    b.len = 0;
    add_outer_ipv4(&b, 47, sizeof gre_erspan3 + sizeof erspan3_ip + 44);
    ADD(&b, gre_erspan3);
    ADD(&b, erspan3_ip);
    add_ipv4_tcp(&b);
    expect_get(LINK_RAW, &b, 4);

    /* an ERSPAN II header with version 2 is refused */
    b.len = 0;
    add_outer_ipv4(&b, 47, sizeof gre_erspan2 + sizeof erspan3 + 14 + 44);
    ADD(&b, gre_erspan2);
    ADD(&b, erspan3);
    ADD(&b, eth_ipv4);
    add_ipv4_tcp(&b);
    expect_skip(LINK_RAW, &b, ANOMALY_DECODE_GRE_UNSUPPORTED);
}

static void vxlan_on_udp_4789(void **state) {
    (void)state;
    /* VXLAN: I flag, VNI 100 */
    static const uint8_t vxlan[] = {0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00};
    /* no I flag: not VXLAN, plain UDP */
    static const uint8_t not_vxlan[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00};
    pkt_builder b = {.len = 0};
    add_outer_ipv4(&b, 17, 8 + 8 + 14 + 44);
    add_udp(&b, 49152, 4789, 8 + 14 + 44);
    ADD(&b, vxlan);
    ADD(&b, eth_ipv4);
    add_ipv4_tcp(&b);
    decoded_packet out = expect_get(LINK_RAW, &b, 4);
    assert_int_equal(out.tunnel_depth, 1);

    b.len = 0;
    add_outer_ipv4(&b, 17, 8 + 8 + 14 + 44);
    add_udp(&b, 49152, 4789, 8 + 14 + 44);
    ADD(&b, not_vxlan);
    ADD(&b, eth_ipv4);
    add_ipv4_tcp(&b);
    anomaly_counters anomalies = {0};
    assert_int_equal(decode_built(LINK_RAW, &b, &out, &anomalies), AS_OK);
    assert_int_equal(out.ip_proto, 17);
    assert_int_equal(out.dst_port, 4789);
    assert_int_equal(out.payload_len, 8 + 14 + 44);
    assert_int_equal(out.tunnel_depth, 0);
}

static void teredo_only_when_ipv6_inside(void **state) {
    (void)state;
    /* origin indication: port and address (obfuscated) */
    static const uint8_t origin[] = {0x00, 0x00, 0x63, 0xbf, 0x3f, 0xff, 0xfd, 0xfe};
    /* authentication: id length 1, auth length 2, id, auth, nonce (8), confirmation */
    static const uint8_t auth[] = {0x00, 0x01, 0x01, 0x02, 0xaa, 0xbb, 0xcc, 0x01,
                                   0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00};
    /* IPv6 2001:0:4137:9e50::2 (a Teredo address) -> 2001:db8:2::80, payload 24, TCP */
    static const uint8_t ipv6_teredo_src[] = {
        0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x06, 0x40, 0x20, 0x01, 0x00, 0x00, 0x41, 0x37,
        0x9e, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8,
        0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80};

    pkt_builder b = {.len = 0};
    add_outer_ipv4(&b, 17, 8 + 8 + 64);
    add_udp(&b, 3544, 40000, 8 + 64);
    ADD(&b, origin);
    add_ipv6_tcp(&b);
    decoded_packet out = expect_get(LINK_RAW, &b, 6);
    assert_int_equal(out.tunnel_depth, 1);

    b.len = 0;
    add_outer_ipv4(&b, 17, 8 + sizeof auth + 8 + 64);
    add_udp(&b, 40000, 3544, sizeof auth + 8 + 64);
    ADD(&b, auth);
    ADD(&b, origin);
    add_ipv6_tcp(&b);
    expect_get(LINK_RAW, &b, 6);

    /* a relay on another port: recognised because an address is a Teredo address */
    b.len = 0;
    add_outer_ipv4(&b, 17, 8 + 64);
    add_udp(&b, 32900, 3797, 64);
    ADD(&b, ipv6_teredo_src);
    ADD(&b, tcp_get);
    anomaly_counters anomalies = {0};
    assert_int_equal(decode_built(LINK_RAW, &b, &out, &anomalies), AS_OK);
    assert_int_equal(out.ip_proto, 6);
    assert_int_equal(out.tunnel_depth, 1);
    assert_int_equal(out.payload_len, 4);
    char src[64];
    assert_string_equal(ip_address_format(&out.src, src, sizeof src), "2001:0:4137:9e50::2");

    /* the same without a Teredo address on other ports stays plain UDP */
    b.len = 0;
    add_outer_ipv4(&b, 17, 8 + 64);
    add_udp(&b, 32900, 3797, 64);
    add_ipv6_tcp(&b);
    assert_int_equal(decode_built(LINK_RAW, &b, &out, &anomalies), AS_OK);
    assert_int_equal(out.ip_proto, 17);
    assert_int_equal(out.payload_len, 64);

    /* port 3544 carrying something else (a DNS-like payload) stays plain UDP */
    static const uint8_t not_ipv6[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01,
                                       0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    b.len = 0;
    add_outer_ipv4(&b, 17, 8 + sizeof not_ipv6);
    add_udp(&b, 3544, 53, sizeof not_ipv6);
    ADD(&b, not_ipv6);
    assert_int_equal(decode_built(LINK_RAW, &b, &out, &anomalies), AS_OK);
    assert_int_equal(out.ip_proto, 17);
    assert_int_equal(out.tunnel_depth, 0);
    assert_int_equal(anomaly_total(&anomalies), 0);
}

static void ip_in_ip_and_depth_bound(void **state) {
    (void)state;
    pkt_builder b = {.len = 0};
    add_outer_ipv4(&b, 4, 44);
    add_ipv4_tcp(&b);
    decoded_packet out = expect_get(LINK_RAW, &b, 4);
    assert_int_equal(out.tunnel_depth, 1);

    b.len = 0;
    add_outer_ipv4(&b, 41, 64);
    add_ipv6_tcp(&b);
    expect_get(LINK_RAW, &b, 6);

    /* four encapsulations are fine, five are too deep */
    for (int depth = 4; depth <= 5; depth++) {
        b.len = 0;
        for (int i = 0; i < depth; i++)
            add_outer_ipv4(&b, 4, (size_t)(depth - i - 1) * 20 + 44);
        add_ipv4_tcp(&b);
        if (depth == 4)
            assert_int_equal(expect_get(LINK_RAW, &b, 4).tunnel_depth, 4);
        else
            expect_skip(LINK_RAW, &b, ANOMALY_DECODE_TUNNEL_TOO_DEEP);
    }
}

/* ---------------------------------------------------------------- IPv6 extension headers */

static void ipv6_extension_headers(void **state) {
    (void)state;
    /* IPv6 2001:db8:1::2 -> 2001:db8:2::80, payload length 68, next header hop-by-hop */
    static const uint8_t ipv6_hbh[] = {0x60, 0x00, 0x00, 0x00, 0x00, 0x44, 0x00, 0x40, 0x20, 0x01,
                                       0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                       0x00, 0x00, 0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02,
                                       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80};
    /* hop-by-hop: next destination options, length 0 (8 bytes), PadN 4 */
    static const uint8_t hop_by_hop[] = {0x3c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00};
    /* destination options: next routing, length 0, PadN 4 */
    static const uint8_t destination[] = {0x2b, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00};
    /* routing: next AH, length 0, type 0, segments left 0, reserved */
    static const uint8_t routing[] = {0x33, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    /* AH: next fragment, payload length 1 ((1 + 2) * 4 = 12 bytes), SPI, sequence */
    static const uint8_t ah[] = {0x2c, 0x01, 0x00, 0x00, 0x00, 0x00,
                                 0x01, 0x00, 0x00, 0x00, 0x00, 0x05};
    /* fragment: next TCP, offset 0, M = 0 (an atomic fragment), id 0x99 */
    static const uint8_t atomic_fragment[] = {0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x99};
    /* fragment: next TCP, offset 0, M = 1: a real fragment */
    static const uint8_t first_fragment[] = {0x06, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x99};

    pkt_builder b = {.len = 0};
    ADD(&b, ipv6_hbh);
    ADD(&b, hop_by_hop);
    ADD(&b, destination);
    ADD(&b, routing);
    ADD(&b, ah);
    ADD(&b, atomic_fragment);
    ADD(&b, tcp_get);
    decoded_packet out = expect_get(LINK_RAW, &b, 6);
    assert_int_equal(out.l3_len, 108);

    b.len = 0;
    ADD(&b, ipv6_hbh);
    ADD(&b, hop_by_hop);
    ADD(&b, destination);
    ADD(&b, routing);
    ADD(&b, ah);
    ADD(&b, first_fragment);
    ADD(&b, tcp_get);
    expect_skip(LINK_RAW, &b, ANOMALY_DECODE_IPV6_FRAGMENT);

    /* ESP (50) and no next header (59) cannot be analysed */
    uint8_t ipv6_esp[sizeof ipv6_tcp_header];
    memcpy(ipv6_esp, ipv6_tcp_header, sizeof ipv6_esp);
    ipv6_esp[6] = 50;
    b.len = 0;
    ADD(&b, ipv6_esp);
    ADD(&b, tcp_get);
    expect_skip(LINK_RAW, &b, ANOMALY_DECODE_L4_OTHER);
    ipv6_esp[6] = 59;
    b.len = 0;
    ADD(&b, ipv6_esp);
    ADD(&b, tcp_get);
    expect_skip(LINK_RAW, &b, ANOMALY_DECODE_L4_OTHER);

    /* nine destination option headers: beyond the bound */
    static const uint8_t destination_again[] = {0x3c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t destination_last[] = {0x06, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00};
    uint8_t ipv6_many[sizeof ipv6_tcp_header];
    memcpy(ipv6_many, ipv6_tcp_header, sizeof ipv6_many);
    ipv6_many[5] = 9 * 8 + 24;
    ipv6_many[6] = 60;
    b.len = 0;
    ADD(&b, ipv6_many);
    for (int i = 0; i < 8; i++)
        ADD(&b, destination_again);
    ADD(&b, destination_last);
    ADD(&b, tcp_get);
    expect_skip(LINK_RAW, &b, ANOMALY_DECODE_IPV6_BAD_EXTHDR);

    /* an extension header longer than the payload length says */
    static const uint8_t long_destination[] = {0x06, 0x10, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00};
    memcpy(ipv6_many, ipv6_tcp_header, sizeof ipv6_many);
    ipv6_many[5] = 8 + 24;
    ipv6_many[6] = 60;
    b.len = 0;
    ADD(&b, ipv6_many);
    ADD(&b, long_destination);
    ADD(&b, tcp_get);
    expect_skip(LINK_RAW, &b, ANOMALY_DECODE_IPV6_BAD_EXTHDR);
}

/* ---------------------------------------------------------------- IPv4, TCP, UDP */

static void malformed_ipv4_and_transport(void **state) {
    (void)state;
    uint8_t ip[sizeof ipv4_tcp_header];
    pkt_builder b;

    memcpy(ip, ipv4_tcp_header, sizeof ip);
    ip[0] = 0x44; /* header length 16 */
    b.len = 0;
    ADD(&b, ip);
    ADD(&b, tcp_get);
    expect_skip(LINK_IPV4, &b, ANOMALY_DECODE_IPV4_BAD_HLEN);

    memcpy(ip, ipv4_tcp_header, sizeof ip);
    ip[3] = 19; /* total length shorter than the header */
    b.len = 0;
    ADD(&b, ip);
    ADD(&b, tcp_get);
    expect_skip(LINK_IPV4, &b, ANOMALY_DECODE_IPV4_BAD_TOTLEN);

    memcpy(ip, ipv4_tcp_header, sizeof ip);
    ip[3] = 100; /* total length beyond a frame that was captured whole */
    b.len = 0;
    ADD(&b, ip);
    ADD(&b, tcp_get);
    expect_skip(LINK_IPV4, &b, ANOMALY_DECODE_IPV4_BAD_TOTLEN);

    memcpy(ip, ipv4_tcp_header, sizeof ip);
    ip[2] = ip[3] = 0; /* total length 0: segmentation offload, use the captured length */
    b.len = 0;
    ADD(&b, ip);
    ADD(&b, tcp_get);
    expect_get(LINK_IPV4, &b, 4);

    uint8_t tcp[sizeof tcp_get];
    memcpy(tcp, tcp_get, sizeof tcp);
    tcp[12] = 0x40; /* data offset 4 */
    b.len = 0;
    ADD(&b, ipv4_tcp_header);
    ADD(&b, tcp);
    expect_skip(LINK_IPV4, &b, ANOMALY_DECODE_TCP_BAD_HLEN);
    tcp[12] = 0xf0; /* data offset 15: 60 bytes, more than the segment */
    b.len = 0;
    ADD(&b, ipv4_tcp_header);
    ADD(&b, tcp);
    expect_skip(LINK_IPV4, &b, ANOMALY_DECODE_TCP_BAD_HLEN);

    /* TCP with 12 bytes of options (data offset 8): "GET " after them */
    static const uint8_t tcp_options[] = {0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00,
                                          0x00, 0x07, 0xd0, 0x80, 0x18, 0xff, 0xff, 0x00, 0x00,
                                          0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x00,
                                          0x01, 0x00, 0x00, 0x00, 0x02, 'G',  'E',  'T',  ' '};
    memcpy(ip, ipv4_tcp_header, sizeof ip);
    ip[3] = 20 + sizeof tcp_options;
    b.len = 0;
    ADD(&b, ip);
    ADD(&b, tcp_options);
    decoded_packet out = expect_get(LINK_IPV4, &b, 4);
    assert_int_equal(out.l3_len, 56);

    /* UDP 5353 -> 53 with 4 bytes; the UDP length trims trailing bytes */
    b.len = 0;
    add_outer_ipv4(&b, 17, 8 + 4);
    add_udp(&b, 5353, 53, 4);
    static const uint8_t udp_payload[] = {'d', 'n', 's', '!'};
    ADD(&b, udp_payload);
    anomaly_counters anomalies = {0};
    assert_int_equal(decode_built(LINK_IPV4, &b, &out, &anomalies), AS_OK);
    assert_int_equal(out.ip_proto, 17);
    assert_int_equal(out.src_port, 5353);
    assert_int_equal(out.payload_len, 4);
    assert_memory_equal(out.payload, "dns!", 4);
    b.bytes[20 + 5] = 7; /* UDP length 7 < 8 */
    expect_skip(LINK_IPV4, &b, ANOMALY_DECODE_UDP_TRUNCATED);

    /* ICMP echo: another transport */
    static const uint8_t icmp_echo[] = {0x08, 0x00, 0xf7, 0xff, 0x00, 0x00, 0x00, 0x00};
    b.len = 0;
    add_outer_ipv4(&b, 1, sizeof icmp_echo);
    ADD(&b, icmp_echo);
    expect_skip(LINK_IPV4, &b, ANOMALY_DECODE_L4_OTHER);
}

static void snaplen_cut_payload(void **state) {
    (void)state;
    /* IPv4 + TCP with 1000 bytes of payload, captured with snaplen 96 (42 payload bytes) */
    uint8_t packet[14 + 20 + 20 + 1000] = {0};
    memcpy(packet, eth_ipv4, sizeof eth_ipv4);
    memcpy(packet + 14, ipv4_tcp_header, sizeof ipv4_tcp_header);
    memcpy(packet + 34, tcp_get, 20);
    packet[14 + 2] = (uint8_t)(1040 >> 8);
    packet[14 + 3] = (uint8_t)1040;
    memcpy(packet + 54, "GET /api/v1/snap HTTP/1.1", 25);
    uint8_t *cut = malloc(96);
    assert_non_null(cut);
    memcpy(cut, packet, 96);
    decoded_packet out;
    anomaly_counters anomalies = {0};
    assert_int_equal(decode_with(LINK_ETHERNET, cut, 96, sizeof packet, &out, &anomalies), AS_OK);
    assert_int_equal(out.payload_len, 42);
    assert_int_equal(out.payload_wire_len, 1000);
    assert_int_equal(out.l3_len, 82);
    assert_ptr_equal(out.payload, cut + 54);
    assert_int_equal(anomalies.count[ANOMALY_DECODE_PAYLOAD_CAPLEN], 1);
    free(cut);
}

/* ---------------------------------------------------------------- truncation at every length */

typedef struct sample {
    uint32_t linktype;
    pkt_builder packet;
} sample;

/* Every well-formed crafted packet above, for the truncation sweep. */
static size_t build_samples(sample *samples, size_t max) {
    size_t n = 0;
    pkt_builder *b;
#define SAMPLE(type)                                                                               \
    do {                                                                                           \
        assert_true(n < max);                                                                      \
        samples[n].linktype = (type);                                                              \
        samples[n].packet.len = 0;                                                                 \
        b = &samples[n++].packet;                                                                  \
    } while (0)
    SAMPLE(LINK_ETHERNET);
    ADD(b, eth_8021ad);
    ADD(b, tag200_8021q);
    ADD(b, tag300_ipv4);
    add_ipv4_tcp(b);
    SAMPLE(LINK_ETHERNET);
    ADD(b, eth_ipv6);
    add_ipv6_tcp(b);
    SAMPLE(LINK_ETHERNET);
    ADD(b, eth_llc_snap_ipv4);
    add_ipv4_tcp(b);
    SAMPLE(LINK_ETHERNET);
    static const uint8_t two_labels[] = {0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40};
    ADD(b, eth_mpls);
    ADD(b, two_labels);
    add_ipv4_tcp(b);
    SAMPLE(LINK_ETHERNET);
    static const uint8_t pppoe_ipv4[] = {0x11, 0x00, 0x00, 0x2d, 0x00, 0x2e, 0x00, 0x21};
    ADD(b, eth_pppoe);
    ADD(b, pppoe_ipv4);
    add_ipv4_tcp(b);
    SAMPLE(LINK_NULL);
    static const uint8_t af_inet_le[] = {0x02, 0x00, 0x00, 0x00};
    ADD(b, af_inet_le);
    add_ipv4_tcp(b);
    SAMPLE(LINK_LINUX_SLL);
    static const uint8_t sll_ipv4[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00,
                                       0x5e, 0x00, 0x53, 0x02, 0x00, 0x00, 0x08, 0x00};
    ADD(b, sll_ipv4);
    add_ipv4_tcp(b);
    SAMPLE(LINK_LINUX_SLL2);
    static const uint8_t sll2_ipv6[] = {0x86, 0xdd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01,
                                        0x00, 0x06, 0x00, 0x00, 0x5e, 0x00, 0x53, 0x02, 0x00, 0x00};
    ADD(b, sll2_ipv6);
    add_ipv6_tcp(b);
    SAMPLE(LINK_IEEE802_11_RADIOTAP);
    static const uint8_t radiotap[] = {0x00, 0x00, 0x0c, 0x00, 0x04, 0x00,
                                       0x00, 0x00, 0x0c, 0x00, 0x00, 0x00};
    static const uint8_t fc_qos_ht[] = {0x88, 0x82};
    static const uint8_t qos_and_ht[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    ADD(b, radiotap);
    ADD(b, fc_qos_ht);
    ADD(b, wifi_rest);
    ADD(b, qos_and_ht);
    ADD(b, llc_snap_ipv4);
    add_ipv4_tcp(b);
    SAMPLE(LINK_NFLOG);
    static const uint8_t nflog_with_prefix_and_payload_tlv[] = {
        0x02, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0a, 0x00, 'h', 't', 't', 'p', 0x30, 0x00, 0x09, 0x00};
    ADD(b, nflog_with_prefix_and_payload_tlv);
    add_ipv4_tcp(b);
    SAMPLE(LINK_CHDLC);
    static const uint8_t chdlc_ipv4[] = {0x0f, 0x00, 0x08, 0x00};
    ADD(b, chdlc_ipv4);
    add_ipv4_tcp(b);
    SAMPLE(LINK_RAW);
    static const uint8_t gre_cks_teb[] = {0xb0, 0x00, 0x65, 0x58, 0x00, 0x00, 0x00, 0x00,
                                          0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x07};
    add_outer_ipv4(b, 47, sizeof gre_cks_teb + 14 + 44);
    ADD(b, gre_cks_teb);
    ADD(b, eth_ipv4);
    add_ipv4_tcp(b);
    SAMPLE(LINK_RAW);
    static const uint8_t gre_erspan3[] = {0x10, 0x00, 0x22, 0xeb, 0x00, 0x00, 0x00, 0x01};
    static const uint8_t erspan3_o_platform[] = {0x20, 0x64, 0x00, 0x01, 0x00, 0x00, 0x10,
                                                 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
                                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    add_outer_ipv4(b, 47, sizeof gre_erspan3 + sizeof erspan3_o_platform + 14 + 44);
    ADD(b, gre_erspan3);
    ADD(b, erspan3_o_platform);
    ADD(b, eth_ipv4);
    add_ipv4_tcp(b);
    SAMPLE(LINK_RAW);
    static const uint8_t vxlan[] = {0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00};
    add_outer_ipv4(b, 17, 8 + 8 + 14 + 44);
    add_udp(b, 49152, 4789, 8 + 14 + 44);
    ADD(b, vxlan);
    ADD(b, eth_ipv4);
    add_ipv4_tcp(b);
    SAMPLE(LINK_RAW);
    static const uint8_t teredo_auth_origin[] = {0x00, 0x01, 0x01, 0x02, 0xaa, 0xbb, 0xcc, 0x01,
                                                 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00,
                                                 0x00, 0x00, 0x63, 0xbf, 0x3f, 0xff, 0xfd, 0xfe};
    add_outer_ipv4(b, 17, 8 + sizeof teredo_auth_origin + 64);
    add_udp(b, 40000, 3544, sizeof teredo_auth_origin + 64);
    ADD(b, teredo_auth_origin);
    add_ipv6_tcp(b);
    SAMPLE(LINK_RAW);
    static const uint8_t ipv6_hbh_frag[] = {
        0x60, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,
        /* hop-by-hop: next fragment, PadN */
        0x2c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,
        /* atomic fragment: next TCP */
        0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x99};
    ADD(b, ipv6_hbh_frag);
    ADD(b, tcp_get);
    SAMPLE(LINK_RAW);
    add_outer_ipv4(b, 41, 64);
    add_ipv6_tcp(b);
#undef SAMPLE
    return n;
}

static void truncation_at_every_length(void **state) {
    (void)state;
    sample samples[32];
    size_t count = build_samples(samples, 32);
    for (size_t s = 0; s < count; s++) {
        const pkt_builder *full = &samples[s].packet;
        decoded_packet out;
        anomaly_counters anomalies = {0};
        if (decode_built(samples[s].linktype, full, &out, &anomalies) != AS_OK)
            fail_msg("sample %zu does not decode", s);
        assert_tcp_get(&out, out.l3[0] >> 4);
        for (size_t len = 0; len < full->len; len++) {
            uint8_t *exact = malloc(len ? len : 1);
            assert_non_null(exact);
            memcpy(exact, full->bytes, len);
            /* a frame that is simply short: malformed, skipped and counted */
            anomaly_counters before = {0};
            as_status status = decode_with(samples[s].linktype, exact, len, len, &out, &before);
            if (status != AS_SKIP || anomaly_total(&before) == 0)
                fail_msg("sample %zu cut to %zu: %s without anomaly", s, len, status_name(status));
            /* a frame cut by the snaplen: may decode, never reads past caplen */
            anomaly_counters cut = {0};
            status = decode_with(samples[s].linktype, exact, len, full->len, &out, &cut);
            if (status == AS_OK) {
                assert_true(out.payload_len <= out.payload_wire_len);
                assert_true(out.payload >= exact && out.payload + out.payload_len <= exact + len);
                assert_true(out.l3 >= exact && out.l3 + out.l3_len <= exact + len);
            }
            free(exact);
        }
    }
}

/* ---------------------------------------------------------------- fragments through the decoder */

static void ipv4_fragments_are_reassembled(void **state) {
    (void)state;
    /* "GET " segment (24 bytes TCP) split into 16 + 8 payload bytes; last fragment first */
    uint8_t second[20 + 8], first[20 + 16];
    memcpy(second, ipv4_tcp_header, 20);
    second[3] = 28;
    second[6] = 0x00;
    second[7] = 0x02; /* offset 2 * 8 = 16, MF = 0 */
    memcpy(second + 20, tcp_get + 16, 8);
    memcpy(first, ipv4_tcp_header, 20);
    first[3] = 36;
    first[6] = 0x20;
    first[7] = 0x00; /* offset 0, MF = 1 */
    memcpy(first + 20, tcp_get, 16);

    decoded_packet out;
    anomaly_counters anomalies = {0};
    assert_int_equal(decode_with(LINK_IPV4, second, sizeof second, sizeof second, &out, &anomalies),
                     AS_SKIP);
    assert_int_equal(decoder_fragments_held(test_decoder), 1);
    assert_int_equal(decode_with(LINK_IPV4, first, sizeof first, sizeof first, &out, &anomalies),
                     AS_OK);
    assert_tcp_get(&out, 4);
    assert_int_equal(out.l3_len, 44);
    assert_int_equal(out.reassembled, 1);
    assert_int_equal(decoder_fragments_held(test_decoder), 0);
    assert_int_equal(anomaly_total(&anomalies), 0);

    /* a held fragment expires in packet time */
    assert_int_equal(decode_with(LINK_IPV4, second, sizeof second, sizeof second, &out, &anomalies),
                     AS_SKIP);
    decoder_expire(test_decoder, UINT64_C(1700000000000000000) + UINT64_C(29000000000), &anomalies);
    assert_int_equal(decoder_fragments_held(test_decoder), 1);
    decoder_expire(test_decoder, UINT64_C(1700000000000000000) + UINT64_C(31000000000), &anomalies);
    assert_int_equal(decoder_fragments_held(test_decoder), 0);
    assert_int_equal(anomalies.count[ANOMALY_IPFRAG_TIMEOUT], 1);

    /* a fragment cut by the snaplen cannot be reassembled */
    anomaly_counters cut = {0};
    assert_int_equal(decode_with(LINK_IPV4, first, sizeof first - 4, sizeof first, &out, &cut),
                     AS_SKIP);
    assert_int_equal(cut.count[ANOMALY_DECODE_PAYLOAD_CAPLEN], 1);
}

/* ---------------------------------------------------------------- addresses */

static void address_text_forms(void **state) {
    (void)state;
    char buf[46];
    ip_address v4 = {.family = 4, .bytes = {192, 0, 2, 1}};
    assert_string_equal(ip_address_format(&v4, buf, sizeof buf), "192.0.2.1");
    ip_address octets = {.family = 4, .bytes = {0, 9, 10, 255}};
    assert_string_equal(ip_address_format(&octets, buf, sizeof buf), "0.9.10.255");
    ip_address widest = {.family = 4, .bytes = {100, 199, 250, 99}};
    char exact[16];
    assert_string_equal(ip_address_format(&widest, exact, sizeof exact), "100.199.250.99");
    ip_address v6 = {.family = 6,
                     .bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
    assert_string_equal(ip_address_format(&v6, buf, sizeof buf), "2001:db8:1::2");
    ip_address mapped = {.family = 6,
                         .bytes = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1}};
    assert_string_equal(ip_address_format(&mapped, buf, sizeof buf), "::ffff:10.0.0.1");
    /* RFC 5952: the first of two equal zero runs is shortened, lower case */
    ip_address runs = {.family = 6,
                       .bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xab, 0xcd}};
    assert_string_equal(ip_address_format(&runs, buf, sizeof buf), "2001:db8::1:0:0:abcd");
    ip_address none = {0};
    assert_string_equal(ip_address_format(&none, buf, sizeof buf), "");
    char tiny[4];
    assert_string_equal(ip_address_format(&v4, tiny, sizeof tiny), "");
}

/* ---------------------------------------------------------------- shared captures */

typedef struct file_result {
    uint64_t packets, tcp, tunnels, reassembled, vlan_ids[3];
} file_result;

static file_result decode_file(const char *path) {
    file_result result = {0};
    anomaly_counters anomalies = {0};
    char err[512];
    capture_source *src = NULL;
    if (capture_source_open_file(path, &anomalies, err, sizeof err, &src) != AS_OK)
        fail_msg("%s", err);
    limits lim = limits_default();
    decoder *dec = NULL;
    assert_int_equal(decoder_create(&lim, &dec), AS_OK);
    capture_packet pkt;
    decoded_packet out;
    while (capture_source_next(src, &pkt) == AS_OK) {
        result.packets++;
        if (decoder_decode(dec, &pkt, &out, &anomalies) != AS_OK)
            continue;
        assert_true(out.payload + out.payload_len <= out.l3 + out.l3_len);
        if (!out.reassembled) {
            assert_true(out.l3 >= pkt.data && out.l3 + out.l3_len <= pkt.data + pkt.caplen);
        }
        if (out.ip_proto == 6)
            result.tcp++;
        if (out.tunnel_depth)
            result.tunnels++;
        if (out.reassembled)
            result.reassembled++;
        if (out.vlan_outer == 100)
            result.vlan_ids[0]++;
        if (out.vlan_outer == 200 && out.vlan_inner == 300)
            result.vlan_ids[1]++;
        decoder_expire(dec, pkt.ts_ns, &anomalies);
    }
    decoder_destroy(dec);
    capture_source_destroy(src);
    return result;
}

static void every_shared_capture_yields_tcp(void **state) {
    (void)state;
    const char *dirs[] = {SHARED_DIR "/pcaps/real/", SHARED_DIR "/pcaps/edge/"};
    int files = 0;
    for (int d = 0; d < 2; d++) {
        DIR *dir = opendir(dirs[d]);
        assert_non_null(dir);
        struct dirent *entry;
        char path[1024];
        while ((entry = readdir(dir)) != NULL) {
            const char *dot = strrchr(entry->d_name, '.');
            if (!dot || (strcmp(dot, ".pcap") != 0 && strcmp(dot, ".pcapng") != 0))
                continue;
            snprintf(path, sizeof path, "%s%s", dirs[d], entry->d_name);
            file_result result = decode_file(path);
            files++;
            /* every shared capture carries HTTP; the empty one carries nothing */
            if (result.packets > 0 && result.tcp == 0)
                fail_msg("%s: no TCP packet decoded out of %llu", entry->d_name,
                         (unsigned long long)result.packets);
        }
        closedir(dir);
    }
    assert_true(files > 80);
}

static void shared_captures_with_encapsulations(void **state) {
    (void)state;
    static const struct {
        const char *file;
        uint64_t tcp;
    } expected[] = {
        /* TCP packet counts as tshark decodes them (teredo with its heuristic on) */
        {"real/zeek-nflog-http.pcap", 13},
        {"real/sv-chdlc-http.pcap", 17},
        {"real/ark-80211http.pcap", 26},
        {"real/sv-pppoe-session-http.pcap", 30},
        {"real/zeek-mixed-vlan-mpls.pcap", 47},
        {"real/zeek-teredo.pcap", 55},
        {"real/zeek-http-qinq-0.pcap", 14},
        {"real/ndpi-log4j-webapp-exploit.pcap", 422},
        {"real/zeek-basic-auth-with-colon.pcap", 12},
        {"edge/pcapng-multi-interface.pcapng", 30},
    };
    char path[1024];
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        snprintf(path, sizeof path, "%s/pcaps/%s", SHARED_DIR, expected[i].file);
        file_result result = decode_file(path);
        if (result.tcp != expected[i].tcp)
            fail_msg("%s: %llu TCP packets, expected %llu", expected[i].file,
                     (unsigned long long)result.tcp, (unsigned long long)expected[i].tcp);
    }
    file_result teredo = decode_file(SHARED_DIR "/pcaps/real/zeek-teredo.pcap");
    assert_int_equal(teredo.tunnels, 22);
    file_result fragments = decode_file(SHARED_DIR "/pcaps/edge/ipv4-fragments.pcap");
    assert_int_equal(fragments.reassembled, 1);
    file_result vlans = decode_file(SHARED_DIR "/pcaps/edge/vlan-8021q-qinq.pcap");
    assert_true(vlans.vlan_ids[0] > 0);
    assert_true(vlans.vlan_ids[1] > 0);
    assert_int_equal(vlans.vlan_ids[0] + vlans.vlan_ids[1], vlans.packets);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ethernet_ipv4_and_ipv6),
        cmocka_unit_test(vlan_qinq_and_depth_bound),
        cmocka_unit_test(mpls_label_stacks),
        cmocka_unit_test(pppoe_sessions),
        cmocka_unit_test(null_and_loop_address_families),
        cmocka_unit_test(raw_ip_link_types),
        cmocka_unit_test(linux_cooked_captures),
        cmocka_unit_test(ieee80211_data_frames),
        cmocka_unit_test(nflog_tlvs),
        cmocka_unit_test(cisco_hdlc),
        cmocka_unit_test(gre_variants),
        cmocka_unit_test(erspan_types),
        cmocka_unit_test(vxlan_on_udp_4789),
        cmocka_unit_test(teredo_only_when_ipv6_inside),
        cmocka_unit_test(ip_in_ip_and_depth_bound),
        cmocka_unit_test(ipv6_extension_headers),
        cmocka_unit_test(malformed_ipv4_and_transport),
        cmocka_unit_test(snaplen_cut_payload),
        cmocka_unit_test(truncation_at_every_length),
        cmocka_unit_test(ipv4_fragments_are_reassembled),
        cmocka_unit_test(address_text_forms),
        cmocka_unit_test(every_shared_capture_yields_tcp),
        cmocka_unit_test(shared_captures_with_encapsulations),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
