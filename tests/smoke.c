/*
 * smoke.c - the suite a fresh boot runs: every CPU takes part, CPUs are told
 * apart, barriers order memory, timer ticks arrive, and the allocator hands
 * out blocks that hold their contents. Runs with the timer on, so the other
 * cases also see interrupts arrive.
 */
#include "harness.h"
#include "hartalloc.h"


static uint32_t arrivals;
static uint64_t seen_cpus;
static uint32_t slots[HA_MAX_CPUS];
static uint32_t ticks[HA_MAX_CPUS];

/* Every CPU counts itself once: the total is the CPU count. */
static void every_cpu_runs(struct th_ctx *ctx)
{
    if (ctx->cpu == 0)
        __atomic_store_n(&arrivals, 0, __ATOMIC_RELAXED);
    th_barrier();
    __atomic_add_fetch(&arrivals, 1, __ATOMIC_RELAXED);
    th_barrier();
    TH_CHECK_EQ(ctx, __atomic_load_n(&arrivals, __ATOMIC_RELAXED), ctx->ncpu);
}

/* CPU indices are 0..ncpu-1 with no duplicates. */
static void cpu_indices_distinct(struct th_ctx *ctx)
{
    if (ctx->cpu == 0)
        __atomic_store_n(&seen_cpus, 0, __ATOMIC_RELAXED);
    th_barrier();
    uint64_t bit = 1ull << (ctx->cpu % 64);
    uint64_t before = __atomic_fetch_or(&seen_cpus, bit, __ATOMIC_RELAXED);
    TH_EXPECT(ctx, ctx->cpu < ctx->ncpu && ctx->cpu < HA_MAX_CPUS);
    TH_EXPECT(ctx, !(before & bit));
    th_barrier();
    uint64_t all = ctx->ncpu >= 64 ? ~0ull : (1ull << ctx->ncpu) - 1;
    TH_CHECK_EQ(ctx, __atomic_load_n(&seen_cpus, __ATOMIC_RELAXED), all);
}

/* Plain stores made before a barrier are visible to every CPU after it. */
static void barrier_orders_memory(struct th_ctx *ctx)
{
    unsigned rounds = 64 * ctx->scale, n = ctx->ncpu < HA_MAX_CPUS ? ctx->ncpu : HA_MAX_CPUS;
    for (unsigned r = 1; r <= rounds; r++) {
        if (ctx->cpu < HA_MAX_CPUS)
            ((volatile uint32_t *)slots)[ctx->cpu] = r;
        th_barrier();
        for (unsigned k = 0; k < n; k++)
            TH_EXPECT(ctx, ((volatile uint32_t *)slots)[k] == r);
        th_barrier(); /* nobody writes round r+1 before all have checked round r */
    }
}

static void count_tick(unsigned cpu)
{
    if (cpu < HA_MAX_CPUS)
        __atomic_add_fetch(&ticks[cpu], 1, __ATOMIC_RELAXED);
}

/* With the timer switched on, each CPU sees its own ticks through the hook. */
static void timer_ticks_arrive(struct th_ctx *ctx)
{
    if (ctx->cpu == 0) {
        for (unsigned k = 0; k < HA_MAX_CPUS; k++)
            __atomic_store_n(&ticks[k], 0, __ATOMIC_RELAXED);
        th_tick_hook = count_tick;
    }
    th_barrier();
    uint64_t deadline = th_embed_now_ns() + 2000000000ull; /* ticks are ms apart; allow 2 s */
    while (__atomic_load_n(&ticks[ctx->cpu % HA_MAX_CPUS], __ATOMIC_RELAXED) < 3 &&
           th_embed_now_ns() < deadline)
        ;
    TH_EXPECT(ctx, __atomic_load_n(&ticks[ctx->cpu % HA_MAX_CPUS], __ATOMIC_RELAXED) >= 3);
    th_barrier();
    if (ctx->cpu == 0)
        th_tick_hook = 0;
}

/* Blocks of many sizes and alignments come back aligned, writable, disjoint,
 * and holding what was written until freed. */
static void alloc_round_trip(struct th_ctx *ctx)
{
    enum { N = 24 };
    static const size_t aligns[] = { 1, 8, 16, 64, 4096 };
    unsigned char *blocks[N];
    size_t sizes[N], al[N];
    uint64_t rng = ctx->seed;
    for (unsigned i = 0; i < N; i++) {
        sizes[i] = i < 20 ? 1 + th_rand(&rng) % (16u << (i % 8)) : 100000 + i * 4096;
        al[i] = aligns[th_rand(&rng) % 5];
        blocks[i] = ha_alloc(sizes[i], al[i]);
        TH_CHECK_MSG(ctx, blocks[i] != 0, "ha_alloc(%zu, %zu) returned NULL", sizes[i], al[i]);
        TH_CHECK_MSG(ctx, ((uintptr_t)blocks[i] & (al[i] - 1)) == 0, "%p not aligned to %zu",
                     (void *)blocks[i], al[i]);
        TH_CHECK(ctx, ha_usable_size(blocks[i]) >= sizes[i]);
        for (size_t b = 0; b < sizes[i]; b++)
            blocks[i][b] = (unsigned char)(i * 31 + b + ctx->cpu);
    }
    for (unsigned i = 0; i < N; i++) {
        for (size_t b = 0; b < sizes[i]; b++)
            TH_CHECK_MSG(ctx, blocks[i][b] == (unsigned char)(i * 31 + b + ctx->cpu),
                         "block %u byte %zu changed: another block overlaps it", i, b);
        ha_dealloc(blocks[i], sizes[i], al[i]);
    }
    void *pages = ha_alloc_pages(3, HA_PAGE_SIZE);
    TH_CHECK(ctx, pages != 0 && ((uintptr_t)pages & (HA_PAGE_SIZE - 1)) == 0);
    for (unsigned i = 0; i < 3 * HA_PAGE_SIZE; i++)
        ((unsigned char *)pages)[i] = (unsigned char)i;
    ha_dealloc_pages(pages, 3);
}

static const struct th_case smoke_cases[] = {
    { "every_cpu_runs", every_cpu_runs },
    { "cpu_indices_distinct", cpu_indices_distinct },
    { "barrier_orders_memory", barrier_orders_memory },
    { "timer_ticks_arrive", timer_ticks_arrive },
    { "alloc_round_trip", alloc_round_trip },
};

const struct th_suite th_suite_smoke = {
    "smoke", "harts run, barriers, timer ticks, allocator round trip",
    TH_CASES(smoke_cases), TH_SUITE_USES_ALLOCATOR | TH_SUITE_TIMER,
};
