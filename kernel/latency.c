/* latency.c - per-call cost of the allocator calls (see latency.h). */
#include "latency.h"

#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "cpu.h"
#include "ha_format.h"
#include "hartalloc.h"
#include "hartalloc_embed.h"
#include "param.h"

#ifdef KERNEL_LATENCY
enum lat_op { OP_ALLOC, OP_ALLOC_ZEROED, OP_DEALLOC, OP_FREE, OP_REALLOC, OP_ALLOC_PAGES,
              OP_DEALLOC_PAGES, OP_COUNT };
static const char *const op_names[OP_COUNT] = { "alloc", "alloc_zeroed", "dealloc", "free",
                                                "realloc", "alloc_pages", "dealloc_pages" };

/* Buckets: v < 8 exact; else 8 per power of two (the top 3 bits after the
 * leading one), so a bucket is at most 12.5% wide. tools/bench/run.py
 * inverts this (bucket_low). */
#define LAT_BUCKETS (8 + 61 * 8)
#define LAT_WORST 4 /* slowest calls kept per CPU and operation */

struct lat_call {
    uint64_t cost;     /* guest instructions in the call (calibration subtracted) */
    uint64_t spins;    /* lock spin-loop iterations in it                         */
    uint64_t size, align, old_size; /* what was asked (pages: count and alignment) */
    int64_t pages, segments;        /* this CPU's ha_stats deltas over the call    */
    uint8_t op;
};

struct lat_cpu {
    uint32_t hist[OP_COUNT][LAT_BUCKETS];
    uint64_t calls[OP_COUNT], sum[OP_COUNT], max[OP_COUNT];
    uint64_t waited[OP_COUNT];  /* calls that spun on a lock                   */
    uint64_t spins[OP_COUNT];   /* their spin-loop iterations                  */
    uint64_t max_spins[OP_COUNT];
    uint64_t bytes[OP_COUNT];   /* zeroed (alloc_zeroed) / copied (realloc) for the caller */
    struct lat_call worst[OP_COUNT][LAT_WORST];
    uint64_t worst_min[OP_COUNT]; /* cost of the cheapest kept call            */
    uint64_t lock_spins;        /* written by ha_embed_lock_spun               */
    int64_t pages, segments;    /* this CPU's ha_stats after its last call     */
} __attribute__((aligned(64)));

static struct lat_cpu lat[MAX_HARTS];
static bool enabled;
static uint64_t calibration; /* instret delta around an empty call */

static unsigned bucket_of(uint64_t v)
{
    if (v < 8)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 3 */
    return 8 + (e - 3) * 8 + (unsigned)((v >> (e - 3)) & 7);
}

static inline uint64_t rdinstret(void)
{
    uint64_t v;
    __asm__ volatile("csrr %0, instret" : "=r"(v)::"memory");
    return v;
}

/* The bucket printout: "b:count" pairs, several lines per operation so a
 * line stays under the console's 512 bytes. */
static void print_hist(const char *tag, const char *op, const uint32_t *sum)
{
    char line[400];
    int n = 0;
    for (unsigned b = 0; b < LAT_BUCKETS; b++) {
        if (!sum[b])
            continue;
        if (n > 300) {
            console_printf("%s op=%s hist=%s\n", tag, op, line);
            n = 0;
        }
        n += ha_format(line + n, sizeof line - (size_t)n, "%s%u:%u", n ? "," : "", b, sum[b]);
    }
    if (n)
        console_printf("%s op=%s hist=%s\n", tag, op, line);
}

void latency_report(const char *phase, unsigned ncpu)
{
    if (!enabled)
        return;
    if (ncpu > MAX_HARTS)
        ncpu = MAX_HARTS;
    console_printf("LAT phase=%s alloc=%s cpus=%u calibration=%llu\n", phase, ha_name(), ncpu,
                   (unsigned long long)calibration);
    static uint32_t merged[LAT_BUCKETS];
    for (unsigned op = 0; op < OP_COUNT; op++) {
        uint64_t calls = 0, sum = 0, max = 0, waited = 0, spins = 0, max_spins = 0, bytes = 0;
        __builtin_memset(merged, 0, sizeof merged);
        for (unsigned c = 0; c < ncpu; c++) {
            const struct lat_cpu *l = &lat[c];
            calls += l->calls[op];
            sum += l->sum[op];
            max = l->max[op] > max ? l->max[op] : max;
            waited += l->waited[op];
            spins += l->spins[op];
            max_spins = l->max_spins[op] > max_spins ? l->max_spins[op] : max_spins;
            bytes += l->bytes[op];
            for (unsigned b = 0; b < LAT_BUCKETS; b++)
                merged[b] += l->hist[op][b];
        }
        if (!calls)
            continue;
        console_printf("LATOP op=%s calls=%llu sum=%llu max=%llu waited=%llu spins=%llu "
                       "max_spins=%llu bytes=%llu\n", op_names[op], (unsigned long long)calls,
                       (unsigned long long)sum, (unsigned long long)max, (unsigned long long)waited,
                       (unsigned long long)spins, (unsigned long long)max_spins,
                       (unsigned long long)bytes);
        print_hist("LATH", op_names[op], merged);
    }
    for (unsigned c = 0; c < ncpu; c++)
        for (unsigned i = 0; i < OP_COUNT * LAT_WORST; i++) {
            const struct lat_call *w = &lat[c].worst[i / LAT_WORST][i % LAT_WORST];
            if (!w->cost)
                continue;
            console_printf("LATW op=%s cost=%llu spins=%llu size=%llu align=%llu old=%llu cpu=%u "
                           "pages=%lld segments=%lld\n", op_names[w->op],
                           (unsigned long long)w->cost, (unsigned long long)w->spins,
                           (unsigned long long)w->size, (unsigned long long)w->align,
                           (unsigned long long)w->old_size, c, (long long)w->pages,
                           (long long)w->segments);
        }
    console_printf("LATEND phase=%s\n", phase);
}

/* ---- the wrapped calls ---------------------------------------------------- */

bool latency_built(void) { return true; }

void ha_embed_lock_spun(unsigned long spins)
{
    lat[this_cpu()->index].lock_spins += spins;
}

void *__real_ha_alloc(size_t size, size_t align);
void *__real_ha_alloc_zeroed(size_t size, size_t align);
void __real_ha_dealloc(void *ptr, size_t size, size_t align);
void __real_ha_free(void *ptr);
void *__real_ha_realloc(void *ptr, size_t old_size, size_t align, size_t new_size);
void *__real_ha_alloc_pages(size_t num_pages, size_t align_pow2);
void __real_ha_dealloc_pages(void *addr, size_t num_pages);

void __real_ha_collect(void);

/* What a wrapper knows before the call, and the counters it reads around it.
 * Everything outside the two instret reads is not counted. */
struct probe {
    struct lat_cpu *l;
    uint64_t spins, t0;
};

static inline __attribute__((always_inline)) void probe_start(struct probe *p)
{
    p->l = &lat[this_cpu()->index]; /* callers never migrate in this kernel */
    p->spins = p->l->lock_spins;
    p->t0 = rdinstret();
}

/* A CPU's page and segment counts change only in its own calls into the
 * allocator, all of which come through here (ha_collect included), so the
 * figures after one call are those before the next. */
static void note_held(struct lat_cpu *l, int64_t *pages, int64_t *segments)
{
    struct ha_stats now;
    ha_get_stats(this_cpu()->index, &now);
    *pages = now.pages_in_use - l->pages;
    *segments = now.segments_in_use - l->segments;
    l->pages = now.pages_in_use;
    l->segments = now.segments_in_use;
}

void __wrap_ha_collect(void)
{
    __real_ha_collect();
    if (enabled) {
        int64_t pages, segments;
        note_held(&lat[this_cpu()->index], &pages, &segments);
    }
}

static void record(struct probe *p, uint64_t t1, enum lat_op op, size_t size, size_t align,
                   size_t old_size, uint64_t bytes)
{
    struct lat_cpu *l = p->l;
    uint64_t raw = t1 - p->t0, cost = raw > calibration ? raw - calibration : 0;
    uint64_t spins = l->lock_spins - p->spins;
    l->hist[op][bucket_of(cost)]++;
    l->calls[op]++;
    l->sum[op] += cost;
    if (cost > l->max[op])
        l->max[op] = cost;
    l->bytes[op] += bytes;
    if (spins) {
        l->waited[op]++;
        l->spins[op] += spins;
        if (spins > l->max_spins[op])
            l->max_spins[op] = spins;
    }
    int64_t pages, segments;
    note_held(l, &pages, &segments);
    if (cost <= l->worst_min[op])
        return;
    struct lat_call *w = l->worst[op];
    unsigned slot = 0;
    for (unsigned i = 1; i < LAT_WORST; i++)
        if (w[i].cost < w[slot].cost)
            slot = i;
    w[slot] = (struct lat_call){ .cost = cost, .spins = spins, .size = size, .align = align,
                                 .old_size = old_size, .pages = pages, .segments = segments,
                                 .op = (uint8_t)op };
    uint64_t min = w[0].cost;
    for (unsigned i = 1; i < LAT_WORST; i++)
        if (w[i].cost < min)
            min = w[i].cost;
    l->worst_min[op] = min;
}

/* The empty call the calibration measures: what a wrapped call costs around
 * the callee's own instructions (the call, the return, the second read). */
static __attribute__((noipa, optimize("omit-frame-pointer"))) void *empty_call(size_t a, size_t b) { return (void *)(a + b); }

void latency_enable(void)
{
    uint64_t best = ~0ull;
    for (int i = 0; i < 8; i++) {
        uint64_t t0 = rdinstret();
        void *r = empty_call((size_t)i, 8);
        uint64_t t1 = rdinstret();
        __asm__ volatile("" ::"r"(r));
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    calibration = best;
    latency_reset();
    enabled = true;
}

void latency_reset(void)
{
    __builtin_memset(lat, 0, sizeof lat);
    struct ha_stats now;
    for (unsigned c = 0; c < MAX_HARTS && ha_get_stats(c, &now) == 0; c++) {
        lat[c].pages = now.pages_in_use;
        lat[c].segments = now.segments_in_use;
    }
}

void *__wrap_ha_alloc(size_t size, size_t align)
{
    if (!enabled)
        return __real_ha_alloc(size, align);
    struct probe p;
    probe_start(&p);
    void *r = __real_ha_alloc(size, align);
    record(&p, rdinstret(), OP_ALLOC, size, align, 0, 0);
    return r;
}

void *__wrap_ha_alloc_zeroed(size_t size, size_t align)
{
    if (!enabled)
        return __real_ha_alloc_zeroed(size, align);
    struct probe p;
    probe_start(&p);
    void *r = __real_ha_alloc_zeroed(size, align);
    record(&p, rdinstret(), OP_ALLOC_ZEROED, size, align, 0, r ? size : 0);
    return r;
}

void __wrap_ha_dealloc(void *ptr, size_t size, size_t align)
{
    if (!enabled || !ptr) {
        __real_ha_dealloc(ptr, size, align);
        return;
    }
    struct probe p;
    probe_start(&p);
    __real_ha_dealloc(ptr, size, align);
    record(&p, rdinstret(), OP_DEALLOC, size, align, 0, 0);
}

void __wrap_ha_free(void *ptr)
{
    if (!enabled || !ptr) {
        __real_ha_free(ptr);
        return;
    }
    struct probe p;
    probe_start(&p);
    __real_ha_free(ptr);
    record(&p, rdinstret(), OP_FREE, 0, 0, 0, 0);
}

void *__wrap_ha_realloc(void *ptr, size_t old_size, size_t align, size_t new_size)
{
    if (!enabled)
        return __real_ha_realloc(ptr, old_size, align, new_size);
    struct probe p;
    probe_start(&p);
    void *r = __real_ha_realloc(ptr, old_size, align, new_size);
    uint64_t t1 = rdinstret();
    /* Bytes copied for the caller: the old contents, when the block moved. */
    uint64_t copied = r && ptr && r != ptr ? (old_size < new_size ? old_size : new_size) : 0;
    record(&p, t1, OP_REALLOC, new_size, align, old_size, copied);
    return r;
}

void *__wrap_ha_alloc_pages(size_t num_pages, size_t align_pow2)
{
    if (!enabled)
        return __real_ha_alloc_pages(num_pages, align_pow2);
    struct probe p;
    probe_start(&p);
    void *r = __real_ha_alloc_pages(num_pages, align_pow2);
    record(&p, rdinstret(), OP_ALLOC_PAGES, num_pages, align_pow2, 0, 0);
    return r;
}

void __wrap_ha_dealloc_pages(void *addr, size_t num_pages)
{
    if (!enabled || !addr) {
        __real_ha_dealloc_pages(addr, num_pages);
        return;
    }
    struct probe p;
    probe_start(&p);
    __real_ha_dealloc_pages(addr, num_pages);
    record(&p, rdinstret(), OP_DEALLOC_PAGES, num_pages, 0, 0, 0);
}

#else
/* ---- kernel.elf: nothing is wrapped, nothing is kept ---------------------- */
bool latency_built(void) { return false; }
void latency_enable(void) {}
void latency_reset(void) {}
void latency_report(const char *phase, unsigned ncpu) { (void)phase, (void)ncpu; }
#endif
