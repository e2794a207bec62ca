/*
 * Private to capture/: a pcapng block reader over a stdio stream, used by
 * source.c for files whose first four bytes are the Section Header Block
 * type. It exists because libpcap 1.10 refuses files whose interfaces have
 * different link types; here every packet carries its own interface's link
 * type and timestamp resolution.
 *
 * The reader borrows the FILE (the caller closes it) and owns one block
 * buffer. Packet views are valid until the next call on the reader.
 */
#ifndef APISENSOR_CAPTURE_PCAPNG_H
#define APISENSOR_CAPTURE_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#include "common/anomaly.h"
#include "common/status.h"
#include "packet.h"

/* Sanity bound on one block: larger blocks are treated as a corrupt file. */
#define PCAPNG_BLOCK_MAX_BYTES (16u * 1024u * 1024u)

/* Interfaces per section: IDBs beyond this are counted as bad blocks. */
#define PCAPNG_INTERFACES_MAX 4096u

typedef struct pcapng_reader pcapng_reader;

/* fp must be positioned at the first byte of the file. `anomalies` may be NULL. */
as_status pcapng_reader_create(FILE *fp, anomaly_counters *anomalies, pcapng_reader **out);

/*
 * Reads the next packet (EPB, SPB or OPB), skipping every other block.
 *   AS_OK            *pkt is filled
 *   AS_DONE          end of file at a block boundary
 *   AS_ERR_TRUNCATED the file ends inside a block
 *   AS_ERR_FORMAT    a block is malformed beyond recovery (message has the offset)
 *   AS_ERR_IO        read error
 * Errors are sticky: later calls return the same status.
 */
as_status pcapng_reader_next(pcapng_reader *reader, capture_packet *pkt);

/* Last error message without the file name, "" if none. */
const char *pcapng_reader_error(const pcapng_reader *reader);

/* Bytes consumed from the stream so far. */
uint64_t pcapng_reader_offset(const pcapng_reader *reader);

void pcapng_reader_destroy(pcapng_reader *reader);

#endif
