/*
 * cache-thrash - after Hoard's cache-thrash (Berger et al.): every CPU, again
 * and again, allocates a small object, writes to it many times and frees it.
 * An allocator that hands adjacent objects of one cache line to different
 * CPUs makes those writes bounce the line between them ("active" false
 * sharing); a per-CPU allocator never does.
 * One op = one allocation, its writes and its free.
 */
#include "bench_alloc.h"

#define OBJ_SIZE 8u
#define WRITES 500u
#define ITERS_PER_SCALE 400u

static __attribute__((noipa)) uint64_t cache_thrash_run(struct th_ctx *ctx)
{
    return bench_scribble_loop(ctx, (uint64_t)ITERS_PER_SCALE * ctx->scale, OBJ_SIZE, WRITES);
}

const struct th_bench th_bench_cache_thrash = {
    .name = "cache-thrash",
    .what = "Hoard cache-thrash: each CPU allocates, writes and frees 8-byte objects",
    .run = cache_thrash_run,
};
