/*
 * malloc_shim.c - the C allocation functions over hartalloc, for
 * LD_PRELOAD=build/host/libhartalloc.so: unmodified programs, libc itself
 * and its pthread internals allocate from hartalloc.
 *
 * Environment, read once, on the first allocation:
 *   HARTALLOC_TYPE=<name>   the alloc_type (default mi); an unknown name
 *                           prints the valid ones and exits with status 2
 *   HARTALLOC_REGION=<size> bytes of address space to reserve (default 64G,
 *                           halved until the reservation succeeds)
 *   HARTALLOC_CPUS=<n>      heap slots (default 64); see cpu_slots.c
 *   HARTALLOC_STATS=1       print ha_print_stats() to stderr at exit
 *
 * The first call initialises, on whichever thread makes it, without
 * allocating: getenv, mmap and pthread_key_create do not call malloc.
 *
 * malloc and free first try the lane (hartalloc_lane.h): a thread that owns
 * a slot while mi is active caches its heap and allocates small blocks and
 * frees them with no call into the core. A thread that shares (more threads
 * than leased slots, see cpu_slots.c) uses the lane of the shared slot it
 * holds for the length of one masked section. Everything else, including the
 * first call of each thread, takes the ABI (ha_alloc, ha_free).
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hartalloc.h"
#define HA_LANE_INLINE /* the core's lane bodies inline: a hit pays no call */
#include "hartalloc_lane.h"
#include "host.h"
#include "host_thread.h"

#define MALLOC_ALIGN 16 /* glibc's on x86_64 and riscv64: alignof(max_align_t) */
_Static_assert(MALLOC_ALIGN == HA_LANE_ALIGN, "lane blocks must be malloc-aligned");
#define DEFAULT_REGION ((size_t)64 << 30)
#define MIN_DEFAULT_REGION ((size_t)64 << 20)
#define DEFAULT_CPUS 64u

enum { UNINITIALISED, INITIALISING, READY };
static int init_state;
static bool stats_at_exit;

static void fail_init(const char *what, const char *detail, int status)
{
    static const char prefix[] = "hartalloc: ";
    ha_host_write_all(2, prefix, sizeof prefix - 1);
    ha_host_write_all(2, what, strlen(what));
    ha_host_write_all(2, detail, strlen(detail));
    ha_host_write_all(2, "\n", 1);
    _exit(status); /* not exit(): atexit handlers would call free */
}

static size_t size_from_env(const char *name, size_t fallback)
{
    const char *text = getenv(name);
    if (!text)
        return fallback;
    size_t value = ha_host_parse_size(text);
    if (value == 0)
        fail_init(name, " must be a size such as 65536, 0x4000000, 512M or 64G", 2);
    return value;
}

static void initialise(void)
{
    ha_type type = HA_MI;
    const char *name = getenv("HARTALLOC_TYPE");
    if (name && ha_type_from_name(name, &type) != 0)
        fail_init("unknown HARTALLOC_TYPE; valid names: ", ha_type_names(), 2);
    size_t region_size = size_from_env("HARTALLOC_REGION", 0);
    size_t cpus = size_from_env("HARTALLOC_CPUS", DEFAULT_CPUS);
    const char *stats = getenv("HARTALLOC_STATS");
    stats_at_exit = stats && stats[0] && stats[0] != '0';

    if (cpus > 0xffff || ha_host_slots_init((unsigned)cpus) != 0)
        fail_init("HARTALLOC_CPUS out of range", "", 2);
    void *region;
    if (region_size) {
        region = ha_host_reserve(region_size);
    } else {
        /* The default shrinks where address space is limited (ulimit -v,
         * valgrind); a size the user asked for does not. */
        region_size = DEFAULT_REGION;
        while (!(region = ha_host_reserve(region_size)) && region_size > MIN_DEFAULT_REGION)
            region_size /= 2;
    }
    if (!region)
        fail_init("cannot reserve the region; try a smaller HARTALLOC_REGION", "", 1);
    if (ha_init_flags(type, region, region_size, (unsigned)cpus, HA_MEMORY_ZEROED) != 0)
        fail_init("ha_init failed for HARTALLOC_TYPE ", ha_type_name(type), 1);
}

static void initialise_once(void)
{
    int expected = UNINITIALISED;
    if (__atomic_compare_exchange_n(&init_state, &expected, INITIALISING, false,
                                    __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
        initialise();
        __atomic_store_n(&init_state, READY, __ATOMIC_RELEASE);
        return;
    }
    /* Another thread is initialising; it does not allocate, so this cannot
     * be a recursive call from inside initialise(). */
    while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != READY)
        sched_yield();
}

/* Fast path: one load that is almost always READY. */
static inline void ready(void)
{
    if (__builtin_expect(__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != READY, 0))
        initialise_once();
}

static bool is_pow2(size_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

static void *or_enomem(void *p)
{
    if (!p)
        errno = ENOMEM;
    return p;
}

/* Alignment for memalign and friends: never below malloc's own. */
static void *aligned(size_t align, size_t size)
{
    ready();
    return or_enomem(ha_alloc(size, align < MALLOC_ALIGN ? MALLOC_ALIGN : align));
}

/* After a call through the ABI the thread may own a slot: open its lane. */
static inline void open_lane(void)
{
    struct host_thread *t = &ha_host_self;
    if (__builtin_expect(t->lane == &ha_lane_closed, 0) && t->role == ROLE_OWNER)
        t->lane = ha_lane_open(t->slot);
}

/* Every miss, and every call of a thread without a lane of its own (a
 * sharer): one masked section, in which the thread holds a CPU slot (a
 * shared one for a sharer, locked), so it may use that slot's lane too; a
 * lane miss goes through the ABI, whose own section nests. */
__attribute__((noinline)) static void *malloc_section(size_t size)
{
    unsigned long flags = host_irq_save();
    void *p = ha_lane_alloc(ha_lane_open(ha_host_self.slot), size);
    if (!p)
        p = ha_alloc(size, MALLOC_ALIGN);
    host_irq_restore(flags);
    open_lane();
    return p;
}

__attribute__((noinline)) static void *malloc_slow(size_t size)
{
    ready();
    if (__builtin_expect(ha_host_self.lane == &ha_lane_closed, 0))
        return or_enomem(malloc_section(size));
    return or_enomem(ha_alloc(size, MALLOC_ALIGN)); /* the thread's own lane just missed */
}

void *malloc(size_t size)
{
    void *p = ha_lane_alloc(ha_host_self.lane, size);
    if (__builtin_expect(p != NULL, 1))
        return p;
    return malloc_slow(size);
}

__attribute__((noinline)) static void free_slow(void *ptr)
{
    if (!ptr)
        return;
    ready();
    unsigned long flags = host_irq_save();
    ha_lane *lane = ha_lane_open(ha_host_self.slot);
    /* A closed lane must not look at ptr: it may not be an mi block. */
    if (lane == &ha_lane_closed || (!ha_lane_free(lane, ptr) && !ha_lane_free_remote(lane, ptr)))
        ha_free(ptr);
    host_irq_restore(flags);
    open_lane();
}

/* The lane is open, but ptr is not a fast local free. */
__attribute__((noinline)) static void free_lane_miss(ha_lane *lane, void *ptr)
{
    if (!ha_lane_free_remote(lane, ptr))
        free_slow(ptr);
}

void free(void *ptr)
{
    /* A closed lane must not look at ptr: it may not be an mi block. */
    ha_lane *lane = ha_host_self.lane;
    if (__builtin_expect(lane == &ha_lane_closed, 0))
        free_slow(ptr);
    else if (__builtin_expect(!ha_lane_free(lane, ptr), 0))
        free_lane_miss(lane, ptr);
}

void *calloc(size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    ready();
    return or_enomem(ha_alloc_zeroed(total, MALLOC_ALIGN));
}

/* Not ha_realloc: it needs the size and alignment the block was allocated
 * with, which a C caller does not give (and a memalign'd block has a larger
 * alignment than MALLOC_ALIGN). Blocks that still fit stay where they are. */
void *realloc(void *ptr, size_t size)
{
    if (!ptr)
        return malloc(size);
    if (size == 0) {
        free(ptr); /* glibc's behaviour: the block is freed, NULL returned */
        return NULL;
    }
    ready();
    size_t usable = ha_usable_size(ptr);
    if (size <= usable && size >= usable / 2)
        return ptr;
    void *fresh = ha_alloc(size, MALLOC_ALIGN);
    if (!fresh)
        return or_enomem(NULL); /* the old block stays the caller's */
    memcpy(fresh, ptr, size < usable ? size : usable);
    ha_free(ptr);
    return fresh;
}

void *reallocarray(void *ptr, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, total);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    if (!is_pow2(align) || align % sizeof(void *) != 0)
        return EINVAL;
    int saved = errno; /* posix_memalign reports through its result only */
    void *p = aligned(align, size);
    errno = saved;
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
    if (!is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return aligned(align, size);
}

/* glibc rounds a non-power-of-two alignment up instead of failing. */
void *memalign(size_t align, size_t size)
{
    if (align > ((size_t)1 << (sizeof(size_t) * 8 - 1))) {
        errno = EINVAL;
        return NULL;
    }
    size_t pow2 = 1;
    while (pow2 < align)
        pow2 <<= 1;
    return aligned(pow2, size);
}

void *valloc(size_t size)
{
    return aligned((size_t)sysconf(_SC_PAGESIZE), size);
}

void *pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (size > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    return aligned(page, (size + page - 1) & ~(page - 1));
}

size_t malloc_usable_size(void *ptr)
{
    if (!ptr)
        return 0;
    ready();
    return ha_usable_size(ptr);
}

/* glibc's malloc_trim: give back now what the allocator holds unused. The
 * calling thread's heap retires the empty pages it keeps for reuse (only its
 * owner may; the release thread does it for heaps nobody uses), and free
 * segments are released at once instead of after the release thread's
 * delay (the second call releases what the first one aged). 1 when memory
 * was given back, as glibc's. */
int malloc_trim(size_t pad)
{
    (void)pad;
    if (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != READY)
        return 0;
    ha_collect();
    size_t aged = ha_release_unused();
    ha_release_unused();
    return aged != 0;
}

/* A preloaded library is finalised after the program and its libraries. */
__attribute__((destructor)) static void print_stats_at_exit(void)
{
    if (stats_at_exit && __atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == READY)
        ha_print_stats();
}
