/*
 * mi/lane.h - the lane: mi's fast paths for an embedding that caches its
 * thread's heap, so a small malloc or free is a few loads and stores with no
 * call into the core, no interrupt masking and no dispatch.
 *
 * Who may use it. A caller that is the only user of its CPU index and that
 * no allocating interrupt handler can preempt: a host thread that leased a
 * slot of its own (arch/host/malloc_shim.c). POSIX already forbids malloc in
 * signal handlers. A hart cannot use it: its interrupts may allocate, so it
 * keeps ha_alloc's masked section (riscv64 pays two CSR writes for that).
 *
 * The lane does what the masked fast paths do (mi_alloc_direct,
 * mi_free_local), on owner-only fields only. Everything else, and every
 * miss, goes through the ABI (ha_alloc, ha_free), which masks as usual: so
 * locks are only ever taken inside masked sections, as the host's fork
 * handling expects (cpu_slots.c).
 *
 * Not part of the public ABI: it exposes mi's internal types.
 */
#ifndef HA_MI_LANE_H
#define HA_MI_LANE_H

#include "internal.h"

/* The heap of `cpu` for the lane, or &mi_lane_closed when the active type is
 * not per-CPU mi or the build is checked (every call is verified there). */
mi_heap *mi_lane_heap(unsigned cpu);

/* A heap with no pages: every lane call on it misses. A closed lane holds
 * it instead of NULL, so the fast paths test nothing extra. */
extern mi_heap mi_lane_closed;

/* A lane free left the page empty: retire it if mi's rules say so (masked). */
void mi_lane_page_emptied(mi_heap *heap, mi_page *page);

/* A block of `size` bytes aligned to 16 (malloc's alignment), or NULL on a
 * miss: size 0, above MI_DIRECT_MAX, or the class's page has no free block.
 * Size s in [1, 1024] rounds to 16-byte class 16 * ceil(s / 16), whose
 * direct entry is twice that in words. */
static inline __attribute__((always_inline)) void *mi_lane_alloc16(mi_heap *heap, size_t size)
{
    if (unlikely(size - 1 >= MI_DIRECT_MAX))
        return 0;
    return mi_alloc_direct(heap, (((size - 1) >> 4) << 1) + 2);
}

/* A block of `size` bytes, 1024 < size <= MI_MEDIUM_MAX, from its class's
 * first page, or NULL on a miss. These classes are multiples of 16. */
static inline void *mi_lane_alloc_class(mi_heap *heap, size_t size)
{
    if (size > MI_MEDIUM_MAX)
        return 0;
    mi_page *page = heap->queues[mi_bin_of(size)].first;
    return page ? mi_page_pop(page) : 0;
}

/* Free p, a block of another heap's small, medium or large page that is not
 * FULL, onto that page's xthread_free (one CAS, as any remote free); false,
 * having done nothing, for anything else. The lane must be open. */
bool mi_lane_free_remote(mi_heap *heap, void *p);

/* Free p if it is a block of this heap's that takes fast frees; false, having
 * done nothing, otherwise (NULL included). */
static inline __attribute__((always_inline)) bool mi_lane_free(mi_heap *heap, void *p)
{
    mi_page *page = mi_free_local(heap, p);
    if (unlikely(page == 0))
        return false;
    if (mi_page_emptied_retires(heap, page))
        mi_lane_page_emptied(heap, page);
    return true;
}

#endif /* HA_MI_LANE_H */
