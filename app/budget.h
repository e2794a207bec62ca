/*
 * --memory-budget: the big tables sized from one figure.
 *
 * A fixed part (code, libraries, nDPI, the Hyperscan databases, buffers) is
 * set aside; the rest is split between the tables that grow with traffic in
 * fixed shares, and each share divided by the measured cost of one entry
 * gives the table's limit (docs/configuration.md lists the costs, how they
 * were measured and the shares). A limit set explicitly (--limit, or the
 * configuration file) wins: its cost is taken out first and the other
 * shares are scaled to what is left. Kafka's queue takes a share only when
 * Kafka is configured.
 */
#ifndef APISENSOR_APP_BUDGET_H
#define APISENSOR_APP_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

#define BUDGET_ITEMS 9

/* Bytes set aside for everything that does not grow with traffic. */
#define BUDGET_FIXED_BYTES (32LL << 20)
/* The smallest budget accepted. */
#define BUDGET_MIN_BYTES (64LL << 20)

typedef struct budget_line {
    const char *key;      /* the limit */
    int64_t value;        /* its value after the split */
    int64_t bytes;        /* value x entry cost */
    int explicit_setting; /* 1 = set explicitly, not derived */
} budget_line;

typedef struct budget_report {
    int64_t budget;                      /* bytes; 0 = no budget given */
    budget_line lines[BUDGET_ITEMS + 1]; /* the tables, then http_memory_bytes */
    int line_count;
} budget_report;

/*
 * Derives the limits of lim from budget bytes: the tables share what the
 * fixed part leaves but 5 %, and that 5 % bounds the HTTP messages in
 * flight (http_memory_bytes) unless it is set explicitly. explicit_set[i] (by
 * limit_index) marks limits given by the user; kafka says whether Kafka's
 * queue counts. Returns 0, or 2 with a message naming --memory-budget in err
 * when the budget is below BUDGET_MIN_BYTES or the explicit limits alone
 * exceed it. report (may be NULL) receives the split.
 */
int budget_apply(int64_t budget, int kafka, limits *lim, const uint8_t *explicit_set,
                 budget_report *report, char *err, size_t errlen);

/* Bytes one entry of the limit at index costs in the split; 0 when it is not budgeted. */
int64_t budget_entry_bytes(int index);

#endif
