/* trap.h - what trap.c offers the rest of the kernel: the count of deferred
 * interrupts (HA_EMBED_IRQ_DEFER) and two hooks for tests. */
#ifndef RV_TRAP_H
#define RV_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#include "param.h"

/* Interrupts that arrived inside hartalloc's fast paths and waited for
 * their return, per CPU index. */
extern uint64_t irqs_deferred[MAX_HARTS];
/* A breakpoint (ebreak) at sepc: the hook returns true when it handled it
 * (the trap returns to sepc), false to report it as unexpected. */
extern bool (*trap_breakpoint_hook)(unsigned long sepc);
/* After the software interrupt's own work; sepc is where it arrived. */
extern void (*trap_soft_irq_hook)(unsigned long sepc);

extern char __start_ha_fast_text[], __stop_ha_fast_text[];
extern char irq_resume[];

#endif /* RV_TRAP_H */
