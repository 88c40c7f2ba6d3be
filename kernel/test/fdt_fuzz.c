/*
 * fdt_fuzz.c - host test of the kernel's device tree parser (kernel/fdt.c),
 * built with AddressSanitizer and UBSan by the rv-fdt step.
 *
 *   fdt_fuzz TREE.dtb NHARTS TIMEBASE MEMBASE MEMSIZE NRESERVED BOOTARGS
 *
 * 1. TREE (QEMU's own virt tree, dumped and extended with dtc) must parse to
 *    the given values.
 * 2. Every single-byte corruption (three patterns per byte) and every
 *    truncation must end in a clean error or a clean parse: each copy sits in
 *    a buffer of exactly its totalsize, so one byte read too far is an ASan
 *    report, and a crash or a hang fails the step.
 * Bytes 4..7 (totalsize) are left alone: the kernel has no other bound on the
 * blob, so a larger totalsize legitimately lets the parser read further.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdt.h"

static int failures;

#define EXPECT(cond, ...)                                                        \
    do {                                                                         \
        if (!(cond)) {                                                           \
            printf("FAIL fdt.parses_qemu_tree kernel/test/fdt_fuzz.c:%d ", __LINE__); \
            printf(__VA_ARGS__);                                                 \
            printf("\n");                                                        \
            failures++;                                                          \
        }                                                                        \
    } while (0)

/* A copy of the first n bytes in a buffer of exactly n bytes. */
static uint8_t *exact_copy(const uint8_t *blob, size_t n)
{
    uint8_t *copy = malloc(n);
    memcpy(copy, blob, n);
    return copy;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s TREE.dtb NHARTS TIMEBASE MEMBASE MEMSIZE NRESERVED BOOTARGS\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    static uint8_t file[1 << 20];
    size_t size = fread(file, 1, sizeof file, f);
    fclose(f);

    struct fdt_info info;
    uint8_t *tree = exact_copy(file, size);
    const char *err = fdt_parse(tree, &info);
    EXPECT(!err, "the valid tree was rejected: %s", err);
    if (!err) {
        EXPECT(info.nharts == strtoul(argv[2], 0, 0), "%u harts", info.nharts);
        for (unsigned i = 0; i < info.nharts; i++)
            EXPECT(info.hartids[i] == i, "hart %u has id %lu", i, info.hartids[i]);
        EXPECT(info.timebase_hz == strtoull(argv[3], 0, 0), "timebase %llu",
               (unsigned long long)info.timebase_hz);
        EXPECT(info.nmemory == 1 && info.memory[0].base == strtoull(argv[4], 0, 0) &&
                   info.memory[0].size == strtoull(argv[5], 0, 0),
               "%u memory ranges, first 0x%llx+0x%llx", info.nmemory,
               (unsigned long long)info.memory[0].base, (unsigned long long)info.memory[0].size);
        EXPECT(info.nreserved == strtoul(argv[6], 0, 0), "%u reserved ranges", info.nreserved);
        EXPECT(info.bootargs && strcmp(info.bootargs, argv[7]) == 0, "bootargs '%s'",
               info.bootargs ? info.bootargs : "(none)");
        EXPECT(info.size == size, "size %llu of a %zu-byte file", (unsigned long long)info.size, size);
    }
    if (!failures)
        printf("PASS fdt.parses_qemu_tree (%u harts, %u reserved, bootargs '%s')\n", info.nharts,
               info.nreserved, info.bootargs);
    free(tree); /* info points into it */

    /* Corruptions: count how many the parser notices; none may crash it. */
    static const uint8_t patterns[] = { 0x01, 0x80, 0xff };
    unsigned runs = 0, rejected = 0;
    for (size_t i = 0; i < size; i++) {
        if (i >= 4 && i < 8)
            continue;
        for (unsigned k = 0; k < sizeof patterns; k++) {
            uint8_t *copy = exact_copy(file, size);
            copy[i] ^= patterns[k];
            rejected += fdt_parse(copy, &info) != NULL;
            runs++;
            free(copy);
        }
    }
    /* Truncations: the header says the blob ends early. */
    for (size_t n = 8; n < size; n++) {
        uint8_t *copy = exact_copy(file, n);
        put_be32(copy + 4, (uint32_t)n);
        rejected += fdt_parse(copy, &info) != NULL;
        runs++;
        free(copy);
    }
    printf("PASS fdt.survives_corruption (%u corrupted trees, %u rejected, no out-of-bounds read)\n",
           runs, rejected);
    return failures != 0;
}
