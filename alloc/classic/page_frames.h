/*
 * page_frames.h - a 4 KiB page-frame allocator over the regions, with one
 * descriptor per page for the allocator built on top of it (the slab keeps its
 * slab state there, as Linux keeps it in struct page).
 *
 * Each region holds, in order: a bitmap of used pages, the descriptors, then
 * the pages. A run of n pages with any power-of-two alignment is found by a
 * first-fit scan of the bitmap, a word at a time, from the lowest page that
 * may be free: O(pages / 64) worst case, O(1) when the bottom of the heap is
 * not fragmented. Not locked: the owner serialises every call.
 */
#ifndef HA_PAGE_FRAMES_H
#define HA_PAGE_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "region_set.h"

struct page_frames_area {
    uintptr_t base;     /* address of page 0 (4 KiB-aligned)                   */
    size_t npages;
    uint64_t *used;     /* bit i: page i is handed out                         */
    unsigned char *descs; /* npages descriptors of desc_size bytes             */
    size_t lowest_free; /* every page below is used (a search hint)            */
};

struct page_frames {
    struct region_set regions; /* whole extents, metadata included            */
    struct page_frames_area area[HA_MAX_REGIONS];
    size_t desc_size;          /* a multiple of 8                              */
    size_t free_pages;
    size_t total_pages;        /* of every area                                */
};

/* desc_size: bytes of descriptor per page, a multiple of 8 (may be 0). */
void page_frames_init(struct page_frames *pf, size_t desc_size);

/* Manage [start, start + size): 0, -HA_ETOOSMALL, -HA_EINVAL (overlap) or
 * -HA_EFULL. Descriptors start zeroed; flags as ha_add_memory_flags (with
 * HA_MEMORY_ZEROED the metadata is not cleared again, so a huge reservation
 * is not touched up front). */
int page_frames_add(struct page_frames *pf, void *start, size_t size, unsigned flags);

/* n pages whose address is a multiple of align (a power of two, >= 4 KiB),
 * or NULL. */
void *page_frames_alloc(struct page_frames *pf, size_t n, size_t align);
void page_frames_free(struct page_frames *pf, void *addr, size_t n);

/* Claim the `more` pages right after the run [addr, addr + n pages) if they
 * are free and in the same region (in-place growth). */
bool page_frames_extend(struct page_frames *pf, void *addr, size_t n, size_t more);

/* The descriptor of the page holding addr, or NULL outside every region's
 * pages. */
void *page_frames_desc(const struct page_frames *pf, const void *addr);

/* Whether every page of [addr, addr + n pages) is handed out. */
bool page_frames_all_used(const struct page_frames *pf, const void *addr, size_t n);

/* Call fn for every maximal run of used pages, lowest address first, until it
 * returns non-zero; returns that value or 0. */
int page_frames_for_each_used_run(const struct page_frames *pf, int (*fn)(void *ctx, uintptr_t start, size_t n),
                                  void *ctx);

/* Bitmaps against the free count and the search hints: 0 or ha_check_fail. */
int page_frames_check(const struct page_frames *pf);

#endif /* HA_PAGE_FRAMES_H */
