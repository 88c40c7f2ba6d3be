/*
 * bootargs.h - the kernel command line (/chosen/bootargs, QEMU's -append):
 * space-separated key=value words.
 *
 *   alloc=<type>   allocator family (ha_type_from_name), default mi
 *   test=<suite>   suite to run on every hart, default smoke (none if bench= is given)
 *   bench=<name>   benchmark to run on every hart after the suite
 *   harts=<n>      use at most n harts (default: every hart in the device tree)
 *   heapcpus=<n>   give ha_init only n CPUs although more harts run (a test of the
 *                  allocator's guard: a hart beyond them must stop with a panic)
 *   seed=<n>       seed of the cases' random streams, default 1
 *   scale=<n>      work multiplier of the cases, default 1
 *   latency=<0|1>  measure every allocator call (kernel-latency.elf only; latency.h)
 */
#ifndef K_BOOTARGS_H
#define K_BOOTARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "hartalloc.h"
#include "harness.h"

struct boot_args {
    ha_type alloc;
    const struct th_suite *suite; /* NULL: no suite */
    const struct th_bench *bench; /* NULL: no benchmark */
    unsigned harts;               /* 0: all */
    unsigned heap_cpus;           /* 0: every hart online */
    uint64_t seed;
    unsigned scale;
    bool latency;
};

/* Parse `cmdline` (NULL means empty). A bad word stops the boot with an error
 * that lists the valid choices. */
void bootargs_parse(const char *cmdline, struct boot_args *out);

#endif /* K_BOOTARGS_H */
