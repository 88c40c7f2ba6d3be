/*
 * entry_points.c - the `mi` and `mi-locked` alloc_types: the same heap code,
 * entered either as this CPU's heap with local interrupts masked (mi), or as
 * the one heap behind one global spinlock (mi-locked: the baseline that
 * reproduces ArceOS's Mutex<MiAllocator>).
 */
#include "internal.h"
#include "lane.h"
#include "spinlock.h"

static ha_spinlock global_lock;
static unsigned cpu_count;   /* statistics slots: the ncpu of ha_init */
static bool lane_open;       /* per-CPU mi in a release build (lane.h) */

/* The heap of the CPU we run on, with the guard (irqs masked). With fronts
 * the slot holds this CPU's front, set by ha_init: its heap for per-CPU mi
 * (mi-locked keeps its own front there and uses heap 0), or the stray
 * front for a CPU beyond ncpu: one load and one compare, no index. */
static inline __attribute__((always_inline)) mi_heap *checked_heap(void)
{
#ifdef HA_FRONT
    struct ha_front *front = *(struct ha_front **)ha_embed_this_cpu_slot();
    if (unlikely(front == &ha_front_stray_cpu))
        ha_embed_panic("hartalloc: ha_embed_cpu_index() returned a CPU index >= ncpu given to ha_init");
    return (mi_heap *)front; /* the front is the heap's first member */
#else
    unsigned cpu = ha_embed_cpu_index();
    if (unlikely(cpu >= cpu_count))
        ha_embed_panic("hartalloc: ha_embed_cpu_index() returned a CPU index >= ncpu given to ha_init");
    return &mi_heaps[cpu];
#endif
}

/* Enter the caller's heap. Per-CPU: mask irqs, then ask which CPU we are
 * (the contract's order). Locked: every CPU uses heap 0 under the lock.
 * `locked` is a constant at every call, so each entry point below is
 * compiled without the other's branch. */
static inline __attribute__((always_inline)) mi_heap *heap_enter(bool locked, unsigned long *flags)
{
    *flags = locked ? ha_spin_lock_irqsave(&global_lock) : ha_embed_irq_save();
    mi_heap *heap = checked_heap();
    return locked ? &mi_heaps[0] : heap;
}

static inline __attribute__((always_inline)) void heap_leave(bool locked, unsigned long flags)
{
    if (locked)
        ha_spin_unlock_irqrestore(&global_lock, flags);
    else
        ha_embed_irq_restore(flags);
}

#ifndef HA_FRONT
/* This CPU's heap, for the per-CPU fast paths (irqs already masked).
 *
 * With a CPU slot (HA_EMBED_CPU_SLOT, hartalloc_embed.h) it is one load:
 * mi_init stores &mi_heaps[cpu] in the slot of every CPU below ncpu and the
 * closed heap (ha_lane_closed: no pages, so every call on it misses) in the
 * slot of every other CPU the embedding has. The guard cpu < ncpu therefore
 * leaves the fast path for the slow one: a CPU without a heap of its own
 * reaches alloc_slow_per_cpu / dealloc_slow_per_cpu on every call, and those
 * enter through heap_enter, which panics as before. Without a slot the
 * guard stays here. */
static inline __attribute__((always_inline)) mi_heap *fast_heap(void)
{
#ifdef HA_EMBED_CPU_SLOT
    return *(mi_heap **)ha_embed_this_cpu_slot();
#else
    return checked_heap();
#endif
}
#endif

#ifndef HA_FRONT
/* Give every CPU slot the embedding has its heap (mi) or the closed heap
 * (CPUs beyond ncpu; every CPU when the type is not per-CPU mi). */
static void set_cpu_slots(unsigned heaps_in_slots)
{
#ifdef HA_EMBED_CPU_SLOT
    void **slot;
    for (unsigned cpu = 0; cpu < HA_MAX_CPUS && (slot = ha_embed_cpu_slot(cpu)) != 0; cpu++)
        *slot = cpu < heaps_in_slots ? &mi_heaps[cpu] : &ha_lane_closed.heap;
#else
    (void)heaps_in_slots;
#endif
}
#endif

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

#ifdef HA_FRONT
static void set_per_cpu_fronts(void);
static void set_locked_fronts(void);
#endif

static int mi_init(void *start, size_t size, unsigned ncpu, unsigned flags)
{
    int r = init_common(start, size, ncpu, ncpu, flags);
    lane_open = MI_FAST_PATHS && r == 0; /* checked builds verify every call: no lane */
#ifdef HA_FRONT
    if (r == 0)
        set_per_cpu_fronts();
#else
    set_cpu_slots(r == 0 ? ncpu : 0);
#endif
    return r;
}

static int mi_locked_init(void *start, size_t size, unsigned ncpu, unsigned flags)
{
    int r = init_common(start, size, ncpu, 1, flags);
#ifdef HA_FRONT
    if (r == 0)
        set_locked_fronts();
#endif
    return r;
}

static int mi_add_memory(void *start, size_t size, unsigned flags)
{
    return mi_pool_add_region(start, size, (flags & HA_MEMORY_ZEROED) != 0);
}

/* ---- alloc and dealloc ------------------------------------------------------
 * Every slow half below goes straight to mi_heap_alloc_generic: its fast
 * half has just tried the direct table, and the retry inside mi_heap_alloc
 * would only miss again.
 *
 * Per-CPU mi: alloc_per_cpu and dealloc_per_cpu are the fast paths. They run
 * with no stack frame; every miss, and the irq restore after it, is the
 * _slow function, out of line so the fast one saves no registers.
 *
 * Checks that are not on the fast path, and why that is safe:
 *  - align is a power of two: ha_alloc checked it (hartalloc.c), before the
 *    dispatch, for every type.
 *  - size and alignment range: one compare. For a power-of-two align,
 *    (size - 1) | (align - 1) is round_up(size, align) - 1, so
 *    ((size - 1) | (align - 1)) < MI_DIRECT_MAX holds exactly when
 *    1 <= size <= MI_DIRECT_MAX and align <= MI_DIRECT_MAX, and its words
 *    index the direct table at the class of round_up(size, align), which
 *    keeps the alignment (the rule of mi_heap_alloc). Size 0 and align 0
 *    wrap around to huge values: slow path.
 *  - cpu < ncpu: see fast_heap.
 *  - a NULL pointer to dealloc: ha_dealloc drops it before the dispatch. */

/* How the two fast paths are kept safe from an interrupt handler on the
 * same CPU that allocates. By default they mask interrupts like every other
 * entry point. An embedding that defines HA_EMBED_IRQ_DEFER
 * (hartalloc_embed.h) instead defers any interrupt that arrives while the
 * CPU executes the section ha_fast_text until the fast function returns:
 * they then mask nothing, and their slow halves, which they reach by a tail
 * call with nothing written yet, mask for themselves. Both functions must
 * stay frameless (no call, ra never saved): the deferral works by changing
 * the return address; the kernel's irq-defer test interrupts every
 * instruction of the section and would see it fail. */
#ifdef HA_EMBED_IRQ_DEFER
#define FAST_TEXT __attribute__((section("ha_fast_text"), noinline))
static inline __attribute__((always_inline)) unsigned long fast_irq_save(void) { return 0; }
static inline __attribute__((always_inline)) void fast_irq_restore(unsigned long flags) { (void)flags; }
static inline __attribute__((always_inline)) unsigned long slow_irq_save(unsigned long fast)
{
    (void)fast;
    return ha_embed_irq_save();
}
#else
#define FAST_TEXT
#define fast_irq_save ha_embed_irq_save
#define fast_irq_restore ha_embed_irq_restore
#define slow_irq_save(fast) (fast)
#endif

#ifndef HA_FRONT /* else ha_alloc and ha_dealloc below */
/* size_m1: size - 1, which the fast path keeps in a register of its own, so
 * it need not save size itself across the pop that overwrites a0. */
static __attribute__((noinline)) void *alloc_slow_per_cpu(size_t size_m1, size_t align, unsigned long fast_flags)
{
    unsigned long flags = slow_irq_save(fast_flags);
    void *p = mi_heap_alloc_generic(checked_heap(), size_m1 + 1, align, false, false);
    ha_embed_irq_restore(flags);
    return p;
}

/* Fast path: a direct-table class whose first page has a free block. */
FAST_TEXT static void *alloc_per_cpu(size_t size, size_t align)
{
    unsigned long flags = fast_irq_save();
    mi_heap *heap = fast_heap();
    size_t size_m1 = size - 1;
    size_t last = size_m1 | (align - 1); /* round_up(size, align) - 1 */
    if (MI_FAST_PATHS && likely(last < MI_DIRECT_MAX)) {
        mi_block *block = mi_alloc_direct_at(heap, last);
        if (likely(block != 0)) {
            fast_irq_restore(flags);
            return block;
        }
    }
    return alloc_slow_per_cpu(size_m1, align, flags);
}

/* Every free the fast path did not take (another CPU's page, a page that
 * takes no fast free, a page the free empties and retires, no heap for this
 * CPU): the guarded heap. */
static __attribute__((noinline)) void dealloc_slow_per_cpu(void *p, size_t size, size_t align,
                                                           unsigned long fast_flags)
{
    unsigned long flags = slow_irq_save(fast_flags);
    mi_free_generic(checked_heap(), p, size, align, false);
    ha_embed_irq_restore(flags);
}

/* Fast path: a local free into a page that stays (mi_free_local_stays). */
FAST_TEXT static void dealloc_per_cpu(void *p, size_t size, size_t align)
{
    unsigned long flags = fast_irq_save();
    mi_heap *heap = fast_heap();
    if (MI_FAST_PATHS && likely(mi_free_local_stays(heap, p, ~MI_SEGMENT_MASK))) {
        fast_irq_restore(flags);
        return;
    }
    dealloc_slow_per_cpu(p, size, align, flags);
}
#endif

#ifdef HA_FRONT
/* ---- the front: ha_alloc and ha_dealloc themselves ------------------------
 * With fronts (backend.h) every CPU's slot holds its front, which for per-CPU
 * mi is its heap, so the two ABI calls are the fast paths above with the
 * heap's load moved first and nothing between the caller and the pop: no
 * dispatch, no mask (the section defers interrupts), no index guard. Where
 * the checks went:
 *  - align a power of two: here, the first test, for every type (ha_alloc
 *    before the dispatch did it before).
 *  - size and alignment range: as in alloc_per_cpu, against the front's
 *    direct_end, which is 0 on every front but mi's: that test is how any
 *    other type leaves for its own entry point (alloc_miss).
 *  - NULL: ha_dealloc's mask test sends it to dealloc_miss (NULL & mask is
 *    NULL), which ignores it; so does a front whose mask is all ones, which
 *    is how every other type leaves.
 *  - cpu < ncpu: ha_init gives every CPU beyond ncpu the stray front, whose
 *    misses panic as the guard did (hartalloc.c).
 * A miss of mi's own (another CPU's block, an empty page, a huge block) goes
 * to the _miss function, which masks and enters through the guard. */
static void *alloc_miss_per_cpu(size_t size, size_t align)
{
    unsigned long flags = ha_embed_irq_save();
    void *p = mi_heap_alloc_generic(checked_heap(), size, align, false, false);
    ha_embed_irq_restore(flags);
    return p;
}

static void dealloc_miss_per_cpu(void *p, size_t size, size_t align)
{
    if (!p)
        return;
    unsigned long flags = ha_embed_irq_save();
    mi_free_generic(checked_heap(), p, size, align, false);
    ha_embed_irq_restore(flags);
}

FAST_TEXT void *ha_alloc(size_t size, size_t align)
{
    mi_heap *heap = *(mi_heap **)ha_embed_this_cpu_slot();
    if (unlikely(!ha_is_pow2(align)))
        return 0;
    /* The miss passes size_m1 + 1: size itself would have to stay in a
     * register of its own past the pop, which takes a0 (one more move). */
    size_t size_m1 = size - 1;
    __asm__("" : "+r"(size_m1)); /* keep the sum below from folding back to size */
    size_t last = size_m1 | (align - 1); /* round_up(size, align) - 1 */
    if (likely(last < heap->front.direct_end)) {
        mi_block *block = mi_alloc_direct_at(heap, last);
        if (likely(block != 0))
            return block;
    }
    return heap->front.alloc_miss(size_m1 + 1, align);
}

FAST_TEXT void ha_dealloc(void *p, size_t size, size_t align)
{
    mi_heap *heap = *(mi_heap **)ha_embed_this_cpu_slot();
    if (likely(mi_free_local_stays(heap, p, heap->front.segment_mask)))
        return;
    heap->front.dealloc_miss(p, size, align);
}

void *ha_front_alloc(size_t size, size_t align) __attribute__((alias("ha_alloc")));
void ha_front_dealloc(void *ptr, size_t size, size_t align) __attribute__((alias("ha_dealloc")));

static struct ha_front *per_cpu_front(unsigned cpu) { return &mi_heaps[cpu].front; }

static void set_per_cpu_fronts(void)
{
    for (unsigned cpu = 0; cpu < cpu_count; cpu++)
        mi_heaps[cpu].front = (struct ha_front){
            .direct_end = MI_DIRECT_MAX, .segment_mask = ~MI_SEGMENT_MASK,
            .alloc_miss = alloc_miss_per_cpu, .dealloc_miss = dealloc_miss_per_cpu,
        };
    ha_set_fronts(per_cpu_front);
}
#endif

/* mi-locked: the same heap code on heap 0 under the global lock. */
/* size_m1: size - 1, kept by alloc_locked in a register of its own (as
 * ha_alloc does), so it need not copy size past the pop that takes a0. */
static __attribute__((noinline)) void *alloc_slow_locked(mi_heap *heap, size_t size_m1, size_t align,
                                                         unsigned long flags)
{
    void *p = mi_heap_alloc_generic(heap, size_m1 + 1, align, false, false);
    heap_leave(true, flags);
    return p;
}

/* With fronts, only a CPU below ncpu reaches the two calls below (its front
 * is locked_front, a stray CPU's panics), so they skip the index guard. */
static inline __attribute__((always_inline)) mi_heap *locked_enter_hot(unsigned long *flags)
{
#ifdef HA_FRONT
    *flags = ha_spin_lock_irqsave(&global_lock);
    return &mi_heaps[0];
#else
    return heap_enter(true, flags);
#endif
}

static void *alloc_locked(size_t size, size_t align)
{
    unsigned long flags;
    mi_heap *heap = locked_enter_hot(&flags);
    size_t size_m1 = size - 1;
    __asm__("" : "+r"(size_m1)); /* as in ha_alloc */
    size_t last = size_m1 | (align - 1);
    if (MI_FAST_PATHS && likely(last < MI_DIRECT_MAX)) {
        mi_block *block = mi_alloc_direct_at(heap, last);
        if (likely(block != 0)) {
            heap_leave(true, flags);
            return block;
        }
    }
    return alloc_slow_locked(heap, size_m1, align, flags);
}

static __attribute__((noinline)) void dealloc_slow_locked(mi_heap *heap, void *p, size_t size, size_t align,
                                                          unsigned long flags, mi_page *emptied)
{
    if (emptied)
        mi_heap_page_freed_slow(heap, emptied);
    else if (p) /* NULL: the front sends it here (backend.h) */
        mi_free_generic(heap, p, size, align, false);
    heap_leave(true, flags);
}

static void dealloc_locked(void *p, size_t size, size_t align)
{
    unsigned long flags;
    mi_heap *heap = locked_enter_hot(&flags);
    mi_page *page = MI_FAST_PATHS ? mi_free_local(heap, p) : 0;
    if (likely(page != 0) && !mi_page_emptied_retires(heap, page)) {
        heap_leave(true, flags);
        return;
    }
    dealloc_slow_locked(heap, p, size, align, flags, page);
}

#ifdef HA_FRONT
/* Every CPU below ncpu shares one front, which sends both calls here. */
static struct ha_front locked_front = {
    .direct_end = 0, .segment_mask = ~(uintptr_t)0, .alloc_miss = alloc_locked, .dealloc_miss = dealloc_locked,
};

static struct ha_front *locked_front_of(unsigned cpu)
{
    (void)cpu;
    return &locked_front;
}

static void set_locked_fronts(void) { ha_set_fronts(locked_front_of); }
#endif

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
#ifdef HA_EMBED_RELEASE
    /* Before as well as after: a segment the collect empties goes to the
     * pool with its free slices still dirty, and the pool gives a segment
     * back only when it stays free from one release call to the next. A
     * program that takes a page now and then (a poll loop's fopen) takes
     * that same segment again in between, and would keep every slice the
     * segment ever used resident. */
    mi_segment_release_free_slices(heap);
#endif
    mi_heap_collect_all(heap);
#ifdef HA_EMBED_RELEASE
    mi_segment_release_free_slices(heap);
#endif
    heap_leave(false, flags);
}

/* ---- the lane (hartalloc_lane.h, lane.h) ------------------------------------ */

ha_lane ha_lane_closed = {.heap = {.direct = {[0 ... MI_DIRECT_MAX / 8] = &mi_page_empty}}};

ha_lane *ha_lane_open(unsigned cpu)
{
    return lane_open && cpu < cpu_count ? (ha_lane *)&mi_heaps[cpu] : &ha_lane_closed;
}

void mi_lane_page_emptied(mi_heap *heap, mi_page *page)
{
    unsigned long flags = ha_embed_irq_save();
    /* Unmasked until here: the page may have changed since the lane's test. */
    if (mi_page_used(page) == 0 && page->fast_heap == heap)
        mi_heap_page_freed_slow(heap, page);
    ha_embed_irq_restore(flags);
}

static size_t mi_backend_usable_size(const void *p)
{
    return mi_usable_size(p);
}

/* No path samples the peak (the fast paths count only in their pages): a
 * report gives the bytes in use now, and never less than an earlier report
 * did (xpeak_reported, raised by the readers with a CAS). So bytes_peak is
 * the highest bytes_in_use any report saw. */
static int64_t reported_peak(mi_heap *heap, int64_t in_use)
{
    int64_t peak = mi_load_relaxed(&heap->stats.bytes_peak);
    int64_t best = peak > in_use ? peak : in_use;
    int64_t shown = mi_load_relaxed(&heap->xpeak_reported);
    while (shown < best && !__atomic_compare_exchange_n(&heap->xpeak_reported, &shown, best, true,
                                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    return shown > best ? shown : best;
}

/* The counts of the pages in use of each heap: what the fast paths did since
 * each page's last fold (mi_page_fold). A report reads them on any CPU while
 * their owners may be changing them: every word read is one the owner writes
 * whole, and each segment stays a segment meanwhile (the pool's lock), so a
 * report that overlaps allocation is a mix of before and after, and one
 * taken while the heaps are still is exact. */
struct page_counts {
    uint64_t allocs[HA_MAX_CPUS], frees[HA_MAX_CPUS];
    int64_t bytes[HA_MAX_CPUS];
};

static void add_segment_counts(const mi_segment *seg, void *arg)
{
    struct page_counts *c = arg;
    const mi_heap *owner = mi_load_relaxed(&seg->heap);
    if (!owner || owner < &mi_heaps[0] || owner >= &mi_heaps[HA_MAX_CPUS])
        return;
    size_t h = (size_t)(owner - mi_heaps);
    /* Page by page: the lowest used slice starts a page; skip its run (and
     * always that slice, so a run read mid-change cannot stall the walk). */
    for (uint64_t used = ~mi_load_relaxed(&seg->free_slices); used;) {
        unsigned i = (unsigned)__builtin_ctzll(used);
        const mi_page *p = &seg->pages[i];
        unsigned count = mi_load_relaxed(&p->slice_count);
        uint64_t run = count >= MI_SLICES - i ? ~0ull << i : ((1ull << count) - 1) << i;
        used &= ~(run | (1ull << i));
        if (!mi_load_relaxed(&p->in_use) || mi_load_relaxed(&p->heap) != owner)
            continue;
        uint32_t allocs = mi_load_relaxed(&p->allocs), frees = mi_load_relaxed(&p->frees);
        c->allocs[h] += allocs;
        c->frees[h] += frees;
        c->bytes[h] += ((int64_t)allocs - (int64_t)frees) * (int64_t)mi_load_relaxed(&p->block_size);
    }
}

void mi_stats_sum(unsigned first, unsigned end, mi_stats *sum)
{
    __builtin_memset(sum, 0, sizeof *sum);
    static struct page_counts zero;
    struct page_counts pages = zero;
    mi_pool_for_each_sliced(add_segment_counts, &pages);
    for (unsigned i = first; i < end; i++) {
        const mi_stats *s = &mi_heaps[i].stats;
        int64_t in_use = mi_load_relaxed(&s->bytes_in_use) + pages.bytes[i];
        sum->allocs += mi_load_relaxed(&s->allocs) + pages.allocs[i];
        sum->frees += mi_load_relaxed(&s->frees) + pages.frees[i];
        sum->remote_frees += mi_load_relaxed(&s->remote_frees);
        sum->bytes_in_use += in_use;
        sum->bytes_peak += reported_peak(&mi_heaps[i], in_use);
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
    mi_stats_sum(0, cpu_count, &s);
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
        mi_stats_sum(0, cpu_count, &s);
    else if (cpu < cpu_count)
        mi_stats_sum(cpu, cpu + 1, &s);
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

/* With fronts the two calls are the ABI's own (they are the fast paths). */
#ifdef HA_FRONT
#define MI_PER_CPU_ALLOC ha_alloc
#define MI_PER_CPU_DEALLOC ha_dealloc
#else
#define MI_PER_CPU_ALLOC alloc_per_cpu
#define MI_PER_CPU_DEALLOC dealloc_per_cpu
#endif

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
    .alloc = MI_PER_CPU_ALLOC, .alloc_zeroed = alloc_zeroed_per_cpu,
    .dealloc = MI_PER_CPU_DEALLOC, .realloc = realloc_per_cpu,
    .usable_size = mi_backend_usable_size,
    .alloc_pages = alloc_pages_per_cpu, .dealloc_pages = dealloc_pages_per_cpu,
    .usage = mi_backend_usage, .get_stats = mi_backend_get_stats,
    .check = mi_check_heaps, .collect = collect_per_cpu,
    .release_unused = mi_pool_release_unused,
};

const struct ha_backend ha_backend_mi_locked = {
    .name = "mi-locked", .init = mi_locked_init, .add_memory = mi_add_memory,
    .alloc = alloc_locked, .alloc_zeroed = alloc_zeroed_locked,
    .dealloc = dealloc_locked, .realloc = realloc_locked,
    .usable_size = mi_backend_usable_size,
    .alloc_pages = alloc_pages_locked, .dealloc_pages = dealloc_pages_locked,
    .usage = mi_backend_usage, .get_stats = mi_backend_get_stats,
    .check = check_locked, .collect = 0,
    .release_unused = mi_pool_release_unused,
};
