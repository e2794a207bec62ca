/*
 * The result of a worker's sensitive-data scan as a flat record that rides
 * in front of its transaction's tx_record to the model thread (see
 * model_transaction_scanned): whether the worker scanned, for every
 * location the types found, the cut flag, the hints and the masked sample
 * of each type found, then the anomalies the scan counted as (id, count)
 * pairs. Sizes are multiples of 8, so the tx_record behind it stays
 * aligned.
 */
#ifndef APISENSOR_APP_SCAN_RECORD_H
#define APISENSOR_APP_SCAN_RECORD_H

#include <stddef.h>

#include "common/anomaly.h"
#include "inventory/sensitive.h"

/* Bytes of the record; found NULL: not scanned (anomalies unused). */
size_t scan_record_size(const sensitive_found *found, const anomaly_counters *anomalies);

/* Upper bound of scan_record_size. */
size_t scan_record_max_size(void);

/* Writes the record (scan_record_size bytes) into dst, 8-byte aligned. */
void scan_record_write(void *dst, const sensitive_found *found, const anomaly_counters *anomalies);

/* Reads the record at src: returns its size, fills found[SENSITIVE_LOCATION_COUNT]
 * and sets *scanned (0: the worker did not scan, found untouched), and
 * calls count(arg, id, n) for each anomaly. */
size_t scan_record_read(const void *src, sensitive_found *found, int *scanned,
                        void (*count)(void *arg, anomaly_id id, uint64_t n), void *arg);

#endif
