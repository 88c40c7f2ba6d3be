/*
 * mi/types.h - the data structures of the `mi` allocator, their glossary,
 * invariants and lock order. Read this first; alloc/README.md summarises it.
 *
 * Glossary
 *   region   memory handed over by ha_init / ha_add_memory.
 *   segment  a 4 MiB-aligned, 4 MiB slice of a region (or a run of them for a
 *            huge block). A sliced segment's header (struct mi_segment) sits at
 *            its start, so the segment of any block not on a segment boundary
 *            is found by masking the block's address. The segment pool hands
 *            segments to heaps and takes them back.
 *   slice    a 64 KiB sixty-fourth of a segment; slice 0 starts with the header.
 *   page     a run of slices of one segment holding blocks of one size class:
 *            1 slice (small blocks, <= 8 KiB), 8 slices (medium, <= 128 KiB),
 *            or just enough slices for one large block (<= a segment). Pages
 *            of every kind share a segment, so a CPU pins few segments.
 *            Not a 4 KiB MMU page; those are "4 KiB pages" here (ha_alloc_pages).
 *   block    what ha_alloc returns; free blocks link through their first word.
 *   large    a one-block page; the block is the request rounded up to 4 KiB,
 *            the page the fewest slices that hold it. Only a page starting at
 *            slice 0 pays for the header, so pages of several slices start
 *            elsewhere when they can: a multiple of 64 KiB fits exactly.
 *   huge     a block larger than a segment's slices: a run of segments of its
 *            own, freed by any CPU straight to the pool. It starts at the run's
 *            first byte and the run has no header: its page (descriptor) sits
 *            in the run's last bytes when the block leaves room there, else in a
 *            spare table (mi_segment.c), so a multiple of 4 MiB fits exactly.
 *            Only huge blocks start on a segment boundary; free asks the pool.
 *   heap     one per CPU index (struct mi_heap). It owns segments, and through
 *            them pages; only its CPU allocates from its pages or carves its
 *            segments.
 *   lane     the fast paths entered with a cached heap and no irq hooks, by an
 *            embedding whose caller no allocating interrupt can preempt (the
 *            host's malloc shim; hartalloc_lane.h).
 *
 * The three free lists of a page (free-list sharding, Leijen et al. 2019)
 *   free         blocks to allocate from. Owner only; no atomics.
 *   local_free   blocks freed by the owner. Owner only; no atomics. Kept apart
 *                from `free` so the allocation fast path never sees them and the
 *                owner's slow path runs at a bounded rate.
 *   xthread_free blocks freed by other CPUs, pushed with a CAS; the owner takes
 *                the whole list with one atomic exchange. Its two low bits hold
 *                the page's full-state (below).
 *   remote_backlog  what the owner took off xthread_free but has not counted
 *                yet: a collect moves at most MI_COLLECT_MAX of them to
 *                local_free, so no call walks a whole page's worth of blocks.
 *                Owner only.
 *   Invariant: capacity == used + |free| + |local_free|, and
 *              |xthread_free| + |remote_backlog| <= used;
 *              blocks alive == used - |xthread_free| - |remote_backlog|.
 *   Every block of [0, capacity) is on at most one list; blocks in
 *   [capacity, reserved) are not carved yet (lazy extension: memory the
 *   allocator never touched stays untouched).
 *
 * Full pages and the hand-off (our variant of mimalloc's delayed free)
 *   A page with nothing to allocate leaves its size-class queue for the heap's
 *   `full` queue and its flag becomes FULL. The first remote free that sees
 *   FULL swaps it to NOTIFIED in the same CAS that pushes the block, and then
 *   pushes the page on its heap's `xreturned` stack. The owner's slow path
 *   takes the whole stack, sets NOTIFIED back to NORMAL and requeues the page.
 *   So a full page is always either reachable from the owner's queues or on
 *   its stack; a page is pushed at most once per FULL period; and a page whose
 *   flag is not NORMAL is never retired (it may be on the stack).
 *   alloc/mi/model/thread_free.pml model-checks this protocol.
 *
 * Interrupts
 *   Every operation on a heap runs where no interrupt handler of its CPU can
 *   run, so a handler that allocates on the same CPU runs before or after a
 *   heap operation, never inside one: the owner-only lists need no atomics.
 *   Every path runs between ha_embed_irq_save/restore (one csrrci and one
 *   csrs on riscv64), except the two fast paths when the embedding defers
 *   interrupts past them instead (HA_EMBED_IRQ_DEFER: the section
 *   ha_fast_text, frameless leaves that write nothing before a slow path;
 *   with a CPU slot as well they are ha_alloc and ha_dealloc themselves,
 *   entered through the CPU's front, backend.h).
 *   The lane skips the hooks: its callers have no allocating interrupts,
 *   and it takes no lock (a lane miss goes through the masked entry points).
 *
 * Lock order (outermost first)
 *   1. mi-locked's global lock (only the mi-locked alloc_type)
 *   2. the segment pool's lock (segment_pool.c): regions and segment states.
 *   Heaps take no lock: only their own CPU touches them, with no handler able
 *   to run (irqs masked, or deferred past the fast paths).
 *   Remote CPUs touch a foreign heap only through its `xreturned` stack and a
 *   foreign page only through its `xthread_free` word.
 *
 * Naming: fields written by other CPUs start with x; functions that may run
 * on a CPU other than the owner end in _mt.
 */
#ifndef HA_MI_TYPES_H
#define HA_MI_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hartalloc.h"
#include "../backend.h" /* struct ha_front */

/* ---- tunables ------------------------------------------------------------ */
#define MI_POOL_MAX_SEGMENTS 16384  /* 64 GiB of regions in all                  */
#define MI_EXTEND_BYTES 4096        /* carve about this much of a page at once   */
#define MI_EXTEND_MIN_BLOCKS 4      /* ...but at least this many blocks          */
#define MI_EXTEND_MAX_BLOCKS 128    /* ...and at most this many (worst-case bound) */
#define MI_CACHE_LINE 128           /* per-CPU data never shares a line (128: adjacent-line prefetch) */
/* Work one slow-path call does at most, so every call has a bound
 * (alloc/mi/README.md, "Worst-case bound"); what is left waits for later calls. */
#define MI_COLLECT_MAX 64           /* remote frees one page collect counts in   */
#define MI_RETURNED_MAX 8           /* handed-back pages one slow path requeues  */
#define MI_SEARCH_MAX 4             /* class-queue pages one slow path examines  */
#define MI_SWEEP_MAX 4              /* empty pages one slow path retires from a
                                       segment being given back (and 4x as many
                                       it checks first)                         */

/* ---- derived, do not modify --------------------------------------------- */
#define MI_SEGMENT_SHIFT 22
#define MI_SEGMENT_SIZE ((uintptr_t)1 << MI_SEGMENT_SHIFT)
#define MI_SEGMENT_MASK (MI_SEGMENT_SIZE - 1)
#define MI_SLICE_SHIFT 16           /* 64 KiB                                    */
#define MI_SLICE_SIZE ((uintptr_t)1 << MI_SLICE_SHIFT)
#define MI_SLICES 64u               /* per segment                               */
#define MI_MEDIUM_SLICES 8u         /* the largest medium page: 512 KiB          */
#define MI_MEDIUM_MIN_BLOCKS 4u     /* a medium page holds this many blocks      */

/* Block size boundaries. Small pages hold >= 7 blocks of their largest class,
 * medium pages >= 4. A larger block gets a page of its own, sized to it in
 * whole slices, so memory is not pinned by size classes: the region is real
 * memory, not lazily committed address space. Above what a segment's slices
 * hold, a block gets a run of segments. */
#define MI_SMALL_MAX 8192u
#define MI_MEDIUM_MAX (128u * 1024)

/* Size classes: 8..64 in steps of 8 (bins 1..8), then four per power of two
 * ((5,6,7,8) * 2^(k-2)), up to MI_MEDIUM_MAX (bin 52). A block is at most 25%
 * larger than the request above 64 bytes, and at most 7 bytes larger below. */
#define MI_BIN_COUNT 53
#define MI_BIN_FULL MI_BIN_COUNT    /* index of the heap's full queue            */
#define MI_BIN_LARGE (MI_BIN_COUNT + 1) /* a one-block page; lives on `full`      */
#define MI_BIN_HUGE 0               /* the page of a huge segment run            */

/* Flag in the two low bits of xthread_free. */
enum mi_full_state { MI_NORMAL = 0, MI_FULL = 1, MI_NOTIFIED = 2 };
#define MI_FLAG_MASK ((uintptr_t)3)

typedef struct mi_block {
    uintptr_t next;                 /* encoded link (see mi/internal.h)          */
} mi_block;

struct mi_heap;

typedef struct mi_page {
    mi_block *free;                 /* owner: allocate from here                 */
    mi_block *local_free;           /* owner: frees by the owner                 */
    uintptr_t xthread_free;         /* any CPU: remote frees | mi_full_state     */
    uint32_t allocs, frees;         /* owner: blocks taken off `free` and blocks
                                       put on local_free (remote frees when
                                       collected) since the last fold; their
                                       difference is `used`, the blocks out of
                                       free/local_free (mi_page_used). The
                                       heap's statistics are derived from them
                                       (mi_page_fold, entry_points.c)          */
    uint32_t capacity;              /* blocks carved so far                      */
    uint32_t reserved;              /* blocks that fit in the page               */
    uint32_t xhas_aligned;          /* some block was handed out at an offset;
                                       read by remote frees, hence atomic        */
    uint16_t bin;                   /* size class, or MI_BIN_LARGE / MI_BIN_HUGE */
    uint8_t in_use;                 /* page belongs to a heap                    */
    uint8_t slice_count;            /* slices of the page (its first is `index`) */
    uint8_t in_full;                /* page is on the heap's full queue          */
    uint8_t free_is_zero;           /* un-handed blocks hold only zero bytes     */
    uint8_t is_dirty;               /* memory was used before (not known zero)   */
    uint8_t index;                  /* its first slice                           */
    size_t block_size;              /* bytes per block (usable size for huge)    */
    uint8_t *area;                  /* first block                               */
    struct mi_heap *heap;           /* owner; constant while in_use              */
    struct mi_heap *fast_heap;      /* heap, while its owner may free into the page
                                       on the fast path (written by the owner,
                                       read by any CPU: relaxed atomics)
                                       in use, in a size-class
                                       queue, no block at an offset; else NULL
                                       (mi_page_set_fast keeps it so)            */
    struct mi_page *next, *prev;    /* owner: position in a heap queue           */
    struct mi_page *returned_next;  /* link on the owner's xreturned stack       */
    uintptr_t key;                  /* encodes free-list links                   */
    mi_block *remote_backlog;       /* owner: remote frees taken, not yet counted */
#ifdef HA_CHECKED
    uint64_t live[(1u << MI_SLICE_SHIFT) / 16 / 64]; /* live block bitmap        */
#endif
} __attribute__((aligned(128))) mi_page; /* 128: the fast free finds it with a shift */

typedef struct mi_segment {
    uintptr_t cookie;               /* address ^ secret: proves a live header    */
    uint8_t on_list;                /* on its heap's list of segments with room  */
    uint8_t sweep_cursor;           /* while its heap gives it back (heap->sweeping):
                                       its first slice not checked yet (64: all)  */
    struct mi_page *slice_page[MI_SLICES]; /* used slice -> its page (a pointer, not
                                       an index: one load on the free fast path) */
    uint64_t free_slices;           /* bit i: slice i belongs to no page         */
    uint64_t dirty_slices;          /* bit i: slice i was used (not known zero)  */
    struct mi_heap *heap;           /* owner                                     */
    struct mi_segment *next, *prev; /* owner's list of segments with free slices */
    mi_page pages[MI_SLICES];       /* pages[i] describes the page starting at slice i */
} mi_segment;

typedef struct mi_page_queue {
    mi_page *first, *last;
} mi_page_queue;

/* A heap's statistics: written only by the heap's CPU on its slow paths
 * (irqs masked), read by anyone with relaxed loads. The fast paths count
 * nothing here: a block taken or freed there moves its page's allocs or
 * frees, and a report adds those of the heap's pages in use to these
 * figures (mi_stats_sum, entry_points.c); a page folds its counts in here
 * (mi_page_fold) when its free list is refilled and when it is retired.
 * bytes_in_use may go negative on one CPU when it frees blocks another CPU
 * allocated; the sum over CPUs is exact. mi-locked has one heap, so its
 * figures are all CPU 0's. bytes_peak is the highest bytes_in_use a report
 * has seen (xpeak_reported). */
typedef struct mi_stats {
    uint64_t allocs, frees, remote_frees;
    int64_t bytes_in_use, bytes_peak;
    int64_t pages_in_use, segments_in_use;
    int64_t unusable_bytes;         /* block bytes of live blocks beyond their
                                       usable size: the slack before over-aligned
                                       pointers; in checked builds, the padding   */
    int64_t page4k_in_use;          /* 4 KiB pages handed out by alloc_pages     */
    int64_t page4k_block_bytes;     /* block bytes those pages occupy            */
    int64_t held_bytes, held_peak;  /* bytes of the pages (and huge runs) held:
                                       changed only on slow paths, so the peak
                                       is exact                                  */
} mi_stats; /* inside its heap, so on its CPU's own lines */

/* Requests up to this size find their page in one load (mi_heap.direct). */
#define MI_DIRECT_MAX 1024u

/* The order keeps every field the slow paths name within 2 KiB of the start
 * (riscv64's load and store offsets reach 2047): the scalars first, the
 * direct table, whose entries are found by an index anyway, last. */
typedef struct mi_heap {
#ifdef HA_FRONT
    struct ha_front front;          /* what ha_alloc and ha_dealloc read first
                                       (backend.h): the heap is its CPU's front  */
#endif
    mi_segment *segments;           /* segments with a free slice                */
    unsigned segment_count;         /* segments held (huge runs excluded)        */
    unsigned cpu;
    mi_page *xreturned;             /* any CPU: full pages that got a remote free */
    mi_page *returned_backlog;      /* owner: pages taken off xreturned, not yet
                                       requeued (MI_RETURNED_MAX per slow path)  */
    mi_stats stats;                 /* the heap's (mi-locked: of all CPUs)       */
    mi_page *large_cache;           /* an empty one-block page kept for the next
                                       large block of about its size (mi/heap.c) */
    mi_segment *sweeping;           /* a segment that may hold only kept empty
                                       pages: checked, then given back, a few
                                       pages per slow path (mi_segment.c)        */
    int64_t xpeak_reported;         /* any CPU: the highest peak a report gave   */
    mi_page_queue queues[MI_BIN_COUNT + 1]; /* per size class, then full      */
    struct mi_page *direct[MI_DIRECT_MAX / 8 + 1]; /* word size -> first page of
                                       its class, or an empty page             */
} __attribute__((aligned(MI_CACHE_LINE))) mi_heap;

#ifndef HA_FRONT
/* A power of two, so &mi_heaps[cpu] is a shift, not a multiply: without
 * fronts the entry points compute it on every call. (With fronts the heap
 * comes from the CPU slot and only reports index the array.) */
_Static_assert((sizeof(mi_heap) & (sizeof(mi_heap) - 1)) == 0, "mi_heap size is a power of two");
#endif

#endif /* HA_MI_TYPES_H */
