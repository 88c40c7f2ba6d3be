/* cpu.c - the per-CPU blocks and each hart's first steps in C (see cpu.h). */
#include "cpu.h"

struct cpu cpus[MAX_HARTS];

extern char trap_vector[]; /* trapvec.S */

void cpu_setup(unsigned long hartid, unsigned index)
{
    struct cpu *c = this_cpu();
    c->hartid = hartid;
    c->index = index;
    csr_write(stvec, (unsigned long)trap_vector); /* direct mode: low bits 0 */
    csr_write(sie, 0);                            /* no source until the timer is switched on */
    irq_enable();
}

void cpu_park(void)
{
    irq_disable();
    csr_write(sie, 0);
    for (;;)
        __asm__ volatile("wfi");
}
