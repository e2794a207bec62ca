/*
 * The key log store (see tls_keylog.h).
 *
 * Entries live in a ring of tls_keylog_entries slots (lazily mapped, so
 * memory follows the entries held) chained from a power-of-two bucket
 * array by index; the slot after the newest is the oldest, and is evicted
 * and unchained when the ring is full.
 */
#include "tls_keylog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "common/ascii.h"
#include "common/bigmem.h"

/* A line holds a label, 64 hex, and a secret of at most 96 hex. */
#define KEYLOG_LINE_MAX 256

typedef struct keylog_entry {
    uint8_t client_random[TLS_RANDOM_BYTES];
    uint8_t secret[TLS_SECRET_COUNT][TLS_MAX_SECRET_BYTES];
    uint8_t secret_len[TLS_SECRET_COUNT]; /* 0: not logged */
    uint8_t used;
    uint32_t next; /* next entry index + 1 in the bucket chain, 0 at the end */
} keylog_entry;

struct tls_keylog {
    char *path; /* NULL: fed by tls_keylog_add_line() only */
    keylog_entry *entries;
    uint32_t capacity; /* ring slots */
    uint32_t head;     /* the slot the next new entry takes */
    uint32_t touched;  /* slots below this were ever used */
    uint32_t *buckets; /* first entry index + 1 of each chain, 0 = empty */
    uint32_t bucket_mask;
    uint64_t offset; /* bytes of the file consumed */
    char partial[KEYLOG_LINE_MAX];
    size_t partial_len;
    int partial_overlong; /* the line in progress is longer than KEYLOG_LINE_MAX */
    tls_keylog_stats stats;
};

static const struct {
    const char *label;
    tls_secret_kind kind;
} labels[] = {
    {"CLIENT_RANDOM", TLS_SECRET_MASTER},
    {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", TLS_SECRET_CLIENT_HANDSHAKE},
    {"SERVER_HANDSHAKE_TRAFFIC_SECRET", TLS_SECRET_SERVER_HANDSHAKE},
    {"CLIENT_TRAFFIC_SECRET_0", TLS_SECRET_CLIENT_TRAFFIC0},
    {"SERVER_TRAFFIC_SECRET_0", TLS_SECRET_SERVER_TRAFFIC0},
};

static uint32_t random_hash(const uint8_t *random) {
    /* client randoms are uniformly random: their first bytes are a hash */
    uint32_t h;
    memcpy(&h, random, sizeof h);
    return h;
}

static keylog_entry *lookup(const tls_keylog *kl, const uint8_t *random) {
    uint32_t link = kl->buckets[random_hash(random) & kl->bucket_mask];
    while (link) {
        keylog_entry *e = &kl->entries[link - 1];
        if (!memcmp(e->client_random, random, TLS_RANDOM_BYTES))
            return e;
        link = e->next;
    }
    return NULL;
}

static void unchain(tls_keylog *kl, uint32_t index) {
    uint32_t *link = &kl->buckets[random_hash(kl->entries[index].client_random) & kl->bucket_mask];
    while (*link) {
        if (*link - 1 == index) {
            *link = kl->entries[index].next;
            return;
        }
        link = &kl->entries[*link - 1].next;
    }
}

static keylog_entry *insert(tls_keylog *kl, const uint8_t *random) {
    uint32_t index = kl->head;
    keylog_entry *e = &kl->entries[index];
    if (e->used) {
        unchain(kl, index);
        kl->stats.evicted++;
        kl->stats.entries--;
    }
    memset(e, 0, sizeof *e);
    memcpy(e->client_random, random, TLS_RANDOM_BYTES);
    e->used = 1;
    uint32_t *bucket = &kl->buckets[random_hash(random) & kl->bucket_mask];
    e->next = *bucket;
    *bucket = index + 1;
    kl->head = (index + 1) % kl->capacity;
    if (index >= kl->touched)
        kl->touched = index + 1;
    kl->stats.entries++;
    return e;
}

/* Decodes exactly 2*n hex digits; 1 on success. */
static int hex_decode(const char *text, size_t text_len, uint8_t *out, size_t n) {
    if (text_len != 2 * n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int hi = ascii_hex_value(text[2 * i]), lo = ascii_hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* Splits the next space-separated field from [*pos, end). */
static int next_field(const char **pos, const char *end, const char **field, size_t *len) {
    const char *p = *pos;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *start = p;
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    *field = start;
    *len = (size_t)(p - start);
    *pos = p;
    return *len > 0;
}

int tls_keylog_add_line(tls_keylog *kl, const char *line, size_t len) {
    const char *end = line + len;
    while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    const char *pos = line, *label, *random_hex, *secret_hex, *extra;
    size_t label_len, random_len, secret_len, extra_len;
    if (!next_field(&pos, end, &label, &label_len) || label[0] == '#') {
        kl->stats.lines_skipped++;
        return 0;
    }
    int kind = -1;
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (strlen(labels[i].label) == label_len && !memcmp(labels[i].label, label, label_len))
            kind = (int)labels[i].kind;
    uint8_t random[TLS_RANDOM_BYTES], secret[TLS_MAX_SECRET_BYTES];
    if (!next_field(&pos, end, &random_hex, &random_len) ||
        !next_field(&pos, end, &secret_hex, &secret_len) ||
        next_field(&pos, end, &extra, &extra_len) ||
        !hex_decode(random_hex, random_len, random, sizeof random) || secret_len % 2 ||
        secret_len / 2 > TLS_MAX_SECRET_BYTES || secret_len == 0 ||
        !hex_decode(secret_hex, secret_len, secret, secret_len / 2)) {
        if (kind < 0 && label_len > 0)
            kl->stats.lines_skipped++; /* another label of another shape (RSA ...) */
        else
            kl->stats.lines_bad++;
        return 0;
    }
    if (kind < 0) {
        kl->stats.lines_skipped++;
        return 0;
    }
    if (kind == TLS_SECRET_MASTER && secret_len / 2 != TLS12_MASTER_SECRET_BYTES) {
        kl->stats.lines_bad++;
        return 0;
    }
    keylog_entry *e = lookup(kl, random);
    if (!e)
        e = insert(kl, random);
    memcpy(e->secret[kind], secret, secret_len / 2);
    e->secret_len[kind] = (uint8_t)(secret_len / 2);
    kl->stats.lines++;
    return 1;
}

/* Feeds bytes of the file; complete lines are added, the rest waits. */
static void feed_bytes(tls_keylog *kl, const char *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        char ch = data[i];
        if (ch == '\n') {
            if (kl->partial_overlong)
                kl->stats.lines_bad++;
            else
                tls_keylog_add_line(kl, kl->partial, kl->partial_len);
            kl->partial_len = 0;
            kl->partial_overlong = 0;
        } else if (kl->partial_len < sizeof kl->partial) {
            kl->partial[kl->partial_len++] = ch;
        } else {
            kl->partial_overlong = 1;
        }
    }
}

int tls_keylog_refresh(tls_keylog *kl) {
    if (!kl || !kl->path)
        return 0;
    struct stat st;
    if (stat(kl->path, &st) != 0)
        return 0;
    if ((uint64_t)st.st_size == kl->offset)
        return 0;
    if ((uint64_t)st.st_size < kl->offset) {
        kl->offset = 0; /* rotated or truncated: read it again */
        kl->partial_len = 0;
        kl->partial_overlong = 0;
    }
    FILE *f = fopen(kl->path, "rb");
    if (!f)
        return 0;
    uint64_t before = kl->stats.lines;
    if (fseeko(f, (off_t)kl->offset, SEEK_SET) == 0) {
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
            feed_bytes(kl, buf, n);
            kl->offset += n;
        }
    }
    fclose(f);
    kl->stats.reads++;
    return kl->stats.lines > before;
}

as_status tls_keylog_open(const char *path, const limits *lim, char *err, size_t errlen,
                          tls_keylog **out) {
    *out = NULL;
    if (path) {
        struct stat st;
        if (stat(path, &st) != 0) {
            snprintf(err, errlen, "--keylog %s: %s", path, strerror(errno));
            return AS_ERR_IO;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "--keylog %s: not a regular file", path);
            return AS_ERR_CONFIG;
        }
        int shared = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
        int writable = (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) != 0;
        if (shared && writable) {
            snprintf(err, errlen,
                     "--keylog %s: refused: the key log is readable by other users (mode "
                     "%03o), so they can decrypt the captured traffic; chmod 600 it (a "
                     "read-only archive, mode 444, is accepted)",
                     path, (unsigned)(st.st_mode & 0777));
            return AS_ERR_CONFIG;
        }
    }
    tls_keylog *kl = calloc(1, sizeof *kl);
    if (!kl)
        return AS_ERR_NOMEM;
    kl->capacity = (uint32_t)lim->tls_keylog_entries;
    uint32_t buckets = 1;
    while (buckets < kl->capacity)
        buckets <<= 1;
    kl->bucket_mask = buckets - 1;
    kl->entries = bigmem_alloc((size_t)kl->capacity * sizeof *kl->entries);
    kl->buckets = bigmem_alloc((size_t)buckets * sizeof *kl->buckets);
    if (path)
        kl->path = strdup(path);
    if (!kl->entries || !kl->buckets || (path && !kl->path)) {
        tls_keylog_destroy(kl);
        return AS_ERR_NOMEM;
    }
    if (path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
            snprintf(err, errlen, "--keylog %s: %s", path, strerror(errno));
            tls_keylog_destroy(kl);
            return AS_ERR_IO;
        }
        fclose(f);
        tls_keylog_refresh(kl);
    }
    *out = kl;
    return AS_OK;
}

int tls_keylog_find(const tls_keylog *kl, const uint8_t client_random[TLS_RANDOM_BYTES],
                    tls_secret_kind kind, const uint8_t **secret, size_t *len) {
    if (!kl)
        return 0;
    const keylog_entry *e = lookup(kl, client_random);
    if (!e || !e->secret_len[kind])
        return 0;
    *secret = e->secret[kind];
    *len = e->secret_len[kind];
    return 1;
}

tls_keylog_stats tls_keylog_get_stats(const tls_keylog *kl) {
    return kl->stats;
}

void tls_keylog_destroy(tls_keylog *kl) {
    if (!kl)
        return;
    uint32_t buckets = kl->bucket_mask + 1;
    if (kl->entries) {
        /* secrets do not outlive the store */
        OPENSSL_cleanse(kl->entries, (size_t)kl->touched * sizeof *kl->entries);
        bigmem_free(kl->entries, (size_t)kl->capacity * sizeof *kl->entries);
    }
    bigmem_free(kl->buckets, (size_t)buckets * sizeof *kl->buckets);
    free(kl->path);
    free(kl);
}
