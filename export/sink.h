/*
 * Where exported events go. A sink takes one encoded event at a time (the
 * value, without a trailing newline, plus its topic and key) and hands it on:
 * a JSON Lines file or stdout (sink_file_create) or Kafka (kafka_sink.h).
 *
 * Every sink is bounded and counts what it could not deliver; a write never
 * blocks for longer than the sink's own bounded waits, and flush takes a
 * deadline. Not thread-safe: one thread writes, polls, flushes and destroys.
 *
 * Implementations fill a sink_ops table and wrap themselves with sink_new();
 * the sink owns its implementation from then on (destroy frees both).
 */
#ifndef APISENSOR_EXPORT_SINK_H
#define APISENSOR_EXPORT_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* The kind of event, which picks the Kafka topic (CONTRACT.md). */
typedef enum {
    SINK_FINDINGS = 0,
    SINK_ENDPOINTS,
    SINK_TRANSACTIONS,
    SINK_STATS,
    SINK_TOPIC_COUNT
} sink_topic;

/* "findings" | "endpoints" | "transactions" | "stats": the topic suffix. */
const char *sink_topic_name(sink_topic topic);

/* Figures of a sink since it was created. */
typedef struct sink_stats {
    uint64_t written;         /* events accepted by sink_write */
    uint64_t write_errors;    /* file sinks: events lost to a failed write */
    uint64_t delivered;       /* Kafka: delivery reports of success */
    uint64_t delivery_failed; /* Kafka: failed delivery reports (the event was spooled) */
    uint64_t spooled;         /* Kafka: events written to the on-disk spool */
    uint64_t replayed;        /* Kafka: events taken back from the spool and produced */
    uint64_t dropped;         /* Kafka: events lost (spool full, unwritable or disabled) */
    uint64_t queue_depth;     /* Kafka: messages in librdkafka's queue now */
    uint64_t spool_records;   /* Kafka: events in the spool now */
    uint64_t spool_bytes;     /* Kafka: bytes of events in the spool now */
} sink_stats;

/* Adds the figures of add to sum. */
void sink_stats_add(sink_stats *sum, const sink_stats *add);

typedef struct sink_ops {
    as_status (*write)(void *impl, sink_topic topic, const char *key, size_t key_len,
                       const char *value, size_t value_len);
    void (*poll)(void *impl);
    as_status (*flush)(void *impl, int timeout_ms);
    void (*stats)(const void *impl, sink_stats *add); /* adds the figures to *add */
    const char *(*error)(const void *impl);
    void (*destroy)(void *impl);
} sink_ops;

typedef struct sink sink;

/* Wraps an implementation; on failure calls ops->destroy(impl). */
as_status sink_new(const sink_ops *ops, void *impl, sink **out);

/* A JSON Lines file (each event followed by a newline); path "-" is stdout
 * (borrowed: flushed, never closed). On failure err says why. */
as_status sink_file_create(const char *path, char *err, size_t errlen, sink **out);

/*
 * Hands one event on. key may be NULL (no key) for sinks that use none.
 * AS_OK when the event was accepted (delivered, queued or spooled);
 * AS_ERR_IO when it was lost (counted in write_errors or dropped).
 */
as_status sink_write(sink *s, sink_topic topic, const char *key, size_t key_len, const char *value,
                     size_t value_len);

/* Serves background work (Kafka delivery reports, spool replay) without
 * waiting. Call it now and then, also when no event comes. */
void sink_poll(sink *s);

/* Pushes everything out, waiting at most timeout_ms; what is still not out
 * at the deadline is kept safe if the sink can (the Kafka spool). AS_OK when
 * nothing is left in memory; AS_ERR_IO otherwise. */
as_status sink_flush(sink *s, int timeout_ms);

sink_stats sink_get_stats(const sink *s);

/* The last problem the sink met ("" when none); valid until the next call. */
const char *sink_error(const sink *s);

void sink_destroy(sink *s);

#endif
