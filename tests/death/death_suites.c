/*
 * death_suites.c - the registry of the checked test kernel (make
 * kernel-checked): one suite `death-<case>` per case of death_cases.c and
 * nothing else, so `test=death-double-free` boots straight into one misuse.
 * (The normal kernel's registry, tests/suites.c, is not linked into it.)
 *
 * The suite prints
 *     death: pointer 0x... expect /<fault pattern>/
 * and then misbehaves; the kernel must panic with ha_fault's message naming
 * that pointer (tests/death/qemu-death.sh checks the log). A case that
 * returns was not caught: it fails.
 */
#include "death_cases.h"
#include "harness.h"

static const struct death_case *running;

static void note(const void *ptr)
{
    th_printf("death: pointer %p expect /%s/\n", ptr, running->fault);
}

static bool same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static void run_named(struct th_ctx *ctx, const char *name)
{
    if (ctx->cpu != 0)
        return;
    running = 0;
    for (unsigned i = 0; i < death_case_count; i++)
        if (same(death_cases[i].name, name))
            running = &death_cases[i];
    TH_CHECK_MSG(ctx, running != 0, "no death case named %s", name);
    running->run(note);
    th_fail_at(ctx, __FILE__, __LINE__, "not caught: %s went on unnoticed", running->what);
}

#define DEATH_SUITE(var, name)                                                    \
    static void var##_case(struct th_ctx *ctx) { run_named(ctx, name); }          \
    static const struct th_case var##_cases[] = { { "caught", var##_case } };     \
    static const struct th_suite var = { "death-" name, "checked build stops: " name, \
                                         TH_CASES(var##_cases), 0 }

DEATH_SUITE(double_free, "double-free");
DEATH_SUITE(interior_pointer, "interior-pointer");
DEATH_SUITE(never_allocated_outside, "never-allocated-outside");
DEATH_SUITE(never_allocated_inside, "never-allocated-inside");
DEATH_SUITE(wrong_size, "wrong-size");
DEATH_SUITE(wrong_alignment, "wrong-alignment");
DEATH_SUITE(realloc_after_free, "realloc-after-free");
DEATH_SUITE(write_past_end, "write-past-end");
DEATH_SUITE(write_after_free, "write-after-free");
DEATH_SUITE(corrupt_free_link, "corrupt-free-link");

const struct th_suite *const th_suites[] = {
    &double_free, &interior_pointer, &never_allocated_outside, &never_allocated_inside,
    &wrong_size, &wrong_alignment, &realloc_after_free, &write_past_end, &write_after_free,
    &corrupt_free_link,
};
const unsigned th_suite_count = sizeof th_suites / sizeof th_suites[0];
