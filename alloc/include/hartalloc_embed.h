/*
 * hartalloc_embed.h - the embedding contract: the only things the allocator
 * core needs from the world around it. Every embedding defines these symbols:
 * arch/riscv64 (the C test kernel), arch/host (host threads, LD_PRELOAD) and
 * the Rust crate (a Rust kernel), each with C linkage.
 *
 * Call order on every per-CPU path of the core:
 *     flags = ha_embed_irq_save(); cpu = ha_embed_cpu_index();
 *     ... touch heap[cpu] ...
 *     ha_embed_irq_restore(flags);
 * so an embedding may make irq_save the point where the caller gains exclusive
 * use of a CPU slot (the host does, for threads beyond its slot count).
 */
#ifndef HARTALLOC_EMBED_H
#define HARTALLOC_EMBED_H

#ifdef __cplusplus
extern "C" {
#endif

#ifdef HA_EMBED_INLINE
/* An embedding may supply the three per-operation hooks as static inline
 * functions, so the fast paths pay no call for them: its build compiles the
 * core with -DHA_EMBED_INLINE='"its_header.h"' (the C kernel does). The
 * symbols must still exist for code built without it (Rust, tests). */
#include HA_EMBED_INLINE
#else
/* Index of the CPU running the caller, in 0..ncpu-1 (ncpu as given to
 * ha_init). Only called between ha_embed_irq_save and ha_embed_irq_restore. */
unsigned ha_embed_cpu_index(void);

/* Mask local interrupts and return the previous state; restore it. Must nest.
 * On riscv64: csrrci sstatus.SIE / csrs sstatus. */
unsigned long ha_embed_irq_save(void);
void ha_embed_irq_restore(unsigned long flags);
#endif

/* Optional hook: the CPU slot. An HA_EMBED_INLINE header that defines
 * HA_EMBED_CPU_SLOT reserves one pointer-sized word per CPU for the allocator
 * and provides:
 *     void **ha_embed_cpu_slot(unsigned cpu);
 *         CPU cpu's word, for cpu = 0, 1, ... up to its last CPU, then NULL.
 *         Called by ha_init only.
 *     static inline void **ha_embed_this_cpu_slot(void);
 *         the caller's word, ha_embed_cpu_slot(ha_embed_cpu_index()), in as
 *         few instructions as the embedding can (riscv64 kernels: a word at a
 *         fixed offset from tp, so a load from it is one `ld`).
 * The allocator writes the words in ha_init and reads them on the per-CPU
 * fast paths, between ha_embed_irq_save and ha_embed_irq_restore; the
 * embedding only keeps them. Per-CPU mi keeps its heap there, so its fast
 * paths find the heap in one load instead of index, guard and address
 * arithmetic. Without the hook nothing changes but that cost. */

/* Stop everything with a message naming the fault; never returns. */
void ha_embed_panic(const char *message) __attribute__((noreturn));

/* Write a NUL-terminated string (statistics, ha_check reports). */
void ha_embed_puts(const char *s);

#ifdef __cplusplus
}
#endif
#endif /* HARTALLOC_EMBED_H */
