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
    page->remote_backlog = 0;
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
    size_t bs = page->block_size; /* a local: the stores below cannot change it */
    size_t n = MI_EXTEND_BYTES / bs;
    if (n < MI_EXTEND_MIN_BLOCKS)
        n = MI_EXTEND_MIN_BLOCKS; /* fewer trips to the slow path for big blocks */
    if (n > MI_EXTEND_MAX_BLOCKS)
        n = MI_EXTEND_MAX_BLOCKS; /* a bounded carve for the smallest classes */
    if (n > page->reserved - page->capacity)
        n = page->reserved - page->capacity;
    uint8_t *first = page->area + (size_t)page->capacity * bs;
    mi_block *last = (mi_block *)(first + (n - 1) * bs);
    for (uint8_t *b = first; (mi_block *)b < last; b += bs) {
        ((mi_block *)b)->next = mi_encode(page, (mi_block *)(b + bs));
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

/* Count up to `max` blocks of the backlog into local_free. */
static void take_backlog(mi_page *page, uint32_t max)
{
    mi_block *head = page->remote_backlog, *tail = head, *next;
    uint32_t count = 1;
    while ((next = mi_decode(page, tail->next, tail)) != 0 && count < max) {
        tail = next;
        count++;
    }
    page->remote_backlog = next;
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

/* Take the remote list into the backlog, keeping the full-state flag;
 * false if it was empty. */
static bool take_thread_free(mi_page *page)
{
    uintptr_t tf = mi_load_relaxed(&page->xthread_free);
    if (!(tf & ~MI_FLAG_MASK))
        return false;
    while (!mi_cas_weak_acq_rel(&page->xthread_free, &tf, tf & MI_FLAG_MASK))
        ;
    page->remote_backlog = (mi_block *)(tf & ~MI_FLAG_MASK);
    return true;
}

void mi_page_collect_remote(mi_page *page)
{
    /* Bounded: at most MI_COLLECT_MAX remote frees are counted per call, the
     * rest stay on the backlog for the next collect. */
    if (page->remote_backlog || take_thread_free(page))
        take_backlog(page, MI_COLLECT_MAX);
}

void mi_page_collect_all(mi_page *page)
{
    if (page->remote_backlog)
        take_backlog(page, UINT32_MAX);
    take_thread_free(page);
    if (page->remote_backlog)
        take_backlog(page, UINT32_MAX);
    mi_page_local_to_free(page);
}
