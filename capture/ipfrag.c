/*
 * IPv4 fragment reassembly.
 *
 * A datagram in reassembly occupies one slot of a fixed pool. Slots live on
 * exactly one list: free, active (oldest first, hashed by key) or done (the
 * datagram is complete and the decoder still reads it). ipfrag_release()
 * moves done slots back to the free list at the start of the next decode, so
 * a completed datagram stays readable for the whole decode that produced it
 * even if inner layers feed more fragments.
 *
 * Coverage is a bitmap of 8-byte blocks (fragment offsets count in 8-byte
 * units); only the last fragment may end inside a block. A fragment copies
 * only the blocks nobody filled before it, so the first copy of overlapping
 * data wins. The datagram is complete when the last fragment (MF = 0) has
 * fixed the length, the first fragment has given the header, and every block
 * below the length is covered.
 *
 * Buffer layout of a slot: [IPFRAG_HEADER_MAX][IPFRAG_PAYLOAD_MAX][bitmap].
 * The first fragment's header is stored right-aligned against the payload so
 * the finished datagram is contiguous without a copy.
 */
#include "ipfrag.h"

#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"

#define IPFRAG_HEADER_MAX 60u
#define IPFRAG_DATAGRAM_MAX 65535u
/* Payload bytes after the smallest (20-byte) header. */
#define IPFRAG_PAYLOAD_MAX (IPFRAG_DATAGRAM_MAX - 20u)
#define IPFRAG_BLOCKS ((IPFRAG_PAYLOAD_MAX + 7u) / 8u)
#define IPFRAG_BITMAP_BYTES ((IPFRAG_BLOCKS + 7u) / 8u)
#define IPFRAG_SLOT_BYTES (IPFRAG_HEADER_MAX + IPFRAG_PAYLOAD_MAX + IPFRAG_BITMAP_BYTES)
/* Completed datagrams one decode can hold open (tunnels inside a reassembled datagram). */
#define IPFRAG_DONE_RESERVE 8u
/* Expiry work done inline by each ipfrag_add, and per ipfrag_expire call. */
#define IPFRAG_EXPIRE_PER_ADD 2u
#define IPFRAG_EXPIRE_PER_CALL 64u
#define IPFRAG_NONE UINT32_MAX

enum ipfrag_state { IPFRAG_FREE, IPFRAG_ACTIVE, IPFRAG_DONE };

typedef struct ipfrag_slot {
    uint64_t addresses;   /* source << 32 | destination */
    uint32_t id_protocol; /* identification << 8 | protocol */
    uint64_t first_ns;    /* packet time of the first fragment seen */
    uint32_t total;       /* payload bytes of the datagram; 0 until the last fragment */
    uint32_t highest_end; /* largest fragment end seen, bytes */
    uint32_t covered;     /* blocks set in the bitmap */
    uint32_t header_len;  /* 0 until the fragment at offset 0 arrived */
    uint32_t hash_next;   /* next slot in the bucket chain */
    uint32_t prev, next;  /* active list (doubly linked); free and done lists use next */
    uint8_t state;
    uint8_t *mem; /* IPFRAG_SLOT_BYTES, allocated on first use, kept when recycled */
} ipfrag_slot;

struct ipfrag_table {
    ipfrag_slot *slots;
    uint32_t slot_count;   /* max_datagrams + IPFRAG_DONE_RESERVE */
    uint32_t max_active;   /* max_datagrams */
    uint32_t *buckets;     /* heads of hash chains */
    uint32_t bucket_mask;  /* bucket count - 1 (a power of two) */
    uint64_t hash_seed;    /* per table, so chains cannot be aimed at from outside */
    uint32_t free_head;    /* free list */
    uint32_t done_head;    /* done list */
    uint32_t oldest;       /* active list head */
    uint32_t newest;       /* active list tail */
    uint32_t active_count; /* slots on the active list */
    uint64_t timeout_ns;
};

/* ---------------------------------------------------------------- lists and hash */

static uint32_t ipfrag_bucket(const ipfrag_table *table, uint64_t addresses, uint32_t id_protocol) {
    uint64_t h = (addresses ^ table->hash_seed) * UINT64_C(0x9E3779B97F4A7C15);
    h ^= (uint64_t)id_protocol * UINT64_C(0xC2B2AE3D27D4EB4F);
    h ^= h >> 29;
    return (uint32_t)h & table->bucket_mask;
}

static ipfrag_slot *ipfrag_find(ipfrag_table *table, uint64_t addresses, uint32_t id_protocol) {
    uint32_t i = table->buckets[ipfrag_bucket(table, addresses, id_protocol)];
    while (i != IPFRAG_NONE) {
        ipfrag_slot *slot = &table->slots[i];
        if (slot->addresses == addresses && slot->id_protocol == id_protocol)
            return slot;
        i = slot->hash_next;
    }
    return NULL;
}

static void ipfrag_unhash(ipfrag_table *table, uint32_t index) {
    ipfrag_slot *slot = &table->slots[index];
    uint32_t *link = &table->buckets[ipfrag_bucket(table, slot->addresses, slot->id_protocol)];
    while (*link != IPFRAG_NONE && *link != index)
        link = &table->slots[*link].hash_next;
    if (*link == index)
        *link = slot->hash_next;
    slot->hash_next = IPFRAG_NONE;
}

static void ipfrag_unlink_active(ipfrag_table *table, uint32_t index) {
    ipfrag_slot *slot = &table->slots[index];
    if (slot->prev != IPFRAG_NONE)
        table->slots[slot->prev].next = slot->next;
    else
        table->oldest = slot->next;
    if (slot->next != IPFRAG_NONE)
        table->slots[slot->next].prev = slot->prev;
    else
        table->newest = slot->prev;
    slot->prev = slot->next = IPFRAG_NONE;
    table->active_count--;
}

/* Takes an active slot off the active list and the hash, onto `*list_head`. */
static void ipfrag_retire(ipfrag_table *table, uint32_t index, uint32_t *list_head,
                          enum ipfrag_state state) {
    ipfrag_unhash(table, index);
    ipfrag_unlink_active(table, index);
    ipfrag_slot *slot = &table->slots[index];
    slot->state = (uint8_t)state;
    slot->next = *list_head;
    *list_head = index;
}

static uint32_t ipfrag_index(const ipfrag_table *table, const ipfrag_slot *slot) {
    return (uint32_t)(slot - table->slots);
}

/* ---------------------------------------------------------------- table */

as_status ipfrag_create(uint32_t max_datagrams, uint64_t timeout_ns, ipfrag_table **out) {
    if (!out)
        return AS_ERR_ARG;
    *out = NULL;
    ipfrag_table *table = calloc(1, sizeof *table);
    if (!table)
        return AS_ERR_NOMEM;
    uint32_t buckets = 16;
    while (buckets < max_datagrams && buckets < (UINT32_C(1) << 30))
        buckets *= 2;
    table->max_active = max_datagrams;
    table->slot_count = max_datagrams + IPFRAG_DONE_RESERVE;
    table->slots = calloc(table->slot_count, sizeof *table->slots);
    table->buckets = malloc(buckets * sizeof *table->buckets);
    if (!table->slots || !table->buckets) {
        ipfrag_destroy(table);
        return AS_ERR_NOMEM;
    }
    table->bucket_mask = buckets - 1;
    table->hash_seed = (uint64_t)(uintptr_t)table * UINT64_C(0xD6E8FEB86659FD93);
    table->timeout_ns = timeout_ns;
    for (uint32_t i = 0; i < buckets; i++)
        table->buckets[i] = IPFRAG_NONE;
    for (uint32_t i = 0; i < table->slot_count; i++) {
        table->slots[i].hash_next = IPFRAG_NONE;
        table->slots[i].prev = IPFRAG_NONE;
        table->slots[i].next = i + 1 < table->slot_count ? i + 1 : IPFRAG_NONE;
    }
    table->free_head = 0;
    table->done_head = IPFRAG_NONE;
    table->oldest = table->newest = IPFRAG_NONE;
    *out = table;
    return AS_OK;
}

void ipfrag_destroy(ipfrag_table *table) {
    if (!table)
        return;
    if (table->slots)
        for (uint32_t i = 0; i < table->slot_count; i++)
            free(table->slots[i].mem);
    free(table->slots);
    free(table->buckets);
    free(table);
}

void ipfrag_release(ipfrag_table *table) {
    if (!table)
        return;
    while (table->done_head != IPFRAG_NONE) {
        uint32_t index = table->done_head;
        ipfrag_slot *slot = &table->slots[index];
        table->done_head = slot->next;
        slot->state = IPFRAG_FREE;
        slot->next = table->free_head;
        table->free_head = index;
    }
}

static void ipfrag_expire_some(ipfrag_table *table, uint64_t now_ns, uint32_t budget,
                               anomaly_counters *anomalies) {
    while (budget-- > 0 && table->oldest != IPFRAG_NONE) {
        ipfrag_slot *slot = &table->slots[table->oldest];
        if (now_ns < slot->first_ns || now_ns - slot->first_ns < table->timeout_ns)
            return;
        ipfrag_retire(table, table->oldest, &table->free_head, IPFRAG_FREE);
        anomaly_count(anomalies, ANOMALY_IPFRAG_TIMEOUT);
    }
}

void ipfrag_expire(ipfrag_table *table, uint64_t now_ns, anomaly_counters *anomalies) {
    if (table)
        ipfrag_expire_some(table, now_ns, IPFRAG_EXPIRE_PER_CALL, anomalies);
}

uint64_t ipfrag_held(const ipfrag_table *table) {
    return table ? table->active_count : 0;
}

/* ---------------------------------------------------------------- fragments */

static ipfrag_slot *ipfrag_open(ipfrag_table *table, uint64_t addresses, uint32_t id_protocol,
                                uint64_t now_ns, anomaly_counters *anomalies) {
    if (table->active_count >= table->max_active || table->free_head == IPFRAG_NONE) {
        anomaly_count(anomalies, ANOMALY_IPFRAG_TABLE_FULL);
        return NULL;
    }
    uint32_t index = table->free_head;
    ipfrag_slot *slot = &table->slots[index];
    if (!slot->mem) {
        slot->mem = malloc(IPFRAG_SLOT_BYTES);
        if (!slot->mem) {
            anomaly_count(anomalies, ANOMALY_IPFRAG_TABLE_FULL);
            return NULL;
        }
    }
    table->free_head = slot->next;
    slot->addresses = addresses;
    slot->id_protocol = id_protocol;
    slot->first_ns = now_ns;
    slot->total = 0;
    slot->highest_end = 0;
    slot->covered = 0;
    slot->header_len = 0;
    slot->state = IPFRAG_ACTIVE;
    memset(slot->mem + IPFRAG_HEADER_MAX + IPFRAG_PAYLOAD_MAX, 0, IPFRAG_BITMAP_BYTES);
    uint32_t bucket = ipfrag_bucket(table, addresses, id_protocol);
    slot->hash_next = table->buckets[bucket];
    table->buckets[bucket] = index;
    slot->prev = table->newest;
    slot->next = IPFRAG_NONE;
    if (table->newest != IPFRAG_NONE)
        table->slots[table->newest].next = index;
    else
        table->oldest = index;
    table->newest = index;
    table->active_count++;
    return slot;
}

/* Copies the blocks of [offset, end) nobody filled yet; returns 1 if any was filled before. */
static int ipfrag_fill(ipfrag_slot *slot, const uint8_t *payload, uint32_t offset, uint32_t end) {
    uint8_t *data = slot->mem + IPFRAG_HEADER_MAX;
    uint8_t *bitmap = data + IPFRAG_PAYLOAD_MAX;
    int overlap = 0;
    uint32_t block = offset / 8;
    uint32_t last_block = (end + 7) / 8; /* exclusive */
    while (block < last_block) {
        if (bitmap[block / 8] & (1u << (block % 8))) {
            overlap = 1;
            block++;
            continue;
        }
        uint32_t run_start = block;
        while (block < last_block && !(bitmap[block / 8] & (1u << (block % 8)))) {
            bitmap[block / 8] |= (uint8_t)(1u << (block % 8));
            slot->covered++;
            block++;
        }
        uint32_t from = run_start * 8 > offset ? run_start * 8 : offset;
        uint32_t to = block * 8 < end ? block * 8 : end;
        memcpy(data + from, payload + (from - offset), to - from);
    }
    return overlap;
}

as_status ipfrag_add(ipfrag_table *table, const uint8_t *header, uint32_t header_len,
                     const uint8_t *payload, uint32_t payload_len, uint64_t now_ns,
                     anomaly_counters *anomalies, const uint8_t **datagram,
                     uint32_t *datagram_len) {
    if (!table || !header || !datagram || !datagram_len || (!payload && payload_len))
        return AS_SKIP;
    cursor c = cursor_make(header, header_len);
    cursor_skip(&c, 4); /* version, header length, type of service, total length */
    uint32_t id = cursor_be16(&c);
    uint32_t flags_offset = cursor_be16(&c);
    cursor_skip(&c, 1); /* time to live */
    uint32_t protocol = cursor_u8(&c);
    cursor_skip(&c, 2); /* header checksum */
    uint64_t source = cursor_be32(&c);
    uint64_t destination = cursor_be32(&c);
    if (!cursor_ok(&c) || header_len > IPFRAG_HEADER_MAX) {
        anomaly_count(anomalies, ANOMALY_IPFRAG_BAD_FRAGMENT);
        return AS_SKIP;
    }
    ipfrag_expire_some(table, now_ns, IPFRAG_EXPIRE_PER_ADD, anomalies);

    uint32_t offset = (flags_offset & 0x1fffu) * 8u;
    int more = (flags_offset & 0x2000u) != 0;
    uint32_t end = offset + payload_len;
    uint64_t addresses = source << 32 | destination;
    uint32_t id_protocol = id << 8 | protocol;
    ipfrag_slot *slot = ipfrag_find(table, addresses, id_protocol);
    if (end > IPFRAG_PAYLOAD_MAX) {
        if (slot)
            ipfrag_retire(table, ipfrag_index(table, slot), &table->free_head, IPFRAG_FREE);
        anomaly_count(anomalies, ANOMALY_IPFRAG_TOO_BIG);
        return AS_SKIP;
    }
    /* Only the last fragment may end inside an 8-byte block; empty fragments carry nothing. */
    if (payload_len == 0 || (more && payload_len % 8 != 0)) {
        anomaly_count(anomalies, ANOMALY_IPFRAG_BAD_FRAGMENT);
        return AS_SKIP;
    }
    if (!slot) {
        slot = ipfrag_open(table, addresses, id_protocol, now_ns, anomalies);
        if (!slot)
            return AS_SKIP;
    }
    /* A fragment must agree with the length fixed by the last fragment. */
    if ((!more && (slot->total ? slot->total != end : slot->highest_end > end)) ||
        (more && slot->total && end > slot->total)) {
        anomaly_count(anomalies, ANOMALY_IPFRAG_BAD_FRAGMENT);
        return AS_SKIP;
    }
    if (!more)
        slot->total = end;
    if (end > slot->highest_end)
        slot->highest_end = end;
    if (offset == 0 && slot->header_len == 0) {
        slot->header_len = header_len;
        memcpy(slot->mem + IPFRAG_HEADER_MAX - header_len, header, header_len);
    }
    if (ipfrag_fill(slot, payload, offset, end))
        anomaly_count(anomalies, ANOMALY_IPFRAG_OVERLAP);

    if (slot->total == 0 || slot->header_len == 0 || slot->covered < (slot->total + 7) / 8)
        return AS_SKIP;
    uint32_t index = ipfrag_index(table, slot);
    uint32_t length = slot->header_len + slot->total;
    if (length > IPFRAG_DATAGRAM_MAX) {
        ipfrag_retire(table, index, &table->free_head, IPFRAG_FREE);
        anomaly_count(anomalies, ANOMALY_IPFRAG_TOO_BIG);
        return AS_SKIP;
    }
    uint8_t *ip = slot->mem + IPFRAG_HEADER_MAX - slot->header_len;
    ip[2] = (uint8_t)(length >> 8);
    ip[3] = (uint8_t)length;
    ip[6] &= 0x40; /* keep DF, clear MF and the offset */
    ip[7] = 0;
    ipfrag_retire(table, index, &table->done_head, IPFRAG_DONE);
    *datagram = ip;
    *datagram_len = length;
    return AS_OK;
}
