/*
 * cache-scratch - after Hoard's cache-scratch (Berger et al.): CPU 0
 * allocates one small object per CPU, back to back (so they share cache
 * lines), and hands each CPU its own. Each CPU frees the object it was given
 * and then, again and again, allocates an object of the same size, writes to
 * it many times and frees it. An allocator that gives the freed object back
 * to the CPU that freed it, rather than to its owner, keeps the CPUs writing
 * into one cache line ("passive" false sharing).
 * One op = one allocation, its writes and its free.
 */
#include "bench_alloc.h"

#define OBJ_SIZE 8u
#define WRITES 500u
#define ITERS_PER_SCALE 400u

static char *handed[BENCH_MAX_CPUS];

static uint64_t cache_scratch_run(struct th_ctx *ctx)
{
    if (ctx->cpu == 0)
        for (unsigned c = 0; c < ctx->ncpu; c++)
            handed[c] = bench_malloc(OBJ_SIZE);
    th_barrier();
    char *mine = handed[ctx->cpu];
    if (mine) {
        bench_scribble(mine, OBJ_SIZE, WRITES);
        bench_free(mine, OBJ_SIZE); /* a remote free for every CPU but 0 */
    }
    return bench_scribble_loop(ctx, (uint64_t)ITERS_PER_SCALE * ctx->scale, OBJ_SIZE, WRITES);
}

const struct th_bench th_bench_cache_scratch = {
    .name = "cache-scratch",
    .what = "Hoard cache-scratch: objects handed out by CPU 0 are freed, then reused in place",
    .run = cache_scratch_run,
};
