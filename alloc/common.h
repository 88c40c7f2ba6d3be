/*
 * common.h - the small helpers every part of the core uses: alignment
 * arithmetic, and the two ways a check reports (ha_check_fail for the
 * validators, ha_fault for a bad pointer in a checked build). Both are
 * defined in hartalloc.c, next to the output they format.
 */
#ifndef HA_COMMON_H
#define HA_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Report the first broken invariant found by a check function and return -1.
 * Formats like ha_format (alloc/include/ha_format.h). */
int ha_check_fail(const char *fmt, ...);

/* Stop with a message naming the pointer and the fault (checked builds). */
void ha_fault(const void *ptr, const char *fmt, ...) __attribute__((noreturn));

/* x ^ (x - 1) sets the bits up to x's lowest set bit: above x - 1 exactly
 * when that bit is x's only one (x == 0 gives all ones, equal to x - 1). One
 * compare, so ha_alloc's check is one branch. */
static inline bool ha_is_pow2(size_t x) { return (x ^ (x - 1)) > x - 1; }
static inline uintptr_t ha_align_up(uintptr_t x, size_t a) { return (x + a - 1) & ~(uintptr_t)(a - 1); }
static inline uintptr_t ha_align_down(uintptr_t x, size_t a) { return x & ~(uintptr_t)(a - 1); }

#endif /* HA_COMMON_H */
