/* fail.c - a suite whose one case fails on purpose, so every run of
 * `make test` proves a failing case really makes the run fail. */
#include "harness.h"

static void fails_on_purpose(struct th_ctx *ctx)
{
    TH_CHECK_MSG(ctx, 2 + 2 == 5, "this case fails on purpose (2 + 2 != 5)");
}

static const struct th_case fail_cases[] = {
    { "fails_on_purpose", fails_on_purpose },
};

const struct th_suite th_suite_fail = {
    "fail", "one case that fails on purpose (checks the failure path)",
    TH_CASES(fail_cases), 0,
};
