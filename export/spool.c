/*
 * The on-disk spool (see spool.h).
 *
 * Segments are numbered; head_seq is the oldest (being read), tail_seq the
 * newest (being appended to; they may be the same file). Appends are
 * gathered in a 64 KiB buffer and written at the tail's end with pwrite; a
 * read of the tail segment first writes the buffer out. The read position is
 * stored in the head segment's header every SPOOL_SYNC_EVERY pops and on
 * sync, so a crash replays at most that many events twice (at-least-once),
 * and a clean close replays none.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_MAGIC "ASPOOL1\n"
#define SPOOL_HEADER 16u
#define SPOOL_RECORD_HEAD 12u
#define SPOOL_SEGMENT_MAX (16u << 20)
#define SPOOL_SEGMENT_MIN (64u << 10)
#define SPOOL_BUFFER (64u << 10)
#define SPOOL_SYNC_EVERY 256u
#define SPOOL_RECORD_MAX (64u << 20) /* a longer record in a file is corruption */

struct spool {
    char dir[PATH_MAX];
    uint64_t max_bytes;
    uint64_t segment_max;
    uint64_t pending_bytes;
    uint64_t pending_records;
    int have_segments;
    uint64_t head_seq;
    int head_fd;
    uint64_t head_offset;
    uint64_t head_end; /* bytes of the head segment on disk (head != tail) */
    uint64_t tail_seq;
    int tail_fd;
    uint64_t tail_written; /* bytes of the tail segment on disk */
    char wbuf[SPOOL_BUFFER];
    size_t wlen;
    char *rbuf;
    size_t rcap;
    uint64_t peeked; /* bytes of the record spool_peek returned; 0 = none */
    uint32_t pops_unsynced;
    char error[PATH_MAX + 128];
};

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static as_status fail(spool *s, const char *what, uint64_t seq) {
    snprintf(s->error, sizeof s->error, "spool %s: segment %012" PRIu64 ": %s: %s", s->dir, seq,
             what, strerror(errno));
    return AS_ERR_IO;
}

static void segment_path(const spool *s, uint64_t seq, char *out, size_t outlen) {
    snprintf(out, outlen, "%s/%012" PRIu64 ".spool", s->dir, seq);
}

/* pread or pwrite of all len bytes (retrying short transfers); 1 on success. */
static int full_io(int fd, int writing, void *data, size_t len, uint64_t offset) {
    char *p = data;
    while (len > 0) {
        ssize_t n = writing ? pwrite(fd, p, len, (off_t)offset) : pread(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 1;
}

static int full_pwrite(int fd, const void *data, size_t len, uint64_t offset) {
    return full_io(fd, 1, (void *)data, len, offset);
}

static int full_pread(int fd, void *data, size_t len, uint64_t offset) {
    return full_io(fd, 0, data, len, offset);
}

static int write_header(int fd, uint64_t read_offset) {
    unsigned char header[SPOOL_HEADER];
    memcpy(header, SPOOL_MAGIC, 8);
    put_u64(header + 8, read_offset);
    return full_pwrite(fd, header, sizeof header, 0);
}

/* Counts the whole records of a segment from offset; returns the end of the
 * last whole record. */
static uint64_t scan_segment(int fd, uint64_t offset, uint64_t size, uint64_t *records) {
    unsigned char head[SPOOL_RECORD_HEAD];
    while (offset + SPOOL_RECORD_HEAD <= size && full_pread(fd, head, sizeof head, offset)) {
        uint64_t len = SPOOL_RECORD_HEAD + (uint64_t)get_u32(head + 4) + get_u32(head + 8);
        if (len > SPOOL_RECORD_MAX || offset + len > size)
            break;
        offset += len;
        (*records)++;
    }
    return offset;
}

static as_status flush_buffer(spool *s) {
    if (s->wlen == 0)
        return AS_OK;
    if (!full_pwrite(s->tail_fd, s->wbuf, s->wlen, s->tail_written))
        return fail(s, "write", s->tail_seq);
    s->tail_written += s->wlen;
    s->wlen = 0;
    return AS_OK;
}

static as_status open_head(spool *s) {
    char path[PATH_MAX + 32];
    unsigned char header[SPOOL_HEADER];
    segment_path(s, s->head_seq, path, sizeof path);
    s->head_fd = open(path, O_RDWR | O_CLOEXEC);
    if (s->head_fd < 0)
        return fail(s, "open", s->head_seq);
    struct stat st;
    if (fstat(s->head_fd, &st) != 0 || !full_pread(s->head_fd, header, sizeof header, 0) ||
        memcmp(header, SPOOL_MAGIC, 8) != 0)
        return fail(s, "not a spool segment", s->head_seq);
    s->head_offset = get_u64(header + 8);
    s->head_end = (uint64_t)st.st_size;
    if (s->head_offset < SPOOL_HEADER || s->head_offset > s->head_end)
        s->head_offset = SPOOL_HEADER;
    return AS_OK;
}

/* Opens every segment left by an earlier run: counts its events, cuts a
 * torn record off the newest one. */
static as_status load_existing(spool *s) {
    DIR *d = opendir(s->dir);
    if (!d) {
        snprintf(s->error, sizeof s->error, "spool %s: cannot read the directory: %s", s->dir,
                 strerror(errno));
        return AS_ERR_IO;
    }
    struct dirent *e;
    uint64_t lo = UINT64_MAX, hi = 0;
    while ((e = readdir(d)) != NULL) {
        char *end = NULL;
        unsigned long long seq = strtoull(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, ".spool") != 0 || seq == 0)
            continue;
        if (seq < lo)
            lo = seq;
        if (seq > hi)
            hi = seq;
    }
    closedir(d);
    if (hi == 0)
        return AS_OK;
    for (uint64_t seq = lo; seq <= hi; seq++) {
        char path[PATH_MAX + 32];
        unsigned char header[SPOOL_HEADER];
        segment_path(s, seq, path, sizeof path);
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            continue; /* a gap in the numbers: removed by hand */
        struct stat st;
        if (fstat(fd, &st) != 0 || !full_pread(fd, header, sizeof header, 0) ||
            memcmp(header, SPOOL_MAGIC, 8) != 0) {
            close(fd);
            continue; /* not ours: left alone */
        }
        uint64_t offset = get_u64(header + 8);
        if (offset < SPOOL_HEADER || offset > (uint64_t)st.st_size)
            offset = SPOOL_HEADER;
        uint64_t records = 0;
        uint64_t end = scan_segment(fd, offset, (uint64_t)st.st_size, &records);
        if (seq == hi && end < (uint64_t)st.st_size && ftruncate(fd, (off_t)end) != 0) {
            close(fd);
            return fail(s, "truncate a torn record", seq);
        }
        close(fd);
        if (!s->have_segments) {
            s->have_segments = 1;
            s->head_seq = seq;
        }
        s->tail_seq = seq;
        s->pending_records += records;
        s->pending_bytes += end - offset;
    }
    if (!s->have_segments)
        return AS_OK;
    as_status st = open_head(s);
    if (st != AS_OK)
        return st;
    char path[PATH_MAX + 32];
    segment_path(s, s->tail_seq, path, sizeof path);
    s->tail_fd = open(path, O_RDWR | O_CLOEXEC);
    if (s->tail_fd < 0)
        return fail(s, "open", s->tail_seq);
    struct stat tail_stat;
    if (fstat(s->tail_fd, &tail_stat) != 0)
        return fail(s, "stat", s->tail_seq);
    s->tail_written = (uint64_t)tail_stat.st_size;
    return AS_OK;
}

as_status spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen, spool **out) {
    *out = NULL;
    spool *s = calloc(1, sizeof *s);
    if (!s)
        return AS_ERR_NOMEM;
    s->head_fd = -1;
    s->tail_fd = -1;
    s->max_bytes = max_bytes;
    s->segment_max = max_bytes / 4 < SPOOL_SEGMENT_MAX ? max_bytes / 4 : SPOOL_SEGMENT_MAX;
    if (s->segment_max < SPOOL_SEGMENT_MIN)
        s->segment_max = SPOOL_SEGMENT_MIN;
    as_status st = AS_OK;
    if (strlen(dir) >= sizeof s->dir) {
        snprintf(s->error, sizeof s->error, "spool directory name too long");
        st = AS_ERR_ARG;
    } else {
        memcpy(s->dir, dir, strlen(dir) + 1);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(s->error, sizeof s->error, "spool %s: cannot create the directory: %s", dir,
                     strerror(errno));
            st = AS_ERR_IO;
        } else if (access(dir, R_OK | W_OK | X_OK) != 0) {
            snprintf(s->error, sizeof s->error, "spool %s: directory not writable: %s", dir,
                     strerror(errno));
            st = AS_ERR_IO;
        } else {
            st = load_existing(s);
        }
    }
    if (st != AS_OK) {
        snprintf(err, errlen, "%s", s->error);
        spool_close(s);
        return st;
    }
    *out = s;
    return AS_OK;
}

/* Starts segment tail_seq + 1 (the first one when there is none). */
static as_status new_segment(spool *s) {
    as_status st = flush_buffer(s);
    if (st != AS_OK)
        return st;
    uint64_t seq = s->have_segments ? s->tail_seq + 1 : 1;
    char path[PATH_MAX + 32];
    segment_path(s, seq, path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(s, "create", seq);
    if (!write_header(fd, SPOOL_HEADER)) {
        close(fd);
        unlink(path);
        return fail(s, "write", seq);
    }
    if (s->have_segments && s->head_seq == s->tail_seq)
        s->head_end = s->tail_written; /* the head stops growing */
    if (s->tail_fd >= 0 && s->tail_fd != s->head_fd)
        close(s->tail_fd);
    s->tail_fd = fd;
    s->tail_seq = seq;
    s->tail_written = SPOOL_HEADER;
    if (!s->have_segments) {
        s->have_segments = 1;
        s->head_seq = seq;
        s->head_fd = fd;
        s->head_offset = SPOOL_HEADER;
        s->head_end = SPOOL_HEADER;
    }
    return AS_OK;
}

as_status spool_append(spool *s, uint32_t topic, const char *key, uint32_t key_len,
                       const char *value, uint32_t value_len) {
    uint64_t len = SPOOL_RECORD_HEAD + (uint64_t)key_len + value_len;
    if (len > SPOOL_RECORD_MAX || s->pending_bytes + len > s->max_bytes) {
        snprintf(s->error, sizeof s->error,
                 "spool %s is full (%" PRIu64 " of %" PRIu64 " bytes): events dropped", s->dir,
                 s->pending_bytes, s->max_bytes);
        return AS_ERR_LIMIT;
    }
    if (!s->have_segments || (s->tail_written + s->wlen + len > s->segment_max &&
                              s->tail_written + s->wlen > SPOOL_HEADER)) {
        as_status st = new_segment(s);
        if (st != AS_OK)
            return st;
    }
    unsigned char head[SPOOL_RECORD_HEAD];
    put_u32(head, topic);
    put_u32(head + 4, key ? key_len : 0);
    put_u32(head + 8, value_len);
    if (!key)
        key_len = 0;
    if (s->wlen + len > sizeof s->wbuf) {
        as_status st = flush_buffer(s);
        if (st != AS_OK)
            return st;
    }
    if (len > sizeof s->wbuf) {
        uint64_t at = s->tail_written;
        if (!full_pwrite(s->tail_fd, head, sizeof head, at) ||
            !full_pwrite(s->tail_fd, key, key_len, at + SPOOL_RECORD_HEAD) ||
            !full_pwrite(s->tail_fd, value, value_len, at + SPOOL_RECORD_HEAD + key_len))
            return fail(s, "write", s->tail_seq);
        s->tail_written += len;
    } else {
        memcpy(s->wbuf + s->wlen, head, sizeof head);
        if (key_len)
            memcpy(s->wbuf + s->wlen + SPOOL_RECORD_HEAD, key, key_len);
        memcpy(s->wbuf + s->wlen + SPOOL_RECORD_HEAD + key_len, value, value_len);
        s->wlen += len;
    }
    s->pending_bytes += len;
    s->pending_records++;
    return AS_OK;
}

/* Moves the head to the next segment, deleting the consumed one. */
static as_status next_head(spool *s) {
    char path[PATH_MAX + 32];
    segment_path(s, s->head_seq, path, sizeof path);
    close(s->head_fd);
    s->head_fd = -1;
    unlink(path);
    while (++s->head_seq < s->tail_seq) {
        segment_path(s, s->head_seq, path, sizeof path);
        if (access(path, F_OK) == 0)
            break;
    }
    if (s->head_seq == s->tail_seq) {
        s->head_fd = s->tail_fd;
        unsigned char header[SPOOL_HEADER];
        if (!full_pread(s->head_fd, header, sizeof header, 0))
            return fail(s, "read", s->head_seq);
        s->head_offset = get_u64(header + 8);
        if (s->head_offset < SPOOL_HEADER)
            s->head_offset = SPOOL_HEADER;
        return AS_OK;
    }
    return open_head(s);
}

as_status spool_peek(spool *s, spool_record *out) {
    s->peeked = 0;
    if (s->pending_records == 0)
        return AS_DONE;
    for (;;) {
        int is_tail = s->head_seq == s->tail_seq;
        if (is_tail) {
            as_status st = flush_buffer(s);
            if (st != AS_OK)
                return st;
        }
        uint64_t end = is_tail ? s->tail_written : s->head_end;
        unsigned char head[SPOOL_RECORD_HEAD];
        uint64_t len = 0;
        if (s->head_offset + SPOOL_RECORD_HEAD <= end) {
            if (!full_pread(s->head_fd, head, sizeof head, s->head_offset))
                return fail(s, "read", s->head_seq);
            len = SPOOL_RECORD_HEAD + (uint64_t)get_u32(head + 4) + get_u32(head + 8);
        }
        if (len == 0 || len > SPOOL_RECORD_MAX || s->head_offset + len > end) {
            /* the segment is used up (or ends in a torn record) */
            if (is_tail) {
                s->pending_records = 0;
                s->pending_bytes = 0;
                return AS_DONE;
            }
            as_status st = next_head(s);
            if (st != AS_OK)
                return st;
            continue;
        }
        if (len > s->rcap) {
            char *grown = realloc(s->rbuf, len);
            if (!grown)
                return AS_ERR_NOMEM;
            s->rbuf = grown;
            s->rcap = len;
        }
        if (!full_pread(s->head_fd, s->rbuf, len, s->head_offset))
            return fail(s, "read", s->head_seq);
        out->topic = get_u32(head);
        out->key_len = get_u32(head + 4);
        out->key = out->key_len ? s->rbuf + SPOOL_RECORD_HEAD : NULL;
        out->value_len = get_u32(head + 8);
        out->value = s->rbuf + SPOOL_RECORD_HEAD + out->key_len;
        s->peeked = len;
        return AS_OK;
    }
}

as_status spool_pop(spool *s) {
    if (s->peeked == 0)
        return AS_ERR_ARG;
    s->head_offset += s->peeked;
    s->pending_bytes -= s->peeked < s->pending_bytes ? s->peeked : s->pending_bytes;
    if (s->pending_records)
        s->pending_records--;
    s->peeked = 0;
    if (s->pending_records == 0 && s->head_seq == s->tail_seq && s->wlen == 0) {
        /* empty: start the one segment over instead of growing it */
        if (ftruncate(s->tail_fd, SPOOL_HEADER) != 0)
            return fail(s, "truncate", s->tail_seq);
        s->tail_written = SPOOL_HEADER;
        s->head_offset = SPOOL_HEADER;
        s->pops_unsynced = SPOOL_SYNC_EVERY;
    }
    if (++s->pops_unsynced >= SPOOL_SYNC_EVERY) {
        s->pops_unsynced = 0;
        if (!write_header(s->head_fd, s->head_offset))
            return fail(s, "write", s->head_seq);
    }
    return AS_OK;
}

uint64_t spool_records(const spool *s) {
    return s->pending_records;
}

uint64_t spool_bytes(const spool *s) {
    return s->pending_bytes;
}

as_status spool_sync(spool *s) {
    if (!s->have_segments)
        return AS_OK;
    as_status st = flush_buffer(s);
    if (st != AS_OK)
        return st;
    s->pops_unsynced = 0;
    if (!write_header(s->head_fd, s->head_offset))
        return fail(s, "write", s->head_seq);
    return AS_OK;
}

const char *spool_error(const spool *s) {
    return s->error;
}

void spool_close(spool *s) {
    if (!s)
        return;
    if (s->have_segments)
        spool_sync(s);
    if (s->tail_fd >= 0 && s->tail_fd != s->head_fd)
        close(s->tail_fd);
    if (s->head_fd >= 0)
        close(s->head_fd);
    free(s->rbuf);
    free(s);
}
