/*
 * param.h - tunables of the riscv64 test kernel, one per line.
 * Included by C and by assembly (entry.S), so only plain #defines here.
 */
#ifndef RV_PARAM_H
#define RV_PARAM_H

#define MAX_HARTS 8            /* harts the kernel brings online; QEMU virt has at most 8 per socket */
#define STACK_SIZE 0x10000     /* 64 KiB per hart: test cases keep arrays of a few KiB on the stack */
#define CPU_BLOCK_SIZE 64      /* sizeof(struct cpu): one cache line each, entry.S indexes by it */
#define CPU_DEFERRED_RA 56     /* offsetof(struct cpu, deferred_ra): trapvec.S's irq_resume loads it */
#define TIMER_HZ 1000          /* periodic tick while a suite switches the timer on */
#define BRINGUP_TIMEOUT_MS 5000 /* a started hart that does not check in by then fails the boot */
#define RAM_BASE 0x80000000    /* QEMU virt: where DRAM begins; a device tree pointer below it is bogus */

#endif /* RV_PARAM_H */
