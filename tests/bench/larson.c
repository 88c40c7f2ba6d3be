/*
 * larson - after Larson and Krishnan's server simulation (as run by
 * mimalloc-bench: sizes 8..1000, a fixed array of blocks per thread): every
 * CPU owns an array of blocks and replaces random ones with new blocks of
 * random size. In the original, each thread eventually exits and a new
 * thread inherits its array; here, after every round, each CPU takes over
 * the array of its neighbour, so most frees are of blocks another CPU
 * allocated (remote frees), and the pages they return to belong to others.
 * One op = one allocation (replacing a block frees the old one).
 */
#include "bench_alloc.h"

#define SLOTS 1000u
#define MIN_SIZE 8u
#define MAX_SIZE 1000u
#define REPLACE_PER_ROUND 2000u
#define ROUNDS_PER_SCALE 2u

/* slots[c]: the array CPU c fills first. Static, so every CPU finds its
 * neighbour's array whole, even after an allocation failed. */
static void *slots[BENCH_MAX_CPUS][SLOTS];

static __attribute__((noipa)) uint64_t replace_round(struct th_ctx *ctx, void **slot,
                                                     uint64_t *rng)
{
    uint64_t ops = 0;
    for (unsigned n = 0; n < REPLACE_PER_ROUND; n++) {
        unsigned i = (unsigned)(th_rand(rng) % SLOTS);
        if (slot[i]) /* NULL only after an out-of-memory failure */
            bench_free_sized(slot[i]);
        slot[i] = bench_malloc_sized(bench_rand_range(rng, MIN_SIZE, MAX_SIZE));
        if (!slot[i])
            th_fail_at(ctx, __FILE__, __LINE__, "out of memory");
        ops++;
    }
    return ops;
}

static uint64_t larson_run(struct th_ctx *ctx)
{
    unsigned cpu = ctx->cpu, ncpu = ctx->ncpu;
    uint64_t rng = ctx->seed ^ (0x2000u + cpu), ops = 0;
    for (unsigned i = 0; i < SLOTS; i++)
        if (!(slots[cpu][i] = bench_malloc_sized(bench_rand_range(&rng, MIN_SIZE, MAX_SIZE))))
            th_fail_at(ctx, __FILE__, __LINE__, "out of memory filling the array");
    th_barrier();
    unsigned rounds = ROUNDS_PER_SCALE * ctx->scale;
    for (unsigned r = 0; r < rounds; r++) {
        /* Round r works on the array first filled by CPU cpu + r. */
        ops += replace_round(ctx, slots[(cpu + r) % ncpu], &rng);
        th_barrier(); /* nobody touches an array another CPU still works on */
    }
    void **last = slots[(cpu + rounds) % ncpu]; /* one array per CPU, as in every round */
    for (unsigned i = 0; i < SLOTS; i++)
        if (last[i])
            bench_free_sized(last[i]);
    return ops;
}

const struct th_bench th_bench_larson = {
    .name = "larson",
    .what = "Larson server simulation: blocks of 8..1000 bytes, arrays passed between CPUs",
    .run = larson_run,
};
