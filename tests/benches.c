/* benches.c - every benchmark workload, by name (bench=<name> in the kernel).
 * Add one by defining `const struct th_bench th_bench_<name>` in
 * tests/bench/<name>.c and listing it here. */
#include "harness.h"

const struct th_bench *const th_benches[] = {
    0, /* placeholder until the first workload lands; th_bench_count excludes it */
};
const unsigned th_bench_count = 0;
