/*
 * malloc-large - after mimalloc-bench's malloc-large: big blocks. Every CPU
 * keeps two live blocks and keeps replacing a random one with a new block
 * of random size between 64 KiB and 1 MiB, writing one byte per 4 KiB of it
 * (so a host allocator that maps fresh memory pays its page faults). The
 * sizes are smaller than the original's 5-25 MiB so that 8 harts fit the
 * kernel's 64 MiB heap. One op = one allocation and its free.
 */
#include "bench_alloc.h"

#define LIVE 2u
#define MIN_SIZE (64u << 10)
#define MAX_SIZE (1u << 20)
#define ITERS_PER_SCALE 200u

static __attribute__((noipa)) uint64_t malloc_large_run(struct th_ctx *ctx)
{
    uint64_t rng = ctx->seed ^ (0x6000u + ctx->cpu), ops = 0;
    char *block[LIVE] = { 0 };
    size_t size[LIVE] = { 0 };
    uint64_t iters = (uint64_t)ITERS_PER_SCALE * ctx->scale;
    for (uint64_t n = 0; n < iters; n++) {
        unsigned i = (unsigned)(th_rand(&rng) % LIVE);
        if (block[i])
            bench_free(block[i], size[i]);
        size[i] = bench_rand_range(&rng, MIN_SIZE, MAX_SIZE);
        block[i] = bench_malloc(size[i]);
        if (!block[i]) {
            th_fail_at(ctx, __FILE__, __LINE__, "out of memory at %zu bytes", size[i]);
            continue;
        }
        for (size_t off = 0; off < size[i]; off += 4096)
            block[i][off] = (char)n;
        bench_sink(block[i]);
        ops++;
    }
    for (unsigned i = 0; i < LIVE; i++)
        if (block[i])
            bench_free(block[i], size[i]);
    return ops;
}

const struct th_bench th_bench_malloc_large = {
    .name = "malloc-large",
    .what = "big blocks: 2 live per CPU, replaced by random sizes 64 KiB..1 MiB",
    .run = malloc_large_run,
};
