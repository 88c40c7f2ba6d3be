/* timer.c - rdtime-based time and the SBI TIME tick (see timer.h). */
#include "timer.h"

#include "cpu.h"
#include "panic.h"
#include "sbi.h"

static uint64_t timebase_hz;   /* /cpus/timebase-frequency              */
static uint64_t tick_interval; /* timebase units between two ticks      */
static uint32_t switch_on;     /* global wish: ticks on (1) or off (0)  */
static void (*tick_handler)(unsigned cpu); /* the kernel's, from timer_init */

void timer_init(uint64_t hz, void (*on_tick)(unsigned cpu))
{
    tick_handler = on_tick;
    if (hz < TIMER_HZ)
        panic("timebase %llu Hz is too slow for a %u Hz tick", (unsigned long long)hz, TIMER_HZ);
    timebase_hz = hz;
    tick_interval = hz / TIMER_HZ;
}

uint64_t time_ns(void)
{
    uint64_t t = rdtime();
    /* split so t * 1e9 cannot overflow (it would after ~30 min at 10 MHz) */
    return t / timebase_hz * 1000000000ull + t % timebase_hz * 1000000000ull / timebase_hz;
}

uint64_t time_ms(void) { return time_ns() / 1000000u; }

static void arm(struct cpu *c, uint64_t when)
{
    c->next_tick = when;
    sbi_set_timer(when);
    csr_set(sie, SIE_STIE);
    c->timer_armed = 1;
}

static void park(struct cpu *c)
{
    csr_clear(sie, SIE_STIE);
    sbi_set_timer(UINT64_MAX); /* also withdraws a pending tick */
    c->timer_armed = 0;
}

void timer_follow(void)
{
    unsigned long flags = irq_save(); /* no tick between the test and the (re)programming */
    struct cpu *c = this_cpu();
    uint32_t on = __atomic_load_n(&switch_on, __ATOMIC_ACQUIRE);
    if (on && !c->timer_armed)
        arm(c, rdtime() + tick_interval);
    else if (!on && c->timer_armed)
        park(c);
    irq_restore(flags);
}

void timer_switch(bool on)
{
    __atomic_store_n(&switch_on, on ? 1u : 0u, __ATOMIC_RELEASE);
    timer_follow();
}

void timer_interrupt(void)
{
    struct cpu *c = this_cpu();
    c->timer_ticks++;
    if (__atomic_load_n(&switch_on, __ATOMIC_ACQUIRE)) {
        uint64_t next = c->next_tick + tick_interval, now = rdtime();
        if (next <= now) /* the hart was descheduled: skip ticks rather than storm */
            next = now + tick_interval;
        arm(c, next);
    } else {
        park(c);
    }
    tick_handler(c->index);
}
