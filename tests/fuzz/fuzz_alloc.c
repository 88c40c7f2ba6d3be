/*
 * fuzz_alloc.c - a libFuzzer harness: the input is a program of operations
 * over NCPU simulated CPUs, run against one alloc_type and checked, after
 * every operation, against a reference model of what must be true.
 *
 * The harness is its own embedding (hartalloc_embed.h): ha_embed_cpu_index
 * returns the CPU the current operation names, so one thread plays every CPU
 * deterministically, and a block allocated "on" CPU 1 and freed "on" CPU 3
 * takes the remote-free path. ha_init can run once per process, so the
 * allocator persists across inputs; every input ends by freeing all it still
 * holds and requiring the heap to be back where it started.
 *
 * alloc_type: HA_FUZZ_ALLOC=<name> (default mi). make fuzz runs each type.
 * HA_FUZZ_TRACE=1 prints every operation (to turn a crash into a recipe).
 *
 * Input: 5-byte operations (a trailing partial one is ignored)
 *   byte 0   low 4 bits: operation; high 4 bits: CPU (mod NCPU)
 *   byte 1   slot of the reference table (mod SLOTS)
 *   byte 2   alignment exponent / page count selector
 *   byte 3-4 size selector (little-endian)
 * Operations: 0 alloc, 1 aligned alloc, 2 alloc_zeroed, 3 realloc, 4 dealloc
 * (on any CPU: a remote free when it is not the allocating one), 5 ha_free,
 * 6 alloc_pages, 7 rewrite, 8 verify (+ ha_check now and then), 9 bad
 * alignment, 15 with byte 2 % 4 == 0: a huge block of (sel + 1) KiB (up to
 * 64 MiB: out of memory); the other codes repeat alloc and dealloc.
 *
 * Checked against the model (any failure aborts with a message):
 *   contents written are read back intact (every byte of the usable size,
 *   before each free, realloc and on demand); zeroed memory is zero;
 *   alignment holds; no two live blocks overlap; usable size >= request;
 *   ha_used_bytes/ha_used_pages and the summed statistics (allocs - frees,
 *   bytes_in_use) match the model after every operation; a bad alignment gets
 *   NULL; ha_check() is clean after every input (and on demand).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hartalloc.h"
#include "hartalloc_embed.h"

#define NCPU 4
#define SLOTS 64
#define HEAP_BYTES ((size_t)32 << 20) /* small enough that inputs reach out of memory */
#define REGION_ALIGN ((size_t)4 << 20) /* mi finds segments by masking */

/* ---- the embedding ------------------------------------------------------- */

static unsigned current_cpu;
static unsigned irq_depth;

unsigned ha_embed_cpu_index(void) { return current_cpu; }

unsigned long ha_embed_irq_save(void) { return irq_depth++; }

void ha_embed_irq_restore(unsigned long flags)
{
    if (irq_depth == 0 || flags != irq_depth - 1) {
        fprintf(stderr, "fuzz: ha_embed_irq_restore(%lu) does not nest (depth %u)\n", flags, irq_depth);
        abort();
    }
    irq_depth--;
}

void ha_embed_panic(const char *message)
{
    fprintf(stderr, "fuzz: hartalloc panic: %s\n", message);
    abort();
}

void ha_embed_puts(const char *s) { fputs(s, stderr); }

/* ---- the reference model ------------------------------------------------- */

enum kind { EMPTY, BYTES, PAGES };

struct slot {
    enum kind kind;
    uint8_t *ptr;
    size_t size;    /* requested bytes (pages: num_pages)                      */
    size_t align;
    size_t usable;  /* bytes the model owns: usable size, or num_pages * 4 KiB  */
    uint32_t seed;  /* the pattern written over [ptr, ptr + usable)            */
};

static struct slot slots[SLOTS];
static size_t model_bytes, model_pages, model_blocks;
static size_t base_bytes, base_pages;
static uint64_t base_allocs, base_frees;
static unsigned long long total_ops, total_inputs, total_null;
static const char *type_name;
static bool trace;
static const char *const op_names[] = {
    "alloc", "alloc-aligned", "alloc-zeroed", "realloc", "dealloc", "free", "pages",
    "rewrite", "verify", "bad-align", "huge",
};

#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "fuzz [%s, cpu %u]: ", type_name, current_cpu);        \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        abort();                                                               \
    } while (0)

/* The pattern is computed a word at a time; byte i is byte i % 8 of word i / 8. */
static inline uint64_t pattern_word(uint32_t seed, size_t w)
{
    uint64_t x = ((uint64_t)seed << 32 | seed) ^ (w * 0x9e3779b97f4a7c15ull);
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 32);
}

static inline uint8_t pattern(uint32_t seed, size_t i)
{
    return (uint8_t)(pattern_word(seed, i / 8) >> (8 * (i % 8)));
}

static void fill(struct slot *s)
{
    size_t words = s->usable / 8;
    for (size_t w = 0; w < words; w++) {
        uint64_t x = pattern_word(s->seed, w);
        memcpy(s->ptr + 8 * w, &x, 8);
    }
    for (size_t i = 8 * words; i < s->usable; i++)
        s->ptr[i] = pattern(s->seed, i);
}

static void verify_prefix(const struct slot *s, size_t n, const char *when)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s->ptr + i, 8);
        if (x != pattern_word(s->seed, i / 8))
            break; /* find the byte below */
    }
    for (; i < n; i++)
        if (s->ptr[i] != pattern(s->seed, i))
            FAIL("%s: block %p (size %zu) byte %zu is 0x%02x, wrote 0x%02x", when, (void *)s->ptr,
                 s->size, i, s->ptr[i], pattern(s->seed, i));
}

static void verify(const struct slot *s, const char *when) { verify_prefix(s, s->usable, when); }

/* [p, p + n) (n >= 1) must not overlap any live block but `self`. */
static void check_no_overlap(const struct slot *self, const uint8_t *p, size_t n)
{
    for (unsigned i = 0; i < SLOTS; i++) {
        const struct slot *o = &slots[i];
        if (o == self || o->kind == EMPTY)
            continue;
        size_t on = o->usable ? o->usable : 1;
        if (p < o->ptr + on && o->ptr < p + n)
            FAIL("new block [%p, +%zu) overlaps live block [%p, +%zu)", (const void *)p, n,
                 (void *)o->ptr, on);
    }
}

static void check_accounting(void)
{
    size_t used = ha_used_bytes(), pages = ha_used_pages();
    if (used != base_bytes + model_bytes)
        FAIL("ha_used_bytes() = %zu, the model has %zu live bytes (+%zu at start)", used, model_bytes,
             base_bytes);
    if (pages != base_pages + model_pages)
        FAIL("ha_used_pages() = %zu, the model has %zu live pages (+%zu at start)", pages, model_pages,
             base_pages);
    struct ha_stats st;
    if (ha_get_stats(HA_ALL_CPUS, &st) != 0)
        FAIL("ha_get_stats(HA_ALL_CPUS) failed");
    /* Whether allocs/frees/bytes_in_use count 4 KiB page runs differs between
     * backends (mi counts them, the locked ones do not; hartalloc.h says
     * bytes_in_use includes them), so the statistics are compared only while
     * no page run is live. */
    if (model_pages != 0)
        return;
    uint64_t live = (st.allocs - base_allocs) - (st.frees - base_frees);
    if (live != model_blocks)
        FAIL("statistics: allocs - frees = %llu live blocks, the model has %zu",
             (unsigned long long)live, model_blocks);
    if (st.bytes_in_use != (int64_t)used)
        FAIL("statistics: bytes_in_use = %llu, ha_used_bytes() = %zu",
             (unsigned long long)st.bytes_in_use, used);
}

/* Record a fresh byte block in slot s (a NULL result leaves it EMPTY). */
static void adopt(struct slot *s, void *p, size_t size, size_t align, uint32_t seed, bool zeroed)
{
    if (!p) {
        total_null++; /* out of memory: allowed; the accounting must still hold */
        return;
    }
    if ((uintptr_t)p & (align - 1))
        FAIL("ha_alloc(%zu, %zu) = %p: misaligned", size, align, p);
    size_t usable = ha_usable_size(p);
    if (usable < size)
        FAIL("ha_usable_size(%p) = %zu < requested %zu", p, usable, size);
    if (zeroed)
        for (size_t i = 0; i < size; i++)
            if (((uint8_t *)p)[i] != 0)
                FAIL("ha_alloc_zeroed(%zu, %zu) = %p: byte %zu is 0x%02x", size, align, p, i,
                     ((uint8_t *)p)[i]);
    check_no_overlap(s, p, usable ? usable : 1);
    *s = (struct slot){ .kind = BYTES, .ptr = p, .size = size, .align = align, .usable = usable,
                        .seed = seed };
    fill(s);
    model_bytes += usable;
    model_blocks++;
}

static void release(struct slot *s, bool malloc_style)
{
    if (s->kind == EMPTY)
        return;
    verify(s, "before free");
    if (s->kind == PAGES) {
        ha_dealloc_pages(s->ptr, s->size);
        model_pages -= s->size;
    } else {
        if (malloc_style)
            ha_free(s->ptr);
        else
            ha_dealloc(s->ptr, s->size, s->align);
        model_bytes -= s->usable;
        model_blocks--;
    }
    s->kind = EMPTY;
}

/* Sizes: mostly small, sometimes up to 64 KiB, rarely up to 1 MiB (the
 * top three bits pick the range). */
static size_t size_of(uint16_t sel)
{
    switch (sel >> 13) {
    case 0: case 1: case 2: case 3: return sel & 0xff;
    case 4: case 5: return sel & 0xfff;
    case 6: return (size_t)(sel & 0x1fff) * 8;
    default: return (size_t)(sel & 0x1fff) * 128;
    }
}

/* Alignments: mostly natural (<= 16), sometimes up to 1 MiB. */
static size_t align_of(uint8_t sel, bool large)
{
    unsigned e = sel & 0x1f;
    if (!large || e > 20)
        e %= 5;
    return (size_t)1 << e;
}

enum op {
    OP_ALLOC, OP_ALLOC_ALIGNED, OP_ALLOC_ZEROED, OP_REALLOC, OP_DEALLOC, OP_FREE, OP_PAGES,
    OP_REWRITE, OP_VERIFY, OP_BAD_ALIGN, OP_COUNT_NAMED,
    OP_HUGE = 15, /* with align-sel % 4 == 0: up to 64 MiB, beyond the heap */
};

static void run_op(uint8_t code, uint8_t slot_sel, uint8_t align_sel, uint16_t size_sel)
{
    unsigned op = code & 15;
    if (op == OP_HUGE && align_sel % 4 == 0)
        op = OP_COUNT_NAMED; /* "huge" in op_names */
    else if (op >= OP_COUNT_NAMED)
        op = (op & 1) ? OP_DEALLOC : OP_ALLOC; /* the common pair gets the spare codes */
    current_cpu = (code >> 4) % NCPU;
    struct slot *s = &slots[slot_sel % SLOTS];
    uint32_t seed = (uint32_t)total_ops * 2654435761u ^ size_sel ^ ((uint32_t)slot_sel << 16);
    size_t size = op == OP_COUNT_NAMED ? ((size_t)size_sel + 1) << 10 : size_of(size_sel);
    if (trace)
        fprintf(stderr, "op %llu: cpu %u %s slot %u size %zu align-sel %u (slot holds %p)\n",
                total_ops, current_cpu, op_names[op], slot_sel % SLOTS, size, align_sel,
                s->kind == EMPTY ? NULL : (void *)s->ptr);
    switch (op) {
    case OP_ALLOC:
    case OP_ALLOC_ALIGNED:
    case OP_ALLOC_ZEROED:
    case OP_COUNT_NAMED: /* huge: out of memory past the heap's size */ {
        release(s, false);
        size_t align = op == OP_COUNT_NAMED ? 8 : align_of(align_sel, op == OP_ALLOC_ALIGNED);
        void *p = op == OP_ALLOC_ZEROED ? ha_alloc_zeroed(size, align) : ha_alloc(size, align);
        adopt(s, p, size, align, seed, op == OP_ALLOC_ZEROED);
        break;
    }
    case OP_REALLOC: {
        if (s->kind != BYTES)
            break;
        verify(s, "before realloc");
        struct slot old = *s;
        void *p = ha_realloc(s->ptr, s->size, s->align, size);
        if (!p) {
            verify(s, "after a failed realloc"); /* the old block is untouched */
            break;
        }
        model_bytes -= old.usable;
        model_blocks--;
        s->kind = EMPTY;
        struct slot moved = { .kind = BYTES, .ptr = p, .size = size, .usable = size,
                              .seed = old.seed };
        verify_prefix(&moved, old.size < size ? old.size : size, "after realloc");
        adopt(s, p, size, old.align, seed, false);
        break;
    }
    case OP_DEALLOC:
    case OP_FREE:
        release(s, op == OP_FREE);
        break;
    case OP_PAGES: {
        release(s, false);
        size_t n = 1 + (size_sel & 15);
        size_t align = (size_t)HA_PAGE_SIZE << (align_sel % 5);
        uint8_t *p = ha_alloc_pages(n, align);
        if (!p) {
            total_null++;
            break;
        }
        if ((uintptr_t)p & (align - 1))
            FAIL("ha_alloc_pages(%zu, %zu) = %p: misaligned", n, align, (void *)p);
        check_no_overlap(s, p, n * HA_PAGE_SIZE);
        *s = (struct slot){ .kind = PAGES, .ptr = p, .size = n, .align = align,
                            .usable = n * HA_PAGE_SIZE, .seed = seed };
        fill(s);
        model_pages += n;
        break;
    }
    case OP_REWRITE:
        if (s->kind != EMPTY) {
            verify(s, "before rewrite");
            s->seed = seed;
            fill(s);
        }
        break;
    case OP_VERIFY:
        if (s->kind != EMPTY) {
            verify(s, "on demand");
            if (s->kind == BYTES && ha_usable_size(s->ptr) != s->usable)
                FAIL("ha_usable_size(%p) changed from %zu to %zu", (void *)s->ptr, s->usable,
                     ha_usable_size(s->ptr));
        }
        if ((align_sel & 7) == 0 && ha_check() != 0) /* a whole-heap walk: now and then */
            FAIL("ha_check() failed mid-input (report above)");
        break;
    case OP_BAD_ALIGN: {
        size_t bad = ((size_t)1 << (align_sel % 12)) * 3; /* never a power of two */
        void *p = ha_alloc(size, bad);
        if (p)
            FAIL("ha_alloc(%zu, %zu) = %p: a non-power-of-two alignment must give NULL", size, bad, p);
        if (s->kind == BYTES && ha_realloc(s->ptr, s->size, bad, size) != 0)
            FAIL("ha_realloc with alignment %zu must give NULL", bad);
        break;
    }
    }
    check_accounting();
}

static void setup(void)
{
    trace = getenv("HA_FUZZ_TRACE") != NULL;
    type_name = getenv("HA_FUZZ_ALLOC");
    if (!type_name || !*type_name)
        type_name = "mi";
    ha_type type;
    if (ha_type_from_name(type_name, &type) != 0) {
        fprintf(stderr, "fuzz: HA_FUZZ_ALLOC=%s: unknown alloc_type (known: %s)\n", type_name,
                ha_type_names());
        exit(2);
    }
    size_t span = HEAP_BYTES + REGION_ALIGN;
    uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) {
        perror("fuzz: mmap");
        exit(2);
    }
    uint8_t *heap = (uint8_t *)(((uintptr_t)raw + REGION_ALIGN - 1) & ~(uintptr_t)(REGION_ALIGN - 1));
    int r = ha_init_flags(type, heap, HEAP_BYTES, NCPU, HA_MEMORY_ZEROED);
    if (r != 0) {
        fprintf(stderr, "fuzz: ha_init(%s) = %d\n", type_name, r);
        exit(2);
    }
    base_bytes = ha_used_bytes();
    base_pages = ha_used_pages();
    struct ha_stats st;
    if (ha_get_stats(HA_ALL_CPUS, &st) != 0) {
        fprintf(stderr, "fuzz: ha_get_stats failed\n");
        exit(2);
    }
    base_allocs = st.allocs;
    base_frees = st.frees;
}

static void report(void)
{
    fprintf(stderr, "fuzz [%s]: %llu inputs, %llu operations checked, %llu out of memory\n", type_name,
            total_inputs, total_ops, total_null);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setup();
    atexit(report);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    total_inputs++;
    for (size_t i = 0; i + 5 <= len; i += 5, total_ops++)
        run_op(data[i], data[i + 1], data[i + 2], (uint16_t)(data[i + 3] | data[i + 4] << 8));
    /* Free everything, each block from a CPU of its own choosing, and require
     * the heap back where it started. */
    for (unsigned i = 0; i < SLOTS; i++) {
        current_cpu = (i * 7 + (unsigned)len) % NCPU;
        release(&slots[i], false);
    }
    check_accounting();
    current_cpu = 0;
    if (ha_check() != 0)
        FAIL("ha_check() failed after the input (report above)");
    return 0;
}
