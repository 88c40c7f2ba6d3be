/*
 * static_lib.c - libhartalloc.a used as its header says, by a program that
 * knows nothing of the host hooks (issue 15, finding 1): it includes only
 * hartalloc.h, links only build/host/libhartalloc.a, calls ha_init over a
 * buffer of its own for 2 CPUs and then ha_* from 16 threads at once, with
 * blocks freed by other threads than their allocator. Built with the public
 * include directory only (test-host-static).
 *
 * Prints "PASS host.static-lib.<name>" or "FAIL ... <why>"; exit status 1 on
 * any failure.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hartalloc.h"

#define REGION ((size_t)64 << 20)
#define THREADS 16
#define ROUNDS 4000
#define HANDOFF 64

static int failures;

static void report(const char *name, bool ok, const char *why)
{
    if (ok)
        printf("PASS host.static-lib.%s\n", name);
    else
        printf("FAIL host.static-lib.%s %s\n", name, why);
    failures += !ok;
    fflush(stdout);
}

static unsigned char pattern(uintptr_t tag, size_t i) { return (unsigned char)(tag * 31 + i * 7); }

/* Each thread passes blocks to the next through a mailbox of HANDOFF slots. */
struct mailbox {
    pthread_mutex_t lock;
    void *block[HANDOFF];
    size_t size[HANDOFF];
};
static struct mailbox box[THREADS];
static pthread_barrier_t together;

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (id + 1);
    bool bad = false;
    pthread_barrier_wait(&together); /* all 16 inside the allocator at once */
    for (unsigned r = 0; r < ROUNDS && !bad; r++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t size = 1 + (size_t)(rng % 3000);
        size_t align = (size_t)8 << (rng >> 40) % 4; /* 8 .. 64 */
        unsigned char *p = ha_alloc(size, align);
        if (!p || (uintptr_t)p % align != 0) {
            bad = true;
            break;
        }
        for (size_t i = 0; i < size; i++)
            p[i] = pattern((uintptr_t)p, i);
        for (size_t i = 0; i < size; i++)
            bad |= p[i] != pattern((uintptr_t)p, i);
        if (align != 8) {
            ha_dealloc(p, size, align);
            continue;
        }
        /* Hand it to the next thread's mailbox; free what was there. */
        struct mailbox *m = &box[(id + 1) % THREADS];
        unsigned k = (unsigned)(rng >> 20) % HANDOFF;
        pthread_mutex_lock(&m->lock);
        unsigned char *old = m->block[k];
        size_t old_size = m->size[k];
        m->block[k] = p;
        m->size[k] = size;
        pthread_mutex_unlock(&m->lock);
        if (old) {
            for (size_t i = 0; i < old_size; i++)
                bad |= old[i] != pattern((uintptr_t)old, i);
            ha_dealloc(old, old_size, 8);
        }
    }
    return (void *)(uintptr_t)bad;
}

int main(void)
{
    /* Segments are found by masking, so the region starts on 4 MiB. */
    void *buffer = aligned_alloc((size_t)4 << 20, REGION);
    if (!buffer) {
        fprintf(stderr, "static-lib: no buffer\n");
        return 1;
    }
    int r = ha_init(HA_MI, buffer, REGION, 2);
    report("init", r == 0, "ha_init(HA_MI, 64 MiB, 2 CPUs) failed");
    if (r != 0)
        return 1;
    void *first = ha_alloc(100, 8);
    report("first-alloc", first != NULL, "ha_alloc(100, 8) after ha_init returned NULL");
    ha_dealloc(first, 100, 8);
    /* Before the threads: later the library's release thread may be
     * collecting an idle heap, and ha_check needs every heap quiet. */
    report("check", ha_check() == 0, "ha_check found a broken invariant");

    pthread_t t[THREADS];
    pthread_barrier_init(&together, NULL, THREADS);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_mutex_init(&box[i].lock, NULL);
    for (unsigned i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) != 0) {
            fprintf(stderr, "static-lib: cannot start thread %u\n", i);
            return 1;
        }
    bool bad = false;
    for (unsigned i = 0; i < THREADS; i++) {
        void *result;
        pthread_join(t[i], &result);
        bad |= result != NULL;
    }
    report("threads", !bad, "a block was misaligned, changed, or not allocated, with 16 threads on 2 CPUs");
    for (unsigned i = 0; i < THREADS; i++)
        for (unsigned k = 0; k < HANDOFF; k++)
            if (box[i].block[k])
                ha_dealloc(box[i].block[k], box[i].size[k], 8);
    struct ha_stats all;
    bool counted = ha_get_stats(HA_ALL_CPUS, &all) == 0;
    report("all-freed", counted && all.bytes_in_use == 0 && all.allocs == all.frees,
           "the statistics do not add up to every block freed");
    return failures ? 1 : 0;
}
