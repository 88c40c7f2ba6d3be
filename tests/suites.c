/* suites.c - every test suite, by name (test=<name> in the kernel, --suite on
 * the host). Add a suite by defining `const struct th_suite th_suite_<name>`
 * in its own file and listing it here. */
#include "harness.h"

extern const struct th_suite th_suite_smoke;
extern const struct th_suite th_suite_fail;
extern const struct th_suite th_suite_alloc;
extern const struct th_suite th_suite_soak;
#ifdef __riscv
extern const struct th_suite th_suite_irq_defer; /* kernel/irq_defer_test.c */
#endif

const struct th_suite *const th_suites[] = {
    &th_suite_smoke,
    &th_suite_fail,
    &th_suite_alloc,
    &th_suite_soak,
#ifdef __riscv
    &th_suite_irq_defer,
#endif
};
const unsigned th_suite_count = sizeof th_suites / sizeof th_suites[0];
