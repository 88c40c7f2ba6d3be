/*
 * lane.h - the lane's inline bodies (the seam is alloc/include/hartalloc_lane.h):
 * mi's fast paths on a heap the caller caches, with no irq hooks and no
 * dispatch. Included by the core, and by an embedding that defines
 * HA_LANE_INLINE, through the public header; so every include here is
 * relative to this folder or public.
 *
 * The lane does what the masked fast paths do (mi_alloc_direct,
 * mi_free_local), on owner-only fields only, plus remote frees (atomics
 * only). Everything else, and every miss, goes through the ABI.
 */
#ifndef HA_MI_LANE_H
#define HA_MI_LANE_H

#include "hartalloc_lane.h"
#include "internal.h"

/* A lane is its heap: the opaque type only hides the layout. */
struct ha_lane {
    mi_heap heap;
};

/* A lane free left the page empty: retire it if mi's rules say so (masked). */
void mi_lane_page_emptied(mi_heap *heap, mi_page *page);

/* Free p, a block of another heap's small, medium or large page that is not
 * FULL, onto that page's xthread_free (one CAS, as any remote free); false,
 * having done nothing, for anything else (NULL included). free.c. */
bool mi_lane_free_remote(mi_heap *heap, void *p);

/* A block of `size` bytes aligned to 16, or NULL on a miss. Size s in
 * [1, 1024] rounds to 16-byte class 16 * ceil(s / 16), whose direct entry
 * is twice that in words; larger classes up to MI_MEDIUM_MAX are multiples
 * of 16 and come from their class's first page. */
static inline __attribute__((always_inline)) void *mi_lane_alloc(mi_heap *heap, size_t size)
{
    if (likely(size - 1 < MI_DIRECT_MAX))
        return mi_alloc_direct(heap, (((size - 1) >> 4) << 1) + 2);
    if (size == 0 || size > MI_MEDIUM_MAX)
        return 0;
    mi_page *page = heap->queues[mi_bin_of(size)].first;
    return page ? mi_page_pop(page) : 0;
}

/* Fast path: a block of this heap's that takes fast frees is pushed on its
 * page's local_free; false, having done nothing, for any other block. */
static inline __attribute__((always_inline)) bool mi_lane_free(mi_heap *heap, void *p)
{
    mi_page *page = mi_free_local(heap, p);
    if (unlikely(page == 0))
        return false;
    if (mi_page_emptied_retires(heap, page))
        mi_lane_page_emptied(heap, page);
    return true;
}

#ifdef HA_LANE_INLINE
static inline __attribute__((always_inline)) void *ha_lane_alloc(ha_lane *lane, size_t size)
{
    return mi_lane_alloc(&lane->heap, size);
}

static inline __attribute__((always_inline)) bool ha_lane_free(ha_lane *lane, void *p)
{
    return mi_lane_free(&lane->heap, p);
}
#endif

#endif /* HA_MI_LANE_H */
