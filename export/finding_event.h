/*
 * The "finding" event of CONTRACT.md, from a finding_record (records.h), and
 * the finding's Kafka key.
 */
#ifndef APISENSOR_EXPORT_FINDING_EVENT_H
#define APISENSOR_EXPORT_FINDING_EVENT_H

#include <stdint.h>

#include "event.h"
#include "format.h"
#include "json.h"
#include "records.h"

/* Appends the native event (without a trailing newline) to w. */
void finding_event_write(json_writer *w, const event_sensor *sensor, const finding_record *r);

/* Appends the event in the given format. */
void finding_event_write_as(json_writer *w, export_format format, const event_sensor *sensor,
                            const finding_record *r);

/* The evidence object: {key: value, ...} in record order (at most
 * RECORD_MAX_EVIDENCE entries). Shared by the other formats. */
void finding_event_evidence(json_writer *w, const finding_record *r);

/* Pieces of the native event the other formats share, each left out when
 * the record does not have it: "identity" (null for an anonymous actor),
 * "clients", "endpoints", and the details "parameter" and "data_types". */
void finding_event_identity(json_writer *w, const finding_record *r);
void finding_event_clients(json_writer *w, const finding_record *r);
void finding_event_endpoints(json_writer *w, const finding_record *r);
void finding_event_details(json_writer *w, const finding_record *r);

/*
 * The Kafka key of the findings topic (CONTRACT.md: the identity), into buf
 * (NUL-terminated, truncated to buflen); returns its length:
 *   "kind:id" of the identity; else "client_ip:ADDRESS" of the actor;
 *   else "METHOD host path" of the endpoint (posture findings); else the id.
 */
uint32_t finding_event_key(const finding_record *r, char *buf, uint32_t buflen);

#endif
