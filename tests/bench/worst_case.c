/*
 * worst_case.c - allocation patterns that drive each term of mi's worst-case
 * bound (alloc/mi/README.md, "Worst-case bound") to its maximum. They run on
 * every alloc_type through the ABI, but they are shaped after mi's slow
 * paths; tools/bench/run.py test-latency boots them under kernel-latency.elf
 * and checks mi's slowest call against the bound. Not timed workloads: the
 * op counts are the calls made.
 *
 *   worst-remote    a page whose remote-free list holds every block: CPU 0
 *                   allocates scale x 1024 blocks of 8 bytes, CPU 1 frees them
 *                   all, CPU 0 allocates as many again (each slow path
 *                   collects the remote frees).
 *   worst-returned  many full pages handed back at once: CPU 0 fills
 *                   scale x 32 pages of 1 KiB blocks, CPU 1 frees one block
 *                   of each (each free hands a full page back to CPU 0),
 *                   then CPU 0 allocates again.
 *   worst-queue     the same, and CPU 0 then frees one more block of each
 *                   page itself: the pages are back in their class queue
 *                   while still handed back (the search must skip them).
 *   worst-pool      a fragmented segment pool: CPU 0 takes every segment of
 *                   the pool with a block of its own (the largest large
 *                   block); frees the last and takes it again (the search
 *                   passes every used segment); frees every other one and
 *                   the last two, and takes a block of two segments (the
 *                   search passes every single free one); frees all.
 * With one CPU, CPU 0 makes the frees itself (local frees: no remote list).
 */
#include "bench_alloc.h"

#define REMOTE_BLOCKS 1024u  /* per scale */
#define RETURNED_PAGES 32u   /* per scale */
#define RETURNED_SIZE 1024u  /* a class of 64 blocks per 64 KiB page */
#define RETURNED_PER_PAGE 64u
#define POOL_SEGMENTS 1024u  /* at most: 4 GiB */
/* mi's largest block that still fits a segment of its own (MI_LARGE_MAX:
 * 64 slices of 64 KiB less the 12 KiB header). Other types just see big blocks. */
#define SEGMENT_BLOCK ((size_t)(4u << 20) - (12u << 10))
#define TWO_SEGMENT_BLOCK ((size_t)(8u << 20) - (12u << 10)) /* a huge run of two */

static void *blocks[8192u * 8];
static void *segment_blocks[POOL_SEGMENTS];

/* CPU 0 allocates `n` blocks of `size` into blocks[]; false when out of memory. */
static bool fill(struct th_ctx *ctx, unsigned n, size_t size)
{
    for (unsigned i = 0; i < n; i++)
        if (!(blocks[i] = bench_malloc(size))) {
            th_fail_at(ctx, __FILE__, __LINE__, "out of memory after %u blocks of %zu", i, size);
            return false;
        }
    return true;
}

static void release(unsigned n, size_t size)
{
    for (unsigned i = 0; i < n; i++)
        if (blocks[i])
            bench_free(blocks[i], size);
}

static unsigned scaled(struct th_ctx *ctx, unsigned per_scale, unsigned max)
{
    uint64_t n = (uint64_t)per_scale * ctx->scale;
    return n < max ? (unsigned)n : max;
}

static uint64_t remote_run(struct th_ctx *ctx)
{
    unsigned n = scaled(ctx, REMOTE_BLOCKS, sizeof blocks / sizeof blocks[0]);
    unsigned freer = ctx->ncpu > 1 ? 1 : 0;
    bool ok = true;
    if (ctx->cpu == 0)
        ok = fill(ctx, n, 8);
    th_barrier();
    if (ctx->cpu == freer)
        release(n, 8); /* into CPU 0's pages: their remote lists */
    th_barrier();
    if (ctx->cpu == 0 && ok) {
        ok = fill(ctx, n, 8); /* the slow paths collect the remote lists */
        release(n, 8);
    }
    th_barrier();
    return ctx->cpu == 0 ? 3ull * n : 0;
}

/* local_too: CPU 0 also frees a block of each page after the remote free,
 * which puts the page back in its class queue while it is still on the
 * returned stack (worst-queue). */
static uint64_t handed_back(struct th_ctx *ctx, bool local_too)
{
    unsigned pages = scaled(ctx, RETURNED_PAGES, sizeof blocks / sizeof blocks[0] / RETURNED_PER_PAGE);
    unsigned n = pages * RETURNED_PER_PAGE;
    unsigned freer = ctx->ncpu > 1 ? 1 : 0;
    bool ok = true;
    if (ctx->cpu == 0)
        ok = fill(ctx, n, RETURNED_SIZE); /* full pages, parked on the full queue */
    th_barrier();
    if (ctx->cpu == freer && ok)
        for (unsigned i = 0; i < n; i += RETURNED_PER_PAGE) {
            bench_free(blocks[i], RETURNED_SIZE); /* hands its page back */
            blocks[i] = 0;
        }
    th_barrier();
    if (ctx->cpu == 0 && ok && local_too)
        for (unsigned i = 1; i < n; i += RETURNED_PER_PAGE) {
            bench_free(blocks[i], RETURNED_SIZE);
            blocks[i] = 0;
        }
    if (ctx->cpu == 0 && ok) {
        /* One allocation per handed-back page and more: the slow paths take
         * the returned pages in. */
        void **again = &blocks[n];
        unsigned extra = pages < sizeof blocks / sizeof blocks[0] - n ? pages : 0;
        for (unsigned i = 0; i < extra; i++)
            again[i] = bench_malloc(RETURNED_SIZE);
        for (unsigned i = 0; i < extra; i++)
            if (again[i])
                bench_free(again[i], RETURNED_SIZE);
        release(n, RETURNED_SIZE);
    }
    th_barrier();
    return ctx->cpu == 0 ? 2ull * n : 0;
}

/* Segments the pool still has (mi); elsewhere just a cap. */
static unsigned pool_segments(void)
{
#ifdef BENCH_LIBC
    return POOL_SEGMENTS;
#else
    size_t n = ha_available_bytes() >> 22;
    return n < POOL_SEGMENTS ? (unsigned)n : POOL_SEGMENTS;
#endif
}

static uint64_t returned_run(struct th_ctx *ctx) { return handed_back(ctx, false); }
static uint64_t queue_run(struct th_ctx *ctx) { return handed_back(ctx, true); }

static uint64_t pool_run(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return 0;
    /* As many whole segments as the pool has (never one more: a failing
     * call would take the out-of-memory path, which the bound leaves out). */
    unsigned cap = pool_segments(), n = 0;
    while (n < cap && (segment_blocks[n] = bench_malloc(SEGMENT_BLOCK)))
        n++;
    if (n < 4) {
        th_fail_at(ctx, __FILE__, __LINE__, "only %u segment-sized blocks fit", n);
        return n;
    }
    uint64_t ops = n;
    /* The one free segment is the last: the search passes every other. */
    bench_free(segment_blocks[n - 1], SEGMENT_BLOCK);
    segment_blocks[n - 1] = bench_malloc(SEGMENT_BLOCK);
    ops += 2;
    /* Every other segment free, and the only run of two at the end: a block
     * of two segments passes every single free one. */
    for (unsigned i = 1; i < n; i += 2)
        if (i < n - 2) {
            bench_free(segment_blocks[i], SEGMENT_BLOCK);
            segment_blocks[i] = 0;
            ops++;
        }
    for (unsigned i = n - 2; i < n; i++) {
        if (segment_blocks[i])
            bench_free(segment_blocks[i], SEGMENT_BLOCK);
        segment_blocks[i] = 0;
        ops++;
    }
    void *two = bench_malloc(TWO_SEGMENT_BLOCK);
    if (two)
        bench_free(two, TWO_SEGMENT_BLOCK);
    ops += 2;
    for (unsigned i = 0; i < n; i++)
        if (segment_blocks[i]) {
            bench_free(segment_blocks[i], SEGMENT_BLOCK);
            ops++;
        }
    return ops;
}

/* Sizes of every small class up to 8 KiB: 8..64 by 8, then four per power of two. */
static unsigned class_sizes(size_t *sizes, unsigned max)
{
    unsigned n = 0;
    for (size_t sz = 8; sz <= 64 && n < max; sz += 8)
        sizes[n++] = sz;
    for (size_t p2 = 64; p2 < 8192 && n + 4 <= max; p2 *= 2)
        for (size_t k = 5; k <= 8; k++)
            sizes[n++] = p2 / 4 * k;
    return n;
}

/* A segment full of kept empty pages: CPU 0 takes one block of every small
 * class (the pages share its first segments), fills a second segment, then
 * frees the one blocks (each page stays, empty, as its class's only page) and
 * last the block that pins the first segment: that free retires every kept
 * page of the segment and gives the segment back. */
#define PIN_SIZE (192u << 10) /* above mi's medium classes: a page of its own */

static uint64_t sweep_run(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return 0;
    static size_t sizes[64];
    unsigned n = class_sizes(sizes, 64);
    uint64_t ops = 0;
    /* Two large blocks in the first segment: mi keeps the first freed as its
     * cached large page; the second one's free retires it, and the sweep. */
    void *pin[2] = { bench_malloc(PIN_SIZE), bench_malloc(PIN_SIZE) };
    for (unsigned i = 0; i < n; i++, ops++)
        blocks[i] = bench_malloc(sizes[i]);
    void *second = bench_malloc(SEGMENT_BLOCK); /* a second segment */
    for (unsigned i = 0; i < n; i++, ops++)
        if (blocks[i])
            bench_free(blocks[i], sizes[i]);
    for (unsigned i = 0; i < 2; i++)
        if (pin[i])
            bench_free(pin[i], PIN_SIZE);
    if (second)
        bench_free(second, SEGMENT_BLOCK);
    return ops + 6;
}

const struct th_bench th_bench_worst_sweep = {
    .name = "worst-sweep",
    .what = "mi bound: a free that gives back a segment of kept empty pages",
    .run = sweep_run,
};

const struct th_bench th_bench_worst_remote = {
    .name = "worst-remote",
    .what = "mi bound: a page whose remote-free list holds every block",
    .run = remote_run,
};

const struct th_bench th_bench_worst_returned = {
    .name = "worst-returned",
    .what = "mi bound: many full pages handed back to their owner at once",
    .run = returned_run,
};

const struct th_bench th_bench_worst_queue = {
    .name = "worst-queue",
    .what = "mi bound: a class queue of pages still on the returned stack",
    .run = queue_run,
};

const struct th_bench th_bench_worst_pool = {
    .name = "worst-pool",
    .what = "mi bound: a fragmented segment pool",
    .run = pool_run,
};
