/*
 * The SPSC ring (see ring.h).
 *
 * Layout: a power-of-two byte array; a record is an 8-byte header (length,
 * type) and its bytes rounded up to 8. A record never wraps: when it does
 * not fit before the end, a padding record fills the end and the record
 * starts at offset 0. `tail` (producer) and `head` (consumer) count bytes
 * since creation; tail - head is the fill. Each side keeps a private copy of
 * its own position (`write_pos`, `read_pos`) and publishes it in batches; it
 * reads the other side's published position only when its cached view says
 * the ring is full or empty, so the shared cache lines move once per batch.
 *
 * Sleeping: the sleeper announces itself in the bell (waiters), then checks
 * again, then sleeps on the futex word; the publisher stores its position,
 * then (sequentially consistent fence) looks at waiters and, if any, bumps
 * the word and wakes. Either the sleeper sees the new position or the
 * publisher sees the sleeper: no lost wake-up. A producer waiting for space
 * is woken only once a quarter of the ring is free (space_wanted), so that
 * it then writes many records per wake-up instead of one.
 */
#include "ring.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RING_HEADER 8u
#define RING_PAD_TYPE UINT32_MAX

struct ring {
    _Alignas(64) _Atomic uint64_t tail; /* published by the producer */
    _Alignas(64) _Atomic uint64_t head; /* published by the consumer */
    _Alignas(64) uint64_t write_pos;    /* producer: end of committed records */
    uint64_t reserved_at;               /* producer: start of the reserved record */
    uint64_t head_cache;                /* producer: last head read */
    ring_stats stats;                   /* producer-owned */
    _Alignas(64) uint64_t read_pos;     /* consumer: end of released records */
    uint64_t peeked_end;                /* consumer: end of the peeked record; 0 none */
    uint64_t tail_cache;                /* consumer: last tail read */
    uint64_t mask;
    size_t max_record;
    ring_policy policy;
    ring_bell *data_bell; /* the consumer sleeps here */
    ring_bell own_bell;
    ring_bell space_bell;          /* the producer sleeps here */
    _Atomic uint64_t space_wanted; /* free bytes the sleeping producer waits for */
    uint8_t *bytes;
};

static size_t round8(size_t n) {
    return (n + 7u) & ~(size_t)7u;
}

uint32_t ring_bell_prepare(ring_bell *b) {
    atomic_fetch_add(&b->waiters, 1);
    return atomic_load(&b->word);
}

void ring_bell_wait(ring_bell *b, uint32_t seen, int timeout_ms) {
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    syscall(SYS_futex, (uint32_t *)&b->word, FUTEX_WAIT_PRIVATE, seen, timeout_ms > 0 ? &ts : NULL,
            NULL, 0);
    atomic_fetch_sub(&b->waiters, 1);
}

void ring_bell_cancel(ring_bell *b) {
    atomic_fetch_sub(&b->waiters, 1);
}

void ring_bell_ring(ring_bell *b) {
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&b->waiters, memory_order_relaxed) == 0)
        return;
    atomic_fetch_add(&b->word, 1);
    syscall(SYS_futex, (uint32_t *)&b->word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

const char *ring_policy_name(ring_policy policy) {
    return policy == RING_DROP_NEW ? "drop new" : "block";
}

as_status ring_create(size_t capacity_bytes, size_t max_record, ring_policy policy,
                      ring_bell *data_bell, ring **out) {
    *out = NULL;
    if (max_record > ((size_t)1 << 30))
        return AS_ERR_ARG;
    size_t need = 2 * (RING_HEADER + round8(max_record));
    if (capacity_bytes < need)
        capacity_bytes = need;
    size_t capacity = 64;
    while (capacity < capacity_bytes)
        capacity <<= 1;
    ring *r = aligned_alloc(64, sizeof *r);
    if (!r)
        return AS_ERR_NOMEM;
    *r = (ring){.mask = capacity - 1, .max_record = max_record, .policy = policy};
    atomic_init(&r->tail, 0);
    atomic_init(&r->head, 0);
    atomic_init(&r->space_wanted, 0);
    r->stats.capacity = capacity;
    r->data_bell = data_bell ? data_bell : &r->own_bell;
    r->bytes = malloc(capacity);
    if (!r->bytes) {
        free(r);
        return AS_ERR_NOMEM;
    }
    *out = r;
    return AS_OK;
}

void ring_destroy(ring *r) {
    if (!r)
        return;
    free(r->bytes);
    free(r);
}

/* ---- producer --------------------------------------------------------------- */

static uint64_t free_bytes(ring *r, int refresh) {
    if (refresh)
        r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    return r->mask + 1 - (r->write_pos - r->head_cache);
}

static void write_header(ring *r, uint64_t pos, uint32_t len, uint32_t type) {
    uint32_t *h = (uint32_t *)(r->bytes + (pos & r->mask));
    h[0] = len;
    h[1] = type;
}

/* Bytes a record of len needs from the producer's position: its own and,
 * when it would cross the end, the padding to the end. */
static uint64_t needed(const ring *r, size_t len) {
    uint64_t total = RING_HEADER + round8(len);
    uint64_t to_end = r->mask + 1 - (r->write_pos & r->mask);
    return total > to_end ? total + to_end : total;
}

void *ring_reserve(ring *r, uint32_t type, size_t len) {
    if (len > r->max_record)
        return NULL;
    uint64_t need = needed(r, len);
    if (free_bytes(r, 0) < need && free_bytes(r, 1) < need) {
        if (r->policy == RING_DROP_NEW)
            r->stats.dropped++;
        else
            r->stats.full_waits++;
        return NULL;
    }
    uint64_t total = RING_HEADER + round8(len);
    uint64_t to_end = r->mask + 1 - (r->write_pos & r->mask);
    if (total > to_end) {
        write_header(r, r->write_pos, (uint32_t)(to_end - RING_HEADER), RING_PAD_TYPE);
        r->write_pos += to_end;
    }
    write_header(r, r->write_pos, (uint32_t)len, type);
    r->reserved_at = r->write_pos;
    return r->bytes + ((r->write_pos + RING_HEADER) & r->mask);
}

int ring_wait_space(ring *r, size_t len, int timeout_ms) {
    ring_publish(r);
    uint64_t need = needed(r, len);
    if (free_bytes(r, 1) >= need)
        return 1;
    /* sleep until a quarter is free: a wake-up per released record would
     * cost a system call each */
    uint64_t quarter = (r->mask + 1) / 4;
    atomic_store_explicit(&r->space_wanted, need > quarter ? need : quarter, memory_order_relaxed);
    uint32_t seen = ring_bell_prepare(&r->space_bell);
    if (free_bytes(r, 1) >= need) {
        ring_bell_cancel(&r->space_bell);
        return 1;
    }
    ring_bell_wait(&r->space_bell, seen, timeout_ms);
    return free_bytes(r, 1) >= need;
}

void ring_commit(ring *r, size_t used) {
    uint32_t *h = (uint32_t *)(r->bytes + (r->reserved_at & r->mask));
    if (used < h[0])
        h[0] = (uint32_t)used;
    uint64_t total = RING_HEADER + round8(h[0]);
    r->write_pos = r->reserved_at + total;
    r->stats.records++;
    r->stats.bytes += total;
}

void ring_publish(ring *r) {
    if (atomic_load_explicit(&r->tail, memory_order_relaxed) == r->write_pos)
        return;
    uint64_t fill = r->write_pos - r->head_cache;
    if (fill > r->stats.peak_bytes)
        r->stats.peak_bytes = fill;
    atomic_store_explicit(&r->tail, r->write_pos, memory_order_release);
    ring_bell_ring(r->data_bell);
}

/* ---- consumer --------------------------------------------------------------- */

void *ring_peek(ring *r, uint32_t *type, size_t *len) {
    for (;;) {
        uint64_t pos = r->read_pos; /* a record peeked again is returned again */
        if (pos == r->tail_cache) {
            r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
            if (pos == r->tail_cache)
                return NULL;
        }
        uint32_t *h = (uint32_t *)(r->bytes + (pos & r->mask));
        uint64_t end = pos + RING_HEADER + round8(h[0]);
        if (h[1] == RING_PAD_TYPE) {
            r->read_pos = end;
            continue;
        }
        r->peeked_end = end;
        *type = h[1];
        *len = h[0];
        return h + 2;
    }
}

void ring_release(ring *r) {
    if (r->peeked_end)
        r->read_pos = r->peeked_end;
    r->peeked_end = 0;
}

void ring_consume(ring *r) {
    if (atomic_load_explicit(&r->head, memory_order_relaxed) == r->read_pos)
        return;
    atomic_store_explicit(&r->head, r->read_pos, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->space_bell.waiters, memory_order_relaxed) == 0)
        return;
    /* the sleeping producer has published everything: tail is exact */
    uint64_t used = atomic_load_explicit(&r->tail, memory_order_relaxed) - r->read_pos;
    if (r->mask + 1 - used >= atomic_load_explicit(&r->space_wanted, memory_order_relaxed))
        ring_bell_ring(&r->space_bell);
}

void ring_wait(ring *r, int timeout_ms) {
    ring_consume(r);
    if (r->read_pos != atomic_load_explicit(&r->tail, memory_order_acquire))
        return;
    uint32_t seen = ring_bell_prepare(r->data_bell);
    if (r->read_pos != atomic_load(&r->tail)) {
        ring_bell_cancel(r->data_bell);
        return;
    }
    ring_bell_wait(r->data_bell, seen, timeout_ms);
}

ring_stats ring_get_stats(const ring *r) {
    return r->stats;
}
