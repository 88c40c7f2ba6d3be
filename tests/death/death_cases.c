/* death_cases.c - the bad-input matrix (death_cases.h). Every case first
 * makes a little heap traffic so the misuse happens in a heap that is in use,
 * not a pristine one. */
#include "death_cases.h"

#include <stddef.h>
#include <stdint.h>

#include "hartalloc.h"

/* Keep stores and pointers the compiler cannot prove dead. */
static void *volatile sink;

static void warm_up(void)
{
    void *keep[16];
    for (unsigned i = 0; i < 16; i++)
        keep[i] = ha_alloc(16 + 24 * i, 8);
    for (unsigned i = 0; i < 16; i += 2)
        ha_dealloc(keep[i], 16 + 24 * i, 8);
    sink = keep[1];
}

static void double_free(death_note_fn note)
{
    warm_up();
    char *p = ha_alloc(64, 8);
    ha_dealloc(p, 64, 8);
    note(p);
    ha_dealloc(p, 64, 8);
}

static void interior_pointer(death_note_fn note)
{
    warm_up();
    char *p = ha_alloc(256, 16);
    note(p + 48);
    ha_dealloc(p + 48, 256, 16);
}

static char outside_heap[256] __attribute__((aligned(64)));

static void never_allocated_outside(death_note_fn note)
{
    warm_up();
    note(outside_heap + 64);
    ha_dealloc(outside_heap + 64, 64, 8);
}

/* A block-aligned address inside the heap, in a page in use, that was never
 * handed out: far past the live block of a class nobody else uses. */
static void never_allocated_inside(death_note_fn note)
{
    warm_up();
    char *p = ha_alloc(3000, 8);
    char *q = p + 8 * ha_usable_size(p);
    note(q);
    ha_dealloc(q, 3000, 8);
}

static void wrong_size(death_note_fn note)
{
    warm_up();
    char *p = ha_alloc(100, 8);
    note(p);
    ha_dealloc(p, 60, 8);
}

/* An alignment the block does not have: twice its address's lowest set bit. */
static void wrong_alignment(death_note_fn note)
{
    warm_up();
    char *p = ha_alloc(100, 8);
    size_t align = ((uintptr_t)p & -(uintptr_t)p) * 2;
    note(p);
    ha_dealloc(p, 100, align);
}

static void realloc_after_free(death_note_fn note)
{
    warm_up();
    char *p = ha_alloc(80, 8);
    ha_dealloc(p, 80, 8);
    note(p);
    sink = ha_realloc(p, 80, 8, 160);
}

static void write_past_end(death_note_fn note)
{
    warm_up();
    char *p = ha_alloc(100, 8);
    for (unsigned i = 0; i < 100; i++)
        p[i] = (char)i;
    ((volatile char *)p)[100] = 0x5a; /* one byte past the request */
    note(p);
    ha_dealloc(p, 100, 8);
}

/* Writes into a freed block, then allocates the same size until the block
 * comes back (the check fires when it is reused). */
static void reuse_until_fault(char *p, size_t size)
{
    for (unsigned i = 0; i < 100000; i++) {
        char *q = ha_alloc(size, 8);
        if (!q || q == p)
            return; /* reused without a fault (or out of memory): not caught */
    }
}

static void write_after_free(death_note_fn note)
{
    warm_up();
    char *p = ha_alloc(96, 8);
    ha_dealloc(p, 96, 8);
    ((volatile char *)p)[40] = 0x11; /* past the link word */
    note(p);
    reuse_until_fault(p, 96);
}

static void corrupt_free_link(death_note_fn note)
{
    warm_up();
    char *p = ha_alloc(96, 8);
    ha_dealloc(p, 96, 8);
    ((volatile uintptr_t *)p)[0] = (uintptr_t)0x4141414141414141ull; /* the link */
    note(p);
    reuse_until_fault(p, 96);
}

const struct death_case death_cases[] = {
    { "double-free", "ha_dealloc twice", "double free", double_free },
    { "interior-pointer", "ha_dealloc of a pointer inside a block", "interior|not the start", interior_pointer },
    { "never-allocated-outside", "ha_dealloc of a static array outside every heap region",
      "outside|not allocated by hartalloc|not a block of this heap", never_allocated_outside },
    { "never-allocated-inside", "ha_dealloc of a heap address never handed out",
      "never allocated|not a (live )?block|not live|not the start", never_allocated_inside },
    { "wrong-size", "ha_dealloc with a size the block was not allocated with", "size",
      wrong_size },
    { "wrong-alignment", "ha_dealloc with an alignment the block does not have", "align",
      wrong_alignment },
    { "realloc-after-free", "ha_realloc of a freed block", "not live|freed|double free|is free",
      realloc_after_free },
    { "write-past-end", "one byte written past the request, found at free",
      "past the end|overflow|canary", write_past_end },
    { "write-after-free", "a freed block written, found when it is reused",
      "after free|after it was freed", write_after_free },
    { "corrupt-free-link", "a freed block's link overwritten, found before it is followed",
      "link.*corrupt|corrupt.*link|written after it was freed", corrupt_free_link },
};
const unsigned death_case_count = sizeof death_cases / sizeof death_cases[0];
