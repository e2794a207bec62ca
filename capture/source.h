/*
 * Packet sources behind one interface: capture files (pcap through libpcap,
 * pcapng through our own block reader so that interfaces with different link
 * types work, "-" for stdin) and live interfaces (libpcap).
 *
 * A source is owned by one thread. Packet views returned by
 * capture_source_next() are valid until the next call on the same source.
 */
#ifndef APISENSOR_CAPTURE_SOURCE_H
#define APISENSOR_CAPTURE_SOURCE_H

#include <stdint.h>
#include <stdio.h>

#include "common/anomaly.h"
#include "common/status.h"
#include "packet.h"

typedef struct capture_source capture_source;

typedef struct capture_live_options {
    int snaplen;        /* bytes per packet kept; 0 = 262144 */
    int promiscuous;    /* 1 = promiscuous mode */
    int buffer_bytes;   /* kernel ring size; 0 = 64 MiB */
    int immediate;      /* 1 = deliver packets at once (TPACKET_V2); 0 = blocks (V3) */
    const char *filter; /* BPF filter expression or NULL */
} capture_live_options;

typedef struct capture_source_stats {
    uint64_t packets;      /* packets returned */
    uint64_t bytes;        /* sum of caplen */
    uint64_t wire_bytes;   /* sum of wirelen */
    uint64_t kernel_drops; /* live: dropped by the kernel (pcap_stats ps_drop) */
    uint64_t iface_drops;  /* live: dropped by the interface (ps_ifdrop) */
} capture_source_stats;

/*
 * Opens a capture file ("-" = standard input). On failure returns an error
 * status and writes a message naming the file into errbuf (errbuf_len bytes).
 * `anomalies` (may be NULL) receives source.* anomalies for the source's life.
 */
as_status capture_source_open_file(const char *path, anomaly_counters *anomalies, char *errbuf,
                                   unsigned errbuf_len, capture_source **out);

/*
 * As capture_source_open_file, for the sensor's inputs: when the file is a
 * pipe (a FIFO, or "-" on a pipe) its first bytes are awaited in poll()
 * steps that look at *stop, and AS_DONE (no source, a message in errbuf)
 * says that the stop came first; with stop, a FIFO is opened without
 * waiting for a writer. stop may be NULL (wait as long as it takes).
 */
as_status capture_source_open_input(const char *path, const volatile int *stop,
                                    anomaly_counters *anomalies, char *errbuf, unsigned errbuf_len,
                                    capture_source **out);

/*
 * Opens a capture file from an open stream (in-memory files, tests, fuzzing),
 * as capture_source_open_file; `name` is used in messages. Takes ownership of
 * fp: it is closed on failure and by capture_source_destroy (stdin never is).
 */
as_status capture_source_open_stream(FILE *fp, const char *name, anomaly_counters *anomalies,
                                     char *errbuf, unsigned errbuf_len, capture_source **out);

/* Opens a live interface. Errors as above (missing interface, permission, bad filter). */
as_status capture_source_open_live(const char *iface, const capture_live_options *options,
                                   anomaly_counters *anomalies, char *errbuf, unsigned errbuf_len,
                                   capture_source **out);

/* Most live sources one group reads. */
#define APISENSOR_SOURCE_GROUP_MAX 64

/*
 * Reads several live sources (capture_source_open_live) as one, on one
 * thread: packets come in turn from the members that have one ready (their
 * interface_id is the member's index), the stats are their sums, a break
 * stops them all. Takes ownership of the members on success only.
 */
as_status capture_source_open_group(capture_source *const *members, unsigned count, char *errbuf,
                                    unsigned errbuf_len, capture_source **out);

/*
 * Reads the next packet.
 *   AS_OK            *pkt is filled
 *   AS_DONE          end of input
 *   AS_NEED_MORE     live: no packet within the timeout, call again
 *   AS_ERR_TRUNCATED the file ends inside a record (what came before is good)
 *   AS_ERR_FORMAT    the file holds garbage from here on
 *   AS_ERR_IO        read error
 * After an error, capture_source_error() says what and where.
 */
as_status capture_source_next(capture_source *src, capture_packet *pkt);

/*
 * Reads up to max packets at once (a window for prefetching): statuses as
 * capture_source_next() for the first packet; *count (>= 1 on AS_OK) says
 * how many of pkts are filled. More than one only where the packets are
 * already in memory (pcap files read by the fast reader); an end or an error
 * after the first packet comes at the next call. Every view is valid until
 * the next call on the source.
 */
as_status capture_source_next_batch(capture_source *src, capture_packet *pkts, unsigned max,
                                    unsigned *count);

/* Last error message, "" if none. Valid until the next call on the source. */
const char *capture_source_error(const capture_source *src);

/* 1 for a live interface or a group of them, 0 for a capture file. */
int capture_source_is_live(const capture_source *src);

/* Counters so far (live: refreshed from the kernel on each call). */
capture_source_stats capture_source_get_stats(capture_source *src);

/* Bytes read so far and total size (files; size 0 when unknown, e.g. stdin). */
void capture_source_progress(const capture_source *src, uint64_t *offset, uint64_t *size);

/* Breaks a blocking live read from another thread or a signal handler. */
void capture_source_break(capture_source *src);

void capture_source_destroy(capture_source *src);

#endif
