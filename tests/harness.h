/*
 * harness.h - test cases and benchmark workloads written once, run on host
 * threads (arch/host runner) and on harts (kernel/ runner).
 *
 * Every CPU of a run calls th_run_suite() with its own index; each case runs on
 * all CPUs at once, with a barrier before and after it. A case that wants one
 * CPU only returns early on the others. After each case CPU 0 prints
 *     PASS <suite>.<case>
 *     FAIL <suite>.<case> <file>:<line> <reason>
 * and, for suites that use the allocator, runs ha_check(). The runner ends
 * with the closing line "N passed, N failed".
 *
 * The embedding supplies the four th_embed_* functions below.
 */
#ifndef TH_HARNESS_H
#define TH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ha_format.h"

struct th_ctx {
    unsigned cpu;      /* this CPU, 0..ncpu-1                                  */
    unsigned ncpu;     /* CPUs running the case                                */
    uint64_t seed;     /* from seed=<n>; cases derive their own streams from it */
    unsigned scale;    /* work multiplier: 1 in make test, larger for soaks     */
    /* Filled by TH_CHECK on the first failure of this CPU in this case.       */
    bool failed;
    const char *file;
    int line;
    char reason[192];
};

typedef void (*th_case_fn)(struct th_ctx *ctx);

struct th_case {
    const char *name;
    th_case_fn fn;
};

#define TH_SUITE_USES_ALLOCATOR 1u /* run ha_check() after every case        */
#define TH_SUITE_TIMER 2u          /* the kernel enables its periodic timer   */

struct th_suite {
    const char *name;
    const char *what; /* one line for listings                                */
    const struct th_case *cases;
    unsigned count;
    unsigned flags;
};

/* A benchmark workload: run() does the work of this CPU and returns the
 * number of operations it performed; the runner times all CPUs together. */
struct th_bench {
    const char *name;
    const char *what;
    uint64_t (*run)(struct th_ctx *ctx);
};

/* ---- supplied by the embedding ------------------------------------------ */
void th_embed_barrier(void);         /* all ncpu CPUs of the run meet here     */
/* Cases that hand blocks between CPUs meet with th_barrier() (the same thing). */
#define th_barrier() th_embed_barrier()
void th_embed_puts(const char *s);   /* write a string; whole lines stay whole */
uint64_t th_embed_now_ns(void);      /* monotonic time                          */
/* Called by the harness when a case with TH_SUITE_TIMER starts/ends (CPU 0). */
void th_embed_timer(bool on);

/* ---- provided by the harness --------------------------------------------- */
/* Set by a case that wants work done inside the timer interrupt (soak); the
 * kernel's timer handler calls it on the interrupted CPU with interrupts
 * masked, the host may call it from a signal handler. NULL when unused. */
extern void (*_Atomic th_tick_hook)(unsigned cpu); /* atomic: set on one CPU, read in handlers on all */

void th_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void th_fail_at(struct th_ctx *ctx, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Run every case of `suite`; called on every CPU. Returns the number of
 * failed cases (the same on every CPU). Prints the closing line on CPU 0 when
 * `closing` is set. */
unsigned th_run_suite(const struct th_suite *suite, unsigned cpu, unsigned ncpu, uint64_t seed,
                      unsigned scale, bool closing);
/* Run one benchmark on every CPU and print on CPU 0:
 *   BENCH <name> alloc=<ha_name()> cpus=<n> ops=<total> ns=<elapsed> */
void th_run_bench(const struct th_bench *bench, unsigned cpu, unsigned ncpu, uint64_t seed,
                  unsigned scale);

/* Registries (tests/suites.c, tests/benches.c). */
extern const struct th_suite *const th_suites[];
extern const unsigned th_suite_count;
extern const struct th_bench *const th_benches[];
extern const unsigned th_bench_count;
const struct th_suite *th_find_suite(const char *name);
const struct th_bench *th_find_bench(const char *name);
/* Comma-separated names, for "unknown suite" errors. */
void th_list_suites(char *buf, size_t n);
void th_list_benches(char *buf, size_t n);

/* A small, fast PRNG (splitmix64) so cases are reproducible from the seed. */
static inline uint64_t th_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Checks: record the first failure of this CPU and return from the case. */
#define TH_CHECK(ctx, cond)                                                      \
    do {                                                                         \
        if (!(cond)) {                                                           \
            th_fail_at((ctx), __FILE__, __LINE__, "check failed: %s", #cond);    \
            return;                                                              \
        }                                                                        \
    } while (0)

#define TH_CHECK_MSG(ctx, cond, ...)                                             \
    do {                                                                         \
        if (!(cond)) {                                                           \
            th_fail_at((ctx), __FILE__, __LINE__, __VA_ARGS__);                  \
            return;                                                              \
        }                                                                        \
    } while (0)

/* Record a failure but carry on: for code between barriers inside a case,
 * where returning early would leave the other CPUs waiting forever. */
#define TH_EXPECT(ctx, cond)                                                     \
    do {                                                                         \
        if (!(cond))                                                             \
            th_fail_at((ctx), __FILE__, __LINE__, "check failed: %s", #cond);    \
    } while (0)

/* Compare two unsigned values and show both on failure. */
#define TH_CHECK_EQ(ctx, a, b)                                                   \
    do {                                                                         \
        unsigned long long th_a_ = (unsigned long long)(a);                      \
        unsigned long long th_b_ = (unsigned long long)(b);                      \
        if (th_a_ != th_b_) {                                                    \
            th_fail_at((ctx), __FILE__, __LINE__, "%s == %llu, expected %s == %llu", \
                       #a, th_a_, #b, th_b_);                                    \
            return;                                                              \
        }                                                                        \
    } while (0)

#define TH_CASES(arr) (arr), (unsigned)(sizeof(arr) / sizeof((arr)[0]))

#endif /* TH_HARNESS_H */
