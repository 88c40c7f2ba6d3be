/* bootargs.c - parse the kernel command line (see bootargs.h). */
#include "bootargs.h"

#include <stdbool.h>

#include "finisher.h"
#include "panic.h"

#define CMDLINE_MAX 512

static bool streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Decimal or 0x-prefixed hexadecimal, nothing else. */
static bool parse_number(const char *s, uint64_t *out)
{
    unsigned base = 10;
    uint64_t v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d = *s >= '0' && *s <= '9'   ? (unsigned)(*s - '0')
                     : *s >= 'a' && *s <= 'f' ? (unsigned)(*s - 'a' + 10)
                     : *s >= 'A' && *s <= 'F' ? (unsigned)(*s - 'A' + 10)
                                              : 99;
        if (d >= base || v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

static uint64_t number_arg(const char *key, const char *value, uint64_t min, uint64_t max)
{
    uint64_t v;
    if (!parse_number(value, &v) || v < min || v > max)
        die(EXIT_BAD_BOOT, "boot argument %s=%s: expected a number in %llu..%llu", key, value,
            (unsigned long long)min, (unsigned long long)max);
    return v;
}

static void apply(char *word, struct boot_args *out, bool *suite_given)
{
    char *value = word;
    while (*value && *value != '=')
        value++;
    if (*value != '=')
        die(EXIT_BAD_BOOT, "boot argument '%s' is not key=value; valid keys: alloc, test, "
                           "bench, harts, heapcpus, seed, scale, latency", word);
    *value++ = '\0';
    char names[256];
    if (streq(word, "alloc")) {
        if (ha_type_from_name(value, &out->alloc) != 0)
            die(EXIT_BAD_BOOT, "unknown alloc_type '%s'; valid: %s", value, ha_type_names());
    } else if (streq(word, "test")) {
        out->suite = th_find_suite(value);
        *suite_given = true;
        if (!out->suite) {
            th_list_suites(names, sizeof names);
            die(EXIT_BAD_BOOT, "unknown test suite '%s'; valid: %s", value, names);
        }
    } else if (streq(word, "bench")) {
        out->bench = th_find_bench(value);
        if (!out->bench) {
            th_list_benches(names, sizeof names);
            die(EXIT_BAD_BOOT, "unknown benchmark '%s'; valid: %s", value,
                names[0] ? names : "(none registered)");
        }
    } else if (streq(word, "harts")) {
        out->harts = (unsigned)number_arg(word, value, 1, 1u << 20);
    } else if (streq(word, "heapcpus")) {
        out->heap_cpus = (unsigned)number_arg(word, value, 1, 1u << 20);
    } else if (streq(word, "seed")) {
        out->seed = number_arg(word, value, 0, UINT64_MAX);
    } else if (streq(word, "scale")) {
        out->scale = (unsigned)number_arg(word, value, 1, 1u << 20);
    } else if (streq(word, "latency")) {
        out->latency = number_arg(word, value, 0, 1) != 0;
    } else {
        die(EXIT_BAD_BOOT, "unknown boot argument '%s=%s'; valid: alloc=<type> test=<suite> "
                           "bench=<name> harts=<n> heapcpus=<n> seed=<n> scale=<n> latency=<0|1>", word, value);
    }
}

void bootargs_parse(const char *cmdline, struct boot_args *out)
{
    static char buf[CMDLINE_MAX]; /* words are cut in place; suite names point into it */
    bool suite_given = false;
    *out = (struct boot_args){ .alloc = HA_MI, .seed = 1, .scale = 1 };
    unsigned n = 0;
    for (const char *s = cmdline ? cmdline : ""; *s; s++) {
        if (n == CMDLINE_MAX - 1)
            die(EXIT_BAD_BOOT, "boot arguments longer than %u bytes", CMDLINE_MAX - 1);
        buf[n++] = *s;
    }
    buf[n] = '\0';
    for (char *p = buf; *p;) {
        if (*p == ' ' || *p == '\t' || *p == '\n') {
            p++;
            continue;
        }
        char *word = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
        if (*p)
            *p++ = '\0';
        apply(word, out, &suite_given);
    }
    if (!suite_given && !out->bench)
        out->suite = th_find_suite("smoke");
}
