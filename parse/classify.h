/*
 * Protocol classification of flows with nDPI, for the run summary and for
 * nDPI's free signals (later: flow risks).
 *
 * HTTP parsing does not wait for this verdict: parse/http1.c detects HTTP by
 * content on any port. nDPI sees a flow's packets until it names a protocol
 * (its flow risks are set by then) and at most ndpi_max_packets of them (its
 * 4.2 dissectors are the exposed surface; DESIGN.md and notes/deps.md); then
 * its per-flow state (about 700 bytes) goes back to a recycled pool. Extra
 * dissection after the verdict is not run: it costs a sixth of the run time
 * and changes no count.
 *
 * A classifier owns one nDPI detection module and must stay on one thread.
 * Create classifiers one after another (nDPI's module init is not
 * thread-safe). classify_flow is the per-flow state, kept by the caller
 * (zero-initialised) for each flow slot.
 */
#ifndef APISENSOR_PARSE_CLASSIFY_H
#define APISENSOR_PARSE_CLASSIFY_H

#include <stdint.h>

#include "capture/packet.h"
#include "common/limits.h"
#include "common/status.h"

struct ndpi_flow_struct;

typedef struct classify_flow {
    struct ndpi_flow_struct *ndpi; /* NULL before the first packet and once done */
    uint16_t packets;              /* packets given to nDPI */
    uint16_t protocol;             /* nDPI protocol id once known, 0 = unknown */
    uint8_t done;                  /* verdict final: no more packets needed */
} classify_flow;

typedef struct classifier classifier;

as_status classifier_create(const limits *lim, classifier **out);

/* Feeds one packet of the flow (either direction); a no-op once done. */
void classifier_packet(classifier *c, classify_flow *cf, const decoded_packet *pkt);

/* Ends the flow: takes nDPI's best guess if still unknown, counts the flow
 * under its protocol, returns the nDPI state to the pool, zeroes cf. */
void classifier_finish(classifier *c, classify_flow *cf);

/* Flows counted so far per protocol: calls visit(name, flows, arg) for each
 * protocol with at least one flow, in protocol id order. */
void classifier_foreach_count(const classifier *c,
                              void (*visit)(const char *name, uint64_t flows, void *arg),
                              void *arg);

void classifier_destroy(classifier *c);

#endif
