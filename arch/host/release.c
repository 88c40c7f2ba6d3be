/*
 * release.c - memory given back to the kernel: the host's side of the
 * core's optional release hooks (HA_EMBED_RELEASE, hartalloc_embed.h).
 *
 * When a segment becomes free the core calls ha_embed_memory_unused. The
 * first time, that asks for a release thread, started at the end of the
 * caller's masked section (PENDING_RELEASE: pthread_create allocates, which
 * it may do there and nowhere inside). The thread sleeps until there is
 * work, then calls ha_release_unused every RELEASE_PERIOD_MS until nothing
 * is left: a segment free at one call and still free at the next goes to
 * ha_embed_release, which drops its pages with madvise(MADV_DONTNEED). So a
 * freed segment stops being resident 1 to 2 periods after its free, and one
 * that is freed and taken again meanwhile (a heap's churn) never is. Each
 * round first collects the heaps that were used but nobody uses now
 * (cpu_slots.c): an exited thread's heap still holds its kept empty pages
 * and the blocks other threads freed into it after it exited. The rounds go
 * on until QUIET_ROUNDS pass with nothing to do. Then it sleeps until asked
 * again, or, while idle heaps exist, at most 1, 2, 4 ... 32 s: another
 * thread's free into an idle heap asks for nothing (a remote free never
 * leaves the core), so an exited thread's blocks freed after the rounds
 * ended are collected at the next of those looks.
 *
 * The thread blocks every signal (a program's signals are for its threads),
 * holds no slot (ROLE_SERVICE: it only takes the pool lock), and does not
 * survive fork: the child starts its own when it frees a segment.
 */
#define _GNU_SOURCE
#define HA_EMBED_RELEASE 1 /* the declarations; the core is built with it too */
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hartalloc.h"
#include "hartalloc_embed.h"
#include "host.h"
#include "host_thread.h"

#define RELEASE_PERIOD_MS 200
#define QUIET_ROUNDS 3 /* sweeps after the last activity: late frees into idle heaps */
#define IDLE_LOOK_FIRST_MS 1000 /* then doubling, while idle heaps exist */
#define IDLE_LOOK_MAX_MS 32000

enum { THREAD_NONE, THREAD_STARTING, THREAD_RUNNING, THREAD_FAILED };
static int thread_state;
static uint32_t work_wanted; /* futex word: a segment was freed since the thread last looked */
/* Whether there may be memory to give back: the core has reported a free
 * segment (HA_EMBED_RELEASE), or a second thread has entered the allocator.
 * The second matters because a program's segments need not ever become
 * free by its own frees: an idle heap's kept empty pages and the blocks
 * other threads freed into it pin them until a sweep collects that heap. */
static bool may_release;

/* Sleep while *word == value, at most timeout_ms (0: no limit). */
static void futex_wait(uint32_t *word, uint32_t value, unsigned timeout_ms)
{
    struct timespec limit = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, timeout_ms ? &limit : NULL, NULL, 0);
}

static void futex_wake(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *release_main(void *arg)
{
    (void)arg;
    ha_host_become_service();
    const struct timespec period = {0, RELEASE_PERIOD_MS * 1000000L};
    unsigned look_ms = 0; /* 0: no idle heap, sleep until asked */
    for (;;) {
        if (__atomic_load_n(&work_wanted, __ATOMIC_ACQUIRE) == 0)
            futex_wait(&work_wanted, 0, look_ms); /* woken, timed out or spurious: sweep */
        bool asked = __atomic_exchange_n(&work_wanted, 0u, __ATOMIC_ACQ_REL) != 0;
        /* Until QUIET_ROUNDS periods pass with no heap used, no segment
         * freed and nothing left to release. */
        bool idle_heaps = false;
        for (unsigned quiet = 0; quiet < QUIET_ROUNDS;) {
            nanosleep(&period, NULL);
            bool collected;
            bool active = ha_host_collect_idle_heaps(&collected); /* segments it frees wait a period */
            idle_heaps |= collected;
            active |= __atomic_exchange_n(&work_wanted, 0u, __ATOMIC_ACQ_REL) != 0;
            active |= ha_release_unused() != 0;
            quiet = active ? 0 : quiet + 1;
        }
        if (!idle_heaps)
            look_ms = 0;
        else if (asked || look_ms == 0)
            look_ms = IDLE_LOOK_FIRST_MS;
        else if (look_ms < IDLE_LOOK_MAX_MS)
            look_ms *= 2;
    }
    return NULL;
}

/* Work for the release thread: wake it, or have it started, at once when
 * the caller is outside the allocator, else at the end of its section. */
void ha_host_release_wanted(bool in_section)
{
    /* No thread in a single-threaded program before the core's first free
     * segment: its one heap collects as it goes (the first sweep visits
     * every used heap, so nothing is missed by starting late). */
    if (!__atomic_load_n(&may_release, __ATOMIC_RELAXED))
        return;
    if (__atomic_exchange_n(&work_wanted, 1u, __ATOMIC_ACQ_REL) != 0)
        return; /* already asked */
    int state = __atomic_load_n(&thread_state, __ATOMIC_ACQUIRE);
    if (state == THREAD_RUNNING)
        futex_wake(&work_wanted);
    else if (state == THREAD_NONE && in_section)
        __atomic_fetch_or(&ha_host_self.pending, PENDING_RELEASE, __ATOMIC_RELAXED);
    else if (state == THREAD_NONE)
        ha_host_release_start();
}

void ha_embed_memory_unused(void)
{
    if (!__atomic_load_n(&may_release, __ATOMIC_RELAXED))
        __atomic_store_n(&may_release, true, __ATOMIC_RELAXED);
    ha_host_release_wanted(true);
}

/* A second thread entered (cpu_slots.c), inside its first section. Every
 * slot used so far was marked before this, when the thread could not start
 * yet, and is not marked again until a sweep: ask for one now. */
void ha_host_threads_began(void)
{
    if (__atomic_exchange_n(&may_release, true, __ATOMIC_RELAXED))
        return;
    ha_host_release_wanted(true);
}

/* At the end of a masked section that asked for it (cpu_slots.c). */
void ha_host_release_start(void)
{
    /* Not inside ha_init (sections end there too): the malloc shim is not
     * ready to serve pthread_create's allocations until ha_init returns. A
     * later request starts it; the request stays marked until then. */
    if (ha_name()[0] == '\0') {
        __atomic_store_n(&work_wanted, 0u, __ATOMIC_RELAXED);
        return;
    }
    int expected = THREAD_NONE;
    if (!__atomic_compare_exchange_n(&thread_state, &expected, THREAD_STARTING, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits it */
    pthread_attr_t attr;
    pthread_t thread;
    bool started = pthread_attr_init(&attr) == 0 &&
                   pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
                   pthread_attr_setstacksize(&attr, 64 << 10) == 0 &&
                   pthread_create(&thread, &attr, release_main, NULL) == 0;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* Without a thread memory stays resident, as without the hooks. */
    __atomic_store_n(&thread_state, started ? THREAD_RUNNING : THREAD_FAILED, __ATOMIC_RELEASE);
    if (started)
        futex_wake(&work_wanted);
}

void ha_host_release_after_fork(void)
{
    thread_state = THREAD_NONE;
    work_wanted = 0;
}

bool ha_embed_release(void *start, size_t size)
{
    /* Private anonymous memory reads as zero after MADV_DONTNEED; memory
     * the program handed to ha_init itself may be something else. */
    return madvise(start, size, MADV_DONTNEED) == 0 && ha_host_reserved(start, size);
}
