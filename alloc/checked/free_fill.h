/*
 * free_fill.h - checked builds (HA_CHECKED) of slab, tlsf and the fits: free
 * memory carries a pattern, verified when it is handed out again, so a write
 * into freed memory is reported at its reuse.
 *
 * Each backend fills the first FREE_FILL_MAX bytes of a free block or object
 * past its own links whenever it creates one (a free, a split, a merge), and
 * verifies them when it hands that block out from its start. Bytes beyond
 * FREE_FILL_MAX, and memory never handed out, are not covered: the cost stays
 * bounded per operation. Release builds compile none of this.
 */
#ifndef HA_FREE_FILL_H
#define HA_FREE_FILL_H

#ifdef HA_CHECKED
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define FREE_FILL 0xdfu
#define FREE_FILL_MAX 256u /* bytes of a free block that carry the fill */

static inline size_t free_fill_len(size_t n) { return n < FREE_FILL_MAX ? n : FREE_FILL_MAX; }

/* Fill [p, p + n), n bounded by the caller with free_fill_len. */
static inline void free_fill(void *p, size_t n) { __builtin_memset(p, FREE_FILL, n); }

/* Fault naming block if [p, p + n) is not all fill. */
static inline void free_fill_verify(const void *block, const void *p, size_t n, const char *backend)
{
    const uint8_t *bytes = p;
    for (size_t i = 0; i < n; i++)
        if (bytes[i] != FREE_FILL)
            ha_fault(block, "%s: free memory written after it was freed (byte %zu of %p is 0x%x)", backend,
                     (size_t)(bytes + i - (const uint8_t *)block), p, bytes[i]);
}
#endif

#endif /* HA_FREE_FILL_H */
