/*
 * buddy.c - "buddy": a binary buddy allocator (Knowlton 1965, as in Linux's
 * page allocator, down to 32-byte blocks).
 *
 * Every block has a power-of-two size 2^order and is aligned to it (in
 * absolute addresses, so any alignment up to the block size comes free). Its
 * buddy is at address ^ 2^order; a freed block merges with its buddy while the
 * buddy is free and of the same order, and an allocation splits a larger free
 * block in halves down to the order it needs. One free list per order and a
 * bitmap of non-empty orders: alloc and free are O(orders), at most
 * BUDDY_MAX_ORDER - BUDDY_MIN_ORDER steps.
 *
 * The order map: each region keeps one byte per 32-byte granule, set at every
 * block start to the block's state (free, bytes, pages) and order, zero
 * elsewhere (Linux keeps the same in struct page). Free finds a block's order
 * there, so ha_free needs no size and a caller's wrong size cannot corrupt the
 * heap; merging reads the buddy's byte to know it is free and whole. Blocks
 * themselves carry no header: per-block overhead is the rounding to a power
 * of two plus the map's 1/32.
 *
 * Pages: alloc_pages takes a block of the covering order and gives back the
 * tail beyond num_pages at once (Linux's alloc_pages_exact); the pages kept
 * are marked as a run of maximal aligned pieces, and dealloc_pages frees the
 * same pieces. The shared layer (locked_backend.h) serialises every call.
 */
#include "backend.h"
#include "checked/free_fill.h"
#include "checked/request_record.h"
#include "locked_backend.h"
#include "region_set.h"

/* ---- tunable ------------------------------------------------------------- */
#define BUDDY_MIN_ORDER 5  /* 32-byte blocks; the order map costs 1 byte per 2^5 */
#define BUDDY_MAX_ORDER 40 /* 1 TiB blocks; larger regions are carved in pieces  */

/* ---- derived, do not modify --------------------------------------------- */
#define BUDDY_PAGE_ORDER 12
#define BUDDY_GRANULE ((uintptr_t)1 << BUDDY_MIN_ORDER)
#define ORDER_MASK 0x3fu /* map byte: bits 0-5 the order ...                  */
#define STATE_SHIFT 6    /* ... bits 6-7 the state                            */
#define STATE_NONE 0u    /* not a block start                                 */
#define STATE_FREE 1u
#define STATE_BYTES 2u   /* an ha_alloc block                                 */
#define STATE_PAGES 3u   /* one piece of an alloc_pages run                    */
#define ENTRY(state, order) ((uint8_t)((state) << STATE_SHIFT | (order)))
/* The largest request: it and its checked-build record fill the largest block. */
#define BUDDY_MAX_REQUEST (((size_t)1 << BUDDY_MAX_ORDER) - RECORD_PAD)

_Static_assert(BUDDY_MIN_ORDER >= 4, "a free block holds its two list links");
_Static_assert(BUDDY_MIN_ORDER <= BUDDY_PAGE_ORDER, "pages are whole blocks");
_Static_assert(BUDDY_MAX_ORDER <= ORDER_MASK && BUDDY_MAX_ORDER < 63, "orders fit the map byte and a shift");

struct buddy_free {
    struct buddy_free *next, *prev;
};

static struct {
    uint64_t nonempty;                          /* bit k: heads[k] != NULL      */
    struct buddy_free *heads[BUDDY_MAX_ORDER + 1];
    size_t counts[BUDDY_MAX_ORDER + 1];         /* blocks on each list          */
    size_t free_bytes;
    struct region_set regions;
    uint8_t *maps[HA_MAX_REGIONS];              /* order map of regions.r[i]    */
    uintptr_t first[HA_MAX_REGIONS];            /* its first block, after the map */
} buddy;

static inline uintptr_t order_size(unsigned k) { return (uintptr_t)1 << k; }
static inline unsigned entry_state(uint8_t e) { return e >> STATE_SHIFT; }
static inline unsigned entry_order(uint8_t e) { return e & ORDER_MASK; }
static inline unsigned floor_log2(uintptr_t x) { return 63u - (unsigned)__builtin_clzll(x); }
static inline unsigned ceil_log2(uintptr_t x) { return x <= 1 ? 0 : 64u - (unsigned)__builtin_clzll(x - 1); }

/* A region spans its map and its blocks, so overlap checks see both; the
 * map's own granules have bytes that stay zero. */
static inline uintptr_t first_of(const struct region *r) { return buddy.first[r - buddy.regions.r]; }

/* The map byte of the block starting at addr inside region r. */
static inline uint8_t *entry_of(const struct region *r, uintptr_t addr)
{
    return &buddy.maps[r - buddy.regions.r][(addr - r->start) >> BUDDY_MIN_ORDER];
}

#ifdef HA_CHECKED
/* Checked builds: a free block's links are validated before they are
 * followed, and its body past the links carries the fill (free_fill.h). */
static void check_link(uintptr_t addr, const struct buddy_free *link, unsigned k)
{
    const struct region *r = link ? region_set_find(&buddy.regions, (uintptr_t)link) : 0;
    if (link && (!r || (uintptr_t)link % BUDDY_GRANULE || (uintptr_t)link < first_of(r) ||
                 *entry_of(r, (uintptr_t)link) != ENTRY(STATE_FREE, k)))
        ha_fault((void *)addr, "buddy: free list link corrupted (it holds %p): was the block written after it was freed?",
                 link);
}

static inline size_t fill_len(unsigned k) { return free_fill_len(order_size(k) - sizeof(struct buddy_free)); }
#endif

static void push(const struct region *r, uintptr_t addr, unsigned k)
{
    struct buddy_free *f = (struct buddy_free *)addr;
#ifdef HA_CHECKED
    free_fill(f + 1, fill_len(k));
#endif
    f->next = buddy.heads[k];
    f->prev = 0;
    if (f->next)
        f->next->prev = f;
    buddy.heads[k] = f;
    buddy.nonempty |= (uint64_t)1 << k;
    buddy.counts[k]++;
    buddy.free_bytes += order_size(k);
    *entry_of(r, addr) = ENTRY(STATE_FREE, k);
}

/* Unlink a free block; the caller rewrites its map byte. */
static void unlink_free(uintptr_t addr, unsigned k)
{
    struct buddy_free *f = (struct buddy_free *)addr;
#ifdef HA_CHECKED
    check_link(addr, f->next, k);
    check_link(addr, f->prev, k);
#endif
    if (f->next)
        f->next->prev = f->prev;
    if (f->prev)
        f->prev->next = f->next;
    else
        buddy.heads[k] = f->next;
    if (!buddy.heads[k])
        buddy.nonempty &= ~((uint64_t)1 << k);
    buddy.counts[k]--;
    buddy.free_bytes -= order_size(k);
}

/* The buddy of the order-k block at addr, if it lies inside region r. */
static inline bool buddy_in_region(const struct region *r, uintptr_t addr, unsigned k, uintptr_t *out)
{
    uintptr_t b = addr ^ order_size(k);
    *out = b;
    return b >= first_of(r) && b < r->end && r->end - b >= order_size(k);
}

/* Free the order-k block at addr, merging it with free buddies. */
static void free_block(const struct region *r, uintptr_t addr, unsigned k)
{
    uintptr_t mate;
    *entry_of(r, addr) = 0;
    while (k < BUDDY_MAX_ORDER && buddy_in_region(r, addr, k, &mate) &&
           *entry_of(r, mate) == ENTRY(STATE_FREE, k)) {
        unlink_free(mate, k);
        *entry_of(r, mate) = 0;
        addr &= ~order_size(k);
        k++;
    }
    push(r, addr, k);
}

/* An order-k block marked with `state`, split from the smallest free block
 * that is large enough; 0 when there is none. */
static uintptr_t alloc_block(unsigned k, unsigned state)
{
    uint64_t candidates = buddy.nonempty & (~(uint64_t)0 << k);
    if (!candidates)
        return 0;
    unsigned j = (unsigned)__builtin_ctzll(candidates);
    uintptr_t addr = (uintptr_t)buddy.heads[j];
    const struct region *r = region_set_find(&buddy.regions, addr);
#ifdef HA_CHECKED
    free_fill_verify((void *)addr, (struct buddy_free *)addr + 1, fill_len(j), "buddy");
#endif
    unlink_free(addr, j);
    while (j > k) {
        j--;
        push(r, addr + order_size(j), j);
    }
    *entry_of(r, addr) = ENTRY(state, k);
    return addr;
}

/* Split [addr, addr + len) into maximal aligned power-of-two pieces, the
 * shape both page marking and page freeing use. Returns the next piece's
 * order and advances nothing: the caller steps by order_size(). */
static inline unsigned piece_order(uintptr_t addr, uintptr_t end)
{
    unsigned k = (unsigned)__builtin_ctzll(addr);
    unsigned fit = floor_log2(end - addr);
    k = k < fit ? k : fit;
    return k < BUDDY_MAX_ORDER ? k : BUDDY_MAX_ORDER;
}

static void mark_run(const struct region *r, uintptr_t addr, uintptr_t end, unsigned state)
{
    for (unsigned k; addr < end; addr += order_size(k)) {
        k = piece_order(addr, end);
        *entry_of(r, addr) = ENTRY(state, k);
    }
}

static void free_run(const struct region *r, uintptr_t addr, uintptr_t end)
{
    for (unsigned k; addr < end; addr += order_size(k)) {
        k = piece_order(addr, end);
        free_block(r, addr, k);
    }
}

/* The order a byte request takes: its size and alignment, rounded up. */
static inline unsigned order_for(size_t n, size_t align)
{
    unsigned k = ceil_log2(n > align ? n : align);
    return k < BUDDY_MIN_ORDER ? BUDDY_MIN_ORDER : k;
}

/* Resize an ha_alloc block in place: shrinking hands upper halves back,
 * growing absorbs upper buddies that are free; false if one is not. */
static bool resize_locked(const struct region *r, uintptr_t addr, unsigned k, unsigned want)
{
    uintptr_t mate;
    for (unsigned j = k; j < want; j++)
        if ((addr & order_size(j)) || !buddy_in_region(r, addr, j, &mate) ||
            *entry_of(r, mate) != ENTRY(STATE_FREE, j))
            return false;
    for (; k < want; k++) {
        buddy_in_region(r, addr, k, &mate);
        unlink_free(mate, k);
        *entry_of(r, mate) = 0;
    }
    for (; k > want; k--)
        push(r, addr + order_size(k - 1), k - 1);
    *entry_of(r, addr) = ENTRY(STATE_BYTES, k);
    return true;
}

/* Region and map byte of a live block. The region lookup is needed to find
 * the map anyway, so a pointer outside every region faults in every build;
 * the checked build also insists the byte names a block of the right kind. */
static const struct region *live_block(const void *ptr, unsigned state, uint8_t **entry)
{
    const struct region *r = region_set_find(&buddy.regions, (uintptr_t)ptr);
    if (!r)
        ha_fault(ptr, "buddy: not a block of this heap");
    *entry = entry_of(r, (uintptr_t)ptr);
#ifdef HA_CHECKED
    if ((uintptr_t)ptr % BUDDY_GRANULE || entry_state(**entry) != state)
        ha_fault(ptr, entry_state(**entry) == STATE_FREE ? "buddy: double free (block is free)"
                                                         : "buddy: not the start of a live block");
#else
    (void)state;
#endif
    return r;
}

/* ---- regions ------------------------------------------------------------- */

/* A region holds its order map first, then the blocks the map describes.
 * A region known to be zero (HA_MEMORY_ZEROED) already has a blank map: on
 * the host's 64 GiB reservation, clearing it would touch 2 GiB per process. */
static int add_region(void *start, size_t size, unsigned flags)
{
    uintptr_t s = (uintptr_t)start, e = s + size;
    if (e < s)
        return -HA_EINVAL;
    e = ha_align_down(e, BUDDY_GRANULE);
    if (e <= s || e - s < 2 * BUDDY_GRANULE)
        return -HA_ETOOSMALL;
    uintptr_t map_bytes = ((e - s) >> BUDDY_MIN_ORDER) + 1;
    uintptr_t a = ha_align_up(s + map_bytes, BUDDY_GRANULE);
    if (a >= e)
        return -HA_ETOOSMALL;
    int i = region_set_add(&buddy.regions, s, e);
    if (i < 0)
        return i;
    buddy.maps[i] = (uint8_t *)s;
    buddy.first[i] = a;
    if (!(flags & HA_MEMORY_ZEROED))
        __builtin_memset((void *)s, 0, map_bytes);
    free_run(&buddy.regions.r[i], a, e);
    return 0;
}

/* ---- the backend's ops (locked_backend.h), run with the lock held -------- */

static void *alloc_bytes(size_t n, size_t align, size_t *usable)
{
    if (align > order_size(BUDDY_MAX_ORDER)) /* n is at most BUDDY_MAX_REQUEST + RECORD_PAD */
        return 0;
    unsigned k = order_for(n, align);
    *usable = order_size(k);
    return (void *)alloc_block(k, STATE_BYTES);
}

static struct locked_block live_bytes(const void *ptr)
{
    uint8_t *e;
    const struct region *r = live_block(ptr, STATE_BYTES, &e);
    unsigned k = entry_order(*e);
    return (struct locked_block){ .desc = (void *)r, .usable = order_size(k), .order = k };
}

static void release_bytes(void *ptr, const struct locked_block *b) { free_block(b->desc, (uintptr_t)ptr, b->order); }

static bool resize_bytes(void *ptr, struct locked_block *b, size_t n, size_t align)
{
    unsigned want = order_for(n, align);
    if (!resize_locked(b->desc, (uintptr_t)ptr, b->order, want))
        return false;
    b->order = want;
    b->usable = order_size(want);
    return true;
}

static void *alloc_pages(size_t num_pages, size_t align)
{
    if (num_pages > (order_size(BUDDY_MAX_ORDER) >> BUDDY_PAGE_ORDER) || align > order_size(BUDDY_MAX_ORDER))
        return 0;
    uintptr_t len = num_pages << BUDDY_PAGE_ORDER;
    unsigned k = order_for(len, align);
    uintptr_t addr = alloc_block(k, STATE_PAGES);
    if (addr) {
        const struct region *r = region_set_find(&buddy.regions, addr);
        mark_run(r, addr, addr + len, STATE_PAGES);
        free_run(r, addr + len, addr + order_size(k));
    }
    return (void *)addr;
}

static void free_pages(void *addr, size_t num_pages)
{
    uint8_t *e;
    const struct region *r = live_block(addr, STATE_PAGES, &e);
    uintptr_t start = (uintptr_t)addr, end = start + (num_pages << BUDDY_PAGE_ORDER);
#ifdef HA_CHECKED
    if (end > r->end)
        ha_fault(addr, "buddy: dealloc_pages past the end of its region");
    for (uintptr_t a = start, k; a < end; a += order_size(k)) {
        k = piece_order(a, end);
        if (*entry_of(r, a) != ENTRY(STATE_PAGES, k))
            ha_fault(addr, "buddy: dealloc_pages of pages that were not allocated as one run");
    }
#endif
    free_run(r, start, end);
}

static void usage(struct ha_usage *out)
{
    out->available_bytes = buddy.free_bytes;
    out->available_pages = 0;
    for (unsigned k = BUDDY_PAGE_ORDER; k <= BUDDY_MAX_ORDER; k++)
        out->available_pages += buddy.counts[k] << (k - BUDDY_PAGE_ORDER);
}

/* Whether the n map bytes from p are all zero, a word at a time: the map
 * interior of a large free block is most of what check reads. */
static bool map_blank(const uint8_t *p, size_t n)
{
    for (; n && ((uintptr_t)p & 7); n--)
        if (*p++)
            return false;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        __builtin_memcpy(&w, p, 8);
        if (w)
            return false;
    }
    for (; n; n--)
        if (*p++)
            return false;
    return true;
}

/* Walk every region's map block by block (blocks must tile the region,
 * bytes inside a block must be zero, free buddies must have merged), then
 * every free list against the map. */
static int check_locked(const struct locked_stats *stats)
{
    size_t free_bytes = 0, used_bytes = 0, used_page_bytes = 0;
    size_t counts[BUDDY_MAX_ORDER + 1] = { 0 };
    for (unsigned i = 0; i < buddy.regions.count; i++) {
        const struct region *r = &buddy.regions.r[i];
        for (uintptr_t a = first_of(r); a < r->end;) {
            uint8_t e = *entry_of(r, a);
            unsigned k = entry_order(e), state = entry_state(e);
            uintptr_t mate;
            if (state == STATE_NONE || k < BUDDY_MIN_ORDER || k > BUDDY_MAX_ORDER || (a & (order_size(k) - 1)) ||
                r->end - a < order_size(k))
                return ha_check_fail("buddy: bad map byte 0x%x at %p", e, (void *)a);
            if (!map_blank(entry_of(r, a) + 1, (order_size(k) >> BUDDY_MIN_ORDER) - 1))
                return ha_check_fail("buddy: map byte set inside the block at %p", (void *)a);
            if (state == STATE_FREE) {
                if (k < BUDDY_MAX_ORDER && buddy_in_region(r, a, k, &mate) &&
                    *entry_of(r, mate) == ENTRY(STATE_FREE, k))
                    return ha_check_fail("buddy: free buddies %p and %p not merged", (void *)a, (void *)mate);
                counts[k]++;
                free_bytes += order_size(k);
            } else if (state == STATE_BYTES) {
#ifdef HA_CHECKED
                size_t n;
                if (!record_peek((const void *)a, order_size(k), &n))
                    return ha_check_fail("buddy: live block %p has a corrupted size record", (void *)a);
                used_bytes += n;
#else
                used_bytes += order_size(k);
#endif
            } else if (k < BUDDY_PAGE_ORDER) {
                return ha_check_fail("buddy: page piece %p smaller than a page", (void *)a);
            } else {
                used_page_bytes += order_size(k);
            }
            a += order_size(k);
        }
    }
    for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
        size_t listed = 0;
        if (!!(buddy.nonempty & ((uint64_t)1 << k)) != !!buddy.heads[k])
            return ha_check_fail("buddy: non-empty bit of order %u disagrees with its list", k);
        const struct buddy_free *prev = 0;
        for (const struct buddy_free *f = buddy.heads[k]; f; prev = f, f = f->next) {
            const struct region *r = region_set_find(&buddy.regions, (uintptr_t)f);
            if (++listed > counts[k])
                return ha_check_fail("buddy: order %u list longer than its free blocks", k);
            if (!r || *entry_of(r, (uintptr_t)f) != ENTRY(STATE_FREE, k) || f->prev != prev)
                return ha_check_fail("buddy: order %u list holds %p, not a free block of that order", k, f);
        }
        if (listed != counts[k] || counts[k] != buddy.counts[k])
            return ha_check_fail("buddy: order %u: %zu free blocks, %zu listed, counter %zu", k, counts[k], listed,
                                 buddy.counts[k]);
    }
    if (free_bytes != buddy.free_bytes || used_bytes != stats->used_bytes ||
        used_page_bytes != stats->used_pages << BUDDY_PAGE_ORDER)
        return ha_check_fail("buddy: map has %zu free / %zu used / %zu page bytes, counters %zu / %zu / %zu",
                             free_bytes, used_bytes, used_page_bytes, buddy.free_bytes, stats->used_bytes,
                             stats->used_pages << BUDDY_PAGE_ORDER);
    return 0;
}

/* The bytes blocks and pages take: managed less free (headers and rounding
 * included); ha_stats.bytes_held. */
static size_t held_bytes(void)
{
    return region_set_bytes(&buddy.regions) - buddy.free_bytes;
}

LOCKED_BACKEND(buddy, "buddy", false, alloc_bytes, release_bytes,
               .name = "buddy", .max_request = BUDDY_MAX_REQUEST, .state = &buddy, .state_size = sizeof buddy,
               .add_region = add_region, .live_block = live_bytes, .resize = resize_bytes, .alloc_pages = alloc_pages,
               .free_pages = free_pages, .usage = usage, .held = held_bytes, .check = check_locked)
