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

/* Whether [start, end) touches a region already in the set; the caller
 * rejects such a region (handing the same memory over twice would let two
 * blocks share bytes). */
static inline bool region_set_overlaps(const struct region_set *set, uintptr_t start, uintptr_t end)
{
    for (unsigned i = 0; i < set->count; i++)
        if (start < set->r[i].end && set->r[i].start < end)
            return true;
    return false;
}

/* Append a region: the index, or -HA_EFULL when every slot is taken. */
static inline int region_set_add(struct region_set *set, uintptr_t start, uintptr_t end)
{
    if (set->count == HA_MAX_REGIONS)
        return -HA_EFULL;
    set->r[set->count].start = start;
    set->r[set->count].end = end;
    return (int)set->count++;
}

/* The region holding addr, or NULL. Linear: there are at most 16 regions. */
/* Bytes managed in all regions (a backend's held figure is this less its
 * free bytes). */
static inline size_t region_set_bytes(const struct region_set *set)
{
    size_t bytes = 0;
    for (unsigned i = 0; i < set->count; i++)
        bytes += set->r[i].end - set->r[i].start;
    return bytes;
}

static inline const struct region *region_set_find(const struct region_set *set, uintptr_t addr)
{
    for (unsigned i = 0; i < set->count; i++)
        if (addr >= set->r[i].start && addr < set->r[i].end)
            return &set->r[i];
    return 0;
}

/* Whether [start, start + len) lies inside one region. */
static inline bool region_set_contains(const struct region_set *set, uintptr_t start, size_t len)
{
    const struct region *r = region_set_find(set, start);
    return r && len <= r->end - start;
}

#endif /* HA_REGION_SET_H */
