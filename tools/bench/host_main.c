/*
 * host_main.c - the host driver of the benchmark workloads: a plain pthread
 * program that runs one workload of tests/benches.c on N threads through the
 * shared harness (th_run_bench), with malloc/free underneath (the workloads
 * are built with -DBENCH_LIBC), so LD_PRELOAD picks the allocator measured.
 *
 *   bench-host <workload> <threads> [scale] [seed]
 *
 * Prints the harness's line
 *   BENCH <name> alloc=<$BENCH_ALLOC or libc> cpus=<n> ops=<n> ns=<n>
 * then
 *   RUSAGE maxrss_kb=<n> utime_us=<n> stime_us=<n>
 * (peak RSS and CPU time of the whole process).
 * Exit status 1 if the workload reported a failure or the arguments are bad.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hartalloc.h"

/* The harness also holds the test-suite runner; this program has no suites
 * and no hartalloc heap to check, only a name for the allocator measured. */
const struct th_suite *const th_suites[1];
const unsigned th_suite_count = 0;
int ha_check(void) { return 0; }
void ha_collect(void) {}
const char *ha_name(void)
{
    const char *name = getenv("BENCH_ALLOC");
    return name && *name ? name : "libc";
}


static pthread_barrier_t barrier;

void th_embed_barrier(void) { pthread_barrier_wait(&barrier); }
void th_embed_timer(bool on) { (void)on; }

/* Collects the output in a pipe-safe way: one write per line, and remembers
 * whether the harness reported a FAIL line. */
static volatile int saw_failure;
void th_embed_puts(const char *s)
{
    size_t len = strlen(s);
    if (strncmp(s, "FAIL ", 5) == 0)
        saw_failure = 1;
    while (len > 0) {
        ssize_t n = write(1, s, len);
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

uint64_t th_embed_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), 0 if absent. */
static size_t proc_status_bytes(const char *field)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    size_t flen = strlen(field);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, field, flen) == 0 && line[flen] == ':')
            return (size_t)strtoull(line + flen + 1, NULL, 10) * 1024; /* "...:  123 kB" */
    return 0;
}

size_t bench_host_rss_bytes(void) { return proc_status_bytes("VmRSS"); }

struct fresh {
    void (*fn)(void *);
    void *arg;
};

static void *fresh_main(void *arg)
{
    struct fresh *f = arg;
    f->fn(f->arg);
    return NULL;
}

void bench_in_fresh_thread(void (*fn)(void *), void *arg)
{
    struct fresh f = { fn, arg };
    pthread_t t;
    if (pthread_create(&t, NULL, fresh_main, &f) != 0) {
        perror("pthread_create");
        exit(1);
    }
    pthread_join(t, NULL);
}

struct worker {
    pthread_t thread;
    const struct th_bench *bench;
    unsigned cpu, ncpu, scale;
    uint64_t seed;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    th_run_bench(w->bench, w->cpu, w->ncpu, w->seed, w->scale);
    return NULL;
}

int main(int argc, char **argv)
{
    char names[512];
    th_list_benches(names, sizeof names);
    if (argc < 3) {
        fprintf(stderr, "usage: %s <workload> <threads> [scale] [seed]\nworkloads: %s\n", argv[0],
                names);
        return 1;
    }
    const struct th_bench *bench = th_find_bench(argv[1]);
    unsigned ncpu = (unsigned)strtoul(argv[2], NULL, 0);
    unsigned scale = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 1;
    uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 0) : 42;
    if (!bench || ncpu == 0 || ncpu > HA_MAX_CPUS) {
        fprintf(stderr, "unknown workload '%s' or bad thread count (workloads: %s)\n", argv[1],
                names);
        return 1;
    }
    pthread_barrier_init(&barrier, NULL, ncpu);
    struct worker workers[HA_MAX_CPUS];
    for (unsigned c = 0; c < ncpu; c++) {
        workers[c] = (struct worker){ .bench = bench, .cpu = c, .ncpu = ncpu, .scale = scale,
                                      .seed = seed };
        if (c > 0 && pthread_create(&workers[c].thread, NULL, worker_main, &workers[c]) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    worker_main(&workers[0]); /* the main thread is CPU 0 */
    for (unsigned c = 1; c < ncpu; c++)
        pthread_join(workers[c].thread, NULL);
    /* Peak RSS from VmHWM, not getrusage's ru_maxrss: Linux carries that one
     * over execve, so it would show the parent's (the runner's) RSS. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("RUSAGE maxrss_kb=%zu utime_us=%ld stime_us=%ld\n", proc_status_bytes("VmHWM") / 1024,
           ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
           ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec);
    return saw_failure ? 1 : 0;
}
