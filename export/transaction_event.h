/*
 * The "transaction" event of CONTRACT.md: one JSON object per HTTP
 * transaction, with the connection, the request and response facts, the
 * Community ID of the flow and the flags.
 */
#ifndef APISENSOR_EXPORT_TRANSACTION_EVENT_H
#define APISENSOR_EXPORT_TRANSACTION_EVENT_H

#include "event.h"
#include "json.h"
#include "parse/transaction.h"

/* Appends the event (without a trailing newline) to w. */
void transaction_event_write(json_writer *w, const event_sensor *sensor,
                             const http_transaction *tx);

/* Community ID v1 (seed 0) of a TCP/UDP 5-tuple: "1:<base64 SHA-1>" into buf
 * (at least 34 bytes). */
const char *community_id_format(const ip_address *a, uint16_t a_port, const ip_address *b,
                                uint16_t b_port, uint8_t proto, char *buf, unsigned buflen);

#endif
