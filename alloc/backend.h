/*
 * backend.h - the dispatch table every alloc_type fills in.
 *
 * hartalloc.c owns the table pointer and the ABI entry points; it validates
 * arguments common to all backends (power-of-two alignment, NULL frees,
 * page-size multiples) before calling in, so a backend sees only valid
 * requests. With per-CPU fronts (HA_FRONT, below) the two hottest entry
 * points are mi's, and a backend's alloc and dealloc are also its fronts'
 * misses: alloc still sees only powers of two, but dealloc must ignore a
 * NULL ptr. Backends other than mi take one spinlock with interrupts masked
 * (ha_spin_lock_irqsave) around every call into their data structures.
 */
#ifndef HA_BACKEND_H
#define HA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "hartalloc.h"
#include "hartalloc_embed.h"

struct ha_usage {
    size_t used_bytes;      /* usable bytes of live ha_alloc blocks           */
    size_t available_bytes; /* bytes still free in the managed regions        */
    size_t used_pages;      /* live ha_alloc_pages pages                       */
    size_t available_pages; /* 4 KiB pages that could still be handed out      */
};

struct ha_backend {
    const char *name;
    /* Called once; flags as in ha_init_flags. 0 or -HA_E*. */
    int (*init)(void *start, size_t size, unsigned ncpu, unsigned flags);
    int (*add_memory)(void *start, size_t size, unsigned flags);
    /* size may be 0; align is a power of two >= 1. */
    void *(*alloc)(size_t size, size_t align);
    /* NULL: the dispatcher uses alloc + memset. */
    void *(*alloc_zeroed)(size_t size, size_t align);
    /* ptr is non-NULL (with fronts it may be NULL: ignore it). size/align
     * are those given at allocation, or size == 0 && align == 0 when
     * unknown (ha_free). */
    void (*dealloc)(void *ptr, size_t size, size_t align);
    /* NULL: the dispatcher allocates, copies and frees (ha_realloc_move). */
    void *(*realloc)(void *ptr, size_t old_size, size_t align, size_t new_size);
    size_t (*usable_size)(const void *ptr);
    /* num_pages >= 1, align a power of two >= HA_PAGE_SIZE. */
    void *(*alloc_pages)(size_t num_pages, size_t align);
    void (*dealloc_pages)(void *addr, size_t num_pages);
    /* NULL when the backend holds nothing per CPU. */
    void (*collect)(void);
    void (*usage)(struct ha_usage *out);
    int (*get_stats)(unsigned cpu, struct ha_stats *out);
    int (*check)(void);
    /* Checked builds hold its freed blocks a while (quarantine.h): it hands
     * freed memory out again at once. verify_free then runs the checks of a
     * dealloc without freeing, so a bad free stops where it happens. */
    bool quarantine;
    void (*verify_free)(const void *ptr, size_t size, size_t align);
    /* ha_release_unused; NULL when the backend never gives memory back. */
    size_t (*release_unused)(void);
};

extern const struct ha_backend ha_backend_mi;
extern const struct ha_backend ha_backend_mi_locked;
extern const struct ha_backend ha_backend_tlsf;
extern const struct ha_backend ha_backend_buddy;
extern const struct ha_backend ha_backend_slab;
extern const struct ha_backend ha_backend_first_fit;
extern const struct ha_backend ha_backend_best_fit;
extern const struct ha_backend ha_backend_worst_fit;

/* ---- the per-CPU front -----------------------------------------------------
 * In a release build for an embedding with both a CPU slot and deferred
 * interrupts (hartalloc_embed.h: HA_EMBED_CPU_SLOT, HA_EMBED_IRQ_DEFER; the
 * two riscv64 kernels), every CPU's slot points at a front, and ha_alloc and
 * ha_dealloc read it first. mi's fronts are its heaps: ha_alloc and
 * ha_dealloc are then mi's fast paths themselves (mi/entry_points.c), with no
 * dispatch in between. Every other type's front fails their first test
 * (direct_end 0, segment_mask all ones) and names its own entry points, so it
 * is reached from there with one load and a jump where the table cost an
 * auipc, a load and a jump; the classic types keep their per-CPU counters
 * behind their fronts (classic/locked_stats.h), which pays that back.
 * Without a front (the host, checked builds) hartalloc.c dispatches through
 * its pointers. */
#if defined(HA_EMBED_CPU_SLOT) && defined(HA_EMBED_IRQ_DEFER) && !defined(HA_CHECKED)
#define HA_FRONT 1
#endif

struct ha_front {
    /* ha_alloc pops from the front's direct table (mi_heap.direct) when
     * (size - 1) | (align - 1) is below this; 0: never. */
    size_t direct_end;
    /* ha_dealloc takes the fast free only when ptr & segment_mask, ptr's
     * segment, is not ptr itself: all ones keeps every free off it (and a
     * NULL or a segment-aligned huge block never takes it). */
    uintptr_t segment_mask;
    /* Where the calls go when they are not served at the front: align is
     * a power of two; ptr may be NULL (ignore it). */
    void *(*alloc_miss)(size_t size, size_t align);
    void (*dealloc_miss)(void *ptr, size_t size, size_t align);
};

#ifdef HA_FRONT
/* ha_alloc and ha_dealloc under a second name, for the core's own calls
 * (mi/entry_points.c; see hartalloc.c's alloc_entry). */
void *ha_front_alloc(size_t size, size_t align);
void ha_front_dealloc(void *ptr, size_t size, size_t align);
/* Point the slot of every CPU below ha_init's ncpu at front_of(cpu), and
 * every other slot the embedding has at ha_front_stray_cpu (hartalloc.c). */
void ha_set_fronts(struct ha_front *(*front_of)(unsigned cpu));
/* The front of a CPU beyond ha_init's ncpu: both calls panic, as the index
 * guard of the paths without a front does. */
extern struct ha_front ha_front_stray_cpu;
#endif

/* A realloc that moves the block: a new one from alloc(new_size, align), the
 * first min(keep, new_size) bytes of ptr copied into it, then
 * dealloc(ptr, free_size, free_align). NULL when alloc fails: ptr is then
 * untouched and still the caller's. (hartalloc.c) */
void *ha_realloc_move(void *ptr, size_t keep, size_t new_size, size_t align, void *(*alloc)(size_t size, size_t align),
                      void (*dealloc)(void *ptr, size_t size, size_t align), size_t free_size, size_t free_align);

#endif /* HA_BACKEND_H */
