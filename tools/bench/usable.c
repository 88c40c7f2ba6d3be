/*
 * usable.c - malloc_usable_size of powers of two and their neighbours, for
 * the usable-size table of docs/bench/report.md: run under LD_PRELOAD of
 * each allocator (tools/bench/usable.sh). Prints "<request> <usable>" lines,
 * or "<request> 0" when malloc returns NULL.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    for (unsigned k = 4; k <= 26; k++) {
        size_t pow = (size_t)1 << k;
        size_t sizes[] = { pow - 1, pow, pow + 1, pow + pow / 2 };
        for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            void *p = malloc(sizes[i]);
            printf("%zu %zu\n", sizes[i], p ? malloc_usable_size(p) : 0);
            free(p);
        }
    }
    return 0;
}
