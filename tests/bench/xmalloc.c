/*
 * xmalloc-test - after Lever and Boreham's xmalloc-test (as in
 * mimalloc-bench): one set of CPUs only allocates, the other only frees.
 * CPUs pair up: even CPU 2k produces blocks of random small size and hands
 * them through a ring to odd CPU 2k+1, which frees them. Every block is thus
 * freed remotely, and the producer must win its pages back from the remote
 * frees. A CPU without a partner (ncpu = 1, or the last of an odd count)
 * plays both parts, a ring-full of blocks at a time.
 * One op = one allocation (by a producer) and its free (by a consumer).
 */
#include "bench_alloc.h"

#define MIN_SIZE 8u
#define MAX_SIZE 256u
#define BLOCKS_PER_SCALE 20000u

static struct bench_ring rings[BENCH_MAX_CPUS]; /* rings[2k]: from CPU 2k to 2k+1 */

static __attribute__((noipa)) uint64_t produce(struct th_ctx *ctx, struct bench_ring *ring,
                                               uint64_t count, bool alone)
{
    uint64_t rng = ctx->seed ^ (0x4000u + ctx->cpu);
    for (uint64_t n = 0; n < count; n++) {
        void *p = bench_malloc_sized(bench_rand_range(&rng, MIN_SIZE, MAX_SIZE));
        if (!p) {
            th_fail_at(ctx, __FILE__, __LINE__, "out of memory");
            p = bench_malloc_sized(MIN_SIZE);
        }
        while (!bench_ring_push(ring, p)) {
            if (alone) /* ring full: play the consumer */
                for (void *q; (q = bench_ring_pop(ring));)
                    bench_free_sized(q);
            else
                bench_wait();
        }
    }
    if (alone)
        for (void *q; (q = bench_ring_pop(ring));)
            bench_free_sized(q);
    return count;
}

static __attribute__((noipa)) void consume(struct bench_ring *ring, uint64_t count)
{
    for (uint64_t n = 0; n < count;) {
        void *p = bench_ring_pop(ring);
        if (p) {
            bench_free_sized(p);
            n++;
        } else {
            bench_wait();
        }
    }
}

static uint64_t xmalloc_run(struct th_ctx *ctx)
{
    unsigned cpu = ctx->cpu;
    uint64_t count = (uint64_t)BLOCKS_PER_SCALE * ctx->scale;
    struct bench_ring *ring = &rings[cpu & ~1u];
    if (!(cpu & 1))
        bench_ring_reset(ring);
    th_barrier();
    if (cpu & 1) {
        consume(ring, count);
        return 0; /* ops are counted by the producer */
    }
    return produce(ctx, ring, count, cpu + 1 == ctx->ncpu);
}

const struct th_bench th_bench_xmalloc = {
    .name = "xmalloc",
    .what = "xmalloc-test: even CPUs allocate 8..256 bytes, odd CPUs free them",
    .run = xmalloc_run,
};
