/*
 * tlsf.c - "tlsf": two-level segregated fit (Masmano et al., ECRTS 2004).
 *
 * Free blocks sit on one of FL x SL lists: the first level is the power of two
 * of the block size, the second splits each power of two into SL_COUNT equal
 * ranges. Two bitmaps say which lists are non-empty, so alloc finds a list
 * whose every block fits with two bit scans: O(1). Every block starts with a
 * boundary tag (its size and two flags), and a free block also writes its
 * address into the next block's prev_phys word, so free merges with both
 * physical neighbours at once (immediate coalescing): O(1). Invariant: no two
 * physically adjacent blocks are free.
 *
 * Block layout (b = block address, 16-aligned; payload = b + 16):
 *   b + 0   prev_phys   address of the previous block; meaningful only while
 *                       that block is free, otherwise it is the last word of
 *                       the previous block's payload
 *   b + 8   size_flags  distance to the next block | FREE | PREV_FREE | PAGES
 *   b + 16  payload, or next_free/prev_free while the block is free
 * so a live block costs one word (8 bytes) and usable size is size - 8. Each
 * region ends with a size-0 used sentinel block that stops forward merges; the
 * first block of a region never has PREV_FREE set, which stops backward ones.
 *
 * Pages (ha_alloc_pages) are blocks like any other, 4 KiB-aligned through the
 * aligned path and flagged PAGES, so memory moves freely between byte and page
 * use. One spinlock, taken with interrupts masked, serialises every call.
 */
#include "backend.h"
#include "checked/free_fill.h"
#include "hartalloc_embed.h"
#include "locked_stats.h"
#include "region_set.h"
#include "checked/request_record.h"
#include "spinlock.h"

/* ---- tunable ------------------------------------------------------------- */
#define TLSF_SL_LOG2 5      /* 32 lists per power of two: a found block wastes <= 1/32 */
#define TLSF_FL_MAX_LOG2 48 /* blocks stay below 256 TiB; larger regions are clamped   */

/* ---- derived, do not modify --------------------------------------------- */
#define TLSF_ALIGN_LOG2 4 /* 16-byte granule: malloc's alignment on lp64 targets  */
#define TLSF_ALIGN ((size_t)1 << TLSF_ALIGN_LOG2)
#define TLSF_SL_COUNT (1u << TLSF_SL_LOG2)
#define TLSF_FL_SHIFT (TLSF_SL_LOG2 + TLSF_ALIGN_LOG2)
#define TLSF_SMALL ((size_t)1 << TLSF_FL_SHIFT) /* below: one list per granule     */
#define TLSF_FL_COUNT (TLSF_FL_MAX_LOG2 - TLSF_FL_SHIFT + 1)
#define TLSF_MAX_BLOCK (((size_t)1 << TLSF_FL_MAX_LOG2) - TLSF_ALIGN)
#define TLSF_HEADER 16   /* prev_phys + size_flags: payload offset               */
#define TLSF_OVERHEAD 8  /* size_flags only; prev_phys borrows the previous payload */
#define TLSF_MIN_BLOCK 32 /* header + next_free + prev_free                      */
#define TLSF_SENTINEL 16 /* the size-0 block closing each region                 */
/* Largest request: block size, alignment slack and a split-off remainder must
 * all stay below TLSF_MAX_BLOCK without overflow. */
#define TLSF_MAX_REQUEST (TLSF_MAX_BLOCK / 2)

#define FREE ((size_t)1)      /* this block is on a free list                    */
#define PREV_FREE ((size_t)2) /* the previous block is free: prev_phys is valid  */
#define PAGES ((size_t)4)     /* handed out by alloc_pages, not alloc            */
#define FLAG_MASK (TLSF_ALIGN - 1)

_Static_assert(TLSF_SMALL / TLSF_SL_COUNT == TLSF_ALIGN, "small lists are one granule apart");
_Static_assert(TLSF_SL_COUNT <= 32, "sl bitmaps are 32-bit");
_Static_assert(TLSF_FL_COUNT <= 64, "the fl bitmap is 64-bit");
_Static_assert((FREE | PREV_FREE | PAGES) <= FLAG_MASK, "flags live in the granule's low bits");
_Static_assert(TLSF_MIN_BLOCK % TLSF_ALIGN == 0 && TLSF_HEADER % TLSF_ALIGN == 0, "granule-aligned");

struct tlsf_block {
    struct tlsf_block *prev_phys; /* valid only while PREV_FREE is set       */
    size_t size_flags;            /* distance to the next block | flags      */
    struct tlsf_block *next_free; /* free blocks only: same-list neighbours  */
    struct tlsf_block *prev_free;
};

static struct {
    ha_spinlock lock;
    uint64_t fl_map;                    /* bit fl: sl_map[fl] != 0            */
    uint32_t sl_map[TLSF_FL_COUNT];     /* bit sl: heads[fl][sl] != NULL      */
    struct tlsf_block *heads[TLSF_FL_COUNT][TLSF_SL_COUNT];
    size_t free_bytes;                  /* sum of free block sizes            */
    size_t free_blocks;
    struct region_set regions;
    struct locked_stats stats;
} tlsf;

/* ---- blocks -------------------------------------------------------------- */

static inline size_t block_size(const struct tlsf_block *b) { return b->size_flags & ~FLAG_MASK; }
static inline void set_size(struct tlsf_block *b, size_t size) { b->size_flags = (b->size_flags & FLAG_MASK) | size; }
static inline struct tlsf_block *next_phys(const struct tlsf_block *b) { return (struct tlsf_block *)((char *)b + block_size(b)); }
static inline struct tlsf_block *block_of(const void *payload) { return (struct tlsf_block *)((char *)payload - TLSF_HEADER); }
static inline void *payload_of(struct tlsf_block *b) { return (char *)b + TLSF_HEADER; }
static inline size_t usable(const struct tlsf_block *b) { return block_size(b) - TLSF_OVERHEAD; }
/* Usable size as reported and counted: the request in checked builds. */
static inline size_t reported(struct tlsf_block *b) { return record_size(payload_of(b), usable(b), "tlsf"); }

/* Block size holding a request of n bytes (n <= TLSF_MAX_REQUEST). */
static inline size_t block_size_for(size_t n)
{
    size_t size = ha_align_up(n + TLSF_OVERHEAD, TLSF_ALIGN);
    return size < TLSF_MIN_BLOCK ? TLSF_MIN_BLOCK : size;
}

static inline unsigned floor_log2(size_t x) { return 63u - (unsigned)__builtin_clzll(x); }

/* The list a block of `size` belongs on. */
static void mapping(size_t size, unsigned *fl, unsigned *sl)
{
    if (size < TLSF_SMALL) {
        *fl = 0;
        *sl = (unsigned)(size / TLSF_ALIGN);
    } else {
        unsigned lg = floor_log2(size);
        *fl = lg - TLSF_FL_SHIFT + 1;
        *sl = (unsigned)(size >> (lg - TLSF_SL_LOG2)) ^ TLSF_SL_COUNT;
    }
}

static void list_insert(struct tlsf_block *b)
{
    unsigned fl, sl;
    mapping(block_size(b), &fl, &sl);
    struct tlsf_block *head = tlsf.heads[fl][sl];
    b->next_free = head;
    b->prev_free = 0;
    if (head)
        head->prev_free = b;
    tlsf.heads[fl][sl] = b;
    tlsf.sl_map[fl] |= 1u << sl;
    tlsf.fl_map |= (uint64_t)1 << fl;
    tlsf.free_bytes += block_size(b);
    tlsf.free_blocks++;
}

#ifdef HA_CHECKED
/* Checked builds: a free block's links are validated before they are
 * followed, and its body past the links carries the fill (free_fill.h). */
static void check_link(const struct tlsf_block *b, const struct tlsf_block *link)
{
    if (link && ((uintptr_t)link % TLSF_ALIGN || !region_set_find(&tlsf.regions, (uintptr_t)link) ||
                 !(link->size_flags & FREE)))
        ha_fault((const char *)b + TLSF_HEADER,
                 "tlsf: free list link corrupted (it holds %p): was the block written after it was freed?", link);
}

static inline uint8_t *fill_start(struct tlsf_block *b) { return (uint8_t *)(b + 1); }
static inline size_t fill_len(const struct tlsf_block *b) { return free_fill_len(block_size(b) - sizeof *b); }
#endif

static void list_remove(struct tlsf_block *b)
{
#ifdef HA_CHECKED
    check_link(b, b->next_free);
    check_link(b, b->prev_free);
#endif
    unsigned fl, sl;
    mapping(block_size(b), &fl, &sl);
    if (b->next_free)
        b->next_free->prev_free = b->prev_free;
    if (b->prev_free)
        b->prev_free->next_free = b->next_free;
    else
        tlsf.heads[fl][sl] = b->next_free;
    if (!tlsf.heads[fl][sl]) {
        tlsf.sl_map[fl] &= ~(1u << sl);
        if (!tlsf.sl_map[fl])
            tlsf.fl_map &= ~((uint64_t)1 << fl);
    }
    tlsf.free_bytes -= block_size(b);
    tlsf.free_blocks--;
}

/* A free block of at least `size` bytes, or NULL: rounding size up to the
 * next list boundary makes every block of the found list fit (good fit). */
static struct tlsf_block *find_fit(size_t size)
{
    if (size >= TLSF_SMALL)
        size += ((size_t)1 << (floor_log2(size) - TLSF_SL_LOG2)) - 1;
    unsigned fl, sl;
    mapping(size, &fl, &sl);
    if (fl >= TLSF_FL_COUNT)
        return 0;
    uint32_t sl_map = tlsf.sl_map[fl] & (~0u << sl);
    if (!sl_map) {
        uint64_t fl_map = tlsf.fl_map & (~(uint64_t)0 << (fl + 1));
        if (!fl_map)
            return 0;
        fl = (unsigned)__builtin_ctzll(fl_map);
        sl_map = tlsf.sl_map[fl];
    }
    return tlsf.heads[fl][__builtin_ctz(sl_map)];
}

/* Return a block to the free lists, merging it with free neighbours. The
 * block's own FREE flag is set first so its stale header, if it is merged
 * away, still reads as freed (a later double free is caught). */
static void release(struct tlsf_block *b)
{
    b->size_flags = (b->size_flags | FREE) & ~PAGES;
    if (b->size_flags & PREV_FREE) {
        struct tlsf_block *prev = b->prev_phys;
        list_remove(prev);
        set_size(prev, block_size(prev) + block_size(b));
        b = prev;
    }
    struct tlsf_block *next = next_phys(b);
    if (next->size_flags & FREE) {
        list_remove(next);
        set_size(b, block_size(b) + block_size(next));
        next = next_phys(b);
    }
    next->prev_phys = b;
    next->size_flags |= PREV_FREE;
#ifdef HA_CHECKED
    free_fill(fill_start(b), fill_len(b));
#endif
    list_insert(b);
}

/* Take a free block off its list for use. */
static void claim(struct tlsf_block *b)
{
#ifdef HA_CHECKED
    free_fill_verify(payload_of(b), fill_start(b), fill_len(b), "tlsf");
#endif
    list_remove(b);
    b->size_flags &= ~FREE;
    next_phys(b)->size_flags &= ~PREV_FREE;
}

/* Shrink a used block to `size`, freeing the tail when it can stand alone. */
static void trim(struct tlsf_block *b, size_t size)
{
    size_t have = block_size(b);
    if (have - size < TLSF_MIN_BLOCK)
        return;
    struct tlsf_block *rest = (struct tlsf_block *)((char *)b + size);
    rest->size_flags = have - size; /* PREV_FREE clear: b stays used */
    set_size(b, size);
    release(rest);
}

/* Allocate a block for n bytes whose payload is aligned to align. */
static struct tlsf_block *alloc_locked(size_t n, size_t align, size_t flags)
{
    if (n > TLSF_MAX_REQUEST || align > TLSF_MAX_REQUEST)
        return 0;
    size_t size = block_size_for(n);
    bool aligned_path = align > TLSF_ALIGN;
    /* Room to move the payload to the next aligned address while leaving a
     * leading remainder that can stand as a free block. */
    struct tlsf_block *b = find_fit(aligned_path ? size + align + TLSF_MIN_BLOCK : size);
    if (!b)
        return 0;
    claim(b);
    if (aligned_path) {
        uintptr_t payload = (uintptr_t)payload_of(b);
        uintptr_t target = ha_align_up(payload, align);
        if (target != payload && target - payload < TLSF_MIN_BLOCK)
            target = ha_align_up(payload + TLSF_MIN_BLOCK, align);
        size_t gap = target - payload;
        if (gap) {
            struct tlsf_block *moved = (struct tlsf_block *)((char *)b + gap);
            moved->size_flags = block_size(b) - gap;
            set_size(b, gap);
            release(b); /* its neighbours are used: it just goes on a list */
            b = moved;
        }
    }
    trim(b, size);
    b->size_flags |= flags;
    return b;
}

/* Grow or shrink a used block in place; false when the next block cannot
 * supply the missing bytes. */
static bool resize_locked(struct tlsf_block *b, size_t size)
{
    if (size > block_size(b)) {
        struct tlsf_block *next = next_phys(b);
        if (!(next->size_flags & FREE) || block_size(b) + block_size(next) < size)
            return false;
        claim(next);
        set_size(b, block_size(b) + block_size(next));
    }
    trim(b, size);
    return true;
}

/* The block of a pointer handed to dealloc/realloc/usable_size. The checked
 * build verifies the tag: 16-aligned, inside a region, used, of a sane size
 * and agreeing with its physical successor. */
static struct tlsf_block *live_block(const void *ptr, size_t want_flags)
{
    struct tlsf_block *b = block_of(ptr);
#ifdef HA_CHECKED
    const struct region *r = region_set_find(&tlsf.regions, (uintptr_t)b);
    if ((uintptr_t)ptr % TLSF_ALIGN || !r)
        ha_fault(ptr, "tlsf: not a block of this heap");
    size_t size = block_size(b);
    if (b->size_flags & FREE) {
        /* A block still free under its own tag is named by its successor;
         * a stale tag (merged away) or user bytes read as one are not. */
        bool named = size >= TLSF_MIN_BLOCK && size <= r->end - TLSF_SENTINEL - (uintptr_t)b &&
                     next_phys(b)->prev_phys == b;
        ha_fault(ptr, named ? "tlsf: double free (block is free)"
                            : "tlsf: not a live block (double free, or an interior pointer)");
    }
    if (size < TLSF_MIN_BLOCK || size > r->end - TLSF_SENTINEL - (uintptr_t)b ||
        (next_phys(b)->size_flags & PREV_FREE))
        ha_fault(ptr, "tlsf: not the start of a live block");
    if ((b->size_flags & PAGES) != want_flags)
        ha_fault(ptr, want_flags ? "tlsf: not a page allocation" : "tlsf: a page allocation freed as bytes");
#else
    (void)want_flags;
#endif
    return b;
}

/* ---- regions ------------------------------------------------------------- */

static int add_region(void *start, size_t size)
{
    uintptr_t s = ha_align_up((uintptr_t)start, TLSF_ALIGN);
    uintptr_t e = (uintptr_t)start + size;
    if (e < (uintptr_t)start) /* wraps the address space */
        return -HA_EINVAL;
    e = ha_align_down(e, TLSF_ALIGN);
    if (e <= s || e - s < TLSF_MIN_BLOCK + TLSF_SENTINEL)
        return -HA_ETOOSMALL;
    if (e - s - TLSF_SENTINEL > TLSF_MAX_BLOCK)
        e = s + TLSF_MAX_BLOCK + TLSF_SENTINEL;
    if (region_set_overlaps(&tlsf.regions, s, e))
        return -HA_EINVAL;
    int r = region_set_add(&tlsf.regions, s, e);
    if (r < 0)
        return r;
    struct tlsf_block *first = (struct tlsf_block *)s;
    struct tlsf_block *sentinel = (struct tlsf_block *)(e - TLSF_SENTINEL);
    first->size_flags = e - TLSF_SENTINEL - s;
    sentinel->size_flags = 0;
    release(first);
    return 0;
}

/* ---- the backend ---------------------------------------------------------- */

/* What the blocks and pages take: managed bytes less free ones (headers
 * and rounding included), for the held figures of locked_stats. */
static size_t tlsf_held(void)
{
    return region_set_bytes(&tlsf.regions) - tlsf.free_bytes;
}

static int tlsf_init(void *start, size_t size, unsigned ncpu, unsigned flags)
{
    __builtin_memset(&tlsf, 0, sizeof tlsf);
    int r = locked_stats_init(&tlsf.stats, ncpu, tlsf_held);
    return r ? r : add_region(start, size);
}

static int tlsf_add_memory(void *start, size_t size, unsigned flags)
{
    unsigned long irq = ha_spin_lock_irqsave(&tlsf.lock);
    int r = add_region(start, size);
    ha_spin_unlock_irqrestore(&tlsf.lock, irq);
    return r;
}

static void *tlsf_alloc(size_t size, size_t align)
{
    if (size > TLSF_MAX_REQUEST)
        return 0;
    unsigned long irq = ha_spin_lock_irqsave(&tlsf.lock);
    unsigned cpu = locked_stats_cpu(&tlsf.stats);
    struct tlsf_block *b = alloc_locked(record_request(size), align, 0);
    if (b) {
        record_set(payload_of(b), size, usable(b));
        locked_stats_alloc(&tlsf.stats, cpu, reported(b));
    }
    ha_spin_unlock_irqrestore(&tlsf.lock, irq);
    return b ? payload_of(b) : 0;
}

/* The block a free of ptr releases, once the checked build's checks pass.
 * Call with the lock held. */
static struct tlsf_block *block_to_free(const void *ptr, size_t size, size_t align)
{
    struct tlsf_block *b = live_block(ptr, 0);
#ifdef HA_CHECKED
    record_verify(ptr, usable(b), "tlsf");
    if (align && (reported(b) != size || (uintptr_t)ptr % align)) /* a known layout must match */
        ha_fault(ptr, "tlsf: dealloc with a size or alignment the block was not allocated with");
#else
    (void)size, (void)align;
#endif
    return b;
}

static void tlsf_dealloc(void *ptr, size_t size, size_t align)
{
    unsigned long irq = ha_spin_lock_irqsave(&tlsf.lock);
    unsigned cpu = locked_stats_cpu(&tlsf.stats);
    struct tlsf_block *b = block_to_free(ptr, size, align);
    locked_stats_free(&tlsf.stats, cpu, reported(b));
    release(b);
    ha_spin_unlock_irqrestore(&tlsf.lock, irq);
}

/* The checks of a free, without it (the quarantine's). */
static void tlsf_verify_free(const void *ptr, size_t size, size_t align)
{
    unsigned long irq = ha_spin_lock_irqsave(&tlsf.lock);
    block_to_free(ptr, size, align);
    ha_spin_unlock_irqrestore(&tlsf.lock, irq);
}

static void *tlsf_realloc(void *ptr, size_t old_size, size_t align, size_t new_size)
{
    if (new_size > TLSF_MAX_REQUEST)
        return 0;
    unsigned long irq = ha_spin_lock_irqsave(&tlsf.lock);
    unsigned cpu = locked_stats_cpu(&tlsf.stats);
    struct tlsf_block *b = live_block(ptr, 0);
    record_verify(ptr, usable(b), "tlsf");
    size_t old_usable = reported(b);
    bool in_place = resize_locked(b, block_size_for(record_request(new_size)));
    if (in_place) {
        record_set(ptr, new_size, usable(b));
        locked_stats_resize(&tlsf.stats, cpu, old_usable, reported(b));
    }
    ha_spin_unlock_irqrestore(&tlsf.lock, irq);
    if (in_place)
        return ptr;
    /* Move: the lock is not held across the copy. */
    void *fresh = tlsf_alloc(new_size, align);
    if (!fresh)
        return 0;
    __builtin_memcpy(fresh, ptr, old_usable < new_size ? old_usable : new_size);
    tlsf_dealloc(ptr, 0, 0);
    return fresh;
}

static size_t tlsf_usable_size(const void *ptr)
{
    unsigned long irq = ha_spin_lock_irqsave(&tlsf.lock);
    size_t n = reported(live_block(ptr, 0));
    ha_spin_unlock_irqrestore(&tlsf.lock, irq);
    return n;
}

static void *tlsf_alloc_pages(size_t num_pages, size_t align)
{
    if (num_pages > TLSF_MAX_REQUEST / HA_PAGE_SIZE)
        return 0;
    unsigned long irq = ha_spin_lock_irqsave(&tlsf.lock);
    unsigned cpu = locked_stats_cpu(&tlsf.stats);
    struct tlsf_block *b = alloc_locked(num_pages * HA_PAGE_SIZE, align, PAGES);
    if (b)
        locked_stats_pages(&tlsf.stats, cpu, num_pages, +1);
    ha_spin_unlock_irqrestore(&tlsf.lock, irq);
    return b ? payload_of(b) : 0;
}

static void tlsf_dealloc_pages(void *addr, size_t num_pages)
{
    unsigned long irq = ha_spin_lock_irqsave(&tlsf.lock);
    unsigned cpu = locked_stats_cpu(&tlsf.stats);
    struct tlsf_block *b = live_block(addr, PAGES);
#ifdef HA_CHECKED
    if (usable(b) / HA_PAGE_SIZE < num_pages)
        ha_fault(addr, "tlsf: dealloc_pages with more pages than were allocated");
#endif
    locked_stats_pages(&tlsf.stats, cpu, num_pages, -1);
    release(b);
    ha_spin_unlock_irqrestore(&tlsf.lock, irq);
}

static void tlsf_usage(struct ha_usage *out)
{
    unsigned long irq = ha_spin_lock_irqsave(&tlsf.lock);
    locked_stats_usage(&tlsf.stats, out);
    out->available_bytes = tlsf.free_bytes;
    /* Page-equivalents of free memory: exact pages need a 4 KiB-aligned run. */
    out->available_pages = tlsf.free_bytes / HA_PAGE_SIZE;
    ha_spin_unlock_irqrestore(&tlsf.lock, irq);
}

static int tlsf_get_stats(unsigned cpu, struct ha_stats *out)
{
    unsigned long irq = ha_spin_lock_irqsave(&tlsf.lock);
    int r = locked_stats_get(&tlsf.stats, cpu, out);
    ha_spin_unlock_irqrestore(&tlsf.lock, irq);
    return r;
}

/* Walk every region block by block, then every list. */
static int check_locked(void)
{
    size_t free_bytes = 0, free_blocks = 0, used_bytes = 0;
    for (unsigned i = 0; i < tlsf.regions.count; i++) {
        const struct region *r = &tlsf.regions.r[i];
        const struct tlsf_block *sentinel = (const struct tlsf_block *)(r->end - TLSF_SENTINEL);
        const struct tlsf_block *b = (const struct tlsf_block *)r->start;
        bool prev_free = false;
        if (b->size_flags & PREV_FREE)
            return ha_check_fail("tlsf: first block of region %u has PREV_FREE", i);
        while (b != sentinel) {
            size_t size = block_size(b);
            if (size < TLSF_MIN_BLOCK || size > (uintptr_t)sentinel - (uintptr_t)b)
                return ha_check_fail("tlsf: block %p has size %zu outside its region", b, size);
            if (!!(b->size_flags & PREV_FREE) != prev_free)
                return ha_check_fail("tlsf: block %p PREV_FREE disagrees with its predecessor", b);
            if (b->size_flags & FREE) {
                if (prev_free)
                    return ha_check_fail("tlsf: adjacent free blocks at %p", b);
                if (next_phys(b)->prev_phys != b)
                    return ha_check_fail("tlsf: free block %p not named by its successor's prev_phys", b);
                if (b->size_flags & PAGES)
                    return ha_check_fail("tlsf: free block %p flagged PAGES", b);
                free_bytes += size;
                free_blocks++;
            } else if (b->size_flags & PAGES) {
                if ((uintptr_t)payload_of((struct tlsf_block *)b) % HA_PAGE_SIZE)
                    return ha_check_fail("tlsf: page block %p not 4 KiB-aligned", b);
            } else {
                used_bytes += reported((struct tlsf_block *)b);
            }
            prev_free = b->size_flags & FREE;
            b = next_phys(b);
        }
        if (block_size(sentinel) != 0 || (sentinel->size_flags & FREE) ||
            !!(sentinel->size_flags & PREV_FREE) != prev_free)
            return ha_check_fail("tlsf: sentinel of region %u damaged", i);
    }
    if (free_bytes != tlsf.free_bytes || free_blocks != tlsf.free_blocks)
        return ha_check_fail("tlsf: free bytes %zu in %zu blocks, counters say %zu in %zu", free_bytes,
                             free_blocks, tlsf.free_bytes, tlsf.free_blocks);
    if (used_bytes != tlsf.stats.used_bytes)
        return ha_check_fail("tlsf: live blocks hold %zu bytes, counter says %zu", used_bytes,
                             tlsf.stats.used_bytes);
    size_t listed = 0;
    for (unsigned fl = 0; fl < TLSF_FL_COUNT; fl++) {
        if (!!(tlsf.fl_map & ((uint64_t)1 << fl)) != !!tlsf.sl_map[fl])
            return ha_check_fail("tlsf: fl bitmap bit %u disagrees with its sl bitmap", fl);
        for (unsigned sl = 0; sl < TLSF_SL_COUNT; sl++) {
            const struct tlsf_block *prev = 0;
            const struct tlsf_block *b = tlsf.heads[fl][sl];
            if (!!(tlsf.sl_map[fl] & (1u << sl)) != !!b)
                return ha_check_fail("tlsf: sl bitmap bit %u/%u disagrees with its list", fl, sl);
            for (; b; prev = b, b = b->next_free) {
                unsigned bfl, bsl;
                if (++listed > free_blocks)
                    return ha_check_fail("tlsf: more blocks on lists than free blocks (cycle?)");
                if (!region_set_find(&tlsf.regions, (uintptr_t)b) || !(b->size_flags & FREE))
                    return ha_check_fail("tlsf: list %u/%u holds %p, not a free block", fl, sl, b);
                mapping(block_size(b), &bfl, &bsl);
                if (bfl != fl || bsl != sl)
                    return ha_check_fail("tlsf: block %p of size %zu on the wrong list", b, block_size(b));
                if (b->prev_free != prev)
                    return ha_check_fail("tlsf: block %p has a broken prev_free link", b);
            }
        }
    }
    if (listed != free_blocks)
        return ha_check_fail("tlsf: %zu free blocks but %zu on lists", free_blocks, listed);
    return 0;
}

static int tlsf_check(void)
{
    unsigned long irq = ha_spin_lock_irqsave(&tlsf.lock);
    int r = check_locked();
    ha_spin_unlock_irqrestore(&tlsf.lock, irq);
    return r;
}

const struct ha_backend ha_backend_tlsf = {
    .name = "tlsf",
    .init = tlsf_init,
    .add_memory = tlsf_add_memory,
    .alloc = tlsf_alloc,
    .alloc_zeroed = 0,
    .dealloc = tlsf_dealloc,
    .realloc = tlsf_realloc,
    .usable_size = tlsf_usable_size,
    .alloc_pages = tlsf_alloc_pages,
    .dealloc_pages = tlsf_dealloc_pages,
    .usage = tlsf_usage,
    .get_stats = tlsf_get_stats,
    .check = tlsf_check,
    .quarantine = true,
    .verify_free = tlsf_verify_free,
};
