/* alloc_fit.c - the `alloc` case usable_fits_request: a block is sized to
 * its request. Runs on CPU 0; the others wait. */
#include "alloc_cases.h"

/* Every 4 KiB of a large block gets one word (all of it is mapped and
 * writable) and the ends get the full pattern: writing 64 MiB a size would
 * take minutes under TCG. */
#define FIT_EDGE (4 * TA_KIB)
#define FIT_STRIDE (4 * TA_KIB)

static uint64_t word_tag(uint64_t tag, size_t offset)
{
    return (tag ^ offset) * 0x9e3779b97f4a7c15ull;
}

static void fill_sparse(uint8_t *p, size_t n, uint64_t tag)
{
    ta_fill_ends(p, n, tag, FIT_EDGE);
    for (size_t off = FIT_EDGE; off + 2 * sizeof(uint64_t) + FIT_EDGE <= n; off += FIT_STRIDE) {
        uint64_t w = word_tag(tag, off);
        __builtin_memcpy(p + off, &w, sizeof w);
    }
}

static bool sparse_intact(const uint8_t *p, size_t n, uint64_t tag)
{
    if (!ta_ends_intact(p, n, tag, FIT_EDGE))
        return false;
    for (size_t off = FIT_EDGE; off + 2 * sizeof(uint64_t) + FIT_EDGE <= n; off += FIT_STRIDE) {
        uint64_t w;
        __builtin_memcpy(&w, p + off, sizeof w);
        if (w != word_tag(tag, off))
            return false;
    }
    return true;
}

static bool same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* The most a request of n bytes may get: a quarter more (four size classes
 * per doubling), but never less than the 8-byte granule small blocks come
 * in (which is more than a quarter below 32 bytes). */
static size_t fit_bound(size_t n)
{
    size_t granule = (n + 7) & ~(size_t)7;
    return n + n / 4 > granule ? n + n / 4 : granule;
}

/* One size: allocate, check usable against the bound (mi types), fill to the
 * usable size, verify, free. False after a failed check (recorded in ctx). */
static bool fit_one(struct th_ctx *ctx, size_t n, bool bounded, size_t must_fit)
{
    void *p = ha_alloc(n, 8);
    if (!p) {
        if (n > must_fit)
            return true; /* larger than what this heap is sure to hold */
        th_fail_at(ctx, __FILE__, __LINE__, "ha_alloc(%zu, 8) returned NULL with %zu bytes available", n,
                   ha_available_bytes());
        return false;
    }
    size_t usable = ha_usable_size(p);
    bool ok = usable >= n && ta_aligned(p, 8);
    if (ok && bounded) {
        ok = usable <= fit_bound(n);
        /* A whole number of 64 KiB slices (and so of 4 MiB segments) fits
         * exactly: its layout costs no extra slice or segment. */
        if (n % (64 * TA_KIB) == 0)
            ok = ok && usable == n;
    }
    if (!ok) {
        ha_dealloc(p, n, 8);
        th_fail_at(ctx, __FILE__, __LINE__, "ha_alloc(%zu, 8) = %p: usable %zu (allowed %zu..%zu)", n, p, usable,
                   n, bounded ? (n % (64 * TA_KIB) == 0 ? n : fit_bound(n)) : (size_t)-1);
        return false;
    }
    uint64_t tag = ctx->seed ^ (uint64_t)n;
    fill_sparse(p, usable, tag);
    bool intact = sparse_intact(p, usable, tag) && ha_usable_size(p) == usable;
    ha_dealloc(p, n, 8);
    if (!intact)
        th_fail_at(ctx, __FILE__, __LINE__, "block of %zu bytes (usable %zu) at %p did not keep its contents", n,
                   usable, p);
    return intact;
}

/* For mi and mi-locked, a request of n bytes gets at most n + n/4 usable
 * bytes (at least the 8-byte granule), and a multiple of 64 KiB gets exactly
 * that; for every alloc_type, at least n bytes, writable to the last. Sizes
 * from 1 byte to 64 MiB: every power of two and its neighbours, 16 steps per
 * doubling, and the multiples of 64 KiB and 4 MiB among them. The largest
 * need only fit when the heap has room for four of them. */
void ta_usable_fits_request(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    const char *name = ha_name();
    bool bounded = same(name, "mi") || same(name, "mi-locked");
    size_t used0 = ha_used_bytes();
    size_t must_fit = ha_available_bytes() / 4;
    for (unsigned k = 0; k <= 26; k++) {
        size_t pow = (size_t)1 << k;
        if (!fit_one(ctx, pow, bounded, must_fit) || (pow > 1 && !fit_one(ctx, pow - 1, bounded, must_fit)) ||
            !fit_one(ctx, pow + 1, bounded, must_fit))
            return;
        /* 15 more steps inside the doubling; odd offsets land between classes. */
        for (unsigned q = 1; q < 16 && k >= 4; q++)
            if (!fit_one(ctx, pow + pow / 16 * q, bounded, must_fit) ||
                !fit_one(ctx, pow + pow / 16 * q - 3, bounded, must_fit))
                return;
    }
    /* Whole slices and segments that are not powers of two. */
    static const size_t slices[] = { 3, 5, 6, 7, 9, 17, 33, 63, 65, 127, 129, 192, 320 };
    for (unsigned i = 0; i < sizeof slices / sizeof slices[0]; i++)
        if (!fit_one(ctx, slices[i] * 64 * TA_KIB, bounded, must_fit) ||
            !fit_one(ctx, slices[i] * 4 * TA_MIB, bounded, must_fit))
            return;
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}
