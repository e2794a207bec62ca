/*
 * Big tables that live as long as their owner and are indexed at random per
 * packet: flow slots, hash buckets, per-slot state of later stages.
 *
 * bigmem_alloc() returns zeroed memory mapped lazily, so resident memory
 * follows the entries actually touched, and asks for transparent huge pages
 * (where the system grants them on request): with 4 KiB pages nearly every
 * random lookup into a table of tens of megabytes also misses the TLB.
 * Sanitizer builds use the heap so that AddressSanitizer still sees overflows.
 */
#ifndef APISENSOR_COMMON_BIGMEM_H
#define APISENSOR_COMMON_BIGMEM_H

#include <stddef.h>

/* Alignment of every block: a cache line (mappings are page-aligned). */
#define BIGMEM_ALIGN 64

/* bytes of zeroed memory aligned to BIGMEM_ALIGN, or NULL (bytes == 0, or
 * no memory). */
void *bigmem_alloc(size_t bytes);

/* Frees a bigmem_alloc() block of the same size; NULL is a no-op. */
void bigmem_free(void *ptr, size_t bytes);

#endif
