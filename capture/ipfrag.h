/*
 * Private to capture/: bounded IPv4 fragment reassembly for the decoder.
 *
 * Fragments are keyed by (source, destination, identification, protocol).
 * At most `max_datagrams` datagrams are held; a fragment of a new datagram
 * beyond that is dropped (ipfrag.table_full). A datagram lives at most
 * `timeout_ns` of packet time after its first fragment (ipfrag.timeout).
 * Overlapping fragments keep the bytes that arrived first (ipfrag.overlap).
 *
 * Memory: the slot table is allocated at creation; each slot receives one
 * datagram buffer (header, 65515 payload bytes and a coverage bitmap) the
 * first time it is used, and keeps it when recycled: nothing is allocated
 * per fragment. One table per decoder, owned by one thread.
 */
#ifndef APISENSOR_CAPTURE_IPFRAG_H
#define APISENSOR_CAPTURE_IPFRAG_H

#include <stdint.h>

#include "common/anomaly.h"
#include "common/status.h"

typedef struct ipfrag_table ipfrag_table;

as_status ipfrag_create(uint32_t max_datagrams, uint64_t timeout_ns, ipfrag_table **out);

/*
 * Adds one fragment: `header` is its IPv4 header (header_len bytes, already
 * validated by the caller), `payload` the payload_len data bytes after it.
 *   AS_OK   the datagram is complete: *datagram (*datagram_len bytes) is the
 *           whole IPv4 datagram, header taken from the first fragment with
 *           the total length set and the fragment fields cleared; it stays
 *           valid until ipfrag_release()
 *   AS_SKIP the fragment is held, or dropped and counted
 */
as_status ipfrag_add(ipfrag_table *table, const uint8_t *header, uint32_t header_len,
                     const uint8_t *payload, uint32_t payload_len, uint64_t now_ns,
                     anomaly_counters *anomalies, const uint8_t **datagram, uint32_t *datagram_len);

/* Returns the buffers of completed datagrams to the pool (their views end). */
void ipfrag_release(ipfrag_table *table);

/* Drops datagrams whose first fragment is older than the timeout; bounded work per call. */
void ipfrag_expire(ipfrag_table *table, uint64_t now_ns, anomaly_counters *anomalies);

/* Datagrams waiting for fragments. */
uint64_t ipfrag_held(const ipfrag_table *table);

void ipfrag_destroy(ipfrag_table *table);

#endif
