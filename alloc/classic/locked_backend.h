/*
 * locked_backend.h - the layer every classic backend (tlsf, buddy, slab and
 * the fits) runs behind: the lock, the per-CPU statistics, the checks of a
 * free and the checked build's request records, written once around the
 * algorithm's own operations (struct locked_ops).
 *
 * Every entry point of struct ha_backend takes the one lock with interrupts
 * masked, charges the calling CPU in locked_stats, calls the backend's op and
 * releases the lock, so the ops run serialised and take no lock themselves.
 * Lock order: a checked build's quarantine lock, then this one (a block
 * leaving the quarantine is freed through dealloc under both).
 *
 * The checked build (HA_CHECKED) asks an op for RECORD_PAD more bytes than the
 * request and keeps the request in the block (request_record.h): the layer
 * writes the record at alloc, verifies it at free and realloc, and counts and
 * reports the request as the usable size. Release builds count the block's
 * usable size. Free fills, being where a backend keeps its links, stay in the
 * backends (free_fill.h).
 *
 * alloc and dealloc, the hot pair, are static inline: a backend instantiates
 * them with its constant ops table (LOCKED_BACKEND), its alloc and free ops
 * given by name, so the compiler calls or inlines every op directly and the
 * layer costs no indirect call. (In the table, whose address the other entry
 * points pass on, those two would stay out of line.) The other entry points
 * live in locked_backend.c and call the ops through the table.
 */
#ifndef HA_LOCKED_BACKEND_H
#define HA_LOCKED_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "checked/request_record.h"
#include "locked_stats.h"
#include "region_set.h"
#include "spinlock.h"

/* A live ha_alloc block as its backend found it. */
struct locked_block {
    void *desc;     /* the backend's handle: block header, page descriptor or region */
    size_t usable;  /* usable bytes, the checked build's request record included      */
    unsigned order; /* buddy: the block is 2^order bytes; unused by the others         */
};

/* What a backend provides, besides the two ops of the hot pair that
 * LOCKED_BACKEND takes by name (locked_alloc_fn, locked_free_fn). Every op
 * runs with the lock held, except prepare and the first add_region, which
 * ha_init runs before any other CPU may allocate. Sizes n handed to alloc and
 * resize include the request record's pad. */
struct locked_ops {
    const char *name;   /* prefix of its fault messages ("tlsf", "fit", ...)  */
    size_t max_request; /* larger ha_alloc/realloc sizes fail before the lock */
    void *state;        /* the backend's own state, cleared by init         */
    size_t state_size;
    /* NULL, or set up the cleared state before init adds the first region. */
    void (*prepare)(void);
    /* Manage [start, start + size) too: 0 or -HA_E*. */
    int (*add_region)(void *start, size_t size, unsigned flags);
    /* The live ha_alloc block at ptr. Checked builds stop (ha_fault) on a
     * pointer that is not one: freed, interior, a page run, not this heap's. */
    struct locked_block (*live_block)(const void *ptr);
    /* Resize b in place to hold n bytes, updating b->usable; false (b
     * untouched) when the block must move. */
    bool (*resize)(void *ptr, struct locked_block *b, size_t n, size_t align);
    void *(*alloc_pages)(size_t num_pages, size_t align);
    /* Free the alloc_pages run at addr, first checking that it is one as far
     * as finding it takes (checked builds: fully, num_pages included). */
    void (*free_pages)(void *addr, size_t num_pages);
    /* The available_* figures of ha_usage (the layer fills in used_*); NULL
     * when they follow from a count of free bytes, *free_bytes. */
    void (*usage)(struct ha_usage *out);
    const size_t *free_bytes;
    /* The bytes the backend's blocks and pages take, by its own account, for
     * ha_stats.bytes_held; the layer notes its peak after every allocation.
     * NULL: the bytes of its regions less its free ones (headers and
     * rounding included), from `regions` and *free_bytes. */
    size_t (*held)(void);
    const struct region_set *regions;
    /* Validate every structure against them and the counters in stats:
     * 0, or ha_check_fail's -1. */
    int (*check)(const struct locked_stats *stats);
};

/* A block of at least n bytes with an align-aligned payload (align a power of
 * two), its usable size in *usable; NULL when there is none. */
typedef void *locked_alloc_fn(size_t n, size_t align, size_t *usable);
/* Free the live block b at ptr, as live_block found it. */
typedef void locked_free_fn(void *ptr, const struct locked_block *b);

/* The active classic backend's lock and counters: one for all of them, as
 * ha_init selects one alloc_type for good. */
struct locked_backend {
    ha_spinlock lock;
    struct locked_stats stats;
};
extern struct locked_backend locked_backend;

/* ha_stats.bytes_held now (locked_ops.held). ops is a constant at every
 * call, so the default compiles to the sum of the regions less the count. */
static inline size_t locked_held(const struct locked_ops *ops)
{
    return ops->held ? ops->held() : region_set_bytes(ops->regions) - *ops->free_bytes;
}

/* The block a free of ptr (size and align as given, 0 when unknown) releases,
 * once the checked build has verified its record and that a known layout
 * matches the block's. Call with the lock held. */
static inline struct locked_block locked_block_to_free(const struct locked_ops *ops, const void *ptr, size_t size,
                                                       size_t align)
{
    struct locked_block b = ops->live_block(ptr);
    record_verify(ptr, b.usable, ops->name);
#ifdef HA_CHECKED
    if (align && (record_size(ptr, b.usable, ops->name) != size || (uintptr_t)ptr % align))
        ha_fault(ptr, "%s: dealloc with a size or alignment the block was not allocated with", ops->name);
#else
    (void)size, (void)align;
#endif
    return b;
}

/* Checked builds: stop on a dealloc_pages of more pages than the run at addr,
 * of usable bytes, holds (for backends whose runs are blocks like any other). */
static inline void locked_verify_page_count(const char *backend, const void *addr, size_t usable, size_t num_pages)
{
#ifdef HA_CHECKED
    if (usable / HA_PAGE_SIZE < num_pages)
        ha_fault(addr, "%s: dealloc_pages with more pages than were allocated", backend);
#else
    (void)backend, (void)addr, (void)usable, (void)num_pages;
#endif
}

/* A check's comparison of the live bytes its walk found with the counter:
 * 0, or ha_check_fail's -1. */
static inline int locked_check_used_bytes(const char *backend, const struct locked_stats *stats, size_t used_bytes)
{
    if (used_bytes != stats->used_bytes)
        return ha_check_fail("%s: live blocks hold %zu bytes, counter says %zu", backend, used_bytes,
                             stats->used_bytes);
    return 0;
}

static inline void *locked_alloc(const struct locked_ops *ops, locked_alloc_fn *alloc, size_t size, size_t align)
{
    if (__builtin_expect(size > ops->max_request, 0))
        return 0;
    size_t usable;
    unsigned long irq = ha_spin_lock_irqsave(&locked_backend.lock);
    struct ha_stats *cpu = locked_stats_hot(&locked_backend.stats);
    void *p = alloc(record_request(size), align, &usable);
    if (p) {
        record_set(p, size, usable);
        locked_stats_alloc(&locked_backend.stats, cpu, record_size(p, usable, ops->name));
        locked_stats_note_held(&locked_backend.stats, locked_held(ops));
    }
    ha_spin_unlock_irqrestore(&locked_backend.lock, irq);
    return p;
}

static inline void locked_dealloc(const struct locked_ops *ops, locked_free_fn *free, void *ptr, size_t size,
                                  size_t align)
{
#ifdef HA_FRONT
    if (__builtin_expect(!ptr, 0)) /* the front sends NULL here (backend.h) */
        return;
#endif
    unsigned long irq = ha_spin_lock_irqsave(&locked_backend.lock);
    struct ha_stats *cpu = locked_stats_hot(&locked_backend.stats);
    struct locked_block b = locked_block_to_free(ops, ptr, size, align);
    locked_stats_free(&locked_backend.stats, cpu, record_size(ptr, b.usable, ops->name));
    free(ptr, &b);
    ha_spin_unlock_irqrestore(&locked_backend.lock, irq);
}

/* The other entry points (locked_backend.c), as struct ha_backend's. A
 * realloc that cannot stay in place moves the block through the backend's
 * own alloc and dealloc entry points, without the lock held over the copy. */
/* alloc and dealloc: the backend's entry points, for its fronts. */
int locked_init(const struct locked_ops *ops, void *(*alloc)(size_t size, size_t align),
                void (*dealloc)(void *ptr, size_t size, size_t align), void *start, size_t size, unsigned ncpu,
                unsigned flags);
int locked_add_memory(const struct locked_ops *ops, void *start, size_t size, unsigned flags);
void *locked_realloc(const struct locked_ops *ops, void *ptr, size_t align, size_t new_size,
                     void *(*alloc)(size_t size, size_t align), void (*dealloc)(void *ptr, size_t size, size_t align));
size_t locked_usable_size(const struct locked_ops *ops, const void *ptr);
void locked_verify_free(const struct locked_ops *ops, const void *ptr, size_t size, size_t align);
void *locked_alloc_pages(const struct locked_ops *ops, size_t num_pages, size_t align);
void locked_dealloc_pages(const struct locked_ops *ops, void *addr, size_t num_pages);
void locked_usage(const struct locked_ops *ops, struct ha_usage *out);
int locked_check(const struct locked_ops *ops);
int locked_get_stats(unsigned cpu, struct ha_stats *out);

/* A backend's ops table, prefix_ops, initialised with the designated
 * initialisers that follow alloc_op and free_op, and its entry points
 * prefix_alloc, prefix_dealloc, ...: one-line calls into the layer, which a
 * debugger steps into as ordinary (inlined) functions. */
#define LOCKED_ENTRY_POINTS(prefix, alloc_op, free_op, ...)                                                   \
    static const struct locked_ops prefix##_ops = { __VA_ARGS__ };                                           \
    static int prefix##_add_memory(void *start, size_t size, unsigned flags)                                  \
    {                                                                                                         \
        return locked_add_memory(&prefix##_ops, start, size, flags);                                          \
    }                                                                                                         \
    static void *prefix##_alloc(size_t size, size_t align) { return locked_alloc(&prefix##_ops, alloc_op, size, align); } \
    static void prefix##_dealloc(void *ptr, size_t size, size_t align)                                        \
    {                                                                                                         \
        locked_dealloc(&prefix##_ops, free_op, ptr, size, align);                                             \
    }                                                                                                         \
    static int prefix##_init(void *start, size_t size, unsigned ncpu, unsigned flags)                         \
    {                                                                                                         \
        return locked_init(&prefix##_ops, prefix##_alloc, prefix##_dealloc, start, size, ncpu, flags);        \
    }                                                                                                         \
    static void *prefix##_realloc(void *ptr, size_t old_size, size_t align, size_t new_size)                  \
    {                                                                                                         \
        return locked_realloc(&prefix##_ops, ptr, align, new_size, prefix##_alloc, prefix##_dealloc);         \
    }                                                                                                         \
    static size_t prefix##_usable_size(const void *ptr) { return locked_usable_size(&prefix##_ops, ptr); }   \
    static void prefix##_verify_free(const void *ptr, size_t size, size_t align)                              \
    {                                                                                                         \
        locked_verify_free(&prefix##_ops, ptr, size, align);                                                  \
    }                                                                                                         \
    static void *prefix##_alloc_pages(size_t num_pages, size_t align)                                         \
    {                                                                                                         \
        return locked_alloc_pages(&prefix##_ops, num_pages, align);                                           \
    }                                                                                                         \
    static void prefix##_dealloc_pages(void *addr, size_t num_pages)                                          \
    {                                                                                                         \
        locked_dealloc_pages(&prefix##_ops, addr, num_pages);                                                 \
    }                                                                                                         \
    static void prefix##_usage(struct ha_usage *out) { locked_usage(&prefix##_ops, out); }                    \
    static int prefix##_check(void) { return locked_check(&prefix##_ops); }

/* The struct ha_backend of alloc_type type_name over prefix's entry points
 * and init_fn. wants_quarantine: whether the backend hands freed memory out
 * again at once, and so wants the checked build's quarantine (backend.h). */
#define LOCKED_BACKEND_TABLE(type_name, prefix, init_fn, wants_quarantine)                                    \
    {                                                                                                         \
        .name = type_name, .init = init_fn, .add_memory = prefix##_add_memory, .alloc = prefix##_alloc,       \
        .alloc_zeroed = 0, .dealloc = prefix##_dealloc, .realloc = prefix##_realloc,                          \
        .usable_size = prefix##_usable_size, .alloc_pages = prefix##_alloc_pages,                             \
        .dealloc_pages = prefix##_dealloc_pages, .collect = 0, .usage = prefix##_usage,                       \
        .get_stats = locked_get_stats, .check = prefix##_check, .quarantine = wants_quarantine,               \
        .verify_free = prefix##_verify_free,                                                                  \
    }

/* A backend serving one alloc_type: its ops table and entry points, and
 * ha_backend_prefix. */
#define LOCKED_BACKEND(prefix, type_name, wants_quarantine, alloc_op, free_op, ...)                           \
    LOCKED_ENTRY_POINTS(prefix, alloc_op, free_op, __VA_ARGS__)                                               \
    const struct ha_backend ha_backend_##prefix = LOCKED_BACKEND_TABLE(type_name, prefix, prefix##_init, wants_quarantine);

#endif /* HA_LOCKED_BACKEND_H */
