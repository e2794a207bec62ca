/*
 * nDPI classification (see classify.h).
 *
 * The module is created with every dissector enabled. A flow's nDPI state is
 * taken from a free list on its first packet and returned at the verdict or
 * at classifier_finish, so memory follows the flows being classified, not
 * all flows. The free list only grows (to the most flows classified at
 * once); its structs are carved from large chunks mapped with bigmem
 * (huge-page advised), so a new struct does not fault in its own pages.
 * Counts per protocol id are kept in an array sized by the module's
 * protocol count.
 */
#include "classify.h"

#include <stdlib.h>
#include <string.h>

#include <ndpi_api.h>

#include "common/bigmem.h"

/* nDPI flow structs are carved from chunks of this size; the first bytes of
 * a chunk link it to the previous one. */
#define CLASSIFY_CHUNK_BYTES (2u * 1024u * 1024u)
#define CLASSIFY_CHUNK_HEADER 64u
#define CLASSIFY_FLOW_BYTES ((SIZEOF_FLOW_STRUCT + 63u) / 64u * 64u)

typedef struct pooled_flow {
    struct pooled_flow *next;
} pooled_flow;

struct classifier {
    struct ndpi_detection_module_struct *module;
    int64_t max_packets;
    pooled_flow *free_flows; /* recycled nDPI flow structs */
    char *chunk;             /* chunk being carved, NULL before the first */
    size_t chunk_used;       /* bytes of chunk carved */
    uint32_t protocol_count;
    uint64_t *flows_by_protocol; /* protocol_count entries */
};

/* nDPI's domain-generation check of every host name: apisensor reports no
 * DGA risk (risk_map), so the check is replaced by one that finds nothing. */
static int no_dga_check(const char *domain, int domain_length) {
    (void)domain;
    (void)domain_length;
    return 0;
}

as_status classifier_create(const limits *lim, classifier **out) {
    *out = NULL;
    ndpi_dga_function = no_dga_check;
    classifier *c = calloc(1, sizeof *c);
    if (!c)
        return AS_ERR_NOMEM;
    c->max_packets = lim->ndpi_max_packets;
    c->module = ndpi_init_detection_module(ndpi_no_prefs);
    if (!c->module) {
        free(c);
        return AS_ERR_NOMEM;
    }
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(c->module, &all);
    ndpi_finalize_initialization(c->module);
    c->protocol_count = ndpi_get_num_supported_protocols(c->module) + NDPI_MAX_NUM_CUSTOM_PROTOCOLS;
    c->flows_by_protocol = calloc(c->protocol_count, sizeof *c->flows_by_protocol);
    if (!c->flows_by_protocol) {
        classifier_destroy(c);
        return AS_ERR_NOMEM;
    }
    *out = c;
    return AS_OK;
}

static struct ndpi_flow_struct *take_flow(classifier *c) {
    void *mem;
    if (c->free_flows) {
        mem = c->free_flows;
        c->free_flows = c->free_flows->next;
    } else {
        if (!c->chunk || c->chunk_used + CLASSIFY_FLOW_BYTES > CLASSIFY_CHUNK_BYTES) {
            char *chunk = bigmem_alloc(CLASSIFY_CHUNK_BYTES);
            if (!chunk)
                return NULL;
            memcpy(chunk, &c->chunk, sizeof c->chunk);
            c->chunk = chunk;
            c->chunk_used = CLASSIFY_CHUNK_HEADER;
        }
        mem = c->chunk + c->chunk_used;
        c->chunk_used += CLASSIFY_FLOW_BYTES;
    }
    memset(mem, 0, SIZEOF_FLOW_STRUCT);
    return mem;
}

static void give_back_flow(classifier *c, struct ndpi_flow_struct *flow) {
    ndpi_free_flow_data(flow);
    pooled_flow *p = (pooled_flow *)(void *)flow;
    p->next = c->free_flows;
    c->free_flows = p;
}

static const struct {
    ndpi_risk_enum ndpi;
    uint32_t risk;
} risk_map[] = {
    {NDPI_URL_POSSIBLE_SQL_INJECTION, CLASSIFY_RISK_SQL_INJECTION},
    {NDPI_URL_POSSIBLE_XSS, CLASSIFY_RISK_XSS},
    {NDPI_URL_POSSIBLE_RCE_INJECTION, CLASSIFY_RISK_RCE_INJECTION},
    {NDPI_HTTP_SUSPICIOUS_URL, CLASSIFY_RISK_PATH_TRAVERSAL},
    {NDPI_HTTP_SUSPICIOUS_USER_AGENT, CLASSIFY_RISK_SUSPICIOUS_USER_AGENT},
    {NDPI_POSSIBLE_EXPLOIT, CLASSIFY_RISK_POSSIBLE_EXPLOIT},
};

#define RISK_MAP_COUNT (sizeof risk_map / sizeof risk_map[0])

const char *classify_risk_name(int bit) {
    static const char *const names[CLASSIFY_RISK_COUNT] = {
        "sql_injection",   "xss", "rce_injection", "path_traversal", "suspicious_user_agent",
        "possible_exploit"};
    return bit >= 0 && bit < CLASSIFY_RISK_COUNT ? names[bit] : "unknown";
}

static uint32_t risks_of(ndpi_risk r) {
    uint32_t out = 0;
    for (size_t i = 0; i < RISK_MAP_COUNT; i++)
        if (r & (1ULL << risk_map[i].ndpi))
            out |= risk_map[i].risk;
    return out;
}

/* 1 when nDPI's check could find something: a query or a "..". Most
 * targets have neither and skip the copy. */
static int worth_checking(const char *target, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (target[i] == '?' || (target[i] == '.' && i + 1 < len && target[i + 1] == '.'))
            return 1;
    return 0;
}

static int separator(char c) {
    return c == '/' || c == '\\' || c == '=' || c == '&' || c == '?' || c == '#';
}

/* nDPI calls any ".." a suspicious URL; a traversal needs it as a whole
 * segment ("../x", "a/..", "page=../"), not inside a name ("v1..final"). */
static int dot_dot_segment(const char *t, size_t len) {
    for (size_t i = 0; i + 1 < len; i++)
        if (t[i] == '.' && t[i + 1] == '.' && (i == 0 || separator(t[i - 1])) &&
            (i + 2 == len || separator(t[i + 2])))
            return 1;
    return 0;
}

uint32_t classify_url_risks(const char *target, size_t len) {
    if (len > CLASSIFY_URL_MAX)
        len = CLASSIFY_URL_MAX;
    if (!worth_checking(target, len))
        return 0;
    char url[CLASSIFY_URL_MAX + 1];
    memcpy(url, target, len);
    url[len] = '\0';
    ndpi_risk_enum r = ndpi_validate_url(url);
    uint32_t risks = r == NDPI_NO_RISK ? 0 : risks_of(1ULL << r);
    if ((risks & CLASSIFY_RISK_PATH_TRAVERSAL) && !dot_dot_segment(target, len))
        risks &= ~(uint32_t)CLASSIFY_RISK_PATH_TRAVERSAL;
    return risks;
}

/* Keeps the risks nDPI found on the flow before its state goes back. */
static void keep_risks(classify_flow *cf) {
    cf->risks |= (uint8_t)risks_of(cf->ndpi->risk);
}

uint32_t classify_flow_risks(const classify_flow *cf) {
    return cf->risks | (cf->ndpi ? risks_of(cf->ndpi->risk) : 0);
}

static uint16_t protocol_of(ndpi_protocol p) {
    return p.app_protocol != NDPI_PROTOCOL_UNKNOWN ? p.app_protocol : p.master_protocol;
}

void classifier_packet(classifier *c, classify_flow *cf, const decoded_packet *pkt) {
    if (cf->done || !pkt->l3 || pkt->l3_len == 0)
        return;
    /* A bare SYN does not start nDPI state: half-open flows (SYN floods,
     * scans) then hold none and count as Unknown instead of a port guess.
     * nDPI still sees the SYN+ACK and everything after it, which on the
     * real and edge captures gives the same verdicts as seeing the SYN. */
    if (!cf->ndpi && pkt->ip_proto == 6 && (pkt->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN &&
        pkt->payload_len == 0)
        return;
    if (!cf->ndpi) {
        cf->ndpi = take_flow(c);
        if (!cf->ndpi)
            return;
    }
    unsigned short len = pkt->l3_len > 65535 ? 65535 : (unsigned short)pkt->l3_len;
    ndpi_protocol p =
        ndpi_detection_process_packet(c->module, cf->ndpi, pkt->l3, len, pkt->ts_ns / 1000000u);
    cf->packets++;
    uint16_t proto = protocol_of(p);
    if (proto != NDPI_PROTOCOL_UNKNOWN)
        cf->protocol = proto;
    if (proto != NDPI_PROTOCOL_UNKNOWN || cf->packets >= c->max_packets)
        classifier_give_up(c, cf);
}

void classifier_give_up(classifier *c, classify_flow *cf) {
    if (cf->done || !cf->ndpi)
        return;
    if (cf->protocol == NDPI_PROTOCOL_UNKNOWN) {
        uint8_t guessed = 0;
        cf->protocol = protocol_of(ndpi_detection_giveup(c->module, cf->ndpi, 1, &guessed));
    }
    keep_risks(cf);
    give_back_flow(c, cf->ndpi);
    cf->ndpi = NULL;
    cf->done = 1;
}

void classifier_finish(classifier *c, classify_flow *cf) {
    classifier_give_up(c, cf);
    if (cf->protocol < c->protocol_count)
        c->flows_by_protocol[cf->protocol]++;
    memset(cf, 0, sizeof *cf);
}

void classifier_foreach_count(const classifier *c,
                              void (*visit)(const char *name, uint64_t flows, void *arg),
                              void *arg) {
    for (uint32_t id = 0; id < c->protocol_count; id++) {
        if (c->flows_by_protocol[id] == 0)
            continue;
        const char *name = ndpi_get_proto_name(c->module, (u_int16_t)id);
        visit(name ? name : "Unknown", c->flows_by_protocol[id], arg);
    }
}

void classifier_destroy(classifier *c) {
    if (!c)
        return;
    while (c->chunk) {
        char *chunk = c->chunk;
        memcpy(&c->chunk, chunk, sizeof c->chunk);
        bigmem_free(chunk, CLASSIFY_CHUNK_BYTES);
    }
    free(c->flows_by_protocol);
    if (c->module)
        ndpi_exit_detection_module(c->module);
    free(c);
}
