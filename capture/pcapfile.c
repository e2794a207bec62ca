/*
 * Classic pcap records read with pread() into one buffer (see pcapfile.h).
 *
 * The buffer holds the bytes [buf_offset, buf_offset + len) of the file; the
 * next record starts at pos. When a record is not wholly in the buffer, the
 * unread tail moves to the front and the buffer is topped up; the buffer is
 * large enough for one read plus the largest record a served file can hold,
 * so every record fits once its header is known.
 *
 * What libpcap 1.10 does with a version 2.4 file, and so what this reader
 * must reproduce: the file header's byte order applies to every record
 * header; the seconds and the fraction are signed 32-bit values in a file
 * of the host's byte order (the source treats negative ones as 0) but
 * unsigned ones in a file of the other order (libpcap's byte swap yields an
 * unsigned value); microseconds are scaled to nanoseconds; a
 * record whose caplen exceeds the snapshot length is cut or refused (we
 * refuse it: libpcap decides); records are passed through untouched except,
 * in files of the other byte order, the pseudo-headers of a few link types
 * (Linux cooked capture among them), which this reader therefore does not
 * serve in that case.
 */
#define _GNU_SOURCE
#include "pcapfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    PCAPFILE_HEADER_BYTES = 24,
    PCAPFILE_RECORD_BYTES = 16,
    PCAPFILE_MAX_SNAPLEN = 262144, /* libpcap's MAXIMUM_SNAPLEN for the served link types */
};

#define PCAPFILE_BUFFER_BYTES (PCAPFILE_READ_BYTES + PCAPFILE_MAX_SNAPLEN + PCAPFILE_RECORD_BYTES)

struct pcapfile_reader {
    int fd;              /* borrowed */
    int big_endian;      /* byte order of the file's headers */
    int swapped;         /* the file's byte order is not the host's */
    uint32_t frac_to_ns; /* 1000 for microsecond files, 1 for nanosecond files */
    uint32_t linktype;
    uint32_t snapshot;
    int refused;         /* sticky AS_ERR_UNSUPPORTED */
    uint64_t buf_offset; /* file offset of buf[0] */
    uint32_t pos;        /* next record, index into buf */
    uint32_t len;        /* valid bytes in buf */
    uint8_t *buf;        /* PCAPFILE_BUFFER_BYTES */
};

static uint32_t pcapfile_u32(const uint8_t *p, int big_endian) {
    if (big_endian)
        return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint16_t pcapfile_u16(const uint8_t *p, int big_endian) {
    return big_endian ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[0] | p[1] << 8);
}

static int pcapfile_host_big_endian(void) {
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 0;
}

/* Link types whose records libpcap hands over as they are in the file;
 * `swapped` (file and host byte orders differ) excludes those whose
 * pseudo-header libpcap rewrites then. */
static int pcapfile_linktype_served(uint32_t linktype, int swapped) {
    switch (linktype) {
    case LINK_ETHERNET:
    case LINK_NULL:
    case LINK_LOOP:
    case LINK_RAW:
    case LINK_IPV4:
    case LINK_IPV6:
        return 1;
    case LINK_LINUX_SLL:
    case LINK_LINUX_SLL2:
        return !swapped;
    default:
        return 0;
    }
}

/* pread() until `want` bytes are in buf at len or the file ends; returns
 * bytes added, or -1 on a read error. */
static int64_t pcapfile_read(pcapfile_reader *r, uint32_t want) {
    uint32_t added = 0;
    while (added < want) {
        ssize_t n = pread(r->fd, r->buf + r->len, want - added, (off_t)(r->buf_offset + r->len));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        r->len += (uint32_t)n;
        added += (uint32_t)n;
    }
    return added;
}

/* Makes `need` bytes from pos available: 1, or 0 when the file ends first,
 * or -1 when a read fails. */
static int pcapfile_ensure(pcapfile_reader *r, uint32_t need) {
    if (r->len - r->pos >= need)
        return 1;
    uint32_t tail = r->len - r->pos;
    memmove(r->buf, r->buf + r->pos, tail);
    r->buf_offset += r->pos;
    r->pos = 0;
    r->len = tail;
    while (r->len < need) {
        uint32_t room = PCAPFILE_BUFFER_BYTES - r->len;
        int64_t got = pcapfile_read(r, room < PCAPFILE_READ_BYTES ? room : PCAPFILE_READ_BYTES);
        if (got <= 0)
            return (int)got;
    }
    return 1;
}

as_status pcapfile_reader_create(int fd, pcapfile_reader **out) {
    *out = NULL;
    if (fd < 0)
        return AS_ERR_UNSUPPORTED;
    uint8_t header[PCAPFILE_HEADER_BYTES];
    ssize_t got;
    do {
        got = pread(fd, header, sizeof header, 0);
    } while (got < 0 && errno == EINTR);
    if (got != (ssize_t)sizeof header)
        return AS_ERR_UNSUPPORTED;
    int big_endian;
    uint32_t frac_to_ns;
    uint32_t magic = pcapfile_u32(header, 1);
    if (magic == 0xa1b2c3d4u || magic == 0xd4c3b2a1u)
        frac_to_ns = 1000;
    else if (magic == 0xa1b23c4du || magic == 0x4d3cb2a1u)
        frac_to_ns = 1;
    else
        return AS_ERR_UNSUPPORTED; /* including the patched-tcpdump magic */
    big_endian = magic == 0xa1b2c3d4u || magic == 0xa1b23c4du;
    uint16_t major = pcapfile_u16(header + 4, big_endian);
    uint16_t minor = pcapfile_u16(header + 6, big_endian);
    uint32_t snaplen = pcapfile_u32(header + 16, big_endian);
    uint32_t linktype = pcapfile_u32(header + 20, big_endian);
    /* 2.4 only: older versions may have caplen and len interchanged */
    if (major != 2 || minor != 4)
        return AS_ERR_UNSUPPORTED;
    int swapped = big_endian != pcapfile_host_big_endian();
    if (!pcapfile_linktype_served(linktype, swapped))
        return AS_ERR_UNSUPPORTED;
    pcapfile_reader *r = calloc(1, sizeof *r);
    if (!r)
        return AS_ERR_NOMEM;
    r->buf = malloc(PCAPFILE_BUFFER_BYTES);
    if (!r->buf) {
        free(r);
        return AS_ERR_NOMEM;
    }
    r->fd = fd;
    r->big_endian = big_endian;
    r->swapped = swapped;
    r->frac_to_ns = frac_to_ns;
    r->linktype = linktype;
    r->snapshot = snaplen == 0 || snaplen > PCAPFILE_MAX_SNAPLEN ? PCAPFILE_MAX_SNAPLEN : snaplen;
    r->buf_offset = PCAPFILE_HEADER_BYTES;
    *out = r;
    return AS_OK;
}

uint32_t pcapfile_reader_linktype(const pcapfile_reader *reader) {
    return reader->linktype;
}

uint32_t pcapfile_reader_snapshot(const pcapfile_reader *reader) {
    return reader->snapshot;
}

/* Hands out the record at pos, which is wholly in the buffer. */
static void pcapfile_take(pcapfile_reader *r, uint32_t caplen, capture_packet *pkt) {
    const uint8_t *h = r->buf + r->pos;
    uint32_t secs = pcapfile_u32(h, r->big_endian);
    uint32_t frac = pcapfile_u32(h + 4, r->big_endian);
    uint32_t wirelen = pcapfile_u32(h + 12, r->big_endian);
    if (!r->swapped) {
        secs = (int32_t)secs < 0 ? 0 : secs;
        frac = (int32_t)frac < 0 ? 0 : frac;
    }
    pkt->data = h + PCAPFILE_RECORD_BYTES;
    pkt->caplen = caplen;
    pkt->wirelen = wirelen < caplen ? caplen : wirelen;
    pkt->ts_ns = (uint64_t)secs * 1000000000u + (uint64_t)frac * r->frac_to_ns;
    pkt->linktype = r->linktype;
    pkt->interface_id = 0;
    r->pos += PCAPFILE_RECORD_BYTES + caplen;
}

as_status pcapfile_reader_next(pcapfile_reader *r, capture_packet *pkt) {
    if (r->refused)
        return AS_ERR_UNSUPPORTED;
    int ready = pcapfile_ensure(r, PCAPFILE_RECORD_BYTES);
    if (ready == 0 && r->len == r->pos)
        return AS_DONE;
    if (ready != 1) {
        /* a cut record header or a read error: libpcap reads it again and
         * reports it in its own words */
        r->refused = 1;
        return AS_ERR_UNSUPPORTED;
    }
    uint32_t caplen = pcapfile_u32(r->buf + r->pos + 8, r->big_endian);
    if (caplen > r->snapshot || pcapfile_ensure(r, PCAPFILE_RECORD_BYTES + caplen) != 1) {
        r->refused = 1;
        return AS_ERR_UNSUPPORTED;
    }
    pcapfile_take(r, caplen, pkt);
    return AS_OK;
}

as_status pcapfile_reader_next_buffered(pcapfile_reader *r, capture_packet *pkt) {
    if (r->refused || r->len - r->pos < PCAPFILE_RECORD_BYTES)
        return AS_NEED_MORE;
    uint32_t caplen = pcapfile_u32(r->buf + r->pos + 8, r->big_endian);
    if (caplen > r->snapshot || r->len - r->pos - PCAPFILE_RECORD_BYTES < caplen)
        return AS_NEED_MORE;
    pcapfile_take(r, caplen, pkt);
    return AS_OK;
}

uint64_t pcapfile_reader_offset(const pcapfile_reader *reader) {
    return reader->buf_offset + reader->pos;
}

void pcapfile_reader_destroy(pcapfile_reader *reader) {
    if (!reader)
        return;
    free(reader->buf);
    free(reader);
}
