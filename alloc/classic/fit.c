/*
 * fit.c - "first-fit", "best-fit", "worst-fit": the basic allocator strategies
 * of ArceOS's allocator test harness, on one address-ordered free list.
 *
 * Memory is a sequence of blocks tiling each region; every block starts with
 * a 16-byte header { size, tag }. A free block's tag word is instead the link
 * to the next free block, so the free list costs no extra memory and is kept
 * in address order, which makes coalescing a neighbour check at insertion.
 * The three alloc_types share every line except which free block a request
 * takes (enum fit_policy): the first that fits, the smallest that fits, or the
 * largest. Alloc and free walk the list: O(free blocks) each. Pages are blocks
 * placed with 4 KiB alignment. The shared layer (locked_backend.h)
 * serialises every call.
 *
 * Invariants: the list is strictly address-ordered; no two free blocks are
 * adjacent (they would have been merged); a used block's tag is one of the two
 * magics, which are odd, so no free-list link (16-aligned or NULL) equals one.
 */
#include "backend.h"
#include "checked/free_fill.h"
#include "checked/request_record.h"
#include "locked_backend.h"
#include "region_set.h"

/* ---- derived, do not modify --------------------------------------------- */
#define FIT_ALIGN ((size_t)16)     /* block and payload granule: malloc's alignment   */
#define FIT_HEADER ((size_t)16)    /* size + tag; the payload follows                 */
#define FIT_MIN_BLOCK ((size_t)32) /* a header and a 16-byte payload                  */
/* Each region ends with an unused granule, so blocks of two regions that
 * happen to touch are never merged into one that straddles them. */
#define FIT_REGION_GUARD FIT_ALIGN
#define FIT_MAX_REQUEST (((size_t)-1) / 4)
#define TAG_BYTES ((uintptr_t)0x6861666974627931ull) /* "hafitby1": an ha_alloc block */
#define TAG_PAGES ((uintptr_t)0x6861666974706731ull) /* "hafitpg1": an alloc_pages run */

_Static_assert(TAG_BYTES & 1 && TAG_PAGES & 1, "tags are odd: never a free-list link");
_Static_assert(FIT_MIN_BLOCK >= FIT_HEADER + FIT_ALIGN, "a block holds its header and a granule");

enum fit_policy { FIRST_FIT, BEST_FIT, WORST_FIT };

/* A block header. In a free block, `next` links the free list. */
struct fit_block {
    size_t size; /* whole block, header included; a multiple of 16 */
    union {
        uintptr_t tag;          /* used: TAG_BYTES or TAG_PAGES */
        struct fit_block *next; /* free: the next free block by address */
    };
};

static struct {
    enum fit_policy policy;
    struct fit_block *free_list; /* lowest address first */
    size_t free_bytes;           /* sum of free block sizes */
    size_t free_blocks;
    struct region_set regions;
} fit;

static inline uintptr_t end_of(const struct fit_block *b) { return (uintptr_t)b + b->size; }
static inline struct fit_block *block_of(const void *payload) { return (struct fit_block *)((char *)payload - FIT_HEADER); }
static inline void *payload_of(struct fit_block *b) { return (char *)b + FIT_HEADER; }
static inline size_t usable(const struct fit_block *b) { return b->size - FIT_HEADER; }
/* Usable size as reported and counted: the request in checked builds. */
static inline size_t reported(const struct fit_block *b) { return record_size((const char *)b + FIT_HEADER, usable(b), "fit"); }

static inline size_t block_size_for(size_t n)
{
    size_t size = ha_align_up(n + FIT_HEADER, FIT_ALIGN);
    return size < FIT_MIN_BLOCK ? FIT_MIN_BLOCK : size;
}

/* The link to the free block after f. Checked builds validate it before it
 * is followed (higher, 16-aligned, inside a region), and fill the body of
 * every free block past its header (free_fill.h). */
static inline struct fit_block **next_link(struct fit_block *f)
{
#ifdef HA_CHECKED
    struct fit_block *next = f->next;
    if (next && ((uintptr_t)next <= (uintptr_t)f || (uintptr_t)next % FIT_ALIGN ||
                 !region_set_find(&fit.regions, (uintptr_t)next)))
        ha_fault((char *)f + FIT_HEADER, "fit: free list link corrupted (it holds %p)", next);
#endif
    return &f->next;
}

#ifdef HA_CHECKED
static inline uint8_t *fill_start(struct fit_block *f) { return (uint8_t *)f + FIT_HEADER; }
static inline size_t fill_len(const struct fit_block *f) { return free_fill_len(f->size - FIT_HEADER); }
#endif

/* Where a block of `size` with an `align`-aligned payload would start inside
 * free block f, or 0 if it does not fit. A leading remainder must be able to
 * stand as a free block, so a too-small one moves the start one step on. */
static uintptr_t place(const struct fit_block *f, size_t size, size_t align)
{
    uintptr_t at = ha_align_up((uintptr_t)f + FIT_HEADER, align) - FIT_HEADER;
    if (at != (uintptr_t)f && at - (uintptr_t)f < FIT_MIN_BLOCK)
        at = ha_align_up((uintptr_t)f + FIT_MIN_BLOCK + FIT_HEADER, align) - FIT_HEADER;
    return at < end_of(f) && end_of(f) - at >= size ? at : 0;
}

/* Put [start, start + size) on the free list, merging with the free blocks
 * just before and after it. O(free blocks): the walk finds its place. */
static void give_back(uintptr_t start, size_t size)
{
    struct fit_block **link = &fit.free_list;
    struct fit_block *prev = 0;
    while (*link && (uintptr_t)*link < start) {
        prev = *link;
        link = next_link(prev);
    }
    struct fit_block *next = *link;
#ifdef HA_CHECKED
    if ((prev && end_of(prev) > start) || (next && start + size > (uintptr_t)next))
        ha_fault((void *)(start + FIT_HEADER), "fit: double free (block overlaps free memory)");
#endif
    struct fit_block *b = (struct fit_block *)start;
    b->size = size;
    fit.free_bytes += size;
    fit.free_blocks++;
    if (next && start + size == (uintptr_t)next) {
        b->size += next->size;
        next = next->next;
        fit.free_blocks--;
    }
    b->next = next;
    if (prev && end_of(prev) == start) {
        prev->size += b->size;
        prev->next = b->next;
        fit.free_blocks--;
        b = prev;
    } else {
        *link = b;
    }
#ifdef HA_CHECKED
    free_fill(fill_start(b), fill_len(b));
#endif
}

/* A new region (locked_ops.add_region) goes on the free list whole, less
 * its guard. */
static int add_region(void *start, size_t size, unsigned flags)
{
    uintptr_t s, e;
    int r = region_span(start, size, FIT_ALIGN, FIT_MIN_BLOCK + FIT_REGION_GUARD, &s, &e);
    if (r)
        return r;
    if (region_set_overlaps(&fit.regions, s, e)) /* the guard too */
        return -HA_EINVAL;
    r = region_set_add(&fit.regions, s, e - FIT_REGION_GUARD);
    if (r < 0)
        return r;
    give_back(s, e - FIT_REGION_GUARD - s);
    return 0;
}

/* The link to the free block the policy picks for the request, or NULL. */
static struct fit_block **choose(size_t size, size_t align)
{
    struct fit_block **chosen = 0;
    for (struct fit_block **link = &fit.free_list; *link; link = next_link(*link)) {
        struct fit_block *f = *link;
        if (!place(f, size, align))
            continue;
        if (fit.policy == FIRST_FIT)
            return link;
        if (!chosen || (fit.policy == BEST_FIT ? f->size < (*chosen)->size : f->size > (*chosen)->size))
            chosen = link;
        if (fit.policy == BEST_FIT && f->size == size)
            break; /* nothing fits better than exactly */
    }
    return chosen;
}

/* Carve a block of `size` at `at` out of the free block *link. */
static struct fit_block *carve(struct fit_block **link, uintptr_t at, size_t size, uintptr_t tag)
{
    struct fit_block *f = *link;
    uintptr_t f_end = end_of(f);
    if (f_end - at - size < FIT_MIN_BLOCK)
        size = f_end - at; /* a remainder too small to stand alone stays inside */
    fit.free_bytes -= size;
    struct fit_block *after = f->next;
    if (f_end > at + size) {
        struct fit_block *tail = (struct fit_block *)(at + size);
        tail->size = f_end - (at + size);
        tail->next = after;
#ifdef HA_CHECKED
        free_fill(fill_start(tail), fill_len(tail));
#endif
        after = tail;
        fit.free_blocks++;
    }
    if (at == (uintptr_t)f) {
        *link = after;
        fit.free_blocks--;
    } else {
        f->size = at - (uintptr_t)f;
        f->next = after;
    }
    struct fit_block *b = (struct fit_block *)at;
    b->size = size;
    b->tag = tag;
    return b;
}

/* A new block of n bytes tagged tag, with an align-aligned payload; NULL
 * when no free block fits. */
static struct fit_block *alloc_locked(size_t n, size_t align, uintptr_t tag)
{
    if (n > FIT_MAX_REQUEST || align > FIT_MAX_REQUEST)
        return 0;
    size_t size = block_size_for(n);
    struct fit_block **link = choose(size, align);
    if (!link)
        return 0;
    uintptr_t at = place(*link, size, align);
#ifdef HA_CHECKED
    if (at == (uintptr_t)*link)
        free_fill_verify(fill_start(*link), fill_start(*link), fill_len(*link), "fit");
#endif
    return carve(link, at, size, tag);
}

static void free_locked(struct fit_block *b)
{
    b->tag = 0; /* a stale header must not pass for a live one */
    give_back((uintptr_t)b, b->size);
}

static struct fit_block *live_block(const void *ptr, uintptr_t tag)
{
    struct fit_block *b = block_of(ptr);
#ifdef HA_CHECKED
    const struct region *r = region_set_verify_block(&fit.regions, ptr, b, FIT_ALIGN, "fit");
    if (b->tag != tag)
        ha_fault(ptr, tag == TAG_PAGES ? "fit: not the start of a live page allocation (double free?)"
                                       : "fit: not the start of a live block (interior pointer or double free?)");
    if (b->size < FIT_MIN_BLOCK || b->size % FIT_ALIGN || b->size > r->end - (uintptr_t)b)
        ha_fault(ptr, "fit: block header damaged");
#else
    (void)tag;
#endif
    return b;
}

/* ---- the backend's ops (locked_backend.h), run with the lock held -------- */

static void *alloc_bytes(size_t n, size_t align, size_t *usable_out)
{
    struct fit_block *b = alloc_locked(n, align < FIT_ALIGN ? FIT_ALIGN : align, TAG_BYTES);
    if (!b)
        return 0;
    *usable_out = usable(b);
    return payload_of(b);
}

/* Pages are blocks tagged TAG_PAGES, at a 4 KiB-aligned payload. */
static void *alloc_pages(size_t num_pages, size_t align)
{
    struct fit_block *b = alloc_locked(num_pages * HA_PAGE_SIZE, align, TAG_PAGES);
    return b ? payload_of(b) : 0;
}

static struct locked_block live_bytes(const void *ptr)
{
    struct fit_block *b = live_block(ptr, TAG_BYTES);
    return (struct locked_block){ .desc = b, .usable = usable(b) };
}

static void release_bytes(void *ptr, const struct locked_block *lb) { free_locked(lb->desc); }

static void free_pages(void *addr, size_t num_pages)
{
    struct fit_block *b = live_block(addr, TAG_PAGES);
    locked_verify_page_count("fit", addr, usable(b), num_pages);
    free_locked(b);
}

/* Resize a used block in place: shrink by freeing its tail, grow into the
 * free block right after it. */
static bool resize_bytes(void *ptr, struct locked_block *lb, size_t n, size_t align)
{
    struct fit_block *b = lb->desc;
    size_t size = block_size_for(n);
    if (size > b->size) {
        struct fit_block **link = &fit.free_list;
        while (*link && (uintptr_t)*link < end_of(b))
            link = next_link(*link);
        struct fit_block *next = *link;
        if (!next || (uintptr_t)next != end_of(b) || b->size + next->size < size)
            return false;
#ifdef HA_CHECKED
        free_fill_verify(fill_start(next), fill_start(next), fill_len(next), "fit");
#endif
        *link = next->next;
        fit.free_blocks--;
        fit.free_bytes -= next->size;
        b->size += next->size;
    }
    if (b->size - size >= FIT_MIN_BLOCK) {
        uintptr_t tail = (uintptr_t)b + size;
        size_t tail_size = b->size - size;
        b->size = size;
        give_back(tail, tail_size);
    }
    lb->usable = usable(b);
    return true;
}

/* Walk every region block by block, matching free blocks against the list
 * in order: one pass checks tiling, order, coalescing and the counters. */
static int check_locked(const struct locked_stats *stats)
{
    size_t free_bytes = 0, free_blocks = 0, used_bytes = 0;
    const struct fit_block *expect_free = fit.free_list;
    uintptr_t last = 0;
    for (const struct fit_block *f = fit.free_list; f; f = f->next) {
        if ((uintptr_t)f <= last)
            return ha_check_fail("fit: free list not in address order at %p", f);
        if (!region_set_contains(&fit.regions, (uintptr_t)f, f->size) || f->size < FIT_MIN_BLOCK ||
            f->size % FIT_ALIGN)
            return ha_check_fail("fit: free block %p of size %zu outside a region", f, f->size);
        if (f->next && end_of(f) == (uintptr_t)f->next)
            return ha_check_fail("fit: adjacent free blocks %p and %p not merged", f, f->next);
        last = (uintptr_t)f;
    }
    /* Regions may have been added in any address order; the list is global,
     * so visit them lowest first. */
    uintptr_t done = 0;
    for (unsigned n = 0; n < fit.regions.count; n++) {
        const struct region *r = 0;
        for (unsigned i = 0; i < fit.regions.count; i++)
            if (fit.regions.r[i].start >= done && (!r || fit.regions.r[i].start < r->start))
                r = &fit.regions.r[i];
        done = r->end;
        for (uintptr_t a = r->start; a != r->end;) {
            const struct fit_block *b = (const struct fit_block *)a;
            if (b->size < FIT_MIN_BLOCK || b->size % FIT_ALIGN || b->size > r->end - a)
                return ha_check_fail("fit: block %p has size %zu outside its region", b, b->size);
            if (b == expect_free) {
                free_bytes += b->size;
                free_blocks++;
                expect_free = b->next;
            } else if (b->tag == TAG_BYTES) {
                used_bytes += reported(b);
            } else if (b->tag == TAG_PAGES) {
                if ((uintptr_t)b % HA_PAGE_SIZE != HA_PAGE_SIZE - FIT_HEADER)
                    return ha_check_fail("fit: page block %p not 4 KiB-aligned", b);
            } else {
                return ha_check_fail("fit: block %p is neither free nor tagged", b);
            }
            a += b->size;
        }
    }
    if (expect_free)
        return ha_check_fail("fit: free block %p not met walking the regions", expect_free);
    if (free_bytes != fit.free_bytes || free_blocks != fit.free_blocks)
        return ha_check_fail("fit: free bytes %zu in %zu blocks, counters say %zu in %zu", free_bytes,
                             free_blocks, fit.free_bytes, fit.free_blocks);
    return locked_check_used_bytes("fit", stats, used_bytes);
}

/* ---- the three alloc_types: identical but for the policy ------------------ */

/* The bytes blocks and pages take: managed less free (headers and rounding
 * included); ha_stats.bytes_held. */
static size_t held_bytes(void)
{
    return region_set_bytes(&fit.regions) - fit.free_bytes;
}

LOCKED_ENTRY_POINTS(fit, alloc_bytes, release_bytes,
                    .name = "fit", .max_request = FIT_MAX_REQUEST, .state = &fit, .state_size = sizeof fit,
                    .add_region = add_region, .live_block = live_bytes, .resize = resize_bytes, .alloc_pages = alloc_pages,
                    .free_pages = free_pages, .free_bytes = &fit.free_bytes, .held = held_bytes, .check = check_locked)

static int init_with(enum fit_policy policy, void *start, size_t size, unsigned ncpu, unsigned flags)
{
    int r = fit_init(start, size, ncpu, flags);
    fit.policy = policy; /* after the layer's init, which clears fit */
    return r;
}

static int first_fit_init(void *start, size_t size, unsigned ncpu, unsigned flags) { return init_with(FIRST_FIT, start, size, ncpu, flags); }
static int best_fit_init(void *start, size_t size, unsigned ncpu, unsigned flags) { return init_with(BEST_FIT, start, size, ncpu, flags); }
static int worst_fit_init(void *start, size_t size, unsigned ncpu, unsigned flags) { return init_with(WORST_FIT, start, size, ncpu, flags); }

const struct ha_backend ha_backend_first_fit = LOCKED_BACKEND_TABLE("first-fit", fit, first_fit_init, true);
const struct ha_backend ha_backend_best_fit = LOCKED_BACKEND_TABLE("best-fit", fit, best_fit_init, true);
const struct ha_backend ha_backend_worst_fit = LOCKED_BACKEND_TABLE("worst-fit", fit, worst_fit_init, true);
