/*
 * cpu_slots.c - host threads as CPUs: the contract's cpu_index and interrupt
 * save/restore, for the test runner and the LD_PRELOAD library.
 *
 * The core gives each CPU index a heap and relies on a CPU running one thing
 * at a time (a hart with interrupts masked). On the host a CPU index is a
 * slot, and the interrupt flag is a per-thread "masked" flag:
 *
 *   owner   A thread leases a free slot the first time it enters the
 *           allocator (or the runner binds it to one) and keeps it until it
 *           exits: nobody else uses that heap, so its fast path takes no lock
 *           and pays one thread-local flag write per save and per restore.
 *   sharer  The last slot is never leased. A thread that finds every other
 *           slot leased, and a thread that already gave its slot back at exit
 *           (libc frees thread state after the key destructors run), uses the
 *           last slot under shared_lock, taken in its outermost irq_save and
 *           released in the matching irq_restore: the contract makes
 *           irq_save the point where a caller gains a CPU. A sharer tries to
 *           lease again whenever a slot has come free. With one slot, every
 *           thread is a sharer.
 *
 * A thread gives its lease back from a pthread key destructor, so programs
 * creating thousands of threads over time keep reusing a few slots. The
 * next owner inherits a consistent heap: the old owner was outside the
 * allocator when it exited, and the release/acquire pair on slot_owned
 * publishes its writes.
 *
 * Host interrupts (the runner's timer signal) are deferred while the
 * thread's flag is masked and delivered at its outermost restore, as a
 * pending interrupt is on a hart; see ha_host_irq_raise.
 *
 * fork() copies memory but only the calling thread: a heap or a core lock
 * (segment pool, a backend's spinlock) that another thread was using at that
 * moment would stay half-updated or held forever in the child. So fork waits
 * until no thread is inside the allocator (see "fork" below); core locks are
 * only ever held inside a masked section, so the child starts with every
 * lock free, every heap consistent and every slot free.
 *
 * Lock order: registry_lock, then shared_lock (fork takes both).
 */
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hartalloc_embed.h"
#include "host.h"
#include "host_thread.h"

#define MAX_SLOTS 256 /* the core refuses more CPUs than it has heaps for */

__thread struct host_thread ha_host_self HOST_TLS = {.lane = &ha_lane_closed};

static unsigned nslots;                 /* set once, before any thread enters */
static unsigned shared_slot;            /* nslots - 1: never leased           */
static uint32_t slot_owned[MAX_SLOTS];  /* 1 while a thread leases or binds it */
static bool slot_abandoned[MAX_SLOTS];  /* in a child of fork: leased for good, its
                                         * heap possibly half-updated (below)    */
static int32_t leasable_free;           /* hint for sharers; may lag briefly  */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t exit_key;
static void (*irq_handler)(unsigned cpu);

/* Owners by slot, for fork's wait; registry_lock guards the pointers (a
 * thread's state dies with it) and is held across fork. */
static struct host_thread *slot_thread[MAX_SLOTS];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
int ha_host_fork_pending;  /* owners must not start a section               */
static int fork_unguarded; /* someone stopped waiting: the child may not trust
                            * other slots' heaps                              */
static bool fork_guarded;  /* membarrier works: fork waits for owners       */

/* How long a thread waits for a fork, or a fork for a thread, before going
 * on unguarded. A thread may be waiting while it holds a libc lock that
 * fork() itself takes after the atfork handlers (glibc's NSS database lock
 * is held around allocations); waiting forever would deadlock. */
#define FORK_WAIT_NS 200000000L

static bool claim(unsigned slot)
{
    uint32_t expected = 0;
    if (__atomic_load_n(&slot_owned[slot], __ATOMIC_RELAXED) != 0 ||
        !__atomic_compare_exchange_n(&slot_owned[slot], &expected, 1u, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return false;
    if (slot < shared_slot)
        __atomic_fetch_sub(&leasable_free, 1, __ATOMIC_RELAXED);
    return true;
}

/* Call with registry_lock held. */
static void become_owner(struct host_thread *t, unsigned slot)
{
    t->slot = slot;
    t->role = ROLE_OWNER;
    slot_thread[slot] = t;
    /* Arms give_back_at_exit (it runs for non-NULL values only). glibc needs
     * no allocation for the first 32 keys; if it ever did, the nested malloc
     * would find this thread already an owner, with its flag masked. */
    pthread_setspecific(exit_key, t);
}

static void give_back_at_exit(void *arg)
{
    struct host_thread *t = arg;
    if (t->role != ROLE_OWNER)
        return;
    unsigned slot = t->slot;
    t->lane = &ha_lane_closed; /* from here on this thread's mallocs share the last slot */
    pthread_mutex_lock(&registry_lock);
    t->role = ROLE_EXITED;
    slot_thread[slot] = NULL;
    __atomic_store_n(&slot_owned[slot], 0u, __ATOMIC_RELEASE);
    if (slot < shared_slot)
        __atomic_fetch_add(&leasable_free, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&registry_lock);
}

static bool try_lease(struct host_thread *t)
{
    bool leased = false;
    pthread_mutex_lock(&registry_lock);
    for (unsigned slot = 0; slot < shared_slot && !leased; slot++) {
        if (claim(slot)) {
            become_owner(t, slot);
            leased = true;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return leased;
}

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Yield until *flag reads 0 (true) or FORK_WAIT_NS pass (false). */
static bool wait_for_zero(volatile int *flag)
{
    long deadline = now_ns() + FORK_WAIT_NS;
    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
        if (now_ns() > deadline) {
            __atomic_store_n(&fork_unguarded, 1, __ATOMIC_RELAXED);
            return false;
        }
        sched_yield();
    }
    return true;
}

/* An owner that found fork in progress as it entered: step out of the
 * section until the fork is over. The fence orders this thread's masked
 * store before the load of fork_pending, for threads that reach here
 * without the forking thread's membarrier (a fresh lease). */
static void wait_out_fork(struct host_thread *t)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    while (__atomic_load_n(&ha_host_fork_pending, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&t->masked, 0, __ATOMIC_RELEASE);
        bool over = wait_for_zero(&ha_host_fork_pending);
        __atomic_store_n(&t->masked, 1, __ATOMIC_RELAXED);
        if (!over)
            return; /* go on; the child will not reuse other slots */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
}

/* The outermost irq_save of a thread that owns no slot, or of an owner while
 * a fork is pending. Out of line, so the owner's path needs no stack frame. */
__attribute__((noinline, cold)) void ha_host_enter_slow(struct host_thread *t)
{
    if (t->forking) {
        /* fork's prepare step holds both locks and no other thread is inside:
         * the forking thread may use its slot, or the shared one, as is. */
        if (t->role != ROLE_OWNER)
            t->slot = shared_slot;
        return;
    }
    if (t->role == ROLE_NEW ||
        (t->role == ROLE_SHARER && __atomic_load_n(&leasable_free, __ATOMIC_RELAXED) > 0)) {
        if (nslots == 0)
            ha_embed_panic("host: allocator entered before ha_host_slots_init");
        if (!try_lease(t))
            t->role = ROLE_SHARER;
    }
    if (t->role == ROLE_OWNER) {
        wait_out_fork(t);
        return;
    }
    if (__atomic_load_n(&slot_owned[shared_slot], __ATOMIC_RELAXED))
        ha_embed_panic("host: a thread without a slot entered the allocator, but every slot "
                       "is bound to a thread");
    pthread_mutex_lock(&shared_lock); /* fork holds it: sharers need no more */
    t->slot = shared_slot;
    t->holds_shared = true;
}

/* The contract's hooks as functions, for code compiled without
 * embed_inline.h (the runner, tests); the core inlines the same bodies. */
unsigned long ha_embed_irq_save(void) { return host_irq_save(); }

__attribute__((noinline)) static void deliver_irq(struct host_thread *t)
{
    /* As on a hart: the handler runs masked, on the interrupted CPU. */
    t->masked = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    irq_handler(t->slot);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->masked = 0;
}

/* A sharer's outermost restore: the section ends, the shared slot is free
 * again, and no interrupt can be pending (only owners get them). */
__attribute__((noinline, cold)) void ha_host_leave_shared(void)
{
    ha_host_self.holds_shared = false;
    pthread_mutex_unlock(&shared_lock);
    __atomic_store_n(&ha_host_self.masked, 0, __ATOMIC_RELEASE);
}

/* Interrupts that arrived while masked, now unmasked: deliver them. */
__attribute__((noinline)) void ha_host_deliver_pending(struct host_thread *t)
{
    while (t->pending) {
        t->pending = 0;
        deliver_irq(t);
    }
}

void ha_embed_irq_restore(unsigned long was_masked) { host_irq_restore(was_masked); }

unsigned ha_embed_cpu_index(void) { return host_cpu_index(); }

void ha_host_set_irq_handler(void (*handler)(unsigned cpu))
{
    irq_handler = handler;
}

void ha_host_irq_raise(void)
{
    struct host_thread *t = &ha_host_self;
    if (!irq_handler || t->role != ROLE_OWNER)
        return; /* only a thread with a CPU of its own has interrupts */
    if (t->masked)
        t->pending = 1;
    else
        deliver_irq(t);
}

int ha_host_bind_slot(unsigned slot)
{
    struct host_thread *t = &ha_host_self;
    int r = -1;
    pthread_mutex_lock(&registry_lock);
    if (slot < nslots && t->role == ROLE_NEW && claim(slot)) {
        become_owner(t, slot);
        r = 0;
    }
    pthread_mutex_unlock(&registry_lock);
    return r;
}

/* ---- fork ------------------------------------------------------------------
 * prepare: take registry_lock (no lease or exit in flight) and shared_lock
 * (no sharer inside), raise fork_pending, then wait for every owner's masked
 * flag to drop. An owner stores masked and then loads fork_pending with only
 * a compiler barrier between (its fast path stays free of fences); the
 * membarrier() between our store and our loads is the full fence on its
 * side, so either it sees fork_pending and steps out, or we see it masked
 * and wait (the asymmetric fence of userspace RCU). */
static void quiesce_for_fork(void)
{
    ha_host_self.forking = true;
    pthread_mutex_lock(&registry_lock);
    pthread_mutex_lock(&shared_lock);
    if (!fork_guarded)
        return;
    fork_unguarded = 0;
    __atomic_store_n(&ha_host_fork_pending, 1, __ATOMIC_SEQ_CST);
    syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    for (unsigned slot = 0; slot < nslots; slot++) {
        struct host_thread *t = slot_thread[slot];
        if (t && t != &ha_host_self)
            wait_for_zero(&t->masked);
    }
}

static void resume_after_fork(void)
{
    __atomic_store_n(&ha_host_fork_pending, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&shared_lock);
    pthread_mutex_unlock(&registry_lock);
    ha_host_self.forking = false;
}

/* In the child only this thread lives on. Its siblings were outside every
 * masked section, so the locks and their heaps are consistent: their slots
 * are free to lease. Except a sibling with a lane: its mallocs run unmasked
 * and may have stopped halfway through a heap update, so its slot stays
 * leased and its heap is never used again (the child frees blocks of it as
 * remote frees, which touch only atomics); so is a slot abandoned by an
 * earlier fork. (Unguarded, every slot a thread held stays leased, and the
 * child shares when it runs out.) */
static void reclaim_slots_in_child(void)
{
    bool guarded = fork_guarded && !__atomic_load_n(&fork_unguarded, __ATOMIC_RELAXED);
    int32_t free_slots = 0;
    for (unsigned slot = 0; slot < nslots; slot++) {
        struct host_thread *t = slot_thread[slot];
        if (t == &ha_host_self)
            continue;
        /* t is a thread of the parent: its memory is still the copy made at
         * fork now, but its stack may be reused or unmapped later, so it is
         * read here once and forgotten. */
        slot_thread[slot] = NULL;
        if (t && (!guarded || t->lane != &ha_lane_closed))
            slot_abandoned[slot] = true;
        if (!slot_abandoned[slot])
            slot_owned[slot] = 0;
        free_slots += slot < shared_slot && !slot_owned[slot];
    }
    leasable_free = free_slots;
    resume_after_fork();
}

int ha_host_slots_init(unsigned count)
{
    if (count == 0 || count > MAX_SLOTS || nslots != 0)
        return -1;
    if (pthread_key_create(&exit_key, give_back_at_exit) != 0)
        return -1;
    /* Without membarrier (Linux < 4.14, or filtered), fork still keeps the
     * shared slot consistent but cannot wait for owners. */
    fork_guarded = syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    pthread_atfork(quiesce_for_fork, resume_after_fork, reclaim_slots_in_child);
    shared_slot = count - 1;
    leasable_free = (int32_t)(count - 1);
    nslots = count;
    return 0;
}
