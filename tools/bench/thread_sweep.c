/*
 * thread_sweep.c - the thread-count sweep of `make bench` (issue 15, finding
 * 2): T threads, started together, each doing `rounds` rounds of 64 mallocs
 * of sizes 16..520 and 64 frees in the same order. A plain pthread program:
 * the allocator under test comes from LD_PRELOAD.
 *
 *   thread-sweep THREADS TOTAL_ROUNDS
 *
 * The rounds are split evenly over the threads, so every thread count does
 * the same work. Prints
 *   SWEEP threads=T rounds=R ops=N ns=NS cpu_ns=C maxrss_kb=K
 * with ns from the first thread's start of work to the last one's end (each
 * thread reads the clock itself: the main thread may not run again until
 * the workers are done, when threads outnumber cores), C the process's
 * user + system time (on a loaded machine wall time mostly says how much of
 * it the process got; CPU time counts spinning too), and K the
 * peak resident memory (VmHWM: getrusage's ru_maxrss would include the
 * parent's, inherited across fork and exec).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BATCH 64
#define MIN_SIZE 16
#define MAX_SIZE 520

static pthread_barrier_t start;
static unsigned long rounds_each;
static long first_start = -1, last_end; /* ns, CLOCK_MONOTONIC */

static long now_ns(void);

static void *worker(void *arg)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull ^ ((uintptr_t)arg * 0xbf58476d1ce4e5b9ull);
    void *blocks[BATCH];
    pthread_barrier_wait(&start);
    long t0 = now_ns(), seen = -1;
    while ((seen == -1 || t0 < seen) &&
           !__atomic_compare_exchange_n(&first_start, &seen, t0, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
        ;
    for (unsigned long r = 0; r < rounds_each; r++) {
        for (int i = 0; i < BATCH; i++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t n = MIN_SIZE + (size_t)(rng % (MAX_SIZE - MIN_SIZE + 1));
            char *p = malloc(n);
            if (!p) {
                fprintf(stderr, "thread-sweep: malloc(%zu) failed\n", n);
                exit(1);
            }
            p[0] = (char)i; /* touch it, as a user would */
            blocks[i] = p;
        }
        for (int i = 0; i < BATCH; i++)
            free(blocks[i]);
    }
    long t1 = now_ns(), last = __atomic_load_n(&last_end, __ATOMIC_RELAXED);
    while (t1 > last &&
           !__atomic_compare_exchange_n(&last_end, &last, t1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    return NULL;
}

static long peak_resident_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3 || atoi(argv[1]) < 1 || atol(argv[2]) < 1) {
        fprintf(stderr, "usage: thread-sweep THREADS TOTAL_ROUNDS\n");
        return 2;
    }
    unsigned threads = (unsigned)atoi(argv[1]);
    unsigned long total = (unsigned long)atol(argv[2]);
    rounds_each = (total + threads - 1) / threads;
    pthread_t *t = calloc(threads, sizeof *t);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 << 10); /* 1,000 threads fit anywhere */
    pthread_barrier_init(&start, NULL, threads + 1);
    for (unsigned i = 0; i < threads; i++)
        if (pthread_create(&t[i], &attr, worker, (void *)(uintptr_t)i) != 0) {
            fprintf(stderr, "thread-sweep: cannot start thread %u\n", i);
            return 1;
        }
    pthread_barrier_wait(&start);
    for (unsigned i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    long ns = last_end - first_start;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long cpu_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000L +
                  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000L;
    printf("SWEEP threads=%u rounds=%lu ops=%lu ns=%ld cpu_ns=%ld maxrss_kb=%ld\n", threads,
           rounds_each, rounds_each * threads * BATCH * 2, ns, cpu_ns, peak_resident_kib());
    free(t);
    return 0;
}
