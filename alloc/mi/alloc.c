/*
 * mi/alloc.c - allocation on a given heap: the generic path (any size class,
 * alignment, zeroing, 4 KiB pages) and realloc. Callers hold the heap (irqs
 * masked; see entry_points.c).
 */
#include "internal.h"

static void *finish(mi_heap *heap, mi_page *page, mi_block *block, void *user, size_t size,
                    bool zero, bool as_pages)
{
    /* The page counted the block (mi_page_pop, alloc_single), except a huge
     * one, whose page is not the heap's: the heap counts that here. */
    mi_stats *stats = &heap->stats;
    bool counted = page->bin != MI_BIN_HUGE;
    if (as_pages) {
        mi_stat_add(&stats->page4k_block_bytes, (int64_t)page->block_size);
        if (counted) { /* not a block: undo what the page's allocs count */
            mi_stat_add((int64_t *)&stats->allocs, -1);
            mi_stat_add(&stats->bytes_in_use, -(int64_t)page->block_size);
        }
    } else {
        if (!counted) {
            mi_stat_inc(&stats->allocs);
            mi_stat_add(&stats->bytes_in_use, (int64_t)page->block_size);
        }
#ifdef HA_CHECKED
        size_t usable = size;
#else
        size_t usable = page->block_size - (size_t)((uint8_t *)user - (uint8_t *)block);
#endif
        if (usable != page->block_size)
            mi_stat_add(&stats->unusable_bytes, (int64_t)(page->block_size - usable));
    }
    if (zero) {
        if (page->free_is_zero)
            block->next = 0; /* the rest of a never-used block is still zero */
        else
            __builtin_memset(user, 0, size);
    }
#ifdef HA_CHECKED
    mi_checked_on_alloc(page, block, user, size);
#endif
    return user;
}

/* A block of size class `bin`: from the first page of its queue when that
 * has a free block, else from mi_heap_alloc_slow. (The generic path: the
 * fast one is mi_alloc_direct.) */
static inline void *alloc_bin(mi_heap *heap, unsigned bin, size_t align, size_t size, bool zero,
                              bool as_pages)
{
    mi_page *page = heap->queues[bin].first;
    mi_block *block = page ? mi_page_pop(page) : 0;
    if (unlikely(!block)) {
        block = mi_heap_alloc_slow(heap, bin);
        if (unlikely(!block))
            return 0;
        page = mi_page_of(mi_segment_of(block), block);
    }
#ifdef HA_CHECKED
    mi_checked_on_pop(page, block);
#endif
    void *user = block;
    if (unlikely(align > HA_PAGE_SIZE)) {
        user = (void *)ha_align_up((uintptr_t)block, align);
        if (!mi_load_relaxed(&page->xhas_aligned)) {
            mi_store_relaxed(&page->xhas_aligned, 1u);
            mi_page_set_fast(page);
        }
    }
    return finish(heap, page, block, user, size, zero, as_pages);
}

/* A block on a page of its own (large) or a segment run (huge). */
static void *alloc_single(mi_heap *heap, size_t size, size_t need, size_t align, bool zero,
                          bool as_pages)
{
    mi_page *page = need <= MI_LARGE_MAX ? mi_heap_take_large_cache(heap, need, align) : 0;
    bool parked = page != 0;
    if (!page && need <= MI_LARGE_MAX)
        page = mi_segment_large_alloc(heap, need, align);
    if (!page && need <= MI_LARGE_MAX) {
        mi_heap_collect_all(heap); /* give back empty pages, then try again */
        page = mi_segment_large_alloc(heap, need, align);
    }
    if (!page) {
        page = mi_segment_huge_alloc(heap, need, align);
        if (!page) {
            mi_heap_collect_all(heap);
            page = mi_segment_huge_alloc(heap, need, align);
        }
    }
    if (!page)
        return 0;
    mi_block *block = page->free;
    page->free = 0;
    mi_count_inc(&page->allocs); /* used was 0: now 1 */
    if (page->bin == MI_BIN_LARGE && !parked)
        mi_heap_park_large(heap, page);
    void *user = block;
    if (align > HA_PAGE_SIZE) {
        user = (void *)ha_align_up((uintptr_t)block, align);
        mi_store_relaxed(&page->xhas_aligned, 1u);
    }
    if (zero && page->free_is_zero) {
        zero = false; /* never handed out since the memory was zero */
#ifdef HA_CHECKED
        zero = true;
#endif
    }
    return finish(heap, page, block, user, size, zero, as_pages);
}

void *mi_heap_alloc_generic(mi_heap *heap, size_t size, size_t align, bool zero, bool as_pages)
{
    size_t need = size + MI_PADDING;
    if (unlikely(need < size))
        return 0;
    if (likely(align <= HA_PAGE_SIZE)) {
        /* Rounding up to a multiple of align lands on a class whose size is a
         * multiple of align; page areas are 4 KiB-aligned, so every block of
         * that class is aligned (alloc/README.md). */
        size_t rounded = ha_align_up(need ? need : 1, align);
        if (likely(rounded <= MI_MEDIUM_MAX && rounded >= need))
            return alloc_bin(heap, mi_bin_of(rounded), align, size, zero, as_pages);
    } else if (need <= MI_MEDIUM_MAX && align <= MI_MEDIUM_MAX && need + align - 1 <= MI_MEDIUM_MAX) {
        return alloc_bin(heap, mi_bin_of(need + align - 1), align, size, zero, as_pages);
    }
    return alloc_single(heap, size, need, align, zero, as_pages);
}

size_t mi_usable_size(const void *p)
{
    mi_page *page = mi_page_of_block(p);
    return mi_block_usable(page, mi_block_start(page, p), p);
}

void *mi_heap_realloc(mi_heap *heap, void *p, size_t old_size, size_t align, size_t new_size)
{
    mi_page *page = mi_page_of_block(p);
    mi_block *block = mi_block_start(page, p);
    size_t room = page->block_size - (size_t)((uint8_t *)p - (uint8_t *)block) - MI_PADDING;
#ifdef HA_CHECKED
    mi_checked_on_free(page, block, p, old_size, align, "realloc");
#endif
    /* In place when the block still fits and would not waste over half. */
    if (new_size <= room && (new_size >= room / 2 || page->block_size <= 64)) {
#ifdef HA_CHECKED
        /* The usable size is the requested one here: move the statistics. */
        mi_stat_add(&heap->stats.unusable_bytes, (int64_t)mi_block_usable(page, block, p) - (int64_t)new_size);
        mi_checked_on_alloc(page, block, p, new_size);
#endif
        return p;
    }
    void *fresh = mi_heap_alloc_generic(heap, new_size, align, false, false);
    if (!fresh) {
#ifdef HA_CHECKED
        mi_checked_on_alloc(page, block, p, old_size); /* still the caller's */
#endif
        return 0;
    }
    __builtin_memcpy(fresh, p, old_size < new_size ? old_size : new_size);
#ifdef HA_CHECKED
    mi_checked_on_alloc(page, block, p, old_size); /* mi_free checks it again */
#endif
    mi_free(heap, p, old_size, align, false);
    return fresh;
}
