/*
 * glibc-simple - after glibc's benchtests/bench-malloc-simple: allocate a
 * batch of N blocks of one size, then free the whole batch, for batch sizes
 * 25, 100, 400 and 1600 and block sizes 16 to 1024. It measures the plain
 * LIFO-free fast path and how a batch refills pages. Thread-local.
 * One op = one allocation and its free.
 */
#include "bench_alloc.h"

#define MAX_BATCH 1600u
#define ROUNDS_PER_SCALE 1u

static const unsigned batch_counts[] = { 25, 100, 400, 1600 };
static const unsigned block_sizes[] = { 16, 32, 64, 128, 256, 512, 1024 };

/* Allocate `count` blocks of `size`, then free them: `count` ops. */
static __attribute__((noipa)) uint64_t batch(struct th_ctx *ctx, void **slots, unsigned count,
                                             size_t size)
{
    for (unsigned i = 0; i < count; i++) {
        char *p = bench_malloc(size);
        if (!p) {
            th_fail_at(ctx, __FILE__, __LINE__, "out of memory at %zu bytes", size);
            count = i;
            break;
        }
        p[0] = (char)i;
        slots[i] = p;
    }
    bench_sink(slots);
    for (unsigned i = 0; i < count; i++)
        bench_free(slots[i], size);
    return count;
}

static uint64_t glibc_simple_run(struct th_ctx *ctx)
{
    void **slots = bench_malloc(MAX_BATCH * sizeof *slots);
    if (!slots) {
        th_fail_at(ctx, __FILE__, __LINE__, "out of memory for the batch array");
        return 0;
    }
    uint64_t ops = 0;
    unsigned rounds = ROUNDS_PER_SCALE * ctx->scale;
    for (unsigned r = 0; r < rounds; r++)
        for (unsigned c = 0; c < sizeof batch_counts / sizeof batch_counts[0]; c++)
            for (unsigned s = 0; s < sizeof block_sizes / sizeof block_sizes[0]; s++)
                /* As many batches as it takes to make ~1600 ops per pair. */
                for (unsigned k = 0; k < MAX_BATCH / batch_counts[c]; k++)
                    ops += batch(ctx, slots, batch_counts[c], block_sizes[s]);
    bench_free(slots, MAX_BATCH * sizeof *slots);
    return ops;
}

const struct th_bench th_bench_glibc_simple = {
    .name = "glibc-simple",
    .what = "glibc bench-malloc-simple: batches of 25..1600 blocks of 16..1024 bytes, then free",
    .run = glibc_simple_run,
};
