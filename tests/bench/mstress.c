/*
 * mstress - after mimalloc's test/test-stress.c: every CPU allocates and
 * frees blocks in a random order (mostly small, 1% ten times larger, 0.1% a
 * hundred times larger), keeping about half of them for a while, and swaps
 * random blocks with a shared transfer array, so blocks are freed by CPUs
 * that did not allocate them, at unpredictable times. Rounds end with every
 * CPU freeing what it holds; the transfer array survives across rounds.
 * One op = one allocation.
 */
#include "bench_alloc.h"

#define TRANSFERS 1000u
#define ALLOCS_PER_ROUND 2000u /* per CPU, times 1..4 depending on the CPU */
#define ROUNDS_PER_SCALE 2u

static void *transfer[TRANSFERS];

static size_t stress_size(uint64_t *rng)
{
    size_t size = 8 * bench_rand_range(rng, 1, 32);
    unsigned roll = (unsigned)(th_rand(rng) % 1000);
    if (roll == 0)
        size *= 100; /* up to 25 KiB */
    else if (roll < 10)
        size *= 10;
    return size;
}

/* One round of one CPU: `allocs` allocations, interleaved with frees of
 * random held blocks and transfers. Returns the allocations done. */
static __attribute__((noipa)) uint64_t stress_round(struct th_ctx *ctx, void **held,
                                                    unsigned allocs, uint64_t *rng)
{
    unsigned top = 0, retain = allocs / 2, done = 0;
    while (done < allocs || retain > 0) {
        if (retain == 0 || (done < allocs && (th_rand(rng) & 1))) {
            void *p = bench_malloc_sized(stress_size(rng));
            if (!p) {
                th_fail_at(ctx, __FILE__, __LINE__, "out of memory");
                break;
            }
            held[top++] = p;
            done++;
        } else {
            retain--;
            if (top > 0) { /* free a random held block, fill its hole */
                unsigned i = (unsigned)(th_rand(rng) % top);
                bench_free_sized(held[i]);
                held[i] = held[--top];
            }
        }
        if (top > 0 && th_rand(rng) % 3 != 0) { /* two times in three: swap */
            unsigned i = (unsigned)(th_rand(rng) % top);
            unsigned t = (unsigned)(th_rand(rng) % TRANSFERS);
            void *got = __atomic_exchange_n(&transfer[t], held[i], __ATOMIC_ACQ_REL);
            if (got)
                held[i] = got;
            else
                held[i] = held[--top];
        }
    }
    while (top > 0)
        bench_free_sized(held[--top]);
    return done;
}

static uint64_t mstress_run(struct th_ctx *ctx)
{
    uint64_t rng = ctx->seed ^ (0x3000u + ctx->cpu), ops = 0;
    unsigned allocs = ALLOCS_PER_ROUND * (ctx->cpu % 4 + 1); /* uneven CPUs */
    void **held = bench_malloc(allocs * sizeof *held);
    if (ctx->cpu == 0)
        for (unsigned t = 0; t < TRANSFERS; t++)
            transfer[t] = 0;
    th_barrier();
    unsigned rounds = ROUNDS_PER_SCALE * ctx->scale;
    for (unsigned r = 0; r < rounds && held; r++)
        ops += stress_round(ctx, held, allocs, &rng);
    if (!held)
        th_fail_at(ctx, __FILE__, __LINE__, "out of memory for the held array");
    th_barrier();
    /* Whatever is still in transit is freed by whoever's stripe it is in. */
    for (unsigned t = ctx->cpu; t < TRANSFERS; t += ctx->ncpu)
        if (transfer[t])
            bench_free_sized(transfer[t]);
    if (held)
        bench_free(held, allocs * sizeof *held);
    return ops;
}

const struct th_bench th_bench_mstress = {
    .name = "mstress",
    .what = "mimalloc-style stress: random alloc/free, 1% big blocks, swaps via a shared array",
    .run = mstress_run,
};
