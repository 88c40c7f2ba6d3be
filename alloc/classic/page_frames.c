/*
 * page_frames.c - the bitmap page-frame allocator (see page_frames.h).
 */
#include "page_frames.h"

#include "common.h"

#define PAGE_SHIFT 12
#define WORD_BITS 64

static inline bool bit(const uint64_t *map, size_t i) { return map[i / WORD_BITS] >> (i % WORD_BITS) & 1; }

/* First index in [from, to) whose bit equals `value`, or `to`. Whole words
 * that cannot hold one are skipped at once. */
static size_t scan(const uint64_t *map, size_t from, size_t to, bool value)
{
    size_t i = from;
    while (i < to) {
        uint64_t w = value ? map[i / WORD_BITS] : ~map[i / WORD_BITS];
        w &= ~(uint64_t)0 << (i % WORD_BITS);
        if (w) {
            size_t hit = (i & ~(size_t)(WORD_BITS - 1)) + (size_t)__builtin_ctzll(w);
            return hit < to ? hit : to;
        }
        i = (i | (WORD_BITS - 1)) + 1;
    }
    return to;
}

static void set_range(uint64_t *map, size_t from, size_t n, bool value)
{
    for (size_t i = from; i < from + n; i++) {
        uint64_t m = (uint64_t)1 << (i % WORD_BITS);
        if (value)
            map[i / WORD_BITS] |= m;
        else
            map[i / WORD_BITS] &= ~m;
    }
}

void page_frames_init(struct page_frames *pf, size_t desc_size)
{
    __builtin_memset(pf, 0, sizeof *pf);
    pf->desc_size = desc_size;
}

int page_frames_add(struct page_frames *pf, void *start, size_t size, unsigned flags)
{
    uintptr_t s = ha_align_up((uintptr_t)start, 8), e = (uintptr_t)start + size;
    if (e < (uintptr_t)start)
        return -HA_EINVAL;
    if (e <= s)
        return -HA_ETOOSMALL;
    /* Pages that fit with their share of metadata (a descriptor and a bit),
     * then fewer until bitmap, descriptors and pages really fit. */
    size_t n = (size_t)((e - s) / (HA_PAGE_SIZE + pf->desc_size + 1));
    uintptr_t base = 0;
    for (; n > 0; n--) {
        uintptr_t meta = (n + WORD_BITS - 1) / WORD_BITS * 8 + n * pf->desc_size;
        base = ha_align_up(s + meta, HA_PAGE_SIZE);
        if (base < e && (e - base) >> PAGE_SHIFT >= n)
            break;
    }
    if (n == 0)
        return -HA_ETOOSMALL;
    int i = region_set_add(&pf->regions, s, e);
    if (i < 0)
        return i;
    struct page_frames_area *a = &pf->area[i];
    a->base = base;
    a->npages = n;
    a->used = (uint64_t *)s;
    a->descs = (unsigned char *)s + (n + WORD_BITS - 1) / WORD_BITS * 8;
    a->lowest_free = 0;
    if (!(flags & HA_MEMORY_ZEROED))
        __builtin_memset((void *)s, 0, (size_t)(a->descs - (unsigned char *)s) + n * pf->desc_size);
    pf->free_pages += n;
    pf->total_pages += n;
    return 0;
}

/* The first page index >= i whose address is a multiple of align. */
static inline size_t aligned_index(const struct page_frames_area *a, size_t i, size_t align)
{
    return (ha_align_up(a->base + (i << PAGE_SHIFT), align) - a->base) >> PAGE_SHIFT;
}

void *page_frames_alloc(struct page_frames *pf, size_t n, size_t align)
{
    if (n > pf->free_pages)
        return 0;
    for (unsigned r = 0; r < pf->regions.count; r++) {
        struct page_frames_area *a = &pf->area[r];
        if (n > a->npages)
            continue;
        size_t i = aligned_index(a, a->lowest_free, align);
        while (i <= a->npages - n) {
            size_t busy = scan(a->used, i, i + n, true);
            if (busy == i + n) {
                set_range(a->used, i, n, true);
                if (a->lowest_free >= i && a->lowest_free < i + n)
                    a->lowest_free = scan(a->used, i + n, a->npages, false);
                pf->free_pages -= n;
                return (void *)(a->base + (i << PAGE_SHIFT));
            }
            i = aligned_index(a, scan(a->used, busy + 1, a->npages, false), align);
        }
    }
    return 0;
}

static struct page_frames_area *area_of(const struct page_frames *pf, uintptr_t addr)
{
    for (unsigned r = 0; r < pf->regions.count; r++) {
        const struct page_frames_area *a = &pf->area[r];
        if (addr >= a->base && (addr - a->base) >> PAGE_SHIFT < a->npages)
            return (struct page_frames_area *)a;
    }
    return 0;
}

void page_frames_free(struct page_frames *pf, void *addr, size_t n)
{
    struct page_frames_area *a = area_of(pf, (uintptr_t)addr);
    size_t i = ((uintptr_t)addr - a->base) >> PAGE_SHIFT;
    set_range(a->used, i, n, false);
    if (i < a->lowest_free)
        a->lowest_free = i;
    pf->free_pages += n;
}

bool page_frames_extend(struct page_frames *pf, void *addr, size_t n, size_t more)
{
    struct page_frames_area *a = area_of(pf, (uintptr_t)addr);
    size_t i = (((uintptr_t)addr - a->base) >> PAGE_SHIFT) + n;
    if (more > a->npages - i || scan(a->used, i, i + more, true) != i + more)
        return false;
    set_range(a->used, i, more, true);
    if (a->lowest_free >= i && a->lowest_free < i + more)
        a->lowest_free = scan(a->used, i + more, a->npages, false);
    pf->free_pages -= more;
    return true;
}

void *page_frames_desc(const struct page_frames *pf, const void *addr)
{
    const struct page_frames_area *a = area_of(pf, (uintptr_t)addr);
    if (!a)
        return 0;
    return a->descs + (((uintptr_t)addr - a->base) >> PAGE_SHIFT) * pf->desc_size;
}

bool page_frames_all_used(const struct page_frames *pf, const void *addr, size_t n)
{
    const struct page_frames_area *a = area_of(pf, (uintptr_t)addr);
    size_t i = a ? ((uintptr_t)addr - a->base) >> PAGE_SHIFT : 0;
    return a && n <= a->npages - i && scan(a->used, i, i + n, false) == i + n;
}

int page_frames_for_each_used_run(const struct page_frames *pf, int (*fn)(void *ctx, uintptr_t start, size_t n),
                                  void *ctx)
{
    for (unsigned r = 0; r < pf->regions.count; r++) {
        const struct page_frames_area *a = &pf->area[r];
        for (size_t i = scan(a->used, 0, a->npages, true); i < a->npages;) {
            size_t end = scan(a->used, i, a->npages, false);
            int rc = fn(ctx, a->base + (i << PAGE_SHIFT), end - i);
            if (rc)
                return rc;
            i = scan(a->used, end, a->npages, true);
        }
    }
    return 0;
}

int page_frames_check(const struct page_frames *pf)
{
    size_t free_pages = 0;
    for (unsigned r = 0; r < pf->regions.count; r++) {
        const struct page_frames_area *a = &pf->area[r];
        if (scan(a->used, 0, a->lowest_free, false) != a->lowest_free)
            return ha_check_fail("page frames: a page below the hint %zu of region %u is free", a->lowest_free, r);
        if (a->npages % WORD_BITS && a->used[a->npages / WORD_BITS] >> (a->npages % WORD_BITS))
            return ha_check_fail("page frames: bits set past the last page of region %u", r);
        for (size_t i = 0; i < a->npages; i++)
            free_pages += !bit(a->used, i);
    }
    if (free_pages != pf->free_pages)
        return ha_check_fail("page frames: %zu pages free in the bitmaps, counter says %zu", free_pages,
                             pf->free_pages);
    return 0;
}
