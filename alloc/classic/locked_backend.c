/*
 * locked_backend.c - the classic backends' entry points other than the hot
 * alloc/dealloc pair (see locked_backend.h): each takes the lock, calls the
 * backend's op through its table and releases the lock.
 */
#include "locked_backend.h"

struct locked_backend locked_backend;

/* The running backend's ops, for the statistics' reader of bytes held. */
static const struct locked_ops *active_ops;
static size_t active_held(void) { return locked_held(active_ops); }

#ifdef HA_FRONT
static struct ha_front *front_of(unsigned cpu) { return &locked_backend.stats.cpu[cpu].front; }
#endif

int locked_init(const struct locked_ops *ops, void *(*alloc)(size_t size, size_t align),
                void (*dealloc)(void *ptr, size_t size, size_t align), void *start, size_t size, unsigned ncpu,
                unsigned flags)
{
    __builtin_memset(&locked_backend, 0, sizeof locked_backend);
    int r = locked_stats_init(&locked_backend.stats, ncpu);
    if (r)
        return r;
    active_ops = ops;
    locked_backend.stats.held_now = active_held;
    __builtin_memset(ops->state, 0, ops->state_size);
    if (ops->prepare)
        ops->prepare();
    r = ops->add_region(start, size, flags);
#ifdef HA_FRONT
    if (r == 0) {
        for (unsigned cpu = 0; cpu < ncpu; cpu++)
            locked_backend.stats.cpu[cpu].front = (struct ha_front){
                .direct_end = 0, .segment_mask = ~(uintptr_t)0, .alloc_miss = alloc, .dealloc_miss = dealloc,
            };
        ha_set_fronts(front_of);
    }
#else
    (void)alloc, (void)dealloc;
#endif
    return r;
}

int locked_add_memory(const struct locked_ops *ops, void *start, size_t size, unsigned flags)
{
    unsigned long irq = ha_spin_lock_irqsave(&locked_backend.lock);
    int r = ops->add_region(start, size, flags);
    ha_spin_unlock_irqrestore(&locked_backend.lock, irq);
    return r;
}

/* In place when the backend can resize the block, else moved. The realloc's
 * old_size and align are not checked against the block (unlike a free's):
 * callers may not know them, and the record check covers the block. */
void *locked_realloc(const struct locked_ops *ops, void *ptr, size_t align, size_t new_size,
                     void *(*alloc)(size_t size, size_t align), void (*dealloc)(void *ptr, size_t size, size_t align))
{
    if (new_size > ops->max_request)
        return 0;
    unsigned long irq = ha_spin_lock_irqsave(&locked_backend.lock);
    unsigned cpu = locked_stats_cpu(&locked_backend.stats);
    struct locked_block b = ops->live_block(ptr);
    record_verify(ptr, b.usable, ops->name);
    size_t old_usable = record_size(ptr, b.usable, ops->name);
    bool in_place = ops->resize(ptr, &b, record_request(new_size), align);
    if (in_place) {
        record_set(ptr, new_size, b.usable);
        locked_stats_resize(&locked_backend.stats, cpu, old_usable, record_size(ptr, b.usable, ops->name));
        locked_stats_note_held(&locked_backend.stats, locked_held(ops));
    }
    ha_spin_unlock_irqrestore(&locked_backend.lock, irq);
    if (in_place)
        return ptr;
    /* The free needs no layout: the block was just verified. */
    return ha_realloc_move(ptr, old_usable, new_size, align, alloc, dealloc, 0, 0);
}

size_t locked_usable_size(const struct locked_ops *ops, const void *ptr)
{
    unsigned long irq = ha_spin_lock_irqsave(&locked_backend.lock);
    struct locked_block b = ops->live_block(ptr);
    size_t n = record_size(ptr, b.usable, ops->name);
    ha_spin_unlock_irqrestore(&locked_backend.lock, irq);
    return n;
}

/* The checks of a free, without it (the quarantine's). */
void locked_verify_free(const struct locked_ops *ops, const void *ptr, size_t size, size_t align)
{
    unsigned long irq = ha_spin_lock_irqsave(&locked_backend.lock);
    locked_block_to_free(ops, ptr, size, align);
    ha_spin_unlock_irqrestore(&locked_backend.lock, irq);
}

void *locked_alloc_pages(const struct locked_ops *ops, size_t num_pages, size_t align)
{
    unsigned long irq = ha_spin_lock_irqsave(&locked_backend.lock);
    unsigned cpu = locked_stats_cpu(&locked_backend.stats);
    void *p = ops->alloc_pages(num_pages, align);
    if (p) {
        locked_stats_pages(&locked_backend.stats, cpu, num_pages, +1);
        locked_stats_note_held(&locked_backend.stats, locked_held(ops));
    }
    ha_spin_unlock_irqrestore(&locked_backend.lock, irq);
    return p;
}

void locked_dealloc_pages(const struct locked_ops *ops, void *addr, size_t num_pages)
{
    unsigned long irq = ha_spin_lock_irqsave(&locked_backend.lock);
    unsigned cpu = locked_stats_cpu(&locked_backend.stats);
    ops->free_pages(addr, num_pages);
    locked_stats_pages(&locked_backend.stats, cpu, num_pages, -1);
    ha_spin_unlock_irqrestore(&locked_backend.lock, irq);
}

void locked_usage(const struct locked_ops *ops, struct ha_usage *out)
{
    unsigned long irq = ha_spin_lock_irqsave(&locked_backend.lock);
    locked_stats_usage(&locked_backend.stats, out);
    if (ops->usage) {
        ops->usage(out);
    } else {
        /* Pages are blocks like any other: page-equivalents of the free
         * bytes (exact pages also need a 4 KiB-aligned run). */
        out->available_bytes = *ops->free_bytes;
        out->available_pages = *ops->free_bytes / HA_PAGE_SIZE;
    }
    ha_spin_unlock_irqrestore(&locked_backend.lock, irq);
}

int locked_check(const struct locked_ops *ops)
{
    unsigned long irq = ha_spin_lock_irqsave(&locked_backend.lock);
    int r = ops->check(&locked_backend.stats);
    ha_spin_unlock_irqrestore(&locked_backend.lock, irq);
    return r;
}

int locked_get_stats(unsigned cpu, struct ha_stats *out)
{
    unsigned long irq = ha_spin_lock_irqsave(&locked_backend.lock);
    int r = locked_stats_get(&locked_backend.stats, cpu, out);
    ha_spin_unlock_irqrestore(&locked_backend.lock, irq);
    return r;
}
