/* alloc_realloc.c - single-CPU cases of the `alloc` suite: realloc, zeroed
 * allocation and layout-free ha_free. They run on CPU 0; the others wait. */
#include "alloc_cases.h"

/* Walk one block through `count` sizes with ha_realloc(align): every result
 * is aligned, holds the new size, and keeps the first min(old, new) bytes.
 * The final block is freed. False after recording a failure. */
static bool realloc_walk(struct th_ctx *ctx, const size_t *sizes, unsigned count, size_t align,
                         uint64_t tag)
{
    size_t old = sizes[0];
    void *p = ha_alloc(old, align);
    if (!p) {
        th_fail_at(ctx, __FILE__, __LINE__, "ha_alloc(%zu, %zu) returned NULL", old, align);
        return false;
    }
    ta_fill(p, ha_usable_size(p), tag);
    for (unsigned i = 1; i < count; i++) {
        size_t size = sizes[i], keep = old < size ? old : size;
        void *q = ha_realloc(p, old, align, size);
        if (!q) {
            th_fail_at(ctx, __FILE__, __LINE__, "ha_realloc(%p, %zu, %zu, %zu) returned NULL", p, old,
                       align, size);
            ha_dealloc(p, old, align);
            return false;
        }
        size_t usable = ha_usable_size(q), bad = ta_verify(q, keep, tag + i - 1);
        if (!ta_aligned(q, align) || usable < size || bad != keep) {
            th_fail_at(ctx, __FILE__, __LINE__,
                       "ha_realloc(%zu -> %zu, align %zu) = %p, usable %zu, first bad byte %zu of %zu",
                       old, size, align, q, usable, bad, keep);
            ha_dealloc(q, size, align);
            return false;
        }
        ta_fill(q, usable, tag + i);
        p = q;
        old = size;
    }
    ha_dealloc(p, old, align);
    return true;
}

/* Grow step by step from 1 byte to 5 MiB and shrink back, across every kind
 * of block (small, medium, page-sized, huge). */
void ta_realloc_chain(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    static const size_t sizes[] = {
        1, 2, 7, 8, 9, 16, 17, 100, 1000, 1024, 4095, 4096, 4097, 20000, 65536, 65537, 70000,
        300000, TA_MIB + 3, 5 * TA_MIB + 1, 700000, 40000, 3000, 130, 24, 5, 1,
        /* and straight from tiny to huge and back */
        3 * TA_MIB, 10, 6 * TA_MIB + 7, 33,
    };
    size_t used0 = ha_used_bytes();
    if (!realloc_walk(ctx, sizes, sizeof sizes / sizeof sizes[0], 8, ctx->seed))
        return;
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* Blocks of many sizes, all live and so hemmed in by their neighbours, each
 * grown threefold (which must move most of them: the copy path), then shrunk
 * to a quarter, then grown again: every step keeps the first min(old, new)
 * bytes, and the blocks never overlap. */
void ta_realloc_moves(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    enum { N = 48 };
    struct { void *p; size_t size; uint64_t tag; } b[N];
    size_t used0 = ha_used_bytes();
    uint64_t rng = ctx->seed;
    for (unsigned i = 0; i < N; i++) {
        b[i].size = 1 + th_rand(&rng) % (i % 4 == 3 ? 300 * TA_KIB : 3000);
        b[i].tag = th_rand(&rng);
        b[i].p = ha_alloc(b[i].size, 16);
        TH_CHECK_MSG(ctx, b[i].p, "ha_alloc(%zu, 16) returned NULL", b[i].size);
        ta_fill(b[i].p, b[i].size, b[i].tag);
    }
    static const unsigned num[] = { 3, 1, 5 }, den[] = { 1, 4, 1 };
    for (unsigned step = 0; step < 3; step++) {
        for (unsigned i = 0; i < N; i++) {
            size_t size = b[i].size * num[step] / den[step] + 1, keep = size < b[i].size ? size : b[i].size;
            void *q = ha_realloc(b[i].p, b[i].size, 16, size);
            TH_CHECK_MSG(ctx, q, "ha_realloc(%zu -> %zu) returned NULL", b[i].size, size);
            size_t bad = ta_verify(q, keep, b[i].tag);
            TH_CHECK_MSG(ctx, bad == keep && ta_aligned(q, 16),
                         "ha_realloc(%zu -> %zu) = %p (from %p): byte %zu of %zu differs", b[i].size, size,
                         q, b[i].p, bad, keep);
            b[i].p = q;
            b[i].size = size;
            b[i].tag = th_rand(&rng);
            ta_fill(q, size, b[i].tag);
        }
        for (unsigned i = 0; i < N; i++)
            TH_CHECK_MSG(ctx, ta_verify(b[i].p, b[i].size, b[i].tag) == b[i].size,
                         "block %u (%zu bytes) damaged by the reallocs of its neighbours", i, b[i].size);
    }
    for (unsigned i = 0; i < N; i++)
        ha_dealloc(b[i].p, b[i].size, 16);
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* Realloc to the same size, and up to the block's usable size, keeps the
 * contents (in place or not: the ABI does not say which). */
void ta_realloc_within_usable(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    static const size_t sizes[] = { 1, 13, 24, 100, 777, 2048, 3000, 4096, 9000, 65536, 200000,
                                    TA_MIB + 1, 4 * TA_MIB + 5 };
    size_t used0 = ha_used_bytes();
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t size = sizes[i];
        void *p = ha_alloc(size, 16);
        TH_CHECK(ctx, p != 0);
        size_t usable = ha_usable_size(p);
        TH_CHECK(ctx, usable >= size);
        ta_fill(p, usable, ctx->seed + i);
        void *q = ha_realloc(p, size, 16, size);
        TH_CHECK_MSG(ctx, q && ta_verify(q, size, ctx->seed + i) == size,
                     "ha_realloc to the same size %zu lost the contents", size);
        void *r = ha_realloc(q, size, 16, usable);
        TH_CHECK_MSG(ctx, r && ha_usable_size(r) >= usable && ta_verify(r, size, ctx->seed + i) == size,
                     "ha_realloc from %zu to its usable size %zu lost the contents", size, usable);
        ha_dealloc(r, usable, 16);
    }
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* Realloc keeps the alignment the block was allocated with, up to 1 MiB. */
void ta_realloc_aligned(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    static const size_t sizes[] = { 100, 5000, 300000, 50, 2 * TA_MIB + 1, 10, 70000 };
    static const size_t aligns[] = { 16, 64, 4096, 64 * TA_KIB, TA_MIB };
    size_t used0 = ha_used_bytes();
    for (unsigned a = 0; a < sizeof aligns / sizeof aligns[0]; a++)
        if (!realloc_walk(ctx, sizes, sizeof sizes / sizeof sizes[0], aligns[a], ctx->seed + a * 64))
            return;
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* A realloc that cannot be satisfied returns NULL and leaves the block as it
 * was: same usable size, same contents, still freeable and still growable. */
void ta_realloc_fail_keeps_block(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    static const size_t sizes[] = { 24, 1000, 70000, 3 * TA_MIB };
    size_t used0 = ha_used_bytes();
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t size = sizes[i];
        void *p = ha_alloc(size, 8);
        TH_CHECK(ctx, p != 0);
        size_t usable = ha_usable_size(p), used = ha_used_bytes();
        ta_fill(p, usable, ctx->seed + i);
        TH_CHECK(ctx, ha_realloc(p, size, 8, (size_t)1 << 40) == 0);
        TH_CHECK(ctx, ha_realloc(p, size, 8, (size_t)-1 - 16) == 0);
        TH_CHECK(ctx, ha_realloc(p, size, 8, (size_t)-1) == 0);
        TH_CHECK_EQ(ctx, ha_usable_size(p), usable);
        TH_CHECK_EQ(ctx, ta_verify(p, usable, ctx->seed + i), usable);
        TH_CHECK_EQ(ctx, ha_used_bytes(), used);
        void *q = ha_realloc(p, size, 8, 2 * size);
        TH_CHECK_MSG(ctx, q && ta_verify(q, size, ctx->seed + i) == size,
                     "block of %zu bytes unusable after a failed realloc", size);
        ha_dealloc(q, 2 * size, 8);
    }
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* ha_alloc_zeroed returns zeroed memory even when the memory it reuses was
 * just dirtied and freed: for each size, rounds of (allocate a batch, dirty
 * the whole usable size, free it, allocate the batch zeroed, check zero). */
void ta_zeroed_after_reuse(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    static const size_t sizes[] = { 1, 8, 24, 100, 500, 1000, 4000, 4096, 10000, 65536, 100000,
                                    TA_MIB, 3 * TA_MIB + 5 };
    enum { BATCH = 16 };
    void *blocks[BATCH];
    size_t used0 = ha_used_bytes();
    for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t size = sizes[s], align = s & 1 ? 64 : 8;
        unsigned batch = size <= 65536 ? BATCH : 2;
        for (unsigned round = 0; round < 3; round++) {
            for (unsigned i = 0; i < batch; i++) {
                blocks[i] = ha_alloc(size, align);
                TH_CHECK(ctx, blocks[i] != 0);
                __builtin_memset(blocks[i], 0xa5, ha_usable_size(blocks[i]));
            }
            for (unsigned i = 0; i < batch; i++)
                ha_dealloc(blocks[i], size, align);
            for (unsigned i = 0; i < batch; i++) {
                blocks[i] = ha_alloc_zeroed(size, align);
                TH_CHECK_MSG(ctx, blocks[i] && ta_aligned(blocks[i], align) && ta_is_zero(blocks[i], size),
                             "ha_alloc_zeroed(%zu, %zu) round %u = %p is not zero", size, align, round,
                             blocks[i]);
            }
            for (unsigned i = 0; i < batch; i++) {
                __builtin_memset(blocks[i], 0x5a, size);
                ha_dealloc(blocks[i], size, align);
            }
        }
    }
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* A run of pages chained through its first bytes. */
struct page_run {
    struct page_run *next;
    size_t pages;
};

/* Dirty one word in every DIRT_STRIDE bytes (the whole heap is too much to
 * write under TCG) and check it back: a backend that skips the memset of a
 * zeroed block over dirtied memory leaves these words set. */
#define DIRT_STRIDE 256u
static void dirty_sparse(void *p, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i += DIRT_STRIDE)
        *(volatile uint64_t *)((uint8_t *)p + i) = 0xc3c3c3c3c3c3c3c3ull;
}

/* Zero check of a block: all of its first and last 4 KiB, and in between
 * every word where dirty_sparse may have written (stride-aligned). */
static bool zero_sampled(const void *p, size_t n)
{
    if (n <= 8 * TA_KIB)
        return ta_is_zero(p, n);
    if (!ta_is_zero(p, 4 * TA_KIB) || !ta_is_zero((const uint8_t *)p + n - 4 * TA_KIB, 4 * TA_KIB))
        return false;
    uintptr_t a = ((uintptr_t)p + DIRT_STRIDE - 1) & ~(uintptr_t)(DIRT_STRIDE - 1);
    for (; a + 8 <= (uintptr_t)p + n; a += DIRT_STRIDE)
        if (*(const uint64_t *)a)
            return false;
    return true;
}

/* Take pages until none are left (runs of 256, then 16, then 1 pages),
 * dirty them all, free them; then zeroed byte blocks of every kind (any
 * memory they get was dirtied) are zero. */
void ta_zeroed_after_pages(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    struct ta_usage u0;
    ta_usage_now(&u0);
    struct page_run *runs = 0;
    size_t taken = 0;
    for (size_t n = 256; n >= 1; n /= 16) {
        struct page_run *r;
        while (taken < ((size_t)1 << 22) && (r = ha_alloc_pages(n, HA_PAGE_SIZE))) {
            dirty_sparse(r, n * HA_PAGE_SIZE);
            r->pages = n;
            r->next = runs;
            runs = r;
            taken += n;
        }
    }
    if (taken * HA_PAGE_SIZE < 16 * TA_MIB)
        th_fail_at(ctx, __FILE__, __LINE__, "only %zu pages before exhaustion", taken);
    while (runs) {
        struct page_run *next = runs->next;
        ha_dealloc_pages(runs, runs->pages);
        runs = next;
    }
    TH_CHECK(ctx, !ctx->failed);
    TH_CHECK_EQ(ctx, ha_used_pages(), u0.used_pages);

    /* Zeroed blocks chained like pages: 3 MiB of each big size, 512 blocks
     * of each small one. */
    static const size_t sizes[] = { TA_MIB + 8, 256 * TA_KIB, 64 * TA_KIB, 4096, 100, 2 * TA_MIB };
    struct ta_node *list = 0;
    size_t got = 0;
    for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t size = sizes[s], quota = got + (size >= 64 * TA_KIB ? 3 * TA_MIB : 512 * size);
        struct ta_node *b;
        while (got < quota && (b = ha_alloc_zeroed(size, TA_NODE_ALIGN))) {
            if (!zero_sampled(b, size)) {
                th_fail_at(ctx, __FILE__, __LINE__, "ha_alloc_zeroed(%zu) = %p is not zero after pages",
                           size, b);
                ha_dealloc(b, size, TA_NODE_ALIGN);
                break;
            }
            b->size = size;
            b->align = TA_NODE_ALIGN;
            b->tag = 0;
            ta_fill_ends(b + 1, size - sizeof *b, 0, TA_EDGE);
            b->next = list;
            list = b;
            got += size;
        }
        if (got < quota)
            th_fail_at(ctx, __FILE__, __LINE__, "ha_alloc_zeroed(%zu) NULL after %zu bytes", size, got);
    }
    size_t damaged = ta_list_free(list);
    TH_CHECK_EQ(ctx, damaged, 0);
    TH_CHECK_EQ(ctx, ha_used_bytes(), u0.used_bytes);
}

/* ha_free takes back blocks of every kind without their layout. */
void ta_free_without_layout(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    static const size_t layouts[][2] = {
        { 0, 1 }, { 1, 1 }, { 24, 8 }, { 100, 64 }, { 3000, 16 }, { 5000, 4096 }, { 70000, 8 },
        { 300000, 65536 }, { TA_MIB, TA_MIB }, { 5 * TA_MIB + 3, 16 }, { 0, 4096 }, { 17, 2 * TA_MIB },
    };
    enum { N = sizeof layouts / sizeof layouts[0] };
    void *blocks[N];
    struct ta_usage u0, u1;
    ta_usage_now(&u0);
    for (unsigned i = 0; i < N; i++) {
        blocks[i] = ha_alloc(layouts[i][0], layouts[i][1]);
        TH_CHECK_MSG(ctx, blocks[i] && ta_aligned(blocks[i], layouts[i][1]),
                     "ha_alloc(%zu, %zu) = %p", layouts[i][0], layouts[i][1], blocks[i]);
        ta_fill(blocks[i], ha_usable_size(blocks[i]), ctx->seed + i);
    }
    for (unsigned i = 0; i < N; i++) {
        size_t usable = ha_usable_size(blocks[i]);
        TH_CHECK_EQ(ctx, ta_verify(blocks[i], usable, ctx->seed + i), usable);
        ha_free(blocks[i]);
    }
    ta_usage_now(&u1);
    TH_CHECK_EQ(ctx, u1.used_bytes, u0.used_bytes);
    TH_CHECK_EQ(ctx, u1.stats.allocs - u0.stats.allocs, N);
    TH_CHECK_EQ(ctx, u1.stats.frees - u0.stats.frees, N);
    TH_CHECK_EQ(ctx, u1.stats.bytes_in_use, u0.stats.bytes_in_use);
}

/* Large blocks freed and asked for again: the same size, a smaller one at a
 * large alignment, a larger one, a much smaller one (mi keeps one freed large
 * page for the next request of about its size), beside a block that stays
 * live across each step. Every block is aligned and keeps what is written to
 * it, the validator passes after each free, and the used bytes come back to
 * the start. */
void ta_large_reuse(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    static const struct { size_t size, align; } steps[] = {
        { 300u << 10, 8 },  { 300u << 10, 8 },     { 290u << 10, 65536 }, { 900u << 10, 8 },
        { 200u << 10, 16 }, { 150u << 10, 4096 }, { 600u << 10, 8 },     { 600u << 10, 1u << 20 },
    };
    size_t used0 = ha_used_bytes();
    void *kept = 0;
    size_t kept_size = 0;
    for (unsigned i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        size_t size = steps[i].size, align = steps[i].align;
        for (unsigned again = 0; again < 2; again++) {
            uint64_t tag = i * 2 + again + 1;
            void *p = ha_alloc(size, align);
            TH_CHECK_MSG(ctx, p && ta_aligned(p, align), "step %u: ha_alloc(%zu, %zu) = %p", i, size, align, p);
            ta_fill(p, size, tag);
            TH_CHECK_MSG(ctx, !kept || ta_verify(kept, kept_size, 0) == kept_size,
                         "step %u: the live block %p changed", i, kept);
            TH_CHECK_MSG(ctx, ta_verify(p, size, tag) == size, "step %u: block %p does not hold what was written", i, p);
            ha_dealloc(p, size, align);
            TH_CHECK_EQ(ctx, ha_check(), 0);
        }
        if (kept)
            ha_dealloc(kept, kept_size, 8);
        kept_size = size / 2;
        kept = ha_alloc(kept_size, 8);
        TH_CHECK(ctx, kept != 0);
        ta_fill(kept, kept_size, 0);
    }
    ha_dealloc(kept, kept_size, 8);
    TH_CHECK_EQ(ctx, ha_check(), 0);
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}
