/*
 * L2-L4 decoding: from a raw packet of any supported link type, through
 * VLAN/QinQ, MPLS, PPPoE and the remote-mirroring encapsulations (GRE,
 * ERSPAN II/III, VXLAN) and Teredo, to the innermost IPv4/IPv6 header and its
 * TCP or UDP header. IPv4 fragments are reassembled (bounded, in packet time).
 *
 * Never reads past caplen. Malformed packets are counted as named anomalies
 * and skipped; nothing is logged. A decoder is owned by one thread.
 */
#ifndef APISENSOR_CAPTURE_DECODE_H
#define APISENSOR_CAPTURE_DECODE_H

#include "common/anomaly.h"
#include "common/limits.h"
#include "common/status.h"
#include "packet.h"

typedef struct decoder decoder;

/* Keeps a copy of the limits it needs (ipfrag_*). */
as_status decoder_create(const limits *lim, decoder **out);

/*
 * Decodes one packet.
 *   AS_OK   *out describes a TCP or UDP packet; its views point into pkt->data
 *           or, for a reassembled datagram, into the decoder (valid until the
 *           next call on the decoder)
 *   AS_SKIP nothing to analyse: not IP, another L4 protocol, a fragment held
 *           for reassembly, or malformed (then counted in anomalies)
 */
as_status decoder_decode(decoder *dec, const capture_packet *pkt, decoded_packet *out,
                         anomaly_counters *anomalies);

/* Drops fragment sets older than ipfrag_timeout_seconds before now_ns. */
void decoder_expire(decoder *dec, uint64_t now_ns, anomaly_counters *anomalies);

/* Datagrams currently held for fragment reassembly. */
uint64_t decoder_fragments_held(const decoder *dec);

void decoder_destroy(decoder *dec);

#endif
