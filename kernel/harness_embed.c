/*
 * harness_embed.c - the kernel side of the test harness's embedding
 * (th_embed_* in tests/harness.h) and the timer tick it can hook.
 */
#include "harness_embed.h"

#include "harness.h"

#include "barrier.h"
#include "console.h"
#include "timer.h"

void th_embed_barrier(void)
{
    barrier_wait();
    /* The harness switches the timer from CPU 0 just before a barrier; each
     * CPU can only program its own timer, so everyone catches up here. */
    timer_follow();
}

void th_embed_puts(const char *s) { console_puts(s); }

uint64_t th_embed_now_ns(void) { return time_ns(); }

void th_embed_timer(bool on) { timer_switch(on); }

void harness_timer_tick(unsigned cpu)
{
    void (*hook)(unsigned) = th_tick_hook;
    if (hook)
        hook(cpu);
}
