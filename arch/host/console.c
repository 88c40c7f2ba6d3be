/*
 * console.c - the contract's output and panic hooks on the host.
 *
 * Both may run inside malloc (a check report, a checked-build fault), so they
 * use write(2) directly: stdio could allocate or take a lock the caller holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hartalloc_embed.h"
#include "host.h"

static int output_fd = 2;

void ha_host_set_output_fd(int fd)
{
    output_fd = fd;
}

void ha_host_write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere left to report to */
        s += w;
        n -= (size_t)w;
    }
}

void ha_embed_puts(const char *s)
{
    int saved = errno; /* the shim promises malloc leaves errno alone on success */
    ha_host_write_all(output_fd, s, strlen(s));
    errno = saved;
}

void ha_embed_panic(const char *message)
{
    /* One write, so the line stays whole when several threads fault. */
    char line[512];
    size_t len = 0;
    const char *parts[] = { "hartalloc panic: ", message };
    for (unsigned i = 0; i < 2; i++)
        for (const char *p = parts[i]; *p && len < sizeof line - 1; p++)
            line[len++] = *p;
    line[len++] = '\n'; /* a long message is cut, never left unterminated */
    ha_host_write_all(2, line, len);
    abort();
}
