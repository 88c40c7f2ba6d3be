/* benches.c - every benchmark workload, by name (bench=<name> in the kernel).
 * Add one by defining `const struct th_bench th_bench_<name>` in
 * tests/bench/<name>.c and listing it here. tools/bench/ runs them all. */
#include "harness.h"

extern const struct th_bench th_bench_glibc_thread, th_bench_glibc_simple, th_bench_larson,
    th_bench_mstress, th_bench_xmalloc, th_bench_cache_scratch, th_bench_cache_thrash,
    th_bench_mpsc, th_bench_malloc_large, th_bench_frag, th_bench_churn, th_bench_pair,
    th_bench_worst_remote, th_bench_worst_returned, th_bench_worst_queue, th_bench_worst_pool,
    th_bench_worst_sweep;

const struct th_bench *const th_benches[] = {
    &th_bench_glibc_thread,  /* thread-local: random sizes in a working set      */
    &th_bench_glibc_simple,  /* thread-local: batches of one size                */
    &th_bench_larson,        /* blocks handed between CPUs                       */
    &th_bench_mstress,       /* random alloc/free with transfers                 */
    &th_bench_xmalloc,       /* producers allocate, consumers free               */
    &th_bench_cache_scratch, /* passive false sharing                            */
    &th_bench_cache_thrash,  /* active false sharing                             */
    &th_bench_mpsc,          /* many CPUs free into one CPU's pages              */
    &th_bench_malloc_large,  /* big blocks                                       */
    &th_bench_frag,          /* peak and final memory                            */
    &th_bench_churn,         /* threads that come and go                         */
    &th_bench_pair,          /* alloc + free of 32 bytes: the fast path's cost   */
    /* Not timed: the worst cases of mi's bound (tests/bench/worst_case.c). */
    &th_bench_worst_remote,
    &th_bench_worst_returned,
    &th_bench_worst_queue,
    &th_bench_worst_pool,
    &th_bench_worst_sweep,
};
const unsigned th_bench_count = sizeof th_benches / sizeof th_benches[0];
