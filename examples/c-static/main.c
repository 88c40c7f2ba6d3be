/*
 * main.c - hartalloc as a library: a program that includes hartalloc.h,
 * links libhartalloc.a, hands the allocator a buffer of its own and calls
 * ha_* from a few threads. Nothing else to set up: ha_init is the first and
 * only set-up call.
 *
 *   cc main.c $(pkg-config --cflags --libs hartalloc) -o c-static
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hartalloc.h>

#define REGION ((size_t)64 << 20) /* a multiple of 4 MiB */
#define THREADS 8

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < 10000; i++) {
        size_t size = 16 + (i * 37 + id) % 2000;
        char *p = ha_alloc(size, 16);
        if (!p)
            return (void *)1;
        memset(p, (int)id, size);
        ha_dealloc(p, size, 16); /* Rust's Layout: the size and alignment it was allocated with */
    }
    return NULL;
}

int main(void)
{
    /* Segments are 4 MiB and found by masking: the buffer starts on 4 MiB. */
    void *buffer = aligned_alloc((size_t)4 << 20, REGION);
    if (!buffer || ha_init(HA_MI, buffer, REGION, 2) != 0) {
        fprintf(stderr, "c-static: ha_init failed\n");
        return 1;
    }
    pthread_t t[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
    int failed = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        void *result;
        pthread_join(t[i], &result);
        failed |= result != NULL;
    }
    struct ha_stats all;
    ha_get_stats(HA_ALL_CPUS, &all);
    printf("c-static: %s, %u threads on 2 CPUs, %llu allocations, %llu frees, %lld bytes in use\n",
           ha_name(), THREADS, (unsigned long long)all.allocs, (unsigned long long)all.frees,
           (long long)all.bytes_in_use);
    return failed || all.allocs != all.frees;
}
