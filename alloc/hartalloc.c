/*
 * hartalloc.c - the ABI entry points and the dispatch to the selected
 * alloc_type. Argument checks common to every backend live here, so each
 * backend sees only valid requests (backend.h). With per-CPU fronts
 * (HA_FRONT, backend.h: the kernels) the two hottest, ha_alloc and
 * ha_dealloc, are mi's (mi/entry_points.c) and reach the other types
 * through each CPU's front; this file then owns the fronts of "before
 * ha_init" and of a CPU beyond ncpu.
 */
#include <stdarg.h>

#include "backend.h"
#include "ha_format.h"
#include "hartalloc.h"
#include "hartalloc_embed.h"
#include "checked/quarantine.h"

static const struct ha_backend *const backends[HA_TYPE_COUNT] = {
    [HA_MI] = &ha_backend_mi,
    [HA_MI_LOCKED] = &ha_backend_mi_locked,
    [HA_TLSF] = &ha_backend_tlsf,
    [HA_BUDDY] = &ha_backend_buddy,
    [HA_SLAB] = &ha_backend_slab,
    [HA_FIRST_FIT] = &ha_backend_first_fit,
    [HA_BEST_FIT] = &ha_backend_best_fit,
    [HA_WORST_FIT] = &ha_backend_worst_fit,
};

/* Set once by ha_init, before any other CPU allocates. */
static const struct ha_backend *active;
static unsigned cpu_count; /* ha_init's ncpu, set before its first hook call */

/* ha_alloc and ha_dealloc, the two calls on every path, jump through their
 * own pointer (auipc, ld, jr) instead of loading `active` and then its entry:
 * set by ha_init with `active`. Before it they go to the uninitialised
 * stand-ins, which do what a call before ha_init did (nothing is managed). */
static void *alloc_before_init(size_t size, size_t align)
{
    (void)size, (void)align;
    return 0;
}

static void dealloc_before_init(void *ptr, size_t size, size_t align)
{
    (void)size, (void)align;
    if (ptr) /* NULL is ignored, as always (with fronts it arrives here) */
        ha_fault(ptr, "ha_dealloc before ha_init");
}

/* What a CPU slot holds before ha_init (hartalloc_embed.h): a front on
 * which both calls miss, into the stand-ins. */
const struct ha_front ha_front_before_init = {
    .direct_end = 0, .segment_mask = ~(uintptr_t)0,
    .alloc_miss = alloc_before_init, .dealloc_miss = dealloc_before_init,
};

#ifdef HA_FRONT
/* ha_alloc and ha_dealloc are mi's fast paths (backend.h, mi/entry_points.c):
 * every call, of every type, goes through the caller's front. This file
 * calls them by their second names, so an embedding that wraps the ABI
 * symbols (ld --wrap, the latency kernel) sees ha_free, ha_alloc_zeroed
 * and ha_realloc as one call each, as without fronts. */
#define alloc_entry ha_front_alloc
#define dealloc_entry ha_front_dealloc

static void *alloc_on_stray_cpu(size_t size, size_t align)
{
    (void)size, (void)align;
    ha_embed_panic("hartalloc: ha_embed_cpu_index() returned a CPU index >= ncpu given to ha_init");
}

static void dealloc_on_stray_cpu(void *ptr, size_t size, size_t align)
{
    if (ptr) /* NULL is ignored everywhere */
        alloc_on_stray_cpu(size, align);
}

struct ha_front ha_front_stray_cpu = {
    .direct_end = 0, .segment_mask = ~(uintptr_t)0,
    .alloc_miss = alloc_on_stray_cpu, .dealloc_miss = dealloc_on_stray_cpu,
};

/* Every slot the embedding has, up to its NULL (the bound only stops an
 * embedding that never says NULL): CPUs below ncpu get front_of(cpu), every
 * other one `rest`. */
static void set_slots(struct ha_front *(*front_of)(unsigned cpu), unsigned ncpu, const struct ha_front *rest)
{
    void **slot;
    for (unsigned cpu = 0; cpu < (1u << 16) && (slot = ha_embed_cpu_slot(cpu)) != 0; cpu++)
        __atomic_store_n(slot, (void *)(cpu < ncpu ? front_of(cpu) : rest), __ATOMIC_RELEASE);
}

void ha_set_fronts(struct ha_front *(*front_of)(unsigned cpu))
{
    set_slots(front_of, ha_cpu_count(), &ha_front_stray_cpu);
}
#else
static void *(*alloc_entry)(size_t size, size_t align) = alloc_before_init;
static void (*dealloc_entry)(void *ptr, size_t size, size_t align) = dealloc_before_init;
#endif

/* ha_alloc as this file calls it (see alloc_entry above). */
#ifdef HA_FRONT
#define abi_alloc ha_front_alloc
#else
#define abi_alloc ha_alloc
#endif

/* ---- checked builds: the quarantine (quarantine.h) -------------------------
 * These wrap what the entry points below do with a block; release builds
 * compile them to nothing. */
#ifdef HA_CHECKED
/* Before ha_init there is no backend, hence no quarantine. */
static inline bool quarantined(void) { return active && active->quarantine; }
/* An allocation returned p: age the quarantine, or empty it and retry. */
#define AFTER_ALLOC(p, retry)                                                    \
    do {                                                                         \
        if (quarantined()) {                                                     \
            if (!(p) && quarantine_flush(active))                                \
                (p) = (retry);                                                   \
            quarantine_tick(active);                                             \
        }                                                                        \
    } while (0)
static inline void check_live(const void *ptr, const char *what)
{
    if (quarantined())
        quarantine_check_live(ptr, what);
}
static inline void flush_for_readers(void)
{
    if (active && quarantined())
        quarantine_flush(active);
}
#else
#define AFTER_ALLOC(p, retry) ((void)0)
static inline void check_live(const void *ptr, const char *what) { (void)ptr, (void)what; }
static inline void flush_for_readers(void) {}
#endif

/* Free through the quarantine where there is one. */
static inline void free_block(void *ptr, size_t size, size_t align)
{
#ifdef HA_CHECKED
    if (quarantined()) {
        quarantine_free(active, ptr, size, align);
        return;
    }
#endif
    dealloc_entry(ptr, size, align);
}

static bool same_name(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

int ha_type_from_name(const char *name, ha_type *out)
{
    if (!name)
        return -HA_EINVAL;
    for (int t = 0; t < HA_TYPE_COUNT; t++) {
        if (same_name(backends[t]->name, name)) {
            *out = (ha_type)t;
            return 0;
        }
    }
    return -HA_EINVAL;
}

const char *ha_error_text(int err)
{
    static const char *const text[] = {
        [HA_OK] = "success",
        [HA_EINVAL] = "bad argument",
        [HA_ETOOSMALL] = "region too small for the selected backend",
        [HA_EALIGN] = "region misaligned for the selected backend",
        [HA_EBUSY] = "already initialised",
        [HA_EFULL] = "no room left to track another region",
        [HA_ENOINIT] = "not initialised",
    };
    unsigned code = err < 0 ? 0u - (unsigned)err : (unsigned)err; /* INT_MIN too */
    return code < sizeof text / sizeof text[0] ? text[code] : "unknown error";
}

const char *ha_type_name(ha_type type)
{
    return (unsigned)type < HA_TYPE_COUNT ? backends[type]->name : 0;
}

const char *ha_type_names(void)
{
    static char names[128];
    if (!names[0]) {
        size_t len = 0;
        for (int t = 0; t < HA_TYPE_COUNT; t++)
            len += (size_t)ha_format(names + len, sizeof names - len, "%s%s", t ? ", " : "",
                                     backends[t]->name);
    }
    return names;
}

const char *ha_name(void)
{
    return active ? active->name : "";
}

int ha_init_flags(ha_type type, void *start, size_t size, unsigned ncpu, unsigned flags)
{
    if (active)
        return -HA_EBUSY;
    if ((unsigned)type >= HA_TYPE_COUNT || !start || ncpu == 0)
        return -HA_EINVAL;
    __atomic_store_n(&cpu_count, ncpu, __ATOMIC_RELEASE); /* hartalloc_embed.h */
    int r = backends[type]->init(start, size, ncpu, flags);
    if (r == 0) {
        active = backends[type];
#ifndef HA_FRONT
        alloc_entry = active->alloc;
        dealloc_entry = active->dealloc;
#endif
    } else {
        __atomic_store_n(&cpu_count, 0u, __ATOMIC_RELEASE);
#ifdef HA_FRONT
        set_slots(0, 0, &ha_front_before_init);
#endif
    }
    return r;
}

unsigned ha_cpu_count(void)
{
    return __atomic_load_n(&cpu_count, __ATOMIC_ACQUIRE);
}

size_t ha_release_unused(void)
{
    return active && active->release_unused ? active->release_unused() : 0;
}

int ha_init(ha_type type, void *start, size_t size, unsigned ncpu)
{
    return ha_init_flags(type, start, size, ncpu, 0);
}

int ha_add_memory_flags(void *start, size_t size, unsigned flags)
{
    if (!active)
        return -HA_ENOINIT;
    if (!start || size == 0)
        return -HA_EINVAL;
    return active->add_memory(start, size, flags);
}

int ha_add_memory(void *start, size_t size)
{
    return ha_add_memory_flags(start, size, 0);
}

#ifndef HA_FRONT
void *ha_alloc(size_t size, size_t align)
{
    if (__builtin_expect(!ha_is_pow2(align), 0))
        return 0;
    void *p = alloc_entry(size, align);
    AFTER_ALLOC(p, alloc_entry(size, align));
    return p;
}
#endif

void *ha_alloc_zeroed(size_t size, size_t align)
{
    if (!ha_is_pow2(align))
        return 0;
    if (active->alloc_zeroed)
        return active->alloc_zeroed(size, align);
    void *p = alloc_entry(size, align);
    AFTER_ALLOC(p, alloc_entry(size, align));
    if (p)
        __builtin_memset(p, 0, size);
    return p;
}

#ifndef HA_FRONT
void ha_dealloc(void *ptr, size_t size, size_t align)
{
    if (__builtin_expect(!ptr, 0))
        return;
    free_block(ptr, size, align);
}
#endif

void ha_free(void *ptr)
{
    if (!ptr)
        return;
    free_block(ptr, 0, 0);
}

void *ha_realloc(void *ptr, size_t old_size, size_t align, size_t new_size)
{
    if (!ha_is_pow2(align))
        return 0;
    if (!ptr)
        return abi_alloc(new_size, align);
    check_live(ptr, "realloc");
    if (active->realloc) {
        void *q = active->realloc(ptr, old_size, align, new_size);
        AFTER_ALLOC(q, active->realloc(ptr, old_size, align, new_size));
        return q;
    }
    return ha_realloc_move(ptr, old_size, new_size, align, abi_alloc, free_block, old_size, align);
}

void *ha_realloc_move(void *ptr, size_t keep, size_t new_size, size_t align, void *(*alloc)(size_t size, size_t align),
                      void (*dealloc)(void *ptr, size_t size, size_t align), size_t free_size, size_t free_align)
{
    void *fresh = alloc(new_size, align);
    if (!fresh)
        return 0; /* the old block stays the caller's */
    __builtin_memcpy(fresh, ptr, keep < new_size ? keep : new_size);
    dealloc(ptr, free_size, free_align);
    return fresh;
}

size_t ha_usable_size(const void *ptr)
{
    if (!ptr)
        return 0;
    check_live(ptr, "usable_size");
    return active->usable_size(ptr);
}

void *ha_alloc_pages(size_t num_pages, size_t align_pow2)
{
    if (num_pages == 0 || !ha_is_pow2(align_pow2) || align_pow2 < HA_PAGE_SIZE ||
        num_pages > ((size_t)-1) / HA_PAGE_SIZE)
        return 0;
    void *p = active->alloc_pages(num_pages, align_pow2);
    AFTER_ALLOC(p, active->alloc_pages(num_pages, align_pow2));
    return p;
}

void ha_dealloc_pages(void *addr, size_t num_pages)
{
    if (addr && num_pages)
        active->dealloc_pages(addr, num_pages);
}

void ha_collect(void)
{
    flush_for_readers();
    if (active && active->collect)
        active->collect();
}

static struct ha_usage usage(void)
{
    struct ha_usage u = { 0, 0, 0, 0 };
    flush_for_readers();
    if (active)
        active->usage(&u);
    return u;
}

size_t ha_used_bytes(void) { return usage().used_bytes; }
size_t ha_available_bytes(void) { return usage().available_bytes; }
size_t ha_used_pages(void) { return usage().used_pages; }
size_t ha_available_pages(void) { return usage().available_pages; }

int ha_get_stats(unsigned cpu, struct ha_stats *out)
{
    if (!active || !out)
        return -HA_EINVAL;
    flush_for_readers();
    return active->get_stats(cpu, out);
}

void ha_print_stats(void)
{
    char line[200];
    struct ha_stats s;
    if (!active)
        return;
    ha_format(line, sizeof line, "hartalloc %s: used %zu bytes, available %zu bytes, pages %zu used %zu available\n",
              active->name, ha_used_bytes(), ha_available_bytes(), ha_used_pages(), ha_available_pages());
    ha_embed_puts(line);
    for (unsigned cpu = 0; active->get_stats(cpu, &s) == 0; cpu++) {
        ha_format(line, sizeof line,
                  "  cpu %2u: allocs %llu frees %llu remote %llu in-use %lld B peak %lld B pages %lld segments %lld"
                  " held %lld B peak %lld B\n",
                  cpu, (unsigned long long)s.allocs, (unsigned long long)s.frees,
                  (unsigned long long)s.remote_frees, (long long)s.bytes_in_use,
                  (long long)s.bytes_peak, (long long)s.pages_in_use, (long long)s.segments_in_use,
                  (long long)s.bytes_held, (long long)s.bytes_held_peak);
        ha_embed_puts(line);
    }
}

int ha_check(void)
{
    flush_for_readers();
    return active ? active->check() : ha_check_fail("ha_check before ha_init");
}

int ha_check_fail(const char *fmt, ...)
{
    char line[240];
    int n = ha_format(line, sizeof line, "ha_check: ");
    va_list ap;
    va_start(ap, fmt);
    ha_vformat(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    ha_embed_puts(line);
    ha_embed_puts("\n");
    return -1;
}

void ha_fault(const void *ptr, const char *fmt, ...)
{
    char msg[240];
    int n = ha_format(msg, sizeof msg, "hartalloc: pointer %p: ", ptr);
    va_list ap;
    va_start(ap, fmt);
    ha_vformat(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    ha_embed_panic(msg);
}
