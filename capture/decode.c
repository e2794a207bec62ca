/*
 * L2-L4 decoding, from a captured frame to the innermost TCP or UDP header.
 *
 * Each layer is a function that takes the bytes of its layer (a pointer and
 * the number of bytes present) and reads them through a cursor, so nothing
 * reads past caplen. Layers call the next one with what follows their header;
 * the innermost IP layer wins (a tunnel overwrites the outer addresses).
 * Recursion is bounded: VLAN tags, MPLS labels, IPv6 extension headers and
 * encapsulations (GRE, ERSPAN, VXLAN, Teredo, IP-in-IP, Ethernet over MPLS)
 * each have a maximum, and a packet beyond it is counted and skipped.
 *
 * Lengths: the IP header says how long the packet is. Bytes after it (frame
 * padding, trailers, FCS) are dropped. When it claims more than was captured
 * the packet must have been cut by the snaplen (caplen < wirelen, otherwise
 * it is malformed): payload_len is what is present, payload_wire_len what
 * the headers say. TCP and UDP checksums are never checked, so captures on
 * hosts with checksum offload still work.
 *
 * The decoder owns the IPv4 fragment table (ipfrag.c). A reassembled
 * datagram lives in that table until the next call on the decoder, and the
 * decoded views then point into it.
 */
#include "decode.h"

#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "ipfrag.h"

#define DECODE_VLAN_MAX 4     /* VLAN tags in one packet (QinQ stacks are 2, rarely 3) */
#define DECODE_MPLS_MAX 16    /* labels in one MPLS stack */
#define DECODE_TUNNEL_MAX 4   /* encapsulations removed from one packet */
#define DECODE_IPV6_EXT_MAX 8 /* extension headers before the transport header */

enum {
    ETHERTYPE_IPV4 = 0x0800,
    ETHERTYPE_IPV6 = 0x86DD,
    ETHERTYPE_VLAN = 0x8100,
    ETHERTYPE_QINQ = 0x88a8,
    ETHERTYPE_QINQ_OLD = 0x9100,
    ETHERTYPE_MPLS_UNICAST = 0x8847,
    ETHERTYPE_MPLS_MULTICAST = 0x8848,
    ETHERTYPE_PPPOE_SESSION = 0x8864,
    ETHERTYPE_TEB = 0x6558, /* transparent Ethernet bridging (GRE) */
    ETHERTYPE_ERSPAN_2 = 0x88BE,
    ETHERTYPE_ERSPAN_3 = 0x22EB,
    ETHER_MAX_LENGTH_FIELD = 1500, /* type fields up to this are 802.3 lengths */
    PPP_IPV4 = 0x0021,             /* also 0x21 when the protocol field is compressed */
    PPP_IPV6 = 0x0057,
    IPPROTO_NUM_HOPOPTS = 0,
    IPPROTO_NUM_IPIP = 4,
    IPPROTO_NUM_TCP = 6,
    IPPROTO_NUM_UDP = 17,
    IPPROTO_NUM_IPV6 = 41,
    IPPROTO_NUM_ROUTING = 43,
    IPPROTO_NUM_FRAGMENT = 44,
    IPPROTO_NUM_GRE = 47,
    IPPROTO_NUM_AH = 51,
    IPPROTO_NUM_DSTOPTS = 60,
    IPPROTO_NUM_MOBILITY = 135,
    IPPROTO_NUM_HIP = 139,
    IPPROTO_NUM_SHIM6 = 140,
    UDP_PORT_VXLAN = 4789,
    UDP_PORT_TEREDO = 3544,
    NFULA_PAYLOAD = 9,
};

struct decoder {
    ipfrag_table *fragments;
};

/* State of one decoder_decode call, threaded through the layers. */
typedef struct decode_ctx {
    decoder *dec;
    decoded_packet *out;
    anomaly_counters *anomalies;
    int snaplen_cut;    /* caplen < wirelen: lengths past the capture are expected */
    unsigned vlan_tags; /* VLAN tags seen so far */
    unsigned tunnels;   /* encapsulations removed so far */
} decode_ctx;

static as_status decode_ethernet(decode_ctx *ctx, const uint8_t *data, size_t len);
static as_status decode_ethertype(decode_ctx *ctx, uint16_t type, const uint8_t *data, size_t len);
static as_status decode_ipv4(decode_ctx *ctx, const uint8_t *data, size_t len);
static as_status decode_ipv6(decode_ctx *ctx, const uint8_t *data, size_t len);

/* ---------------------------------------------------------------- helpers */

static as_status decode_skip(decode_ctx *ctx, anomaly_id id) {
    anomaly_count(ctx->anomalies, id);
    return AS_SKIP;
}

/* Counts one more encapsulation; 0 (and counted) beyond the bound. */
static int decode_enter_tunnel(decode_ctx *ctx) {
    if (ctx->tunnels >= DECODE_TUNNEL_MAX) {
        anomaly_count(ctx->anomalies, ANOMALY_DECODE_TUNNEL_TOO_DEEP);
        return 0;
    }
    ctx->tunnels++;
    ctx->out->tunnel_depth = (uint8_t)ctx->tunnels;
    return 1;
}

/* The next byte without consuming it; 0x100 when none is left. */
static unsigned decode_peek8(const cursor *c) {
    cursor copy = *c;
    uint8_t value = cursor_u8(&copy);
    return cursor_ok(&copy) ? value : 0x100u;
}

/* The next two bytes (big-endian) without consuming them; 0x10000 when fewer are left. */
static uint32_t decode_peek16(const cursor *c) {
    cursor copy = *c;
    uint16_t value = cursor_be16(&copy);
    return cursor_ok(&copy) ? value : 0x10000u;
}

/* IPv4 or IPv6 chosen by the version nibble (raw IP, MPLS, ERSPAN III). */
static as_status decode_ip_by_version(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    unsigned first = decode_peek8(&c);
    if (first > 0xff)
        return decode_skip(ctx, ANOMALY_DECODE_L3_UNKNOWN);
    switch (first >> 4) {
    case 4:
        return decode_ipv4(ctx, data, len);
    case 6:
        return decode_ipv6(ctx, data, len);
    default:
        return decode_skip(ctx, ANOMALY_DECODE_L3_UNKNOWN);
    }
}

/* ---------------------------------------------------------------- transport */

static as_status decode_tcp(decode_ctx *ctx, const uint8_t *data, size_t len, size_t wire_len) {
    cursor c = cursor_make(data, len);
    uint16_t src_port = cursor_be16(&c);
    uint16_t dst_port = cursor_be16(&c);
    uint32_t seq = cursor_be32(&c);
    uint32_t ack = cursor_be32(&c);
    uint8_t offset_byte = cursor_u8(&c);
    uint8_t flags = cursor_u8(&c);
    cursor_skip(&c, 6); /* window, checksum (not verified), urgent pointer */
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_TCP_TRUNCATED);
    size_t header_len = (size_t)(offset_byte >> 4) * 4;
    if (header_len < 20 || header_len > wire_len)
        return decode_skip(ctx, ANOMALY_DECODE_TCP_BAD_HLEN);
    if (header_len > len)
        return decode_skip(ctx, ANOMALY_DECODE_TCP_TRUNCATED);
    decoded_packet *out = ctx->out;
    out->ip_proto = IPPROTO_NUM_TCP;
    out->src_port = src_port;
    out->dst_port = dst_port;
    out->seq = seq;
    out->ack = ack;
    out->tcp_flags = flags;
    out->payload = data + header_len;
    out->payload_len = (uint32_t)(len - header_len);
    out->payload_wire_len = (uint32_t)(wire_len - header_len);
    if (out->payload_wire_len > out->payload_len)
        anomaly_count(ctx->anomalies, ANOMALY_DECODE_PAYLOAD_CAPLEN);
    return AS_OK;
}

/* VXLAN: 8-byte header with the I flag, then an Ethernet frame. */
static int decode_is_vxlan(const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    uint8_t flags = cursor_u8(&c);
    cursor_skip(&c, 7); /* reserved, VNI, reserved */
    return cursor_ok(&c) && (flags & 0x08) != 0;
}

/*
 * Teredo (RFC 4380): an IPv6 packet in UDP, on port 3544 optionally behind
 * an authentication and an origin indication header. Relays use other ports,
 * so elsewhere a payload counts as Teredo only if it is exactly one IPv6
 * packet to or from a Teredo address (2001:0::/32). Returns 1 and the offset
 * of the IPv6 header when the payload really is IPv6.
 */
static int decode_find_teredo(decode_ctx *ctx, const uint8_t *data, size_t len, size_t wire_len,
                              int on_teredo_port, size_t *offset) {
    cursor c = cursor_make(data, len);
    if (on_teredo_port && decode_peek16(&c) == 0x0001) {
        cursor_skip(&c, 2);
        size_t id_len = cursor_u8(&c);
        size_t auth_len = cursor_u8(&c);
        cursor_skip(&c, id_len + auth_len + 8 + 1); /* client id, auth value, nonce, confirmation */
        if (!cursor_ok(&c)) {
            anomaly_count(ctx->anomalies, ANOMALY_DECODE_TEREDO_TRUNCATED);
            return 0;
        }
    }
    if (on_teredo_port && decode_peek16(&c) == 0x0000)
        cursor_skip(&c, 8); /* origin indication: port and address */
    size_t at = len - cursor_left(&c);
    uint8_t version = cursor_u8(&c) >> 4;
    cursor_skip(&c, 3); /* traffic class, flow label */
    size_t payload_len = cursor_be16(&c);
    cursor_skip(&c, 2); /* next header, hop limit */
    const uint8_t *src = cursor_take(&c, 16);
    const uint8_t *dst = cursor_take(&c, 16);
    if (!cursor_ok(&c) || version != 6 || wire_len < at || 40 + payload_len != wire_len - at)
        return 0;
    static const uint8_t teredo_prefix[4] = {0x20, 0x01, 0x00, 0x00};
    if (!on_teredo_port && memcmp(src, teredo_prefix, 4) != 0 && memcmp(dst, teredo_prefix, 4) != 0)
        return 0;
    *offset = at;
    return 1;
}

static as_status decode_udp(decode_ctx *ctx, const uint8_t *data, size_t len, size_t wire_len) {
    cursor c = cursor_make(data, len);
    uint16_t src_port = cursor_be16(&c);
    uint16_t dst_port = cursor_be16(&c);
    uint16_t udp_len = cursor_be16(&c);
    cursor_skip(&c, 2); /* checksum, not verified */
    if (!cursor_ok(&c) || wire_len < 8)
        return decode_skip(ctx, ANOMALY_DECODE_UDP_TRUNCATED);
    /* The UDP length may trim the IP payload; 0 is used by jumbograms. */
    if (udp_len != 0) {
        if (udp_len < 8 || udp_len > wire_len)
            return decode_skip(ctx, ANOMALY_DECODE_UDP_TRUNCATED);
        wire_len = udp_len;
        if (len > wire_len)
            len = wire_len;
    }
    const uint8_t *payload = data + 8;
    size_t payload_len = len - 8;
    size_t payload_wire_len = wire_len - 8;
    size_t teredo_offset = 0;
    if (dst_port == UDP_PORT_VXLAN && decode_is_vxlan(payload, payload_len)) {
        if (!decode_enter_tunnel(ctx))
            return AS_SKIP;
        return decode_ethernet(ctx, payload + 8, payload_len - 8);
    }
    int teredo_port = src_port == UDP_PORT_TEREDO || dst_port == UDP_PORT_TEREDO;
    if (decode_find_teredo(ctx, payload, payload_len, payload_wire_len, teredo_port,
                           &teredo_offset)) {
        if (!decode_enter_tunnel(ctx))
            return AS_SKIP;
        return decode_ipv6(ctx, payload + teredo_offset, payload_len - teredo_offset);
    }
    decoded_packet *out = ctx->out;
    out->ip_proto = IPPROTO_NUM_UDP;
    out->src_port = src_port;
    out->dst_port = dst_port;
    out->payload = payload;
    out->payload_len = (uint32_t)payload_len;
    out->payload_wire_len = (uint32_t)payload_wire_len;
    if (payload_wire_len > payload_len)
        anomaly_count(ctx->anomalies, ANOMALY_DECODE_PAYLOAD_CAPLEN);
    return AS_OK;
}

/* ---------------------------------------------------------------- GRE and ERSPAN */

/* ERSPAN type II: version 1, VLAN, COS, session, index (8 bytes), then the frame. */
static as_status decode_erspan2(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    uint8_t version = cursor_u8(&c) >> 4;
    cursor_skip(&c, 7);
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_ERSPAN_TRUNCATED);
    if (version != 1)
        return decode_skip(ctx, ANOMALY_DECODE_GRE_UNSUPPORTED);
    return decode_ethernet(ctx, c.pos, cursor_left(&c));
}

/* ERSPAN type III: 12 bytes, an optional 8-byte platform subheader, then a frame or IP. */
static as_status decode_erspan3(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    uint8_t version = cursor_u8(&c) >> 4;
    cursor_skip(&c, 7); /* VLAN, COS, BSO, T, session id, timestamp */
    uint32_t word = cursor_be32(&c);
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_ERSPAN_TRUNCATED);
    if (version != 2)
        return decode_skip(ctx, ANOMALY_DECODE_GRE_UNSUPPORTED);
    unsigned frame_type = (word >> 10) & 0x1f;
    if (word & 1)
        cursor_skip(&c, 8); /* optional platform-specific subheader */
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_ERSPAN_TRUNCATED);
    if (frame_type == 0)
        return decode_ethernet(ctx, c.pos, cursor_left(&c));
    if (frame_type == 2)
        return decode_ip_by_version(ctx, c.pos, cursor_left(&c));
    return decode_skip(ctx, ANOMALY_DECODE_GRE_UNSUPPORTED);
}

static as_status decode_gre(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    uint16_t flags = cursor_be16(&c);
    uint16_t protocol = cursor_be16(&c);
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_GRE_TRUNCATED);
    /* version 1 is PPTP; the routing bit belongs to the obsolete RFC 1701 source routes */
    if ((flags & 0x0007) != 0 || (flags & 0x4000) != 0)
        return decode_skip(ctx, ANOMALY_DECODE_GRE_UNSUPPORTED);
    int has_sequence = (flags & 0x1000) != 0;
    if (flags & 0x8000)
        cursor_skip(&c, 4); /* checksum and reserved */
    if (flags & 0x2000)
        cursor_skip(&c, 4); /* key */
    if (has_sequence)
        cursor_skip(&c, 4); /* sequence number */
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_GRE_TRUNCATED);
    if (!decode_enter_tunnel(ctx))
        return AS_SKIP;
    const uint8_t *inner = c.pos;
    size_t inner_len = cursor_left(&c);
    switch (protocol) {
    case ETHERTYPE_IPV4:
        return decode_ipv4(ctx, inner, inner_len);
    case ETHERTYPE_IPV6:
        return decode_ipv6(ctx, inner, inner_len);
    case ETHERTYPE_TEB:
        return decode_ethernet(ctx, inner, inner_len);
    case ETHERTYPE_ERSPAN_2:
        /* type II has a sequence number and an 8-byte header; type I neither */
        if (!has_sequence)
            return decode_ethernet(ctx, inner, inner_len);
        return decode_erspan2(ctx, inner, inner_len);
    case ETHERTYPE_ERSPAN_3:
        return decode_erspan3(ctx, inner, inner_len);
    default:
        return decode_skip(ctx, ANOMALY_DECODE_GRE_UNSUPPORTED);
    }
}

/* ---------------------------------------------------------------- IP */

/* Dispatches the IP payload. len = bytes present, wire_len = bytes the IP header declares. */
static as_status decode_l4(decode_ctx *ctx, uint8_t protocol, const uint8_t *data, size_t len,
                           size_t wire_len) {
    switch (protocol) {
    case IPPROTO_NUM_TCP:
        return decode_tcp(ctx, data, len, wire_len);
    case IPPROTO_NUM_UDP:
        return decode_udp(ctx, data, len, wire_len);
    case IPPROTO_NUM_IPIP:
        if (!decode_enter_tunnel(ctx))
            return AS_SKIP;
        return decode_ipv4(ctx, data, len);
    case IPPROTO_NUM_IPV6:
        if (!decode_enter_tunnel(ctx))
            return AS_SKIP;
        return decode_ipv6(ctx, data, len);
    case IPPROTO_NUM_GRE:
        return decode_gre(ctx, data, len);
    default:
        return decode_skip(ctx, ANOMALY_DECODE_L4_OTHER);
    }
}

static as_status decode_ipv4(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    uint8_t version_ihl = cursor_u8(&c);
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_IPV4_TRUNCATED);
    if ((version_ihl >> 4) != 4)
        return decode_skip(ctx, ANOMALY_DECODE_IPV4_BAD_VERSION);
    size_t header_len = (size_t)(version_ihl & 0x0f) * 4;
    if (header_len < 20)
        return decode_skip(ctx, ANOMALY_DECODE_IPV4_BAD_HLEN);
    cursor_skip(&c, 1); /* type of service */
    size_t total_len = cursor_be16(&c);
    cursor_skip(&c, 2); /* identification */
    uint16_t flags_offset = cursor_be16(&c);
    cursor_skip(&c, 1); /* time to live */
    uint8_t protocol = cursor_u8(&c);
    cursor_skip(&c, 2); /* header checksum */
    const uint8_t *src = cursor_take(&c, 4);
    const uint8_t *dst = cursor_take(&c, 4);
    cursor_skip(&c, header_len - 20); /* options */
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_IPV4_TRUNCATED);
    if (total_len == 0)
        total_len = len; /* segmentation offload on the capturing host leaves it 0 */
    if (total_len < header_len)
        return decode_skip(ctx, ANOMALY_DECODE_IPV4_BAD_TOTLEN);
    if (total_len > len && !ctx->snaplen_cut)
        return decode_skip(ctx, ANOMALY_DECODE_IPV4_BAD_TOTLEN);
    size_t present = total_len < len ? total_len : len;

    decoded_packet *out = ctx->out;
    memset(&out->src, 0, sizeof out->src);
    memset(&out->dst, 0, sizeof out->dst);
    out->src.family = out->dst.family = 4;
    memcpy(out->src.bytes, src, 4);
    memcpy(out->dst.bytes, dst, 4);
    out->l3 = data;
    out->l3_len = (uint32_t)present;

    const uint8_t *payload = data + header_len;
    size_t payload_len = present - header_len;
    if ((flags_offset & 0x3fff) != 0) { /* MF set or offset > 0: a fragment */
        if (present < total_len)
            return decode_skip(ctx, ANOMALY_DECODE_PAYLOAD_CAPLEN);
        const uint8_t *datagram;
        uint32_t datagram_len;
        if (ipfrag_add(ctx->dec->fragments, data, (uint32_t)header_len, payload,
                       (uint32_t)payload_len, out->ts_ns, ctx->anomalies, &datagram,
                       &datagram_len) != AS_OK)
            return AS_SKIP;
        out->reassembled = 1;
        return decode_ipv4(ctx, datagram, datagram_len);
    }
    return decode_l4(ctx, protocol, payload, payload_len, total_len - header_len);
}

static as_status decode_ipv6(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    uint8_t version = cursor_u8(&c) >> 4;
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_IPV6_TRUNCATED);
    if (version != 6)
        return decode_skip(ctx, ANOMALY_DECODE_IPV6_BAD_VERSION);
    cursor_skip(&c, 3); /* traffic class, flow label */
    size_t payload_len = cursor_be16(&c);
    uint8_t next = cursor_u8(&c);
    cursor_skip(&c, 1); /* hop limit */
    const uint8_t *src = cursor_take(&c, 16);
    const uint8_t *dst = cursor_take(&c, 16);
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_IPV6_TRUNCATED);
    /* 0: a jumbogram or segmentation offload; take what was captured */
    size_t total_len = payload_len ? 40 + payload_len : len;
    if (total_len > len && !ctx->snaplen_cut)
        return decode_skip(ctx, ANOMALY_DECODE_IPV6_TRUNCATED);
    size_t present = total_len < len ? total_len : len;

    decoded_packet *out = ctx->out;
    out->src.family = out->dst.family = 6;
    memcpy(out->src.bytes, src, 16);
    memcpy(out->dst.bytes, dst, 16);
    out->l3 = data;
    out->l3_len = (uint32_t)present;

    c = cursor_make(data + 40, present - 40);
    for (unsigned headers = 0;; headers++) {
        uint8_t following;
        switch (next) {
        case IPPROTO_NUM_HOPOPTS:
        case IPPROTO_NUM_ROUTING:
        case IPPROTO_NUM_DSTOPTS:
        case IPPROTO_NUM_MOBILITY:
        case IPPROTO_NUM_HIP:
        case IPPROTO_NUM_SHIM6:
            following = cursor_u8(&c);
            cursor_skip(&c, (size_t)cursor_u8(&c) * 8 + 6);
            break;
        case IPPROTO_NUM_AH:
            following = cursor_u8(&c);
            cursor_skip(&c, (size_t)cursor_u8(&c) * 4 + 6);
            break;
        case IPPROTO_NUM_FRAGMENT: {
            following = cursor_u8(&c);
            cursor_skip(&c, 1);
            uint16_t offset_flags = cursor_be16(&c);
            cursor_skip(&c, 4); /* identification */
            /* an atomic fragment (offset 0, no more fragments) is a whole packet */
            if (cursor_ok(&c) && (offset_flags & 0xfff9) != 0)
                return decode_skip(ctx, ANOMALY_DECODE_IPV6_FRAGMENT);
            break;
        }
        default: {
            size_t consumed = (size_t)(c.pos - data);
            return decode_l4(ctx, next, c.pos, present - consumed, total_len - consumed);
        }
        }
        if (!cursor_ok(&c))
            return decode_skip(ctx, present < total_len ? ANOMALY_DECODE_IPV6_TRUNCATED
                                                        : ANOMALY_DECODE_IPV6_BAD_EXTHDR);
        if (headers + 1 > DECODE_IPV6_EXT_MAX)
            return decode_skip(ctx, ANOMALY_DECODE_IPV6_BAD_EXTHDR);
        next = following;
    }
}

/* ---------------------------------------------------------------- link layers */

static as_status decode_mpls(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    for (unsigned labels = 0;; labels++) {
        if (labels >= DECODE_MPLS_MAX)
            return decode_skip(ctx, ANOMALY_DECODE_MPLS_TOO_DEEP);
        uint32_t entry = cursor_be32(&c);
        if (!cursor_ok(&c))
            return decode_skip(ctx, ANOMALY_DECODE_MPLS_TRUNCATED);
        if (entry & 0x100) /* bottom of stack */
            break;
    }
    unsigned first = decode_peek8(&c);
    if (first > 0xff)
        return decode_skip(ctx, ANOMALY_DECODE_MPLS_TRUNCATED);
    /* No protocol field: guess by the first nibble; 0 is a pseudowire control word */
    if ((first >> 4) == 0) {
        cursor_skip(&c, 4);
        if (!cursor_ok(&c))
            return decode_skip(ctx, ANOMALY_DECODE_MPLS_TRUNCATED);
        if (!decode_enter_tunnel(ctx))
            return AS_SKIP;
        return decode_ethernet(ctx, c.pos, cursor_left(&c));
    }
    return decode_ip_by_version(ctx, c.pos, cursor_left(&c));
}

static as_status decode_pppoe(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    uint8_t version_type = cursor_u8(&c);
    uint8_t code = cursor_u8(&c);
    cursor_skip(&c, 2); /* session id */
    size_t length = cursor_be16(&c);
    /* PPP protocol field, 1 byte when compressed (PFC: odd first byte) */
    uint16_t protocol = cursor_u8(&c);
    size_t protocol_len = 1;
    if ((protocol & 1) == 0) {
        protocol = (uint16_t)(protocol << 8 | cursor_u8(&c));
        protocol_len = 2;
    }
    if (!cursor_ok(&c) || length < protocol_len)
        return decode_skip(ctx, ANOMALY_DECODE_PPPOE_TRUNCATED);
    if (version_type != 0x11 || code != 0)
        return decode_skip(ctx, ANOMALY_DECODE_L3_UNKNOWN);
    size_t inner_len = cursor_left(&c);
    if (inner_len > length - protocol_len)
        inner_len = length - protocol_len;
    if (protocol == PPP_IPV4)
        return decode_ipv4(ctx, c.pos, inner_len);
    if (protocol == PPP_IPV6)
        return decode_ipv6(ctx, c.pos, inner_len);
    return decode_skip(ctx, ANOMALY_DECODE_L3_UNKNOWN);
}

/* Follows an Ethernet type field through VLAN tags and 802.3 LLC/SNAP to the payload. */
static as_status decode_ethertype(decode_ctx *ctx, uint16_t type, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    int llc_seen = 0; /* one LLC/SNAP header per Ethernet layer */
    for (;;) {
        switch (type) {
        case ETHERTYPE_VLAN:
        case ETHERTYPE_QINQ:
        case ETHERTYPE_QINQ_OLD: {
            if (ctx->vlan_tags >= DECODE_VLAN_MAX)
                return decode_skip(ctx, ANOMALY_DECODE_VLAN_TOO_DEEP);
            uint16_t tci = cursor_be16(&c);
            type = cursor_be16(&c);
            if (!cursor_ok(&c))
                return decode_skip(ctx, ANOMALY_DECODE_ETH_TRUNCATED);
            if (ctx->vlan_tags == 0)
                ctx->out->vlan_outer = tci & 0x0fff;
            else if (ctx->vlan_tags == 1)
                ctx->out->vlan_inner = tci & 0x0fff;
            ctx->vlan_tags++;
            continue;
        }
        case ETHERTYPE_IPV4:
            return decode_ipv4(ctx, c.pos, cursor_left(&c));
        case ETHERTYPE_IPV6:
            return decode_ipv6(ctx, c.pos, cursor_left(&c));
        case ETHERTYPE_MPLS_UNICAST:
        case ETHERTYPE_MPLS_MULTICAST:
            return decode_mpls(ctx, c.pos, cursor_left(&c));
        case ETHERTYPE_PPPOE_SESSION:
            return decode_pppoe(ctx, c.pos, cursor_left(&c));
        default:
            break;
        }
        /* An 802.3 length field: only LLC + SNAP (AA AA 03, OUI, type) carries IP. */
        if (type > ETHER_MAX_LENGTH_FIELD || llc_seen)
            return decode_skip(ctx, ANOMALY_DECODE_L3_UNKNOWN);
        llc_seen = 1;
        const uint8_t *llc = cursor_take(&c, 6);
        type = cursor_be16(&c);
        if (!cursor_ok(&c))
            return decode_skip(ctx, ANOMALY_DECODE_ETH_TRUNCATED);
        if (llc[0] != 0xAA || llc[1] != 0xAA || llc[2] != 0x03)
            return decode_skip(ctx, ANOMALY_DECODE_L3_UNKNOWN);
    }
}

static as_status decode_ethernet(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    cursor_skip(&c, 12); /* destination and source MAC */
    uint16_t type = cursor_be16(&c);
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_ETH_TRUNCATED);
    return decode_ethertype(ctx, type, c.pos, cursor_left(&c));
}

/* BSD loopback: a 4-byte address family in the capturing host's byte order (NULL) or big-endian
 * (LOOP). */
static as_status decode_null(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    const uint8_t *family_bytes = cursor_take(&c, 4);
    if (!family_bytes)
        return decode_skip(ctx, ANOMALY_DECODE_NULL_TRUNCATED);
    cursor le = cursor_make(family_bytes, 4);
    cursor be = cursor_make(family_bytes, 4);
    uint32_t families[2] = {cursor_le32(&le), cursor_be32(&be)};
    for (int i = 0; i < 2; i++) {
        switch (families[i]) {
        case 2: /* AF_INET everywhere */
            return decode_ipv4(ctx, c.pos, cursor_left(&c));
        case 24: /* AF_INET6 on NetBSD/OpenBSD, 28 FreeBSD, 30 macOS */
        case 28:
        case 30:
            return decode_ipv6(ctx, c.pos, cursor_left(&c));
        default:
            break;
        }
    }
    return decode_skip(ctx, ANOMALY_DECODE_L3_UNKNOWN);
}

static as_status decode_sll(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    cursor_skip(&c, 14); /* packet type, ARPHRD type, address length, address */
    uint16_t protocol = cursor_be16(&c);
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_SLL_TRUNCATED);
    return decode_ethertype(ctx, protocol, c.pos, cursor_left(&c));
}

static as_status decode_sll2(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    uint16_t protocol = cursor_be16(&c);
    cursor_skip(&c, 18); /* reserved, interface, ARPHRD, packet type, address */
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_SLL_TRUNCATED);
    return decode_ethertype(ctx, protocol, c.pos, cursor_left(&c));
}

/*
 * IEEE 802.11: only unprotected data frames carry analysable traffic; their
 * header length depends on the DS bits, QoS and HT control, and an LLC/SNAP
 * header gives the Ethernet type.
 */
static as_status decode_ieee80211(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    uint8_t control = cursor_u8(&c);
    uint8_t flags = cursor_u8(&c);
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_WIFI_TRUNCATED);
    unsigned version = control & 0x03;
    unsigned frame_type = (control >> 2) & 0x03;
    unsigned subtype = control >> 4;
    /* management, control, null-data and encrypted frames: nothing to analyse */
    if (version != 0 || frame_type != 2 || (subtype & 0x04) || (flags & 0x40))
        return AS_SKIP;
    cursor_skip(&c, 2 + 6 + 6 + 6 + 2); /* duration, three addresses, sequence control */
    if ((flags & 0x03) == 0x03)
        cursor_skip(&c, 6); /* fourth address (wireless distribution system) */
    if (subtype & 0x08) {   /* QoS data */
        uint8_t qos = cursor_u8(&c);
        cursor_skip(&c, 1);
        if (flags & 0x80)
            cursor_skip(&c, 4); /* HT control */
        if (qos & 0x80)         /* A-MSDU aggregate */
            return cursor_ok(&c) ? decode_skip(ctx, ANOMALY_DECODE_L3_UNKNOWN)
                                 : decode_skip(ctx, ANOMALY_DECODE_WIFI_TRUNCATED);
    }
    const uint8_t *llc = cursor_take(&c, 6);
    uint16_t type = cursor_be16(&c);
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_WIFI_TRUNCATED);
    if (llc[0] != 0xAA || llc[1] != 0xAA || llc[2] != 0x03)
        return decode_skip(ctx, ANOMALY_DECODE_L3_UNKNOWN);
    return decode_ethertype(ctx, type, c.pos, cursor_left(&c));
}

static as_status decode_radiotap(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    cursor_skip(&c, 2); /* version, pad */
    size_t header_len = cursor_le16(&c);
    if (!cursor_ok(&c) || header_len < 8 || header_len > len)
        return decode_skip(ctx, ANOMALY_DECODE_RADIOTAP_TRUNCATED);
    return decode_ieee80211(ctx, data + header_len, len - header_len);
}

/*
 * NFLOG: a 4-byte header (address family, version, resource id), then TLVs
 * whose length and type are in the capturing host's byte order, each padded
 * to 4 bytes. NFULA_PAYLOAD holds the IP packet. The byte order is taken
 * from the first TLV: the reading whose length fits the packet wins.
 */
static as_status decode_nflog(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    uint8_t family = cursor_u8(&c);
    cursor_skip(&c, 3); /* version, resource id */
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_NFLOG_TRUNCATED);
    int big_endian = -1;
    while (cursor_left(&c) >= 4) {
        size_t left = cursor_left(&c);
        cursor le = cursor_make(c.pos, 4);
        cursor be = cursor_make(c.pos, 4);
        size_t le_len = cursor_le16(&le), be_len = cursor_be16(&be);
        uint16_t le_type = cursor_le16(&le), be_type = cursor_be16(&be);
        if (big_endian < 0)
            big_endian = !(le_len >= 4 && le_len <= left) && (be_len >= 4 && be_len <= left);
        size_t tlv_len = big_endian ? be_len : le_len;
        uint16_t type = (big_endian ? be_type : le_type) & 0x3fff; /* drop nesting flags */
        if (tlv_len < 4 || tlv_len > left)
            return decode_skip(ctx, ANOMALY_DECODE_NFLOG_TRUNCATED);
        if (type == NFULA_PAYLOAD) {
            const uint8_t *packet = c.pos + 4;
            size_t packet_len = tlv_len - 4;
            if (family == 2)
                return decode_ipv4(ctx, packet, packet_len);
            if (family == 10)
                return decode_ipv6(ctx, packet, packet_len);
            return decode_ip_by_version(ctx, packet, packet_len);
        }
        size_t padded = (tlv_len + 3) & ~(size_t)3;
        cursor_skip(&c, padded < left ? padded : left);
    }
    return decode_skip(ctx, ANOMALY_DECODE_L3_UNKNOWN);
}

/* Cisco HDLC: address, control, then an Ethernet type. */
static as_status decode_chdlc(decode_ctx *ctx, const uint8_t *data, size_t len) {
    cursor c = cursor_make(data, len);
    cursor_skip(&c, 2);
    uint16_t protocol = cursor_be16(&c);
    if (!cursor_ok(&c))
        return decode_skip(ctx, ANOMALY_DECODE_CHDLC_TRUNCATED);
    if (protocol == ETHERTYPE_IPV4)
        return decode_ipv4(ctx, c.pos, cursor_left(&c));
    if (protocol == ETHERTYPE_IPV6)
        return decode_ipv6(ctx, c.pos, cursor_left(&c));
    return decode_skip(ctx, ANOMALY_DECODE_L3_UNKNOWN);
}

/* ---------------------------------------------------------------- decoder */

as_status decoder_create(const limits *lim, decoder **out) {
    if (!out)
        return AS_ERR_ARG;
    *out = NULL;
    limits defaults = limits_default();
    if (!lim)
        lim = &defaults;
    int64_t max_datagrams = lim->ipfrag_max_datagrams;
    if (max_datagrams < 0)
        max_datagrams = 0;
    if (max_datagrams > INT32_MAX)
        max_datagrams = INT32_MAX;
    int64_t timeout_seconds = lim->ipfrag_timeout_seconds > 0 ? lim->ipfrag_timeout_seconds : 1;
    decoder *dec = calloc(1, sizeof *dec);
    if (!dec)
        return AS_ERR_NOMEM;
    as_status status = ipfrag_create(
        (uint32_t)max_datagrams, (uint64_t)timeout_seconds * UINT64_C(1000000000), &dec->fragments);
    if (status != AS_OK) {
        free(dec);
        return status;
    }
    *out = dec;
    return AS_OK;
}

as_status decoder_decode(decoder *dec, const capture_packet *pkt, decoded_packet *out,
                         anomaly_counters *anomalies) {
    if (!dec || !pkt || !out)
        return AS_ERR_ARG;
    ipfrag_release(dec->fragments); /* the previous call's reassembled datagram ends here */
    memset(out, 0, sizeof *out);
    out->ts_ns = pkt->ts_ns;
    if (!pkt->data && pkt->caplen != 0)
        return AS_ERR_ARG;
    decode_ctx ctx = {
        .dec = dec,
        .out = out,
        .anomalies = anomalies,
        .snaplen_cut = pkt->caplen < pkt->wirelen,
    };
    const uint8_t *data = pkt->data;
    size_t len = pkt->caplen;
    as_status status;
    switch (pkt->linktype) {
    case LINK_ETHERNET:
        status = decode_ethernet(&ctx, data, len);
        break;
    case LINK_NULL:
    case LINK_LOOP:
        status = decode_null(&ctx, data, len);
        break;
    case LINK_RAW:
        status = decode_ip_by_version(&ctx, data, len);
        break;
    case LINK_IPV4:
        status = decode_ipv4(&ctx, data, len);
        break;
    case LINK_IPV6:
        status = decode_ipv6(&ctx, data, len);
        break;
    case LINK_LINUX_SLL:
        status = decode_sll(&ctx, data, len);
        break;
    case LINK_LINUX_SLL2:
        status = decode_sll2(&ctx, data, len);
        break;
    case LINK_IEEE802_11:
        status = decode_ieee80211(&ctx, data, len);
        break;
    case LINK_IEEE802_11_RADIOTAP:
        status = decode_radiotap(&ctx, data, len);
        break;
    case LINK_NFLOG:
        status = decode_nflog(&ctx, data, len);
        break;
    case LINK_CHDLC:
        status = decode_chdlc(&ctx, data, len);
        break;
    default:
        status = decode_skip(&ctx, ANOMALY_DECODE_LINKTYPE_UNSUPPORTED);
        break;
    }
    return status;
}

void decoder_expire(decoder *dec, uint64_t now_ns, anomaly_counters *anomalies) {
    if (!dec)
        return;
    ipfrag_release(dec->fragments);
    ipfrag_expire(dec->fragments, now_ns, anomalies);
}

uint64_t decoder_fragments_held(const decoder *dec) {
    return dec ? ipfrag_held(dec->fragments) : 0;
}

void decoder_destroy(decoder *dec) {
    if (!dec)
        return;
    ipfrag_destroy(dec->fragments);
    free(dec);
}
