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
 *
 * The first call. The core calls no hook before ha_init. ha_init runs on one
 * thread before any other ABI call; it records its ncpu (ha_cpu_count())
 * before its first hook call, which is an ha_embed_irq_save for most
 * alloc_types. So an embedding may set itself up lazily in its first
 * ha_embed_irq_save, sized by ha_cpu_count() (the host does: a program that
 * links libhartalloc.a calls only ha_init). Later first calls from other
 * threads may race each other, but never ha_init's.
 */
#ifndef HARTALLOC_EMBED_H
#define HARTALLOC_EMBED_H

#include <stdbool.h>
#include <stddef.h>

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
 * fast paths, between ha_embed_irq_save and ha_embed_irq_restore (or, with
 * HA_EMBED_IRQ_DEFER, inside the section whose interrupts wait); the
 * embedding only keeps them. Per-CPU mi keeps its heap there, so its fast
 * paths find the heap in one load instead of index, guard and address
 * arithmetic. Without the hook nothing changes but that cost.
 * With HA_EMBED_IRQ_DEFER as well, ha_alloc and ha_dealloc read through the
 * word on every call, before anything else (in a release build; the word
 * then points at the CPU's "front", alloc/backend.h). So before ha_init
 * writes them, every word must hold HA_CPU_SLOT_INITIAL: set them statically
 * or before a CPU's first call. With it the calls do what they do before
 * ha_init everywhere: ha_alloc returns NULL, ha_dealloc ignores NULL and
 * stops with a fault on any other pointer. */
struct ha_front;
extern const struct ha_front ha_front_before_init;
#define HA_CPU_SLOT_INITIAL ((void *)&ha_front_before_init)

/* Optional hook: deferred interrupts. An HA_EMBED_INLINE header that
 * defines HA_EMBED_IRQ_DEFER promises that no interrupt handler runs while
 * the CPU executes code in the section ha_fast_text, the core's two per-CPU
 * fast paths (mi's hit alloc and local free; with a CPU slot too, ha_alloc
 * and ha_dealloc themselves, alloc/backend.h): an interrupt that arrives
 * there must wait until the fast function returns. The fast paths then
 * mask nothing (two instructions each fewer on riscv64), and the rest of
 * the contract's order holds for every other path. The fast functions are
 * frameless leaves (no call, ra never saved) that either return or
 * tail-call their slow half, which masks for itself, having written
 * nothing; so an embedding can keep the promise at its trap entry, without
 * a word on the fast path:
 *     if the trap is an interrupt and __start_ha_fast_text <= pc <
 *     __stop_ha_fast_text (the section's bounds: GNU ld defines them for a
 *     section it places on its own; linker/kernel.ld names them): save the
 *     interrupted ra in a per-CPU word, set ra to a stub, return with
 *     interrupts masked (riscv64: clear sstatus.SPIE) and the interrupt
 *     still pending. The stub reloads ra from the word and unmasks; the
 *     interrupt is taken there, then the stub returns to the caller.
 * The C kernel does this (arch/riscv64/trap.c, trapvec.S: irq_resume) and
 * its irq-defer suite interrupts every instruction of the section. An
 * embedding that never unmasks interrupts keeps the promise trivially (the
 * Rust kernel). Without the hook the fast paths mask as every path does
 * (the host). */

/* Stop everything with a message naming the fault; never returns. */
void ha_embed_panic(const char *message) __attribute__((noreturn));

/* Write a NUL-terminated string (statistics, ha_check reports). */
void ha_embed_puts(const char *s);

#ifdef HA_EMBED_RELEASE
/* Optional: giving memory back. An embedding that can (the host, with
 * madvise) compiles the core with -DHA_EMBED_RELEASE and defines these two;
 * without it the core never calls them, and free segments simply stay in
 * its pool (the kernel's case: they are its own page allocator's memory).
 *
 * ha_embed_memory_unused: whole segments became free (a segment emptied, a
 * huge block freed). Called after the core released its locks, possibly
 * inside a masked section, so it must neither allocate nor block: it only
 * arranges for ha_release_unused() (hartalloc.h) to be called a little
 * later, outside the allocator. Called on every such free; deduplicate.
 *
 * ha_embed_release: nothing lives in [start, start + size) (whole segments)
 * and the core will not touch it before this returns; the embedding may
 * drop its contents. Called with the segment pool's lock held: it must not
 * call into the allocator. True when the range now reads as zero (the core
 * then skips zeroing it for ha_alloc_zeroed), false otherwise. */
void ha_embed_memory_unused(void);
bool ha_embed_release(void *start, size_t size);
#endif

#ifdef __cplusplus
}
#endif
#endif /* HARTALLOC_EMBED_H */
