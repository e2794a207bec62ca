/*
 * The --format ecs shapes of the four event kinds (docs/formats.md has the
 * mapping tables). Each call appends one event, without a trailing newline.
 */
#ifndef APISENSOR_EXPORT_FORMAT_ECS_H
#define APISENSOR_EXPORT_FORMAT_ECS_H

#include "event.h"
#include "json.h"
#include "parse/transaction.h"
#include "records.h"
#include "stats_event.h"

/* community: the flow's Community ID text. */
void format_ecs_transaction(json_writer *w, const event_sensor *sensor, const char *community,
                            const http_transaction *tx);
void format_ecs_endpoint(json_writer *w, const event_sensor *sensor, const endpoint_record *r);
void format_ecs_finding(json_writer *w, const event_sensor *sensor, const finding_record *r);
void format_ecs_stats(json_writer *w, const event_sensor *sensor, const stats_record *r);

#endif
