/*
 * mi/internal.h - helpers and function contracts shared by the files of alloc/mi.
 * Types, glossary, invariants and lock order: mi/types.h.
 */
#ifndef HA_MI_INTERNAL_H
#define HA_MI_INTERNAL_H

#include "../backend.h" /* relative: lane.h reaches here from an embedding */
#include "hartalloc_embed.h"
#include "types.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define MI_SEGMENT_HEADER ((size_t)ha_align_up(sizeof(mi_segment), HA_PAGE_SIZE))

/* ---- atomics: the memory order is part of the name ------------------------ */
#define mi_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define mi_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define mi_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define mi_cas_weak_release(p, expected, desired)                                \
    __atomic_compare_exchange_n((p), (expected), (desired), true, __ATOMIC_RELEASE, \
                                __ATOMIC_RELAXED)
#define mi_cas_weak_acq_rel(p, expected, desired)                                \
    __atomic_compare_exchange_n((p), (expected), (desired), true, __ATOMIC_ACQ_REL, \
                                __ATOMIC_ACQUIRE)
#define mi_exchange_acquire(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQUIRE)

/* ---- statistics (owner CPU only) -----------------------------------------
 * One CPU writes its counters and any CPU may read them for a report. A
 * plain add lets the compiler update memory in one instruction (x86); a
 * relaxed atomic load and store, which is what makes the readers formally
 * race-free, compiles to the same stores on riscv64 but to three
 * instructions on x86, on every malloc and free. Counters are aligned words,
 * so a reader sees an old or a new value, never a torn one. ThreadSanitizer
 * builds use the relaxed atomics, so TSan checks everything else. */
#ifdef __SANITIZE_THREAD__
static inline void mi_stat_add(int64_t *field, int64_t delta)
{
    mi_store_relaxed(field, mi_load_relaxed(field) + delta);
}
static inline void mi_stat_inc(uint64_t *field)
{
    mi_store_relaxed(field, mi_load_relaxed(field) + 1);
}
#define mi_peek(p) mi_load_relaxed(p)
#else
static inline void mi_stat_add(int64_t *field, int64_t delta) { *field += delta; }
static inline void mi_stat_inc(uint64_t *field) { *field += 1; }
/* A read of a word another CPU may be writing, where any value it can hold
 * is safe to act on (page->fast_heap): plain, so the compiler may fold it
 * into a compare. */
#define mi_peek(p) (*(p))
#endif
/* A page's allocs/frees counters: owner-only writes, read by reports on any
 * CPU (relaxed in ThreadSanitizer builds, as mi_stat_add). */
#ifdef __SANITIZE_THREAD__
static inline uint32_t mi_count_get(const uint32_t *field) { return mi_load_relaxed(field); }
static inline void mi_count_set(uint32_t *field, uint32_t value) { mi_store_relaxed(field, value); }
#else
static inline uint32_t mi_count_get(const uint32_t *field) { return *field; }
static inline void mi_count_set(uint32_t *field, uint32_t value) { *field = value; }
#endif
static inline void mi_count_inc(uint32_t *field) { mi_count_set(field, mi_count_get(field) + 1); }

/* Pages or huge runs taken (bytes > 0) or given back. */
static inline void mi_stat_held(mi_stats *s, int64_t bytes)
{
    int64_t now = mi_load_relaxed(&s->held_bytes) + bytes;
    mi_store_relaxed(&s->held_bytes, now);
    if (now > mi_load_relaxed(&s->held_peak))
        mi_store_relaxed(&s->held_peak, now);
}

/* ---- size classes -------------------------------------------------------- */
static inline unsigned mi_bin_of(size_t size)
{
    if (size <= 64)
        return size == 0 ? 1 : (unsigned)((size + 7) >> 3);
    size_t w = size - 1;
    unsigned hb = 63u - (unsigned)__builtin_clzll(w); /* w in [2^hb, 2^(hb+1)) */
    return 8 + (hb - 6) * 4 + (unsigned)((w >> (hb - 2)) & 3) + 1;
}

static inline size_t mi_bin_size(unsigned bin)
{
    if (bin <= 8)
        return (size_t)bin * 8;
    unsigned k = bin - 9; /* 0 = 80 */
    unsigned hb = 6 + k / 4;
    return (size_t)(5 + k % 4) << (hb - 2);
}

/* Slices of the page for a class: one for small blocks; for medium ones the
 * fewest that hold MI_MEDIUM_MIN_BLOCKS (a heap holding one 32 KiB block
 * holds a 128 KiB page for it, not 512 KiB), at most MI_MEDIUM_SLICES. */
static inline unsigned mi_slices_of_bin(unsigned bin)
{
    size_t size = mi_bin_size(bin);
    if (size <= MI_SMALL_MAX)
        return 1u;
    unsigned n = (unsigned)((MI_MEDIUM_MIN_BLOCKS * size + MI_SLICE_SIZE - 1) >> MI_SLICE_SHIFT);
    return n < MI_MEDIUM_SLICES ? n : MI_MEDIUM_SLICES;
}

/* ---- address arithmetic -------------------------------------------------- */
static inline mi_segment *mi_segment_of(const void *p)
{
    return (mi_segment *)((uintptr_t)p & ~MI_SEGMENT_MASK);
}

/* The page holding p, for p inside a sliced segment (any block pointer that
 * is not at a segment boundary: a huge block always starts on one). */
static inline mi_page *mi_page_of(mi_segment *seg, const void *p)
{
    size_t slice = ((uintptr_t)p - (uintptr_t)seg) >> MI_SLICE_SHIFT;
    return seg->slice_page[slice];
}

/* Start of the block holding p (p may point inside a block handed out at an
 * offset to satisfy an alignment). */
static inline mi_block *mi_block_start(const mi_page *page, const void *p)
{
    size_t offset = (size_t)((const uint8_t *)p - page->area);
    return (mi_block *)(page->area + offset - offset % page->block_size);
}

/* Usable bytes of the live block holding p (checked builds: the requested
 * size, kept in the block's last word). */
static inline size_t mi_block_usable(const mi_page *page, const mi_block *block, const void *p)
{
#ifdef HA_CHECKED
    (void)p;
    size_t recorded;
    __builtin_memcpy(&recorded, (const uint8_t *)block + page->block_size - sizeof recorded, sizeof recorded);
    return recorded ^ page->key;
#else
    return page->block_size - (size_t)((const uint8_t *)p - (const uint8_t *)block);
#endif
}

/* ---- free-list link encoding --------------------------------------------
 * Release builds store plain pointers. Checked builds store ptr ^ page key
 * rotated, so a stray write into a freed block turns the link into garbage
 * that mi_decode rejects instead of following. */
#ifdef HA_CHECKED
static inline uintptr_t mi_encode(const mi_page *page, const mi_block *b)
{
    uintptr_t x = (uintptr_t)b ^ page->key;
    return (x << 17) | (x >> (64 - 17));
}
mi_block *mi_decode_checked(const mi_page *page, uintptr_t link, const void *holder);
static inline mi_block *mi_decode(const mi_page *page, uintptr_t link, const void *holder)
{
    return mi_decode_checked(page, link, holder);
}
#else
static inline uintptr_t mi_encode(const mi_page *page, const mi_block *b)
{
    (void)page;
    return (uintptr_t)b;
}
static inline mi_block *mi_decode(const mi_page *page, uintptr_t link, const void *holder)
{
    (void)page, (void)holder;
    return (mi_block *)link;
}
#endif

/* ---- segment pool (segment_pool.c): lock order 2 ------------------------- */
int mi_pool_add_region(void *start, size_t size, bool zeroed);
/* A run of n free segments, or NULL. *zeroed tells whether its memory is known
 * to be zero. huge: the run holds one huge block and no header. Any CPU. */
void *mi_pool_alloc(size_t n, bool huge, bool *zeroed);
void mi_pool_free(void *run, size_t n);
/* The first byte of the huge run holding p (its segment count in *count), or
 * NULL if p is in no huge run. */
void *mi_pool_find_huge(const void *p, size_t *count);
bool mi_pool_contains(const void *p);
size_t mi_pool_total_segments(void);
int mi_pool_check(void);
void mi_pool_reset(void);
uintptr_t mi_pool_secret(void);
/* Call fn on every sliced segment in use, under the pool's lock (so none is
 * handed back meanwhile; its owner may still be changing it). */
void mi_pool_for_each_sliced(void (*fn)(const mi_segment *seg, void *arg), void *arg);
/* Bytes of live huge blocks and of their runs (for ha_check; needs a
 * quiescent heap). */
void mi_pool_huge_bytes(int64_t *live, int64_t *held);
/* ha_release_unused: give free segments back to the embedding. */
size_t mi_pool_release_unused(void);
/* ha_collect, with HA_EMBED_RELEASE: free slices of the heap's segments too. */
void mi_segment_release_free_slices(mi_heap *heap);

/* ---- segments and pages (mi/segment.c, mi/page.c) ------------------------ */
/* A fresh page of `bin` for heap, from its segments or a new one; NULL if the
 * pool is exhausted. Owner only. */
mi_page *mi_segment_page_alloc(mi_heap *heap, unsigned bin);
/* A fresh one-block page able to hold `size` bytes at alignment `align`
 * (MI_BIN_LARGE), or NULL when no segment can hold it. Owner only. */
mi_page *mi_segment_large_alloc(mi_heap *heap, size_t size, size_t align);
/* Fit an empty large page to a block of `size` bytes at `align`: its tail
 * slices back to its segment, or the free slices after it added. False,
 * with nothing changed, when those are not free. Owner only. */
bool mi_segment_large_resize(mi_heap *heap, mi_page *page, size_t size, size_t align);
/* The largest block a large page can hold. */
#define MI_LARGE_MAX (MI_SLICES * MI_SLICE_SIZE - MI_SEGMENT_HEADER)
/* Give an empty page back to its segment (and the segment to the pool when
 * nothing else holds it). Owner only. */
void mi_segment_page_free(mi_heap *heap, mi_page *page);
/* Go on giving back heap->sweeping: at most MI_SWEEP_MAX pages. Owner only. */
void mi_segment_sweep_some(mi_heap *heap);
/* ha_check: the used slices of a sliced segment are exactly its pages in
 * use, each a run starting where its descriptor is. */
int mi_segment_check_slices(const mi_segment *seg);
/* No other page of its segment is in use. */
bool mi_segment_page_is_alone(const mi_page *page);
/* A segment run for one huge block of at least `size` bytes whose start can
 * be aligned to `align`, described by a page out of line (mi_segment.c).
 * Any CPU. */
mi_page *mi_segment_huge_alloc(mi_heap *heap, size_t size, size_t align);
/* Give the run back to the pool; returns its segment count. Any CPU. */
size_t mi_segment_huge_free(mi_page *page);
/* The page describing the huge run at `run` of `count` segments. */
mi_page *mi_segment_huge_page(void *run, size_t count);
/* ha_check: the huge run's page describes it and lies outside its block. */
int mi_segment_huge_check(void *run, size_t count);

void mi_page_init(mi_page *page, mi_heap *heap, size_t block_size, size_t area_bytes, bool zeroed);
/* Carve more blocks into `free`; false if the page is completely carved. */
bool mi_page_extend(mi_page *page);
/* Count remote frees in: at most MI_COLLECT_MAX per call (the rest wait on
 * the page's remote_backlog). Owner only. */
void mi_page_collect_remote(mi_page *page);
/* The same, every block: the out-of-memory path and ha_collect. */
void mi_page_collect_all(mi_page *page);

/* ---- heaps (heap.c) --------------------------------------------------- */
extern mi_heap mi_heaps[HA_MAX_CPUS];
extern mi_page mi_page_empty;
extern unsigned mi_heap_count;
void mi_heap_init(mi_heap *heap, unsigned cpu);
/* Queue `queue` of heap (a size class or MI_BIN_FULL). They keep the heap's
 * direct page table in step with the first page of each small class. */
void mi_queue_push_front(mi_heap *heap, unsigned queue, mi_page *page);
void mi_queue_push_back(mi_heap *heap, unsigned queue, mi_page *page);
void mi_queue_remove(mi_heap *heap, unsigned queue, mi_page *page);
/* The slow path of allocation from `bin`: returns a block or NULL. */
mi_block *mi_heap_alloc_slow(mi_heap *heap, unsigned bin);
/* A local free hit a full page or left a page empty. */
void mi_heap_page_freed_slow(mi_heap *heap, mi_page *page);
/* The heap's cached empty large page, taken for a block of `need` bytes at
 * `align`: its block on `free`, still parked on the full queue; or NULL. */
mi_page *mi_heap_take_large_cache(mi_heap *heap, size_t need, size_t align);
/* A new one-block page: it is full from the start. */
void mi_heap_park_large(mi_heap *heap, mi_page *page);
/* The page may stay cached although empty (see mi/heap.c). */
bool mi_heap_keeps_empty(const mi_heap *heap, const mi_page *page);
/* Take such a page off its queue before its slices go back. */
void mi_heap_unqueue_empty(mi_heap *heap, mi_page *page);
/* Owner: requeue the full pages remote CPUs have handed back. */
void mi_heap_take_returned(mi_heap *heap);
/* Owner: collect every page and retire the empty ones (before OOM). */
void mi_heap_collect_all(mi_heap *heap);
/* Remote CPU: hand a full page back to its owner. */
void mi_heap_return_page_mt(mi_heap *heap, mi_page *page);

/* ---- allocation and free on an explicit heap (mi/alloc.c, mi/free.c) ------ */
/* as_pages: a 4 KiB page run, counted in the page statistics. */
void *mi_heap_alloc_generic(mi_heap *heap, size_t size, size_t align, bool zero, bool as_pages);
/* heap: the caller's heap (decides local vs remote). */
void mi_free_generic(mi_heap *heap, void *p, size_t size, size_t align, bool as_pages);

/* Keep the fast-free flag of a page in step with its state. */
static inline void mi_page_set_fast(mi_page *page)
{
    bool fast = page->in_use && !page->in_full && page->bin != MI_BIN_HUGE && page->bin < MI_BIN_COUNT &&
                !mi_load_relaxed(&page->xhas_aligned);
    mi_store_relaxed(&page->fast_heap, fast ? page->heap : 0);
}

/* ---- page counts ----------------------------------------------------------- */
/* Blocks of the page out of free/local_free (live, or freed remotely and not
 * collected yet). */
static inline uint32_t mi_page_used(const mi_page *page) { return page->allocs - page->frees; }

/* Move a page's counts into its heap's statistics, keeping `used`: after it
 * allocs == used and frees == 0, so the counters stay small (a page is folded
 * each time its free list is refilled) and a retired page takes nothing
 * away. Owner only. */
static inline void mi_page_fold(mi_page *page)
{
    mi_stats *stats = &page->heap->stats;
    mi_stat_add((int64_t *)&stats->allocs, (int64_t)page->frees);
    mi_stat_add((int64_t *)&stats->frees, (int64_t)page->frees);
    mi_store_relaxed(&page->allocs, page->allocs - page->frees);
    mi_store_relaxed(&page->frees, 0u);
}

/* local_free becomes free when free is empty. */
static inline void mi_page_local_to_free(mi_page *page)
{
    if (!page->free && page->local_free) {
        mi_page_fold(page);
        page->free = page->local_free;
        page->local_free = 0;
        page->free_is_zero = 0;
    }
}
/* Move xthread_free (bounded, as above) and local_free blocks to free. The
 * common case, no remote frees, stays inline. Owner only. */
static inline void mi_page_collect(mi_page *page)
{
    if (unlikely(page->remote_backlog != 0 || (mi_load_relaxed(&page->xthread_free) & ~MI_FLAG_MASK)))
        mi_page_collect_remote(page);
    mi_page_local_to_free(page);
}

/* ---- the fast paths --------------------------------------------------------
 * Shared by the entry points (entry_points.c), the core's own callers and the
 * lane (lane.h). They read and write only owner-only fields, so they take no
 * atomics, and they count only in the page (allocs, frees): the statistics
 * are derived from those counts (mi_page_fold, mi_stats_sum).
 *
 * The checked build's one switch: MI_FAST_PATHS is 0 there, so every call
 * goes through the generic paths, which verify it (checked_build.c), and the
 * lane stays closed. */
#ifdef HA_CHECKED
#define MI_FAST_PATHS 0
#else
#define MI_FAST_PATHS 1
#endif

/* The one pop: take page's first free block, or NULL when `free` is empty.
 * Counted in the page's allocs, so in the statistics. */
static inline __attribute__((always_inline)) mi_block *mi_page_pop(mi_page *page)
{
    mi_block *block = page->free;
    if (unlikely(block == 0))
        return 0;
    page->free = mi_decode(page, block->next, block);
    mi_count_inc(&page->allocs);
    return block;
}

/* The one local push: block goes on its page's local_free (owner only);
 * `frees` is the page's count after it. */
static inline __attribute__((always_inline)) void mi_page_push_local_as(mi_page *page, mi_block *block,
                                                                       uint32_t frees)
{
    block->next = mi_encode(page, page->local_free);
    page->local_free = block;
    mi_count_set(&page->frees, frees);
}

static inline __attribute__((always_inline)) void mi_page_push_local(mi_page *page, mi_block *block)
{
    mi_page_push_local_as(page, block, mi_count_get(&page->frees) + 1);
}

/* Fast path: a block of the class whose direct entry is `index` (request
 * size in words, rounded up), or NULL when its first page has no free
 * block. */
static inline __attribute__((always_inline)) mi_block *mi_alloc_direct(mi_heap *heap, size_t index)
{
    return mi_page_pop(heap->direct[index]);
}

/* The same for a request whose last byte is at offset `last` < MI_DIRECT_MAX
 * (size - 1, rounded up to the alignment): its entry is direct[last / 8 + 1],
 * whose byte offset from direct[1] is last with its low three bits cleared. */
static inline __attribute__((always_inline)) mi_block *mi_alloc_direct_at(mi_heap *heap, size_t last)
{
    return mi_page_pop(*(mi_page **)((uint8_t *)&heap->direct[1] + (last & ~(size_t)7)));
}

/* As mi_fast_free_page below, with p's segment taken as p & segment_mask
 * (the front's: all ones makes every free miss; backend.h). */
static inline __attribute__((always_inline)) mi_page *mi_fast_free_page_masked(mi_heap *heap, void *p,
                                                                              uintptr_t segment_mask)
{
    mi_segment *seg = (mi_segment *)((uintptr_t)p & segment_mask);
    if (unlikely((void *)seg == p))
        return 0;
    /* mi_page_of(seg, p), from p's own bits: the slice index scaled to a
     * word offset in one shift and mask. */
    uintptr_t slot = ((uintptr_t)p >> (MI_SLICE_SHIFT - 3)) & ((uintptr_t)(MI_SLICES - 1) << 3);
    mi_page *page = *(mi_page **)((uint8_t *)seg->slice_page + slot);
    /* Any CPU reads this; only the owner can find its own heap here. */
    return likely(mi_peek(&page->fast_heap) == heap) ? page : 0;
}

/* The page of p when heap owns it and it takes fast frees, else NULL (p
 * NULL, a huge block aligned to its segment, another heap's page, or one
 * that takes no fast free). Reads only. */
static inline __attribute__((always_inline)) mi_page *mi_fast_free_page(mi_heap *heap, void *p)
{
    return mi_fast_free_page_masked(heap, p, ~MI_SEGMENT_MASK);
}

/* An emptied page that stays inline, not retired: the only page of its
 * class, a small one (one slice), in a heap with one segment (heap.c). */
static inline __attribute__((always_inline)) bool mi_page_kept_when_empty(const mi_heap *heap,
                                                                          const mi_page *page)
{
    return !page->next && !page->prev && page->slice_count == 1 && heap->segment_count == 1;
}

/* Fast path: free p into its page's local_free when heap owns the page and
 * the page takes fast frees; returns that page (the caller then asks
 * mi_page_emptied_retires), or NULL having done nothing. p may be NULL. */
static inline __attribute__((always_inline)) mi_page *mi_free_local(mi_heap *heap, void *p)
{
    mi_page *page = mi_fast_free_page(heap, p);
    if (likely(page != 0))
        mi_page_push_local(page, (mi_block *)p);
    return page;
}

/* The per-CPU entry points' fast free: as mi_free_local, but it takes p
 * only if the page then stays (mi_page_emptied_retires asked one free
 * ahead): true when it freed p, false having written nothing (the caller
 * frees p the generic way, which retires the page). Testing before the
 * push keeps every write at the fast path's end, so nothing is left half
 * done between it and a slow path that masks for itself (interrupts
 * deferred by the embedding, hartalloc_embed.h, end at that boundary).
 * segment_mask: as mi_fast_free_page_masked's. */
static inline __attribute__((always_inline)) bool mi_free_local_stays(mi_heap *heap, void *p,
                                                                     uintptr_t segment_mask)
{
    mi_page *page = mi_fast_free_page_masked(heap, p, segment_mask);
    if (unlikely(page == 0))
        return false;
    uint32_t frees = mi_count_get(&page->frees) + 1; /* once: the push may alias it */
    /* The push is spelled out on both branches: merged, GCC moves `frees`
     * between registers on the common one (one more instruction). */
    if (unlikely(page->allocs == frees)) {
        if (!mi_page_kept_when_empty(heap, page))
            return false;
        mi_page_push_local_as(page, (mi_block *)p, frees);
        return true;
    }
    mi_page_push_local_as(page, (mi_block *)p, frees);
    return true;
}

/* The one emptied-page rule, after a local free into `page`: true when the
 * caller must hand the page to mi_heap_page_freed_slow (masked). It is not
 * when blocks are still in use, nor in the common case kept inline: the
 * only page of its class, a small one (one slice) in a heap with one
 * segment, stays (heap.c). */
static inline __attribute__((always_inline)) bool mi_page_emptied_retires(const mi_heap *heap,
                                                                          const mi_page *page)
{
    return unlikely(page->allocs == page->frees) && !mi_page_kept_when_empty(heap, page);
}

/* Allocation and free on an explicit heap, for callers inside the core:
 * the fast path first, then the generic one. */
static inline __attribute__((always_inline)) void *mi_heap_alloc(mi_heap *heap, size_t size, size_t align,
                                                               bool zero, bool as_pages)
{
    /* Rounding to a multiple of align lands on a class that keeps the
     * alignment. */
    if (MI_FAST_PATHS && likely(size <= MI_DIRECT_MAX && align <= MI_DIRECT_MAX && !zero && !as_pages)) {
        size_t rounded = ((size ? size : 1) + align - 1) & ~(align - 1);
        if (likely(rounded <= MI_DIRECT_MAX)) {
            mi_block *block = mi_alloc_direct(heap, (rounded + 7) >> 3);
            if (likely(block != 0))
                return block;
        }
    }
    return mi_heap_alloc_generic(heap, size, align, zero, as_pages);
}

static inline __attribute__((always_inline)) void mi_free(mi_heap *heap, void *p, size_t size, size_t align,
                                                        bool as_pages)
{
    mi_page *page = MI_FAST_PATHS && likely(!as_pages) ? mi_free_local(heap, p) : 0;
    if (likely(page != 0)) {
        if (mi_page_emptied_retires(heap, page))
            mi_heap_page_freed_slow(heap, page);
        return;
    }
    mi_free_generic(heap, p, size, align, as_pages);
}
void *mi_heap_realloc(mi_heap *heap, void *p, size_t old_size, size_t align, size_t new_size);
size_t mi_usable_size(const void *p);
/* The page holding a live block p (checked builds verify everything). */
mi_page *mi_page_of_block(const void *p);

/* ---- checked builds (checked_build.c) --------------------------------------- */
#ifdef HA_CHECKED
/* A checked block ends with its requested size (encoded) and carries an
 * 8-byte canary right after the requested bytes. */
#define MI_PADDING 16u
/* Verify a block taken off a free list still holds the freed-block fill. */
void mi_checked_on_pop(mi_page *page, mi_block *block);
void mi_checked_on_alloc(mi_page *page, mi_block *block, void *user, size_t size);
void mi_checked_on_free(mi_page *page, mi_block *block, const void *user, size_t size,
                        size_t align, const char *what);
void mi_checked_fill_free(mi_page *page, mi_block *block);
#else
#define MI_PADDING 0u
#endif

/* The statistics of heaps [first, end): their own figures plus the counts of
 * their pages (entry_points.c). */
void mi_stats_sum(unsigned first, unsigned end, mi_stats *sum);

/* ---- validation (mi/validate.c) --------------------------------------------- */
int mi_check_heaps(void);

#endif /* HA_MI_INTERNAL_H */
