/*
 * entry_points.c - the `mi` and `mi-locked` alloc_types: the same heap code,
 * entered either as this CPU's heap with local interrupts masked (mi), or as
 * the one heap behind one global spinlock (mi-locked: the baseline that
 * reproduces ArceOS's Mutex<MiAllocator>).
 */
#include "internal.h"
#include "spinlock.h"

static ha_spinlock global_lock;
static unsigned cpu_count;   /* statistics slots: the ncpu of ha_init */
static bool lane_open;       /* per-CPU mi in a release build (lane.h) */

/* Enter the caller's heap. Per-CPU: mask irqs, then ask which CPU we are
 * (the contract's order). Locked: every CPU uses heap 0 under the lock.
 * `locked` is a constant at every call, so each entry point below is
 * compiled without the other's branch. */
static inline __attribute__((always_inline)) mi_heap *heap_enter(bool locked, unsigned long *flags)
{
    *flags = locked ? ha_spin_lock_irqsave(&global_lock) : ha_embed_irq_save();
    unsigned cpu = ha_embed_cpu_index();
    if (unlikely(cpu >= cpu_count))
        ha_embed_panic("hartalloc: ha_embed_cpu_index() returned a CPU index >= ncpu given to ha_init");
    if (!locked)
        return &mi_heaps[cpu];
    return &mi_heaps[0];
}

static inline __attribute__((always_inline)) void heap_leave(bool locked, unsigned long flags)
{
    if (locked)
        ha_spin_unlock_irqrestore(&global_lock, flags);
    else
        ha_embed_irq_restore(flags);
}

static int init_common(void *start, size_t size, unsigned ncpu, unsigned heaps, unsigned flags)
{
    if (ncpu > HA_MAX_CPUS)
        return -HA_EINVAL;
    mi_pool_reset();
    int r = mi_pool_add_region(start, size, (flags & HA_MEMORY_ZEROED) != 0);
    if (r != 0)
        return r;
    for (unsigned i = 0; i < ncpu; i++)
        mi_heap_init(&mi_heaps[i], i);
    mi_heap_count = heaps;
    cpu_count = ncpu;
    return 0;
}

static int mi_init(void *start, size_t size, unsigned ncpu, unsigned flags)
{
    int r = init_common(start, size, ncpu, ncpu, flags);
    lane_open = MI_FAST_PATHS && r == 0; /* checked builds verify every call: no lane */
    return r;
}

static int mi_locked_init(void *start, size_t size, unsigned ncpu, unsigned flags)
{
    return init_common(start, size, ncpu, 1, flags);
}

static int mi_add_memory(void *start, size_t size, unsigned flags)
{
    return mi_pool_add_region(start, size, (flags & HA_MEMORY_ZEROED) != 0);
}

/* ---- alloc and dealloc ------------------------------------------------------
 * The common case (align <= 8, a direct-table class; a local free that leaves
 * its page in use or kept) runs in alloc_per_cpu / dealloc_per_cpu with no
 * stack frame. Everything else, and the irq restore after it, is the _slow
 * function, out of line so the fast function saves no registers. The bodies
 * are written once, for a constant `locked`; each named function below
 * compiles without the other type's branch. */

static inline __attribute__((always_inline)) void *alloc_slow(bool locked, mi_heap *heap, size_t size,
                                                            size_t align, unsigned long flags)
{
    void *p = mi_heap_alloc(heap, size, align, false, false);
    heap_leave(locked, flags);
    return p;
}

static __attribute__((noinline)) void *alloc_slow_per_cpu(mi_heap *heap, size_t size, size_t align,
                                                          unsigned long flags)
{
    return alloc_slow(false, heap, size, align, flags);
}

static __attribute__((noinline)) void *alloc_slow_locked(mi_heap *heap, size_t size, size_t align,
                                                         unsigned long flags)
{
    return alloc_slow(true, heap, size, align, flags);
}

/* Fast path: a direct-table class whose first page has a free block. */
static inline __attribute__((always_inline)) void *alloc_fast(bool locked, size_t size, size_t align)
{
    unsigned long flags;
    mi_heap *heap = heap_enter(locked, &flags);
    if (MI_FAST_PATHS && likely(size <= MI_DIRECT_MAX && align <= 8)) {
        mi_block *block = mi_alloc_direct(heap, (size + 7) >> 3);
        if (likely(block != 0)) {
            heap_leave(locked, flags);
            return block;
        }
    }
    return locked ? alloc_slow_locked(heap, size, align, flags) : alloc_slow_per_cpu(heap, size, align, flags);
}

static void *alloc_per_cpu(size_t size, size_t align)
{
    return alloc_fast(false, size, align);
}

static void *alloc_locked(size_t size, size_t align)
{
    return alloc_fast(true, size, align);
}

/* emptied: the fast free took p and left its page to be retired; NULL when
 * the fast free did not take p. */
static inline __attribute__((always_inline)) void dealloc_slow(bool locked, mi_heap *heap, void *p,
                                                             size_t size, size_t align,
                                                             unsigned long flags, mi_page *emptied)
{
    if (!emptied)
        mi_free_generic(heap, p, size, align, false);
    else
        mi_heap_page_freed_slow(heap, emptied);
    heap_leave(locked, flags);
}

static __attribute__((noinline)) void dealloc_slow_per_cpu(mi_heap *heap, void *p, size_t size, size_t align,
                                                           unsigned long flags, mi_page *emptied)
{
    dealloc_slow(false, heap, p, size, align, flags, emptied);
}

static __attribute__((noinline)) void dealloc_slow_locked(mi_heap *heap, void *p, size_t size, size_t align,
                                                          unsigned long flags, mi_page *emptied)
{
    dealloc_slow(true, heap, p, size, align, flags, emptied);
}

/* Fast path: a local free into a page that stays (mi_page_emptied_retires). */
static inline __attribute__((always_inline)) void dealloc_fast(bool locked, void *p, size_t size, size_t align)
{
    unsigned long flags;
    mi_heap *heap = heap_enter(locked, &flags);
    mi_page *page = MI_FAST_PATHS ? mi_free_local(heap, p) : 0;
    if (likely(page != 0) && !mi_page_emptied_retires(heap, page)) {
        heap_leave(locked, flags);
        return;
    }
    if (locked)
        dealloc_slow_locked(heap, p, size, align, flags, page);
    else
        dealloc_slow_per_cpu(heap, p, size, align, flags, page);
}

static void dealloc_per_cpu(void *p, size_t size, size_t align)
{
    dealloc_fast(false, p, size, align);
}

static void dealloc_locked(void *p, size_t size, size_t align)
{
    dealloc_fast(true, p, size, align);
}

/* ---- the other entry points: no fast path ------------------------------------ */

static inline __attribute__((always_inline)) void *alloc_zeroed_in(bool locked, size_t size, size_t align)
{
    unsigned long flags;
    mi_heap *heap = heap_enter(locked, &flags);
    void *p = mi_heap_alloc_generic(heap, size, align, true, false);
    heap_leave(locked, flags);
    return p;
}

static void *alloc_zeroed_per_cpu(size_t size, size_t align) { return alloc_zeroed_in(false, size, align); }
static void *alloc_zeroed_locked(size_t size, size_t align) { return alloc_zeroed_in(true, size, align); }

static inline __attribute__((always_inline)) void *realloc_in(bool locked, void *p, size_t old_size,
                                                            size_t align, size_t new_size)
{
    unsigned long flags;
    mi_heap *heap = heap_enter(locked, &flags);
    void *q = mi_heap_realloc(heap, p, old_size, align, new_size);
    heap_leave(locked, flags);
    return q;
}

static void *realloc_per_cpu(void *p, size_t old_size, size_t align, size_t new_size)
{
    return realloc_in(false, p, old_size, align, new_size);
}

static void *realloc_locked(void *p, size_t old_size, size_t align, size_t new_size)
{
    return realloc_in(true, p, old_size, align, new_size);
}

/* 4 KiB pages are blocks like any other; they are counted in the page
 * figures. */
static inline __attribute__((always_inline)) void *alloc_pages_in(bool locked, size_t num_pages, size_t align)
{
    unsigned long flags;
    mi_heap *heap = heap_enter(locked, &flags);
    void *p = mi_heap_alloc_generic(heap, num_pages * HA_PAGE_SIZE, align, false, true);
    if (p)
        mi_stat_add(&heap->stats.page4k_in_use, (int64_t)num_pages);
    heap_leave(locked, flags);
    return p;
}

static void *alloc_pages_per_cpu(size_t num_pages, size_t align) { return alloc_pages_in(false, num_pages, align); }
static void *alloc_pages_locked(size_t num_pages, size_t align) { return alloc_pages_in(true, num_pages, align); }

static inline __attribute__((always_inline)) void dealloc_pages_in(bool locked, void *p, size_t num_pages)
{
    unsigned long flags;
    mi_heap *heap = heap_enter(locked, &flags);
    mi_stat_add(&heap->stats.page4k_in_use, -(int64_t)num_pages);
    mi_free_generic(heap, p, num_pages * HA_PAGE_SIZE, 0, true);
    heap_leave(locked, flags);
}

static void dealloc_pages_per_cpu(void *p, size_t num_pages) { dealloc_pages_in(false, p, num_pages); }
static void dealloc_pages_locked(void *p, size_t num_pages) { dealloc_pages_in(true, p, num_pages); }

static void collect_per_cpu(void)
{
    unsigned long flags;
    mi_heap *heap = heap_enter(false, &flags);
    mi_heap_collect_all(heap);
    heap_leave(false, flags);
}

/* ---- the lane (lane.h) -------------------------------------------------- */

mi_heap mi_lane_closed = {.direct = {[0 ... MI_DIRECT_MAX / 8] = &mi_page_empty}};

mi_heap *mi_lane_heap(unsigned cpu)
{
    return lane_open && cpu < cpu_count ? &mi_heaps[cpu] : &mi_lane_closed;
}

void mi_lane_page_emptied(mi_heap *heap, mi_page *page)
{
    unsigned long flags = ha_embed_irq_save();
    /* Unmasked until here: the page may have changed since the lane's test. */
    if (page->used == 0 && page->fast_heap == heap)
        mi_heap_page_freed_slow(heap, page);
    ha_embed_irq_restore(flags);
}

static size_t mi_backend_usable_size(const void *p)
{
    return mi_usable_size(p);
}

/* The peak is sampled on the owner's slow paths (mi/internal.h), and a burst
 * served by the fast paths since may have gone above it: a report gives at
 * least the bytes in use now, and never less than an earlier report did
 * (xpeak_reported, raised by the readers with a CAS). */
static int64_t reported_peak(mi_heap *heap)
{
    int64_t in_use = mi_load_relaxed(&heap->stats.bytes_in_use);
    int64_t peak = mi_load_relaxed(&heap->stats.bytes_peak);
    int64_t best = peak > in_use ? peak : in_use;
    int64_t shown = mi_load_relaxed(&heap->xpeak_reported);
    while (shown < best && !__atomic_compare_exchange_n(&heap->xpeak_reported, &shown, best, true,
                                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    return shown > best ? shown : best;
}

static void sum_stats(unsigned first, unsigned end, mi_stats *sum)
{
    __builtin_memset(sum, 0, sizeof *sum);
    for (unsigned i = first; i < end; i++) {
        const mi_stats *s = &mi_heaps[i].stats;
        sum->allocs += mi_load_relaxed(&s->allocs);
        sum->frees += mi_load_relaxed(&s->frees);
        sum->remote_frees += mi_load_relaxed(&s->remote_frees);
        sum->bytes_in_use += mi_load_relaxed(&s->bytes_in_use);
        sum->bytes_peak += reported_peak(&mi_heaps[i]);
        sum->pages_in_use += mi_load_relaxed(&s->pages_in_use);
        sum->segments_in_use += mi_load_relaxed(&s->segments_in_use);
        sum->held_bytes += mi_load_relaxed(&s->held_bytes);
        sum->held_peak += mi_load_relaxed(&s->held_peak);
        sum->page4k_in_use += mi_load_relaxed(&s->page4k_in_use);
        sum->page4k_block_bytes += mi_load_relaxed(&s->page4k_block_bytes);
        sum->unusable_bytes += mi_load_relaxed(&s->unusable_bytes);
    }
}

static void mi_backend_usage(struct ha_usage *out)
{
    mi_stats s;
    sum_stats(0, cpu_count, &s);
    size_t managed = mi_pool_total_segments() << MI_SEGMENT_SHIFT;
    size_t taken = (size_t)(s.bytes_in_use + s.page4k_block_bytes);
    out->used_bytes = (size_t)(s.bytes_in_use - s.unusable_bytes);
    out->used_pages = (size_t)s.page4k_in_use;
    out->available_bytes = managed > taken ? managed - taken : 0;
    out->available_pages = out->available_bytes / HA_PAGE_SIZE;
}

static int mi_backend_get_stats(unsigned cpu, struct ha_stats *out)
{
    mi_stats s;
    if (cpu == HA_ALL_CPUS)
        sum_stats(0, cpu_count, &s);
    else if (cpu < cpu_count)
        sum_stats(cpu, cpu + 1, &s);
    else
        return -HA_EINVAL;
    out->allocs = s.allocs;
    out->frees = s.frees;
    out->remote_frees = s.remote_frees;
    out->bytes_in_use = s.bytes_in_use - s.unusable_bytes;
    out->bytes_peak = s.bytes_peak;
    out->pages_in_use = s.pages_in_use;
    out->segments_in_use = s.segments_in_use;
    out->bytes_held = s.held_bytes;
    out->bytes_held_peak = s.held_peak;
    return 0;
}

/* The two tables differ in init, check and collect, and in the entry
 * points above, which are spelled out so each can be found by name. */
/* mi-locked can validate under its lock, so a check may overlap allocation
 * (per-CPU mi cannot: ha_check needs quiescent CPUs there). */
static int check_locked(void)
{
    unsigned long flags = ha_spin_lock_irqsave(&global_lock);
    int r = mi_check_heaps();
    ha_spin_unlock_irqrestore(&global_lock, flags);
    return r;
}

const struct ha_backend ha_backend_mi = {
    .name = "mi", .init = mi_init, .add_memory = mi_add_memory,
    .alloc = alloc_per_cpu, .alloc_zeroed = alloc_zeroed_per_cpu,
    .dealloc = dealloc_per_cpu, .realloc = realloc_per_cpu,
    .usable_size = mi_backend_usable_size,
    .alloc_pages = alloc_pages_per_cpu, .dealloc_pages = dealloc_pages_per_cpu,
    .usage = mi_backend_usage, .get_stats = mi_backend_get_stats,
    .check = mi_check_heaps, .collect = collect_per_cpu,
};

const struct ha_backend ha_backend_mi_locked = {
    .name = "mi-locked", .init = mi_locked_init, .add_memory = mi_add_memory,
    .alloc = alloc_locked, .alloc_zeroed = alloc_zeroed_locked,
    .dealloc = dealloc_locked, .realloc = realloc_locked,
    .usable_size = mi_backend_usable_size,
    .alloc_pages = alloc_pages_locked, .dealloc_pages = dealloc_pages_locked,
    .usage = mi_backend_usage, .get_stats = mi_backend_get_stats,
    .check = check_locked, .collect = 0,
};
