/*
 * The result of a worker's sensitive-data scan as a flat record that rides
 * in front of its transaction's tx_record to the model thread (see
 * model_transaction_scanned): whether the worker scanned and, for every
 * location, the types found, the cut flag, the hints and the masked sample
 * of each type found. Sizes are multiples of 8, so the tx_record behind it
 * stays aligned.
 */
#ifndef APISENSOR_APP_SCAN_RECORD_H
#define APISENSOR_APP_SCAN_RECORD_H

#include <stddef.h>

#include "inventory/sensitive.h"

/* Bytes of the record of found[SENSITIVE_LOCATION_COUNT]; NULL: not scanned. */
size_t scan_record_size(const sensitive_found *found);

/* Upper bound of scan_record_size. */
size_t scan_record_max_size(void);

/* Writes the record (scan_record_size bytes) into dst, 8-byte aligned. */
void scan_record_write(void *dst, const sensitive_found *found);

/* Reads the record at src: returns its size, fills found[SENSITIVE_LOCATION_COUNT]
 * and sets *scanned (0: the worker did not scan, found untouched). */
size_t scan_record_read(const void *src, sensitive_found *found, int *scanned);

#endif
