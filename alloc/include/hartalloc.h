/*
 * hartalloc.h - the public C ABI of hartalloc.
 *
 * Shaped after Rust's GlobalAlloc and ArceOS's axalloc GlobalAllocator, so a
 * Rust kernel links these symbols through `extern "C"`. The header exposes no
 * internal type. All sizes are size_t; every alignment must be a power of two.
 *
 * Semantics shared by every alloc_type (see alloc/README.md for the design):
 *  - ha_alloc(0, a) returns a unique pointer that must be passed to ha_dealloc.
 *  - A non-power-of-two alignment makes the allocating calls return NULL.
 *  - Out of memory returns NULL and leaves the heap consistent; a failed
 *    ha_realloc leaves the old block untouched and still owned by the caller.
 *  - ha_dealloc(p, size, align) must receive the size and alignment the block
 *    was allocated with (Rust's Layout); NULL is ignored.
 */
#ifndef HARTALLOC_H
#define HARTALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The allocator family; HA_MI is the default. Names for ha_type_from_name are
 * given next to each member. */
typedef enum ha_type {
    HA_MI = 0,        /* "mi":         per-CPU free-list-sharded heaps          */
    HA_MI_LOCKED,     /* "mi-locked":  the same heap code, one heap, one lock   */
    HA_TLSF,          /* "tlsf":       two-level segregated fit                 */
    HA_BUDDY,         /* "buddy":      binary buddy                             */
    HA_SLAB,          /* "slab":       size-class slabs over the page allocator */
    HA_FIRST_FIT,     /* "first-fit":  address-ordered free list, first fit     */
    HA_BEST_FIT,      /* "best-fit":   address-ordered free list, best fit      */
    HA_WORST_FIT,     /* "worst-fit":  address-ordered free list, worst fit     */
    HA_TYPE_COUNT
} ha_type;

/* Error codes returned (negated) by ha_init and ha_add_memory. */
enum ha_error {
    HA_OK = 0,
    HA_EINVAL = 1,      /* bad argument: NULL region, zero CPUs, unknown type  */
    HA_ETOOSMALL = 2,   /* region too small for the selected backend           */
    HA_EALIGN = 3,      /* region misaligned for the selected backend          */
    HA_EBUSY = 4,       /* ha_init called twice                                */
    HA_EFULL = 5,       /* no room left to track another region                */
    HA_ENOINIT = 6,     /* ha_add_memory before ha_init                        */
};

/* What an error code means, for messages: ha_error_text(-HA_ETOOSMALL) or
 * ha_error_text(HA_ETOOSMALL) gives "region too small for the selected
 * backend"; an unknown code gives "unknown error". */
const char *ha_error_text(int err);

/* Flags for ha_init_flags / ha_add_memory_flags. */
#define HA_MEMORY_ZEROED 1u /* the region is known to hold only zero bytes     */

#define HA_PAGE_SIZE 4096u  /* unit of the page allocator                      */

/* The limits every part reads (the core, the harness, the runners, the
 * benchmarks): defined here only. */
#define HA_MAX_CPUS 64      /* ncpu of ha_init at most: CPU indices 0..63       */
#define HA_MAX_REGIONS 16   /* ha_init's region plus 15 ha_add_memory regions   */

/* Initialise the allocator of `type` over [start, start+size) for `ncpu` CPUs
 * (CPU indices 0..ncpu-1 as returned by the embedding's ha_embed_cpu_index).
 * 0 on success, -HA_E* otherwise. Must be called once, before any other call. */
int ha_init(ha_type type, void *start, size_t size, unsigned ncpu);
int ha_init_flags(ha_type type, void *start, size_t size, unsigned ncpu, unsigned flags);

/* The ncpu given to ha_init: set before ha_init makes its first call to an
 * embedding hook (an embedding may set itself up then), 0 before ha_init
 * and after a failed one. */
unsigned ha_cpu_count(void);

/* Hand another region to the running allocator. 0 or -HA_E*. */
int ha_add_memory(void *start, size_t size);
int ha_add_memory_flags(void *start, size_t size, unsigned flags);

/* alloc_type names: "mi", "mi-locked", "tlsf", ... 0 on success, -HA_EINVAL
 * for an unknown name. ha_type_name(t) is NULL for an out-of-range t;
 * ha_name() names the running allocator ("" before ha_init). */
int ha_type_from_name(const char *name, ha_type *out);
const char *ha_type_name(ha_type type);
const char *ha_name(void);
/* "mi, mi-locked, tlsf, ..." for error messages listing the valid names. */
const char *ha_type_names(void);

/* GlobalAlloc. */
void *ha_alloc(size_t size, size_t align);
void *ha_alloc_zeroed(size_t size, size_t align);
void ha_dealloc(void *ptr, size_t size, size_t align);
void *ha_realloc(void *ptr, size_t old_size, size_t align, size_t new_size);
size_t ha_usable_size(const void *ptr);

/* malloc-style free for C callers that do not know the layout (the
 * LD_PRELOAD shim): like ha_dealloc without the size/alignment check. */
void ha_free(void *ptr);

/* Page allocator (ArceOS PageAllocator): 4 KiB pages; align_pow2 is the
 * alignment in bytes, a power of two and a multiple of HA_PAGE_SIZE. Pages and
 * byte blocks come from the same memory. */
void *ha_alloc_pages(size_t num_pages, size_t align_pow2);
void ha_dealloc_pages(void *addr, size_t num_pages);

/* Give back what the calling CPU's heap holds without using it: take in the
 * blocks other CPUs freed into its pages, return empty pages and segments to
 * the shared pool. Per-CPU heaps only reclaim such memory when their own CPU
 * allocates, so a kernel calls this where a CPU goes idle. A no-op for the
 * single-lock alloc_types, which hold nothing per CPU. */
void ha_collect(void);

/* Give memory back: the embedding's release thread or timer calls this a
 * while after ha_embed_memory_unused (hartalloc_embed.h). Free segments
 * (4 MiB, and the runs of freed huge blocks) that were already free at the
 * previous call go to ha_embed_release; the others are marked for the next
 * call, so memory that is reused at once is not released and faulted in
 * again. Returns the bytes left for a later call (0: nothing to do until the
 * next ha_embed_memory_unused). Any thread, outside the allocator. Without
 * HA_EMBED_RELEASE in the core's build, and for alloc_types without
 * segments, it does nothing and returns 0. */
size_t ha_release_unused(void);

/* Usage. Byte figures cover ha_alloc blocks (as usable sizes); page figures
 * cover ha_alloc_pages. "available" is what remains in the managed regions. */
size_t ha_used_bytes(void);
size_t ha_available_bytes(void);
size_t ha_used_pages(void);
size_t ha_available_pages(void);

/* Statistics of one CPU (cpu < ncpu), or the sum of all CPUs (cpu = ~0u).
 * Each CPU counts what it did: the *_in_use figures of one CPU go negative
 * when it frees more than it allocated (blocks from other CPUs); their sum
 * over all CPUs is exact. bytes_peak of all CPUs is the sum of per-CPU peaks. */
struct ha_stats {
    uint64_t allocs;          /* blocks handed out (ha_alloc and friends)       */
    uint64_t frees;           /* blocks returned, local and remote              */
    uint64_t remote_frees;    /* frees of blocks owned by another CPU's heap    */
    int64_t bytes_in_use;     /* usable bytes of live blocks (ha_alloc_pages
                               * pages are not counted here: ha_used_pages)     */
    int64_t bytes_peak;       /* high-water mark of bytes_in_use; for mi the
                               * highest bytes_in_use a report has seen         */
    int64_t pages_in_use;     /* allocator pages (e.g. 64 KiB heap pages) held  */
    int64_t segments_in_use;  /* 4 MiB segments held (0 for non-segment types)  */
    /* Memory held for blocks, comparable across alloc_types: bytes_in_use
     * plus what the allocator cannot give to another request of another size
     * (mi: the bytes of its pages and huge runs, empty kept pages included;
     * the single-lock types: their blocks with headers and rounding). */
    int64_t bytes_held;
    int64_t bytes_held_peak;  /* high-water mark of bytes_held                  */
};
#define HA_ALL_CPUS (~0u)
int ha_get_stats(unsigned cpu, struct ha_stats *out);
void ha_print_stats(void);

/* Validate every structure of the running allocator. 0 when every invariant
 * holds; otherwise prints the first broken invariant through the embedding's
 * output hook and returns a negative number. Call only while no other CPU is
 * allocating. */
int ha_check(void);

#ifdef __cplusplus
}
#endif
#endif /* HARTALLOC_H */
