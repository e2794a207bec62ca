/*
 * Private to capture/: a fast reader of classic pcap records from a regular
 * file, used by source.c beside libpcap. libpcap reads a file record by
 * record through stdio and copies every packet into its own buffer; this
 * reader fills one large buffer with pread() and hands out packet views
 * into it, so a packet is copied once (by the kernel) instead of three times.
 *
 * It serves only what it can serve exactly as libpcap would: version 2.4
 * files in either byte order with micro- or nanosecond timestamps, link
 * types whose records libpcap passes through untouched, and records whose
 * captured length is within the file's snapshot length and which lie wholly
 * in the file. Anything else is refused (AS_ERR_UNSUPPORTED) and libpcap
 * takes over at the refused record (pcapfile_reader_offset), so damage is
 * reported with libpcap's own words and counts.
 *
 * The reader borrows the descriptor (the caller closes it) and reads it with
 * pread() only, so the descriptor's file offset and any stdio stream on it
 * are left alone. It owns one buffer (a read plus the largest record). Packet
 * views are valid until the next pcapfile_reader_next().
 */
#ifndef APISENSOR_CAPTURE_PCAPFILE_H
#define APISENSOR_CAPTURE_PCAPFILE_H

#include <stdint.h>

#include "common/status.h"
#include "packet.h"

/* Bytes a pread() asks for at most: large enough that system calls are rare,
 * small enough that the kernel's copy is still in L2 when the packets are
 * read. The buffer also holds one largest record (snapshot + header). */
#define PCAPFILE_READ_BYTES (256u * 1024u)

typedef struct pcapfile_reader pcapfile_reader;

/*
 * Reads the file header of fd (a regular file; read from offset 0).
 *   AS_OK              the reader serves this file
 *   AS_ERR_UNSUPPORTED not a file this reader serves (let libpcap read it)
 *   AS_ERR_NOMEM       no buffer
 */
as_status pcapfile_reader_create(int fd, pcapfile_reader **out);

/* From the file header: LINKTYPE_* of every packet, and the snapshot length
 * libpcap applies (the header's snaplen; 0 or above 262144 means 262144). */
uint32_t pcapfile_reader_linktype(const pcapfile_reader *reader);
uint32_t pcapfile_reader_snapshot(const pcapfile_reader *reader);

/*
 * The next record.
 *   AS_OK              *pkt is filled (ts_ns in nanoseconds, as libpcap's
 *                      nanosecond precision gives it; interface_id 0)
 *   AS_DONE            the file ends at a record boundary
 *   AS_ERR_UNSUPPORTED the record at pcapfile_reader_offset() is cut by the
 *                      end of the file, exceeds the snapshot length, or
 *                      could not be read: hand the rest of the file to libpcap
 * AS_ERR_UNSUPPORTED is sticky.
 */
as_status pcapfile_reader_next(pcapfile_reader *reader, capture_packet *pkt);

/*
 * The next record if it is already in the buffer and served: AS_OK, or
 * AS_NEED_MORE (nothing changed; call pcapfile_reader_next). Does not move
 * the buffer, so the views of every packet returned since the last
 * pcapfile_reader_next() stay valid together.
 */
as_status pcapfile_reader_next_buffered(pcapfile_reader *reader, capture_packet *pkt);

/* File offset of the next record (the refused one after AS_ERR_UNSUPPORTED). */
uint64_t pcapfile_reader_offset(const pcapfile_reader *reader);

void pcapfile_reader_destroy(pcapfile_reader *reader);

#endif
