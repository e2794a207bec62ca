/*
 * The model stage of one sensor: every completed HTTP transaction goes
 * through the inventory (and, later, analytics), and what changed comes out
 * as "endpoint" and "finding" events on the events output.
 *
 * The model borrows the transaction for one call (its views die with the
 * next engine call) and copies what it keeps. At the end of each capture
 * file, model_snapshot() writes the whole inventory: every listed endpoint,
 * every finding with its final counts, and the spec operations never seen
 * ("unseen_operation" events).
 *
 * Single-threaded; owned by the composition root.
 */
#ifndef APISENSOR_APP_MODEL_H
#define APISENSOR_APP_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "common/limits.h"
#include "common/status.h"
#include "export/event.h"
#include "inventory/openapi.h"
#include "parse/credential.h"
#include "parse/transaction.h"

typedef struct model model;

typedef struct model_config {
    const limits *lim;
    event_sensor sensor;
    FILE *events;                         /* endpoint and finding events; NULL = none */
    const openapi_spec *spec;             /* declared inventory, borrowed; NULL = none */
    const credential_config *credentials; /* names and proxies, borrowed */
    int raw_identities;                   /* write secrets-derived identities raw */
    const uint8_t *pseudonym_key;         /* HMAC key of pseudonyms */
    size_t pseudonym_key_len;
} model_config;

typedef struct model_totals {
    uint64_t transactions;
    uint64_t endpoint_events;
    uint64_t finding_events;
    uint64_t output_errors;
} model_totals;

as_status model_create(const model_config *config, model **out);
void model_destroy(model *m);

void model_transaction(model *m, const http_transaction *tx);

/* Writes the full inventory as events stamped ts_ns (end of a capture). */
void model_snapshot(model *m, uint64_t ts_ns);

model_totals model_get_totals(const model *m);

/* Inventory lines of the run summary. */
void model_write_summary(const model *m, FILE *out);

#endif
