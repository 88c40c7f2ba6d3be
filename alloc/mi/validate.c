/*
 * mi/validate.c - ha_check for mi and mi-locked: walks the pool, every heap,
 * every queued page and its three lists, and reports the first broken
 * invariant of mi/types.h. Needs a quiescent heap (no CPU allocating).
 */
#include "internal.h"

#define MAX_BLOCKS_PER_PAGE ((1u << MI_SLICE_SHIFT) / 8) /* small pages are the densest */

struct totals {
    int64_t live_bytes;   /* sum over pages of (used - |xthread_free|) * block size */
    int64_t pages;
    int64_t held_bytes;   /* sum over pages of their slices' bytes             */
};

/* Walk one list, marking blocks in `seen`; returns the length or -1. */
static long walk_list(const mi_page *page, const mi_block *head, uint64_t *seen, const char *name)
{
    long n = 0;
    for (const mi_block *b = head; b; b = mi_decode(page, b->next, b)) {
        size_t offset = (size_t)((const uint8_t *)b - page->area);
        if ((const uint8_t *)b < page->area || offset >= (size_t)page->capacity * page->block_size ||
            offset % page->block_size != 0)
            return ha_check_fail("page %p: %s list holds %p, not a carved block of the page",
                                 (const void *)page, name, (const void *)b);
        size_t i = offset / page->block_size;
        if (seen[i / 64] & (1ull << (i % 64)))
            return ha_check_fail("page %p: block %p is on two lists (or twice on the %s list)",
                                 (const void *)page, (const void *)b, name);
        seen[i / 64] |= 1ull << (i % 64);
        if (++n > (long)page->capacity)
            return ha_check_fail("page %p: %s list is longer than the page (a cycle?)", (const void *)page, name);
    }
    return n;
}

static int check_page(const mi_heap *heap, const mi_page *page, unsigned queue, struct totals *t)
{
    static uint64_t seen[MAX_BLOCKS_PER_PAGE / 64];
    const mi_segment *seg = mi_segment_of(page);
    if (seg->cookie != ((uintptr_t)seg ^ mi_pool_secret()))
        return ha_check_fail("page %p: its segment %p has no live header", (const void *)page, (const void *)seg);
    if (!page->in_use || page->heap != heap || seg->heap != heap)
        return ha_check_fail("page %p on heap %u's queue %u is not in use by that heap", (const void *)page,
                             heap->cpu, queue);
    bool large = page->bin == MI_BIN_LARGE;
    if ((queue == MI_BIN_FULL) != (page->in_full != 0) || (queue != MI_BIN_FULL && page->bin != queue) ||
        (large && queue != MI_BIN_FULL) || page->bin == MI_BIN_HUGE || page->bin > MI_BIN_LARGE)
        return ha_check_fail("page %p (class %u, full %u) is on queue %u", (const void *)page, page->bin,
                             page->in_full, queue);
    bool fast = queue != MI_BIN_FULL && !mi_load_relaxed(&page->xhas_aligned);
    if (mi_load_relaxed(&page->fast_heap) != (fast ? heap : 0))
        return ha_check_fail("page %p (queue %u): fast-free heap %p, expected %p", (const void *)page, queue,
                             (const void *)mi_load_relaxed(&page->fast_heap), (const void *)(fast ? heap : 0));
    if ((!large && mi_bin_size(page->bin) != page->block_size) || (large && page->reserved != 1) ||
        page->capacity > page->reserved || page->reserved == 0 ||
        (size_t)page->reserved * page->block_size > ((size_t)page->slice_count << MI_SLICE_SHIFT))
        return ha_check_fail("page %p: block size %zu / capacity %u / reserved %u are inconsistent",
                             (const void *)page, page->block_size, page->capacity, page->reserved);
    if (page != &seg->pages[page->index] || page->index + page->slice_count > MI_SLICES)
        return ha_check_fail("page %p: slices %u+%u do not describe it", (const void *)page, page->index,
                             page->slice_count);
    if (large) {
        /* The block ends in the page's last slice: no slice more than it needs. */
        uintptr_t end = (uintptr_t)seg + ((uintptr_t)(page->index + page->slice_count) << MI_SLICE_SHIFT);
        uintptr_t block_end = (uintptr_t)page->area + page->block_size;
        if (block_end > end || block_end + MI_SLICE_SIZE <= end)
            return ha_check_fail("large page %p: %u slices for a block of %zu bytes", (const void *)page,
                                 page->slice_count, page->block_size);
    }
    for (unsigned i = page->index; i < page->index + page->slice_count; i++)
        if (seg->slice_page[i] != page || (seg->free_slices & (1ull << i)))
            return ha_check_fail("segment %p: slice %u of page %p is free or mapped to another page",
                                 (const void *)seg, i, (const void *)page);
    uintptr_t tf = mi_load_acquire(&page->xthread_free);
    uintptr_t flag = tf & MI_FLAG_MASK;
    if (flag == 3 || (queue == MI_BIN_FULL ? flag == MI_NORMAL : flag == MI_FULL))
        return ha_check_fail("page %p: full-state %u does not match its queue %u", (const void *)page,
                             (unsigned)flag, queue);
    __builtin_memset(seen, 0, ((page->reserved + 63) / 64) * sizeof seen[0]);
    long nfree = walk_list(page, page->free, seen, "free");
    long nlocal = nfree < 0 ? -1 : walk_list(page, page->local_free, seen, "local_free");
    long nthread = nlocal < 0 ? -1 : walk_list(page, (const mi_block *)(tf & ~MI_FLAG_MASK), seen, "thread_free");
    long nbacklog = nthread < 0 ? -1 : walk_list(page, page->remote_backlog, seen, "remote_backlog");
    if (nbacklog < 0)
        return -1;
    nthread += nbacklog;
    uint32_t used = mi_page_used(page);
    if (page->frees > page->allocs)
        return ha_check_fail("page %p: %u frees counted but %u allocs", (const void *)page, page->frees,
                             page->allocs);
    if ((long)page->capacity != (long)used + nfree + nlocal)
        return ha_check_fail("page %p: capacity %u != used %u + free %ld + local_free %ld", (const void *)page,
                             page->capacity, used, nfree, nlocal);
    if (nthread > (long)used)
        return ha_check_fail("page %p: %ld remote frees pending but only %u blocks used", (const void *)page,
                             nthread, used);
    t->live_bytes += ((int64_t)used - nthread) * (int64_t)page->block_size;
    t->pages++;
    t->held_bytes += (int64_t)page->slice_count << MI_SLICE_SHIFT;
    return 0;
}

static int check_heap(const mi_heap *heap, struct totals *t)
{
    for (const mi_page *p = mi_load_acquire(&heap->xreturned); p; p = p->returned_next)
        if ((mi_load_relaxed(&p->xthread_free) & MI_FLAG_MASK) != MI_NOTIFIED)
            return ha_check_fail("page %p is on heap %u's returned stack but not NOTIFIED", (const void *)p,
                                 heap->cpu);
    for (const mi_page *p = heap->returned_backlog; p; p = p->returned_next)
        if ((mi_load_relaxed(&p->xthread_free) & MI_FLAG_MASK) != MI_NOTIFIED)
            return ha_check_fail("page %p is on heap %u's returned backlog but not NOTIFIED", (const void *)p,
                                 heap->cpu);
    for (unsigned q = 1; q <= MI_BIN_FULL; q++) {
        const mi_page *prev = 0;
        for (const mi_page *p = heap->queues[q].first; p; prev = p, p = p->next) {
            if (p->prev != prev)
                return ha_check_fail("heap %u queue %u: broken back link at page %p", heap->cpu, q,
                                     (const void *)p);
            if (check_page(heap, p, q, t) != 0)
                return -1;
        }
        if (heap->queues[q].last != prev)
            return ha_check_fail("heap %u queue %u: last page is not the tail", heap->cpu, q);
    }
    if (heap->queues[0].first)
        return ha_check_fail("heap %u: queue 0 is not a size class but holds pages", heap->cpu);
    const mi_page *cached = heap->large_cache;
    if (cached && (!cached->in_use || cached->heap != heap || cached->bin != MI_BIN_LARGE || !cached->in_full ||
                   mi_page_used(cached) != 0))
        return ha_check_fail("heap %u: cached large page %p is not an empty one-block page on its full queue",
                             heap->cpu, (const void *)cached);
    const mi_segment *sw = heap->sweeping;
    if (sw && (sw->cookie != ((uintptr_t)sw ^ mi_pool_secret()) || sw->heap != heap))
        return ha_check_fail("heap %u: the segment it is giving back (%p) is not a live segment of its own",
                             heap->cpu, (const void *)sw);
    for (const mi_segment *s = heap->segments; s; s = s->next)
        if (s->heap != heap || !s->on_list || s->free_slices == 0 ||
            s->free_slices == ~0ull)
            return ha_check_fail("heap %u: segment %p on its list has no free slice, or no used one, or another owner",
                                 heap->cpu, (const void *)s);
    return 0;
}

int mi_check_heaps(void)
{
    if (mi_pool_check() != 0)
        return -1;
    struct totals t = { 0, 0, 0 };
    int64_t stat_bytes = 0, stat_pages = 0, stat_held = 0;
    for (unsigned i = 0; i < mi_heap_count; i++)
        if (check_heap(&mi_heaps[i], &t) != 0)
            return -1;
    mi_stats sum;
    mi_stats_sum(0, HA_MAX_CPUS, &sum); /* the heaps' figures and their pages' counts */
    stat_bytes = sum.bytes_in_use + sum.page4k_block_bytes;
    stat_pages = sum.pages_in_use;
    stat_held = sum.held_bytes;
    /* Huge blocks live outside the queues: count them from the pool. */
    int64_t huge_bytes, huge_held;
    mi_pool_huge_bytes(&huge_bytes, &huge_held);
    if (t.pages != stat_pages)
        return ha_check_fail("%lld pages are queued but the statistics count %lld (a page was lost?)",
                             (long long)t.pages, (long long)stat_pages);
    if (t.live_bytes + huge_bytes != stat_bytes)
        return ha_check_fail("live blocks hold %lld bytes but the statistics count %lld",
                             (long long)(t.live_bytes + huge_bytes), (long long)stat_bytes);
    if (t.held_bytes + huge_held != stat_held)
        return ha_check_fail("pages and huge runs span %lld bytes but the statistics hold %lld",
                             (long long)(t.held_bytes + huge_held), (long long)stat_held);
    return 0;
}
