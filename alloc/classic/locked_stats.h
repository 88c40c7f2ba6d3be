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

/* ---- tunable ------------------------------------------------------------- */

struct locked_stats {
    unsigned ncpu;
    size_t used_bytes;  /* usable bytes of live ha_alloc blocks (ha_usage)  */
    size_t used_pages;  /* live ha_alloc_pages pages (ha_usage)             */
    uint64_t peak_bytes; /* high-water mark of used_bytes                   */
    /* The backend's own figure of the bytes its blocks and pages take (the
     * managed bytes less its free ones: headers and rounding included),
     * read after every allocation for its peak. */
    size_t (*held_now)(void);
    size_t held_peak;
    struct ha_stats cpu[HA_MAX_CPUS];
};

/* 0, or -HA_EINVAL for an ncpu this table cannot hold. */
int locked_stats_init(struct locked_stats *s, unsigned ncpu, size_t (*held_now)(void));

/* The caller's CPU index; call with the backend's lock held (irqs masked).
 * Panics on an index the embedding should never return. */
unsigned locked_stats_cpu(const struct locked_stats *s);

void locked_stats_alloc(struct locked_stats *s, unsigned cpu, size_t bytes);
void locked_stats_free(struct locked_stats *s, unsigned cpu, size_t bytes);
/* A block resized in place: its usable size went from old to new bytes. */
void locked_stats_resize(struct locked_stats *s, unsigned cpu, size_t old_bytes, size_t new_bytes);
void locked_stats_pages(struct locked_stats *s, unsigned cpu, size_t pages, int sign);

/* get_stats of struct ha_backend: one CPU, or the sum for HA_ALL_CPUS. The
 * bytes held belong to no CPU: CPU 0 and the sum report them. */
int locked_stats_get(const struct locked_stats *s, unsigned cpu, struct ha_stats *out);

/* The used_* figures of ha_usage. */
void locked_stats_usage(const struct locked_stats *s, struct ha_usage *out);

#endif /* HA_LOCKED_STATS_H */
