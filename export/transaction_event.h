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

/* Appends the event in the given format; community is the flow's Community
 * ID text (community_id_format), also the Kafka key of the event. */
void transaction_event_write_as(json_writer *w, export_format format, const event_sensor *sensor,
                                const char *community, const http_transaction *tx);

#endif
