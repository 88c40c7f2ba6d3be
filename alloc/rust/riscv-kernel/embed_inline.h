/*
 * embed_inline.h - this Rust kernel's per-operation hooks of the embedding
 * contract (alloc/include/hartalloc_embed.h) as static inline C, for the C
 * core that build.rs compiles into it: rust.mk passes
 * HA_CFLAGS=-DHA_EMBED_INLINE="embed_inline.h" -I<this directory>. Each is an
 * instruction or two, where a call into Rust would cost a call, a return and
 * a stack frame in the core's fast paths. The same hooks exist as Rust
 * functions too (embed_hooks!, main.rs) for anything built without this.
 *
 * tp points at the hart's block in rk_harts (main.rs: `Hart`), so the CPU
 * index and the allocator's CPU slot are each one load from tp.
 */
#ifndef RK_EMBED_INLINE_H
#define RK_EMBED_INLINE_H

struct rk_hart {
    unsigned long hartid; /* the CPU index: the kernel numbers CPUs by hart id */
    void *ha_slot;        /* the allocator's word (HA_EMBED_CPU_SLOT)         */
};

static inline struct rk_hart *rk_this_hart(void)
{
    register struct rk_hart *tp __asm__("tp");
    return tp;
}

static inline unsigned ha_embed_cpu_index(void) { return (unsigned)rk_this_hart()->hartid; }

/* sstatus.SIE is bit 1; csrrci returns the old sstatus, kept whole: while
 * interrupts are masked no other bit that was set gets cleared, so setting
 * its bits again restores exactly SIE. */
static inline unsigned long ha_embed_irq_save(void)
{
    unsigned long old;
    __asm__ volatile("csrrci %0, sstatus, 2" : "=r"(old) : : "memory");
    return old;
}

/* One csrs, no branch. */
static inline void ha_embed_irq_restore(unsigned long flags)
{
    __asm__ volatile("csrs sstatus, %0" : : "r"(flags) : "memory");
}

/* The kernel never unmasks interrupts (main.rs: every trap is fatal), so
 * none can arrive inside the fast paths: deferring them (hartalloc_embed.h)
 * takes no work here, and the fast paths need not mask either. */
#define HA_EMBED_IRQ_DEFER 1

#define HA_EMBED_CPU_SLOT 1
void **ha_embed_cpu_slot(unsigned cpu); /* Kernel::cpu_slot, main.rs */
static inline void **ha_embed_this_cpu_slot(void) { return &rk_this_hart()->ha_slot; }

#endif /* RK_EMBED_INLINE_H */
