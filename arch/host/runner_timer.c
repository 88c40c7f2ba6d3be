/*
 * runner_timer.c - th_embed_timer on the host: a periodic "timer interrupt"
 * on every test CPU, like the kernel's per-hart timer.
 *
 * While a TH_SUITE_TIMER case runs, a ticker thread sends SIGTICK to each
 * test CPU's thread every TICK_NS. The signal handler is the interrupt entry:
 * ha_host_irq_raise() runs th_tick_hook(cpu) at once when the thread was
 * outside the allocator, and defers it to the thread's outermost
 * ha_embed_irq_restore when it was inside (cpu_slots.c): the host's version
 * of a masked sstatus.SIE. So work done in the "interrupt" lands between two
 * heap operations of its CPU, never within one, exactly as on a hart.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "hartalloc.h"
#include "hartalloc_embed.h"
#include "host.h"
#include "runner.h"

#define TICK_NS 1000000L /* 1 kHz, per CPU                                */
#define SIGTICK SIGUSR2

/* CPUs register in any order, possibly while a timer case already ticks:
 * the flag, set with release after the thread id, says which ids are valid. */
static pthread_t cpu_threads[HA_MAX_CPUS];
static int registered[HA_MAX_CPUS];
static pthread_t ticker;
static int ticking;

void runner_timer_register(unsigned cpu)
{
    cpu_threads[cpu] = pthread_self();
    __atomic_store_n(&registered[cpu], 1, __ATOMIC_RELEASE);
}

static void on_tick_signal(int sig)
{
    int saved = errno;
    ha_host_irq_raise();
    errno = saved;
}

static void run_tick_hook(unsigned cpu)
{
    void (*hook)(unsigned) = th_tick_hook;
    if (hook)
        hook(cpu);
}

static void *tick_loop(void *unused)
{
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (__atomic_load_n(&ticking, __ATOMIC_ACQUIRE)) {
        next.tv_nsec += TICK_NS;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        for (unsigned cpu = 0; cpu < HA_MAX_CPUS; cpu++)
            if (__atomic_load_n(&registered[cpu], __ATOMIC_ACQUIRE))
                pthread_kill(cpu_threads[cpu], SIGTICK);
    }
    return NULL;
}

/* Called by CPU 0 only, before a timer case's opening barrier and after its
 * closing one, so every CPU thread is alive while ticks are sent. */
void th_embed_timer(bool on)
{
    static bool installed;
    if (on && !installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_tick_signal;
        sa.sa_flags = SA_RESTART; /* barriers and writes carry on after a tick */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTICK, &sa, NULL);
        ha_host_set_irq_handler(run_tick_hook);
        installed = true;
    }
    if (on && !__atomic_load_n(&ticking, __ATOMIC_RELAXED)) {
        __atomic_store_n(&ticking, 1, __ATOMIC_RELEASE);
        if (pthread_create(&ticker, NULL, tick_loop, NULL) != 0)
            ha_embed_panic("runner: cannot start the timer thread"); /* never a silent tickless run */
    } else if (!on && __atomic_load_n(&ticking, __ATOMIC_RELAXED)) {
        __atomic_store_n(&ticking, 0, __ATOMIC_RELEASE);
        pthread_join(ticker, NULL);
    }
}
