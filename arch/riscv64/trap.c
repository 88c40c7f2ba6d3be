/*
 * trap.c - the C half of the trap vector. The only traps the kernel expects
 * are the supervisor timer interrupt and the software interrupt of cpu_wake
 * (and the breakpoints of the irq-defer test); anything else is a bug,
 * reported with the registers that locate it, and fails the run. An
 * interrupt that arrives inside hartalloc's fast paths is first deferred to
 * their return (HA_EMBED_IRQ_DEFER, hartalloc_embed.h).
 */
#include "console.h"
#include "cpu.h"
#include "finisher.h"
#include "timer.h"
#include "trap.h"

uint64_t irqs_deferred[MAX_HARTS];           /* per CPU index, for the tests */
bool (*trap_breakpoint_hook)(unsigned long sepc); /* a test's, or NULL */
void (*trap_soft_irq_hook)(unsigned long sepc);   /* a test's, or NULL */

#define EXC_BREAKPOINT 3 /* scause of an ebreak */

/* Registers saved by trapvec.S, in its order. */
struct trap_frame {
    unsigned long ra, t0, t1, t2, t3, t4, t5, t6, a0, a1, a2, a3, a4, a5, a6, a7;
};

static const char *const exception_names[16] = {
    "instruction address misaligned", "instruction access fault", "illegal instruction",
    "breakpoint", "load address misaligned", "load access fault", "store address misaligned",
    "store access fault", "ecall from U-mode", "ecall from S-mode", "reserved", "reserved",
    "instruction page fault", "load page fault", "reserved", "store page fault",
};

void trap_handler(struct trap_frame *f)
{
    struct cpu *c = this_cpu();
    unsigned long scause = csr_read(scause);
    c->traps++;
    if (!cpu_stack_intact(c->index)) {
        console_printf("TRAP stack overflow on hart %lu cpu %u (detected at sepc 0x%lx, ra 0x%lx): "
                       "its %u KiB stack ran into the one below\n",
                       c->hartid, c->index, csr_read(sepc), f->ra, STACK_SIZE >> 10);
        finisher_exit(EXIT_TRAP);
    }
    unsigned long sepc = csr_read(sepc);
    if ((scause & SCAUSE_INTERRUPT) && sepc >= (unsigned long)__start_ha_fast_text &&
        sepc < (unsigned long)__stop_ha_fast_text) {
        /* In a fast path: let it finish with interrupts masked (SPIE clear
         * makes sret leave them so), then irq_resume unmasks and the
         * interrupt, still pending, is taken there. The fast paths are
         * frameless, so ra holds their return address until their ret. */
        c->deferred_ra = f->ra;
        f->ra = (unsigned long)irq_resume;
        csr_clear(sstatus, SSTATUS_SPIE);
        irqs_deferred[c->index]++;
        return;
    }
    if (scause == (SCAUSE_INTERRUPT | IRQ_S_TIMER)) {
        timer_interrupt();
        return;
    }
    if (scause == (SCAUSE_INTERRUPT | IRQ_S_SOFT)) { /* cpu_wake: the waiter rechecks */
        csr_clear(sip, SIP_SSIP);
        c->wakeups++;
        if (trap_soft_irq_hook)
            trap_soft_irq_hook(sepc);
        return;
    }
    if (scause == EXC_BREAKPOINT && trap_breakpoint_hook && trap_breakpoint_hook(sepc))
        return; /* a test's breakpoint */
    unsigned long code = scause & ~SCAUSE_INTERRUPT;
    const char *what = (scause & SCAUSE_INTERRUPT) ? "interrupt"
                       : code < 16                ? exception_names[code]
                                                  : "exception";
    console_printf("TRAP unexpected %s (scause 0x%lx) on hart %lu cpu %u: sepc 0x%lx stval 0x%lx "
                   "ra 0x%lx\n",
                   what, scause, c->hartid, c->index, csr_read(sepc), csr_read(stval), f->ra);
    finisher_exit(EXIT_TRAP);
}
