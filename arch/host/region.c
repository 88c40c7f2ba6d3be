/*
 * region.c - the host's stand-in for the kernel's static heap: one large
 * reserved address range, handed to the same ha_init path.
 *
 * MAP_NORESERVE keeps a 64 GiB reservation cheap: Linux commits a page when
 * it is first touched, so only memory the allocator uses costs anything, and
 * a fresh mapping reads as zero (hence HA_MEMORY_ZEROED).
 */
#include <stdint.h>
#include <sys/mman.h>

#include "host.h"

/* What ha_host_reserve mapped, for ha_host_reserved: appended, never removed. */
#define MAX_RESERVED 16
static struct { uintptr_t start, end; } reserved[MAX_RESERVED];
static unsigned reserved_count;

static void remember(char *start, size_t size)
{
    unsigned i = __atomic_fetch_add(&reserved_count, 1, __ATOMIC_ACQ_REL);
    if (i >= MAX_RESERVED)
        return; /* only means such memory is not known to read as zero */
    reserved[i].start = (uintptr_t)start;
    __atomic_store_n(&reserved[i].end, (uintptr_t)start + size, __ATOMIC_RELEASE);
}

bool ha_host_reserved(const void *start, size_t size)
{
    unsigned n = __atomic_load_n(&reserved_count, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n && i < MAX_RESERVED; i++) {
        uintptr_t end = __atomic_load_n(&reserved[i].end, __ATOMIC_ACQUIRE);
        if ((uintptr_t)start >= reserved[i].start && (uintptr_t)start + size <= end)
            return true;
    }
    return false;
}

void *ha_host_reserve(size_t size)
{
    const size_t align = HA_HOST_REGION_ALIGN;
    if (size == 0 || size > SIZE_MAX - align)
        return NULL;
    /* mmap only promises 4 KiB alignment: over-map by one alignment unit,
     * then give back the unaligned head and the tail beyond `size`. */
    size_t span = size + align;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *start = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    size_t head = (size_t)(start - raw), tail = span - head - size;
    if (head)
        munmap(raw, head);
    if (tail)
        munmap(start + size, tail);
    remember(start, size);
    return start;
}

size_t ha_host_parse_size(const char *text)
{
    if (!text || !*text)
        return 0;
    unsigned base = 10;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text += 2;
    }
    size_t value = 0;
    const char *p = text;
    for (;; p++) {
        unsigned digit;
        if (*p >= '0' && *p <= '9')
            digit = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            digit = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            digit = (unsigned)(*p - 'A' + 10);
        else
            break;
        if (value > (SIZE_MAX - digit) / base)
            return 0;
        value = value * base + digit;
    }
    if (p == text)
        return 0;
    unsigned shift = 0;
    switch (*p) {
    case '\0': break;
    case 'K': case 'k': shift = 10; p++; break;
    case 'M': case 'm': shift = 20; p++; break;
    case 'G': case 'g': shift = 30; p++; break;
    case 'T': case 't': shift = 40; p++; break;
    default: return 0;
    }
    if (*p != '\0' || (shift && value > (SIZE_MAX >> shift)))
        return 0;
    return value << shift;
}
