/*
 * Fuzz target for the L2-L4 decoder and the IPv4 fragment table behind it.
 *
 * Input: one or more records. The first byte of a record selects:
 *   bits 0-3  the link type, an index into fuzz_linktypes (modulo its size)
 *   bit 4     more records follow: a 2-byte big-endian length comes next and
 *             this record's packet is that long; otherwise the packet is the
 *             rest of the input (so "selector byte + packet" is a valid input)
 *   bit 5     the packet was cut by the snaplen: wirelen = caplen + 1000
 *   bits 6-7  packet time advances by 0, 1, 31 or 600 seconds first, so held
 *             fragments time out
 * Each packet is copied into a buffer of exactly its size, so a read past
 * caplen is caught by AddressSanitizer. A fresh decoder per input with a
 * fragment table of 4 datagrams keeps runs independent and hits the bound.
 *
 * Checked for every decoded packet: the payload lies inside the IP bytes,
 * both lie inside the packet (or the reassembly buffer), payload_len <=
 * payload_wire_len, and every payload byte is readable.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/decode.h"

static const uint32_t fuzz_linktypes[] = {
    LINK_ETHERNET, LINK_NULL,      LINK_LOOP,       LINK_RAW,        LINK_IPV4,
    LINK_IPV6,     LINK_LINUX_SLL, LINK_LINUX_SLL2, LINK_IEEE802_11, LINK_IEEE802_11_RADIOTAP,
    LINK_NFLOG,    LINK_CHDLC,
};

static const uint64_t fuzz_time_steps_ns[4] = {0, UINT64_C(1000000000), UINT64_C(31000000000),
                                               UINT64_C(600000000000)};

static void fuzz_check(int ok) {
    if (!ok)
        __builtin_trap();
}

static void fuzz_check_decoded(const decoded_packet *out, const uint8_t *packet, size_t caplen) {
    fuzz_check(out->ip_proto == 6 || out->ip_proto == 17);
    fuzz_check(out->payload_len <= out->payload_wire_len);
    fuzz_check(out->l3 != NULL && out->payload != NULL);
    fuzz_check(out->payload >= out->l3 && out->payload + out->payload_len <= out->l3 + out->l3_len);
    if (!out->reassembled)
        fuzz_check(out->l3 >= packet && out->l3 + out->l3_len <= packet + caplen);
    volatile uint8_t sum = 0;
    for (uint32_t i = 0; i < out->payload_len; i++)
        sum = (uint8_t)(sum + out->payload[i]);
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    limits lim = limits_default();
    lim.ipfrag_max_datagrams = 4;
    decoder *dec = NULL;
    if (decoder_create(&lim, &dec) != AS_OK)
        return 0;
    anomaly_counters anomalies = {0};
    uint64_t now = UINT64_C(1700000000000000000);
    size_t at = 0;
    while (at < size) {
        uint8_t selector = data[at++];
        size_t len = size - at;
        if ((selector & 0x10) && len >= 2) {
            size_t declared = (size_t)data[at] << 8 | data[at + 1];
            at += 2;
            len = declared < size - at ? declared : size - at;
        }
        now += fuzz_time_steps_ns[selector >> 6];
        uint8_t *packet = malloc(len ? len : 1);
        if (!packet)
            break;
        memcpy(packet, data + at, len);
        at += len;
        capture_packet pkt = {
            .data = packet,
            .caplen = (uint32_t)len,
            .wirelen = (uint32_t)len + ((selector & 0x20) ? 1000u : 0u),
            .ts_ns = now,
            .linktype = fuzz_linktypes[(selector & 0x0f) %
                                       (sizeof fuzz_linktypes / sizeof *fuzz_linktypes)],
        };
        decoded_packet out;
        if (decoder_decode(dec, &pkt, &out, &anomalies) == AS_OK)
            fuzz_check_decoded(&out, packet, len);
        decoder_expire(dec, now, &anomalies);
        fuzz_check(decoder_fragments_held(dec) <= 4);
        free(packet);
    }
    decoder_destroy(dec);
    return 0;
}
