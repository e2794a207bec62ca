/*
 * Protocol classification of flows with nDPI, for the run summary and for
 * nDPI's free signals: its flow risks, and its URL check on every request.
 *
 * HTTP parsing does not wait for this verdict: parse/http1.c detects HTTP by
 * content on any port. nDPI sees a flow's packets until it names a protocol
 * (its flow risks are set by then) and at most ndpi_max_packets of them (its
 * 4.2 dissectors are the exposed surface; DESIGN.md and notes/deps.md); then
 * its per-flow state (about 700 bytes) goes back to a recycled pool. Extra
 * dissection after the verdict is not run: it costs a sixth of the run time
 * and changes no count.
 *
 * Risks: nDPI sets its flow risks while it dissects the first request of a
 * connection; those that say something about the client (a suspicious user
 * agent, an exploit attempt, an injection-looking URL) are kept in
 * classify_flow.risks at the verdict. nDPI's dissector only looks at the
 * first request, so classify_url_risks runs nDPI's own URL check
 * (ndpi_validate_url: libinjection for SQL injection and XSS on each query
 * value, path traversal) on any request-target. The request-target is
 * checked as sent: percent-encoded dots are not decoded for the traversal
 * check (nDPI decodes query values for its injection checks).
 *
 * A classifier owns one nDPI detection module and must stay on one thread.
 * Create classifiers one after another (nDPI's module init is not
 * thread-safe). classify_flow is the per-flow state, kept by the caller
 * (zero-initialised) for each flow slot.
 */
#ifndef APISENSOR_PARSE_CLASSIFY_H
#define APISENSOR_PARSE_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"
#include "common/limits.h"
#include "common/status.h"

struct ndpi_flow_struct;

/* nDPI risks apisensor reports (a bit set; names by classify_risk_name). */
typedef enum classify_risk {
    CLASSIFY_RISK_SQL_INJECTION = 1u << 0,
    CLASSIFY_RISK_XSS = 1u << 1,
    CLASSIFY_RISK_RCE_INJECTION = 1u << 2,
    CLASSIFY_RISK_PATH_TRAVERSAL = 1u << 3, /* nDPI's "HTTP Suspicious URL" (a ".."), kept
                                               when the ".." is a whole path segment */
    CLASSIFY_RISK_SUSPICIOUS_USER_AGENT = 1u << 4,
    CLASSIFY_RISK_POSSIBLE_EXPLOIT = 1u << 5 /* Log4Shell-style payloads, exploit tools */
} classify_risk;

#define CLASSIFY_RISK_COUNT 6
#define CLASSIFY_RISK_INJECTION                                                                    \
    (CLASSIFY_RISK_SQL_INJECTION | CLASSIFY_RISK_XSS | CLASSIFY_RISK_RCE_INJECTION |               \
     CLASSIFY_RISK_PATH_TRAVERSAL)

/* snake_case name of risk bit i (0 <= i < CLASSIFY_RISK_COUNT). */
const char *classify_risk_name(int bit);

/* Risks of a request-target by nDPI's URL check. Targets longer than
 * CLASSIFY_URL_MAX bytes are checked on their first CLASSIFY_URL_MAX. */
#define CLASSIFY_URL_MAX 4096
uint32_t classify_url_risks(const char *target, size_t len);

typedef struct classify_flow {
    struct ndpi_flow_struct *ndpi; /* NULL before the first packet and once done */
    uint16_t packets;              /* packets given to nDPI */
    uint16_t protocol;             /* nDPI protocol id once known, 0 = unknown */
    uint8_t done;                  /* verdict final: no more packets needed */
    uint8_t risks;                 /* CLASSIFY_RISK_* nDPI set on the flow */
} classify_flow;

typedef struct classifier classifier;

as_status classifier_create(const limits *lim, classifier **out);

/* Feeds one packet of the flow (either direction); a no-op once done. */
void classifier_packet(classifier *c, classify_flow *cf, const decoded_packet *pkt);

/* CLASSIFY_RISK_* nDPI has set on the flow so far. */
uint32_t classify_flow_risks(const classify_flow *cf);

/* Ends classification early (no-op once done): takes nDPI's best guess as
 * the verdict when still unknown, as at ndpi_max_packets, and returns the
 * nDPI state. For a flow whose later packets cannot help nDPI (a TLS
 * connection picked up after its ClientHello). */
void classifier_give_up(classifier *c, classify_flow *cf);

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
