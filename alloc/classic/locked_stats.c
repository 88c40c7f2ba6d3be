/*
 * locked_stats.c - counters of the single-lock backends (see locked_stats.h).
 */
#include "locked_stats.h"


int locked_stats_init(struct locked_stats *s, unsigned ncpu)
{
    if (ncpu == 0 || ncpu > HA_MAX_CPUS)
        return -HA_EINVAL;
    __builtin_memset(s, 0, sizeof *s);
    s->ncpu = ncpu;
    return 0;
}

void locked_stats_resize(struct locked_stats *s, unsigned cpu, size_t old_bytes, size_t new_bytes)
{
    struct ha_stats *c = &s->cpu[cpu].stats;
    c->bytes_in_use += (uint64_t)new_bytes - (uint64_t)old_bytes;
    if ((int64_t)c->bytes_in_use > (int64_t)c->bytes_peak)
        c->bytes_peak = c->bytes_in_use;
    s->used_bytes += new_bytes - old_bytes;
    if (s->used_bytes > s->peak_bytes)
        s->peak_bytes = s->used_bytes;
}

void locked_stats_pages(struct locked_stats *s, unsigned cpu, size_t pages, int sign)
{
    if (sign > 0) {
        s->cpu[cpu].stats.pages_in_use += pages;
        s->used_pages += pages;
    } else {
        s->cpu[cpu].stats.pages_in_use -= pages;
        s->used_pages -= pages;
    }
}

int locked_stats_get(const struct locked_stats *s, unsigned cpu, struct ha_stats *out)
{
    if (cpu != HA_ALL_CPUS) {
        if (cpu >= s->ncpu)
            return -HA_EINVAL;
        *out = s->cpu[cpu].stats;
        if (cpu == 0) {
            out->bytes_held = (int64_t)s->held_now();
            out->bytes_held_peak = (int64_t)s->held_peak;
        }
        return 0;
    }
    __builtin_memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < s->ncpu; i++) {
        out->allocs += s->cpu[i].stats.allocs;
        out->frees += s->cpu[i].stats.frees;
        out->remote_frees += s->cpu[i].stats.remote_frees;
        out->bytes_in_use += s->cpu[i].stats.bytes_in_use;
        out->pages_in_use += s->cpu[i].stats.pages_in_use;
    }
    out->bytes_peak = s->peak_bytes;
    out->bytes_held = (int64_t)s->held_now();
    out->bytes_held_peak = (int64_t)s->held_peak;
    return 0;
}

void locked_stats_usage(const struct locked_stats *s, struct ha_usage *out)
{
    out->used_bytes = s->used_bytes;
    out->used_pages = s->used_pages;
}
