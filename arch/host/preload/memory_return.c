/*
 * memory_return.c - a plain program (no hartalloc linked in) that
 * test-host-preload runs under LD_PRELOAD: freed memory stops being resident
 * (issue 15, finding 3). Resident memory is read from /proc/self/statm.
 *
 *   memory-return          the checks: "PASS preload.memory.<name>" or FAIL
 *
 * Each check also prints a figure line for the benchmark report
 * (tools/bench/run.py memory):
 *   MEMRET <name> start_kb=S peak_kb=P end_kb=E ms=T
 * with T the milliseconds from the last free until resident memory fell
 * within the check's bound (or the whole wait, when it did not).
 *
 *   remote-freed    first, before anything else has run: one thread
 *                   allocates ~64 MiB of 64-byte blocks and exits; 1.5 s
 *                   later (the release thread has swept its heap and
 *                   fallen quiet) the main thread frees every block. No segment becomes
 *                   free by those frees (they wait on the exited thread's
 *                   pages until a sweep collects its heap), so this checks
 *                   that the sweep runs without the core ever having
 *                   reported a free segment: within 5 s, resident memory is
 *                   back within 10% (+ 1 MiB) of the start.
 *   huge-block      malloc(512 MiB), write every page, free: within 3 s
 *                   resident memory is back within 64 MiB of the start.
 *   free-everything 4 threads each allocate ~60 MiB in 16 B..96 KiB blocks,
 *                   a quarter of them freed by another thread, then free
 *                   everything and exit: within 5 s of the last free,
 *                   resident memory is within 10% (+ 256 KiB) of what it
 *                   was before the allocations. A warm-up round first, so
 *                   "before" includes what any program with threads holds
 *                   (glibc's cached thread stacks, the allocator's threads).
 *                   The main thread polls /proc/self/statm meanwhile, and
 *                   each poll's fopen takes a page: the wait also checks
 *                   that such a trickle does not keep a used segment
 *                   resident.
 *
 * The usual figure is about 0.4 s (two periods of the release thread); the
 * limits are generous so that a loaded machine does not fail the check.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int failures;

static long resident_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f || fscanf(f, "%ld %ld", &size, &resident) != 2) {
        fprintf(stderr, "memory-return: cannot read /proc/self/statm\n");
        exit(1);
    }
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Poll until resident memory is at most `bound` or `limit_ms` pass; returns
 * the milliseconds waited and leaves the last reading in *end. */
static long wait_below(long bound, long limit_ms, long *end)
{
    long t0 = now_ms();
    for (;;) {
        *end = resident_kib();
        long waited = now_ms() - t0;
        if (*end <= bound || waited >= limit_ms)
            return waited;
        usleep(20000);
    }
}

static void report(const char *name, bool ok, long start, long peak, long end, long ms,
                   const char *why)
{
    printf("MEMRET %s start_kb=%ld peak_kb=%ld end_kb=%ld ms=%ld\n", name, start, peak, end, ms);
    if (ok) {
        printf("PASS preload.memory.%s\n", name);
    } else {
        printf("FAIL preload.memory.%s %s (start %ld KiB, peak %ld KiB, after %ld ms %ld KiB)\n",
               name, why, start, peak, ms, end);
        failures++;
    }
    fflush(stdout);
}

static void check_huge_block(void)
{
    const size_t size = (size_t)512 << 20;
    long start = resident_kib();
    char *p = malloc(size);
    if (!p) {
        report("huge-block", false, start, 0, 0, 0, "malloc(512 MiB) failed");
        return;
    }
    for (size_t i = 0; i < size; i += 4096)
        p[i] = (char)i;
    long peak = resident_kib();
    if (peak < start + (256L << 10)) { /* some may have been resident already */
        free(p);
        report("huge-block", false, start, peak, peak, 0, "the block never became resident");
        return;
    }
    free(p);
    long end, ms = wait_below(start + (64L << 10), 3000, &end);
    report("huge-block", end <= start + (64L << 10), start, peak, end, ms,
           "still resident 3 s after its free");
}

/* ---- remote-freed --------------------------------------------------------- */
#define REMOTE_BLOCKS (1u << 20) /* 64 MiB of 64-byte blocks */

static void *allocate_remote_blocks(void *arg)
{
    void **blocks = arg;
    for (size_t i = 0; i < REMOTE_BLOCKS; i++) {
        blocks[i] = malloc(64);
        if (!blocks[i])
            exit(3);
        memset(blocks[i], (int)i, 64);
    }
    return NULL;
}

static void check_remote_freed(void)
{
    /* The pointers live outside the allocator, so that giving their 8 MiB
     * back takes no time from the next check. */
    size_t table = REMOTE_BLOCKS * sizeof(void *);
    void **blocks = mmap(NULL, table, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (blocks == MAP_FAILED)
        exit(3);
    memset(blocks, 0, table); /* resident from the start */
    long start = resident_kib();
    pthread_t t;
    if (pthread_create(&t, NULL, allocate_remote_blocks, blocks) != 0)
        exit(3);
    pthread_join(t, NULL);
    long peak = resident_kib();
    /* Long enough for the release thread to sweep the exited thread's heap
     * and fall quiet first: the frees below must wake it again. */
    usleep(1500 * 1000);
    for (size_t i = 0; i < REMOTE_BLOCKS; i++)
        free(blocks[i]);
    long bound = start + start / 10 + 1024;
    long end, ms = wait_below(bound, 5000, &end);
    report("remote-freed", end <= bound, start, peak, end, ms,
           "an exited thread's blocks, freed by another, still resident 5 s later");
    munmap(blocks, table);
}

/* ---- free-everything ------------------------------------------------------ */
#define THREADS 4
#define BLOCKS 12000

struct worker {
    unsigned id;
    size_t blocks;
    void **mine;          /* allocated here, freed here                  */
    void **for_next;      /* allocated here, freed by the next thread    */
    pthread_barrier_t *allocated;
    struct worker *all;
};

static size_t block_size(uint64_t *rng, size_t i)
{
    *rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;
    return 16 + (size_t)(*rng % (i % 16 == 0 ? 96u << 10 : 2000u));
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = 0x2545f4914f6cdd1dull * (w->id + 1);
    size_t quarter = w->blocks / 4;
    for (size_t i = 0; i < w->blocks; i++) {
        size_t n = block_size(&rng, i);
        char *p = malloc(n);
        if (!p)
            exit(3);
        memset(p, (int)i, n);
        if (i < quarter)
            w->for_next[i] = p;
        else
            w->mine[i - quarter] = p;
    }
    pthread_barrier_wait(w->allocated);
    for (size_t i = 0; i < w->blocks - quarter; i++)
        free(w->mine[i]);
    struct worker *prev = &w->all[(w->id + THREADS - 1) % THREADS];
    for (size_t i = 0; i < quarter; i++)
        free(prev->for_next[i]); /* remote frees: another thread's blocks */
    return NULL;
}

static void run_workers(size_t blocks)
{
    struct worker w[THREADS];
    pthread_t t[THREADS];
    pthread_barrier_t allocated;
    pthread_barrier_init(&allocated, NULL, THREADS);
    for (unsigned i = 0; i < THREADS; i++) {
        w[i] = (struct worker){i, blocks, malloc(blocks * sizeof(void *)),
                               malloc(blocks * sizeof(void *)), &allocated, w};
        if (!w[i].mine || !w[i].for_next)
            exit(3);
    }
    for (unsigned i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker_main, &w[i]) != 0)
            exit(3);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (unsigned i = 0; i < THREADS; i++) {
        free(w[i].mine);
        free(w[i].for_next);
    }
    pthread_barrier_destroy(&allocated);
}

static long peak_seen;

static void *sample_peak(void *arg)
{
    volatile int *stop = arg;
    while (!*stop) {
        long r = resident_kib();
        if (r > peak_seen)
            peak_seen = r;
        usleep(5000);
    }
    return NULL;
}

static void check_free_everything(void)
{
    run_workers(64); /* warm-up: threads, stacks, the allocator's own */
    usleep(100000);
    long start = resident_kib();
    volatile int stop = 0;
    pthread_t sampler;
    pthread_create(&sampler, NULL, sample_peak, (void *)&stop);
    run_workers(BLOCKS);
    stop = 1;
    pthread_join(sampler, NULL);
    long bound = start + start / 10 + 256;
    long end, ms = wait_below(bound, 5000, &end);
    report("free-everything", end <= bound, start, peak_seen, end, ms,
           "not back within 10% of the start 5 s after the last free");
}

int main(void)
{
    check_remote_freed(); /* first: it needs a process where nothing has run */
    check_free_everything();
    check_huge_block();
    return failures ? 1 : 0;
}
