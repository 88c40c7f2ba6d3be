/*
 * host.h - what arch/host offers its two users, the LD_PRELOAD malloc shim
 * and the test runner, beyond the embedding contract (hartalloc_embed.h)
 * that it implements for the core.
 *
 *   cpu_slots.c  host threads as CPUs: slot leases, the interrupt flag
 *   region.c     the reserved address range handed to ha_init
 *   console.c    output and panic
 *   release.c    memory given back: the core's release hooks, madvise
 */
#ifndef HA_HOST_H
#define HA_HOST_H

#include <stdbool.h>
#include <stddef.h>

/* Segments are 4 MiB and found by masking, so a region starts on 4 MiB. */
#define HA_HOST_REGION_ALIGN ((size_t)4 << 20)

/* ---- cpu_slots.c --------------------------------------------------------- */

/* Set the number of slots (CPU indices 0..nslots-1) before ha_init is given
 * the same number; also registers the exit and fork handlers. 0, or -1 when
 * nslots is 0 or too large. Call once. */
int ha_host_slots_init(unsigned nslots);

/* Make the calling thread the exclusive owner of `slot` for its lifetime (the
 * test runner: test CPU i is slot i). 0, or -1 when the slot is out of range
 * or already owned. Call before the thread first enters the allocator. */
int ha_host_bind_slot(unsigned slot);

/* Host "interrupts" (the test runner's timer signal). A signal handler calls
 * ha_host_irq_raise(): the registered handler runs at once, with the flag
 * masked, if the interrupted thread was not inside the allocator, and at
 * the thread's outermost ha_embed_irq_restore otherwise. Only threads that
 * own a slot may be interrupted. */
void ha_host_set_irq_handler(void (*handler)(unsigned cpu));
void ha_host_irq_raise(void);

/* ---- region.c ------------------------------------------------------------ */

/* Reserve `size` bytes of zero-filled, lazily committed memory aligned to
 * HA_HOST_REGION_ALIGN. NULL on failure. */
void *ha_host_reserve(size_t size);

/* [start, start + size) lies inside memory ha_host_reserve returned (private
 * anonymous: it reads as zero after madvise(MADV_DONTNEED)). */
bool ha_host_reserved(const void *start, size_t size);

/* "65536", "0x4000000", "64M", "64G" (K, M, G, T: powers of 1024). 0 for
 * anything else, including overflow. */
size_t ha_host_parse_size(const char *text);

/* ---- console.c ----------------------------------------------------------- */

/* Where ha_embed_puts writes: 2 (stderr) unless the runner sets 1, so check
 * reports stay in order with its PASS/FAIL lines. */
void ha_host_set_output_fd(int fd);

/* write(2) all of s, retrying short writes and EINTR. */
void ha_host_write_all(int fd, const char *s, size_t n);

#endif /* HA_HOST_H */
