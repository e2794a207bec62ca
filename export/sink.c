/*
 * The sink interface and the JSON Lines file sink (see sink.h).
 *
 * The file sink writes through stdio with a 64 KiB buffer; a failed write is
 * counted once per event and remembered as the last error (errno text), and
 * the sink keeps trying (a full disk may clear).
 */
#include "sink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
    const sink_ops *ops;
    void *impl;
};

static const char *const topic_names[SINK_TOPIC_COUNT] = {"findings", "endpoints", "transactions",
                                                          "stats"};

const char *sink_topic_name(sink_topic topic) {
    return (unsigned)topic < SINK_TOPIC_COUNT ? topic_names[topic] : "unknown";
}

void sink_stats_add(sink_stats *sum, const sink_stats *add) {
    sum->written += add->written;
    sum->write_errors += add->write_errors;
    sum->delivered += add->delivered;
    sum->delivery_failed += add->delivery_failed;
    sum->spooled += add->spooled;
    sum->replayed += add->replayed;
    sum->dropped += add->dropped;
    sum->queue_depth += add->queue_depth;
    sum->spool_records += add->spool_records;
    sum->spool_bytes += add->spool_bytes;
}

as_status sink_new(const sink_ops *ops, void *impl, sink **out) {
    *out = NULL;
    sink *s = malloc(sizeof *s);
    if (!s) {
        ops->destroy(impl);
        return AS_ERR_NOMEM;
    }
    s->ops = ops;
    s->impl = impl;
    *out = s;
    return AS_OK;
}

as_status sink_write(sink *s, sink_topic topic, const char *key, size_t key_len, const char *value,
                     size_t value_len) {
    return s->ops->write(s->impl, topic, key, key_len, value, value_len);
}

void sink_poll(sink *s) {
    s->ops->poll(s->impl);
}

as_status sink_flush(sink *s, int timeout_ms) {
    return s->ops->flush(s->impl, timeout_ms);
}

sink_stats sink_get_stats(const sink *s) {
    sink_stats st;
    memset(&st, 0, sizeof st);
    s->ops->stats(s->impl, &st);
    return st;
}

const char *sink_error(const sink *s) {
    return s->ops->error(s->impl);
}

void sink_destroy(sink *s) {
    if (!s)
        return;
    s->ops->destroy(s->impl);
    free(s);
}

/* ------------------------------------------------------------ file sink */

typedef struct file_sink {
    FILE *file;
    int owned; /* 0 for stdout */
    char *buffer;
    uint64_t written;
    uint64_t write_errors;
    char error[256];
} file_sink;

static as_status file_write(void *impl, sink_topic topic, const char *key, size_t key_len,
                            const char *value, size_t value_len) {
    (void)topic;
    (void)key;
    (void)key_len;
    file_sink *f = impl;
    f->written++;
    if (fwrite(value, 1, value_len, f->file) != value_len || putc('\n', f->file) == EOF) {
        f->write_errors++;
        snprintf(f->error, sizeof f->error, "write failed: %s", strerror(errno));
        clearerr(f->file);
        return AS_ERR_IO;
    }
    return AS_OK;
}

static void file_poll(void *impl) {
    (void)impl;
}

static as_status file_flush(void *impl, int timeout_ms) {
    (void)timeout_ms;
    file_sink *f = impl;
    if (fflush(f->file) != 0) {
        snprintf(f->error, sizeof f->error, "write failed: %s", strerror(errno));
        return AS_ERR_IO;
    }
    return AS_OK;
}

static void file_stats(const void *impl, sink_stats *add) {
    const file_sink *f = impl;
    add->written += f->written;
    add->write_errors += f->write_errors;
}

static const char *file_error(const void *impl) {
    return ((const file_sink *)impl)->error;
}

static void file_destroy(void *impl) {
    file_sink *f = impl;
    if (f->file && f->owned)
        fclose(f->file);
    else if (f->file)
        fflush(f->file);
    free(f->buffer);
    free(f);
}

static const sink_ops file_ops = {file_write, file_poll,  file_flush,
                                  file_stats, file_error, file_destroy};

as_status sink_file_create(const char *path, char *err, size_t errlen, sink **out) {
    *out = NULL;
    file_sink *f = calloc(1, sizeof *f);
    if (!f)
        return AS_ERR_NOMEM;
    if (!strcmp(path, "-")) {
        f->file = stdout;
    } else {
        f->file = fopen(path, "w");
        f->owned = 1;
        if (!f->file) {
            snprintf(err, errlen, "%s: cannot open for writing: %s", path, strerror(errno));
            free(f);
            return AS_ERR_IO;
        }
        f->buffer = malloc(1 << 16);
        if (f->buffer)
            setvbuf(f->file, f->buffer, _IOFBF, 1 << 16);
    }
    return sink_new(&file_ops, f, out);
}
