/*
 * pcapng block reader.
 *
 * A pcapng file is a sequence of sections; each starts with a Section Header
 * Block (SHB) that fixes the byte order of the section and resets the list of
 * interfaces. Interface Description Blocks (IDB) append an interface (link
 * type, snaplen, timestamp resolution and offset); packet blocks (EPB, SPB
 * and the obsolete OPB) refer to an interface by index. Every other block
 * type (name resolution, statistics, decryption secrets, custom) is skipped.
 *
 * Framing is checked before anything is trusted: a block length must be at
 * least 12, a multiple of 4 and at most PCAPNG_BLOCK_MAX_BYTES, and the
 * trailing copy of the length must match. A framing error ends the file
 * (AS_ERR_FORMAT with the offset). A block that is framed correctly but
 * whose fields are short is counted (source.pcapng.bad_block) and skipped.
 *
 * Memory: one block buffer, grown to the largest packet block seen (never
 * per packet), and the interface table of the current section, grown when an
 * IDB arrives. Skipped blocks are read through the buffer in chunks so an
 * unusual large block does not grow it. All field reads go through a cursor.
 */
#include "pcapng.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"

enum {
    PCAPNG_SHB = 0x0A0D0D0A,
    PCAPNG_IDB = 0x00000001,
    PCAPNG_OPB = 0x00000002,
    PCAPNG_SPB = 0x00000003,
    PCAPNG_EPB = 0x00000006,
    PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D,
    PCAPNG_OPT_ENDOFOPT = 0,
    PCAPNG_OPT_IF_TSRESOL = 9,
    PCAPNG_OPT_IF_TSOFFSET = 14,
    PCAPNG_DEFAULT_TSRESOL = 6, /* microseconds when if_tsresol is absent */
};

/* Block header (type, length) and trailer (length). */
#define PCAPNG_BLOCK_OVERHEAD 12u
#define PCAPNG_BUFFER_INITIAL_BYTES 65536u

typedef struct pcapng_interface {
    uint32_t linktype;
    uint32_t snaplen;      /* 0 = no limit */
    uint8_t tsresol;       /* if_tsresol: bit 7 set = 2^-n seconds, else 10^-n */
    int64_t tsoffset_secs; /* if_tsoffset, added to every timestamp */
} pcapng_interface;

struct pcapng_reader {
    FILE *fp;                     /* borrowed */
    anomaly_counters *anomalies;  /* borrowed, may be NULL */
    uint8_t *buf;                 /* block body (after type and length) */
    size_t buf_cap;               /* bytes allocated in buf */
    uint64_t offset;              /* bytes consumed from fp */
    int in_section;               /* 1 once the first SHB has been read */
    int big_endian;               /* byte order of the current section */
    pcapng_interface *interfaces; /* interfaces of the current section */
    uint32_t interface_count;
    uint32_t interface_cap;
    as_status failed; /* sticky error, AS_OK while healthy */
    char error[256];
};

/* ---------------------------------------------------------------- helpers */

static as_status pcapng_fail(pcapng_reader *reader, as_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static as_status pcapng_fail(pcapng_reader *reader, as_status status, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(reader->error, sizeof reader->error, fmt, args);
    va_end(args);
    reader->failed = status;
    return status;
}

static uint16_t pcapng_u16(const pcapng_reader *reader, cursor *c) {
    return reader->big_endian ? cursor_be16(c) : cursor_le16(c);
}

static uint32_t pcapng_u32(const pcapng_reader *reader, cursor *c) {
    return reader->big_endian ? cursor_be32(c) : cursor_le32(c);
}

static uint32_t pcapng_u32_of(const pcapng_reader *reader, const uint8_t *bytes) {
    cursor c = cursor_make(bytes, 4);
    return pcapng_u32(reader, &c);
}

static uint64_t pcapng_u64(const pcapng_reader *reader, cursor *c) {
    uint64_t first = pcapng_u32(reader, c);
    uint64_t second = pcapng_u32(reader, c);
    return reader->big_endian ? (first << 32) | second : (second << 32) | first;
}

/* Reads exactly n bytes: AS_OK, or the (sticky) error to return. */
static as_status pcapng_read(pcapng_reader *reader, void *dst, size_t n, uint64_t block_offset) {
    size_t got = fread(dst, 1, n, reader->fp);
    reader->offset += got;
    if (got == n)
        return AS_OK;
    if (ferror(reader->fp))
        return pcapng_fail(reader, AS_ERR_IO, "read error at offset %llu: %s",
                           (unsigned long long)reader->offset, strerror(errno));
    anomaly_count(reader->anomalies, ANOMALY_SOURCE_TRUNCATED_RECORD);
    return pcapng_fail(reader, AS_ERR_TRUNCATED,
                       "file ends inside the block at offset %llu (%llu bytes missing)",
                       (unsigned long long)block_offset, (unsigned long long)(n - got));
}

static as_status pcapng_reserve(pcapng_reader *reader, size_t need) {
    if (need <= reader->buf_cap)
        return AS_OK;
    size_t cap = reader->buf_cap ? reader->buf_cap : PCAPNG_BUFFER_INITIAL_BYTES;
    while (cap < need)
        cap *= 2;
    uint8_t *grown = realloc(reader->buf, cap);
    if (!grown)
        return pcapng_fail(reader, AS_ERR_NOMEM, "out of memory for a %zu-byte block", need);
    reader->buf = grown;
    reader->buf_cap = cap;
    return AS_OK;
}

/* Discards n bytes through the existing buffer, without growing it. */
static as_status pcapng_skip(pcapng_reader *reader, size_t n, uint64_t block_offset) {
    while (n > 0) {
        size_t chunk = n < reader->buf_cap ? n : reader->buf_cap;
        as_status status = pcapng_read(reader, reader->buf, chunk, block_offset);
        if (status != AS_OK)
            return status;
        n -= chunk;
    }
    return AS_OK;
}

/*
 * Converts a timestamp in interface units to nanoseconds since the epoch.
 * Units are 10^-n s, or 2^-n s when bit 7 of if_tsresol is set. Arithmetic
 * is unsigned so hostile values wrap instead of overflowing.
 */
static uint64_t pcapng_ticks_to_ns(uint64_t ticks, const pcapng_interface *iface) {
    const uint64_t ns_per_sec = 1000000000u;
    unsigned exponent = iface->tsresol & 0x7f;
    uint64_t ns;
    if (iface->tsresol & 0x80) {
        uint64_t secs = exponent >= 64 ? 0 : ticks >> exponent;
        uint64_t frac = exponent >= 64 ? ticks : ticks & ((UINT64_C(1) << exponent) - 1);
        /* frac < 2^exponent; keep frac * 10^9 below 2^64 by dropping sub-ns bits */
        unsigned shift = exponent;
        if (shift > 34) {
            frac = (shift - 34) >= 64 ? 0 : frac >> (shift - 34);
            shift = 34;
        }
        ns = secs * ns_per_sec + ((frac * ns_per_sec) >> shift);
    } else if (exponent <= 9) {
        uint64_t scale = 1;
        for (unsigned i = exponent; i < 9; i++)
            scale *= 10;
        ns = ticks * scale;
    } else {
        uint64_t divisor = 1;
        for (unsigned i = 9; i < exponent && divisor <= UINT64_MAX / 10; i++)
            divisor *= 10;
        ns = exponent - 9 > 19 ? 0 : ticks / divisor;
    }
    return ns + (uint64_t)iface->tsoffset_secs * ns_per_sec;
}

/* ---------------------------------------------------------------- blocks */

/* SHB body after the byte-order magic: version, section length, options. */
static as_status pcapng_section_header(pcapng_reader *reader, cursor *c, uint64_t block_offset) {
    uint16_t major = pcapng_u16(reader, c);
    uint16_t minor = pcapng_u16(reader, c);
    cursor_skip(c, 8); /* section length: may be -1, not needed to read sequentially */
    if (!cursor_ok(c))
        return pcapng_fail(reader, AS_ERR_FORMAT,
                           "section header block at offset %llu is too short",
                           (unsigned long long)block_offset);
    if (major != 1)
        return pcapng_fail(reader, AS_ERR_FORMAT,
                           "section header block at offset %llu: unsupported pcapng version %u.%u",
                           (unsigned long long)block_offset, major, minor);
    reader->in_section = 1;
    reader->interface_count = 0;
    return AS_OK;
}

static void pcapng_interface_options(pcapng_reader *reader, cursor *c, pcapng_interface *iface) {
    while (cursor_left(c) >= 4) {
        uint16_t code = pcapng_u16(reader, c);
        uint16_t len = pcapng_u16(reader, c);
        const uint8_t *value = cursor_take(c, ((size_t)len + 3u) & ~(size_t)3u);
        if (!value) {
            anomaly_count(reader->anomalies, ANOMALY_SOURCE_BAD_BLOCK);
            return;
        }
        if (code == PCAPNG_OPT_ENDOFOPT)
            return;
        if (code == PCAPNG_OPT_IF_TSRESOL && len == 1) {
            iface->tsresol = value[0];
        } else if (code == PCAPNG_OPT_IF_TSOFFSET && len == 8) {
            cursor v = cursor_make(value, 8);
            iface->tsoffset_secs = (int64_t)pcapng_u64(reader, &v);
        }
    }
}

static as_status pcapng_interface_description(pcapng_reader *reader, cursor *c) {
    pcapng_interface iface = {0};
    iface.linktype = pcapng_u16(reader, c);
    cursor_skip(c, 2); /* reserved */
    iface.snaplen = pcapng_u32(reader, c);
    iface.tsresol = PCAPNG_DEFAULT_TSRESOL;
    if (!cursor_ok(c) || reader->interface_count >= PCAPNG_INTERFACES_MAX) {
        anomaly_count(reader->anomalies, ANOMALY_SOURCE_BAD_BLOCK);
        return AS_OK;
    }
    pcapng_interface_options(reader, c, &iface);
    if (reader->interface_count == reader->interface_cap) {
        uint32_t cap = reader->interface_cap ? reader->interface_cap * 2 : 8;
        pcapng_interface *grown = realloc(reader->interfaces, cap * sizeof *grown);
        if (!grown)
            return pcapng_fail(reader, AS_ERR_NOMEM, "out of memory for interface %u",
                               reader->interface_count);
        reader->interfaces = grown;
        reader->interface_cap = cap;
    }
    reader->interfaces[reader->interface_count++] = iface;
    return AS_OK;
}

/* Fills pkt from a packet block's common fields; AS_SKIP for an unknown interface. */
static as_status pcapng_packet(pcapng_reader *reader, capture_packet *pkt, uint32_t interface_id,
                               uint64_t ticks, int has_time, const uint8_t *data, uint32_t caplen,
                               uint32_t wirelen) {
    if (interface_id >= reader->interface_count) {
        anomaly_count(reader->anomalies, ANOMALY_SOURCE_UNKNOWN_INTERFACE);
        return AS_SKIP;
    }
    const pcapng_interface *iface = &reader->interfaces[interface_id];
    if (iface->snaplen != 0 && caplen > iface->snaplen)
        anomaly_count(reader->anomalies, ANOMALY_SOURCE_CAPLEN_OVER_SNAPLEN);
    pkt->data = data;
    pkt->caplen = caplen;
    pkt->wirelen = wirelen < caplen ? caplen : wirelen;
    pkt->ts_ns = has_time ? pcapng_ticks_to_ns(ticks, iface) : 0;
    pkt->linktype = iface->linktype;
    pkt->interface_id = interface_id;
    return AS_OK;
}

/* Enhanced (EPB) and obsolete (OPB) packet blocks share their layout but the id width. */
static as_status pcapng_enhanced_packet(pcapng_reader *reader, cursor *c, int obsolete,
                                        uint64_t block_offset, capture_packet *pkt) {
    uint32_t interface_id;
    if (obsolete) {
        interface_id = pcapng_u16(reader, c);
        cursor_skip(c, 2); /* drops count */
    } else {
        interface_id = pcapng_u32(reader, c);
    }
    uint64_t ts_high = pcapng_u32(reader, c);
    uint64_t ts_low = pcapng_u32(reader, c);
    uint32_t caplen = pcapng_u32(reader, c);
    uint32_t wirelen = pcapng_u32(reader, c);
    if (!cursor_ok(c)) {
        anomaly_count(reader->anomalies, ANOMALY_SOURCE_BAD_BLOCK);
        return AS_SKIP;
    }
    const uint8_t *data = cursor_take(c, caplen);
    if (!data)
        return pcapng_fail(reader, AS_ERR_FORMAT,
                           "packet block at offset %llu: captured length %u exceeds the block",
                           (unsigned long long)block_offset, caplen);
    return pcapng_packet(reader, pkt, interface_id, (ts_high << 32) | ts_low, 1, data, caplen,
                         wirelen);
}

/* Simple packet block: interface 0, no timestamp, captured length implied. */
static as_status pcapng_simple_packet(pcapng_reader *reader, cursor *c, capture_packet *pkt) {
    uint32_t wirelen = pcapng_u32(reader, c);
    if (!cursor_ok(c)) {
        anomaly_count(reader->anomalies, ANOMALY_SOURCE_BAD_BLOCK);
        return AS_SKIP;
    }
    size_t caplen = cursor_left(c);
    if (caplen > wirelen)
        caplen = wirelen;
    if (reader->interface_count > 0 && reader->interfaces[0].snaplen != 0 &&
        caplen > reader->interfaces[0].snaplen)
        caplen = reader->interfaces[0].snaplen;
    return pcapng_packet(reader, pkt, 0, 0, 0, c->pos, (uint32_t)caplen, wirelen);
}

/* ---------------------------------------------------------------- reader */

as_status pcapng_reader_create(FILE *fp, anomaly_counters *anomalies, pcapng_reader **out) {
    if (!out)
        return AS_ERR_ARG;
    *out = NULL;
    if (!fp)
        return AS_ERR_ARG;
    pcapng_reader *reader = calloc(1, sizeof *reader);
    if (!reader)
        return AS_ERR_NOMEM;
    reader->fp = fp;
    reader->anomalies = anomalies;
    reader->failed = AS_OK;
    if (pcapng_reserve(reader, PCAPNG_BUFFER_INITIAL_BYTES) != AS_OK) {
        free(reader);
        return AS_ERR_NOMEM;
    }
    *out = reader;
    return AS_OK;
}

as_status pcapng_reader_next(pcapng_reader *reader, capture_packet *pkt) {
    if (!reader || !pkt)
        return AS_ERR_ARG;
    if (reader->failed != AS_OK)
        return reader->failed;
    for (;;) {
        uint64_t block_offset = reader->offset;
        uint8_t head[8];
        size_t got = fread(head, 1, sizeof head, reader->fp);
        reader->offset += got;
        if (got == 0) {
            if (ferror(reader->fp))
                return pcapng_fail(reader, AS_ERR_IO, "read error at offset %llu: %s",
                                   (unsigned long long)block_offset, strerror(errno));
            return AS_DONE;
        }
        if (got < sizeof head) {
            anomaly_count(reader->anomalies, ANOMALY_SOURCE_TRUNCATED_RECORD);
            return pcapng_fail(reader, AS_ERR_TRUNCATED,
                               "file ends inside the block header at offset %llu",
                               (unsigned long long)block_offset);
        }
        cursor type_cursor = cursor_make(head, 4);
        uint32_t type = cursor_be32(&type_cursor); /* the SHB type reads the same either way */
        size_t prefix = 0;                         /* body bytes already read */
        if (type == PCAPNG_SHB) {
            as_status status = pcapng_read(reader, reader->buf, 4, block_offset);
            if (status != AS_OK)
                return status;
            prefix = 4;
            cursor magic = cursor_make(reader->buf, 4);
            uint32_t byte_order = cursor_be32(&magic);
            if (byte_order == PCAPNG_BYTE_ORDER_MAGIC)
                reader->big_endian = 1;
            else if (byte_order == 0x4D3C2B1A)
                reader->big_endian = 0;
            else
                return pcapng_fail(reader, AS_ERR_FORMAT,
                                   "section header block at offset %llu: bad byte-order magic "
                                   "0x%08x",
                                   (unsigned long long)block_offset, byte_order);
        } else if (!reader->in_section) {
            return pcapng_fail(reader, AS_ERR_FORMAT,
                               "block at offset %llu: file does not start with a section header",
                               (unsigned long long)block_offset);
        } else {
            type = pcapng_u32_of(reader, head);
        }
        uint32_t length = pcapng_u32_of(reader, head + 4);
        if (length < PCAPNG_BLOCK_OVERHEAD || length % 4 != 0 || length > PCAPNG_BLOCK_MAX_BYTES)
            return pcapng_fail(reader, AS_ERR_FORMAT,
                               "block at offset %llu: bad block length %u (type 0x%08x)",
                               (unsigned long long)block_offset, length, type);
        size_t body_len = length - 8; /* includes the trailing length */
        if (prefix > body_len)
            return pcapng_fail(reader, AS_ERR_FORMAT,
                               "block at offset %llu: block length %u too short for its type",
                               (unsigned long long)block_offset, length);
        int wanted = type == PCAPNG_SHB || type == PCAPNG_IDB || type == PCAPNG_EPB ||
                     type == PCAPNG_SPB || type == PCAPNG_OPB;
        if (!wanted) {
            as_status status = pcapng_skip(reader, body_len, block_offset);
            if (status != AS_OK)
                return status;
            continue;
        }
        as_status status = pcapng_reserve(reader, body_len);
        if (status == AS_OK)
            status = pcapng_read(reader, reader->buf + prefix, body_len - prefix, block_offset);
        if (status != AS_OK)
            return status;
        uint32_t trailer = pcapng_u32_of(reader, reader->buf + body_len - 4);
        if (trailer != length)
            return pcapng_fail(reader, AS_ERR_FORMAT,
                               "block at offset %llu: trailing length %u differs from %u",
                               (unsigned long long)block_offset, trailer, length);
        cursor c = cursor_make(reader->buf, body_len - 4);
        switch (type) {
        case PCAPNG_SHB:
            cursor_skip(&c, 4); /* byte-order magic, already decided */
            status = pcapng_section_header(reader, &c, block_offset);
            break;
        case PCAPNG_IDB:
            status = pcapng_interface_description(reader, &c);
            break;
        case PCAPNG_EPB:
        case PCAPNG_OPB:
            status = pcapng_enhanced_packet(reader, &c, type == PCAPNG_OPB, block_offset, pkt);
            if (status == AS_OK)
                return AS_OK;
            break;
        default: /* PCAPNG_SPB */
            status = pcapng_simple_packet(reader, &c, pkt);
            if (status == AS_OK)
                return AS_OK;
            break;
        }
        if (status_is_error(status))
            return status;
    }
}

const char *pcapng_reader_error(const pcapng_reader *reader) {
    return reader ? reader->error : "";
}

uint64_t pcapng_reader_offset(const pcapng_reader *reader) {
    return reader ? reader->offset : 0;
}

void pcapng_reader_destroy(pcapng_reader *reader) {
    if (!reader)
        return;
    free(reader->interfaces);
    free(reader->buf);
    free(reader);
}
