/* panic.c - report and stop (see panic.h); ha_embed_panic lives in embed.c. */
#include "panic.h"

#include <stdarg.h>

#include "console.h"
#include "cpu.h"
#include "finisher.h"
#include "ha_format.h"

void panic_at(const char *file, int line, const char *fmt, ...)
{
    char msg[320];
    irq_disable(); /* the timer must not run test hooks on a dying hart */
    va_list ap;
    va_start(ap, fmt);
    ha_vformat(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct cpu *c = this_cpu();
    console_printf("PANIC hart %lu cpu %u at %s:%d: %s\n", c->hartid, c->index, file, line, msg);
    finisher_exit(EXIT_PANIC);
}

void die(unsigned code, const char *fmt, ...)
{
    char msg[400];
    irq_disable();
    va_list ap;
    va_start(ap, fmt);
    ha_vformat(msg, sizeof msg, fmt, ap);
    va_end(ap);
    console_printf("error: %s\n", msg);
    finisher_exit(code);
}
