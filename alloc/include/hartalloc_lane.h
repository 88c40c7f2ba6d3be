/*
 * hartalloc_lane.h - the lane: a seam for an embedding that needs a faster
 * small malloc and free than the ABI. A lane is one CPU's heap, cached by the
 * caller, so a hit is a few loads and stores: no irq hooks, no call through
 * the dispatch table. Every miss goes through the ABI (ha_alloc, ha_free),
 * which masks as usual, so locks are still only taken in masked sections.
 *
 * Who may use a lane. Only the sole user of its CPU index, which no
 * allocating interrupt handler can preempt: the host's malloc for a thread
 * that leased a slot of its own (arch/host/malloc_shim.c), or one that holds
 * a shared slot's lock inside its masked section. A hart cannot: its
 * interrupts may allocate, so it keeps ha_alloc's masked section.
 *
 * Inline or not. By default the calls below are functions of the core. An
 * embedding built inside this tree may define HA_LANE_INLINE before including
 * this header (the host's malloc does): the core's inline bodies are then
 * compiled into its own code, so a hit costs no call. The type stays opaque
 * to the embedding either way.
 */
#ifndef HARTALLOC_LANE_H
#define HARTALLOC_LANE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ha_lane ha_lane;

/* The closed lane: every call on it misses. A caller holds &ha_lane_closed
 * instead of NULL, so its fast paths test nothing extra. */
extern ha_lane ha_lane_closed;

/* The lane of `cpu`, or &ha_lane_closed when there is none: the active
 * alloc_type is not per-CPU mi, cpu is out of range, or the build is checked
 * (every call is verified there). Call after ha_init; the lane stays valid
 * while the caller remains the sole user of `cpu`. */
ha_lane *ha_lane_open(unsigned cpu);

/* Blocks from a lane are aligned to HA_LANE_ALIGN (malloc's alignment). */
#define HA_LANE_ALIGN 16u

#ifdef HA_LANE_INLINE
#include "../mi/lane.h" /* static inline ha_lane_alloc and ha_lane_free */
#else
/* A block of `size` bytes, or NULL on a miss (size 0, larger than the
 * medium classes, or the class's current page has no free block): the
 * caller then asks ha_alloc(size, HA_LANE_ALIGN). */
void *ha_lane_alloc(ha_lane *lane, size_t size);

/* Free p if it is a block of the lane's own heap that takes fast frees;
 * false, having done nothing, otherwise (NULL included): the caller then
 * tries ha_lane_free_remote. The lane must be open. */
bool ha_lane_free(ha_lane *lane, void *p);
#endif

/* Free p, a block of another heap's small, medium or large page that is not
 * full, with one CAS as any remote free; false, having done nothing, for
 * anything else (NULL included): the caller then calls ha_free(p). Always a
 * call: kept apart from ha_lane_free so a local hit needs no stack frame. */
bool ha_lane_free_remote(ha_lane *lane, void *p);

#ifdef __cplusplus
}
#endif
#endif /* HARTALLOC_LANE_H */
