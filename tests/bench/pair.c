/*
 * pair - the kernel twin of the host's callgrind pair (tools/bench/pair.c):
 * a loop of one allocation of 32 bytes (alignment 8) and its free, with one
 * block of the same size kept live so the page never empties. One op = one
 * pair. Under -icount (make bench-pair-kernel) guest time is guest
 * instructions, so the PAIR line gives instructions per pair.
 *
 * The loop's own instructions are measured apart: the same loop calling two
 * functions that only return, with the calls shaped as the real ones. The
 * PAIR line reports both; the allocator's share is their difference plus
 * the two `ret`s of those functions (ha_alloc and ha_dealloc return too).
 * Each CPU runs its own loop; only CPU 0 prints.
 */
#include "bench_alloc.h"

#define PAIR_SIZE 32u
#define PAIRS_PER_SCALE 100000u

/* Stand-ins for ha_alloc and ha_dealloc: a lone `ret` each (the alloc one
 * returns its first argument, a0, as the "block"; no frame pointer, which
 * the kernel's tests otherwise keep). */
#define PAIR_NULL __attribute__((noipa, optimize("omit-frame-pointer")))
PAIR_NULL void *pair_null_alloc(size_t size, size_t align)
{
    (void)align;
    return (void *)size;
}
PAIR_NULL void pair_null_dealloc(void *p, size_t size, size_t align)
{
    (void)p, (void)size, (void)align;
}

#ifdef BENCH_LIBC
#define PAIR_ALLOC(size, align) malloc(size)
#define PAIR_DEALLOC(p, size, align) free(p)
#else
#define PAIR_ALLOC(size, align) ha_alloc(size, align)
#define PAIR_DEALLOC(p, size, align) ha_dealloc(p, size, align)
#endif

/* The two loops are written once; `real` picks the callee. noipa keeps each
 * a function of its own, so both compile to the same loop. */
static __attribute__((noipa)) void loop_real(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        void *p = PAIR_ALLOC(PAIR_SIZE, BENCH_ALIGN);
        bench_sink(p);
        PAIR_DEALLOC(p, PAIR_SIZE, BENCH_ALIGN);
    }
}

static __attribute__((noipa)) void loop_null(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        void *p = pair_null_alloc(PAIR_SIZE, BENCH_ALIGN);
        bench_sink(p);
        pair_null_dealloc(p, PAIR_SIZE, BENCH_ALIGN);
    }
}

static uint64_t pair_run(struct th_ctx *ctx)
{
    unsigned n = PAIRS_PER_SCALE * ctx->scale;
    void *keep = bench_malloc(PAIR_SIZE); /* the page never empties */
    if (!keep) {
        th_fail_at(ctx, __FILE__, __LINE__, "out of memory");
        return 0;
    }
    loop_real(64); /* warm: the page is set up and in the direct table */
    uint64_t t0 = th_embed_now_ns();
    loop_null(n);
    uint64_t t1 = th_embed_now_ns();
    loop_real(n);
    uint64_t t2 = th_embed_now_ns();
    bench_free(keep, PAIR_SIZE);
    if (ctx->cpu == 0)
        th_printf("PAIR alloc=%s cpus=%u pairs=%u loop_ns=%llu pair_ns=%llu\n", ha_name(), ctx->ncpu, n,
                  (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
    return (uint64_t)n + 64; /* pairs through the allocator; BENCH ns also covers loop_null */
}

const struct th_bench th_bench_pair = {
    .name = "pair",
    .what = "ha_alloc(32, 8) + ha_dealloc in a loop, one block kept live (kernel twin of the callgrind pair)",
    .run = pair_run,
};
