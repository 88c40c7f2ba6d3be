/*
 * preload_victim.c - a plain C program that misuses malloc in one of the ways
 * of death_cases.c, for the death tests of the LD_PRELOAD library
 * (build/host/libhartalloc-checked.so). It prints the pointer it misuses to
 * stdout first; qemu-less twin of death_host.c, run by preload-death.sh.
 *
 *   preload-victim double-free|interior|realloc-after-free|write-past-end|write-after-free
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

static void say(const void *p)
{
    printf("%p\n", p);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    char *volatile p = malloc(100);
    memset(p, 1, 100);
    if (!strcmp(what, "double-free")) {
        free(p);
        say(p);
        free(p);
    } else if (!strcmp(what, "interior")) {
        say(p + 32);
        free(p + 32);
    } else if (!strcmp(what, "realloc-after-free")) {
        free(p);
        say(p);
        sink = realloc(p, 200);
    } else if (!strcmp(what, "write-past-end")) {
        p[100] = 7;
        say(p);
        free(p);
    } else if (!strcmp(what, "write-after-free")) {
        free(p);
        p[50] = 9;
        say(p);
        for (int i = 0; i < 100000; i++) {
            char *q = malloc(100);
            if (q == p)
                break;
        }
    } else {
        fprintf(stderr, "usage: preload-victim double-free|interior|realloc-after-free|"
                        "write-past-end|write-after-free\n");
        return 2;
    }
    return 0; /* not caught */
}
