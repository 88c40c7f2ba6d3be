/*
 * mi/page.c - one page's blocks: lazy carving and collecting the three free
 * lists (invariants in mi/types.h). Owner CPU only, except where noted.
 */
#include "internal.h"

void mi_page_init(mi_page *page, mi_heap *heap, size_t block_size, size_t area_bytes, bool zeroed)
{
    static uintptr_t key_counter; /* only varies keys; races are harmless */
    page->free = page->local_free = 0;
    mi_store_relaxed(&page->xthread_free, (uintptr_t)MI_NORMAL);
    mi_store_relaxed(&page->allocs, 0u);
    mi_store_relaxed(&page->frees, 0u);
    page->capacity = 0;
    page->reserved = (uint32_t)(area_bytes / block_size);
    page->block_size = block_size;
    page->heap = heap;
    page->next = page->prev = page->returned_next = 0;
    page->in_use = 1;
    page->in_full = 0;
    mi_store_relaxed(&page->xhas_aligned, 0u);
    mi_page_set_fast(page); /* bin is set: a class page takes fast frees */
    uintptr_t k = mi_load_relaxed(&key_counter) + 0x9e3779b97f4a7c15ull;
    mi_store_relaxed(&key_counter, k);
    page->key = (k ^ (uintptr_t)page ^ mi_pool_secret()) | 1;
#ifdef HA_CHECKED
    __builtin_memset(page->live, 0, sizeof page->live);
    page->free_is_zero = 0; /* checked builds fill free blocks with a pattern */
#else
    page->free_is_zero = zeroed;
#endif
    if (page->reserved > 0)
        mi_page_extend(page);
}

bool mi_page_extend(mi_page *page)
{
    if (page->capacity >= page->reserved)
        return false;
    size_t n = MI_EXTEND_BYTES / page->block_size;
    if (n < MI_EXTEND_MIN_BLOCKS)
        n = MI_EXTEND_MIN_BLOCKS; /* fewer trips to the slow path for big blocks */
    if (n > page->reserved - page->capacity)
        n = page->reserved - page->capacity;
    uint8_t *first = page->area + (size_t)page->capacity * page->block_size;
    mi_block *last = (mi_block *)(first + (n - 1) * page->block_size);
    for (uint8_t *b = first; (mi_block *)b < last; b += page->block_size) {
        ((mi_block *)b)->next = mi_encode(page, (mi_block *)(b + page->block_size));
#ifdef HA_CHECKED
        mi_checked_fill_free(page, (mi_block *)b);
#endif
    }
    last->next = mi_encode(page, page->free);
#ifdef HA_CHECKED
    mi_checked_fill_free(page, last);
#endif
    page->free = (mi_block *)first;
    page->capacity += (uint32_t)n;
    return true;
}

void mi_page_collect(mi_page *page)
{
    uintptr_t tf = mi_load_relaxed(&page->xthread_free);
    if (tf & ~MI_FLAG_MASK) {
        /* Take the whole list, keep the full-state flag. */
        while (!mi_cas_weak_acq_rel(&page->xthread_free, &tf, tf & MI_FLAG_MASK))
            ;
        mi_block *head = (mi_block *)(tf & ~MI_FLAG_MASK), *tail = head;
        uint32_t count = 1;
        for (mi_block *next; (next = mi_decode(page, tail->next, tail)) != 0; tail = next)
            count++;
        tail->next = mi_encode(page, page->local_free);
        page->local_free = head;
        if (count > mi_page_used(page))
            ha_fault(head, "page %p: %u remote frees but only %u blocks in use (double free?)",
                     (void *)page, count, mi_page_used(page));
        /* The freeing CPUs counted these frees (free_remote_mt's callers);
         * the page counts them too, so `used` drops: take them back out of
         * this heap's figures. */
        mi_stats *stats = &page->heap->stats;
        mi_store_relaxed(&page->frees, page->frees + count);
        mi_stat_add((int64_t *)&stats->frees, -(int64_t)count);
        mi_stat_add(&stats->bytes_in_use, (int64_t)count * (int64_t)page->block_size);
    }
    if (!page->free && page->local_free) {
        mi_page_fold(page);
        page->free = page->local_free;
        page->local_free = 0;
        page->free_is_zero = 0;
    }
}
