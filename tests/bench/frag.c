/*
 * frag - fragmentation: how much memory an allocator holds once a workload
 * has left a sparse set of survivors behind. Every round, each CPU
 *   1. allocates many small blocks of random size (16..512 bytes),
 *   2. frees all of them but every 8th (the survivors pin their pages),
 *   3. allocates fewer, larger blocks (1..4 KiB), which only an allocator
 *      able to reuse the holes of step 1 fits into them,
 *   4. frees the blocks of step 3.
 * The survivors of the last round stay alive until the end. CPU 0 prints
 *   MEM frag alloc=<type> cpus=<n> peak=<bytes> final=<bytes> pages=<p>/<p> segments=<s>/<s>
 *       held=<bytes>/<bytes>
 * (one line) peak: the largest footprint after step 3 of any round; final:
 * the footprint at the end of the last round (survivors only). The footprint
 * is the RSS growth on the host and the live bytes in the kernel, where the
 * allocator pages, segments and bytes held (peak/final, sampled with the
 * footprint; ha_stats.bytes_held) show the fragmentation.
 * One op = one allocation.
 */
#include "bench_alloc.h"

#define SMALL_COUNT 4000u
#define SMALL_MIN 16u
#define SMALL_MAX 512u
#define KEEP_EVERY 8u
#define LARGE_COUNT 500u
#define LARGE_MIN 1024u
#define LARGE_MAX 4096u
#define ROUNDS_PER_SCALE 1u

struct survivors {
    void **small;  /* SMALL_COUNT slots: blocks of step 1 and their survivors */
    void **large;  /* LARGE_COUNT slots: blocks of step 3                    */
};

static struct bench_mem mem_base, mem_peak; /* written by CPU 0 only */

static __attribute__((noipa)) uint64_t alloc_all(struct th_ctx *ctx, void **slot, unsigned count,
                                                 size_t lo, size_t hi, uint64_t *rng)
{
    for (unsigned i = 0; i < count; i++) {
        slot[i] = bench_malloc_sized(bench_rand_range(rng, lo, hi));
        if (!slot[i]) {
            th_fail_at(ctx, __FILE__, __LINE__, "out of memory");
            for (unsigned j = i; j < count; j++)
                slot[j] = 0;
            return i;
        }
    }
    return count;
}

static void free_all(void **slot, unsigned count, unsigned keep_every)
{
    for (unsigned i = 0; i < count; i++) {
        if (slot[i] && (keep_every == 0 || i % keep_every != 0)) {
            bench_free_sized(slot[i]);
            slot[i] = 0;
        }
    }
}

/* Memory use now, relative to the start of the run (never below zero). */
static struct bench_mem mem_used(void)
{
    struct bench_mem now = bench_mem_now();
    now.footprint = now.footprint > mem_base.footprint ? now.footprint - mem_base.footprint : 0;
    return now;
}

static void note_peak(void)
{
    struct bench_mem now = mem_used();
    if (now.footprint > mem_peak.footprint)
        mem_peak.footprint = now.footprint;
    if (now.pages > mem_peak.pages)
        mem_peak.pages = now.pages;
    if (now.segments > mem_peak.segments)
        mem_peak.segments = now.segments;
    if (now.held > mem_peak.held)
        mem_peak.held = now.held;
}

static uint64_t frag_run(struct th_ctx *ctx)
{
    uint64_t rng = ctx->seed ^ (0x7000u + ctx->cpu), ops = 0;
    struct survivors s = {
        .small = bench_malloc(SMALL_COUNT * sizeof(void *)),
        .large = bench_malloc(LARGE_COUNT * sizeof(void *)),
    };
    for (unsigned i = 0; s.small && i < SMALL_COUNT; i++)
        s.small[i] = 0;
    th_barrier();
    if (ctx->cpu == 0) {
        mem_base = bench_mem_now();
        mem_peak = (struct bench_mem){ 0 };
    }
    th_barrier();
    unsigned rounds = ROUNDS_PER_SCALE * ctx->scale;
    for (unsigned r = 0; r < rounds && s.small && s.large; r++) {
        free_all(s.small, SMALL_COUNT, 0); /* the previous round's survivors */
        ops += alloc_all(ctx, s.small, SMALL_COUNT, SMALL_MIN, SMALL_MAX, &rng);
        free_all(s.small, SMALL_COUNT, KEEP_EVERY);
        ops += alloc_all(ctx, s.large, LARGE_COUNT, LARGE_MIN, LARGE_MAX, &rng);
        th_barrier();
        if (ctx->cpu == 0)
            note_peak();
        th_barrier();
        free_all(s.large, LARGE_COUNT, 0);
    }
    th_barrier();
    if (ctx->cpu == 0) {
        struct bench_mem end = mem_used();
        th_printf("MEM frag alloc=%s cpus=%u peak=%zu final=%zu pages=%zu/%zu segments=%zu/%zu held=%zu/%zu\n",
                  ha_name(), ctx->ncpu, mem_peak.footprint, end.footprint, mem_peak.pages,
                  end.pages, mem_peak.segments, end.segments, mem_peak.held, end.held);
    }
    th_barrier();
    if (s.small) {
        free_all(s.small, SMALL_COUNT, 0);
        bench_free(s.small, SMALL_COUNT * sizeof(void *));
    }
    if (s.large)
        bench_free(s.large, LARGE_COUNT * sizeof(void *));
    if (!s.small || !s.large)
        th_fail_at(ctx, __FILE__, __LINE__, "out of memory for the slot arrays");
    return ops;
}

const struct th_bench th_bench_frag = {
    .name = "frag",
    .what = "fragmentation: sparse small survivors, then larger blocks; prints peak/final memory",
    .run = frag_run,
};
