/* cpu.c - the per-CPU blocks and each hart's first steps in C (see cpu.h). */
#include "cpu.h"

#include "hartalloc_embed.h"
#include "panic.h"
#include "sbi.h"

/* The allocator's words start as the contract asks (HA_CPU_SLOT_INITIAL),
 * so a call before ha_init finds the stand-ins, not a NULL front. */
struct cpu cpus[MAX_HARTS] = {[0 ... MAX_HARTS - 1] = {.ha_slot = HA_CPU_SLOT_INITIAL}};

extern char trap_vector[];    /* trapvec.S */
extern char __stacks_start[]; /* entry.S: MAX_HARTS stacks of STACK_SIZE, CPU 0's lowest */

#define STACK_CANARY 0x43414e4152595321ull

/* The lowest word of a CPU's stack: there is no MMU guard page, so this word
 * is what an overflow tramples first. */
static volatile uint64_t *stack_limit(unsigned index)
{
    return (volatile uint64_t *)(__stacks_start + (unsigned long)index * STACK_SIZE);
}

bool cpu_stack_intact(unsigned index) { return *stack_limit(index) == STACK_CANARY; }

void cpu_setup(unsigned long hartid, unsigned index)
{
    struct cpu *c = this_cpu();
    c->hartid = hartid;
    c->index = index;
    *stack_limit(index) = STACK_CANARY;
    csr_write(stvec, (unsigned long)trap_vector); /* direct mode: low bits 0 */
    csr_write(sie, SIE_SSIE); /* cpu_wake only; the timer is switched on by a suite */
    irq_enable();
}

void cpu_wake(unsigned index)
{
    unsigned long hartid = cpus[index].hartid;
    struct sbiret r = sbi_send_ipi(1, hartid);
    if (r.error)
        panic("SBI send_ipi to hart %lu failed with error %ld", hartid, r.error);
}

void cpu_park(void)
{
    irq_disable();
    csr_write(sie, 0);
    for (;;)
        __asm__ volatile("wfi");
}
