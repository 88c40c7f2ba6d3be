/*
 * fdt.h - what the kernel needs from the flattened device tree OpenSBI hands
 * over in a1: boot arguments, harts, timebase, RAM and reserved RAM.
 */
#ifndef K_FDT_H
#define K_FDT_H

#include <stdint.h>

#include "hartalloc.h"

#define FDT_MAX_HARTS HA_MAX_CPUS /* harts of /cpus we record: one per CPU index */
#define FDT_MAX_RANGES 16   /* /memory ranges, and reserved ranges      */

struct range {
    uint64_t base, size;
};

struct fdt_info {
    uint64_t base, size;              /* the blob itself (totalsize)            */
    const char *bootargs;             /* /chosen/bootargs, NULL if absent       */
    uint64_t timebase_hz;             /* /cpus/timebase-frequency               */
    unsigned nharts;                  /* enabled cpu nodes under /cpus          */
    unsigned long hartids[FDT_MAX_HARTS];
    unsigned nmemory;
    struct range memory[FDT_MAX_RANGES];   /* reg of every /memory node        */
    unsigned nreserved;
    struct range reserved[FDT_MAX_RANGES]; /* /reserved-memory children and the
                                              header's reservation block       */
};

/* Check the header and walk the whole structure block, filling *out.
 * Returns NULL, or a message saying what is missing or malformed. */
const char *fdt_parse(const void *blob, struct fdt_info *out);

#endif /* K_FDT_H */
