/* finisher.c - stop QEMU through the virt test finisher (see finisher.h). */
#include "finisher.h"

#include <stdint.h>

#include "cpu.h"
#include "sbi.h"

#define VIRT_TEST_FINISHER 0x100000ul
#define FINISHER_PASS 0x5555u
#define FINISHER_FAIL 0x3333u /* | (exit code << 16) */

void finisher_exit(unsigned code)
{
    irq_disable();
    code &= 0xff;
    volatile uint32_t *finisher = (volatile uint32_t *)VIRT_TEST_FINISHER;
    *finisher = code == EXIT_PASS ? FINISHER_PASS : (code << 16) | FINISHER_FAIL;
    /* Still here: a machine without the finisher. SRST at least stops it. */
    sbi_system_reset(SBI_SRST_SHUTDOWN, code ? SBI_SRST_REASON_FAILURE : SBI_SRST_REASON_NONE);
    cpu_park();
}
