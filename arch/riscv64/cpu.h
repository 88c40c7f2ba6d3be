/*
 * cpu.h - the per-CPU block that tp points at, and the CSR and interrupt
 * helpers every other arch file uses.
 *
 * A hart's CPU index (0..n-1) is the order in which it came online: entry.S
 * takes it with one amoadd on cpus_online, so the boot hart is always CPU 0
 * whichever hart id won OpenSBI's boot lottery.
 */
#ifndef RV_CPU_H
#define RV_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "param.h"

struct cpu {
    unsigned long hartid;   /* from a0 at entry                                  */
    unsigned index;         /* 0..n-1, order of coming online                    */
    uint32_t timer_armed;   /* this hart's tick is programmed (1) or parked (0)  */
    uint64_t timer_ticks;   /* timer interrupts taken                            */
    uint64_t next_tick;     /* time (timebase units) of the programmed tick      */
    uint64_t traps;         /* every trap taken, expected or not                 */
    uint64_t wakeups;       /* software interrupts (cpu_wake) received           */
    void *ha_slot;          /* hartalloc's word (HA_EMBED_CPU_SLOT, embed_inline.h) */
    unsigned long deferred_ra; /* return address of a fast path whose interrupt
                                * waits for it (trap.c, irq_resume)              */
} __attribute__((aligned(CPU_BLOCK_SIZE)));

_Static_assert(__builtin_offsetof(struct cpu, deferred_ra) == CPU_DEFERRED_RA, "trapvec.S loads it by offset");

_Static_assert(sizeof(struct cpu) == CPU_BLOCK_SIZE, "entry.S indexes cpus[] by CPU_BLOCK_SIZE");

extern struct cpu cpus[MAX_HARTS];
extern uint32_t cpus_online;  /* taken by entry.S: also counts harts that entered */
extern uint32_t bringup_open; /* entry.S holds harts arriving late at _start until set */
extern uint32_t cpus_late;    /* harts that arrived at _start, not _start_secondary */

static inline struct cpu *this_cpu(void)
{
    /* tp itself, not a copy, so a field loads with one `ld off(tp)`. tp is
     * set once per hart by entry.S and never changes after. */
    register struct cpu *tp __asm__("tp");
    return tp;
}

#define csr_read(csr)                                                            \
    ({                                                                           \
        unsigned long v_;                                                        \
        __asm__ volatile("csrr %0, " #csr : "=r"(v_));                           \
        v_;                                                                      \
    })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" ::"rK"((unsigned long)(v)))
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" ::"rK"((unsigned long)(v)))
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" ::"rK"((unsigned long)(v)))

#define SSTATUS_SIE (1ul << 1)
#define SSTATUS_SPIE (1ul << 5)
#define SIE_SSIE (1ul << 1)
#define SIE_STIE (1ul << 5)
#define SIP_SSIP (1ul << 1)
#define SCAUSE_INTERRUPT (1ul << 63)
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5

static inline void irq_enable(void) { csr_set(sstatus, SSTATUS_SIE); }
static inline void irq_disable(void) { csr_clear(sstatus, SSTATUS_SIE); }

/* Mask interrupts on this hart and return the previous sstatus.SIE. */
static inline unsigned long irq_save(void)
{
    unsigned long old;
    __asm__ volatile("csrrci %0, sstatus, 2" : "=r"(old) : : "memory");
    return old & SSTATUS_SIE;
}

/* flags is 0 or SSTATUS_SIE (irq_save), or the whole previous sstatus
 * (embed_inline.h), so setting its bits restores SIE without a branch. */
static inline void irq_restore(unsigned long flags)
{
    __asm__ volatile("csrs sstatus, %0" ::"r"(flags) : "memory");
}

static inline uint64_t rdtime(void)
{
    uint64_t t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
}

/* Called once on each hart, first thing in C: fill the block entry.S chose
 * (tp already points at it) and install the trap vector. Interrupts stay
 * enabled from here on; only the timer source is switched on and off. */
void cpu_setup(unsigned long hartid, unsigned index);

/*
 * Waiting without spinning. Under QEMU's TCG a spinning hart keeps its host
 * thread (multi-threaded TCG) or the single shared one (single-threaded, for
 * up to 100 ms per turn) busy; a hart in wfi gives it up. Whoever makes a
 * waiter's condition true calls cpu_wake() on it.
 *
 * The condition is tested with interrupts masked and wfi runs still masked:
 * wfi returns when an interrupt is pending even then, so a wake-up that lands
 * after the test is not lost (were interrupts on, its handler could run
 * between the test and the wfi and the hart would sleep through it). The
 * pending interrupt is then taken in a short unmasked window.
 */
#define cpu_wait_until(cond)                                                     \
    do {                                                                         \
        unsigned long wait_flags_ = irq_save();                                  \
        while (!(cond))                                                          \
            cpu_sleep_masked();                                                  \
        irq_restore(wait_flags_);                                                \
    } while (0)

/* wfi, then take whatever interrupt woke us. Interrupts masked on entry and exit. */
static inline void cpu_sleep_masked(void)
{
    __asm__ volatile("wfi\n\tcsrsi sstatus, 2\n\tcsrci sstatus, 2" ::: "memory");
}

void cpu_wake(unsigned index); /* send a software interrupt to cpus[index] */

/* False once something wrote over the bottom word of cpus[index]'s stack:
 * checked on every trap (so every timer tick) and at the end of the run. */
bool cpu_stack_intact(unsigned index);

/* Stop this hart for good: interrupts off, wfi forever. */
void cpu_park(void) __attribute__((noreturn));

#endif /* RV_CPU_H */
