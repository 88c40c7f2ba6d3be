/* alloc_stress.c - multi-CPU cases of the `alloc` suite. Every CPU runs
 * them; blocks move between CPUs at barriers or through rings. Between
 * barriers failures are recorded with TH_EXPECT or in helpers that return to
 * the case, never by returning from the case. With one CPU each case still
 * does its work: a CPU frees its own blocks and feeds its own ring. */
#include "alloc_cases.h"

/* Figures CPU 0 reads before the first barrier of a case and compares after
 * the last one, while every other CPU is quiescent. */
static struct ta_usage start;
/* Blocks the CPUs allocated, for cases that know their count exactly: a
 * failed allocation is reported where it happens, not as a stats mismatch. */
static uint64_t made;

static void begin(struct th_ctx *ctx)
{
    if (ctx->cpu == 0) {
        ta_usage_now(&start);
        made = 0;
    }
    th_barrier();
}

static void count_made(uint64_t blocks) { __atomic_fetch_add(&made, blocks, __ATOMIC_RELAXED); }

/* After the last barrier: used bytes and pages back to the start, one free
 * per alloc, and with `exact` as many of each as count_made() counted. */
static void end_balanced(struct th_ctx *ctx, bool exact)
{
    uint64_t blocks;
    th_barrier();
    if (ctx->cpu != 0)
        return;
    blocks = exact ? __atomic_load_n(&made, __ATOMIC_RELAXED) : 0;
    struct ta_usage u;
    ta_usage_now(&u);
    TH_EXPECT(ctx, u.used_bytes == start.used_bytes);
    TH_EXPECT(ctx, u.used_pages == start.used_pages);
    TH_EXPECT(ctx, u.stats.bytes_in_use == start.stats.bytes_in_use);
    uint64_t allocs = u.stats.allocs - start.stats.allocs, frees = u.stats.frees - start.stats.frees;
    if (allocs != frees || (exact && allocs != blocks))
        th_fail_at(ctx, __FILE__, __LINE__, "stats: %llu allocs, %llu frees, expected %llu",
                   (unsigned long long)allocs, (unsigned long long)frees, (unsigned long long)blocks);
    TH_EXPECT(ctx, u.stats.remote_frees - start.stats.remote_frees <= frees);
}

/* Remote frees since begin(), read by CPU 0 after end_balanced(). */
static uint64_t start_remote_frees_delta(void)
{
    struct ha_stats s;
    ha_get_stats(HA_ALL_CPUS, &s);
    return s.remote_frees - start.stats.remote_frees;
}

static uint64_t cpu_seed(const struct th_ctx *ctx) { return ctx->seed ^ (0x9e3779b97f4a7c15ull * (ctx->cpu + 1)); }

/* A random size: mostly small, sometimes medium, rarely up to 512 KiB. */
static size_t random_size(uint64_t *rng)
{
    uint64_t r = th_rand(rng);
    switch (r % 64) {
    case 0:
        return (size_t)(r >> 8) % (512 * TA_KIB);
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8:
        return (size_t)(r >> 8) % (16 * TA_KIB);
    default:
        return (size_t)(r >> 8) % 512;
    }
}

static size_t random_align(uint64_t *rng)
{
    static const size_t aligns[] = { 1, 8, 8, 8, 16, 16, 64, 4096 };
    return aligns[th_rand(rng) % 8];
}

/* ---- churn ---------------------------------------------------------------- */

struct slot {
    void *p;
    size_t size, align;
    uint64_t tag;
};

static bool slot_intact(const struct slot *s)
{
    return ta_verify(s->p, s->size, s->tag) == s->size;
}

/* Random allocs (plain and zeroed), reallocs and frees over a table of slots,
 * each block's contents checked before it is touched again. */
static void churn_work(struct th_ctx *ctx)
{
    enum { SLOTS = 48 };
    struct slot slots[SLOTS];
    __builtin_memset(slots, 0, sizeof slots);
    uint64_t rng = cpu_seed(ctx);
    unsigned ops = 1500 * ctx->scale;
    for (unsigned op = 0; op < ops && !ctx->failed; op++) {
        struct slot *s = &slots[th_rand(&rng) % SLOTS];
        unsigned what = th_rand(&rng) % 8;
        if (!s->p) {
            s->size = random_size(&rng);
            s->align = random_align(&rng);
            s->tag = th_rand(&rng);
            s->p = what < 2 ? ha_alloc_zeroed(s->size, s->align) : ha_alloc(s->size, s->align);
            if (!s->p || !ta_aligned(s->p, s->align) || ha_usable_size(s->p) < s->size) {
                th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: alloc(%zu, %zu) = %p", ctx->cpu, s->size,
                           s->align, s->p);
                s->p = 0;
                break;
            }
            if (what < 2 && !ta_is_zero(s->p, s->size))
                th_fail_at(ctx, __FILE__, __LINE__, "alloc_zeroed(%zu, %zu) = %p not zero", s->size,
                           s->align, s->p);
            ta_fill(s->p, s->size, s->tag);
            continue;
        }
        if (!slot_intact(s)) {
            th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: block %p of %zu bytes damaged", ctx->cpu, s->p,
                       s->size);
            s->p = 0; /* do not free what may not be ours any more */
            break;
        }
        if (what < 5) {
            ha_dealloc(s->p, s->size, s->align);
            s->p = 0;
        } else if (what < 7) {
            size_t size = random_size(&rng), keep = size < s->size ? size : s->size;
            void *q = ha_realloc(s->p, s->size, s->align, size);
            if (!q || !ta_aligned(q, s->align) || ta_verify(q, keep, s->tag) != keep) {
                th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: realloc(%zu -> %zu, %zu) = %p", ctx->cpu,
                           s->size, size, s->align, q);
                if (!q)
                    ha_dealloc(s->p, s->size, s->align);
                s->p = 0;
                break;
            }
            s->p = q;
            s->size = size;
            s->tag = th_rand(&rng);
            ta_fill(q, size, s->tag);
        }
    }
    for (unsigned i = 0; i < SLOTS; i++) {
        if (!slots[i].p)
            continue;
        TH_EXPECT(ctx, slot_intact(&slots[i]));
        ha_dealloc(slots[i].p, slots[i].size, slots[i].align);
    }
}

/* Every CPU churns its own blocks at once: random sizes, alignments,
 * zeroed allocs and reallocs, contents checked before every free. */
void ta_churn(struct th_ctx *ctx)
{
    begin(ctx);
    churn_work(ctx);
    end_balanced(ctx, false);
}

/* ---- cross-CPU frees ---------------------------------------------------------- */

static struct ta_node *published[HA_MAX_CPUS];

/* Free, remotely, the list the next CPU published, checking every block. */
static void free_next_cpus_list(struct th_ctx *ctx, unsigned n)
{
    unsigned next = (ctx->cpu + 1) % n;
    size_t damaged = ta_list_free(published[next]);
    if (damaged)
        th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: %zu blocks of cpu %u damaged", ctx->cpu, damaged, next);
}

/* Each round every CPU allocates a list of blocks, publishes it, and after a
 * barrier (and a first ha_check with all of them live) checks and frees the
 * list of CPU cpu+1 (its own with one CPU).
 * With per-CPU heaps (mi) every one of those frees is a remote free; the
 * one-heap alloc_types have no remote frees. */
void ta_cross_cpu_free(struct th_ctx *ctx)
{
    enum { BLOCKS = 200 };
    unsigned rounds = 4 * ctx->scale, n = ctx->ncpu;
    uint64_t rng = cpu_seed(ctx);
    begin(ctx);
    for (unsigned r = 0; r < rounds; r++) {
        struct ta_node *list = 0;
        unsigned i = 0;
        for (; i < BLOCKS; i++) {
            size_t size = sizeof(struct ta_node) + random_size(&rng) % (64 * TA_KIB);
            if (!ta_node_alloc(&list, size, TA_NODE_ALIGN, th_rand(&rng))) {
                th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: ha_alloc(%zu) returned NULL", ctx->cpu, size);
                break;
            }
        }
        count_made(i);
        published[ctx->cpu] = list;
        th_barrier();
        if (ctx->cpu == 0 && r == 0 && ha_check() != 0) /* the validator, with every CPU's blocks live */
            th_fail_at(ctx, __FILE__, __LINE__, "ha_check failed with %u blocks live on each CPU", BLOCKS);
        th_barrier();
        free_next_cpus_list(ctx, n);
        th_barrier();
    }
    end_balanced(ctx, true);
    if (ctx->cpu == 0) {
        ha_type type;
        bool per_cpu_heaps = ha_type_from_name(ha_name(), &type) == 0 && type == HA_MI;
        uint64_t remote = start_remote_frees_delta();
        uint64_t want = per_cpu_heaps && n > 1 ? made : 0;
        if (remote != want)
            th_fail_at(ctx, __FILE__, __LINE__, "%llu remote frees, expected %llu for %s on %u CPUs",
                       (unsigned long long)remote, (unsigned long long)want, ha_name(), n);
    }
}

/* ---- realloc and free of another CPU's blocks ----------------------------------- */

enum { XSLOTS = 64 };
static struct slot foreign[HA_MAX_CPUS][XSLOTS];

/* Each round every CPU allocates blocks (some zeroed, some aligned) into its
 * row of slots; after a barrier each CPU checks the row of CPU cpu+1,
 * reallocs every block to a new size (growing or shrinking: a move is a
 * remote free), checks the kept prefix, and frees half of them with ha_free
 * (no layout) and half with ha_dealloc. */
void ta_cross_cpu_realloc(struct th_ctx *ctx)
{
    unsigned rounds = 3 * ctx->scale, n = ctx->ncpu;
    uint64_t rng = cpu_seed(ctx);
    begin(ctx);
    for (unsigned r = 0; r < rounds; r++) {
        struct slot *mine = foreign[ctx->cpu];
        for (unsigned i = 0; i < XSLOTS; i++) {
            struct slot *s = &mine[i];
            s->size = random_size(&rng);
            s->align = random_align(&rng);
            s->tag = th_rand(&rng);
            s->p = i % 4 == 0 ? ha_alloc_zeroed(s->size, s->align) : ha_alloc(s->size, s->align);
            if (!s->p || !ta_aligned(s->p, s->align) || (i % 4 == 0 && !ta_is_zero(s->p, s->size))) {
                th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: alloc(%zu, %zu) = %p", ctx->cpu, s->size,
                           s->align, s->p);
                if (s->p)
                    ha_dealloc(s->p, s->size, s->align);
                s->p = 0;
                continue;
            }
            ta_fill(s->p, s->size, s->tag);
        }
        th_barrier();
        struct slot *theirs = foreign[(ctx->cpu + 1) % n];
        for (unsigned i = 0; i < XSLOTS; i++) {
            struct slot *s = &theirs[i];
            if (!s->p)
                continue;
            if (!slot_intact(s)) {
                th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: block %p of %zu bytes from cpu %u damaged",
                           ctx->cpu, s->p, s->size, (ctx->cpu + 1) % n);
                continue; /* leaked: not ours to trust */
            }
            size_t size = random_size(&rng), keep = size < s->size ? size : s->size;
            void *q = ha_realloc(s->p, s->size, s->align, size);
            if (!q || !ta_aligned(q, s->align) || ta_verify(q, keep, s->tag) != keep) {
                th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: realloc(%zu -> %zu, %zu) of cpu %u's block = %p",
                           ctx->cpu, s->size, size, s->align, (ctx->cpu + 1) % n, q);
                if (!q)
                    ha_dealloc(s->p, s->size, s->align);
                continue;
            }
            ta_fill(q, size, s->tag ^ 1);
            TH_EXPECT(ctx, ta_verify(q, size, s->tag ^ 1) == size);
            if (i % 2)
                ha_free(q);
            else
                ha_dealloc(q, size, s->align);
        }
        th_barrier();
    }
    end_balanced(ctx, false);
}

/* ---- producer/consumer rings ------------------------------------------------- */

/* Single-producer single-consumer ring: CPU c produces into ring c, CPU
 * c+1 (mod n) consumes from it. head is written by the producer only, tail
 * by the consumer only. */
enum { RING = 128 };
struct ring {
    uint64_t head; /* next slot to fill; release-published by the producer */
    uint64_t tail; /* next slot to drain; release-published by the consumer */
    void *slot[RING];
};
static struct ring rings[HA_MAX_CPUS];

struct message {
    uint64_t seq;
    uint64_t producer;
    uint64_t size;
};

static uint64_t message_tag(unsigned producer, uint64_t seq) { return ((uint64_t)producer << 40) ^ seq ^ 0x7a7a; }

static void *produce(struct th_ctx *ctx, uint64_t *rng, uint64_t seq)
{
    size_t size = sizeof(struct message) + random_size(rng) % (8 * TA_KIB);
    struct message *m = ha_alloc(size, 8);
    if (!m) {
        th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: ha_alloc(%zu) returned NULL", ctx->cpu, size);
        return 0; /* sent as a hole, so the consumer's count still ends */
    }
    m->seq = seq;
    m->producer = ctx->cpu;
    m->size = size;
    ta_fill(m + 1, size - sizeof *m, message_tag(ctx->cpu, seq));
    return m;
}

static void consume(struct th_ctx *ctx, struct message *m, unsigned producer, uint64_t seq)
{
    if (!m)
        return;
    if (m->seq != seq || m->producer != producer || m->size < sizeof *m || m->size > 16 * TA_KIB) {
        th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: message %llu from cpu %u has header %llu/%llu/%llu",
                   ctx->cpu, (unsigned long long)seq, producer, (unsigned long long)m->seq,
                   (unsigned long long)m->producer, (unsigned long long)m->size);
        return; /* leaked: its size is not to be trusted */
    }
    size_t n = m->size - sizeof *m;
    if (ta_verify(m + 1, n, message_tag(producer, seq)) != n)
        th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: message %llu from cpu %u damaged", ctx->cpu,
                   (unsigned long long)seq, producer);
    ha_dealloc(m, m->size, 8);
}

/* Every CPU produces messages (heap blocks with a checked payload) into its
 * ring and consumes those of the previous CPU, freeing them there; with one
 * CPU it feeds and drains its own ring. */
void ta_ring_handoff(struct th_ctx *ctx)
{
    unsigned n = ctx->ncpu, from = (ctx->cpu + n - 1) % n;
    struct ring *out = &rings[ctx->cpu], *in = &rings[from];
    uint64_t total = 1000ull * ctx->scale, produced = 0, consumed = 0;
    uint64_t rng = cpu_seed(ctx);
    out->head = out->tail = 0;
    begin(ctx);
    while (produced < total || consumed < total) {
        if (produced < total &&
            out->head - __atomic_load_n(&out->tail, __ATOMIC_ACQUIRE) < RING) {
            void *m = produce(ctx, &rng, produced);
            count_made(m != 0);
            out->slot[out->head % RING] = m;
            __atomic_store_n(&out->head, out->head + 1, __ATOMIC_RELEASE);
            produced++;
        }
        if (consumed < total && __atomic_load_n(&in->head, __ATOMIC_ACQUIRE) != in->tail) {
            struct message *m = in->slot[in->tail % RING];
            __atomic_store_n(&in->tail, in->tail + 1, __ATOMIC_RELEASE);
            consume(ctx, m, from, consumed);
            consumed++;
        }
    }
    end_balanced(ctx, true);
}

/* ---- the full-page hand-off --------------------------------------------------- */

static struct ta_node *handoff[HA_MAX_CPUS];
static size_t handoff_count;

/* Allocate `size`-byte blocks on this CPU until the heap is exhausted (at
 * most `limit`), dealt into `nlists` lists in runs of 32 neighbours (so the
 * CPUs freeing them share pages, yet the address-ordered fit lists see few
 * fragments). Returns the number. */
static size_t fill_heap(struct ta_node **lists, unsigned nlists, size_t size, uint64_t tag, size_t limit)
{
    size_t count = 0;
    for (unsigned i = 0; i < nlists; i++)
        lists[i] = 0;
    while (count < limit && ta_node_alloc(&lists[count / 32 % nlists], size, TA_NODE_ALIGN, tag + count))
        count++;
    return count;
}

static struct ta_node *ballast;

/* CPU 0 fills the heap: 1 MiB blocks until NULL, frees 32 of them (whatever
 * the heap's size, the small blocks then cover 32 MiB, not all of it), and
 * fills those 32 MiB with small blocks, so every small page it holds is full.
 * The other CPUs free all the small blocks remotely (CPU 0 itself with one
 * CPU); then CPU 0, its heap still full of ballast, must get (nearly) as many
 * small blocks again: full pages emptied by other CPUs return to use. */
void ta_full_page_handoff(struct th_ctx *ctx)
{
    enum { SIZE = 4096 }; /* a small block for mi: many to a 64 KiB page */
    unsigned n = ctx->ncpu, freers = n > 1 ? n - 1 : 1;
    size_t limit = (size_t)1 << 22;
    begin(ctx);
    if (ctx->cpu == 0) {
        size_t count;
        ballast = 0;
        ta_exhaust(&ballast, TA_MIB, TA_MIB, ctx->seed, limit, &count);
        for (unsigned i = 0; i < 32 && ballast; i++) {
            struct ta_node *next = ballast->next;
            ha_dealloc(ballast, ballast->size, ballast->align);
            ballast = next;
        }
        handoff_count = fill_heap(handoff, freers, SIZE, ctx->seed, limit);
        if (handoff_count * SIZE < 16 * TA_MIB)
            th_fail_at(ctx, __FILE__, __LINE__, "only %zu blocks of %u bytes in 32 MiB freed", handoff_count,
                       SIZE);
        TH_EXPECT(ctx, ha_check() == 0);
    }
    th_barrier();
    if (ctx->cpu != 0 || n == 1) {
        unsigned mine = n > 1 ? ctx->cpu - 1 : 0;
        size_t damaged = ta_list_free(handoff[mine]);
        if (damaged)
            th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: %zu blocks damaged", ctx->cpu, damaged);
    }
    th_barrier();
    if (ctx->cpu == 0) {
        struct ta_node *again;
        size_t count = fill_heap(&again, 1, SIZE, ctx->seed + limit, limit);
        if (count < handoff_count - handoff_count / 16)
            th_fail_at(ctx, __FILE__, __LINE__, "%zu blocks of %u bytes at first, only %zu after remote frees",
                       handoff_count, SIZE, count);
        size_t damaged = ta_list_free(again) + ta_list_free(ballast);
        TH_EXPECT(ctx, damaged == 0);
    }
    end_balanced(ctx, false);
}

/* ---- huge blocks and pages at once --------------------------------------------- */

/* What one CPU allocated in a round of ta_huge_and_pages_concurrent. */
enum { RUNS = 6, MEDIUM = 2 };
struct round_blocks {
    uint64_t tag;
    void *huge;
    size_t huge_size, huge_align;
    void *runs[RUNS];
    size_t run_pages[RUNS];
    void *medium[MEDIUM];
    size_t medium_size[MEDIUM];
};
static struct round_blocks rounds_of[HA_MAX_CPUS];

static void alloc_round(struct th_ctx *ctx, struct round_blocks *b, uint64_t *rng, unsigned r, bool huge)
{
    b->tag = th_rand(rng);
    b->huge = 0;
    b->huge_size = 5 * TA_MIB + ctx->cpu * HA_PAGE_SIZE + r * 24 + 1;
    b->huge_align = r & 1 ? 2 * TA_MIB : 16;
    if (huge) {
        b->huge = ha_alloc(b->huge_size, b->huge_align);
        if (b->huge && ta_aligned(b->huge, b->huge_align) && ha_usable_size(b->huge) >= b->huge_size)
            ta_fill(b->huge, b->huge_size, b->tag);
        else
            th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: ha_alloc(%zu, %zu) = %p", ctx->cpu, b->huge_size,
                       b->huge_align, b->huge);
    }
    for (unsigned i = 0; i < RUNS; i++) {
        size_t align = (size_t)HA_PAGE_SIZE << (th_rand(rng) % 7);
        b->run_pages[i] = 1 + th_rand(rng) % 16;
        b->runs[i] = ha_alloc_pages(b->run_pages[i], align);
        if (b->runs[i] && ta_aligned(b->runs[i], align))
            ta_fill(b->runs[i], b->run_pages[i] * HA_PAGE_SIZE, b->tag + 1 + i);
        else
            th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: ha_alloc_pages(%zu, %zu) = %p", ctx->cpu,
                       b->run_pages[i], align, b->runs[i]);
    }
    for (unsigned i = 0; i < MEDIUM; i++) {
        b->medium_size[i] = 64 * TA_KIB + th_rand(rng) % (192 * TA_KIB);
        b->medium[i] = ha_alloc(b->medium_size[i], 8);
        if (b->medium[i])
            ta_fill(b->medium[i], b->medium_size[i], b->tag + 100 + i);
        else
            th_fail_at(ctx, __FILE__, __LINE__, "cpu %u: ha_alloc(%zu) returned NULL", ctx->cpu,
                       b->medium_size[i]);
    }
}

/* Check and free everything of `b` (another CPU's, with more than one). */
static void free_round(struct th_ctx *ctx, struct round_blocks *b)
{
    if (b->huge) {
        TH_EXPECT(ctx, ta_verify(b->huge, b->huge_size, b->tag) == b->huge_size);
        ha_dealloc(b->huge, b->huge_size, b->huge_align);
    }
    for (unsigned i = 0; i < RUNS; i++) {
        if (!b->runs[i])
            continue;
        size_t bytes = b->run_pages[i] * HA_PAGE_SIZE;
        TH_EXPECT(ctx, ta_verify(b->runs[i], bytes, b->tag + 1 + i) == bytes);
        ha_dealloc_pages(b->runs[i], b->run_pages[i]);
    }
    for (unsigned i = 0; i < MEDIUM; i++) {
        if (!b->medium[i])
            continue;
        TH_EXPECT(ctx, ta_verify(b->medium[i], b->medium_size[i], b->tag + 100 + i) == b->medium_size[i]);
        ha_dealloc(b->medium[i], b->medium_size[i], 8);
    }
}

/* Each round up to two CPUs allocate a block of over 5 MiB (some 2 MiB
 * aligned) while all of them allocate page runs (random lengths and
 * alignments) and medium blocks; after a barrier each CPU checks and frees
 * what CPU cpu+1 allocated. Every CPU takes a turn at the huge block twice. */
void ta_huge_and_pages_concurrent(struct th_ctx *ctx)
{
    unsigned n = ctx->ncpu, stride = (n + 1) / 2, rounds = 2 * stride * ctx->scale;
    uint64_t rng = cpu_seed(ctx);
    begin(ctx);
    for (unsigned r = 0; r < rounds; r++) {
        alloc_round(ctx, &rounds_of[ctx->cpu], &rng, r, (ctx->cpu + r) % stride == 0);
        th_barrier(); /* everything of this round is live on every CPU */
        free_round(ctx, &rounds_of[(ctx->cpu + 1) % n]);
        th_barrier();
    }
    end_balanced(ctx, false);
}

/* ---- out of memory on every CPU ------------------------------------------------ */

static uint64_t oom_got[2];

/* All CPUs allocate until NULL at once; the exhausted heap passes ha_check;
 * each CPU frees the blocks of the next CPU; then all exhaust it again and
 * must get (nearly) as much: no memory is stranded in another CPU's heap. */
void ta_oom_all_cpus(struct th_ctx *ctx)
{
    unsigned n = ctx->ncpu;
    if (ctx->cpu == 0)
        oom_got[0] = oom_got[1] = 0;
    begin(ctx);
    for (unsigned round = 0; round < 2; round++) {
        struct ta_node *list = 0;
        size_t count;
        size_t got = ta_exhaust(&list, TA_MIB, 256, cpu_seed(ctx) + round, (size_t)1 << 22, &count);
        __atomic_fetch_add(&oom_got[round], (uint64_t)got, __ATOMIC_RELAXED);
        published[ctx->cpu] = list;
        th_barrier();
        if (ctx->cpu == 0) {
            TH_EXPECT(ctx, ha_check() == 0);
            TH_EXPECT(ctx, oom_got[round] >= 16 * TA_MIB);
        }
        th_barrier();
        free_next_cpus_list(ctx, n);
        th_barrier();
    }
    if (ctx->cpu == 0 && oom_got[1] < oom_got[0] - oom_got[0] / 8)
        th_fail_at(ctx, __FILE__, __LINE__, "all CPUs got %llu bytes at first, %llu after cross frees",
                   (unsigned long long)oom_got[0], (unsigned long long)oom_got[1]);
    end_balanced(ctx, false);
}
