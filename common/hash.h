/*
 * Small non-cryptographic hashes for table keys and distinct-count sketches.
 * Not for anything an attacker must not be able to collide on purpose: tables
 * that hash attacker-chosen bytes stay bounded whatever the collisions.
 */
#ifndef APISENSOR_COMMON_HASH_H
#define APISENSOR_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Final avalanche of a 64-bit value (the splitmix64 finaliser). */
static inline uint64_t hash_mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* FNV-1a over bytes, continuing from seed (use HASH_SEED to start). */
#define HASH_SEED 0xcbf29ce484222325ULL
static inline uint64_t hash_bytes(uint64_t seed, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t h = seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Same, folding ASCII upper case to lower case. */
static inline uint64_t hash_bytes_nocase(uint64_t seed, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t h = seed;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        h ^= (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

#endif
