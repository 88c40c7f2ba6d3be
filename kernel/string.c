/*
 * string.c - the four functions GCC may call even in freestanding code
 * (structure copies, zero-initialisers, __builtin_memcpy in the core).
 *
 * no-tree-loop-distribute-patterns: otherwise GCC recognises these very loops
 * as memset/memcpy and compiles them into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>

#define NO_LOOP_TO_CALL __attribute__((optimize("no-tree-loop-distribute-patterns")))

NO_LOOP_TO_CALL void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    uint64_t word = (unsigned char)c * 0x0101010101010101ull;
    while (n && ((uintptr_t)d & 7)) {
        *d++ = (unsigned char)c;
        n--;
    }
    for (; n >= 8; n -= 8, d += 8) /* the heap is zeroed at boot: 64 MiB */
        *(uint64_t *)d = word;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

NO_LOOP_TO_CALL void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0)
        for (; n >= 8; n -= 8, d += 8, s += 8)
            *(uint64_t *)d = *(const uint64_t *)s;
    while (n--)
        *d++ = *s++;
    return dst;
}

NO_LOOP_TO_CALL void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s) {
        for (size_t i = 0; i < n; i++) /* forward: each byte is read before it is overwritten */
            d[i] = s[i];
    } else {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}
