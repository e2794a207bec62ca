/* Lazily mapped, huge-page-advised tables (see bigmem.h). */
#include "bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef __SANITIZE_ADDRESS__
#include <sys/mman.h>
#endif

void *bigmem_alloc(size_t bytes) {
    if (bytes == 0)
        return NULL;
#ifdef __SANITIZE_ADDRESS__
    /* ASan maps large calloc blocks fresh (zero, untouched) and in practice
     * aligned; clearing the whole table per run would cost the test suite */
    void *ptr = calloc(1, bytes);
    if (!ptr || (uintptr_t)ptr % BIGMEM_ALIGN == 0)
        return ptr;
    free(ptr);
    if (bytes > SIZE_MAX - BIGMEM_ALIGN)
        return NULL;
    size_t rounded = (bytes + BIGMEM_ALIGN - 1) / BIGMEM_ALIGN * BIGMEM_ALIGN;
    ptr = aligned_alloc(BIGMEM_ALIGN, rounded);
    if (ptr)
        memset(ptr, 0, rounded);
    return ptr;
#else
    void *ptr = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ptr == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    /* advice only: without huge pages the table works the same */
    (void)madvise(ptr, bytes, MADV_HUGEPAGE);
#endif
    return ptr;
#endif
}

void bigmem_free(void *ptr, size_t bytes) {
    if (!ptr)
        return;
#ifdef __SANITIZE_ADDRESS__
    (void)bytes;
    free(ptr);
#else
    munmap(ptr, bytes);
#endif
}
