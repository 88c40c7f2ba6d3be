/* harness.c - the shared case and benchmark runner described in harness.h. */
#include "harness.h"

#include <stdarg.h>

#include "hartalloc.h"


/* Per-CPU result slots of the running case; CPU 0 reads them after a barrier. */
static struct th_ctx case_results[HA_MAX_CPUS];
static uint64_t bench_ops[HA_MAX_CPUS];

void (*_Atomic th_tick_hook)(unsigned cpu);

void th_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ha_vformat_puts(th_embed_puts, fmt, ap);
    va_end(ap);
}

void th_fail_at(struct th_ctx *ctx, const char *file, int line, const char *fmt, ...)
{
    if (ctx->failed)
        return; /* keep the first failure: later ones are usually its echo */
    ctx->failed = true;
    ctx->file = file;
    ctx->line = line;
    va_list ap;
    va_start(ap, fmt);
    ha_vformat(ctx->reason, sizeof ctx->reason, fmt, ap);
    va_end(ap);
}

static const char *basename_of(const char *path)
{
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '/')
            b = p + 1;
    return b;
}

unsigned th_run_suite(const struct th_suite *suite, unsigned cpu, unsigned ncpu, uint64_t seed,
                      unsigned scale, bool closing)
{
    static unsigned failed_cases, passed_cases; /* written by CPU 0 only */
    if (ncpu > HA_MAX_CPUS)
        ncpu = HA_MAX_CPUS;
    if (cpu == 0)
        failed_cases = passed_cases = 0;
    for (unsigned i = 0; i < suite->count; i++) {
        const struct th_case *c = &suite->cases[i];
        struct th_ctx *ctx = &case_results[cpu];
        *ctx = (struct th_ctx){ .cpu = cpu, .ncpu = ncpu, .seed = seed ^ (0x51ed27u * (i + 1)),
                                .scale = scale ? scale : 1 };
        if (cpu == 0 && (suite->flags & TH_SUITE_TIMER))
            th_embed_timer(true);
        th_embed_barrier();
        c->fn(ctx);
        th_embed_barrier();
        if (suite->flags & TH_SUITE_USES_ALLOCATOR) {
            /* As a kernel's idle loop would: the next case starts from a
             * settled heap. Only after every CPU has left the case, so a case
             * may still check the heap after its own last barrier. */
            ha_collect();
            th_embed_barrier();
        }
        if (cpu == 0) {
            if (suite->flags & TH_SUITE_TIMER)
                th_embed_timer(false);
            const struct th_ctx *bad = 0;
            for (unsigned k = 0; k < ncpu && !bad; k++)
                if (case_results[k].failed)
                    bad = &case_results[k];
            if (bad) {
                th_printf("FAIL %s.%s %s:%d cpu %u: %s\n", suite->name, c->name,
                          basename_of(bad->file), bad->line, bad->cpu, bad->reason);
            } else if ((suite->flags & TH_SUITE_USES_ALLOCATOR) && ha_check() != 0) {
                th_printf("FAIL %s.%s ha_check: heap invariant broken after the case\n",
                          suite->name, c->name);
                bad = ctx;
            } else {
                th_printf("PASS %s.%s\n", suite->name, c->name);
            }
            if (bad)
                failed_cases++;
            else
                passed_cases++;
        }
        th_embed_barrier();
    }
    if (cpu == 0 && closing)
        th_printf("%u passed, %u failed\n", passed_cases, failed_cases);
    th_embed_barrier();
    unsigned result = failed_cases;
    th_embed_barrier(); /* nobody resets the counters before all have read them */
    return result;
}

void th_run_bench(const struct th_bench *bench, unsigned cpu, unsigned ncpu, uint64_t seed,
                  unsigned scale)
{
    static uint64_t start_ns;
    if (ncpu > HA_MAX_CPUS)
        ncpu = HA_MAX_CPUS;
    struct th_ctx ctx = { .cpu = cpu, .ncpu = ncpu, .seed = seed, .scale = scale ? scale : 1 };
    th_embed_barrier();
    if (cpu == 0)
        start_ns = th_embed_now_ns();
    th_embed_barrier();
    bench_ops[cpu] = bench->run(&ctx);
    th_embed_barrier();
    if (cpu == 0) {
        uint64_t elapsed = th_embed_now_ns() - start_ns, total = 0;
        for (unsigned k = 0; k < ncpu; k++)
            total += bench_ops[k];
        th_printf("BENCH %s alloc=%s cpus=%u ops=%llu ns=%llu\n", bench->name, ha_name(), ncpu,
                  (unsigned long long)total, (unsigned long long)elapsed);
        if (ctx.failed)
            th_printf("FAIL bench.%s %s:%d %s\n", bench->name, basename_of(ctx.file), ctx.line,
                      ctx.reason);
    }
    th_embed_barrier();
}

static void list_names(char *buf, size_t n, const char *(*name_at)(unsigned), unsigned count)
{
    size_t len = 0;
    if (n)
        buf[0] = '\0';
    for (unsigned i = 0; i < count; i++)
        len += (size_t)ha_format(buf + (len < n ? len : n), len < n ? n - len : 0, "%s%s",
                                 i ? ", " : "", name_at(i));
}

static const char *suite_name_at(unsigned i) { return th_suites[i]->name; }
static const char *bench_name_at(unsigned i) { return th_benches[i]->name; }

static bool same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

const struct th_suite *th_find_suite(const char *name)
{
    for (unsigned i = 0; i < th_suite_count; i++)
        if (same(th_suites[i]->name, name))
            return th_suites[i];
    return 0;
}

const struct th_bench *th_find_bench(const char *name)
{
    for (unsigned i = 0; i < th_bench_count; i++)
        if (same(th_benches[i]->name, name))
            return th_benches[i];
    return 0;
}

void th_list_suites(char *buf, size_t n) { list_names(buf, n, suite_name_at, th_suite_count); }
void th_list_benches(char *buf, size_t n) { list_names(buf, n, bench_name_at, th_bench_count); }
