/*
 * mi/free.c - returning a block: to its page's local_free when the caller's
 * heap owns the page, to its xthread_free (one CAS) when it does not, and
 * straight to the pool for huge blocks.
 */
#include "internal.h"

mi_page *mi_page_of_block(const void *p)
{
    mi_segment *seg = mi_segment_of(p);
    if (unlikely((const void *)seg == p)) {
        /* Only a huge block starts on a segment boundary (an aligned one may
         * start on a later boundary of its run); its page is out of line. */
        size_t count;
        void *run = mi_pool_find_huge(p, &count);
        mi_page *page = run ? mi_segment_huge_page(run, count) : 0;
        if (!page || !page->in_use)
            ha_fault(p, "not a live block: no segment in use holds it");
        return page;
    }
#ifdef HA_CHECKED
    if (!mi_pool_contains(p))
        ha_fault(p, "not allocated by hartalloc: outside every heap region");
    size_t count;
    if (mi_pool_find_huge(p, &count))
        ha_fault(p, "not a block: inside a huge block (an interior pointer)");
    if (seg->cookie != ((uintptr_t)seg ^ mi_pool_secret()))
        ha_fault(p, "not a live block: its segment %p is free (never allocated, or freed)", (void *)seg);
    if (seg->free_slices & (1ull << (((uintptr_t)p - (uintptr_t)seg) >> MI_SLICE_SHIFT)))
        ha_fault(p, "not a live block: its slice of the segment is free (freed or never allocated)");
    mi_page *page = mi_page_of(seg, p);
    if (!page->in_use)
        ha_fault(p, "not a live block: its page is not in use (freed or never allocated)");
    if ((const uint8_t *)p < page->area ||
        (size_t)((const uint8_t *)p - page->area) >= (size_t)page->capacity * page->block_size)
        ha_fault(p, "not a block: outside the carved part of its page");
    return page;
#else
    return mi_page_of(seg, p);
#endif
}

/* Push block on its page's xthread_free. The first remote free into a FULL
 * page also hands the page back to its owner (FULL -> NOTIFIED, then the
 * owner's stack); with may_hand_back false it leaves such a page alone and
 * returns false, having done nothing. */
static bool free_remote_mt(mi_page *page, mi_block *block, bool may_hand_back)
{
    uintptr_t tf = mi_load_relaxed(&page->xthread_free);
    uintptr_t flag;
    do {
        flag = tf & MI_FLAG_MASK;
        if (flag == MI_FULL && !may_hand_back)
            return false;
        block->next = mi_encode(page, (mi_block *)(tf & ~MI_FLAG_MASK));
    } while (!mi_cas_weak_release(&page->xthread_free, &tf,
                                  (uintptr_t)block | (flag == MI_FULL ? MI_NOTIFIED : flag)));
    if (flag == MI_FULL)
        mi_heap_return_page_mt(page->heap, page); /* we made it NOTIFIED: we push */
    return true;
}

/* local: the block goes on this heap's page, whose frees count it (the
 * heap's figures then only correct for a 4 KiB-page block); otherwise (a
 * huge block, a remote free) the heap counts the free here. */
static void count_free(mi_stats *stats, const mi_page *page, const mi_block *block, const void *p,
                       bool as_pages, bool local)
{
    int64_t unusable = (int64_t)(page->block_size - mi_block_usable(page, block, p));
    if (as_pages) {
        mi_stat_add(&stats->page4k_block_bytes, -(int64_t)page->block_size);
        if (local) { /* not a block free: undo what the page's frees will count */
            mi_stat_add((int64_t *)&stats->frees, -1);
            mi_stat_add(&stats->bytes_in_use, (int64_t)page->block_size);
        }
        return;
    }
    if (!local) {
        mi_stat_inc(&stats->frees);
        mi_stat_add(&stats->bytes_in_use, -(int64_t)page->block_size);
    }
    if (unusable)
        mi_stat_add(&stats->unusable_bytes, -unusable);
}

bool mi_lane_free_remote(mi_heap *heap, void *p)
{
    mi_segment *seg = mi_segment_of(p);
    if ((void *)seg == p)
        return false;
    mi_page *page = mi_page_of(seg, p);
    if (!page->in_use || page->bin == MI_BIN_HUGE || page->heap == heap ||
        mi_load_relaxed(&page->xhas_aligned))
        return false;
    /* Not into a FULL page: handing it back to its owner takes two steps (the
     * flag, then the owner's stack), and a fork between them, which does not
     * wait for the unmasked lane, would leave the page NOTIFIED on nobody's
     * stack in the child. The masked path does it. */
    if (!free_remote_mt(page, (mi_block *)p, false))
        return false;
    mi_stats *stats = &heap->stats;
    mi_stat_inc(&stats->frees);
    mi_stat_inc(&stats->remote_frees);
    mi_stat_add(&stats->bytes_in_use, -(int64_t)page->block_size);
    return true;
}

void mi_free_generic(mi_heap *heap, void *p, size_t size, size_t align, bool as_pages)
{
    mi_page *page = mi_page_of_block(p);
#ifdef HA_CHECKED
    mi_block *block = mi_block_start(page, p); /* an interior pointer must be seen as one */
#else
    mi_block *block = unlikely(mi_load_relaxed(&page->xhas_aligned)) ? mi_block_start(page, p) : (mi_block *)p;
#endif
#ifdef HA_CHECKED
    mi_checked_on_free(page, block, p, size, align, "free");
#endif
    bool local = page->bin != MI_BIN_HUGE && page->heap == heap;
    count_free(&heap->stats, page, block, p, as_pages, local);
#ifdef HA_CHECKED
    mi_checked_fill_free(page, block);
#endif
    if (unlikely(page->bin == MI_BIN_HUGE)) {
        size_t count = mi_segment_huge_free(page);
        mi_stat_add(&heap->stats.segments_in_use, -(int64_t)count);
        mi_stat_held(&heap->stats, -((int64_t)count << MI_SEGMENT_SHIFT));
        return;
    }
    if (likely(local)) {
        mi_page_push_local(page, block);
        if (unlikely(page->in_full || mi_page_used(page) == 0))
            mi_heap_page_freed_slow(heap, page);
    } else {
        if (!as_pages)
            mi_stat_inc(&heap->stats.remote_frees);
        free_remote_mt(page, block, true);
    }
}
