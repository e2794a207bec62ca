/*
 * A completed HTTP transaction as one flat, self-contained record, so that
 * it can cross from a worker thread to the model thread through a ring: the
 * http_transaction, its TLS facts, both header arrays and every byte its
 * views point at (method, URI, headers, captured bodies, fingerprints).
 * Inside the record pointers are stored as offsets from its start (0 for
 * NULL, so absent views stay absent); tx_record_open turns them back into
 * pointers in place.
 *
 * Bodies and heads are bounded by the parse limits, so a record is at most
 * tx_record_max_size(lim) bytes.
 */
#ifndef APISENSOR_APP_TX_RECORD_H
#define APISENSOR_APP_TX_RECORD_H

#include <stddef.h>

#include "common/limits.h"
#include "parse/transaction.h"

/* Bytes the record of tx takes. */
size_t tx_record_size(const http_transaction *tx);

/* Upper bound of tx_record_size under the limits lim. */
size_t tx_record_max_size(const limits *lim);

/* Writes tx into dst (at least tx_record_size(tx) bytes, 8-byte aligned). */
void tx_record_write(void *dst, const http_transaction *tx);

/* Turns the record at rec (written by tx_record_write, possibly moved) into
 * a transaction whose views point into rec; returns it. */
const http_transaction *tx_record_open(void *rec);

#endif
