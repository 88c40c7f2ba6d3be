/*
 * embed.c - the riscv64 side of the embedding contract
 * (alloc/include/hartalloc_embed.h).
 */
#include "hartalloc_embed.h"

#include "console.h"
#include "cpu.h"
#include "finisher.h"

unsigned ha_embed_cpu_index(void) { return this_cpu()->index; }

unsigned long ha_embed_irq_save(void) { return irq_save(); }

void ha_embed_irq_restore(unsigned long flags) { irq_restore(flags); }

void **ha_embed_cpu_slot(unsigned cpu) { return cpu < MAX_HARTS ? &cpus[cpu].ha_slot : 0; }

void ha_embed_panic(const char *message)
{
    irq_disable();
    struct cpu *c = this_cpu();
    /* The core passes no file:line; the caller's address locates it
     * (addr2line -e build/riscv64/kernel.elf <pc>). */
    console_printf("PANIC hart %lu cpu %u in hartalloc (called from pc %p): %s\n", c->hartid,
                   c->index, __builtin_return_address(0), message);
    finisher_exit(EXIT_PANIC);
}

void ha_embed_puts(const char *s) { console_puts(s); }
