/*
 * latency.h - the cost of every allocator call, measured (boot argument
 * latency=1, in build/riscv64/kernel-latency.elf only).
 *
 * That image is linked with ld's --wrap for the ha_* calls below, so every
 * call the suites and workloads make lands in latency.c first, which reads
 * the instret counter before and after the real call. The allocator and the
 * callers are the same code as in kernel.elf (only the core is compiled with
 * HA_SPIN_STATS, which counts spin-loop iterations on contended locks):
 * kernel.elf pays nothing for any of this.
 *
 * Under QEMU -icount (ACCEL=icount) instret counts guest instructions, the
 * same on every run. With several harts the guest instructions are those of
 * the one virtual timeline shared by all harts (round-robin TCG), so a call
 * during which QEMU switched harts also counts the other harts' slices.
 *
 * Per CPU, per operation: a histogram (8 buckets per power of two, exact
 * below 16; no allocation), the call count, the sum, and the calls that
 * waited on a lock. Per CPU: the LAT_WORST slowest calls with what they
 * asked for. CPU 0 prints them all after each phase (LAT* lines, parsed by
 * tools/bench/run.py).
 */
#ifndef K_LATENCY_H
#define K_LATENCY_H

#include <stdbool.h>

/* True in kernel-latency.elf (the --wrap link), false in kernel.elf. */
bool latency_built(void);
/* Measure from now on (boot argument latency=1). */
void latency_enable(void);
/* CPU 0, all other CPUs waiting: forget what was measured. */
void latency_reset(void);
/* CPU 0, all other CPUs waiting: print what `ncpu` CPUs measured in `phase`. */
void latency_report(const char *phase, unsigned ncpu);

#endif /* K_LATENCY_H */
