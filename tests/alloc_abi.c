/* alloc_abi.c - single-CPU cases of the `alloc` suite: names, argument
 * checks, sizes, alignment. They run on CPU 0; the other CPUs wait. */
#include "alloc_cases.h"

static bool same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* The names hartalloc.h promises, in enum order. */
static const char *const type_names[] = {
    "mi", "mi-locked", "tlsf", "buddy", "slab", "first-fit", "best-fit", "worst-fit",
};

/* Every alloc_type name round-trips; near misses are rejected; the running
 * allocator names itself; ha_type_names() lists exactly the eight names. */
/* Every error code has its own text, the same for -code and code; anything
 * else is "unknown error". */
void ta_error_text(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    static const int codes[] = { HA_OK, HA_EINVAL, HA_ETOOSMALL, HA_EALIGN, HA_EBUSY, HA_EFULL, HA_ENOINIT };
    const unsigned n = sizeof codes / sizeof codes[0];
    for (unsigned i = 0; i < n; i++) {
        const char *text = ha_error_text(-codes[i]);
        TH_CHECK_MSG(ctx, text && text[0] && !same(text, "unknown error"), "ha_error_text(%d) is \"%s\"",
                     -codes[i], text ? text : "(null)");
        TH_CHECK(ctx, ha_error_text(codes[i]) == text);
        for (unsigned j = 0; j < i; j++)
            TH_CHECK_MSG(ctx, !same(text, ha_error_text(codes[j])), "codes %d and %d share \"%s\"",
                         codes[i], codes[j], text);
    }
    TH_CHECK(ctx, same(ha_error_text(-HA_ETOOSMALL), "region too small for the selected backend"));
    TH_CHECK(ctx, same(ha_error_text(HA_ENOINIT + 1), "unknown error"));
    TH_CHECK(ctx, same(ha_error_text(-1000), "unknown error"));
    TH_CHECK(ctx, same(ha_error_text(-2147483647 - 1), "unknown error"));
}

void ta_names(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    TH_CHECK_EQ(ctx, HA_TYPE_COUNT, sizeof type_names / sizeof type_names[0]);
    for (int t = 0; t < HA_TYPE_COUNT; t++) {
        const char *name = ha_type_name((ha_type)t);
        TH_CHECK_MSG(ctx, name && same(name, type_names[t]), "ha_type_name(%d) is \"%s\", want \"%s\"",
                     t, name ? name : "(null)", type_names[t]);
        ha_type out = HA_TYPE_COUNT;
        TH_CHECK_EQ(ctx, ha_type_from_name(name, &out), 0);
        TH_CHECK_EQ(ctx, out, t);
    }
    TH_CHECK(ctx, ha_type_name(HA_TYPE_COUNT) == 0);
    TH_CHECK(ctx, ha_type_name((ha_type)1000) == 0);

    static const char *const bad[] = { "", "nonsense", "MI", "Mi", "mi ", " mi", "tlsf-",
                                       "tls", "first_fit", "firstfit", "mi-locked-", "buddy\n" };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ha_type out = HA_TYPE_COUNT;
        TH_CHECK_MSG(ctx, ha_type_from_name(bad[i], &out) == -HA_EINVAL,
                     "ha_type_from_name(\"%s\") accepted", bad[i]);
        TH_CHECK_MSG(ctx, out == HA_TYPE_COUNT, "rejected name \"%s\" wrote the result", bad[i]);
    }
    ha_type out = HA_TYPE_COUNT;
    TH_CHECK_EQ(ctx, ha_type_from_name(0, &out), -HA_EINVAL);

    const char *running = ha_name();
    TH_CHECK(ctx, running && running[0]);
    TH_CHECK_EQ(ctx, ha_type_from_name(running, &out), 0);
    TH_CHECK(ctx, same(ha_type_name(out), running));

    /* "mi, mi-locked, ...": item k is type_names[k], and there are exactly 8. */
    const char *s = ha_type_names();
    TH_CHECK(ctx, s != 0);
    unsigned items = 0;
    while (*s) {
        TH_CHECK_MSG(ctx, items < HA_TYPE_COUNT, "ha_type_names() lists more than %d names", HA_TYPE_COUNT);
        const char *want = type_names[items];
        while (*want && *s == *want)
            s++, want++;
        TH_CHECK_MSG(ctx, *want == 0 && (*s == 0 || *s == ','),
                     "ha_type_names() item %u is not \"%s\"", items, type_names[items]);
        items++;
        if (*s == ',') {
            s++;
            TH_CHECK(ctx, *s == ' ');
            s++;
        }
    }
    TH_CHECK_EQ(ctx, items, HA_TYPE_COUNT);
}

static uint8_t spare_region[2 * HA_PAGE_SIZE] __attribute__((aligned(HA_PAGE_SIZE)));

/* A second ha_init fails with -HA_EBUSY and leaves the running allocator and
 * the offered memory alone. */
void ta_init_twice_rejected(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    const char *before = ha_name();
    ta_fill(spare_region, sizeof spare_region, 0x1717);
    for (int t = 0; t < HA_TYPE_COUNT; t++) {
        TH_CHECK_EQ(ctx, -ha_init((ha_type)t, spare_region, sizeof spare_region, 1), HA_EBUSY);
        TH_CHECK_EQ(ctx, -ha_init_flags((ha_type)t, spare_region, sizeof spare_region, 1, HA_MEMORY_ZEROED),
                    HA_EBUSY);
    }
    TH_CHECK(ctx, same(ha_name(), before));
    TH_CHECK_EQ(ctx, ta_verify(spare_region, sizeof spare_region, 0x1717), sizeof spare_region);
    void *p = ha_alloc(100, 8);
    TH_CHECK(ctx, p != 0);
    ha_dealloc(p, 100, 8);
}

/* ha_add_memory rejects a NULL or empty region with -HA_EINVAL and a region
 * too small to hold anything with -HA_ETOOSMALL (or -HA_EALIGN), without
 * writing to it or changing what is available. */
void ta_add_memory_bad_args(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    size_t avail0 = ha_available_bytes(), pages0 = ha_available_pages();
    ta_fill(spare_region, sizeof spare_region, 0x2828);
    TH_CHECK_EQ(ctx, -ha_add_memory(0, TA_MIB), HA_EINVAL);
    TH_CHECK_EQ(ctx, -ha_add_memory_flags(0, TA_MIB, HA_MEMORY_ZEROED), HA_EINVAL);
    TH_CHECK_EQ(ctx, -ha_add_memory(spare_region, 0), HA_EINVAL);
    TH_CHECK_EQ(ctx, -ha_add_memory_flags(spare_region, 0, HA_MEMORY_ZEROED), HA_EINVAL);
    int r = ha_add_memory(spare_region, 1);
    TH_CHECK_MSG(ctx, r == -HA_ETOOSMALL || r == -HA_EALIGN,
                 "ha_add_memory of a 1-byte region returned %d", r);
    r = ha_add_memory(spare_region + 1, 1);
    TH_CHECK_MSG(ctx, r == -HA_ETOOSMALL || r == -HA_EALIGN,
                 "ha_add_memory of a misaligned 1-byte region returned %d", r);
    TH_CHECK_EQ(ctx, ta_verify(spare_region, sizeof spare_region, 0x2828), sizeof spare_region);
    TH_CHECK_EQ(ctx, ha_available_bytes(), avail0);
    TH_CHECK_EQ(ctx, ha_available_pages(), pages0);
}

/* Memory the suite gives the allocator: the 4 MiB-aligned 4 MiB inside it
 * (segment-based backends find a block's segment by masking). Static, so it
 * is the suite's to give and is never touched again by anything else. */
#define EXTRA_REGION (4 * TA_MIB)
static uint8_t extra_memory[2 * EXTRA_REGION];

/* A region handed over with ha_add_memory is used: the available bytes grow
 * by at most its size (and by more than half of it), and when the heap is
 * exhausted some block lies inside it. The region stays with the allocator,
 * so every later case runs over two (in the kernel, more) regions. */
void ta_add_memory_used(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    uint8_t *region = (uint8_t *)(((uintptr_t)extra_memory + EXTRA_REGION - 1) & ~(uintptr_t)(EXTRA_REGION - 1));
    size_t avail0 = ha_available_bytes(), used0 = ha_used_bytes();
    int r = ha_add_memory(region, EXTRA_REGION);
    TH_CHECK_MSG(ctx, r == 0, "ha_add_memory(%p, 4 MiB) returned %d", (void *)region, r);
    size_t avail1 = ha_available_bytes();
    TH_CHECK_MSG(ctx, avail1 > avail0 + EXTRA_REGION / 2 && avail1 <= avail0 + EXTRA_REGION,
                 "available bytes %zu -> %zu after adding %zu", avail0, avail1, EXTRA_REGION);

    struct ta_node *list = 0;
    size_t count, inside = 0;
    ta_exhaust(&list, TA_MIB, 256, ctx->seed, (size_t)1 << 22, &count);
    for (const struct ta_node *n = list; n; n = n->next)
        if ((const uint8_t *)n >= region && (const uint8_t *)n < region + EXTRA_REGION)
            inside += n->size;
    size_t damaged = ta_list_free(list);
    TH_CHECK_EQ(ctx, damaged, 0);
    /* A quarter: buddy rounds a request up to a power of two, and checked
     * builds add a size record, so a full region may hold requests of little
     * more than half its size (a 1 MiB request takes a 2 MiB block). */
    TH_CHECK_MSG(ctx, inside >= EXTRA_REGION / 4, "only %zu bytes of %zu blocks lie in the added region",
                 inside, count);
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* ha_add_memory rejects memory the allocator already manages with -HA_EINVAL
 * (two blocks would share bytes): the region add_memory_used gave, and a
 * range holding it, without changing what is available. */
void ta_add_memory_overlap(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    uint8_t *region = (uint8_t *)(((uintptr_t)extra_memory + EXTRA_REGION - 1) & ~(uintptr_t)(EXTRA_REGION - 1));
    int first = ha_add_memory(region, EXTRA_REGION); /* 0 when the case runs alone */
    TH_CHECK_MSG(ctx, first == 0 || first == -HA_EINVAL, "ha_add_memory(%p, 4 MiB) returned %d", (void *)region,
                 first);
    size_t avail0 = ha_available_bytes(), pages0 = ha_available_pages();
    TH_CHECK_EQ(ctx, -ha_add_memory(region, EXTRA_REGION), HA_EINVAL);
    TH_CHECK_EQ(ctx, -ha_add_memory_flags(region, EXTRA_REGION, HA_MEMORY_ZEROED), HA_EINVAL);
    TH_CHECK_EQ(ctx, -ha_add_memory(extra_memory, sizeof extra_memory), HA_EINVAL);
    TH_CHECK_EQ(ctx, ha_available_bytes(), avail0);
    TH_CHECK_EQ(ctx, ha_available_pages(), pages0);
}

/* Freeing NULL, in each of the three ways, does nothing. */
void ta_null_ignored(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    struct ta_usage u0, u1;
    ta_usage_now(&u0);
    ha_dealloc(0, 16, 8);
    ha_dealloc(0, 0, 1);
    ha_dealloc(0, 5 * TA_MIB, 4096);
    ha_free(0);
    ha_dealloc_pages(0, 1);
    ha_dealloc_pages(0, 16);
    ta_usage_now(&u1);
    TH_CHECK_EQ(ctx, u1.used_bytes, u0.used_bytes);
    TH_CHECK_EQ(ctx, u1.used_pages, u0.used_pages);
    TH_CHECK_EQ(ctx, u1.stats.frees, u0.stats.frees);
    TH_CHECK_EQ(ctx, u1.stats.allocs, u0.stats.allocs);
}

/* ha_alloc(0, a) returns a unique, a-aligned pointer, distinct from every
 * other live block, which ha_dealloc(p, 0, a) takes back; a size-0 block can
 * be grown by realloc. */
void ta_size_zero(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    enum { PER_ALIGN = 24 };
    static const size_t aligns[] = { 1, 8, 64, 4096 };
    void *blocks[4 * PER_ALIGN + 2];
    unsigned n = 0;
    size_t used0 = ha_used_bytes();

    void *live = ha_alloc(16, 8);
    TH_CHECK(ctx, live != 0);
    for (unsigned a = 0; a < 4; a++) {
        for (unsigned i = 0; i < PER_ALIGN; i++) {
            void *p = ha_alloc(0, aligns[a]);
            TH_CHECK_MSG(ctx, p != 0, "ha_alloc(0, %zu) returned NULL", aligns[a]);
            TH_CHECK_MSG(ctx, ta_aligned(p, aligns[a]), "ha_alloc(0, %zu) = %p", aligns[a], p);
            blocks[n++] = p;
        }
    }
    void *z = ha_alloc_zeroed(0, 8);
    TH_CHECK(ctx, z != 0);
    blocks[n++] = z;
    blocks[n++] = live;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = i + 1; j < n; j++)
            TH_CHECK_MSG(ctx, blocks[i] != blocks[j], "blocks %u and %u share %p", i, j, blocks[i]);

    for (unsigned a = 0; a < 4; a++)
        for (unsigned i = 0; i < PER_ALIGN; i++)
            ha_dealloc(blocks[a * PER_ALIGN + i], 0, aligns[a]);
    ha_dealloc(z, 0, 8);
    ha_dealloc(live, 16, 8);

    void *p = ha_alloc(0, 8);
    TH_CHECK(ctx, p != 0);
    void *q = ha_realloc(p, 0, 8, 100);
    TH_CHECK(ctx, q != 0 && ta_aligned(q, 8) && ha_usable_size(q) >= 100);
    ta_fill(q, 100, 0x3939);
    TH_CHECK_EQ(ctx, ta_verify(q, 100, 0x3939), 100);
    ha_dealloc(q, 100, 8);
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* Bytes written and checked at each end of a swept block: all of a block up
 * to 1 MiB (TCG spends seconds on the 8 MiB usable size of buddy's 4 MiB+1). */
#define SWEEP_EDGE (512 * TA_KIB)

/* Allocate blocks of `count` sizes first, first+1, ... all live at once;
 * fill each block's usable size (up to SWEEP_EDGE at each end) with its own
 * pattern; run ha_check; verify every block only after all are written (so
 * overlapping blocks are caught); free. False after recording a failure. */
static bool sweep_sizes(struct th_ctx *ctx, void **blocks, size_t first, size_t count, size_t align,
                        uint64_t tag)
{
    for (size_t i = 0; i < count; i++) {
        size_t size = first + i;
        void *p = ha_alloc(size, align);
        blocks[i] = p;
        if (!p) {
            th_fail_at(ctx, __FILE__, __LINE__, "ha_alloc(%zu, %zu) returned NULL", size, align);
            for (size_t k = 0; k < i; k++)
                ha_dealloc(blocks[k], first + k, align);
            return false;
        }
        size_t usable = ha_usable_size(p);
        if (usable < size || !ta_aligned(p, align))
            th_fail_at(ctx, __FILE__, __LINE__, "ha_alloc(%zu, %zu) = %p, usable %zu", size, align,
                       p, usable);
        else
            ta_fill_ends(p, usable, tag + size, SWEEP_EDGE);
    }
    if (!ctx->failed && ha_check() != 0) /* the validator, with every block live */
        th_fail_at(ctx, __FILE__, __LINE__, "ha_check failed with %zu blocks of %zu.. bytes live", count, first);
    for (size_t i = 0; i < count && !ctx->failed; i++) {
        size_t usable = ha_usable_size(blocks[i]);
        if (!ta_ends_intact(blocks[i], usable, tag + first + i, SWEEP_EDGE))
            th_fail_at(ctx, __FILE__, __LINE__, "block of %zu bytes at %p (usable %zu) damaged", first + i,
                       blocks[i], usable);
    }
    for (size_t i = 0; i < count; i++)
        ha_dealloc(blocks[i], first + i, align);
    return !ctx->failed;
}

/* Every size from 1 to 2048 at once, with alignment 1 and 16: usable size at
 * least the request, all of it writable, no two blocks overlapping. */
void ta_every_small_size(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    static void *blocks[2048];
    size_t used0 = ha_used_bytes();
    if (!sweep_sizes(ctx, blocks, 1, 2048, 1, ctx->seed))
        return;
    if (!sweep_sizes(ctx, blocks, 1, 2048, 16, ctx->seed ^ 0xabcdef))
        return;
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* 2^k - 1, 2^k and 2^k + 1 for every k up to 4 MiB, three at a time. */
void ta_powers_of_two(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    void *blocks[3];
    size_t used0 = ha_used_bytes();
    for (unsigned k = 1; k <= 22; k++)
        if (!sweep_sizes(ctx, blocks, ((size_t)1 << k) - 1, 3, 8, ctx->seed + k * 1000003u))
            return;
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* s - 1, s, s + 1 for s = 2^k * q / 8 (eight steps per power of two, which
 * covers every class boundary of a few-classes-per-power-of-two scheme), from
 * 16 bytes to 3.75 MiB. Blocks above 256 KiB are checked at their ends. */
void ta_class_boundaries(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    size_t used0 = ha_used_bytes();
    for (unsigned k = 4; k <= 21; k++) {
        for (unsigned q = 9; q <= 15; q++) {
            size_t s = ((size_t)1 << k) / 8 * q;
            void *blocks[3];
            for (unsigned i = 0; i < 3; i++) {
                size_t size = s - 1 + i;
                blocks[i] = ha_alloc(size, 8);
                TH_CHECK_MSG(ctx, blocks[i], "ha_alloc(%zu, 8) returned NULL", size);
                size_t usable = ha_usable_size(blocks[i]);
                TH_CHECK_MSG(ctx, usable >= size && ta_aligned(blocks[i], 8),
                             "ha_alloc(%zu, 8) = %p, usable %zu", size, blocks[i], usable);
                ta_fill_ends(blocks[i], usable, ctx->seed + size, 128 * TA_KIB);
            }
            for (unsigned i = 0; i < 3; i++) {
                size_t size = s - 1 + i;
                TH_CHECK_MSG(ctx, ta_ends_intact(blocks[i], ha_usable_size(blocks[i]), ctx->seed + size,
                                                 128 * TA_KIB),
                             "block of %zu bytes at %p damaged", size, blocks[i]);
            }
            for (unsigned i = 0; i < 3; i++)
                ha_dealloc(blocks[i], s - 1 + i, 8);
        }
    }
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* Blocks of several MiB, two live at once, then one of 20 MiB: usable size
 * at least the request, written and checked (blocks over 4 MiB at their
 * first and last 2 MiB, to keep TCG fast). */
void ta_huge(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    static const size_t sizes[][2] = {
        { 5 * TA_MIB, 5 * TA_MIB + 1 },
        { 7 * TA_MIB + 12345, 4 * TA_MIB - 1 },
        { 12 * TA_MIB + 3, 0 },
        { 20 * TA_MIB, 0 },
    };
    size_t used0 = ha_used_bytes();
    for (unsigned r = 0; r < sizeof sizes / sizeof sizes[0]; r++) {
        void *p[2] = { 0, 0 };
        for (unsigned i = 0; i < 2 && sizes[r][i]; i++) {
            size_t size = sizes[r][i];
            p[i] = ha_alloc(size, 16);
            TH_CHECK_MSG(ctx, p[i], "ha_alloc(%zu, 16) returned NULL", size);
            size_t usable = ha_usable_size(p[i]);
            TH_CHECK_MSG(ctx, usable >= size && ta_aligned(p[i], 16), "ha_alloc(%zu, 16) = %p, usable %zu",
                         size, p[i], usable);
            ta_fill_ends(p[i], usable, ctx->seed + size, 2 * TA_MIB);
        }
        for (unsigned i = 0; i < 2 && p[i]; i++) {
            size_t size = sizes[r][i];
            TH_CHECK_MSG(ctx, ta_ends_intact(p[i], ha_usable_size(p[i]), ctx->seed + size, 2 * TA_MIB),
                         "block of %zu bytes at %p damaged", size, p[i]);
            ha_dealloc(p[i], size, 16);
        }
    }
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* Requests beyond the heap, or whose size arithmetic would overflow, return
 * NULL from every allocating call and change nothing. */
void ta_too_large(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    struct ta_usage u0, u1;
    ta_usage_now(&u0);
    /* Twice everything the heap reports, which no heap can hold. */
    size_t heap = u0.used_bytes + ha_available_bytes() + u0.used_pages * HA_PAGE_SIZE;
    size_t beyond = heap < ((size_t)1 << 40) ? 2 * heap + TA_MIB : (size_t)1 << 41;
    const size_t sizes[] = {
        beyond, (size_t)1 << 40, (size_t)-1 / 2 + 1, (size_t)-1 - HA_PAGE_SIZE,
        (size_t)-1 - 64, (size_t)-1 - 15, (size_t)-1,
    };
    const size_t aligns[] = { 1, 16, 4096, 2 * TA_MIB };
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (unsigned a = 0; a < 4; a++) {
            TH_CHECK_MSG(ctx, ha_alloc(sizes[i], aligns[a]) == 0, "ha_alloc(%zu, %zu) succeeded",
                         sizes[i], aligns[a]);
            TH_CHECK_MSG(ctx, ha_alloc_zeroed(sizes[i], aligns[a]) == 0,
                         "ha_alloc_zeroed(%zu, %zu) succeeded", sizes[i], aligns[a]);
        }
        TH_CHECK_MSG(ctx, ha_alloc_pages(sizes[i] / HA_PAGE_SIZE, HA_PAGE_SIZE) == 0,
                     "ha_alloc_pages(%zu, 4096) succeeded", sizes[i] / HA_PAGE_SIZE);
    }
    /* Only address 0 is aligned to 2^63. */
    TH_CHECK(ctx, ha_alloc(16, (size_t)1 << 63) == 0);
    TH_CHECK(ctx, ha_alloc_pages(1, (size_t)1 << 63) == 0);
    ta_usage_now(&u1);
    TH_CHECK_EQ(ctx, u1.used_bytes, u0.used_bytes);
    TH_CHECK_EQ(ctx, u1.used_pages, u0.used_pages);
    TH_CHECK_EQ(ctx, u1.stats.allocs, u0.stats.allocs);
}

/* Bytes written and checked at each end of the blocks of ta_alignment. */
#define ALIGN_EDGE (256 * TA_KIB)

/* Check and fill one aligned block; false after recording a failure. */
static bool aligned_block_ok(struct th_ctx *ctx, void *p, size_t size, size_t align, uint64_t tag)
{
    if (!p) {
        th_fail_at(ctx, __FILE__, __LINE__, "ha_alloc(%zu, %zu) returned NULL", size, align);
        return false;
    }
    size_t usable = ha_usable_size(p);
    if (!ta_aligned(p, align) || usable < size) {
        th_fail_at(ctx, __FILE__, __LINE__, "ha_alloc(%zu, %zu) = %p, usable %zu", size, align, p,
                   usable);
        return false;
    }
    ta_fill_ends(p, usable, tag, ALIGN_EDGE);
    return true;
}

/* Every power-of-two alignment from 1 to 4 MiB, with sizes below, at and above
 * it: the block is aligned, its usable size writable (all of it up to
 * 512 KiB, the ends of larger ones). Up to 64 KiB the blocks of one alignment
 * are live together; above, one at a time. Zeroed blocks are aligned and zero
 * too. */
void ta_alignment(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    size_t used0 = ha_used_bytes();
    for (unsigned k = 0; k <= 22; k++) {
        size_t align = (size_t)1 << k;
        const size_t sizes[] = { 0, 1, 8, 24, 100, 1000, align > 1 ? align - 1 : 2, align, align + 1,
                                 3 * align };
        enum { N = sizeof sizes / sizeof sizes[0] };
        void *blocks[N];
        bool together = align <= 64 * TA_KIB;
        for (unsigned i = 0; i < N; i++) {
            uint64_t tag = ctx->seed + k * 100 + i;
            blocks[i] = ha_alloc(sizes[i], align);
            if (!aligned_block_ok(ctx, blocks[i], sizes[i], align, tag))
                return;
            if (!together) {
                TH_CHECK_MSG(ctx, ta_ends_intact(blocks[i], ha_usable_size(blocks[i]), tag, ALIGN_EDGE),
                             "block of %zu bytes aligned %zu damaged", sizes[i], align);
                ha_dealloc(blocks[i], sizes[i], align);
            }
        }
        for (unsigned i = 0; together && i < N; i++) {
            size_t usable = ha_usable_size(blocks[i]);
            TH_CHECK_MSG(ctx, ta_ends_intact(blocks[i], usable, ctx->seed + k * 100 + i, ALIGN_EDGE),
                         "block of %zu bytes aligned %zu damaged", sizes[i], align);
        }
        for (unsigned i = 0; together && i < N; i++)
            ha_dealloc(blocks[i], sizes[i], align);

        void *z = ha_alloc_zeroed(align + 100, align);
        TH_CHECK_MSG(ctx, z && ta_aligned(z, align) && ta_is_zero(z, align + 100),
                     "ha_alloc_zeroed(%zu, %zu) = %p, not aligned or not zero", align + 100, align, z);
        ha_dealloc(z, align + 100, align);
    }
    TH_CHECK_EQ(ctx, ha_used_bytes(), used0);
}

/* An alignment that is not a power of two (0, 3, 24, ...) makes ha_alloc,
 * ha_alloc_zeroed, ha_realloc and ha_alloc_pages return NULL; the block given
 * to the failed realloc stays intact, and nothing is counted. */
void ta_bad_alignment(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    static const size_t bad[] = { 0, 3, 5, 6, 7, 12, 24, 48, 100, 4095, 4097, 3 * 4096, 3 * TA_MIB,
                                  ((size_t)1 << 63) + 1, (size_t)-1 };
    void *p = ha_alloc(100, 8);
    TH_CHECK(ctx, p != 0);
    size_t usable = ha_usable_size(p);
    ta_fill(p, usable, 0x4a4a);
    struct ta_usage u0, u1;
    ta_usage_now(&u0);
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t a = bad[i];
        TH_CHECK_MSG(ctx, ha_alloc(16, a) == 0, "ha_alloc(16, %zu) succeeded", a);
        TH_CHECK_MSG(ctx, ha_alloc(0, a) == 0, "ha_alloc(0, %zu) succeeded", a);
        TH_CHECK_MSG(ctx, ha_alloc(TA_MIB, a) == 0, "ha_alloc(1 MiB, %zu) succeeded", a);
        TH_CHECK_MSG(ctx, ha_alloc_zeroed(16, a) == 0, "ha_alloc_zeroed(16, %zu) succeeded", a);
        TH_CHECK_MSG(ctx, ha_realloc(p, 100, a, 200) == 0, "ha_realloc(p, 100, %zu, 200) succeeded", a);
        TH_CHECK_MSG(ctx, ha_alloc_pages(1, a) == 0, "ha_alloc_pages(1, %zu) succeeded", a);
    }
    ta_usage_now(&u1);
    TH_CHECK_EQ(ctx, ha_usable_size(p), usable);
    TH_CHECK_EQ(ctx, ta_verify(p, usable, 0x4a4a), usable);
    TH_CHECK_EQ(ctx, u1.used_bytes, u0.used_bytes);
    TH_CHECK_EQ(ctx, u1.used_pages, u0.used_pages);
    TH_CHECK_EQ(ctx, u1.stats.allocs, u0.stats.allocs);
    ha_dealloc(p, 100, 8);
}
