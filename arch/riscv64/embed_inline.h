/*
 * embed_inline.h - the per-operation hooks of the embedding contract as
 * static inline functions, for the allocator core compiled into the kernel
 * (-DHA_EMBED_INLINE='"embed_inline.h"', see hartalloc_embed.h). Each is one
 * or two instructions; as calls they cost more than the work they do, and
 * under TCG a call costs about ten times an ALU instruction. embed.c still
 * defines the same hooks as functions for code built without this header.
 */
#ifndef RV_EMBED_INLINE_H
#define RV_EMBED_INLINE_H

#include "cpu.h"

static inline unsigned ha_embed_cpu_index(void) { return this_cpu()->index; }
/* The whole previous sstatus, not just its SIE bit (irq_save): restoring
 * sets its bits again (irq_restore is one csrs), and while interrupts are
 * masked nothing clears another sstatus bit that was set (no trap can be
 * taken; FS only moves up), so this restores exactly SIE, one instruction
 * cheaper on every allocator call. */
static inline unsigned long ha_embed_irq_save(void)
{
    unsigned long old;
    __asm__ volatile("csrrci %0, sstatus, 2" : "=r"(old) : : "memory");
    return old;
}
static inline void ha_embed_irq_restore(unsigned long flags) { irq_restore(flags); }

/* The CPU slot: a word of struct cpu, which tp points at (embed.c has
 * ha_embed_cpu_slot for any CPU). */
#define HA_EMBED_CPU_SLOT 1
void **ha_embed_cpu_slot(unsigned cpu);
static inline void **ha_embed_this_cpu_slot(void) { return &this_cpu()->ha_slot; }

/* Interrupts that arrive while the CPU is in the core's fast paths wait for
 * their return (trap.c: the return address goes to trapvec.S's irq_resume,
 * which unmasks), so those paths mask nothing. */
#define HA_EMBED_IRQ_DEFER 1

#endif /* RV_EMBED_INLINE_H */
