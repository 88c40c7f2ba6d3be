/*
 * runner.c - hartalloc-test, the host runner of the shared suites and
 * benchmarks (tests/harness.h): test CPU i is a thread bound to heap slot i.
 *
 *   hartalloc-test --alloc=NAME --cpus=N --suite=NAME [--seed=N] [--scale=N] [--heap=BYTES]
 *   hartalloc-test --alloc=NAME --cpus=N --bench=NAME [...]
 *   hartalloc-test --list-allocs | --list-suites | --list-allocator-suites | --list-benches
 *
 * Like the kernel, it hands ha_init a fixed region (64 MiB unless --heap), so
 * out-of-memory cases hit a real limit. Exit status: 0 when every case
 * passed, 1 when one failed, 2 for a bad command line (with the valid names).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hartalloc.h"
#include "hartalloc_embed.h"
#include "host.h"
#include "runner.h"

#define DEFAULT_HEAP ((size_t)64 << 20)

struct options {
    const char *alloc, *suite, *bench, *heap;
    unsigned long cpus, scale;
    unsigned long long seed;
};

static pthread_barrier_t barrier;
static struct options opt;
static unsigned failed_cases;

void th_embed_barrier(void)
{
    pthread_barrier_wait(&barrier);
}

/* One write per string: lines of concurrent CPUs never interleave. */
void th_embed_puts(const char *s)
{
    ha_host_write_all(1, s, strlen(s));
}

uint64_t th_embed_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void run_cpu(unsigned cpu)
{
    runner_timer_register(cpu);
    if (opt.suite) {
        const struct th_suite *suite = th_find_suite(opt.suite);
        unsigned failed = th_run_suite(suite, cpu, (unsigned)opt.cpus, opt.seed,
                                       (unsigned)opt.scale, true);
        if (cpu == 0)
            failed_cases = failed;
    } else {
        th_run_bench(th_find_bench(opt.bench), cpu, (unsigned)opt.cpus, opt.seed,
                     (unsigned)opt.scale);
    }
}

static void *cpu_thread(void *arg)
{
    unsigned cpu = (unsigned)(uintptr_t)arg;
    if (ha_host_bind_slot(cpu) != 0)
        ha_embed_panic("runner: cannot bind a test CPU to its slot");
    run_cpu(cpu);
    return NULL;
}

static void usage_error(const char *what, const char *valid)
{
    fprintf(stderr, "hartalloc-test: %s%s\n", what, valid);
    fprintf(stderr, "usage: hartalloc-test --alloc=NAME --cpus=N (--suite=NAME | --bench=NAME)"
                    " [--seed=N] [--scale=N] [--heap=BYTES]\n"
                    "       hartalloc-test --list-allocs | --list-suites |"
                    " --list-allocator-suites | --list-benches\n");
    exit(2);
}

static bool number(const char *text, unsigned long long *out)
{
    char *end;
    errno = 0;
    *out = strtoull(text, &end, 0);
    return errno == 0 && *text && *end == '\0';
}

static void list(const char *which)
{
    if (strcmp(which, "allocs") == 0) {
        for (int t = 0; t < HA_TYPE_COUNT; t++)
            printf("%s\n", ha_type_name((ha_type)t));
    } else if (strcmp(which, "suites") == 0 || strcmp(which, "allocator-suites") == 0) {
        bool allocator_only = which[0] == 'a';
        for (unsigned i = 0; i < th_suite_count; i++)
            if (!allocator_only || (th_suites[i]->flags & TH_SUITE_USES_ALLOCATOR))
                printf("%s\n", th_suites[i]->name);
    } else if (strcmp(which, "benches") == 0) {
        for (unsigned i = 0; i < th_bench_count; i++)
            printf("%s\n", th_benches[i]->name);
    } else {
        usage_error("unknown listing --list-", which);
    }
    exit(0);
}

static void parse(int argc, char **argv)
{
    opt = (struct options){ .alloc = "mi", .cpus = 1, .scale = 1, .seed = 1 };
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i], *value = strchr(arg, '=');
        unsigned long long n = 0;
        if (strncmp(arg, "--list-", 7) == 0)
            list(arg + 7);
        if (!value || strncmp(arg, "--", 2) != 0)
            usage_error("bad argument: ", arg);
        *value++ = '\0';
        bool numeric = number(value, &n);
        if (strcmp(arg, "--alloc") == 0)
            opt.alloc = value;
        else if (strcmp(arg, "--suite") == 0)
            opt.suite = value;
        else if (strcmp(arg, "--bench") == 0)
            opt.bench = value;
        else if (strcmp(arg, "--heap") == 0)
            opt.heap = value;
        else if (strcmp(arg, "--cpus") == 0 && numeric && n >= 1 && n <= HA_MAX_CPUS)
            opt.cpus = (unsigned long)n;
        else if (strcmp(arg, "--scale") == 0 && numeric && n >= 1 && n <= 1000000)
            opt.scale = (unsigned long)n;
        else if (strcmp(arg, "--seed") == 0 && numeric)
            opt.seed = n;
        else
            usage_error("bad option or value: ", arg);
    }
    char names[1024];
    if (!opt.suite == !opt.bench)
        usage_error("give exactly one of --suite and --bench", "");
    if (opt.suite && !th_find_suite(opt.suite)) {
        th_list_suites(names, sizeof names);
        usage_error("unknown suite; valid names: ", names);
    }
    if (opt.bench && !th_find_bench(opt.bench)) {
        th_list_benches(names, sizeof names);
        usage_error("unknown benchmark; valid names: ", names);
    }
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    ha_type type;
    if (ha_type_from_name(opt.alloc, &type) != 0)
        usage_error("unknown alloc type; valid names: ", ha_type_names());
    size_t heap = opt.heap ? ha_host_parse_size(opt.heap) : DEFAULT_HEAP;
    if (heap == 0 || heap % HA_HOST_REGION_ALIGN != 0)
        usage_error("--heap must be a multiple of 4 MiB: ", opt.heap);

    void *region = ha_host_reserve(heap);
    if (!region) {
        fprintf(stderr, "hartalloc-test: cannot reserve %zu bytes\n", heap);
        return 1;
    }
    unsigned ncpu = (unsigned)opt.cpus;
    ha_host_set_output_fd(1); /* ha_check reports next to the FAIL lines */
    if (ha_host_slots_init(ncpu) != 0 || ha_host_bind_slot(0) != 0) {
        fprintf(stderr, "hartalloc-test: cannot set up %u CPU slots\n", ncpu);
        return 1;
    }
    int r = ha_init_flags(type, region, heap, ncpu, HA_MEMORY_ZEROED);
    if (r != 0) {
        fprintf(stderr, "hartalloc-test: ha_init(%s, %zu bytes, %u cpus) failed: %d\n",
                opt.alloc, heap, ncpu, r);
        return 1;
    }
    pthread_barrier_init(&barrier, NULL, ncpu);

    /* This thread is CPU 0: it prints the results, as CPU 0 does in the kernel. */
    pthread_t threads[HA_MAX_CPUS];
    for (unsigned cpu = 1; cpu < ncpu; cpu++) {
        if (pthread_create(&threads[cpu], NULL, cpu_thread, (void *)(uintptr_t)cpu) != 0) {
            fprintf(stderr, "hartalloc-test: cannot start thread %u\n", cpu);
            return 1;
        }
    }
    run_cpu(0);
    for (unsigned cpu = 1; cpu < ncpu; cpu++)
        pthread_join(threads[cpu], NULL);
    return failed_cases ? 1 : 0;
}
