/*
 * locked_stats.h - usage figures and per-CPU counters of a backend that
 * serialises every call with one lock (tlsf, buddy, slab, the fits).
 *
 * Every update happens under that lock, so the counters are plain integers.
 * Per-CPU figures are charged to the CPU that makes the call: a block freed on
 * another CPU than the one that allocated it lowers the freeing CPU's
 * bytes_in_use, which may then wrap below zero; the sum over all CPUs is exact
 * (two's complement), and HA_ALL_CPUS reports that sum with the peak of the
 * total rather than a sum of per-CPU peaks. remote_frees stays 0: these
 * backends keep no owner per block.
 */
#ifndef HA_LOCKED_STATS_H
#define HA_LOCKED_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "hartalloc_embed.h"

/* ---- tunable ------------------------------------------------------------- */

/* One CPU's counters. With fronts (backend.h) the record is also the CPU's
 * front, so alloc and dealloc, which every call reaches through it, find
 * their CPU's counters in one load (locked_stats_hot). */
struct locked_cpu {
    struct ha_front front;
    struct ha_stats stats;
};

struct locked_stats {
    unsigned ncpu;
    size_t used_bytes;  /* usable bytes of live ha_alloc blocks (ha_usage)  */
    size_t used_pages;  /* live ha_alloc_pages pages (ha_usage)             */
    uint64_t peak_bytes; /* high-water mark of used_bytes                   */
    size_t (*held_now)(void); /* the backend's bytes held (locked_ops.held)  */
    size_t held_peak;    /* its high-water mark, noted after every allocation */
    struct locked_cpu cpu[HA_MAX_CPUS];
};

/* 0, or -HA_EINVAL for an ncpu this table cannot hold. */
int locked_stats_init(struct locked_stats *s, unsigned ncpu);

/* The caller's CPU index; call with the backend's lock held (irqs masked).
 * Panics on an index the embedding should never return. Inline, like the
 * two updates below: every alloc and free of a classic backend runs them. */
static inline unsigned locked_stats_cpu(const struct locked_stats *s)
{
    unsigned cpu = ha_embed_cpu_index();
    if (__builtin_expect(cpu >= s->ncpu, 0))
        ha_embed_panic("hartalloc: ha_embed_cpu_index returned an index >= ncpu");
    return cpu;
}

/* The counters of the caller's CPU (lock held), in alloc and dealloc.
 * With fronts those two are only reached through the caller's front: a
 * CPU below ncpu, whose front is its own record (a stray CPU's front
 * panics instead, hartalloc.c), so the slot gives the record with no index
 * and no guard. */
static inline struct ha_stats *locked_stats_hot(struct locked_stats *s)
{
#ifdef HA_FRONT
    (void)s;
    return &((struct locked_cpu *)*ha_embed_this_cpu_slot())->stats;
#else
    return &s->cpu[locked_stats_cpu(s)].stats;
#endif
}

static inline void locked_stats_alloc(struct locked_stats *s, struct ha_stats *c, size_t bytes)
{
    c->allocs++;
    c->bytes_in_use += bytes;
    /* Signed: bytes_in_use of one CPU may be "negative" (see above). */
    if ((int64_t)c->bytes_in_use > (int64_t)c->bytes_peak)
        c->bytes_peak = c->bytes_in_use;
    s->used_bytes += bytes;
    if (s->used_bytes > s->peak_bytes)
        s->peak_bytes = s->used_bytes;
}

/* Memory is only taken by an allocation: note the bytes held after one. */
static inline void locked_stats_note_held(struct locked_stats *s, size_t held)
{
    if (held > s->held_peak)
        s->held_peak = held;
}

static inline void locked_stats_free(struct locked_stats *s, struct ha_stats *c, size_t bytes)
{
    c->frees++;
    c->bytes_in_use -= bytes;
    s->used_bytes -= bytes;
}
/* A block resized in place: its usable size went from old to new bytes. */
void locked_stats_resize(struct locked_stats *s, unsigned cpu, size_t old_bytes, size_t new_bytes);
void locked_stats_pages(struct locked_stats *s, unsigned cpu, size_t pages, int sign);

/* get_stats of struct ha_backend: one CPU, or the sum for HA_ALL_CPUS. The
 * bytes held belong to no CPU: CPU 0 and the sum report them. */
int locked_stats_get(const struct locked_stats *s, unsigned cpu, struct ha_stats *out);

/* The used_* figures of ha_usage. */
void locked_stats_usage(const struct locked_stats *s, struct ha_usage *out);

#endif /* HA_LOCKED_STATS_H */
