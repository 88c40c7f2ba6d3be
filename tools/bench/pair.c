/*
 * pair.c - N malloc(32)+free pairs in one function, for counting the
 * instructions of a small allocation and its free under callgrind
 * (tools/bench/callgrind-pair.sh collects inside pairs() only). Initialisation
 * and first-touch slow paths happen in main, outside pairs().
 *
 *   pair <N> [size]
 */
#include <stdlib.h>

__attribute__((noipa)) void pairs(long n, size_t size)
{
    for (long i = 0; i < n; i++) {
        void *p = malloc(size);
        __asm__ volatile("" : : "r"(p) : "memory"); /* keep the pair */
        free(p);
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    size_t size = argc > 2 ? (size_t)atol(argv[2]) : 32;
    /* A block kept alive across the loop: the page of the pairs never falls
     * empty, so the measure is the steady state, not an allocator's
     * page-retire path (mimalloc's runs on every free of a page's last block). */
    void *anchor = malloc(size);
    __asm__ volatile("" : : "r"(anchor) : "memory");
    pairs(n, size);
    free(anchor);
    return 0;
}
