/*
 * glibc-thread - after glibc's benchtests/bench-malloc-thread: every CPU
 * keeps a working set of 1024 slots and, again and again, frees the block in
 * a random slot and puts a new one of random size there. Sizes run from 4 to
 * 32768 bytes with an inverse-square distribution, so small blocks dominate
 * and a few large ones keep the medium size classes busy. No block leaves its
 * CPU: this is the thread-local fast path under a realistic size mix.
 * One op = one allocation and, later, its free.
 */
#include "bench_alloc.h"

#define WORKING_SET 1024u
#define MIN_SIZE 4u
#define MAX_SIZE 32768u
#define ITERS_PER_SCALE 20000u

/* Inverse-square distribution on [MIN_SIZE, MAX_SIZE]: 1/size is uniform. */
static size_t inverse_square_size(uint64_t *rng)
{
    uint64_t r = th_rand(rng) >> 32; /* uniform in [0, 2^32) */
    uint64_t span = MAX_SIZE - MIN_SIZE;
    uint64_t den = MAX_SIZE - ((r * span) >> 32);
    return (size_t)((uint64_t)MIN_SIZE * MAX_SIZE / den);
}

static __attribute__((noipa)) uint64_t glibc_thread_run(struct th_ctx *ctx)
{
    uint64_t rng = ctx->seed ^ (0x1000u + ctx->cpu);
    void **blocks = bench_malloc(WORKING_SET * sizeof *blocks);
    size_t *sizes = bench_malloc(WORKING_SET * sizeof *sizes);
    if (!blocks || !sizes) {
        th_fail_at(ctx, __FILE__, __LINE__, "out of memory for the working set");
        return 0;
    }
    for (unsigned i = 0; i < WORKING_SET; i++)
        blocks[i] = 0;
    uint64_t iters = (uint64_t)ITERS_PER_SCALE * ctx->scale, ops = 0;
    for (uint64_t n = 0; n < iters; n++) {
        unsigned i = (unsigned)(th_rand(&rng) % WORKING_SET);
        if (blocks[i])
            bench_free(blocks[i], sizes[i]);
        size_t size = inverse_square_size(&rng);
        char *p = bench_malloc(size);
        if (!p) {
            th_fail_at(ctx, __FILE__, __LINE__, "out of memory at %zu bytes", size);
            blocks[i] = 0;
            continue;
        }
        p[0] = (char)n; /* touch it, as a real user would */
        bench_sink(p);
        blocks[i] = p;
        sizes[i] = size;
        ops++;
    }
    for (unsigned i = 0; i < WORKING_SET; i++)
        if (blocks[i])
            bench_free(blocks[i], sizes[i]);
    bench_free(blocks, WORKING_SET * sizeof *blocks);
    bench_free(sizes, WORKING_SET * sizeof *sizes);
    return ops;
}

const struct th_bench th_bench_glibc_thread = {
    .name = "glibc-thread",
    .what = "glibc bench-malloc-thread: random sizes 4..32K in a 1024-slot working set per CPU",
    .run = glibc_thread_run,
};
