/*
 * soak.c - the `soak` suite: every CPU hands blocks to the next one through a
 * ring (so nearly every free is a remote free) while its timer interrupt
 * allocates and frees inside the handler (th_tick_hook). Contents are checked
 * at every free; at quiescent points the heap is validated and the per-CPU
 * statistics must add up to what the CPUs did; at the end no byte is leaked.
 *
 * Work per CPU: SOAK_ROUNDS * scale rounds (scale=1 in make test; make soak
 * boots the kernel on 8 harts with a large scale). The closing line of each
 * case reports the operations done, for the record.
 */
#include "harness.h"
#include "hartalloc.h"

#define SOAK_ROUNDS 3000   /* per CPU per unit of scale                     */
#define RING_SLOTS 64      /* blocks in flight from one CPU to the next     */
#define STASH 8            /* blocks each CPU's interrupt handler keeps     */
#define CHECK_EVERY 1000   /* rounds between two quiescent checkpoints      */
#define HEAD_CHECK 256     /* bytes of a block's head that carry the pattern */
#define MIN_TICKS 5        /* a CPU goes on until its handler allocated this often */
#define TICK_WAIT_NS 1000000000ull /* ... or this long has passed            */
#define RING_WAIT 2000     /* polls for room in a full ring before freeing here */

/* A block in flight: what its consumer needs to check and free it. */
struct item {
    unsigned char *p;
    size_t size, align;
    uint32_t seq;
};

/* Single-producer (cpu - 1), single-consumer (cpu) ring. */
struct ring {
    struct item items[RING_SLOTS];
    uint32_t head; /* next to take; written by the consumer  */
    uint32_t tail; /* next to fill; written by the producer  */
};

/* What a CPU did. The case's code and its CPU's interrupt handler each have
 * their own fields: the handler may run between any two instructions of the
 * case, so they never update the same word. */
struct tally {
    uint64_t allocs, frees;         /* by the case's code                    */
    uint64_t remote_frees;          /* of those frees, blocks from the ring  */
    uint64_t out_of_memory;         /* allocations that returned NULL        */
    uint64_t irq_allocs, irq_frees; /* by the interrupt handler              */
    uint64_t bad;                   /* corrupted blocks the handler found    */
};

struct stash {
    struct item items[STASH];
    unsigned count;
    uint64_t rng;
};

static struct ring rings[HA_MAX_CPUS];
static struct tally tallies[HA_MAX_CPUS];
static struct stash stashes[HA_MAX_CPUS];
/* Pausing the handlers: a CPU waiting at a barrier still takes interrupts,
 * and the barrier counts it as arrived, so a handler that started before it
 * saw hook_paused may still be running when CPU 0 checks. The handler marks
 * itself busy before it reads hook_paused (both sequentially consistent, as
 * is CPU 0's store), so CPU 0 either stops it or sees it busy and waits. */
static uint32_t hook_paused;
static uint32_t hook_busy[HA_MAX_CPUS];
static unsigned soak_ncpu;

/* ---- blocks ---------------------------------------------------------------- */

static inline unsigned char pattern(uint32_t seq, size_t i) { return (unsigned char)(seq * 131u + i * 7u); }

static void fill(unsigned char *p, size_t n, uint32_t seq)
{
    size_t head = n < HEAD_CHECK ? n : HEAD_CHECK;
    for (size_t i = 0; i < head; i++)
        p[i] = pattern(seq, i);
    for (size_t i = n > 16 ? n - 16 : head; i < n; i++) /* and the tail */
        p[i] = pattern(seq, i);
}

static bool intact(const unsigned char *p, size_t n, uint32_t seq)
{
    size_t head = n < HEAD_CHECK ? n : HEAD_CHECK;
    for (size_t i = 0; i < head; i++)
        if (p[i] != pattern(seq, i))
            return false;
    for (size_t i = n > 16 ? n - 16 : head; i < n; i++)
        if (p[i] != pattern(seq, i))
            return false;
    return true;
}

/* Mostly small, some medium, a few large blocks. (No 4 KiB page runs: the
 * backends disagree on whether the statistics count them.) */
static bool make_item(struct item *it, uint64_t *rng, uint32_t seq)
{
    static const size_t aligns[] = { 8, 8, 16, 16, 64, 8, 16, 4096 };
    uint64_t r = th_rand(rng);
    unsigned kind = (unsigned)(r % 64);
    it->seq = seq;
    it->size = kind == 0 ? (size_t)(r >> 8) % (256u << 10)
             : kind < 8  ? (size_t)(r >> 8) % (16u << 10)
                         : (size_t)(r >> 8) % 512;
    it->align = aligns[(r >> 40) % 8];
    it->p = ha_alloc(it->size, it->align);
    if (it->p)
        fill(it->p, it->size, seq);
    return it->p != 0;
}

static bool item_intact(const struct item *it) { return intact(it->p, it->size, it->seq); }

static void drop_item(const struct item *it) { ha_dealloc(it->p, it->size, it->align); }

/* ---- the interrupt handler ---------------------------------------------------- */

static void churn_stash(unsigned cpu);

/* Runs on `cpu` with interrupts masked, between two allocator calls of that
 * CPU: replace the oldest block of the stash with a new one. */
static void soak_tick(unsigned cpu)
{
    if (cpu >= soak_ncpu)
        return;
    __atomic_store_n(&hook_busy[cpu], 1, __ATOMIC_SEQ_CST);
    if (!__atomic_load_n(&hook_paused, __ATOMIC_SEQ_CST))
        churn_stash(cpu);
    __atomic_store_n(&hook_busy[cpu], 0, __ATOMIC_RELEASE);
}

/* Wait until no handler is inside churn_stash (CPU 0, after pausing them). */
static void wait_handlers_idle(unsigned ncpu)
{
    for (unsigned c = 0; c < ncpu; c++)
        while (__atomic_load_n(&hook_busy[c], __ATOMIC_ACQUIRE))
            ;
}

static void churn_stash(unsigned cpu)
{
    struct stash *s = &stashes[cpu];
    struct tally *t = &tallies[cpu];
    if (s->count == STASH) {
        struct item *old = &s->items[0];
        if (!item_intact(old))
            t->bad++;
        drop_item(old);
        t->irq_frees++;
        for (unsigned i = 1; i < STASH; i++)
            s->items[i - 1] = s->items[i];
        s->count--;
    }
    if (make_item(&s->items[s->count], &s->rng, (uint32_t)t->irq_allocs * 2654435761u + cpu)) {
        s->count++;
        t->irq_allocs++;
    }
}

/* Only after hook_paused is set and every CPU has passed a barrier. */
static void empty_stash(unsigned cpu)
{
    struct stash *s = &stashes[cpu];
    for (unsigned i = 0; i < s->count; i++) {
        if (!item_intact(&s->items[i]))
            tallies[cpu].bad++;
        drop_item(&s->items[i]);
        tallies[cpu].irq_frees++;
    }
    s->count = 0;
}

/* ---- rings -------------------------------------------------------------------- */

static bool ring_put(struct ring *r, const struct item *it)
{
    uint32_t tail = r->tail;
    if (tail - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == RING_SLOTS)
        return false;
    r->items[tail % RING_SLOTS] = *it;
    __atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);
    return true;
}

static bool ring_take(struct ring *r, struct item *it)
{
    uint32_t head = r->head;
    if (head == __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE))
        return false;
    *it = r->items[head % RING_SLOTS];
    __atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
    return true;
}

/* Take one block from the previous CPU, check it, free it here. */
static bool consume(struct th_ctx *ctx, struct tally *t)
{
    struct item it;
    if (!ring_take(&rings[ctx->cpu], &it))
        return false;
    if (!item_intact(&it))
        th_fail_at(ctx, __FILE__, __LINE__, "block %p (%zu bytes, seq %u) changed in flight",
                   (void *)it.p, it.size, it.seq);
    drop_item(&it);
    t->frees++;
    t->remote_frees++;
    return true;
}

/* ---- checkpoints -------------------------------------------------------------- */

static struct ha_stats start_stats;
static size_t start_used_bytes, start_used_pages;

/* CPU 0, with every CPU at a barrier and the handlers paused: the heap is valid,
 * and the statistics, summed over the CPUs one by one, say exactly as many
 * blocks are live as the CPUs hold. */
static uint64_t blocks_held(unsigned ncpu);

static void checkpoint(struct th_ctx *ctx)
{
    uint64_t allocs = 0, frees = 0;
    struct ha_stats s, all;
    wait_handlers_idle(ctx->ncpu);
    uint64_t held = blocks_held(ctx->ncpu);
    for (unsigned c = 0; c < ctx->ncpu; c++) {
        allocs += tallies[c].allocs + tallies[c].irq_allocs;
        frees += tallies[c].frees + tallies[c].irq_frees;
    }
    if (ha_check() != 0) {
        th_fail_at(ctx, __FILE__, __LINE__, "ha_check failed at a checkpoint");
        return;
    }
    uint64_t sum_allocs = 0, sum_frees = 0;
    int64_t sum_bytes = 0;
    for (unsigned c = 0; c < ctx->ncpu; c++) {
        if (ha_get_stats(c, &s) != 0) {
            th_fail_at(ctx, __FILE__, __LINE__, "ha_get_stats(%u) failed", c);
            return;
        }
        sum_allocs += s.allocs;
        sum_frees += s.frees;
        sum_bytes += s.bytes_in_use;
    }
    ha_get_stats(HA_ALL_CPUS, &all);
    if (sum_allocs != all.allocs || sum_frees != all.frees || sum_bytes != all.bytes_in_use)
        th_fail_at(ctx, __FILE__, __LINE__,
                   "per-CPU stats do not add up: allocs %llu/%llu frees %llu/%llu bytes %lld/%lld",
                   (unsigned long long)sum_allocs, (unsigned long long)all.allocs,
                   (unsigned long long)sum_frees, (unsigned long long)all.frees, (long long)sum_bytes,
                   (long long)all.bytes_in_use);
    if (allocs - frees != held)
        th_fail_at(ctx, __FILE__, __LINE__, "the CPUs count %llu live blocks but hold %llu",
                   (unsigned long long)(allocs - frees), (unsigned long long)held);
    uint64_t live = (all.allocs - start_stats.allocs) - (all.frees - start_stats.frees);
    if (live != held)
        th_fail_at(ctx, __FILE__, __LINE__,
                   "stats: allocs - frees = %llu blocks since the start, the CPUs hold %llu",
                   (unsigned long long)live, (unsigned long long)held);
}

/* Blocks alive right now: in the rings and in the stashes (CPU 0, quiescent). */
static uint64_t blocks_held(unsigned ncpu)
{
    uint64_t held = 0;
    for (unsigned c = 0; c < ncpu; c++)
        held += (uint32_t)(rings[c].tail - rings[c].head) + stashes[c].count;
    return held;
}

/* ---- the case ------------------------------------------------------------------ */

/* CPU 0 at the end, the other CPUs waiting at a barrier: nothing is live,
 * nothing leaked, the handlers did work and found every block intact. */
static void final_checks(struct th_ctx *ctx)
{
    checkpoint(ctx); /* rings drained, stashes empty: holds 0 */
    uint64_t ops = 0, remote = 0, irq_ops = 0, bad = 0, oom = 0;
    for (unsigned c = 0; c < soak_ncpu; c++) {
        ops += tallies[c].allocs + tallies[c].frees;
        remote += ctx->ncpu > 1 ? tallies[c].remote_frees : 0;
        irq_ops += tallies[c].irq_allocs + tallies[c].irq_frees;
        bad += tallies[c].bad;
        oom += tallies[c].out_of_memory;
    }
    TH_CHECK_MSG(ctx, bad == 0, "%llu blocks changed while the interrupt handler held them",
                 (unsigned long long)bad);
    TH_CHECK_MSG(ctx, ha_used_bytes() == start_used_bytes, "leaked: %zu bytes used, %zu at the start",
                 ha_used_bytes(), start_used_bytes);
    TH_CHECK_MSG(ctx, ha_used_pages() == start_used_pages, "leaked: %zu pages used, %zu at the start",
                 ha_used_pages(), start_used_pages);
    TH_CHECK_MSG(ctx, irq_ops > 0, "no timer tick allocated: the interrupt path went untested");
    th_printf("soak: %llu operations on %u CPUs: %llu cross-CPU frees, %llu in the timer interrupt, "
              "%llu NULL (out of memory)\n", (unsigned long long)(ops + irq_ops), ctx->ncpu,
              (unsigned long long)remote, (unsigned long long)irq_ops, (unsigned long long)oom);
}

/* One block to the next CPU (or freed here when it does not take it), one
 * block from the previous CPU checked and freed. */
static void one_round(struct th_ctx *ctx, struct tally *t, unsigned next, uint64_t *rng, uint64_t round)
{
    struct item it;
    if (make_item(&it, rng, (uint32_t)(round * 2654435761u) ^ ctx->cpu)) {
        t->allocs++;
        unsigned polls = 0;
        while (!ring_put(&rings[next], &it)) {
            if (consume(ctx, t) || ++polls < RING_WAIT)
                continue;
            /* the next CPU is stuck (at a barrier, or not scheduled): free
             * the block here rather than wait for it */
            if (!item_intact(&it))
                th_fail_at(ctx, __FILE__, __LINE__, "block %p changed", (void *)it.p);
            drop_item(&it);
            t->frees++;
            break;
        }
    } else {
        t->out_of_memory++; /* allowed; counted for the closing line */
    }
    consume(ctx, t);
}

/* Blocks go round the ring of CPUs; the timer handler churns its stash. */
static void ring_of_cpus(struct th_ctx *ctx)
{
    unsigned cpu = ctx->cpu, next = (cpu + 1) % ctx->ncpu;
    struct tally *t = &tallies[cpu];
    if (cpu == 0) {
        soak_ncpu = ctx->ncpu < HA_MAX_CPUS ? ctx->ncpu : HA_MAX_CPUS;
        for (unsigned c = 0; c < HA_MAX_CPUS; c++) {
            rings[c].head = rings[c].tail = 0;
            tallies[c] = (struct tally){ 0, 0, 0, 0, 0, 0, 0 };
            stashes[c].count = 0;
            stashes[c].rng = ctx->seed ^ (0xa0761d6478bd642full * (c + 1));
        }
        ha_get_stats(HA_ALL_CPUS, &start_stats);
        start_used_bytes = ha_used_bytes();
        start_used_pages = ha_used_pages();
        __atomic_store_n(&hook_paused, 0, __ATOMIC_SEQ_CST);
        th_tick_hook = soak_tick;
    }
    th_barrier();
    uint64_t rng = ctx->seed ^ (0x9e3779b97f4a7c15ull * (cpu + 1));
    uint64_t rounds = (uint64_t)SOAK_ROUNDS * ctx->scale;
    for (uint64_t round = 1; round <= rounds; round++) {
        one_round(ctx, t, next, &rng, round);
        if (round % CHECK_EVERY == 0 && round < rounds) {
            /* Quiescent checkpoint: pause the handlers, meet, check, resume. */
            if (cpu == 0)
                __atomic_store_n(&hook_paused, 1, __ATOMIC_SEQ_CST);
            th_barrier();
            if (cpu == 0)
                checkpoint(ctx);
            th_barrier();
            if (cpu == 0)
                __atomic_store_n(&hook_paused, 0, __ATOMIC_SEQ_CST);
        }
    }
    /* A fast run may end before the timer fired often: go on (no barriers
     * here, CPUs may differ) until this CPU's handler has done some work. */
    uint64_t deadline = th_embed_now_ns() + TICK_WAIT_NS;
    for (uint64_t round = rounds + 1; t->irq_allocs < MIN_TICKS && th_embed_now_ns() < deadline; round++)
        one_round(ctx, t, next, &rng, round);
    /* Wind down: stop the handlers, drain the rings, empty the stashes. */
    if (cpu == 0)
        __atomic_store_n(&hook_paused, 1, __ATOMIC_SEQ_CST);
    th_barrier();
    while (consume(ctx, t))
        ;
    empty_stash(cpu);
    th_barrier();
    /* CPU 0 checks while the others wait at the barrier below: once a CPU
     * returns from the case the harness may collect its heap. */
    if (cpu == 0) {
        th_tick_hook = 0;
        final_checks(ctx);
    }
    th_barrier();
}

static const struct th_case soak_cases[] = {
    { "ring_of_cpus", ring_of_cpus },
};

const struct th_suite th_suite_soak = {
    "soak", "cross-CPU frees while the timer interrupt allocates; stats add up, nothing leaks",
    TH_CASES(soak_cases), TH_SUITE_USES_ALLOCATOR | TH_SUITE_TIMER,
};
