/*
 * quarantine.h - checked builds: freed blocks of the backends that hand the
 * same memory out again at once (tlsf and the fits) wait in a small FIFO
 * before they are really freed.
 *
 * Without it, free(p); printf(...); free(p) frees the stdio buffer that
 * printf just carved out of p's memory, and nothing is wrong any more by the
 * second free. In quarantine, p is still p's: a second free, a realloc or a
 * size query of it stops with a message naming it, and a write into it is
 * found by the fill check when it leaves (the oldest block leaves when the
 * FIFO is full, or once QUARANTINE_AGE allocations have passed). The
 * backend's own checks run when the block is really freed.
 *
 * Statistics and usage count a quarantined block as in use, so the readers
 * that must be exact (ha_get_stats, the ha_used_* family, ha_check,
 * ha_collect) empty the quarantine first; so does an allocation that finds
 * no memory. Lock order: the quarantine's lock, then the backend's (a block
 * leaving the quarantine is freed through its backend under both).
 */
#ifndef HA_QUARANTINE_H
#define HA_QUARANTINE_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"

#ifdef HA_CHECKED
/* ---- tunables ------------------------------------------------------------ */
#define QUARANTINE_SLOTS 16u
#define QUARANTINE_AGE 16u  /* allocations a block waits at most */

/* ptr was freed with this size and alignment: validate it, fill it and hold
 * it; the block it pushes out is freed through the backend. */
void quarantine_free(const struct ha_backend *b, void *ptr, size_t size, size_t align);
/* An allocation happened: free the blocks that have waited long enough. */
void quarantine_tick(const struct ha_backend *b);
/* Free every held block; false if there was none. */
bool quarantine_flush(const struct ha_backend *b);
/* Stop with a message if ptr is held (what: the call that used it). */
void quarantine_check_live(const void *ptr, const char *what);
#endif

#endif /* HA_QUARANTINE_H */
