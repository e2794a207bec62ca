/*
 * The "transaction" event of CONTRACT.md: one JSON object per HTTP
 * transaction, with the connection, the request and response facts, the
 * Community ID of the flow and the flags.
 */
#ifndef APISENSOR_EXPORT_TRANSACTION_EVENT_H
#define APISENSOR_EXPORT_TRANSACTION_EVENT_H

#include "community_id.h"
#include "event.h"
#include "format.h"
#include "json.h"
#include "parse/transaction.h"

/* Appends the native event (without a trailing newline) to w; cid computes
 * the flow's Community ID. */
void transaction_event_write(json_writer *w, const event_sensor *sensor, community_id *cid,
                             const http_transaction *tx);

/* Facts every format writes the same way. */
/* Packet time of the event: the request's first byte (else the response's). */
uint64_t transaction_event_time(const http_transaction *tx);
/* Last request byte to first response byte; 0 when not both are known. */
int transaction_event_latency_us(const http_transaction *tx, uint64_t *out);
/* "1.1" into buf, or NULL when the version is unknown. */
const char *transaction_event_version(const http_transaction *tx, char buf[4]);
/* The flag names as a JSON array. */
void transaction_event_flags(json_writer *w, const http_transaction *tx);
/* The first header of that name (ASCII case-insensitive), or absent. */
str_view transaction_event_header(const http_message *m, const char *name);

/* Appends the event in the given format; community is the flow's Community
 * ID text (community_id_format), also the Kafka key of the event. */
void transaction_event_write_as(json_writer *w, export_format format, const event_sensor *sensor,
                                const char *community, const http_transaction *tx,
                                const transaction_context *ctx);

#endif
