/*
 * mpsc - many CPUs free into one CPU's pages: CPU 0 allocates every block
 * (random sizes 16..1024) and deals them round-robin through one ring per
 * consumer to CPUs 1..n-1, which free them. All those frees land on pages
 * owned by CPU 0, concurrently (the multi-producer single-consumer
 * thread_free lists of a sharded allocator); CPU 0 must keep reclaiming
 * them to go on. With one CPU, CPU 0 frees its own blocks a ring at a time.
 * The total work does not grow with the CPU count: ops/s shows how well the
 * remote frees keep up with one allocating CPU.
 * One op = one allocation (by CPU 0) and its free.
 */
#include "bench_alloc.h"

#define MIN_SIZE 16u
#define MAX_SIZE 1024u
#define BLOCKS_PER_SCALE 40000u
#define DONE ((void *)1) /* end-of-stream marker, never a block */

static struct bench_ring rings[BENCH_MAX_CPUS]; /* rings[k]: from CPU 0 to CPU k */

static __attribute__((noipa)) uint64_t deal(struct th_ctx *ctx, uint64_t count)
{
    unsigned ncpu = ctx->ncpu, k = 1;
    uint64_t rng = ctx->seed ^ 0x5000u;
    for (uint64_t n = 0; n < count; n++) {
        void *p = bench_malloc_sized(bench_rand_range(&rng, MIN_SIZE, MAX_SIZE));
        if (!p) {
            th_fail_at(ctx, __FILE__, __LINE__, "out of memory");
            p = bench_malloc_sized(MIN_SIZE);
        }
        if (ncpu == 1) {
            while (!bench_ring_push(&rings[0], p))
                for (void *q; (q = bench_ring_pop(&rings[0]));)
                    bench_free_sized(q);
            continue;
        }
        while (!bench_ring_push(&rings[k], p)) { /* full: try the next consumer */
            k = k + 1 < ncpu ? k + 1 : 1;
            if (k == 1)
                bench_wait(); /* all full */
        }
        k = k + 1 < ncpu ? k + 1 : 1;
    }
    if (ncpu == 1)
        for (void *q; (q = bench_ring_pop(&rings[0]));)
            bench_free_sized(q);
    for (k = 1; k < ncpu; k++)
        while (!bench_ring_push(&rings[k], DONE))
            bench_wait();
    return count;
}

static __attribute__((noipa)) void drain(struct bench_ring *ring)
{
    for (;;) {
        void *p = bench_ring_pop(ring);
        if (p == DONE)
            return;
        if (p)
            bench_free_sized(p);
        else
            bench_wait();
    }
}

static uint64_t mpsc_run(struct th_ctx *ctx)
{
    bench_ring_reset(&rings[ctx->cpu]);
    th_barrier();
    if (ctx->cpu != 0) {
        drain(&rings[ctx->cpu]);
        return 0;
    }
    return deal(ctx, (uint64_t)BLOCKS_PER_SCALE * ctx->scale);
}

const struct th_bench th_bench_mpsc = {
    .name = "mpsc",
    .what = "CPU 0 allocates 16..1024 bytes, CPUs 1..n-1 free them (remote frees into one heap)",
    .run = mpsc_run,
};
