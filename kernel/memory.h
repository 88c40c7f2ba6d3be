/*
 * memory.h - the allocator's memory: the static heap section from the linker
 * script, then the free RAM the device tree describes.
 */
#ifndef K_MEMORY_H
#define K_MEMORY_H

#include "fdt.h"
#include "hartalloc.h"

/* Zero the heap section, ha_init_flags(type) over it for ncpu CPUs, then
 * ha_add_memory every free piece of RAM above the image: RAM from /memory
 * minus the image, the device tree, /reserved-memory and the header's
 * reservations. A failure stops the boot. */
void memory_init(ha_type type, unsigned ncpu, const struct fdt_info *fdt);

#endif /* K_MEMORY_H */
