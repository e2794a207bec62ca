/*
 * A bounded on-disk FIFO of events that could not be handed to Kafka yet.
 *
 * The spool is a directory of segment files (NNNNNNNNNNNN.spool, created
 * 0600; the directory is created 0700 when missing). Events are appended to
 * the newest segment and read back from the oldest, in append order, so a
 * replay keeps the order in which events were spooled. Each segment starts
 * with a 16-byte header ("ASPOOL1\n" and the read offset, kept up to date as
 * events are taken), so a restarted sensor resumes where the last one
 * stopped; consumed segments are deleted. A record is a 12-byte head (topic,
 * key length, value length, little-endian) followed by the key and value.
 *
 * The bound is on the bytes of events not yet taken (max_bytes); an append
 * that would exceed it is refused (AS_ERR_LIMIT) and the caller counts the
 * drop. A record found torn at the end of a segment (the sensor died while
 * writing it) ends that segment's replay.
 *
 * Single-threaded. Errors leave a message in spool_error().
 */
#ifndef APISENSOR_EXPORT_SPOOL_H
#define APISENSOR_EXPORT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef struct spool spool;

/* One event read back; views valid until the next call on the spool. */
typedef struct spool_record {
    uint32_t topic;
    const char *key; /* NULL when the event had no key */
    uint32_t key_len;
    const char *value;
    uint32_t value_len;
} spool_record;

/*
 * Opens (creating when missing) the spool in dir, counting the events a
 * previous run left there. AS_ERR_IO with a message in err when the directory
 * cannot be created, read or written.
 */
as_status spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen, spool **out);

/* Appends one event. AS_ERR_LIMIT when it does not fit in max_bytes,
 * AS_ERR_IO when the disk refused it. */
as_status spool_append(spool *s, uint32_t topic, const char *key, uint32_t key_len,
                       const char *value, uint32_t value_len);

/* The oldest event without taking it: AS_OK, AS_DONE when the spool is
 * empty, AS_ERR_IO on a read error. */
as_status spool_peek(spool *s, spool_record *out);

/* Takes the event spool_peek returned. */
as_status spool_pop(spool *s);

/* Events and bytes waiting. */
uint64_t spool_records(const spool *s);
uint64_t spool_bytes(const spool *s);

/* Writes buffered appends and the read position to disk. */
as_status spool_sync(spool *s);

const char *spool_error(const spool *s);

/* Syncs and closes; the events left stay on disk for the next run. */
void spool_close(spool *s);

#endif
