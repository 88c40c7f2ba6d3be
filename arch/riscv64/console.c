/*
 * console.c - serialised output over the SBI legacy console (one ecall per
 * character; OpenSBI turns '\n' into "\r\n").
 *
 * The lock records its owner (CPU index + 1) instead of a plain flag: a panic
 * or an unexpected trap that strikes while its own hart is printing must still
 * get its message out rather than spin forever on a lock it holds.
 */
#include "console.h"

#include <stdarg.h>
#include <stdint.h>

#include "cpu.h"
#include "ha_format.h"
#include "sbi.h"

static uint32_t console_owner; /* 0: free; otherwise CPU index + 1 */

void console_puts(const char *s)
{
    unsigned long flags = irq_save();
    uint32_t me = this_cpu()->index + 1;
    int nested = __atomic_load_n(&console_owner, __ATOMIC_RELAXED) == me;
    if (!nested) {
        uint32_t free = 0;
        while (!__atomic_compare_exchange_n(&console_owner, &free, me, 0, __ATOMIC_ACQUIRE,
                                            __ATOMIC_RELAXED))
            free = 0;
    }
    for (; *s; s++)
        sbi_console_putchar(*s);
    if (!nested)
        __atomic_store_n(&console_owner, 0, __ATOMIC_RELEASE);
    irq_restore(flags);
}

void console_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ha_vformat_puts(console_puts, fmt, ap);
    va_end(ap);
}
