/*
 * bench_alloc.h - the one seam between a workload and the allocator it
 * measures, plus the few helpers the workloads share.
 *
 * In the kernel (and any build linked with hartalloc) a workload allocates
 * with ha_alloc/ha_dealloc, so it runs on whatever alloc_type was booted.
 * Built with -DBENCH_LIBC for the host driver (tools/bench/host_main.c) it
 * calls plain malloc/free, so LD_PRELOAD decides which allocator is measured.
 *
 * Workloads use nothing else from a libc: th_rand for randomness,
 * th_barrier() for phases, 32/64-bit __atomic builtins for hand-offs.
 */
#ifndef BENCH_ALLOC_H
#define BENCH_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "hartalloc.h" /* in BENCH_LIBC builds only ha_name(), from the driver */
#include "harness.h"

#define BENCH_ALIGN 8u      /* alignment of every block (a Rust Box<u64>)     */
#define BENCH_MAX_CPUS 64u  /* as the harness: more CPUs are clamped by it    */

/* Memory use at one moment, for the fragmentation workload. */
struct bench_mem {
    size_t footprint; /* host: RSS; kernel: live bytes (ha_used_bytes)           */
    size_t pages;     /* kernel: allocator pages held (ha_stats.pages_in_use)     */
    size_t segments;  /* kernel: 4 MiB segments held (0 for non-segment types)    */
    size_t held;      /* kernel: bytes held for blocks (ha_stats.bytes_held)      */
};

#ifdef BENCH_LIBC
void *malloc(size_t size);
void free(void *ptr);
int sched_yield(void);
/* Resident set size of the process, read by the host driver. */
size_t bench_host_rss_bytes(void);

static inline void *bench_malloc(size_t size) { return malloc(size); }
static inline void bench_free(void *p, size_t size) { (void)size; free(p); }
/* The host sees neither live bytes nor pages: only what the process holds. */
static inline struct bench_mem bench_mem_now(void)
{
    return (struct bench_mem){ .footprint = bench_host_rss_bytes() };
}
/* A CPU waiting for another: host threads may outnumber the cores. */
static inline void bench_wait(void) { sched_yield(); }
/* The host driver measures peak RSS from outside: nothing to sample. */
static inline void bench_sample_stats(void) {}
/* Run fn(arg) on a thread created for it and wait for it to end (the host
 * driver): a workload whose threads come and go. */
void bench_in_fresh_thread(void (*fn)(void *), void *arg);
#else
static inline void *bench_malloc(size_t size) { return ha_alloc(size, BENCH_ALIGN); }
static inline void bench_free(void *p, size_t size) { ha_dealloc(p, size, BENCH_ALIGN); }
/* The allocator's own accounting. (ha_available_bytes is the managed size
 * minus live bytes for most types, so it shows no fragmentation; the pages
 * and segments held do, for the types that report them.) */
static inline struct bench_mem bench_mem_now(void)
{
    struct ha_stats st = { 0 };
    ha_get_stats(HA_ALL_CPUS, &st);
    return (struct bench_mem){ .footprint = ha_used_bytes(), .pages = st.pages_in_use,
                               .segments = st.segments_in_use, .held = (size_t)st.bytes_held };
}
/* A hart waiting for another: every hart is a CPU of its own. */
static inline void bench_wait(void) {}
/* At a workload's likely peak: read the statistics, so the live-byte peak
 * they report (mi: the highest any report saw) includes this moment. */
static inline void bench_sample_stats(void)
{
    struct ha_stats st;
    ha_get_stats(HA_ALL_CPUS, &st);
}
/* A hart has no threads to start: it runs fn in turn. */
static inline void bench_in_fresh_thread(void (*fn)(void *), void *arg) { fn(arg); }
#endif

/* Keep `p` (and every store through it) alive: GCC cannot see through an
 * empty asm, so allocation loops are never folded away. */
static inline void bench_sink(const void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

/* Blocks that travel between CPUs carry their size in the first word, so the
 * CPU that frees them can pass the layout ha_dealloc needs. Sizes >= 8. */
static inline void *bench_malloc_sized(size_t size)
{
    size_t *p = bench_malloc(size);
    if (p)
        *p = size;
    return p;
}
static inline void bench_free_sized(void *p) { bench_free(p, *(size_t *)p); }

/* Uniform in [lo, hi]. */
static inline size_t bench_rand_range(uint64_t *rng, size_t lo, size_t hi)
{
    return lo + (size_t)(th_rand(rng) % (hi - lo + 1));
}

/* The inner loop of the false-sharing workloads: `writes` stores spread over
 * the bytes of a small object. When objects of different CPUs share a cache
 * line, every store bounces it between the CPUs. */
static inline __attribute__((always_inline)) void bench_scribble(volatile char *obj, size_t size,
                                                                 unsigned writes)
{
    for (unsigned w = 0; w < writes; w++)
        obj[w % size] = (char)(obj[w % size] + 1);
}

/* Allocate a small object, scribble on it, free it, `iters` times: the body
 * of cache-thrash, and of cache-scratch once the handed-over objects are
 * freed. Returns the iterations done (fewer on out of memory). */
static __attribute__((noipa, unused)) uint64_t bench_scribble_loop(struct th_ctx *ctx, uint64_t iters,
                                                                   size_t size, unsigned writes)
{
    for (uint64_t n = 0; n < iters; n++) {
        char *p = bench_malloc(size);
        if (!p) {
            th_fail_at(ctx, __FILE__, __LINE__, "out of memory");
            return n;
        }
        bench_scribble(p, size, writes);
        bench_free(p, size);
    }
    return iters;
}

/* A single-producer single-consumer ring of pointers: the hand-off queue of
 * the producer/consumer workloads. head is written by the consumer only,
 * tail by the producer only; each lives on its own cache line. */
#define BENCH_RING_SLOTS 1024u /* a power of two; slack for a descheduled consumer */
struct bench_ring {
    _Alignas(64) uint64_t head;  /* next slot to pop (consumer)             */
    _Alignas(64) uint64_t tail;  /* next slot to fill (producer)            */
    void *slot[BENCH_RING_SLOTS];
};

static inline void bench_ring_reset(struct bench_ring *r)
{
    __atomic_store_n(&r->head, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&r->tail, 0, __ATOMIC_RELAXED);
}

/* Producer: 1 if queued, 0 if the ring is full. */
static inline int bench_ring_push(struct bench_ring *r, void *p)
{
    uint64_t t = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
    if (t - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == BENCH_RING_SLOTS)
        return 0;
    r->slot[t & (BENCH_RING_SLOTS - 1)] = p;
    __atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
    return 1;
}

/* Consumer: the oldest pointer, or NULL when the ring is empty. */
static inline void *bench_ring_pop(struct bench_ring *r)
{
    uint64_t h = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
    if (h == __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE))
        return 0;
    void *p = r->slot[h & (BENCH_RING_SLOTS - 1)];
    __atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
    return p;
}

#endif /* BENCH_ALLOC_H */
