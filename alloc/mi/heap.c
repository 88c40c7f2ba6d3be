/*
 * mi/heap.c - per-CPU heaps: page queues, the allocation slow path and the
 * full-page hand-off (protocol in mi/types.h). Owner CPU only, with irqs
 * masked, except mi_heap_return_page_mt.
 */
#include "internal.h"

mi_heap mi_heaps[HA_MAX_CPUS];
unsigned mi_heap_count;

void mi_heap_init(mi_heap *heap, unsigned cpu)
{
    __builtin_memset(heap, 0, sizeof *heap);
    heap->cpu = cpu;
    for (size_t w = 0; w <= MI_DIRECT_MAX / 8; w++)
        heap->direct[w] = &mi_page_empty;
}

/* A page with no free block: what the direct table points at for a class
 * with no page, so the fast path needs no NULL test. */
mi_page mi_page_empty;

/* Point the direct entries of a small class at its queue's first page. */
static void update_direct(mi_heap *heap, unsigned queue)
{
    if (queue >= MI_BIN_FULL || mi_bin_size(queue) > MI_DIRECT_MAX)
        return;
    mi_page *first = heap->queues[queue].first ? heap->queues[queue].first : &mi_page_empty;
    size_t lo = queue == 1 ? 0 : mi_bin_size(queue - 1) / 8 + 1, hi = mi_bin_size(queue) / 8;
    for (size_t w = lo; w <= hi; w++)
        heap->direct[w] = first;
}

void mi_queue_push_front(mi_heap *heap, unsigned queue, mi_page *page)
{
    mi_page_queue *q = &heap->queues[queue];
    page->prev = 0;
    page->next = q->first;
    if (q->first)
        q->first->prev = page;
    else
        q->last = page;
    q->first = page;
    update_direct(heap, queue);
}

void mi_queue_push_back(mi_heap *heap, unsigned queue, mi_page *page)
{
    mi_page_queue *q = &heap->queues[queue];
    page->next = 0;
    page->prev = q->last;
    if (q->last)
        q->last->next = page;
    else
        q->first = page;
    q->last = page;
    if (q->first == page)
        update_direct(heap, queue);
}

void mi_queue_remove(mi_heap *heap, unsigned queue, mi_page *page)
{
    mi_page_queue *q = &heap->queues[queue];
    bool was_first = q->first == page;
    if (page->prev)
        page->prev->next = page->next;
    else
        q->first = page->next;
    if (page->next)
        page->next->prev = page->prev;
    else
        q->last = page->prev;
    page->next = page->prev = 0;
    if (was_first)
        update_direct(heap, queue);
}

/* Set the page's flag from `from` to `to`, keeping the remote list. False if
 * the flag was not `from`. */
static bool set_full_state(mi_page *page, uintptr_t from, uintptr_t to)
{
    uintptr_t tf = mi_load_relaxed(&page->xthread_free);
    do {
        if ((tf & MI_FLAG_MASK) != from)
            return false;
    } while (!mi_cas_weak_acq_rel(&page->xthread_free, &tf, (tf & ~MI_FLAG_MASK) | to));
    return true;
}

/* Park a page with nothing to allocate on the full queue. Fails (and leaves
 * the page queued) if remote frees arrived meanwhile or the page is still on
 * the returned stack. */
static bool try_park_full(mi_heap *heap, mi_page *page)
{
    uintptr_t expected = MI_NORMAL; /* empty remote list, flag NORMAL */
    if (!mi_cas_weak_acq_rel(&page->xthread_free, &expected, (uintptr_t)MI_FULL))
        return false;
    mi_queue_remove(heap, page->bin, page);
    mi_queue_push_back(heap, MI_BIN_FULL, page);
    page->in_full = 1;
    mi_page_set_fast(page);
    return true;
}

static void requeue(mi_heap *heap, mi_page *page)
{
    mi_queue_remove(heap, MI_BIN_FULL, page);
    page->in_full = 0;
    mi_page_set_fast(page);
    mi_queue_push_back(heap, page->bin, page);
}

void mi_heap_park_large(mi_heap *heap, mi_page *page)
{
    mi_store_relaxed(&page->xthread_free, (uintptr_t)MI_FULL);
    page->in_full = 1;
    mi_queue_push_back(heap, MI_BIN_FULL, page);
}

/* Retire a one-block page whose block came back, unless it is still on the
 * returned stack (then mi_heap_take_returned retires it). */
static void retire_large(mi_heap *heap, mi_page *page)
{
    if (heap->large_cache == page)
        heap->large_cache = 0;
    if (!set_full_state(page, MI_FULL, MI_NORMAL) &&
        (mi_load_relaxed(&page->xthread_free) & MI_FLAG_MASK) != MI_NORMAL)
        return;
    mi_queue_remove(heap, MI_BIN_FULL, page);
    page->in_full = 0;
    mi_segment_page_free(heap, page);
}

bool mi_heap_keeps_empty(const mi_heap *heap, const mi_page *page)
{
    if (page == heap->large_cache)
        return true;
    return page->in_use && mi_page_used(page) == 0 && !page->in_full && page->bin < MI_BIN_COUNT &&
           (mi_load_relaxed(&page->xthread_free) & MI_FLAG_MASK) == MI_NORMAL;
}

/* A large page whose block came back stays as the heap's large_cache if
 * that is empty (it keeps its place on the full queue and its FULL flag), so
 * a large block freed and allocated again in turn does not give its slices
 * back and take them again each time (the next one resizes it in place). One page at most, never alone in its
 * segment; the sweep of a segment (mi_segment_page_free) and the OOM path
 * (mi_heap_collect_all) retire it like any empty page. */
static bool cache_large(mi_heap *heap, mi_page *page)
{
    /* Alone in its segment, it would keep the segment from the pool. */
    if (heap->large_cache || mi_page_used(page) != 0 ||
        (mi_load_relaxed(&page->xthread_free) & MI_FLAG_MASK) != MI_FULL || mi_segment_page_is_alone(page))
        return false;
    heap->large_cache = page;
    return true;
}

mi_page *mi_heap_take_large_cache(mi_heap *heap, size_t need, size_t align)
{
    mi_page *page = heap->large_cache;
    if (!page)
        return 0;
    /* Sized to the request: the tail goes back to the segment, or the free
     * slices after it are added. If it cannot grow, it is retired, so its
     * slices may serve the request from take_slices. */
    if (!mi_segment_large_resize(heap, page, need, align)) {
        retire_large(heap, page);
        return 0;
    }
    heap->large_cache = 0; /* it stays parked on the full queue, FULL */
    if (!page->free) /* its one block: on local_free, unless a collect moved it */
        page->free = page->local_free;
    page->local_free = 0;
    page->free_is_zero = 0;
#ifdef HA_CHECKED
    mi_checked_on_pop(page, page->free);
#endif
    return page;
}

void mi_heap_unqueue_empty(mi_heap *heap, mi_page *page)
{
    if (page != heap->large_cache) {
        mi_queue_remove(heap, page->bin, page);
        return;
    }
    heap->large_cache = 0;
    set_full_state(page, MI_FULL, MI_NORMAL); /* no block is live: no remote CPU races */
    mi_queue_remove(heap, MI_BIN_FULL, page);
    page->in_full = 0;
}

void mi_heap_page_freed_slow(mi_heap *heap, mi_page *page)
{
    if (page->bin == MI_BIN_LARGE) {
        if (!cache_large(heap, page))
            retire_large(heap, page);
        return;
    }
    if (page->in_full) {
        requeue(heap, page);
        /* If a remote CPU already swapped FULL for NOTIFIED the page is on
         * our returned stack; mi_heap_take_returned clears the flag then. */
        set_full_state(page, MI_FULL, MI_NORMAL);
    }
    if (mi_page_used(page) != 0 || (mi_load_relaxed(&page->xthread_free) & MI_FLAG_MASK) != MI_NORMAL)
        return; /* still used, or maybe on the returned stack: never retire it there */
    mi_page_queue *q = &heap->queues[page->bin];
    /* Keep the only page of a class if it is small (one slice: a medium page
     * holds up to 512 KiB), so one block allocated and freed in a loop does
     * not retire and refill a page each time; but such pages pin no
     * segment alone except the heap's last one (mi_segment_page_free sweeps
     * the others). The heap's OOM path gives all of them back. */
    if (q->first == page && q->last == page && page->slice_count == 1 &&
        (!mi_segment_page_is_alone(page) || heap->segment_count == 1))
        return;
    mi_queue_remove(heap, page->bin, page);
    mi_segment_page_free(heap, page);
}

void mi_heap_return_page_mt(mi_heap *heap, mi_page *page)
{
    mi_page *top = mi_load_relaxed(&heap->xreturned);
    do {
        page->returned_next = top;
    } while (!mi_cas_weak_release(&heap->xreturned, &top, page));
}

/* Requeue at most `max` handed-back pages; the rest wait on the heap's
 * returned_backlog (still NOTIFIED, so nothing retires them meanwhile). */
static __attribute__((noinline)) void take_returned(mi_heap *heap, unsigned max)
{
    if (!heap->returned_backlog)
        heap->returned_backlog = mi_exchange_acquire(&heap->xreturned, (mi_page *)0);
    mi_page *page = heap->returned_backlog;
    for (unsigned n = 0; page && n < max; n++) {
        mi_page *next = page->returned_next;
        page->returned_next = 0;
        set_full_state(page, MI_NOTIFIED, MI_NORMAL);
        if (page->bin == MI_BIN_LARGE) {
            mi_page_collect(page); /* its one block came back: retire it */
            if (mi_page_used(page) == 0) {
                mi_queue_remove(heap, MI_BIN_FULL, page);
                page->in_full = 0;
                mi_segment_page_free(heap, page);
            } else {
                set_full_state(page, MI_NORMAL, MI_FULL);
            }
        } else if (page->in_full) {
            requeue(heap, page);
        }
        page = next;
    }
    heap->returned_backlog = page;
}

void mi_heap_take_returned(mi_heap *heap)
{
    /* The common case, nothing handed back, costs two loads. */
    if (heap->returned_backlog || mi_load_relaxed(&heap->xreturned))
        take_returned(heap, MI_RETURNED_MAX);
}

static mi_block *pop(mi_heap *heap, mi_page_queue *q, mi_page *page)
{
    if (q->first != page) {
        mi_queue_remove(heap, page->bin, page);
        mi_queue_push_front(heap, page->bin, page);
    }
    return mi_page_pop(page);
}

/* Find a page of `bin` with a free block among the first MI_SEARCH_MAX of
 * its queue, parking full pages on the way. A page that can be neither used
 * nor parked (still on the returned stack) moves to the back, so the next
 * search looks at other pages. */
static mi_block *alloc_from_queue(mi_heap *heap, unsigned bin)
{
    mi_page_queue *q = &heap->queues[bin];
    mi_page *next, *page = q->first;
    for (unsigned left = MI_SEARCH_MAX; page && left; page = next, left--) {
        next = page->next;
        mi_page_collect(page);
        if (page->free || mi_page_extend(page))
            return pop(heap, q, page);
        if (!try_park_full(heap, page)) {
            mi_page_collect(page); /* remote frees raced with us: use them */
            if (page->free)
                return pop(heap, q, page);
            if (page->next) {
                mi_queue_remove(heap, bin, page);
                mi_queue_push_back(heap, bin, page);
            }
        }
    }
    return 0;
}

mi_block *mi_heap_alloc_slow(mi_heap *heap, unsigned bin)
{
    mi_heap_take_returned(heap);
    mi_block *block = alloc_from_queue(heap, bin);
    if (block)
        return block;
    /* About to take a fresh page: go on giving back a segment first. */
    if (unlikely(heap->sweeping != 0))
        mi_segment_sweep_some(heap);
    mi_page *page = mi_segment_page_alloc(heap, bin);
    if (!page) {
        /* Out of segments: give back every empty page we hold, then retry. */
        mi_heap_collect_all(heap);
        block = alloc_from_queue(heap, bin);
        if (block)
            return block;
        page = mi_segment_page_alloc(heap, bin);
        if (!page)
            return 0;
    }
    mi_queue_push_front(heap, bin, page);
    return pop(heap, &heap->queues[bin], page);
}

/* Collect every page and retire what is empty (the OOM path). A retirement
 * may sweep other pages of its segment off any queue, so the walk of a queue
 * starts over after each one. */
void mi_heap_collect_all(mi_heap *heap)
{
    while (heap->sweeping)
        mi_segment_sweep_some(heap);
    for (int i = 0; i < 2; i++) /* the backlog, then the stack */
        if (heap->returned_backlog || mi_load_relaxed(&heap->xreturned))
            take_returned(heap, ~0u);
    for (unsigned bin = 0; bin <= MI_BIN_FULL; bin++) {
        mi_page *next;
    restart:
        for (mi_page *page = heap->queues[bin].first; page; page = next) {
            next = page->next;
            mi_page_collect_all(page);
            if (page->bin == MI_BIN_LARGE) {
                if (mi_page_used(page) == 0 && page->in_use) {
                    retire_large(heap, page);
                    if (!page->in_use)
                        goto restart;
                }
                continue;
            }
            if (page->in_full && (page->free || mi_page_used(page) < page->reserved)) {
                requeue(heap, page);
                set_full_state(page, MI_FULL, MI_NORMAL);
            }
            if (mi_page_used(page) != 0 || (mi_load_relaxed(&page->xthread_free) & MI_FLAG_MASK) != MI_NORMAL)
                continue; /* live blocks, or on the returned stack */
            mi_queue_remove(heap, page->bin, page);
            mi_segment_page_free(heap, page);
            goto restart;
        }
    }
}
