/*
 * mi/segment.c - segments carved into slices, owned by one heap, and the
 * segment runs of huge blocks. A sliced segment's header (mi/types.h) sits at
 * its start; slice 0's page begins after it. A huge run has no header: its
 * block starts at the run's first byte. Owner CPU only, except the huge
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

static void segment_init(mi_segment *seg, mi_heap *heap, bool zeroed)
{
    seg->cookie = (uintptr_t)seg ^ mi_pool_secret();
    seg->on_list = 0;
    seg->free_slices = ~0ull;
    seg->dirty_slices = zeroed ? 0 : ~0ull;
    seg->heap = heap;
    seg->next = seg->prev = 0;
    for (unsigned i = 0; i < MI_SLICES; i++) {
        seg->pages[i].in_use = 0;
        seg->slice_page[i] = &seg->pages[0];
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
static int find_run(uint64_t m, unsigned count)
{
    for (unsigned len = 1; len < count && m; ) {
        unsigned step = len < count - len ? len : count - len;
        m &= m >> step;
        len += step;
    }
    return m ? __builtin_ctzll(m) : -1;
}

/* Where a page of `count` slices goes in seg (-1: nowhere). A page of one
 * slice takes the lowest free one, slice 0 first: the header costs a small
 * page 12 of its 64 KiB. A longer page starts after slice 0 if it can, so
 * its blocks (or its one large block) do not lose room to the header; at
 * slice 0 it needs `count0` slices (0: it cannot start there). */
static int place_run(uint64_t free_slices, unsigned count, unsigned count0)
{
    if (count == 1)
        return find_run(free_slices, 1);
    int first = find_run(free_slices & ~1ull, count);
    if (first < 0 && count0 && (free_slices & run_mask(0, count0)) == run_mask(0, count0))
        first = 0;
    return first;
}

/* Take slices for a new page, from a segment of the heap or a fresh one:
 * `count` of them, or `count0` at slice 0 (see place_run). Returns the page
 * with its area set, not yet initialised. */
static mi_page *take_slices(mi_heap *heap, unsigned count, unsigned count0, size_t *area_bytes, bool *zeroed)
{
    mi_segment *seg;
    int first = -1;
    for (seg = heap->segments; seg; seg = seg->next)
        if ((first = place_run(seg->free_slices, count, count0)) >= 0)
            break;
    if (!seg) {
        if ((first = place_run(~0ull, count, count0)) < 0)
            return 0;
        bool fresh_zero;
        seg = mi_pool_alloc(1, false, &fresh_zero);
        if (!seg)
            return 0;
        segment_init(seg, heap, fresh_zero);
        list_push(heap, seg);
        heap->segment_count++;
        mi_stat_add(&heap->stats.segments_in_use, 1);
    }
    if (first == 0)
        count = count0;
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
    mi_stat_held(&heap->stats, (int64_t)count << MI_SLICE_SHIFT);
    return page;
}

mi_page *mi_segment_page_alloc(mi_heap *heap, unsigned bin)
{
    size_t bytes;
    bool zeroed;
    unsigned count = mi_slices_of_bin(bin);
    mi_page *page = take_slices(heap, count, count, &bytes, &zeroed);
    if (!page)
        return 0;
    page->bin = (uint16_t)bin; /* before init: carving reads it */
    mi_page_init(page, heap, mi_bin_size(bin), bytes, zeroed);
    return page;
}

/* Slices a large page starting at slice `first` needs for a block of `size`
 * bytes at `align` (its area is 4 KiB-aligned, so at most align - 4 KiB go
 * to the alignment); 0 if that is more than the segment has from there. */
static size_t large_slices(size_t size, size_t align, unsigned first)
{
    size = size ? size : 1;
    size_t slack = align > HA_PAGE_SIZE ? align - HA_PAGE_SIZE : 0;
    size_t head = first == 0 ? MI_SEGMENT_HEADER : 0;
    if (size > MI_LARGE_MAX || slack > MI_LARGE_MAX)
        return 0; /* keeps the sum below from overflowing */
    size_t count = (head + ha_align_up(size, HA_PAGE_SIZE) + slack + MI_SLICE_SIZE - 1) >> MI_SLICE_SHIFT;
    return first + count <= MI_SLICES ? count : 0;
}

/* The block of a large page: from its area to the end of the aligned
 * request rounded up to 4 KiB; and the slices that holds. */
static size_t large_block(const mi_page *page, size_t size, size_t align, unsigned *count)
{
    size = size ? size : 1;
    uintptr_t area = (uintptr_t)page->area;
    uintptr_t end = (align > HA_PAGE_SIZE ? ha_align_up(area, align) : area) + ha_align_up(size, HA_PAGE_SIZE);
    uintptr_t first = (uintptr_t)mi_segment_of(page) + ((uintptr_t)page->index << MI_SLICE_SHIFT);
    *count = (unsigned)((end - first + MI_SLICE_SIZE - 1) >> MI_SLICE_SHIFT);
    return end - area;
}

/* Give a large page exactly `count` slices; false if the slices it would
 * grow into are not free. */
static bool large_set_slices(mi_heap *heap, mi_page *page, unsigned count)
{
    mi_segment *seg = mi_segment_of(page);
    unsigned first = page->index, have = page->slice_count;
    if (count > have) {
        uint64_t more = first + count <= MI_SLICES ? run_mask(first + have, count - have) : 0;
        if (!more || (seg->free_slices & more) != more)
            return false;
        seg->free_slices &= ~more;
        seg->dirty_slices |= more;
        for (unsigned i = first + have; i < first + count; i++)
            seg->slice_page[i] = page;
        if (seg->free_slices == 0 && seg->on_list)
            list_remove(heap, seg);
    } else if (count < have) {
        seg->free_slices |= run_mask(first + count, have - count);
        if (!seg->on_list)
            list_push(heap, seg);
    }
    mi_stat_held(&heap->stats, ((int64_t)count - (int64_t)have) * (int64_t)MI_SLICE_SIZE);
    page->slice_count = (uint8_t)count;
    return true;
}

bool mi_segment_large_resize(mi_heap *heap, mi_page *page, size_t size, size_t align)
{
    if (!large_slices(size, align, page->index))
        return false;
    unsigned count;
    size_t block = large_block(page, size, align, &count);
    if (!large_set_slices(heap, page, count))
        return false;
    page->block_size = block;
    return true;
}

mi_page *mi_segment_large_alloc(mi_heap *heap, size_t size, size_t align)
{
    /* From slice 1 on the block needs no room for the header. */
    size_t count = large_slices(size, align, 1), count0 = large_slices(size, align, 0);
    if (!count && !count0)
        return 0;
    size_t bytes;
    bool zeroed;
    mi_page *page = take_slices(heap, count ? (unsigned)count : MI_SLICES, (unsigned)count0, &bytes, &zeroed);
    if (!page)
        return 0;
    /* The run was sized for the worst alignment slack: trim it to the block. */
    unsigned fit;
    size_t block = large_block(page, size, align, &fit);
    large_set_slices(heap, page, fit);
    page->bin = MI_BIN_LARGE;
    mi_page_init(page, heap, block, block, zeroed);
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
    mi_stat_held(&heap->stats, -((int64_t)page->slice_count << MI_SLICE_SHIFT));
    if (seg->free_slices == ~0ull) {
        if (seg->on_list)
            list_remove(heap, seg);
        if (heap->sweeping == seg)
            heap->sweeping = 0;
        heap->segment_count--;
        mi_stat_add(&heap->stats.segments_in_use, -1);
        seg->cookie = 0; /* a later free through a stale pointer finds no header */
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
    for (unsigned n = 0; seg->sweep_cursor < MI_SLICES && n < MI_SWEEP_MAX * 4; n++) {
        uint64_t used = ~seg->free_slices & (~0ull << seg->sweep_cursor);
        if (!used) {
            seg->sweep_cursor = MI_SLICES;
            break;
        }
        mi_page *p = &seg->pages[__builtin_ctzll(used)];
        if (!mi_heap_keeps_empty(heap, p)) {
            heap->sweeping = 0; /* a page with live blocks: the segment stays */
            return;
        }
        seg->sweep_cursor = p->index + p->slice_count;
    }
    if (seg->sweep_cursor < MI_SLICES)
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
    seg->sweep_cursor = 0;
    mi_segment_sweep_some(heap);
}

/* ---- huge runs --------------------------------------------------------------
 * A huge block starts at its run's first byte and the run has no header, so
 * a block of a whole number of segments takes exactly that many. Its page
 * sits in the run's last bytes when the block (rounded up to 4 KiB) leaves
 * room there; otherwise in a spare page of this table; and only if all of
 * those are taken does the run get one more segment to hold its page. */
#define MI_HUGE_SPARE_PAGES 64
static mi_page huge_spare[MI_HUGE_SPARE_PAGES];
static uint32_t huge_spare_taken[MI_HUGE_SPARE_PAGES]; /* any CPU: CAS to take */

static mi_page *take_spare(void)
{
    for (unsigned i = 0; i < MI_HUGE_SPARE_PAGES; i++) {
        uint32_t expected = 0;
        if (!mi_load_relaxed(&huge_spare_taken[i]) &&
            __atomic_compare_exchange_n(&huge_spare_taken[i], &expected, 1, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return &huge_spare[i];
    }
    return 0;
}

static bool is_spare(const mi_page *page)
{
    return page >= huge_spare && page < huge_spare + MI_HUGE_SPARE_PAGES;
}

static mi_page *page_in_run(void *run, size_t count)
{
    return (mi_page *)((uint8_t *)run + (count << MI_SEGMENT_SHIFT) - sizeof(mi_page));
}

mi_page *mi_segment_huge_page(void *run, size_t count)
{
    for (unsigned i = 0; i < MI_HUGE_SPARE_PAGES; i++)
        if (mi_load_acquire(&huge_spare_taken[i]) && mi_load_relaxed(&huge_spare[i].area) == (uint8_t *)run)
            return &huge_spare[i];
    return page_in_run(run, count);
}

mi_page *mi_segment_huge_alloc(mi_heap *heap, size_t size, size_t align)
{
    /* The run starts on a segment boundary: alignments up to a segment cost
     * nothing, larger ones at most align - 4 MiB. */
    size_t slack = align > MI_SEGMENT_SIZE ? align - MI_SEGMENT_SIZE : 0;
    size = size ? size : 1;
    size_t limit = mi_pool_total_segments() << MI_SEGMENT_SHIFT;
    if (size > limit || slack > limit || ha_align_up(size, HA_PAGE_SIZE) + slack + sizeof(mi_page) > limit)
        return 0; /* also keeps the sums below from overflowing */
    size_t worst = ha_align_up(size, HA_PAGE_SIZE) + slack;
    size_t count = (worst + MI_SEGMENT_MASK) >> MI_SEGMENT_SHIFT;
    mi_page *spare = 0;
    if ((count << MI_SEGMENT_SHIFT) - worst < sizeof(mi_page) && !(spare = take_spare()))
        count++; /* no room in the run and no spare page: one more segment */
    bool zeroed;
    uint8_t *run = mi_pool_alloc(count, true, &zeroed);
    if (!run) {
        if (spare)
            __atomic_store_n(&huge_spare_taken[spare - huge_spare], 0, __ATOMIC_RELEASE);
        return 0;
    }
    mi_page *page = spare ? spare : page_in_run(run, count);
    uint8_t *user = align > HA_PAGE_SIZE ? (uint8_t *)ha_align_up((uintptr_t)run, align) : run;
    size_t block = (size_t)(user - run) + ha_align_up(size, HA_PAGE_SIZE);
    mi_store_relaxed(&page->area, run);
    page->index = 0;
    page->slice_count = 0;
    page->bin = MI_BIN_HUGE;
    mi_page_init(page, heap, block, block, zeroed);
    page->heap = 0; /* any CPU frees a huge block straight to the pool */
    mi_stat_add(&heap->stats.segments_in_use, (int64_t)count);
    mi_stat_held(&heap->stats, (int64_t)count << MI_SEGMENT_SHIFT);
    return page;
}

size_t mi_segment_huge_free(mi_page *page)
{
    uint8_t *run = page->area;
    size_t count = 0;
    if (mi_pool_find_huge(run, &count) != run || mi_segment_huge_page(run, count) != page)
        ha_fault(run, "huge block freed twice, or its page is damaged");
    page->in_use = 0;
    if (is_spare(page)) {
        mi_store_relaxed(&page->area, (uint8_t *)0);
        __atomic_store_n(&huge_spare_taken[page - huge_spare], 0, __ATOMIC_RELEASE);
    }
    mi_pool_free(run, count); /* a page in the run is not ours to read from here on */
    return count;
}

int mi_segment_huge_check(void *run, size_t count)
{
    const mi_page *page = mi_segment_huge_page(run, count);
    uint8_t *end = (uint8_t *)run + (count << MI_SEGMENT_SHIFT);
    uint8_t *block_end = page->area + page->block_size;
    if (!page->in_use || page->bin != MI_BIN_HUGE || page->area != (uint8_t *)run || page->heap ||
        page->reserved != 1 || page->block_size == 0 || block_end > end)
        return ha_check_fail("huge run %p (%zu segments): its page %p does not describe it", run, count,
                             (const void *)page);
    if (!is_spare(page) && block_end > (const uint8_t *)page)
        return ha_check_fail("huge run %p: its block overlaps its page %p", run, (const void *)page);
    /* No segment beyond what the block needs, unless an alignment or a page
     * with no spare left asked for it. */
    size_t need = (page->block_size + (is_spare(page) ? 0 : sizeof(mi_page)) + MI_SEGMENT_MASK) >> MI_SEGMENT_SHIFT;
    if (need != count && !mi_load_relaxed(&page->xhas_aligned))
        return ha_check_fail("huge run %p: %zu segments for a block of %zu bytes (%zu would hold it)", run, count,
                             page->block_size, need);
    return 0;
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
