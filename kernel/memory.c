/* memory.c - hand the heap section and the free RAM to the allocator (see memory.h). */
#include "memory.h"

#include <stdint.h>
#include <stdbool.h>

#include "console.h"
#include "finisher.h"
#include "panic.h"

extern char __image_start[], __image_end[], __heap_start[], __heap_end[]; /* kernel.ld */

#define MAX_EXCLUDED (FDT_MAX_RANGES + 2)

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static bool overlaps(struct range a, uint64_t base, uint64_t end)
{
    return a.size && a.base < end && base < a.base + a.size;
}

/* Add [base, end) to the allocator, page-aligned inward. A piece the backend
 * cannot use (too small, misaligned for it, no slot left) is reported and
 * skipped: the boot heap is enough to run. */
static void add_piece(uint64_t base, uint64_t end)
{
    base = (base + HA_PAGE_SIZE - 1) & ~(uint64_t)(HA_PAGE_SIZE - 1);
    end &= ~(uint64_t)(HA_PAGE_SIZE - 1);
    if (end <= base)
        return;
    int r = ha_add_memory((void *)(uintptr_t)base, (size_t)(end - base));
    if (r == -HA_ETOOSMALL || r == -HA_EALIGN || r == -HA_EFULL)
        console_printf("memory: %s declined [0x%llx, 0x%llx) (%s); skipped\n", ha_name(),
                       (unsigned long long)base, (unsigned long long)end, ha_error_text(r));
    else if (r != 0)
        die(EXIT_BAD_BOOT, "ha_add_memory([0x%llx, 0x%llx)) failed: %s",
            (unsigned long long)base, (unsigned long long)end, ha_error_text(r));
    else
        console_printf("memory: added [0x%llx, 0x%llx) %llu KiB\n", (unsigned long long)base,
                       (unsigned long long)end, (unsigned long long)(end - base) >> 10);
}

/* Add [base, end) minus the excluded ranges (sorted by base). */
static void add_free(uint64_t base, uint64_t end, const struct range *ex, unsigned nex)
{
    for (unsigned i = 0; i < nex && base < end; i++) {
        if (!overlaps(ex[i], base, end))
            continue;
        if (ex[i].base > base)
            add_piece(base, ex[i].base);
        base = max64(base, ex[i].base + ex[i].size);
    }
    if (base < end)
        add_piece(base, end);
}

void memory_init(ha_type type, unsigned ncpu, const struct fdt_info *fdt)
{
    uint64_t image = (uintptr_t)__image_start, image_end = (uintptr_t)__image_end;
    size_t heap_size = (size_t)(__heap_end - __heap_start);

    /* The image (heap included) must sit in RAM and clear of the device tree,
     * which we are still reading: with too little RAM, fw_dynamic puts the
     * tree inside our heap. */
    bool in_ram = false;
    for (unsigned i = 0; i < fdt->nmemory; i++)
        in_ram |= fdt->memory[i].base <= image &&
                  image_end - fdt->memory[i].base <= fdt->memory[i].size;
    if (!in_ram)
        die(EXIT_BAD_BOOT, "the kernel image [0x%llx, 0x%llx) with its %zu MiB heap is not inside "
                           "RAM: raise MEM or lower HEAP_SIZE",
            (unsigned long long)image, (unsigned long long)image_end, heap_size >> 20);
    if (overlaps((struct range){ fdt->base, fdt->size }, image, image_end))
        die(EXIT_BAD_BOOT, "the device tree at 0x%llx lies inside the kernel image [0x%llx, 0x%llx) "
                           "with its %zu MiB heap: raise MEM or lower HEAP_SIZE",
            (unsigned long long)fdt->base, (unsigned long long)image,
            (unsigned long long)image_end, heap_size >> 20);

    /* Firmware that reserved our own memory would corrupt us, or we it. */
    for (unsigned i = 0; i < fdt->nreserved; i++)
        if (overlaps(fdt->reserved[i], image, image_end))
            die(EXIT_BAD_BOOT, "reserved memory [0x%llx, +0x%llx) overlaps the kernel image "
                               "[0x%llx, 0x%llx)",
                (unsigned long long)fdt->reserved[i].base,
                (unsigned long long)fdt->reserved[i].size, (unsigned long long)image,
                (unsigned long long)image_end);

    __builtin_memset(__heap_start, 0, heap_size); /* makes HA_MEMORY_ZEROED true */
    /* Every CPU slot starts as the contract asks (HA_CPU_SLOT_INITIAL, cpu.c),
     * which ha_alloc reads first: before ha_init it must refuse, not fault. */
    if (ha_alloc(16, 8) != 0)
        die(EXIT_BAD_BOOT, "ha_alloc before ha_init returned a block");
    int r = ha_init_flags(type, __heap_start, heap_size, ncpu, HA_MEMORY_ZEROED);
    if (r != 0)
        die(EXIT_BAD_BOOT, "ha_init(%s, %p, %zu MiB, %u cpus) failed: %s",
            ha_type_name(type), (void *)__heap_start, heap_size >> 20, ncpu, ha_error_text(r));
    console_printf("memory: %s heap [%p, %p) %zu MiB for %u cpus\n", ha_name(),
                   (void *)__heap_start, (void *)__heap_end, heap_size >> 20, ncpu);

    /* Exclusions sorted by base: the reservations, the device tree, and the
     * image itself (so RAM below it, if any, is not handed out either). */
    struct range ex[MAX_EXCLUDED];
    unsigned nex = 0;
    ex[nex++] = (struct range){ 0, image_end }; /* everything up to the image end */
    ex[nex++] = (struct range){ fdt->base, fdt->size };
    for (unsigned i = 0; i < fdt->nreserved; i++)
        ex[nex++] = fdt->reserved[i];
    for (unsigned i = 1; i < nex; i++) /* insertion sort: a handful of entries */
        for (unsigned j = i; j > 0 && ex[j].base < ex[j - 1].base; j--) {
            struct range t = ex[j];
            ex[j] = ex[j - 1];
            ex[j - 1] = t;
        }
    for (unsigned i = 0; i < fdt->nmemory; i++) {
        uint64_t base = fdt->memory[i].base;
        uint64_t end = base + min64(fdt->memory[i].size, UINT64_MAX - base);
        add_free(base, end, ex, nex);
    }
}
