/*
 * region_set.h - the memory regions a non-mi backend manages (ha_init's region
 * and every ha_add_memory), shared by tlsf, buddy, fit and the page frames.
 *
 * Regions are only ever appended, under the owning backend's lock, and never
 * overlap: a block or page is in at most one of them, and "which region holds
 * this address" is the first question every validating path asks.
 */
#ifndef HA_REGION_SET_H
#define HA_REGION_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "hartalloc.h"

/* ---- tunable ------------------------------------------------------------- */

struct region {
    uintptr_t start; /* first managed byte (after the backend's metadata)  */
    uintptr_t end;   /* one past the last managed byte                      */
};

struct region_set {
    unsigned count;
    struct region r[HA_MAX_REGIONS];
};

/* [*s, *e): the memory ha_init or ha_add_memory hands over, [start, start +
 * size), shrunk to granule boundaries. 0, -HA_EINVAL when it wraps the
 * address space, -HA_ETOOSMALL when fewer than min bytes remain. */
static inline int region_span(void *start, size_t size, size_t granule, size_t min, uintptr_t *s, uintptr_t *e)
{
    *s = ha_align_up((uintptr_t)start, granule);
    *e = (uintptr_t)start + size;
    if (*e < (uintptr_t)start)
        return -HA_EINVAL;
    *e = ha_align_down(*e, granule);
    if (*e <= *s || *e - *s < min)
        return -HA_ETOOSMALL;
    return 0;
}

/* Whether [start, end) touches a region already in the set. */
/* Bytes managed in all regions (a backend's bytes held are this less its
 * free bytes). */
static inline size_t region_set_bytes(const struct region_set *set)
{
    size_t bytes = 0;
    for (unsigned i = 0; i < set->count; i++)
        bytes += set->r[i].end - set->r[i].start;
    return bytes;
}

static inline bool region_set_overlaps(const struct region_set *set, uintptr_t start, uintptr_t end)
{
    for (unsigned i = 0; i < set->count; i++)
        if (start < set->r[i].end && set->r[i].start < end)
            return true;
    return false;
}

/* Append a region: its index; -HA_EINVAL when it touches one already in the
 * set (handing the same memory over twice would let two blocks share bytes),
 * -HA_EFULL when every slot is taken. */
static inline int region_set_add(struct region_set *set, uintptr_t start, uintptr_t end)
{
    if (region_set_overlaps(set, start, end))
        return -HA_EINVAL;
    if (set->count == HA_MAX_REGIONS)
        return -HA_EFULL;
    set->r[set->count].start = start;
    set->r[set->count].end = end;
    return (int)set->count++;
}

/* The region holding addr, or NULL. Linear: there are at most 16 regions. */
static inline const struct region *region_set_find(const struct region_set *set, uintptr_t addr)
{
    for (unsigned i = 0; i < set->count; i++)
        if (addr >= set->r[i].start && addr < set->r[i].end)
            return &set->r[i];
    return 0;
}

/* The region holding the block at ptr, whose header is at block: a checked
 * build's first test of a pointer handed back, which stops (ha_fault) unless
 * ptr is granule-aligned and the block inside a region. */
static inline const struct region *region_set_verify_block(const struct region_set *set, const void *ptr,
                                                          const void *block, size_t granule, const char *backend)
{
    const struct region *r = region_set_find(set, (uintptr_t)block);
    if ((uintptr_t)ptr % granule || !r)
        ha_fault(ptr, "%s: not a block of this heap", backend);
    return r;
}

/* Whether [start, start + len) lies inside one region. */
static inline bool region_set_contains(const struct region_set *set, uintptr_t start, size_t len)
{
    const struct region *r = region_set_find(set, start);
    return r && len <= r->end - start;
}

#endif /* HA_REGION_SET_H */
