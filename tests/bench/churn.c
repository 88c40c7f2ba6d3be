/*
 * churn - threads that come and go, in the spirit of mimalloc's test-stress
 * (our own code): each CPU runs `scale` generations, each on a fresh thread
 * on the host (bench_in_fresh_thread; a hart runs them in turn). A
 * generation keeps a working set of blocks of mostly small, sometimes large
 * sizes, replaces and frees them at random, and swaps some with a shared
 * transfer table, so blocks outlive the thread that allocated them and are
 * freed by another. When a generation ends it frees what it still holds,
 * except what it left in the table. What a peer's memory use shows here is
 * how much an allocator keeps for threads that are gone.
 * One op = one allocation.
 */
#include "bench_alloc.h"

#define LIVE_SLOTS 400u        /* blocks a generation keeps at once          */
#define STEPS 4000u            /* operations per generation                  */
#define TRANSFER_SLOTS 1024u   /* shared by all CPUs                         */
#define TRANSFER_EVERY 8u      /* one step in this many swaps with the table */

static void *transfer[TRANSFER_SLOTS]; /* any CPU: atomic exchange only */

struct generation {
    struct th_ctx *ctx;
    uint64_t rng;
    uint64_t ops;
    bool oom;
};

/* Mostly 8..1024 bytes; one in 64 up to 32 KiB; one in 1024 up to 512 KiB. */
static size_t churn_size(uint64_t *rng)
{
    uint64_t r = th_rand(rng);
    if (r % 1024 == 0)
        return bench_rand_range(rng, 32 * 1024, 512 * 1024);
    if (r % 64 == 0)
        return bench_rand_range(rng, 1024, 32 * 1024);
    size_t base = (size_t)8 << ((r >> 12) % 8);
    return base + (size_t)((r >> 20) % base);
}

static void generation_run(void *arg)
{
    struct generation *g = arg;
    void **live = bench_malloc(LIVE_SLOTS * sizeof(void *));
    if (!live) {
        g->oom = true;
        return;
    }
    for (unsigned i = 0; i < LIVE_SLOTS; i++)
        live[i] = 0;
    for (unsigned step = 0; step < STEPS && !g->oom; step++) {
        unsigned i = (unsigned)(th_rand(&g->rng) % LIVE_SLOTS);
        if (live[i] && th_rand(&g->rng) % TRANSFER_EVERY == 0) {
            /* Leave ours in the table, take whatever was there. */
            unsigned t = (unsigned)(th_rand(&g->rng) % TRANSFER_SLOTS);
            live[i] = __atomic_exchange_n(&transfer[t], live[i], __ATOMIC_ACQ_REL);
            continue;
        }
        if (live[i])
            bench_free_sized(live[i]);
        live[i] = 0;
        if (th_rand(&g->rng) % 4 == 0)
            continue; /* a free only: the working set breathes */
        live[i] = bench_malloc_sized(churn_size(&g->rng));
        if (!live[i])
            g->oom = true;
        g->ops++;
    }
    bench_sample_stats(); /* the working set is full: near the live peak */
    for (unsigned i = 0; i < LIVE_SLOTS; i++)
        if (live[i])
            bench_free_sized(live[i]);
    bench_free(live, LIVE_SLOTS * sizeof(void *));
}

static uint64_t churn_run(struct th_ctx *ctx)
{
    struct generation g = { .ctx = ctx, .rng = ctx->seed ^ (0xc4u + ctx->cpu) };
    for (unsigned gen = 0; gen < ctx->scale && !g.oom; gen++)
        bench_in_fresh_thread(generation_run, &g);
    if (g.oom)
        th_fail_at(ctx, __FILE__, __LINE__, "out of memory");
    th_barrier();
    /* The last CPU out empties the table (every CPU has stopped using it). */
    if (ctx->cpu == 0)
        for (unsigned t = 0; t < TRANSFER_SLOTS; t++) {
            void *p = __atomic_exchange_n(&transfer[t], (void *)0, __ATOMIC_ACQ_REL);
            if (p)
                bench_free_sized(p);
        }
    th_barrier();
    return g.ops;
}

const struct th_bench th_bench_churn = {
    .name = "churn",
    .what = "threads that come and go (a fresh host thread per generation), blocks outliving them",
    .run = churn_run,
};
