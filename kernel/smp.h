/*
 * smp.h - bringing the other harts online and handing them work.
 *
 * Boot hart:   smp_bring_up() -> (set up the allocator) -> smp_release(work)
 * Other harts: secondary_main() checks in and waits for smp_release.
 */
#ifndef K_SMP_H
#define K_SMP_H

#include "fdt.h"

/* Start up to max_harts - 1 more harts (0: all) from the device tree with
 * HSM hart_start and wait until each has checked in. Returns the number of
 * CPUs online, the boot hart included. */
unsigned smp_bring_up(const struct fdt_info *fdt, unsigned max_harts);

/* Let every checked-in hart run work(cpu); they park when it returns. */
void smp_release(void (*work)(unsigned cpu));

#endif /* K_SMP_H */
