/* smp.c - hart bring-up with SBI HSM (see smp.h). */
#include "smp.h"

#include <stdint.h>

#include "console.h"
#include "cpu.h"
#include "finisher.h"
#include "ha_format.h"
#include "panic.h"
#include "sbi.h"
#include "timer.h"

extern char _start_secondary[]; /* entry.S */

static uint32_t checked_in;              /* harts past cpu_setup, boot hart included */
static void (*volatile released_work)(unsigned cpu); /* set once by smp_release */
static unsigned bringup_ncpu;                        /* CPUs online, boot hart included */

void secondary_main(unsigned long hartid, unsigned index)
{
    cpu_setup(hartid, index);
    __atomic_add_fetch(&checked_in, 1, __ATOMIC_RELEASE);
    cpu_wake(0);
    cpu_wait_until(__atomic_load_n(&released_work, __ATOMIC_ACQUIRE));
    released_work(index);
    cpu_park();
}

static const char *hsm_state(unsigned long hartid)
{
    struct sbiret r = sbi_hart_get_status(hartid);
    if (r.error)
        return "unknown to HSM";
    return r.value == SBI_HSM_STARTED         ? "started"
           : r.value == SBI_HSM_STOPPED       ? "stopped"
           : r.value == SBI_HSM_START_PENDING ? "start pending"
                                              : "in another HSM state";
}

unsigned smp_bring_up(const struct fdt_info *fdt, unsigned max_harts)
{
    unsigned long me = this_cpu()->hartid;
    unsigned limit = max_harts && max_harts < MAX_HARTS ? max_harts : MAX_HARTS;
    unsigned started = 1;
    __atomic_store_n(&checked_in, 1, __ATOMIC_RELAXED); /* the boot hart itself */
    if (fdt->nharts > MAX_HARTS && !max_harts)
        console_printf("smp: the device tree lists %u harts; this kernel runs at most %u\n",
                       fdt->nharts, MAX_HARTS);
    __atomic_store_n(&bringup_open, 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < fdt->nharts && started < limit; i++) {
        unsigned long id = fdt->hartids[i];
        if (id == me)
            continue;
        struct sbiret r = sbi_hart_start(id, (unsigned long)_start_secondary, 0);
        if (r.error)
            die(EXIT_BAD_BOOT, "smp: HSM hart_start of hart %lu failed with SBI error %ld", id,
                r.error);
        started++;
    }
    /* Wait asleep: each hart wakes us as it checks in, and the tick wakes us
     * to look at the deadline. */
    timer_switch(true);
    uint64_t deadline = time_ms() + BRINGUP_TIMEOUT_MS;
    cpu_wait_until(__atomic_load_n(&checked_in, __ATOMIC_ACQUIRE) >= started ||
                   time_ms() > deadline);
    timer_switch(false);
    if (__atomic_load_n(&checked_in, __ATOMIC_ACQUIRE) < started) {
        for (unsigned i = 0; i < fdt->nharts; i++)
            console_printf("smp: hart %lu: HSM state %s\n", fdt->hartids[i],
                           hsm_state(fdt->hartids[i]));
        panic("only %u of %u harts checked in within %u ms (%u entered the kernel)",
              __atomic_load_n(&checked_in, __ATOMIC_ACQUIRE), started, BRINGUP_TIMEOUT_MS,
              __atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE));
    }
    bringup_ncpu = started;
    unsigned late = __atomic_load_n(&cpus_late, __ATOMIC_RELAXED);
    if (late)
        console_printf("smp: %u hart(s) entered at _start, not _start_secondary (OpenSBI 1.1 "
                       "hart_start race); they joined as secondaries\n", late);
    char line[256];
    int len = ha_format(line, sizeof line, "smp: %u of %u harts online:", started, fdt->nharts);
    for (unsigned c = 0; c < started; c++)
        len += ha_format(line + len, sizeof line - (size_t)len, " cpu%u=hart%lu", c,
                         cpus[c].hartid);
    console_printf("%s\n", line);
    return started;
}

void smp_release(void (*work)(unsigned cpu))
{
    __atomic_store_n(&released_work, work, __ATOMIC_RELEASE);
    for (unsigned c = 1; c < bringup_ncpu; c++)
        cpu_wake(c);
}
