/*
 * The Kafka sink (librdkafka): events of each kind go to
 * "<prefix>.<kind>" (findings, endpoints, transactions, stats) with the key
 * the caller gives (CONTRACT.md: identity, endpoint, flow), from an
 * idempotent producer whose delivery reports are counted.
 *
 * Nothing is lost silently. librdkafka's queue is bounded (queue_messages,
 * queue_kbytes); when it is full, when a delivery fails or when the producer
 * has failed for good, the event goes to the on-disk spool (spool.h), and
 * from then on every new event goes there too, so that order is kept, until
 * the spool has been replayed into a draining queue. A full or missing spool
 * drops the event and counts it. Flush waits for the queue with a deadline,
 * then purges what is left into the spool.
 *
 * Every wait is bounded: a write never blocks; poll does not wait; flush
 * waits at most its timeout plus the time to spool the rest.
 */
#ifndef APISENSOR_EXPORT_KAFKA_SINK_H
#define APISENSOR_EXPORT_KAFKA_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "sink.h"

typedef struct kafka_sink_config {
    const char *brokers;           /* "host:port,..." */
    const char *topic_prefix;      /* NULL = "apisensor" */
    const char *compression;       /* librdkafka compression.codec; NULL = "lz4" */
    const char *const *properties; /* "key=value" librdkafka settings, applied last */
    int property_count;
    int64_t queue_messages; /* queue.buffering.max.messages */
    int64_t queue_kbytes;   /* queue.buffering.max.kbytes */
    const char *spool_dir;  /* NULL = no spool: what cannot be queued is dropped */
    uint64_t spool_max_bytes;
} kafka_sink_config;

/*
 * Creates the producer. AS_ERR_CONFIG with a message in err for a setting
 * librdkafka refuses (a bad -X key or value); AS_ERR_IO when the producer
 * cannot be created. A spool directory that cannot be used does not stop
 * the sink: it runs without a spool, and sink_error() says why from the
 * start (the caller shows it).
 */
as_status kafka_sink_create(const kafka_sink_config *config, char *err, size_t errlen, sink **out);

#endif
