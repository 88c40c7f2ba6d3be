/* alloc_accounting.c - single-CPU cases of the `alloc` suite: the page
 * allocator, usage figures, statistics, out of memory. They run on CPU 0;
 * the others wait. */
#include "alloc_cases.h"

/* ha_alloc_pages for every alignment from 4 KiB to 1 MiB and a few run
 * lengths, all live at once: aligned, writable, counted exactly by
 * ha_used_pages (and not by ha_used_bytes), uncounted again when freed. */
void ta_pages(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    static const size_t lengths[] = { 1, 3, 16 };
    enum { ALIGNS = 9, LENGTHS = 3 };
    void *runs[ALIGNS * LENGTHS];
    struct ta_usage u0;
    ta_usage_now(&u0);
    size_t avail0 = ha_available_pages(), live = 0;
    for (unsigned a = 0; a < ALIGNS; a++) {
        size_t align = (size_t)HA_PAGE_SIZE << a;
        for (unsigned l = 0; l < LENGTHS; l++) {
            size_t n = lengths[l];
            void *p = ha_alloc_pages(n, align);
            runs[a * LENGTHS + l] = p;
            TH_CHECK_MSG(ctx, p && ta_aligned(p, align), "ha_alloc_pages(%zu, %zu) = %p", n, align, p);
            ta_fill(p, n * HA_PAGE_SIZE, ctx->seed + a * LENGTHS + l);
            live += n;
            TH_CHECK_EQ(ctx, ha_used_pages(), u0.used_pages + live);
            TH_CHECK_EQ(ctx, ha_used_bytes(), u0.used_bytes);
        }
    }
    TH_CHECK_MSG(ctx, ha_available_pages() + live <= avail0,
                 "available pages %zu -> %zu after taking %zu", avail0, ha_available_pages(), live);
    for (unsigned i = 0; i < ALIGNS * LENGTHS; i++) {
        size_t bytes = lengths[i % LENGTHS] * HA_PAGE_SIZE;
        TH_CHECK_MSG(ctx, ta_verify(runs[i], bytes, ctx->seed + i) == bytes, "page run %u damaged", i);
    }
    /* Free in an order unlike the allocation order. */
    for (unsigned step = 0; step < ALIGNS * LENGTHS; step++) {
        unsigned i = (step * 7) % (ALIGNS * LENGTHS);
        ha_dealloc_pages(runs[i], lengths[i % LENGTHS]);
        live -= lengths[i % LENGTHS];
        TH_CHECK_EQ(ctx, ha_used_pages(), u0.used_pages + live);
    }
    TH_CHECK_EQ(ctx, ha_used_bytes(), u0.used_bytes);
}

/* Zero pages, non-power-of-two or zero alignment, and run lengths whose byte
 * size overflows return NULL and count nothing. */
void ta_pages_bad_args(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    size_t used0 = ha_used_pages();
    TH_CHECK(ctx, ha_alloc_pages(0, HA_PAGE_SIZE) == 0);
    TH_CHECK(ctx, ha_alloc_pages(1, 0) == 0);
    TH_CHECK(ctx, ha_alloc_pages(1, 3 * HA_PAGE_SIZE) == 0);
    TH_CHECK(ctx, ha_alloc_pages(1, HA_PAGE_SIZE + 1) == 0);
    TH_CHECK(ctx, ha_alloc_pages(1, 6 * HA_PAGE_SIZE) == 0);
    TH_CHECK(ctx, ha_alloc_pages((size_t)-1, HA_PAGE_SIZE) == 0);
    TH_CHECK(ctx, ha_alloc_pages((size_t)-1 / HA_PAGE_SIZE, HA_PAGE_SIZE) == 0);
    TH_CHECK(ctx, ha_alloc_pages((size_t)-1 / HA_PAGE_SIZE + 1, HA_PAGE_SIZE) == 0);
    TH_CHECK(ctx, ha_alloc_pages((size_t)1 << 40, 2 * TA_MIB) == 0);
    TH_CHECK_EQ(ctx, ha_used_pages(), used0);
}

/* Pages and byte blocks come from the same memory: exhaust the heap with
 * pages, free them, and byte blocks fill at least half of what the pages
 * held; free those, and pages get (nearly) all of it back. */
void ta_pages_and_bytes_share(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    struct ta_usage u0;
    ta_usage_now(&u0);
    size_t pages[2];
    for (unsigned round = 0; round < 2; round++) {
        void *runs = 0; /* chained through the first word of each run */
        size_t taken = 0;
        for (size_t n = 256; n >= 1; n /= 16) {
            void **r;
            while (taken < ((size_t)1 << 22) && (r = ha_alloc_pages(n, HA_PAGE_SIZE))) {
                r[0] = runs;
                r[1] = (void *)n;
                ((uint64_t *)r)[n * HA_PAGE_SIZE / 8 - 1] = (uintptr_t)r ^ n; /* last word */
                runs = r;
                taken += n;
            }
        }
        pages[round] = taken;
        /* The heap is full: record failures, free, and only then stop. */
        if (taken * HA_PAGE_SIZE < 16 * TA_MIB)
            th_fail_at(ctx, __FILE__, __LINE__, "only %zu pages before exhaustion", taken);
        TH_EXPECT(ctx, ha_used_pages() == u0.used_pages + taken);
        TH_EXPECT(ctx, ha_check() == 0);
        while (runs) {
            void **r = runs;
            size_t n = (size_t)r[1];
            if (((uint64_t *)r)[n * HA_PAGE_SIZE / 8 - 1] != ((uintptr_t)r ^ n)) {
                th_fail_at(ctx, __FILE__, __LINE__, "page run %p of %zu pages damaged", (void *)r, n);
                break; /* its link may be damaged too */
            }
            runs = r[0];
            ha_dealloc_pages(r, n);
        }
        TH_CHECK(ctx, !ctx->failed);
        TH_CHECK_EQ(ctx, ha_used_pages(), u0.used_pages);
        if (round == 1)
            break;

        struct ta_node *list = 0;
        size_t count, bytes = ta_exhaust(&list, 64 * TA_KIB, 256, ctx->seed, (size_t)1 << 22, &count);
        size_t damaged = ta_list_free(list);
        TH_CHECK_EQ(ctx, damaged, 0);
        TH_CHECK_MSG(ctx, bytes >= taken * HA_PAGE_SIZE / 2,
                     "byte blocks got %zu bytes after pages had %zu", bytes, taken * HA_PAGE_SIZE);
        TH_CHECK_EQ(ctx, ha_used_bytes(), u0.used_bytes);
    }
    TH_CHECK_MSG(ctx, pages[1] >= pages[0] - pages[0] / 16,
                 "pages: %zu before byte use, %zu after", pages[0], pages[1]);
}

/* A mix of blocks of every kind, with the size each was allocated with. */
static const size_t mix[][2] = {
    { 0, 8 }, { 1, 1 }, { 8, 8 }, { 24, 8 }, { 40, 16 }, { 100, 8 }, { 129, 64 }, { 500, 8 },
    { 1000, 8 }, { 2048, 2048 }, { 3000, 8 }, { 4096, 4096 }, { 8191, 8 }, { 20000, 16 },
    { 65536, 8 }, { 70000, 4096 }, { 200000, 8 }, { 600000, 64 }, { TA_MIB, 8 }, { 5 * TA_MIB + 1, 16 },
};
enum { MIX = sizeof mix / sizeof mix[0] };

/* ha_used_bytes and stats.bytes_in_use move by exactly the usable size of
 * each block allocated or freed. */
void ta_used_bytes_exact(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    void *blocks[MIX];
    struct ta_usage u0, u;
    ta_usage_now(&u0);
    size_t live = 0;
    for (unsigned i = 0; i < MIX; i++) {
        blocks[i] = ha_alloc(mix[i][0], mix[i][1]);
        TH_CHECK(ctx, blocks[i] != 0);
        live += ha_usable_size(blocks[i]);
        ta_usage_now(&u);
        TH_CHECK_MSG(ctx, u.used_bytes - u0.used_bytes == live,
                     "after ha_alloc(%zu): used bytes grew by %zu, usable sizes sum to %zu", mix[i][0],
                     u.used_bytes - u0.used_bytes, live);
        TH_CHECK_MSG(ctx, (uint64_t)(u.stats.bytes_in_use - u0.stats.bytes_in_use) == live,
                     "after ha_alloc(%zu): bytes_in_use grew by %llu, usable sizes sum to %zu",
                     mix[i][0], (unsigned long long)(u.stats.bytes_in_use - u0.stats.bytes_in_use), live);
    }
    TH_CHECK_EQ(ctx, ha_check(), 0); /* the validator, with blocks of every kind live */
    for (unsigned step = 0; step < MIX; step++) {
        unsigned i = (step * 7) % MIX; /* not in allocation order */
        live -= ha_usable_size(blocks[i]);
        ha_dealloc(blocks[i], mix[i][0], mix[i][1]);
        ta_usage_now(&u);
        TH_CHECK_MSG(ctx, u.used_bytes - u0.used_bytes == live,
                     "after freeing %zu bytes: used bytes %zu over the start, live usable %zu", mix[i][0],
                     u.used_bytes - u0.used_bytes, live);
        TH_CHECK_EQ(ctx, u.stats.bytes_in_use - u0.stats.bytes_in_use, live);
    }
    TH_CHECK_EQ(ctx, ha_used_bytes(), u0.used_bytes);
}

/* ha_get_stats(HA_ALL_CPUS) counts what the case did: one alloc per block
 * (plain or zeroed), one free per block, no remote frees from a single CPU;
 * the per-CPU figures add up to the total; counters never go down. */
void ta_stats_counts(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    void *blocks[2 * MIX];
    struct ha_stats s0, s1, s2, cpu_stats;
    TH_CHECK_EQ(ctx, ha_get_stats(HA_ALL_CPUS, 0), -HA_EINVAL);
    TH_CHECK_EQ(ctx, ha_get_stats(HA_ALL_CPUS, &s0), 0);
    uint64_t usable = 0;
    for (unsigned i = 0; i < 2 * MIX; i++) {
        size_t size = mix[i % MIX][0], align = mix[i % MIX][1];
        blocks[i] = i < MIX ? ha_alloc(size, align) : ha_alloc_zeroed(size, align);
        TH_CHECK(ctx, blocks[i] != 0);
        usable += ha_usable_size(blocks[i]);
    }
    TH_CHECK_EQ(ctx, ha_get_stats(HA_ALL_CPUS, &s1), 0);
    TH_CHECK_EQ(ctx, s1.allocs - s0.allocs, 2 * MIX);
    TH_CHECK_EQ(ctx, s1.frees, s0.frees);
    TH_CHECK_EQ(ctx, s1.remote_frees, s0.remote_frees);
    TH_CHECK_EQ(ctx, s1.bytes_in_use - s0.bytes_in_use, usable);
    TH_CHECK(ctx, s1.bytes_peak >= s1.bytes_in_use && s1.bytes_peak >= s0.bytes_peak);
    /* What the allocator holds covers what is live, and its peak what it
     * holds; live blocks take at least their usable bytes. */
    TH_CHECK_MSG(ctx, s1.bytes_held >= s1.bytes_in_use && s1.bytes_held > 0,
                 "%s holds %lld bytes for %lld live", ha_name(), (long long)s1.bytes_held,
                 (long long)s1.bytes_in_use);
    TH_CHECK(ctx, s1.bytes_held_peak >= s1.bytes_held && s1.bytes_held_peak >= s0.bytes_held_peak);

    /* Per-CPU figures: CPUs 0..ncpu-1 answer, and they sum to the total. */
    struct ha_stats sum = { 0 };
    unsigned cpus = 0;
    while (cpus < 4096 && ha_get_stats(cpus, &cpu_stats) == 0) {
        sum.allocs += cpu_stats.allocs;
        sum.frees += cpu_stats.frees;
        sum.remote_frees += cpu_stats.remote_frees;
        sum.bytes_in_use += cpu_stats.bytes_in_use;
        sum.pages_in_use += cpu_stats.pages_in_use;
        sum.segments_in_use += cpu_stats.segments_in_use;
        sum.bytes_held += cpu_stats.bytes_held;
        cpus++;
    }
    TH_CHECK_MSG(ctx, cpus >= ctx->ncpu && cpus < 4096, "ha_get_stats answers for %u CPUs of %u", cpus,
                 ctx->ncpu);
    TH_CHECK_EQ(ctx, sum.allocs, s1.allocs);
    TH_CHECK_EQ(ctx, sum.frees, s1.frees);
    TH_CHECK_EQ(ctx, sum.remote_frees, s1.remote_frees);
    TH_CHECK_EQ(ctx, sum.bytes_in_use, s1.bytes_in_use);
    TH_CHECK_EQ(ctx, sum.pages_in_use, s1.pages_in_use);
    TH_CHECK_EQ(ctx, sum.segments_in_use, s1.segments_in_use);
    TH_CHECK_EQ(ctx, sum.bytes_held, s1.bytes_held);

    for (unsigned i = 0; i < 2 * MIX; i++)
        ha_dealloc(blocks[i], mix[i % MIX][0], mix[i % MIX][1]);
    TH_CHECK_EQ(ctx, ha_get_stats(HA_ALL_CPUS, &s2), 0);
    TH_CHECK_EQ(ctx, s2.allocs, s1.allocs);
    TH_CHECK_EQ(ctx, s2.frees - s1.frees, 2 * MIX);
    TH_CHECK_EQ(ctx, s2.remote_frees, s0.remote_frees);
    TH_CHECK_EQ(ctx, s2.bytes_in_use, s0.bytes_in_use);
    TH_CHECK(ctx, s2.bytes_peak >= s1.bytes_in_use);
    TH_CHECK(ctx, s2.bytes_held >= s2.bytes_in_use && s2.bytes_held_peak >= s1.bytes_held);
}

/* Allocate until NULL (1 MiB blocks, then halves down to 256 bytes): the sum
 * of usable sizes is at most what was available; at exhaustion the heap is
 * consistent, a zeroed allocation and a growing realloc fail cleanly; after
 * freeing everything a second exhaustion gets (nearly) as much again. */
void ta_oom_recovers(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    struct ta_usage u0;
    ta_usage_now(&u0);
    size_t avail0 = ha_available_bytes(), got[2];
    for (unsigned round = 0; round < 2; round++) {
        struct ta_node *list = 0;
        size_t count;
        got[round] = ta_exhaust(&list, TA_MIB, 256, ctx->seed + round, (size_t)1 << 22, &count);
        /* While the heap is full, record failures and carry on to the frees,
         * so a failure here does not starve the cases after this one. */
        if (got[round] < 16 * TA_MIB || got[round] > avail0)
            th_fail_at(ctx, __FILE__, __LINE__, "got %zu bytes before NULL, with %zu available",
                       got[round], avail0);
        TH_EXPECT(ctx, ha_check() == 0);
        void *z = ha_alloc_zeroed(2 * TA_MIB, 8);
        if (z) {
            th_fail_at(ctx, __FILE__, __LINE__, "ha_alloc_zeroed(2 MiB) = %p after 256 bytes failed", z);
            ha_dealloc(z, 2 * TA_MIB, 8);
        }
        struct ta_node *last = list;
        if (last) {
            struct ta_node *rest = last->next;
            size_t size = last->size, align = last->align;
            void *q = ha_realloc(last, size, align, size + 4 * TA_MIB);
            if (q) {
                th_fail_at(ctx, __FILE__, __LINE__, "ha_realloc grew %zu bytes by 4 MiB in a full heap", size);
                list = rest;
                ha_dealloc(q, size + 4 * TA_MIB, align);
            }
        }
        TH_EXPECT(ctx, ta_list_damaged(list) == 0);
        TH_EXPECT(ctx, ha_check() == 0);

        size_t damaged = ta_list_free(list);
        TH_CHECK_EQ(ctx, damaged, 0);
        TH_CHECK(ctx, !ctx->failed);
        TH_CHECK_EQ(ctx, ha_used_bytes(), u0.used_bytes);
        void *p = ha_alloc(TA_MIB, 8);
        TH_CHECK_MSG(ctx, p != 0, "no 1 MiB block after freeing everything");
        ha_dealloc(p, TA_MIB, 8);
    }
    TH_CHECK_MSG(ctx, got[1] >= got[0] - got[0] / 16, "first exhaustion got %zu bytes, second %zu",
                 got[0], got[1]);
    TH_CHECK_EQ(ctx, ha_used_bytes(), u0.used_bytes);
}

/* A block nearly a segment large, allocated and freed alone, leaves the CPU
 * holding no more segments than before: an idle CPU must not keep memory
 * that only it could give back (mi keeps one empty large page for reuse,
 * but never one alone in its segment). One CPU, so mi-locked's one heap
 * sees nobody else. */
void ta_lone_large_gives_back(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    size_t size = 4 * TA_MIB - 64 * 1024;
    struct ha_stats s0, s1;
    TH_CHECK_EQ(ctx, ha_get_stats(0, &s0), 0);
    for (unsigned round = 0; round < 2; round++) {
        char *p = ha_alloc(size, 8);
        TH_CHECK_MSG(ctx, p != 0, "ha_alloc(%zu) failed", size);
        p[0] = p[size - 1] = 1;
        ha_dealloc(p, size, 8);
        TH_CHECK_EQ(ctx, ha_get_stats(0, &s1), 0);
        TH_CHECK_MSG(ctx, s1.segments_in_use <= s0.segments_in_use,
                     "round %u: CPU 0 holds %lld segments after freeing its lone large block, %lld before", round,
                     (long long)s1.segments_in_use, (long long)s0.segments_in_use);
    }
}
