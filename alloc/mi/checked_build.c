/*
 * mi/checked_build.c - the checks of a checked build (-DHA_CHECKED). Every fault
 * stops the run through ha_fault with the pointer and what is wrong with it.
 *
 *  - A live-block bitmap per page catches double frees, frees of blocks never
 *    handed out and realloc of freed blocks.
 *  - The requested size is kept (encoded) in the last 8 bytes of the block and
 *    an 8-byte canary follows the requested bytes: a write past the end is
 *    found at free, and the size passed to ha_dealloc is compared.
 *  - Free blocks are filled with a pattern and their links are encoded with a
 *    per-page key; a write into a freed block is found when the block is
 *    reused, and a corrupted link is reported instead of followed.
 */
#ifdef HA_CHECKED
#include "internal.h"

#define FREE_FILL 0xdfu
#define FILL_CHECK_MAX 256u /* bytes of a freed block that carry the fill */

static size_t block_index(const mi_page *page, const mi_block *block)
{
    return (size_t)((const uint8_t *)block - page->area) / page->block_size;
}

static bool live_bit(mi_page *page, size_t i, bool set, bool value)
{
    if (page->bin == 0)
        return set ? value : mi_page_used(page) == 1; /* huge: one block, `used` says it */
    uint64_t *word = &page->live[i / 64], bit = 1ull << (i % 64);
    /* Atomic: a remote free clears its bit while the owner sets others. */
    uint64_t old = set ? (value ? __atomic_fetch_or(word, bit, __ATOMIC_RELAXED)
                                : __atomic_fetch_and(word, ~bit, __ATOMIC_RELAXED))
                       : __atomic_load_n(word, __ATOMIC_RELAXED);
    return (old & bit) != 0;
}

static uintptr_t canary_of(const mi_page *page, const void *user)
{
    return page->key ^ (uintptr_t)user ^ 0x5ca1ab1e5ca1ab1eull;
}

mi_block *mi_decode_checked(const mi_page *page, uintptr_t link, const void *holder)
{
    uintptr_t x = (link >> 17) | (link << (64 - 17));
    mi_block *b = (mi_block *)(x ^ page->key);
    if (!b)
        return 0;
    size_t span = (size_t)page->reserved * page->block_size;
    if ((uint8_t *)b < page->area || (size_t)((uint8_t *)b - page->area) >= span ||
        ((size_t)((uint8_t *)b - page->area)) % page->block_size != 0)
        ha_fault(holder, "free block's link is corrupted (decodes to %p): was the block written after it was freed?",
                 (void *)b);
    return b;
}

void mi_checked_fill_free(mi_page *page, mi_block *block)
{
    size_t n = page->block_size < FILL_CHECK_MAX ? page->block_size : FILL_CHECK_MAX;
    if (page->bin == 0 || n <= sizeof(mi_block))
        return;
    __builtin_memset((uint8_t *)block + sizeof(mi_block), FREE_FILL, n - sizeof(mi_block));
}

void mi_checked_on_pop(mi_page *page, mi_block *block)
{
    size_t n = page->block_size < FILL_CHECK_MAX ? page->block_size : FILL_CHECK_MAX;
    const uint8_t *bytes = (const uint8_t *)block;
    for (size_t i = sizeof(mi_block); i < n; i++)
        if (bytes[i] != FREE_FILL)
            ha_fault(block, "freed block was written after free (byte %zu is 0x%x, expected 0x%x)", i,
                     bytes[i], FREE_FILL);
}

void mi_checked_on_alloc(mi_page *page, mi_block *block, void *user, size_t size)
{
    uint8_t *end = (uint8_t *)block + page->block_size;
    size_t recorded = size ^ page->key;
    uintptr_t canary = canary_of(page, user);
    __builtin_memcpy(end - sizeof recorded, &recorded, sizeof recorded);
    __builtin_memcpy((uint8_t *)user + size, &canary, sizeof canary);
    live_bit(page, block_index(page, block), true, true);
}

void mi_checked_on_free(mi_page *page, mi_block *block, const void *user, size_t size,
                        size_t align, const char *what)
{
    if (!live_bit(page, block_index(page, block), false, false))
        ha_fault(user, "%s of a block that is not live (double free, or never allocated)", what);
    if ((const void *)block != user) {
        size_t slack = (size_t)((const uint8_t *)user - (const uint8_t *)block);
        /* Only a block handed out at an offset for a large alignment starts
         * past its block start, and then by less than the alignment. */
        if (!mi_load_relaxed(&page->xhas_aligned) || ((uintptr_t)user & (HA_PAGE_SIZE - 1)) != 0 ||
            (align != 0 && slack >= align))
            ha_fault(user, "%s of an interior pointer (the block starts at %p)", what, (void *)block);
    }
    uint8_t *end = (uint8_t *)block + page->block_size;
    size_t recorded;
    __builtin_memcpy(&recorded, end - sizeof recorded, sizeof recorded);
    recorded ^= page->key;
    if (recorded > (size_t)(end - (const uint8_t *)user) - MI_PADDING)
        ha_fault(user, "%s: the block's size record is corrupted (written past the end?)", what);
    uintptr_t canary;
    __builtin_memcpy(&canary, (const uint8_t *)user + recorded, sizeof canary);
    if (canary != canary_of(page, user))
        ha_fault(user, "%s: write past the end of the block (%zu bytes requested; canary at %p overwritten)",
                 what, recorded, (const void *)((const uint8_t *)user + recorded));
    if (align != 0 && size != recorded)
        ha_fault(user, "%s with size %zu, but the block was allocated with size %zu", what, size, recorded);
    if (align != 0 && ((uintptr_t)user & (align - 1)) != 0)
        ha_fault(user, "%s with alignment %zu, but the block is not aligned to it", what, align);
    live_bit(page, block_index(page, block), true, false);
}
#endif /* HA_CHECKED */
