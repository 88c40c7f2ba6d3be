/* alloc_util.c - contents patterns, usage snapshots and chained block lists
 * shared by the cases of the `alloc` suite (see alloc_cases.h). */
#include "alloc_cases.h"

/* The 8 pattern bytes at word index k of a block tagged `tag`: never all zero
 * for long, different for every tag and every word. */
static inline uint64_t pattern_word(uint64_t tag, size_t k)
{
    uint64_t x = (tag ^ ((uint64_t)k * 0xd6e8feb86659fd93ull)) * 0x9e3779b97f4a7c15ull;
    return x ^ (x >> 29) ^ 0x5555555555555555ull;
}

static inline uint8_t pattern_byte(uint64_t tag, size_t i)
{
    uint64_t w = pattern_word(tag, i / 8);
    uint8_t b[8];
    __builtin_memcpy(b, &w, 8);
    return b[i % 8];
}

/* Fill or check [from, to) of a block, byte offsets relative to its start. */
static void fill_range(uint8_t *p, size_t from, size_t to, uint64_t tag)
{
    size_t i = from;
    for (; i < to && i % 8; i++)
        p[i] = pattern_byte(tag, i);
    for (; i + 8 <= to; i += 8) {
        uint64_t w = pattern_word(tag, i / 8);
        __builtin_memcpy(p + i, &w, 8);
    }
    for (; i < to; i++)
        p[i] = pattern_byte(tag, i);
}

static size_t verify_range(const uint8_t *p, size_t from, size_t to, uint64_t tag)
{
    size_t i = from;
    for (; i < to && i % 8; i++)
        if (p[i] != pattern_byte(tag, i))
            return i;
    for (; i + 8 <= to; i += 8) {
        uint64_t w;
        __builtin_memcpy(&w, p + i, 8);
        if (w != pattern_word(tag, i / 8))
            break; /* the byte loop below finds the exact offset */
    }
    for (; i < to; i++)
        if (p[i] != pattern_byte(tag, i))
            return i;
    return to;
}

void ta_fill(void *p, size_t n, uint64_t tag) { fill_range(p, 0, n, tag); }

size_t ta_verify(const void *p, size_t n, uint64_t tag) { return verify_range(p, 0, n, tag); }

void ta_fill_ends(void *p, size_t n, uint64_t tag, size_t edge)
{
    if (n <= 2 * edge) {
        fill_range(p, 0, n, tag);
        return;
    }
    fill_range(p, 0, edge, tag);
    fill_range(p, n - edge, n, tag);
}

bool ta_ends_intact(const void *p, size_t n, uint64_t tag, size_t edge)
{
    if (n <= 2 * edge)
        return verify_range(p, 0, n, tag) == n;
    return verify_range(p, 0, edge, tag) == edge && verify_range(p, n - edge, n, tag) == n;
}

bool ta_is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t i = 0;
    for (; i < n && ((uintptr_t)(b + i) & 7); i++)
        if (b[i])
            return false;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        __builtin_memcpy(&w, b + i, 8);
        if (w)
            return false;
    }
    for (; i < n; i++)
        if (b[i])
            return false;
    return true;
}

void ta_usage_now(struct ta_usage *u)
{
    u->used_bytes = ha_used_bytes();
    u->used_pages = ha_used_pages();
    __builtin_memset(&u->stats, 0, sizeof u->stats);
    ha_get_stats(HA_ALL_CPUS, &u->stats);
}

struct ta_node *ta_node_alloc(struct ta_node **list, size_t size, size_t align, uint64_t tag)
{
    struct ta_node *n = ha_alloc(size, align);
    if (!n)
        return 0;
    n->size = size;
    n->align = align;
    n->tag = tag;
    ta_fill_ends((uint8_t *)(n + 1), size - sizeof *n, tag, TA_EDGE);
    n->next = *list;
    *list = n;
    return n;
}

static bool node_intact(const struct ta_node *n)
{
    return n->size >= sizeof *n && ta_aligned(n, n->align) &&
           ta_ends_intact((const uint8_t *)(n + 1), n->size - sizeof *n, n->tag, TA_EDGE);
}

const struct ta_node *ta_list_damaged(const struct ta_node *list)
{
    for (const struct ta_node *n = list; n; n = n->next)
        if (!node_intact(n))
            return n;
    return 0;
}

size_t ta_list_free(struct ta_node *list)
{
    size_t damaged = 0;
    while (list) {
        struct ta_node *next = list->next;
        if (!node_intact(list)) {
            damaged++; /* its size may be garbage: leak it rather than free it */
        } else {
            ha_dealloc(list, list->size, list->align);
        }
        list = next;
    }
    return damaged;
}

size_t ta_exhaust(struct ta_node **list, size_t from, size_t to, uint64_t tag, size_t limit,
                  size_t *count)
{
    size_t total = 0, n = 0;
    for (size_t size = from; size >= to && n < limit; size /= 2) {
        struct ta_node *b;
        while (n < limit && (b = ta_node_alloc(list, size, TA_NODE_ALIGN, tag + n))) {
            total += ha_usable_size(b);
            n++;
        }
    }
    *count = n;
    return total;
}
