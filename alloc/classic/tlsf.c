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
 * use. The shared layer (locked_backend.h) serialises every call.
 */
#include "backend.h"
#include "checked/free_fill.h"
#include "checked/request_record.h"
#include "locked_backend.h"
#include "region_set.h"

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
    uint64_t fl_map;                    /* bit fl: sl_map[fl] != 0            */
    uint32_t sl_map[TLSF_FL_COUNT];     /* bit sl: heads[fl][sl] != NULL      */
    struct tlsf_block *heads[TLSF_FL_COUNT][TLSF_SL_COUNT];
    size_t free_bytes;                  /* sum of free block sizes            */
    size_t free_blocks;
    struct region_set regions;
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

/* The block of a pointer handed to dealloc/realloc/usable_size. The checked
 * build verifies the tag: 16-aligned, inside a region, used, of a sane size
 * and agreeing with its physical successor. */
static struct tlsf_block *live_block(const void *ptr, size_t want_flags)
{
    struct tlsf_block *b = block_of(ptr);
#ifdef HA_CHECKED
    const struct region *r = region_set_verify_block(&tlsf.regions, ptr, b, TLSF_ALIGN, "tlsf");
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

/* ---- the backend's ops (locked_backend.h), run with the lock held -------- */

static int add_region(void *start, size_t size, unsigned flags)
{
    uintptr_t s, e;
    int r = region_span(start, size, TLSF_ALIGN, TLSF_MIN_BLOCK + TLSF_SENTINEL, &s, &e);
    if (r)
        return r;
    if (e - s - TLSF_SENTINEL > TLSF_MAX_BLOCK)
        e = s + TLSF_MAX_BLOCK + TLSF_SENTINEL;
    r = region_set_add(&tlsf.regions, s, e);
    if (r < 0)
        return r;
    struct tlsf_block *first = (struct tlsf_block *)s;
    struct tlsf_block *sentinel = (struct tlsf_block *)(e - TLSF_SENTINEL);
    first->size_flags = e - TLSF_SENTINEL - s;
    sentinel->size_flags = 0;
    release(first);
    return 0;
}

static void *alloc_bytes(size_t n, size_t align, size_t *usable_out)
{
    struct tlsf_block *b = alloc_locked(n, align, 0);
    if (!b)
        return 0;
    *usable_out = usable(b);
    return payload_of(b);
}

static struct locked_block live_bytes(const void *ptr)
{
    struct tlsf_block *b = live_block(ptr, 0);
    return (struct locked_block){ .desc = b, .usable = usable(b) };
}

static void release_bytes(void *ptr, const struct locked_block *lb) { release(lb->desc); }

/* Grow or shrink a used block in place; false when the next block cannot
 * supply the missing bytes. */
static bool resize_bytes(void *ptr, struct locked_block *lb, size_t n, size_t align)
{
    struct tlsf_block *b = lb->desc;
    size_t size = block_size_for(n);
    if (size > block_size(b)) {
        struct tlsf_block *next = next_phys(b);
        if (!(next->size_flags & FREE) || block_size(b) + block_size(next) < size)
            return false;
        claim(next);
        set_size(b, block_size(b) + block_size(next));
    }
    trim(b, size);
    lb->usable = usable(b);
    return true;
}

/* Pages are blocks flagged PAGES, placed through the aligned path. */
static void *alloc_pages(size_t num_pages, size_t align)
{
    struct tlsf_block *b = alloc_locked(num_pages * HA_PAGE_SIZE, align, PAGES);
    return b ? payload_of(b) : 0;
}

static void free_pages(void *addr, size_t num_pages)
{
    struct tlsf_block *b = live_block(addr, PAGES);
    locked_verify_page_count("tlsf", addr, usable(b), num_pages);
    release(b);
}

/* Walk every region block by block, then every list. */
static int check_locked(const struct locked_stats *stats)
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
    if (locked_check_used_bytes("tlsf", stats, used_bytes))
        return -1;
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

/* The bytes blocks and pages take: managed less free (headers and rounding
 * included); ha_stats.bytes_held. */
static size_t held_bytes(void)
{
    return region_set_bytes(&tlsf.regions) - tlsf.free_bytes;
}

LOCKED_BACKEND(tlsf, "tlsf", true, alloc_bytes, release_bytes,
               .name = "tlsf", .max_request = TLSF_MAX_REQUEST, .state = &tlsf, .state_size = sizeof tlsf,
               .add_region = add_region, .live_block = live_bytes, .resize = resize_bytes, .alloc_pages = alloc_pages,
               .free_pages = free_pages, .free_bytes = &tlsf.free_bytes, .held = held_bytes, .check = check_locked)
