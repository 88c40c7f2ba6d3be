/*
 * mi_segment.c - segments of one page kind, owned by one heap, and the
 * segment runs of huge blocks. A segment's header (mi_types.h) sits at its
 * start; page 0 begins after it.
 */
#include "mi_internal.h"

static const uint8_t page_shift_of_kind[MI_PAGE_KINDS] = {
    [MI_PAGE_SMALL] = MI_SMALL_PAGE_SHIFT,
    [MI_PAGE_MEDIUM] = MI_MEDIUM_PAGE_SHIFT,
    [MI_PAGE_LARGE] = MI_LARGE_PAGE_SHIFT,
    [MI_PAGE_HUGE] = MI_SEGMENT_SHIFT,
};

_Static_assert(sizeof(mi_segment) <= (1u << MI_SMALL_PAGE_SHIFT) * 3 / 4,
               "the segment header must leave room in page 0");
_Static_assert(MI_PAGES_PER_SEGMENT_MAX <= 64, "free_pages is a 64-bit mask");

static void segment_init(mi_segment *seg, mi_heap *heap, enum mi_page_kind kind, size_t count,
                         bool zeroed)
{
    unsigned shift = page_shift_of_kind[kind];
    unsigned pages = kind == MI_PAGE_HUGE ? 1 : 1u << (MI_SEGMENT_SHIFT - shift);
    seg->cookie = (uintptr_t)seg ^ mi_pool_secret();
    seg->kind = (uint8_t)kind;
    seg->page_shift = (uint8_t)shift;
    seg->page_count = (uint16_t)pages;
    seg->used_pages = 0;
    seg->free_pages = pages == 64 ? ~0ull : (1ull << pages) - 1;
    seg->segment_count = count;
    seg->heap = heap;
    seg->next = seg->prev = 0;
    for (unsigned i = 0; i < pages; i++) {
        mi_page *page = &seg->pages[i];
        page->in_use = 0;
        page->index = (uint8_t)i;
        page->is_dirty = !zeroed;
    }
}

static void segment_list_push(mi_segment **list, mi_segment *seg)
{
    seg->prev = 0;
    seg->next = *list;
    if (*list)
        (*list)->prev = seg;
    *list = seg;
}

static void segment_list_remove(mi_segment **list, mi_segment *seg)
{
    if (seg->prev)
        seg->prev->next = seg->next;
    else
        *list = seg->next;
    if (seg->next)
        seg->next->prev = seg->prev;
    seg->next = seg->prev = 0;
}

static uint8_t *page_area(mi_segment *seg, unsigned index, size_t *bytes)
{
    uintptr_t start = (uintptr_t)seg + ((uintptr_t)index << seg->page_shift);
    uintptr_t end = start + ((uintptr_t)1 << seg->page_shift);
    if (index == 0)
        start += MI_SEGMENT_HEADER;
    *bytes = end - start;
    return (uint8_t *)start;
}

mi_page *mi_segment_page_alloc(mi_heap *heap, unsigned bin)
{
    enum mi_page_kind kind = mi_kind_of_bin(bin);
    mi_segment *seg = heap->segments[kind];
    if (!seg) {
        bool zeroed;
        seg = mi_pool_alloc(1, &zeroed);
        if (!seg)
            return 0;
        segment_init(seg, heap, kind, 1, zeroed);
        segment_list_push(&heap->segments[kind], seg);
        mi_stat_add(&heap->stats.segments_in_use, 1);
    }
    unsigned index = (unsigned)__builtin_ctzll(seg->free_pages);
    seg->free_pages &= ~(1ull << index);
    seg->used_pages++;
    if (seg->free_pages == 0)
        segment_list_remove(&heap->segments[kind], seg);
    mi_page *page = &seg->pages[index];
    size_t bytes;
    page->area = page_area(seg, index, &bytes);
    page->bin = (uint16_t)bin; /* before init: carving reads it */
    mi_page_init(page, heap, mi_bin_size(bin), bytes, !page->is_dirty);
    mi_stat_add(&heap->stats.pages_in_use, 1);
    return page;
}

void mi_segment_page_free(mi_heap *heap, mi_page *page)
{
    mi_segment *seg = mi_segment_of(page);
    page->in_use = 0;
    page->is_dirty = 1;
    if (seg->free_pages == 0)
        segment_list_push(&heap->segments[seg->kind], seg);
    seg->free_pages |= 1ull << page->index;
    seg->used_pages--;
    mi_stat_add(&heap->stats.pages_in_use, -1);
    if (seg->used_pages == 0) {
        segment_list_remove(&heap->segments[seg->kind], seg);
        mi_stat_add(&heap->stats.segments_in_use, -1);
        mi_pool_free(seg, 1);
    }
}

mi_page *mi_segment_huge_alloc(mi_heap *heap, size_t size, size_t align)
{
    size_t slack = align > HA_PAGE_SIZE ? align : 0; /* the header is page-aligned */
    size_t limit = mi_pool_total_segments() << MI_SEGMENT_SHIFT;
    if (size > limit || slack > limit || size + slack + MI_SEGMENT_HEADER > limit)
        return 0; /* also keeps the sums below from overflowing */
    size_t count = (size + slack + MI_SEGMENT_HEADER + MI_SEGMENT_MASK) >> MI_SEGMENT_SHIFT;
    bool zeroed;
    mi_segment *seg = mi_pool_alloc(count, &zeroed);
    if (!seg)
        return 0;
    segment_init(seg, 0, MI_PAGE_HUGE, count, zeroed);
    seg->free_pages = 0;
    seg->used_pages = 1;
    mi_page *page = &seg->pages[0];
    page->area = (uint8_t *)seg + MI_SEGMENT_HEADER;
    page->bin = 0;
    mi_page_init(page, heap, mi_segment_bytes(seg) - MI_SEGMENT_HEADER,
                 mi_segment_bytes(seg) - MI_SEGMENT_HEADER, zeroed);
    page->heap = 0; /* any CPU frees a huge block straight to the pool */
    mi_stat_add(&heap->stats.segments_in_use, (int64_t)count);
    return page;
}

void mi_segment_huge_free(mi_page *page)
{
    mi_segment *seg = mi_segment_of(page);
    page->in_use = 0;
    mi_pool_free(seg, seg->segment_count);
}
