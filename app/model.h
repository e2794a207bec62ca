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
 * With a store (--db FILE) the model loads the stored inventory when it is
 * created and writes what changed at every snapshot and every
 * db_flush_seconds of packet time; a failed write is reported once on
 * stderr and counted in db_errors (the records stay dirty and are written by
 * the next flush).
 *
 * Single-threaded: every call comes from the thread that owns the model,
 * except model_offer_spec(), which any thread may call (SIGHUP reload).
 * Owned by the composition root.
 */
#ifndef APISENSOR_APP_MODEL_H
#define APISENSOR_APP_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "common/limits.h"
#include "common/status.h"
#include "export/event.h"
#include "export/records.h"
#include "export/sink_router.h"
#include "inventory/inventory.h"
#include "inventory/openapi.h"
#include "inventory/sensitive.h"
#include "inventory/store.h"
#include "parse/credential.h"
#include "parse/transaction.h"

typedef struct model model;

typedef struct model_config {
    const limits *lim;
    event_sensor sensor;
    sink_router *router;                  /* endpoint and finding events, borrowed; NULL = none */
    const openapi_spec *spec;             /* declared inventory, borrowed; NULL = none */
    const credential_config *credentials; /* names and proxies, copied by model_create */
    int raw_identities;                   /* write secrets-derived identities raw */
    const uint8_t *pseudonym_key;         /* HMAC key of pseudonyms */
    size_t pseudonym_key_len;
    store *db;                          /* borrowed; NULL = the inventory lives in memory only */
    uint32_t snapshot_interval_seconds; /* > 0: a full snapshot every so many seconds of
                                           packet time (live capture); 0 = only on request */
} model_config;

typedef struct model_totals {
    uint64_t transactions;
    uint64_t endpoint_events;
    uint64_t finding_events;
    uint64_t output_errors;
    uint64_t db_errors; /* failed store loads or flushes */
} model_totals;

/* With config->db, loads it; a failure returns its status and leaves the
 * message in store_error(config->db). */
as_status model_create(const model_config *config, model **out);
void model_destroy(model *m);

/* Returns the endpoint and identity of the transaction for its event
 * (valid until the next call), or NULL when it was not modelled (no
 * request, no path). */
const transaction_context *model_transaction(model *m, const http_transaction *tx);

/*
 * The sensitive-data scan reads the transaction alone, so --workers runs it
 * on the worker threads: each opens its own scanner on the model's compiled
 * patterns and limits (model_scanner_create), scans the transactions model_analyses()
 * accepts, and the model thread takes the result with
 * model_transaction_scanned() (found: what sensitive_scan_transaction
 * wrote; the worker counts the scan's anomalies with its own). At the end
 * model_add_scan_stats() adds each scanner's figures to the summary's.
 */
int model_analyses(const http_transaction *tx);
as_status model_scanner_create(const model *m, sensitive_worker **out);
const transaction_context *model_transaction_scanned(model *m, const http_transaction *tx,
                                                     const sensitive_found *found);
void model_add_scan_stats(model *m, const sensitive_stats *stats);

/*
 * Replaces the declared inventory (SIGHUP reload). Any thread; takes
 * ownership of spec (NULL = go on without a spec). The model's thread takes
 * the offer between two transactions: at the next model_transaction(),
 * model_snapshot() or model_take_spec(), so nothing is torn mid-request.
 * Inventory, analytics and flows are kept; each endpoint is classified
 * against the new spec from its next request (inventory_set_spec). An offer
 * not yet taken is replaced (and freed) by a newer one.
 */
void model_offer_spec(model *m, openapi_spec *spec);

/* Offers the settings of a reloaded configuration that apply to a running
 * model: the detector thresholds of lim (analytics_set_thresholds) and the
 * credential names and trusted proxies; taken like a spec; any thread. */
void model_offer_settings(model *m, const limits *lim, const credential_config *credentials);

/* Takes pending offers (spec, thresholds) now, on the model's thread (cheap
 * when none: one atomic load). A model thread that may sit idle calls it
 * when it wakes. */
void model_take_spec(model *m);

/* Writes the full inventory as events stamped ts_ns (end of a capture). */
void model_snapshot(model *m, uint64_t ts_ns);

model_totals model_get_totals(const model *m);

/* What the model stage counted as unusual in the transactions it read
 * (malformed Basic and JWT credentials, sensitive-scan cuts, targets left
 * unredacted for want of memory): the run summary and the stats events add
 * these to the packet path's anomalies. */
const anomaly_counters *model_anomalies(const model *m);

/* Inventory lines of the run summary. */
void model_write_summary(const model *m, FILE *out);

/* Opens the --db store with the model's vocabulary (read_only for the
 * inventory command). On failure prints the message naming the file and
 * returns NULL with *exit_code set: 2 for a schema version this build does
 * not read, 1 otherwise. */
store *model_open_store(const char *path, int read_only, int *exit_code);

/* CONTRACT.md names of the inventory's auth kind and sensitive type bits
 * (bit i = names[i]), as the store and the inventory command name them. */
const char *const *model_auth_kinds(uint32_t *count);
const char *const *model_data_types(uint32_t *count);

/* An endpoint as export's value record, with the storage its lists borrow.
 * Shared by the live events and `apisensor inventory --json`. */
typedef struct model_endpoint_view {
    endpoint_record record;
    str_view auth[INVENTORY_TYPE_BITS + 1];
    str_view sensitive[INVENTORY_LOCATIONS][INVENTORY_TYPE_BITS];
    record_status_count codes[INVENTORY_STATUS_SLOTS];
    str_view request_types[INVENTORY_CONTENT_TYPES];
    str_view response_types[INVENTORY_CONTENT_TYPES];
    record_parameter parameters[INVENTORY_PARAMS];
    record_field fields[INVENTORY_BODIES][INVENTORY_BODY_FIELDS_MAX];
} model_endpoint_view;

/* Fills view->record from ep (borrowing ep's strings) stamped ts_ns. */
void model_endpoint_view_fill(model_endpoint_view *view, const inventory_endpoint *ep,
                              uint64_t ts_ns);

#endif
