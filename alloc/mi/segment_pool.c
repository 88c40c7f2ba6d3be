/*
 * segment_pool.c - carves regions into 4 MiB-aligned segments and hands runs
 * of them to heaps. One spinlock (lock order 2 in mi/types.h) protects the
 * region table and the state of every segment; nothing else is taken inside.
 *
 * Each segment has one 32-bit state word: free (known zero or dirty), the
 * head of a run (with the run length) or a tail (with the distance back to
 * its head). The tail entries let a pointer at a segment boundary inside a
 * huge run (alignments >= 4 MiB) find its head. The head of a huge run is
 * flagged: such a run has no header (its block starts at the run's first
 * byte; its descriptor lives out of line, mi_segment.c), so only a sliced
 * segment's first bytes may be read as a struct mi_segment.
 *
 * Giving memory back (HA_EMBED_RELEASE, hartalloc_embed.h): a dirty free
 * segment carries an age in its count bits. ha_release_unused ages fresh
 * ones and releases those already aged, so a segment is released after it
 * stayed free for one to two of the embedding's periods, not while it is
 * being freed and taken again.
 */
#include "internal.h"
#include "spinlock.h"

enum { SEG_FREE_ZERO = 0, SEG_FREE_DIRTY = 1, SEG_HEAD = 2, SEG_TAIL = 3 };
#define SEG_HUGE 4u /* with SEG_HEAD: a huge run, no header at its start */
#define STATE(kind, n) ((uint32_t)(kind) | ((uint32_t)(n) << 3))
#define STATE_KIND(s) ((s) & 3u)
#define STATE_COUNT(s) ((s) >> 3)
/* Ages of a SEG_FREE_DIRTY segment (its count bits). */
enum { DIRTY_FRESH = 0, DIRTY_AGED = 1, DIRTY_RELEASED = 2 };

struct region {
    uintptr_t base;     /* first segment                                      */
    size_t count;       /* segments                                           */
    size_t first;       /* index of its first segment in `state`              */
};

static ha_spinlock pool_lock;
static struct region regions[HA_MAX_REGIONS];
static unsigned region_count;       /* written under the lock, read acquire   */
static size_t segment_total;        /* entries of `state` in use              */
static size_t segment_free;
static uint32_t state[MI_POOL_MAX_SEGMENTS];
/* A bitmap mirrors which segments are free, so taking one segment (every
 * allocation but a huge block's) scans at most one word per 64 segments
 * instead of every segment's state (alloc/mi/README.md, "Worst-case bound"). */
static uint64_t free_map[MI_POOL_MAX_SEGMENTS / 64]; /* bit i: state[i] is free */

static void map_set(size_t i, size_t n, bool free)
{
    for (size_t k = i; k < i + n; k++) {
        uint64_t bit = 1ull << (k % 64);
        if (free)
            free_map[k / 64] |= bit;
        else
            free_map[k / 64] &= ~bit;
    }
}

static bool map_free(size_t i) { return (free_map[i / 64] >> (i % 64)) & 1; }

uintptr_t mi_pool_secret(void)
{
    /* Not a security boundary: a per-build constant mixed with an address so
     * a stale or forged header rarely matches by accident. */
    return 0x9e3779b97f4a7c15ull ^ (uintptr_t)&pool_lock;
}

void mi_pool_reset(void)
{
    region_count = 0;
    segment_total = segment_free = 0;
    __builtin_memset(free_map, 0, sizeof free_map);
}

int mi_pool_add_region(void *start, size_t size, bool zeroed)
{
    uintptr_t lo = ha_align_up((uintptr_t)start, MI_SEGMENT_SIZE);
    uintptr_t hi = ha_align_down((uintptr_t)start + size, MI_SEGMENT_SIZE);
    if ((uintptr_t)start + size < (uintptr_t)start || hi <= lo)
        return -HA_ETOOSMALL; /* not one whole aligned segment inside */
    unsigned long flags = ha_spin_lock_irqsave(&pool_lock);
    int result = 0;
    size_t n = (hi - lo) >> MI_SEGMENT_SHIFT;
    for (unsigned r = 0; r < region_count && result == 0; r++)
        if (lo < regions[r].base + (regions[r].count << MI_SEGMENT_SHIFT) && regions[r].base < hi)
            result = -HA_EINVAL; /* overlaps a region we already manage */
    if (result == 0 && (region_count == HA_MAX_REGIONS || segment_total == MI_POOL_MAX_SEGMENTS))
        result = -HA_EFULL;
    if (result == 0) {
        if (n > MI_POOL_MAX_SEGMENTS - segment_total)
            n = MI_POOL_MAX_SEGMENTS - segment_total; /* use what we can track */
        for (size_t i = 0; i < n; i++)
            state[segment_total + i] = STATE(zeroed ? SEG_FREE_ZERO : SEG_FREE_DIRTY, 0);
        map_set(segment_total, n, true);
        regions[region_count] = (struct region){ lo, n, segment_total };
        segment_total += n;
        segment_free += n;
        __atomic_store_n(&region_count, region_count + 1, __ATOMIC_RELEASE);
    }
    ha_spin_unlock_irqrestore(&pool_lock, flags);
    return result;
}

/* Take the run of n segments at state index `head` of region `reg`. */
static void *take_run(const struct region *reg, size_t head, size_t n, bool huge, bool *zeroed)
{
    bool all_zero = true;
    for (size_t k = 0; k < n; k++) {
        all_zero &= STATE_KIND(state[reg->first + head + k]) == SEG_FREE_ZERO;
        state[reg->first + head + k] = k == 0 ? STATE(SEG_HEAD, n) | (huge ? SEG_HUGE : 0) : STATE(SEG_TAIL, k);
    }
    map_set(reg->first + head, n, false);
    segment_free -= n;
    *zeroed = all_zero;
    return (void *)(reg->base + (head << MI_SEGMENT_SHIFT));
}

/* One segment: the lowest free one, found in the bitmap. */
static void *alloc_one(bool huge, bool *zeroed)
{
    for (size_t w = 0; w < (segment_total + 63) / 64; w++) {
        if (!free_map[w])
            continue;
        size_t i = w * 64 + (size_t)__builtin_ctzll(free_map[w]);
        for (unsigned r = 0; r < region_count; r++)
            if (i - regions[r].first < regions[r].count)
                return take_run(&regions[r], i - regions[r].first, 1, huge, zeroed);
    }
    return 0;
}

void *mi_pool_alloc(size_t n, bool huge, bool *zeroed)
{
    void *found = 0;
    unsigned long flags = ha_spin_lock_irqsave(&pool_lock);
    if (n == 1 && segment_free)
        found = alloc_one(huge, zeroed);
    /* A run of several segments (a huge block): a first-fit scan of the
     * states; its cost grows with the pool, like the block's own size. */
    for (unsigned r = 0; r < region_count && !found && n > 1 && n <= segment_free; r++) {
        const struct region *reg = &regions[r];
        size_t run = 0;
        for (size_t i = 0; i < reg->count; i++) {
            run = STATE_KIND(state[reg->first + i]) <= SEG_FREE_DIRTY ? run + 1 : 0;
            if (run == n) {
                found = take_run(reg, i + 1 - n, n, huge, zeroed);
                break;
            }
        }
    }
    ha_spin_unlock_irqrestore(&pool_lock, flags);
    return found;
}

static const struct region *region_of(uintptr_t p)
{
    unsigned count = __atomic_load_n(&region_count, __ATOMIC_ACQUIRE);
    for (unsigned r = 0; r < count; r++)
        if (p >= regions[r].base && p - regions[r].base < (regions[r].count << MI_SEGMENT_SHIFT))
            return &regions[r];
    return 0;
}

bool mi_pool_contains(const void *p)
{
    return region_of((uintptr_t)p) != 0;
}

void mi_pool_free(void *run, size_t n)
{
    const struct region *reg = region_of((uintptr_t)run);
    if (!reg)
        ha_fault(run, "segment run outside every region returned to the pool");
    size_t head = ((uintptr_t)run - reg->base) >> MI_SEGMENT_SHIFT;
    unsigned long flags = ha_spin_lock_irqsave(&pool_lock);
    if ((state[reg->first + head] & ~SEG_HUGE) != STATE(SEG_HEAD, n)) {
        ha_spin_unlock_irqrestore(&pool_lock, flags);
        ha_fault(run, "segment run returned twice or with a wrong length");
    }
    for (size_t k = 0; k < n; k++)
        state[reg->first + head + k] = STATE(SEG_FREE_DIRTY, DIRTY_FRESH);
    map_set(reg->first + head, n, true);
    segment_free += n;
    ha_spin_unlock_irqrestore(&pool_lock, flags);
#ifdef HA_EMBED_RELEASE
    ha_embed_memory_unused();
#endif
}

size_t mi_pool_release_unused(void)
{
    size_t waiting = 0;
#ifdef HA_EMBED_RELEASE
    unsigned count = __atomic_load_n(&region_count, __ATOMIC_ACQUIRE);
    for (unsigned r = 0; r < count; r++) {
        const struct region *reg = &regions[r];
        /* One segment per lock hold: an allocation waits for at most one
         * release (one madvise of 4 MiB on the host). */
        for (size_t i = 0; i < reg->count; i++) {
            uint32_t *s = &state[reg->first + i];
            if (__atomic_load_n(s, __ATOMIC_RELAXED) == STATE(SEG_FREE_DIRTY, DIRTY_RELEASED) ||
                STATE_KIND(__atomic_load_n(s, __ATOMIC_RELAXED)) != SEG_FREE_DIRTY)
                continue; /* a hint only: decided again under the lock */
            unsigned long flags = ha_spin_lock_irqsave(&pool_lock);
            if (*s == STATE(SEG_FREE_DIRTY, DIRTY_FRESH)) {
                *s = STATE(SEG_FREE_DIRTY, DIRTY_AGED);
                waiting += MI_SEGMENT_SIZE;
            } else if (*s == STATE(SEG_FREE_DIRTY, DIRTY_AGED)) {
                bool zero = ha_embed_release((void *)(reg->base + (i << MI_SEGMENT_SHIFT)),
                                             MI_SEGMENT_SIZE);
                *s = zero ? STATE(SEG_FREE_ZERO, 0) : STATE(SEG_FREE_DIRTY, DIRTY_RELEASED);
            }
            ha_spin_unlock_irqrestore(&pool_lock, flags);
        }
    }
#endif
    return waiting;
}

void *mi_pool_find_huge(const void *p, size_t *count)
{
    const struct region *reg = region_of((uintptr_t)p);
    if (!reg)
        return 0;
    size_t i = ((uintptr_t)p - reg->base) >> MI_SEGMENT_SHIFT;
    void *head = 0;
    unsigned long flags = ha_spin_lock_irqsave(&pool_lock);
    uint32_t s = state[reg->first + i];
    if (STATE_KIND(s) == SEG_TAIL)
        i -= STATE_COUNT(s);
    s = state[reg->first + i];
    if (STATE_KIND(s) == SEG_HEAD && (s & SEG_HUGE)) {
        head = (void *)(reg->base + (i << MI_SEGMENT_SHIFT));
        *count = STATE_COUNT(s);
    }
    ha_spin_unlock_irqrestore(&pool_lock, flags);
    return head;
}

size_t mi_pool_total_segments(void) { return __atomic_load_n(&segment_total, __ATOMIC_RELAXED); }

/* Every run is well formed, its header is live and the free count adds up. */
int mi_pool_check(void)
{
    size_t free_seen = 0;
    for (unsigned r = 0; r < region_count; r++) {
        const struct region *reg = &regions[r];
        for (size_t i = 0; i < reg->count;) {
            uint32_t s = state[reg->first + i];
            uintptr_t addr = reg->base + (i << MI_SEGMENT_SHIFT);
            if (map_free(reg->first + i) != (STATE_KIND(s) <= SEG_FREE_DIRTY))
                return ha_check_fail("pool: segment %p is %s but the free map says %s", (void *)addr,
                                     map_free(reg->first + i) ? "in use" : "free",
                                     map_free(reg->first + i) ? "free" : "in use");
            if (STATE_KIND(s) <= SEG_FREE_DIRTY) {
                free_seen++;
                i++;
                continue;
            }
            if (STATE_KIND(s) != SEG_HEAD || STATE_COUNT(s) == 0 || i + STATE_COUNT(s) > reg->count)
                return ha_check_fail("pool: segment %p has state %x, expected the head of a run",
                                     (void *)addr, s);
            for (size_t k = 1; k < STATE_COUNT(s); k++)
                if (state[reg->first + i + k] != STATE(SEG_TAIL, k) || map_free(reg->first + i + k))
                    return ha_check_fail("pool: run at %p has a broken tail %zu", (void *)addr, k);
            if (s & SEG_HUGE) {
                if (mi_segment_huge_check((void *)addr, STATE_COUNT(s)) != 0)
                    return -1;
                i += STATE_COUNT(s);
                continue;
            }
            const mi_segment *seg = (const mi_segment *)addr;
            if (STATE_COUNT(s) != 1)
                return ha_check_fail("pool: sliced segment %p heads a run of %u", (void *)addr, STATE_COUNT(s));
            if (seg->cookie != (addr ^ mi_pool_secret()))
                return ha_check_fail("pool: segment %p is in use but its header is not live", (void *)addr);
            if (mi_segment_check_slices(seg) != 0)
                return -1;
            i += STATE_COUNT(s);
        }
    }
    if (free_seen != segment_free)
        return ha_check_fail("pool: %zu free segments counted, %zu recorded", free_seen, segment_free);
    return 0;
}

void mi_pool_for_each_sliced(void (*fn)(const mi_segment *seg, void *arg), void *arg)
{
    unsigned long flags = ha_spin_lock_irqsave(&pool_lock);
    for (unsigned r = 0; r < region_count; r++)
        for (size_t i = 0; i < regions[r].count; i++) {
            const mi_segment *seg = (const mi_segment *)(regions[r].base + (i << MI_SEGMENT_SHIFT));
            uint32_t s = state[regions[r].first + i];
            if (STATE_KIND(s) == SEG_HEAD && !(s & SEG_HUGE))
                fn(seg, arg);
        }
    ha_spin_unlock_irqrestore(&pool_lock, flags);
}

void mi_pool_huge_bytes(int64_t *live, int64_t *held)
{
    *live = *held = 0;
    for (unsigned r = 0; r < region_count; r++)
        for (size_t i = 0; i < regions[r].count; i++) {
            uint32_t s = state[regions[r].first + i];
            if (STATE_KIND(s) != SEG_HEAD || !(s & SEG_HUGE))
                continue;
            const mi_page *page = mi_segment_huge_page((void *)(regions[r].base + (i << MI_SEGMENT_SHIFT)),
                                                      STATE_COUNT(s));
            if (page->in_use)
                *live += (int64_t)page->block_size;
            *held += (int64_t)STATE_COUNT(s) << MI_SEGMENT_SHIFT;
        }
}
