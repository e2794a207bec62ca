/*
 * The "finding" event of CONTRACT.md, from a finding_record (records.h), and
 * the finding's Kafka key.
 */
#ifndef APISENSOR_EXPORT_FINDING_EVENT_H
#define APISENSOR_EXPORT_FINDING_EVENT_H

#include <stdint.h>

#include "event.h"
#include "json.h"
#include "records.h"

/* Appends the native event (without a trailing newline) to w. */
void finding_event_write(json_writer *w, const event_sensor *sensor, const finding_record *r);

/* The evidence object: {key: value, ...} in record order (at most
 * RECORD_MAX_EVIDENCE entries). Shared by the other formats. */
void finding_event_evidence(json_writer *w, const finding_record *r);

/*
 * The Kafka key of the findings topic (CONTRACT.md: the identity), into buf
 * (NUL-terminated, truncated to buflen); returns its length:
 *   "kind:id" of the identity; else "client_ip:ADDRESS" of the actor;
 *   else "METHOD host path" of the endpoint (posture findings); else the id.
 */
uint32_t finding_event_key(const finding_record *r, char *buf, uint32_t buflen);

#endif
