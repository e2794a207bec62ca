/*
 * The value types that leave capture/: a raw packet from a source, an IP
 * address and a decoded packet. All pointers are borrowed views into the
 * source's or decoder's buffers; each header says how long they live.
 */
#ifndef APISENSOR_CAPTURE_PACKET_H
#define APISENSOR_CAPTURE_PACKET_H

#include <stdint.h>

/* Link types we decode (the LINKTYPE_* numbers of pcap/pcapng). */
enum {
    LINK_NULL = 0,
    LINK_ETHERNET = 1,
    LINK_RAW = 101,
    LINK_CHDLC = 104,
    LINK_IEEE802_11 = 105,
    LINK_LOOP = 108,
    LINK_LINUX_SLL = 113,
    LINK_IEEE802_11_RADIOTAP = 127,
    LINK_IPV4 = 228,
    LINK_IPV6 = 229,
    LINK_NFLOG = 239,
    LINK_LINUX_SLL2 = 276,
};

/* One packet as read from a source. */
typedef struct capture_packet {
    const uint8_t *data;   /* caplen bytes; valid until the next read on the source */
    uint32_t caplen;       /* bytes present in data */
    uint32_t wirelen;      /* bytes the packet had on the wire (>= caplen) */
    uint64_t ts_ns;        /* packet time, nanoseconds since the Unix epoch */
    uint32_t linktype;     /* LINK_* of the interface it came from */
    uint32_t interface_id; /* pcapng interface index, 0 for pcap and live */
} capture_packet;

typedef struct ip_address {
    uint8_t family;    /* 4 or 6; 0 = none */
    uint8_t bytes[16]; /* IPv4 in the first 4 bytes, the rest zero */
} ip_address;

/* Text form: dotted quad, or RFC 5952 for IPv6. buf must hold 46 bytes. */
const char *ip_address_format(const ip_address *addr, char *buf, unsigned buflen);

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10 };

/* A packet reduced to what flows and streams need (innermost IP layer). */
typedef struct decoded_packet {
    uint64_t ts_ns;
    ip_address src, dst;
    uint16_t src_port, dst_port;
    uint8_t ip_proto;  /* 6 TCP or 17 UDP */
    uint8_t tcp_flags; /* TCP_* bits, TCP only */
    uint32_t seq, ack; /* TCP only */
    const uint8_t *payload;
    uint32_t payload_len;      /* L4 payload bytes present in the capture */
    uint32_t payload_wire_len; /* L4 payload bytes on the wire; > payload_len when snaplen cut */
    const uint8_t *l3;         /* innermost IP header onwards, for nDPI */
    uint32_t l3_len;           /* bytes present from l3 */
    uint16_t vlan_outer;       /* outermost 802.1Q/802.1ad VLAN id, 0 = none */
    uint16_t vlan_inner;       /* second VLAN id (QinQ), 0 = none */
    uint8_t tunnel_depth;      /* tunnels removed: GRE, ERSPAN, VXLAN, Teredo, IP-in-IP, EoMPLS */
    uint8_t reassembled;       /* 1 when built from IPv4 fragments */
} decoded_packet;

#endif
