/*
 * Packet sources: capture files and live interfaces behind one handle.
 *
 * A file is recognised by its first four bytes. pcapng goes to our own block
 * reader (pcapng.c), because libpcap 1.10 refuses files whose interfaces have
 * different link types; classic pcap (either byte order, micro- or
 * nanosecond magic) goes to libpcap, asked for nanosecond timestamps. The
 * peeked bytes are given back by rewinding a seekable file, or, for pipes
 * and standard input, by a replay stream (glibc fopencookie) that serves the
 * peeked bytes first and then reads on from the original stream.
 *
 * A classic pcap that is a regular file is read by pcapfile.c as long as it
 * serves the records exactly as libpcap would (it copies each packet once
 * where libpcap's stdio path copies it three times). libpcap opens the file
 * all the same, so its checks of the file header apply; at the first record
 * the fast reader refuses (a cut or oversized record), libpcap is moved to
 * that record and reads the rest, so damage is reported as before.
 *
 * Ownership: the source owns its stream. libpcap closes the stream it was
 * given in pcap_close(); the pcapng path closes it here. Standard input is
 * never closed. Messages name the file and, for read errors, the packet
 * number; they are kept in the handle, never printed.
 *
 * A group reads several live interfaces on one thread: each packet comes
 * from the next member with one ready (round robin), and when none has one
 * the group waits in one poll() on all their descriptors.
 *
 * Live capture uses pcap_create/pcap_activate in non-blocking mode and waits
 * itself, at most 100 ms, in poll() on the capture descriptor: the kernel
 * never hands over an empty TPACKET_V3 block, so a blocking read on an idle
 * link would never return. This way the reading thread regains control
 * regularly (AS_NEED_MORE) and notices a capture_source_break().
 */
#define _GNU_SOURCE
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "pcapfile.h"
#include "pcapng.h"

enum source_kind { SOURCE_PCAP, SOURCE_PCAPNG, SOURCE_LIVE, SOURCE_GROUP };

#define SOURCE_LIVE_TIMEOUT_MS 100
/* How often a read blocked on an idle pipe looks at the stop flag. */
#define SOURCE_PIPE_POLL_MS 200
#define SOURCE_PIPE_READ_BYTES (64 * 1024)
#define SOURCE_LIVE_SNAPLEN_DEFAULT 262144
#define SOURCE_LIVE_BUFFER_DEFAULT (64 * 1024 * 1024)
/* stdio buffer of a capture file: libpcap reads it record by record with
 * fread, and the default (one file system block) costs a read() every few
 * packets. 256 KiB stays in L2 between the kernel's copy and libpcap's. */
#define SOURCE_FILE_BUFFER_BYTES (256 * 1024)

/* Replay stream state: the peeked magic, then the rest of `inner`. */
typedef struct source_replay {
    FILE *inner;              /* original stream; closed with the replay stream unless stdin */
    int fd;                   /* inner's descriptor, read directly (inner is unbuffered), or -1 */
    const volatile int *stop; /* the source's capture_source_break flag */
    uint8_t peek[4];          /* bytes already read from inner */
    size_t peek_len;          /* valid bytes in peek */
    size_t peek_pos;          /* next byte of peek to serve */
    uint64_t consumed;        /* bytes served so far (progress for unseekable input) */
    char buffer[SOURCE_PIPE_READ_BYTES]; /* the replay stream's stdio buffer */
} source_replay;

struct capture_source {
    enum source_kind kind;
    pcap_t *pcap;                /* SOURCE_PCAP and SOURCE_LIVE */
    pcapfile_reader *pcapfile;   /* SOURCE_PCAP: serves records until it refuses one */
    pcapng_reader *pcapng;       /* SOURCE_PCAPNG */
    FILE *stream;                /* SOURCE_PCAPNG: closed here unless stdin */
    char *stream_buffer;         /* stdio buffer of a file we opened; freed after its stream */
    source_replay *replay;       /* set while a replay stream feeds the reader */
    int poll_fd;                 /* SOURCE_LIVE: descriptor to wait on, -1 = blocking reads */
    uint32_t linktype;           /* SOURCE_PCAP and SOURCE_LIVE */
    uint64_t ts_unit_ns;         /* libpcap: 1 for nanosecond stamps, 1000 for micro */
    anomaly_counters *anomalies; /* borrowed, may be NULL */
    capture_source_stats stats;
    uint64_t last_ts_ns;        /* previous packet time, for source.time_backwards */
    uint64_t file_size;         /* bytes, 0 when unknown */
    uint32_t last_kernel_drops; /* pcap_stats counters are 32 bits and wrap */
    uint32_t last_iface_drops;
    capture_source **members; /* SOURCE_GROUP: live sources read in turn, owned */
    unsigned member_count;
    unsigned next_member; /* SOURCE_GROUP: where the next round starts */
    volatile int stop;    /* set by capture_source_break */
    char name[256];       /* file or interface, for messages */
    char error[512];
};

/* ---------------------------------------------------------------- helpers */

static void source_message(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void source_message(char *buf, size_t len, const char *fmt, ...) {
    if (!buf || len == 0)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(buf, len, fmt, args);
    va_end(args);
}

static void source_close_stream(FILE *fp) {
    if (fp && fp != stdin)
        fclose(fp);
}

/* libpcap reports DLT_ values; the few that differ from LINKTYPE_ are mapped back. */
static uint32_t source_linktype_of_dlt(int dlt) {
    if (dlt == DLT_RAW)
        return LINK_RAW;
    return (uint32_t)dlt;
}

static capture_source *source_new(const char *name, anomaly_counters *anomalies) {
    capture_source *src = calloc(1, sizeof *src);
    if (!src)
        return NULL;
    src->anomalies = anomalies;
    src->ts_unit_ns = 1;
    src->poll_fd = -1;
    snprintf(src->name, sizeof src->name, "%s", name ? name : "capture");
    return src;
}

/* Frees the handle once its stream is closed (the stdio buffer goes last). */
static void source_free(capture_source *src) {
    free(src->stream_buffer);
    free(src);
}

/* ---------------------------------------------------------------- replay stream */

/* A descriptor that is not a regular file (pipe, socket, terminal): read
 * once, through the replay stream. */
static int source_is_pipe(FILE *fp) {
    int fd = fileno(fp);
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
}

/* Waits until fd has data (or its end) or *stop is set, looking at the
 * flag every SOURCE_PIPE_POLL_MS: a pipe that stays idle must not hold
 * the sensor past SIGTERM. 1 = read now, 0 = stopped. */
static int source_wait_readable(int fd, const volatile int *stop) {
    while (!*stop) {
        struct pollfd waiting = {.fd = fd, .events = POLLIN};
        if (poll(&waiting, 1, SOURCE_PIPE_POLL_MS) != 0)
            return 1; /* data, end, error, or EINTR: read() tells */
    }
    return 0;
}

static ssize_t source_replay_read(void *cookie, char *buf, size_t size) {
    source_replay *replay = cookie;
    size_t n = 0;
    while (n < size && replay->peek_pos < replay->peek_len)
        buf[n++] = (char)replay->peek[replay->peek_pos++];
    if (n < size && replay->fd >= 0) {
        while (n == 0 && source_wait_readable(replay->fd, replay->stop)) {
            ssize_t got = read(replay->fd, buf, size);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got < 0)
                return -1;
            n = (size_t)got;
            break;
        }
    } else if (n < size) {
        size_t got = fread(buf + n, 1, size - n, replay->inner);
        if (got == 0 && n == 0 && ferror(replay->inner))
            return -1;
        n += got;
    }
    replay->consumed += n;
    return (ssize_t)n;
}

static int source_replay_close(void *cookie) {
    source_replay *replay = cookie;
    source_close_stream(replay->inner);
    free(replay);
    return 0;
}

/* Wraps fp so that reading starts again at the peeked bytes. Owns fp on success. */
static FILE *source_replay_open(FILE *fp, const uint8_t *peek, size_t peek_len,
                                const volatile int *stop, source_replay **out) {
    source_replay *replay = calloc(1, sizeof *replay);
    if (!replay)
        return NULL;
    replay->inner = fp;
    replay->fd = source_is_pipe(fp) ? fileno(fp) : -1;
    replay->stop = stop;
    memcpy(replay->peek, peek, peek_len);
    replay->peek_len = peek_len;
    cookie_io_functions_t functions = {
        .read = source_replay_read, .write = NULL, .seek = NULL, .close = source_replay_close};
    FILE *wrapped = fopencookie(replay, "rb", functions);
    if (!wrapped) {
        free(replay);
        return NULL;
    }
    /* one read() can take a whole pipe buffer (64 KiB on Linux) */
    setvbuf(wrapped, replay->buffer, _IOFBF, sizeof replay->buffer);
    *out = replay;
    return wrapped;
}

/* ---------------------------------------------------------------- files */

enum source_format { SOURCE_FORMAT_UNKNOWN, SOURCE_FORMAT_PCAP, SOURCE_FORMAT_PCAPNG };

static enum source_format source_format_of(const uint8_t magic[4]) {
    static const uint8_t pcap_magics[][4] = {
        {0xa1, 0xb2, 0xc3, 0xd4}, /* microseconds, big-endian */
        {0xd4, 0xc3, 0xb2, 0xa1}, /* microseconds, little-endian */
        {0xa1, 0xb2, 0x3c, 0x4d}, /* nanoseconds, big-endian */
        {0x4d, 0x3c, 0xb2, 0xa1}, /* nanoseconds, little-endian */
        {0xa1, 0xb2, 0xcd, 0x34}, /* Kuznetzov's patched tcpdump, big-endian */
        {0x34, 0xcd, 0xb2, 0xa1}, /* Kuznetzov's patched tcpdump, little-endian */
    };
    static const uint8_t pcapng_magic[4] = {0x0a, 0x0d, 0x0d, 0x0a};
    if (memcmp(magic, pcapng_magic, 4) == 0)
        return SOURCE_FORMAT_PCAPNG;
    for (size_t i = 0; i < sizeof pcap_magics / sizeof pcap_magics[0]; i++)
        if (memcmp(magic, pcap_magics[i], 4) == 0)
            return SOURCE_FORMAT_PCAP;
    return SOURCE_FORMAT_UNKNOWN;
}

/* A regular file can be rewound; pipes, terminals and sockets cannot. */
static int source_try_rewind(FILE *fp) {
    if (source_is_pipe(fp))
        return 0;
    return fseek(fp, 0, SEEK_SET) == 0;
}

static uint64_t source_size_of(FILE *fp) {
    int fd = fileno(fp);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        return (uint64_t)st.st_size;
    return 0;
}

static as_status source_open_pcap(capture_source *src, FILE *stream, char *errbuf,
                                  unsigned errbuf_len) {
    char pcap_errbuf[PCAP_ERRBUF_SIZE] = "";
    src->pcap =
        pcap_fopen_offline_with_tstamp_precision(stream, PCAP_TSTAMP_PRECISION_NANO, pcap_errbuf);
    if (!src->pcap) {
        source_close_stream(stream);
        int truncated = strstr(pcap_errbuf, "truncated") != NULL;
        source_message(errbuf, errbuf_len, "%s: %s", src->name, pcap_errbuf);
        return truncated ? AS_ERR_TRUNCATED : AS_ERR_FORMAT;
    }
    src->kind = SOURCE_PCAP;
    src->linktype = source_linktype_of_dlt(pcap_datalink(src->pcap));
    src->ts_unit_ns = pcap_get_tstamp_precision(src->pcap) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
    return AS_OK;
}

/* Puts the fast reader in front of libpcap when it serves this file the way
 * libpcap reads it (same link type, snapshot length and time unit). */
static void source_attach_pcapfile(capture_source *src, FILE *stream) {
    int fd = fileno(stream);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    pcapfile_reader *reader;
    if (pcapfile_reader_create(fd, &reader) != AS_OK)
        return;
    if (pcapfile_reader_linktype(reader) != src->linktype ||
        pcapfile_reader_snapshot(reader) != (uint32_t)pcap_snapshot(src->pcap) ||
        src->ts_unit_ns != 1) {
        pcapfile_reader_destroy(reader);
        return;
    }
    src->pcapfile = reader;
}

static as_status source_open_pcapng(capture_source *src, FILE *stream, char *errbuf,
                                    unsigned errbuf_len) {
    as_status status = pcapng_reader_create(stream, src->anomalies, &src->pcapng);
    if (status != AS_OK) {
        source_close_stream(stream);
        source_message(errbuf, errbuf_len, "%s: %s", src->name, status_message(status));
        return status;
    }
    src->kind = SOURCE_PCAPNG;
    src->stream = stream;
    return AS_OK;
}

/* Reads the first n bytes of a pipe with read(), each wait looking at
 * *stop (source_wait_readable). Returns the bytes read (short at the end
 * of input, or on an error: *error is its errno); *stopped is set when the
 * stop came first. */
static size_t source_pipe_peek(FILE *fp, uint8_t *buf, size_t n, const volatile int *stop,
                               int *stopped, int *error) {
    int fd = fileno(fp);
    size_t got = 0;
    *stopped = 0;
    *error = 0;
    while (got < n) {
        if (!source_wait_readable(fd, stop)) {
            *stopped = 1;
            break;
        }
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0)
            *error = errno;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* capture_source_open_stream; stream_buffer (may be NULL) is fp's stdio
 * buffer, owned by the source from here on; stop (may be NULL) as in
 * capture_source_open_input. */
static as_status source_open(FILE *fp, char *stream_buffer, const char *name,
                             const volatile int *stop, anomaly_counters *anomalies, char *errbuf,
                             unsigned errbuf_len, capture_source **out) {
    source_message(errbuf, errbuf_len, "%s", "");
    if (!out || !fp) {
        source_close_stream(fp);
        free(stream_buffer);
        source_message(errbuf, errbuf_len, "no capture stream given");
        return AS_ERR_ARG;
    }
    *out = NULL;
    capture_source *src = source_new(name, anomalies);
    if (!src) {
        source_close_stream(fp);
        free(stream_buffer);
        source_message(errbuf, errbuf_len, "%s: out of memory", name ? name : "capture");
        return AS_ERR_NOMEM;
    }
    src->stream_buffer = stream_buffer;
    /* a pipe is read with read() once its first bytes are known (see
     * source_replay_read): stdio must not buffer ahead of that */
    int pipe = source_is_pipe(fp);
    if (pipe)
        setvbuf(fp, NULL, _IONBF, 0);
    uint8_t magic[4];
    int stopped = 0, peek_error = 0;
    size_t got = pipe && stop
                     ? source_pipe_peek(fp, magic, sizeof magic, stop, &stopped, &peek_error)
                     : fread(magic, 1, sizeof magic, fp);
    if (stopped) {
        source_close_stream(fp);
        source_message(errbuf, errbuf_len, "%s: stopped before the capture began", src->name);
        source_free(src);
        return AS_DONE;
    }
    if (got < sizeof magic) {
        int read_error = ferror(fp) || peek_error;
        int saved_errno = peek_error ? peek_error : errno;
        source_close_stream(fp);
        if (read_error)
            source_message(errbuf, errbuf_len, "%s: cannot read: %s", src->name,
                           strerror(saved_errno));
        else
            source_message(errbuf, errbuf_len, "%s: %s, not a pcap or pcapng capture", src->name,
                           got == 0 ? "empty file" : "too short");
        source_free(src);
        return read_error ? AS_ERR_IO : AS_ERR_FORMAT;
    }
    enum source_format format = source_format_of(magic);
    if (format == SOURCE_FORMAT_UNKNOWN) {
        source_close_stream(fp);
        source_message(errbuf, errbuf_len,
                       "%s: not a pcap or pcapng capture (starts with %02x %02x %02x %02x)",
                       src->name, magic[0], magic[1], magic[2], magic[3]);
        source_free(src);
        return AS_ERR_FORMAT;
    }
    src->file_size = source_size_of(fp);
    FILE *stream = fp;
    if (!source_try_rewind(fp)) {
        stream = source_replay_open(fp, magic, sizeof magic, &src->stop, &src->replay);
        if (!stream) {
            source_close_stream(fp);
            source_message(errbuf, errbuf_len, "%s: out of memory", src->name);
            source_free(src);
            return AS_ERR_NOMEM;
        }
    }
    as_status status = format == SOURCE_FORMAT_PCAPNG
                           ? source_open_pcapng(src, stream, errbuf, errbuf_len)
                           : source_open_pcap(src, stream, errbuf, errbuf_len);
    if (status != AS_OK) {
        source_free(src);
        return status;
    }
    if (src->kind == SOURCE_PCAP && !src->replay)
        source_attach_pcapfile(src, stream);
    *out = src;
    return AS_OK;
}

as_status capture_source_open_stream(FILE *fp, const char *name, anomaly_counters *anomalies,
                                     char *errbuf, unsigned errbuf_len, capture_source **out) {
    return source_open(fp, NULL, name, NULL, anomalies, errbuf, errbuf_len, out);
}

as_status capture_source_open_file(const char *path, anomaly_counters *anomalies, char *errbuf,
                                   unsigned errbuf_len, capture_source **out) {
    return capture_source_open_input(path, NULL, anomalies, errbuf, errbuf_len, out);
}

/* A named FIFO opened for reading: fopen() would block in open() until a
 * writer comes, out of reach of the stop flag. Opened without blocking,
 * it is then read like a pipe: poll() waits for a writer's first bytes
 * (Linux reports no hang-up before a writer has come and gone). 1 with
 * *out set, 0 when path is not a FIFO, -1 when the open failed (errno). */
static int source_open_fifo(const char *path, FILE **out) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISFIFO(st.st_mode))
        return 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int flags = fcntl(fd, F_GETFL);
    *out = flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 ? fdopen(fd, "rb") : NULL;
    if (!*out) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return 1;
}

as_status capture_source_open_input(const char *path, const volatile int *stop,
                                    anomaly_counters *anomalies, char *errbuf, unsigned errbuf_len,
                                    capture_source **out) {
    if (out)
        *out = NULL;
    if (!path || !out) {
        source_message(errbuf, errbuf_len, "no capture file given");
        return AS_ERR_ARG;
    }
    if (strcmp(path, "-") == 0)
        return source_open(stdin, NULL, "standard input", stop, anomalies, errbuf, errbuf_len, out);
    FILE *fp = NULL;
    if (!stop || source_open_fifo(path, &fp) == 0)
        fp = fopen(path, "rb");
    if (!fp) {
        source_message(errbuf, errbuf_len, "cannot open capture file %s: %s", path,
                       strerror(errno));
        return AS_ERR_IO;
    }
    /* before any I/O on the stream; without the buffer stdio's default serves */
    char *buffer = malloc(SOURCE_FILE_BUFFER_BYTES);
    if (buffer && setvbuf(fp, buffer, _IOFBF, SOURCE_FILE_BUFFER_BYTES) != 0) {
        free(buffer);
        buffer = NULL;
    }
    return source_open(fp, buffer, path, stop, anomalies, errbuf, errbuf_len, out);
}

/* ---------------------------------------------------------------- live */

static as_status source_live_fail(capture_source *src, as_status status) {
    pcap_close(src->pcap);
    free(src);
    return status;
}

static as_status source_activate_error(const char *iface, pcap_t *pcap, int rc, char *errbuf,
                                       unsigned errbuf_len) {
    const char *detail = pcap_geterr(pcap);
    switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
        source_message(errbuf, errbuf_len,
                       "no such interface %s (list interfaces with 'ip link'): %s", iface, detail);
        return AS_ERR_ARG;
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        source_message(errbuf, errbuf_len,
                       "no permission to capture on %s: run as root or grant CAP_NET_RAW and "
                       "CAP_NET_ADMIN (%s)",
                       iface, detail);
        return AS_ERR_IO;
    case PCAP_ERROR_IFACE_NOT_UP:
        source_message(errbuf, errbuf_len, "interface %s is not up", iface);
        return AS_ERR_IO;
    default:
        source_message(errbuf, errbuf_len, "cannot capture on %s: %s (%s)", iface,
                       pcap_statustostr(rc), detail);
        return AS_ERR_IO;
    }
}

as_status capture_source_open_live(const char *iface, const capture_live_options *options,
                                   anomaly_counters *anomalies, char *errbuf, unsigned errbuf_len,
                                   capture_source **out) {
    source_message(errbuf, errbuf_len, "%s", "");
    if (out)
        *out = NULL;
    if (!iface || !*iface || !out) {
        source_message(errbuf, errbuf_len, "no capture interface given");
        return AS_ERR_ARG;
    }
    capture_live_options defaults = {0};
    if (!options)
        options = &defaults;
    capture_source *src = source_new(iface, anomalies);
    if (!src) {
        source_message(errbuf, errbuf_len, "%s: out of memory", iface);
        return AS_ERR_NOMEM;
    }
    char pcap_errbuf[PCAP_ERRBUF_SIZE] = "";
    src->pcap = pcap_create(iface, pcap_errbuf);
    if (!src->pcap) {
        source_message(errbuf, errbuf_len, "cannot open interface %s: %s", iface, pcap_errbuf);
        free(src);
        return AS_ERR_IO;
    }
    src->kind = SOURCE_LIVE;
    pcap_set_snaplen(src->pcap,
                     options->snaplen > 0 ? options->snaplen : SOURCE_LIVE_SNAPLEN_DEFAULT);
    pcap_set_promisc(src->pcap, options->promiscuous ? 1 : 0);
    pcap_set_timeout(src->pcap, SOURCE_LIVE_TIMEOUT_MS);
    pcap_set_buffer_size(src->pcap, options->buffer_bytes > 0 ? options->buffer_bytes
                                                              : SOURCE_LIVE_BUFFER_DEFAULT);
    pcap_set_immediate_mode(src->pcap, options->immediate ? 1 : 0);
    /* Not every platform offers nanosecond stamps; ts_unit_ns adapts below. */
    pcap_set_tstamp_precision(src->pcap, PCAP_TSTAMP_PRECISION_NANO);
    int rc = pcap_activate(src->pcap);
    if (rc < 0)
        return source_live_fail(src,
                                source_activate_error(iface, src->pcap, rc, errbuf, errbuf_len));
    if (options->filter && *options->filter) {
        struct bpf_program program;
        if (pcap_compile(src->pcap, &program, options->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
            source_message(errbuf, errbuf_len, "bad capture filter '%s': %s", options->filter,
                           pcap_geterr(src->pcap));
            return source_live_fail(src, AS_ERR_ARG);
        }
        rc = pcap_setfilter(src->pcap, &program);
        pcap_freecode(&program);
        if (rc < 0) {
            source_message(errbuf, errbuf_len, "cannot set capture filter on %s: %s", iface,
                           pcap_geterr(src->pcap));
            return source_live_fail(src, AS_ERR_IO);
        }
    }
    src->linktype = source_linktype_of_dlt(pcap_datalink(src->pcap));
    src->ts_unit_ns = pcap_get_tstamp_precision(src->pcap) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
    int fd = pcap_get_selectable_fd(src->pcap);
    if (fd >= 0 && pcap_setnonblock(src->pcap, 1, pcap_errbuf) == 0)
        src->poll_fd = fd;
    *out = src;
    return AS_OK;
}

/* ---------------------------------------------------------------- reading */

static as_status source_fail(capture_source *src, as_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static as_status source_fail(capture_source *src, as_status status, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(src->error, sizeof src->error, fmt, args);
    va_end(args);
    return status;
}

static as_status source_read_pcap(capture_source *src, capture_packet *pkt, int wait);

static as_status source_next_pcap(capture_source *src, capture_packet *pkt) {
    return source_read_pcap(src, pkt, 1);
}

/* Reads one packet from libpcap; live and nothing ready: waits at most
 * SOURCE_LIVE_TIMEOUT_MS when `wait`, and returns AS_NEED_MORE. */
static as_status source_read_pcap(capture_source *src, capture_packet *pkt, int wait) {
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int rc = pcap_next_ex(src->pcap, &hdr, &data);
    if (rc == 1) {
        uint64_t secs = hdr->ts.tv_sec > 0 ? (uint64_t)hdr->ts.tv_sec : 0;
        uint64_t frac = hdr->ts.tv_usec > 0 ? (uint64_t)hdr->ts.tv_usec : 0;
        pkt->data = data;
        pkt->caplen = hdr->caplen;
        pkt->wirelen = hdr->len < hdr->caplen ? hdr->caplen : hdr->len;
        pkt->ts_ns = secs * 1000000000u + frac * src->ts_unit_ns;
        pkt->linktype = src->linktype;
        pkt->interface_id = 0;
        return AS_OK;
    }
    if (rc == 0) {
        if (wait && src->poll_fd >= 0) {
            struct pollfd waiting = {.fd = src->poll_fd, .events = POLLIN};
            poll(&waiting, 1, SOURCE_LIVE_TIMEOUT_MS); /* EINTR: a signal, maybe a break */
        }
        return src->stop ? AS_DONE : AS_NEED_MORE;
    }
    if (rc == PCAP_ERROR_BREAK || src->stop)
        return AS_DONE; /* a stop cuts a piped capture anywhere */
    const char *detail = pcap_geterr(src->pcap);
    unsigned long long number = (unsigned long long)src->stats.packets + 1;
    if (src->kind == SOURCE_LIVE)
        return source_fail(src, AS_ERR_IO, "%s: capture failed: %s", src->name, detail);
    if (strstr(detail, "truncated")) {
        anomaly_count(src->anomalies, ANOMALY_SOURCE_TRUNCATED_RECORD);
        return source_fail(src, AS_ERR_TRUNCATED, "%s: packet %llu: %s", src->name, number, detail);
    }
    return source_fail(src, AS_ERR_FORMAT, "%s: packet %llu: %s", src->name, number, detail);
}

/* Counts a packet handed out. */
static void source_account(capture_source *src, const capture_packet *pkt) {
    if (pkt->ts_ns != 0) {
        if (pkt->ts_ns < src->last_ts_ns)
            anomaly_count(src->anomalies, ANOMALY_SOURCE_TIME_BACKWARDS);
        src->last_ts_ns = pkt->ts_ns;
    }
    src->stats.packets++;
    src->stats.bytes += pkt->caplen;
    src->stats.wire_bytes += pkt->wirelen;
}

/* The fast reader, and libpcap from the first record it refuses. */
static as_status source_next_pcapfile(capture_source *src, capture_packet *pkt) {
    as_status status = pcapfile_reader_next(src->pcapfile, pkt);
    if (status != AS_ERR_UNSUPPORTED)
        return status;
    uint64_t offset = pcapfile_reader_offset(src->pcapfile);
    pcapfile_reader_destroy(src->pcapfile);
    src->pcapfile = NULL;
    if (offset > (uint64_t)INT64_MAX || fseeko(pcap_file(src->pcap), (off_t)offset, SEEK_SET) != 0)
        return source_fail(src, AS_ERR_IO, "%s: cannot seek to offset %llu: %s", src->name,
                           (unsigned long long)offset, strerror(errno));
    return source_next_pcap(src, pkt);
}

/* One packet from the first member with one ready, starting after the
 * member served last (so a busy link cannot starve the others); when none
 * has one, waits on all of them at most SOURCE_LIVE_TIMEOUT_MS. */
static as_status source_next_group(capture_source *src, capture_packet *pkt) {
    for (unsigned i = 0; i < src->member_count; i++) {
        unsigned at = (src->next_member + i) % src->member_count;
        capture_source *member = src->members[at];
        as_status status = source_read_pcap(member, pkt, 0);
        if (status == AS_NEED_MORE)
            continue;
        if (status != AS_OK)
            return source_fail(src, status, "%s", member->error);
        source_account(member, pkt);
        pkt->interface_id = at;
        src->next_member = at + 1;
        return AS_OK;
    }
    struct pollfd waiting[APISENSOR_SOURCE_GROUP_MAX];
    nfds_t n = 0;
    for (unsigned i = 0; i < src->member_count; i++)
        if (src->members[i]->poll_fd >= 0)
            waiting[n++] = (struct pollfd){.fd = src->members[i]->poll_fd, .events = POLLIN};
    poll(waiting, n, SOURCE_LIVE_TIMEOUT_MS); /* EINTR: a signal, maybe a break */
    return src->stop ? AS_DONE : AS_NEED_MORE;
}

as_status capture_source_next(capture_source *src, capture_packet *pkt) {
    if (!src || !pkt)
        return AS_ERR_ARG;
    if (src->stop)
        return AS_DONE;
    as_status status;
    if (src->kind == SOURCE_PCAPNG) {
        status = pcapng_reader_next(src->pcapng, pkt);
        if (status_is_error(status) && src->stop)
            return AS_DONE;
        if (status_is_error(status))
            return source_fail(src, status, "%s: after packet %llu: %s", src->name,
                               (unsigned long long)src->stats.packets,
                               pcapng_reader_error(src->pcapng));
    } else if (src->kind == SOURCE_GROUP) {
        return source_next_group(src, pkt); /* the member counted the packet */
    } else if (src->pcapfile) {
        status = source_next_pcapfile(src, pkt);
    } else {
        status = source_next_pcap(src, pkt);
    }
    if (status != AS_OK)
        return status;
    source_account(src, pkt);
    return AS_OK;
}

as_status capture_source_next_batch(capture_source *src, capture_packet *pkts, unsigned max,
                                    unsigned *count) {
    if (!src || !pkts || !count || max == 0)
        return AS_ERR_ARG;
    *count = 0;
    as_status status = capture_source_next(src, &pkts[0]);
    if (status != AS_OK)
        return status;
    unsigned n = 1;
    while (src->pcapfile && n < max && !src->stop &&
           pcapfile_reader_next_buffered(src->pcapfile, &pkts[n]) == AS_OK)
        source_account(src, &pkts[n++]);
    *count = n;
    return AS_OK;
}

const char *capture_source_error(const capture_source *src) {
    return src ? src->error : "";
}

int capture_source_is_live(const capture_source *src) {
    return src && (src->kind == SOURCE_LIVE || src->kind == SOURCE_GROUP);
}

capture_source_stats capture_source_get_stats(capture_source *src) {
    capture_source_stats none = {0};
    if (!src)
        return none;
    if (src->kind == SOURCE_GROUP) {
        capture_source_stats sum = {0};
        for (unsigned i = 0; i < src->member_count; i++) {
            capture_source_stats m = capture_source_get_stats(src->members[i]);
            sum.packets += m.packets;
            sum.bytes += m.bytes;
            sum.wire_bytes += m.wire_bytes;
            sum.kernel_drops += m.kernel_drops;
            sum.iface_drops += m.iface_drops;
        }
        return sum;
    }
    struct pcap_stat ps;
    if (src->kind == SOURCE_LIVE && pcap_stats(src->pcap, &ps) == 0) {
        /* unsigned 32-bit differences survive one wrap between calls */
        src->stats.kernel_drops += (uint32_t)(ps.ps_drop - src->last_kernel_drops);
        src->stats.iface_drops += (uint32_t)(ps.ps_ifdrop - src->last_iface_drops);
        src->last_kernel_drops = ps.ps_drop;
        src->last_iface_drops = ps.ps_ifdrop;
    }
    return src->stats;
}

void capture_source_progress(const capture_source *src, uint64_t *offset, uint64_t *size) {
    uint64_t at = 0, total = 0;
    if (src) {
        total = src->file_size;
        if (src->kind == SOURCE_PCAPNG) {
            at = pcapng_reader_offset(src->pcapng);
        } else if (src->pcapfile) {
            at = pcapfile_reader_offset(src->pcapfile);
        } else if (src->kind == SOURCE_PCAP && src->replay) {
            at = src->replay->consumed;
        } else if (src->kind == SOURCE_PCAP) {
            long pos = ftell(pcap_file(src->pcap));
            at = pos > 0 ? (uint64_t)pos : 0;
        }
    }
    if (offset)
        *offset = at;
    if (size)
        *size = total;
}

void capture_source_break(capture_source *src) {
    if (!src)
        return;
    src->stop = 1;
    if (src->pcap)
        pcap_breakloop(src->pcap);
    for (unsigned i = 0; i < src->member_count; i++)
        capture_source_break(src->members[i]);
}

void capture_source_destroy(capture_source *src) {
    if (!src)
        return;
    pcapfile_reader_destroy(src->pcapfile); /* before libpcap closes its descriptor */
    if (src->pcap)
        pcap_close(src->pcap); /* closes the stream it was given, except stdin */
    if (src->pcapng) {
        pcapng_reader_destroy(src->pcapng);
        source_close_stream(src->stream);
    }
    for (unsigned i = 0; i < src->member_count; i++)
        capture_source_destroy(src->members[i]);
    free(src->members);
    source_free(src);
}

as_status capture_source_open_group(capture_source *const *members, unsigned count, char *errbuf,
                                    unsigned errbuf_len, capture_source **out) {
    source_message(errbuf, errbuf_len, "%s", "");
    if (out)
        *out = NULL;
    int live = count > 0 && count <= APISENSOR_SOURCE_GROUP_MAX && out;
    for (unsigned i = 0; live && i < count; i++)
        live = members[i] && members[i]->kind == SOURCE_LIVE;
    if (!live) {
        source_message(errbuf, errbuf_len, "a source group takes 1 to %d live interfaces",
                       APISENSOR_SOURCE_GROUP_MAX);
        return AS_ERR_ARG;
    }
    capture_source *src = source_new("interfaces", NULL);
    capture_source **owned = calloc(count, sizeof *owned);
    if (!src || !owned) {
        free(owned);
        free(src);
        source_message(errbuf, errbuf_len, "interfaces: out of memory");
        return AS_ERR_NOMEM;
    }
    memcpy(owned, members, count * sizeof *owned);
    src->kind = SOURCE_GROUP;
    src->members = owned;
    src->member_count = count;
    *out = src;
    return AS_OK;
}
