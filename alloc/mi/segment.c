/*
 * mi/segment.c - segments carved into slices, owned by one heap, and the
 * segment runs of huge blocks. A segment's header (mi/types.h) sits at its
 * start; slice 0's page begins after it. Owner CPU only, except the huge
 * functions, which any CPU may call.
 */
#include "internal.h"

_Static_assert(sizeof(mi_segment) <= MI_SLICE_SIZE * 3 / 4, "the segment header must leave room in slice 0");
_Static_assert(MI_SLICES * MI_SLICE_SIZE == MI_SEGMENT_SIZE, "slices tile a segment");
_Static_assert(MI_SLICES == 64, "the slice maps are 64-bit masks");

static uint64_t run_mask(unsigned first, unsigned count)
{
    return (count == 64 ? ~0ull : ((1ull << count) - 1)) << first;
}

static void segment_init(mi_segment *seg, mi_heap *heap, enum mi_segment_kind kind, size_t count,
                         bool zeroed)
{
    seg->cookie = (uintptr_t)seg ^ mi_pool_secret();
    seg->kind = (uint8_t)kind;
    seg->on_list = 0;
    seg->free_slices = ~0ull;
    seg->dirty_slices = zeroed ? 0 : ~0ull;
    seg->segment_count = count;
    seg->heap = heap;
    seg->next = seg->prev = 0;
    for (unsigned i = 0; i < MI_SLICES; i++) {
        seg->pages[i].in_use = 0;
        seg->slice_page[i] = &seg->pages[0]; /* a huge run's one page */
    }
}

static void list_push(mi_heap *heap, mi_segment *seg)
{
    seg->prev = 0;
    seg->next = heap->segments;
    if (heap->segments)
        heap->segments->prev = seg;
    heap->segments = seg;
    seg->on_list = 1;
}

static void list_remove(mi_heap *heap, mi_segment *seg)
{
    if (seg->prev)
        seg->prev->next = seg->next;
    else
        heap->segments = seg->next;
    if (seg->next)
        seg->next->prev = seg->prev;
    seg->next = seg->prev = 0;
    seg->on_list = 0;
}

/* First slice of a run of `count` (1..64) free slices, or -1. Bit i of m
 * says slices i .. i+len-1 are all free; and-ing m with itself shifted by
 * step <= len makes that len+step, so len reaches count in log2(count)
 * steps instead of a scan of every start (a large block takes a run of up
 * to 64 slices on every allocation). */
static int find_run(const mi_segment *seg, unsigned count)
{
    uint64_t m = seg->free_slices;
    for (unsigned len = 1; len < count && m; ) {
        unsigned step = len < count - len ? len : count - len;
        m &= m >> step;
        len += step;
    }
    return m ? __builtin_ctzll(m) : -1;
}

/* Take `count` slices for a new page, from a segment of the heap or a fresh
 * one. Returns the page with its area set, not yet initialised. */
static mi_page *take_slices(mi_heap *heap, unsigned count, size_t *area_bytes, bool *zeroed)
{
    mi_segment *seg;
    int first = -1;
    for (seg = heap->segments; seg; seg = seg->next)
        if ((first = find_run(seg, count)) >= 0)
            break;
    if (!seg) {
        bool fresh_zero;
        seg = mi_pool_alloc(1, &fresh_zero);
        if (!seg)
            return 0;
        segment_init(seg, heap, MI_SEGMENT_SLICED, 1, fresh_zero);
        list_push(heap, seg);
        heap->segment_count++;
        mi_stat_add(&heap->stats.segments_in_use, 1);
        first = 0;
    }
    uint64_t mask = run_mask((unsigned)first, count);
    seg->free_slices &= ~mask;
    if (seg->free_slices == 0)
        list_remove(heap, seg);
    for (unsigned i = 0; i < count; i++)
        seg->slice_page[first + i] = &seg->pages[first];
    *zeroed = (seg->dirty_slices & mask) == 0;
    seg->dirty_slices |= mask;
    mi_page *page = &seg->pages[first];
    uintptr_t start = (uintptr_t)seg + ((uintptr_t)first << MI_SLICE_SHIFT);
    uintptr_t end = start + ((uintptr_t)count << MI_SLICE_SHIFT);
    if (first == 0)
        start += MI_SEGMENT_HEADER;
    page->area = (uint8_t *)start;
    page->index = (uint8_t)first;
    page->slice_count = (uint8_t)count;
    *area_bytes = end - start;
    mi_stat_add(&heap->stats.pages_in_use, 1);
    return page;
}

mi_page *mi_segment_page_alloc(mi_heap *heap, unsigned bin)
{
    size_t bytes;
    bool zeroed;
    mi_page *page = take_slices(heap, mi_slices_of_bin(bin), &bytes, &zeroed);
    if (!page)
        return 0;
    page->bin = (uint16_t)bin; /* before init: carving reads it */
    mi_page_init(page, heap, mi_bin_size(bin), bytes, zeroed);
    return page;
}

size_t mi_segment_large_slices(size_t size, size_t align)
{
    /* Reserve room for the header too, wherever the run lands: at most 12 KiB
     * lost, and the slices needed never depend on the position. */
    size_t slack = align > HA_PAGE_SIZE ? align : 0;
    if (size > MI_LARGE_MAX || slack > MI_LARGE_MAX || size + slack > MI_LARGE_MAX)
        return 0;
    return (size + slack + MI_SEGMENT_HEADER + MI_SLICE_SIZE - 1) >> MI_SLICE_SHIFT;
}

bool mi_segment_large_resize(mi_heap *heap, mi_page *page, size_t count)
{
    mi_segment *seg = mi_segment_of(page);
    unsigned first = page->index, have = page->slice_count;
    if (count > have) {
        uint64_t more = first + count <= MI_SLICES ? run_mask(first + have, (unsigned)(count - have)) : 0;
        if (!more || (seg->free_slices & more) != more)
            return false;
        seg->free_slices &= ~more;
        seg->dirty_slices |= more;
        for (unsigned i = first + have; i < first + count; i++)
            seg->slice_page[i] = page;
        if (seg->free_slices == 0 && seg->on_list)
            list_remove(heap, seg);
    } else if (count < have) {
        seg->free_slices |= run_mask(first + (unsigned)count, have - (unsigned)count);
        if (!seg->on_list)
            list_push(heap, seg);
    }
    page->slice_count = (uint8_t)count;
    page->block_size = (uintptr_t)seg + ((uintptr_t)(first + count) << MI_SLICE_SHIFT) - (uintptr_t)page->area;
    return true;
}

mi_page *mi_segment_large_alloc(mi_heap *heap, size_t size, size_t align)
{
    size_t count = mi_segment_large_slices(size, align);
    if (!count)
        return 0;
    size_t bytes;
    bool zeroed;
    mi_page *page = take_slices(heap, (unsigned)count, &bytes, &zeroed);
    if (!page)
        return 0;
    page->bin = MI_BIN_LARGE;
    mi_page_init(page, heap, bytes, bytes, zeroed);
    return page;
}

int mi_segment_check_slices(const mi_segment *seg)
{
    unsigned starts = 0;
    for (uint64_t used = ~seg->free_slices; used;) {
        unsigned i = (unsigned)__builtin_ctzll(used);
        const mi_page *p = &seg->pages[i];
        if (!p->in_use || p->index != i || p->slice_count == 0 || i + p->slice_count > MI_SLICES)
            return ha_check_fail("segment %p: used slice %u starts no page in use (slices lost?)",
                                 (const void *)seg, i);
        uint64_t run = run_mask(i, p->slice_count);
        if ((used & run) != run)
            return ha_check_fail("segment %p: page %p covers free slices", (const void *)seg, (const void *)p);
        used &= ~run;
        starts++;
    }
    unsigned in_use = 0;
    for (unsigned i = 0; i < MI_SLICES; i++)
        in_use += seg->pages[i].in_use;
    if (in_use != starts)
        return ha_check_fail("segment %p: %u pages in use but %u start a run of used slices", (const void *)seg,
                             in_use, starts);
    return 0;
}

bool mi_segment_page_is_alone(const mi_page *page)
{
    return (mi_segment_of(page)->free_slices | run_mask(page->index, page->slice_count)) == ~0ull;
}

/* Return a page's slices; true if that released the whole segment. */
static bool free_slices_of(mi_heap *heap, mi_page *page)
{
    mi_segment *seg = mi_segment_of(page);
    mi_page_fold(page); /* its counts stay in the heap's figures */
    page->in_use = 0;
    mi_page_set_fast(page);
    seg->free_slices |= run_mask(page->index, page->slice_count);
    mi_stat_add(&heap->stats.pages_in_use, -1);
    if (seg->free_slices == ~0ull) {
        if (seg->on_list)
            list_remove(heap, seg);
        if (heap->sweeping == seg)
            heap->sweeping = 0;
        heap->segment_count--;
        mi_stat_add(&heap->stats.segments_in_use, -1);
        mi_pool_free(seg, 1); /* from here on seg is not ours to read */
        return true;
    }
    if (!seg->on_list)
        list_push(heap, seg);
    return false;
}

void mi_segment_sweep_some(mi_heap *heap)
{
    mi_segment *seg = heap->sweeping;
    /* First check that every page of the segment is kept empty, a few pages
     * per call (sweep_cursor: the first slice not checked yet)... */
    for (unsigned n = 0; heap->sweep_cursor < MI_SLICES && n < MI_SWEEP_MAX * 4; n++) {
        uint64_t used = ~seg->free_slices & (~0ull << heap->sweep_cursor);
        if (!used) {
            heap->sweep_cursor = MI_SLICES;
            break;
        }
        mi_page *p = &seg->pages[__builtin_ctzll(used)];
        if (!mi_heap_keeps_empty(heap, p)) {
            heap->sweeping = 0; /* a page with live blocks: the segment stays */
            return;
        }
        heap->sweep_cursor = p->index + p->slice_count;
    }
    if (heap->sweep_cursor < MI_SLICES)
        return;
    /* ...then retire them, a few per call. */
    for (unsigned n = 0; n < MI_SWEEP_MAX; n++) {
        mi_page *p = &seg->pages[__builtin_ctzll(~seg->free_slices)];
        if (!mi_heap_keeps_empty(heap, p)) {
            heap->sweeping = 0; /* in use again: the segment stays */
            return;
        }
        mi_heap_unqueue_empty(heap, p);
        if (free_slices_of(heap, p))
            return; /* the segment went back to the pool */
    }
}

void mi_segment_page_free(mi_heap *heap, mi_page *page)
{
    mi_segment *seg = mi_segment_of(page);
    if (free_slices_of(heap, page))
        return;
    /* Pages the heap keeps although empty pin at most one segment by
     * themselves (the heap's last): elsewhere, if nothing else in their
     * segment is in use, retire them too. A bounded part of that work per
     * slow path: mi_heap_alloc_slow goes on with it. */
    if (heap->segment_count <= 1 || heap->sweeping)
        return;
    heap->sweeping = seg;
    heap->sweep_cursor = 0;
    mi_segment_sweep_some(heap);
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
    segment_init(seg, 0, MI_SEGMENT_HUGE, count, zeroed);
    seg->free_slices = 0;
    mi_page *page = &seg->pages[0];
    page->area = (uint8_t *)seg + MI_SEGMENT_HEADER;
    page->index = 0;
    page->slice_count = MI_SLICES;
    page->bin = MI_BIN_HUGE;
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

#ifdef HA_EMBED_RELEASE
/* ha_collect with the release hooks (hartalloc_embed.h): the used-before
 * free slices of the heap's segments go to the embedding, so a heap that
 * keeps a segment for one live block does not keep all of it resident.
 * Slice 0 stays: the header lives there. Owner only. */
void mi_segment_release_free_slices(mi_heap *heap)
{
    for (mi_segment *seg = heap->segments; seg; seg = seg->next) {
        uint64_t m = seg->free_slices & seg->dirty_slices & ~1ull;
        while (m) {
            unsigned first = (unsigned)__builtin_ctzll(m);
            uint64_t above = ~(m >> first);
            unsigned count = above ? (unsigned)__builtin_ctzll(above) : 64 - first;
            uint64_t run = run_mask(first, count);
            if (ha_embed_release((char *)seg + ((size_t)first << MI_SLICE_SHIFT),
                                 (size_t)count << MI_SLICE_SHIFT))
                seg->dirty_slices &= ~run;
            m &= ~run;
        }
    }
}
#endif
