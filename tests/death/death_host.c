/*
 * death_host.c - the host's death tests: every case of death_cases.c in a
 * forked child over the checked core (-DHA_CHECKED) and the host embedding.
 * The child must stop with SIGABRT (ha_embed_panic) and a stderr line naming
 * the pointer the case noted and matching the case's fault pattern.
 *
 *   death-host --alloc=NAME [--case=NAME]
 *
 * Prints per case  PASS death.<case>[<alloc>] <the panic message>
 *             or   FAIL death.<case>[<alloc>] death_cases.c:0 <what went wrong>
 * and exits 1 when a case failed, 2 for a bad command line.
 */
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "death_cases.h"
#include "ha_format.h"
#include "hartalloc.h"
#include "host.h"

#define HEAP_BYTES ((size_t)64 << 20)
#define CHILD_SECONDS 30

static int note_fd = -1;

/* The child tells the parent which pointer the fault must name, formatted
 * the way ha_fault formats it. */
static void note(const void *ptr)
{
    char line[64];
    int n = ha_format(line, sizeof line, "%p", ptr);
    if (write(note_fd, line, (size_t)n) != n)
        _exit(3);
}

static void child(const struct death_case *c, ha_type type)
{
    alarm(CHILD_SECONDS);
    void *heap = ha_host_reserve(HEAP_BYTES);
    if (!heap || ha_host_slots_init(1) != 0 || ha_host_bind_slot(0) != 0 ||
        ha_init_flags(type, heap, HEAP_BYTES, 1, HA_MEMORY_ZEROED) != 0) {
        fprintf(stderr, "death: cannot set up the heap\n");
        _exit(3);
    }
    c->run(note);
    _exit(0); /* the misuse went unnoticed */
}

static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    return len;
}

/* 0 when the case was caught as it must be. */
static int run_case(const struct death_case *c, ha_type type, const char *alloc)
{
    int err[2], noted[2];
    if (pipe(err) != 0 || pipe(noted) != 0) {
        perror("death: pipe");
        exit(2);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("death: fork");
        exit(2);
    }
    if (pid == 0) {
        close(err[0]);
        close(noted[0]);
        dup2(err[1], 2);
        note_fd = noted[1];
        child(c, type);
    }
    close(err[1]);
    close(noted[1]);
    char ptr[64], out[4096];
    read_all(noted[0], ptr, sizeof ptr);
    read_all(err[0], out, sizeof out);
    close(noted[0]);
    close(err[0]);
    int status;
    waitpid(pid, &status, 0);

    char *line = strstr(out, "hartalloc: pointer ");
    char *end = line ? strchr(line, '\n') : NULL;
    if (end)
        *end = '\0';
    const char *why = NULL;
    char named[96];
    snprintf(named, sizeof named, "hartalloc: pointer %s:", ptr);
    regex_t re;
    if (regcomp(&re, c->fault, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0) {
        fprintf(stderr, "death: bad pattern %s\n", c->fault);
        exit(2);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        why = "not caught: the run went on after the misuse";
    else if (WIFEXITED(status))
        why = "the child failed before the misuse";
    else if (WTERMSIG(status) == SIGALRM)
        why = "the child hung";
    else if (WTERMSIG(status) != SIGABRT)
        why = "stopped by a signal other than the panic's SIGABRT (a crash, not a check)";
    else if (!line)
        why = "stopped without a hartalloc fault message";
    else if (!ptr[0] || strncmp(line, named, strlen(named)) != 0)
        why = "the message does not name the pointer";
    else if (regexec(&re, line, 0, NULL, 0) != 0)
        why = "the message does not name the fault";
    regfree(&re);
    if (why) {
        /* Show what the child said, on one line. */
        for (char *p = out; *p; p++)
            if (*p == '\n')
                *p = ' ';
        printf("FAIL death.%s[%s] death_cases.c:0 %s (pointer %s, expected /%s/; status 0x%x; "
               "stderr: %.300s)\n", c->name, alloc, why, ptr[0] ? ptr : "none", c->fault, status,
               line ? line : out);
        return 1;
    }
    printf("PASS death.%s[%s] %s\n", c->name, alloc, line);
    return 0;
}

int main(int argc, char **argv)
{
    const char *alloc = NULL, *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--alloc=", 8) == 0)
            alloc = argv[i] + 8;
        else if (strncmp(argv[i], "--case=", 7) == 0)
            only = argv[i] + 7;
        else
            alloc = NULL, i = argc;
    }
    ha_type type;
    if (!alloc || ha_type_from_name(alloc, &type) != 0) {
        fprintf(stderr, "usage: death-host --alloc=NAME [--case=NAME]\n  alloc_types: %s\n  cases:",
                ha_type_names());
        for (unsigned i = 0; i < death_case_count; i++)
            fprintf(stderr, " %s", death_cases[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    int failed = 0, ran = 0;
    for (unsigned i = 0; i < death_case_count; i++) {
        if (only && strcmp(only, death_cases[i].name) != 0)
            continue;
        failed += run_case(&death_cases[i], type, alloc);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "death-host: no case named %s\n", only);
        return 2;
    }
    return failed ? 1 : 0;
}
