/*
 * cpu_slots.c - host threads as CPUs: the contract's cpu_index and interrupt
 * save/restore, for the test runner, the static library and the LD_PRELOAD
 * library.
 *
 * The core gives each CPU index a heap and relies on a CPU running one thing
 * at a time (a hart with interrupts masked). On the host a CPU index is a
 * slot, and the interrupt flag is a per-thread "masked" flag. The slots are
 * of two kinds (design: issue 15):
 *
 *   leased  slots 0 .. first_shared-1. A thread leases a free one the first
 *           time it enters the allocator (or the runner binds it to one) and
 *           keeps it until it exits: nobody else uses that heap, so its fast
 *           path takes no lock and pays one thread-local flag write per save
 *           and per restore, and the malloc shim caches it as a lane.
 *   shared  the last min(nslots, CPUs this process may run on) slots, one per
 *           CPU. A thread that finds every leased slot taken, a thread that
 *           already gave its lease back at exit (libc frees thread state
 *           after the key destructors run), and every thread when there are
 *           no leased slots, takes a shared slot for one masked section: its
 *           outermost irq_save locks the slot of the CPU it runs on (read
 *           from rseq by sched_getcpu), and the matching irq_restore unlocks
 *           it. The contract makes irq_save the point where a caller gains a
 *           CPU. A sharer tries to lease again whenever a slot has come free.
 *
 * Why this shape. Leases give the lock-free lane to the first threads of a
 * program, which are most programs' only threads. Past them, any number of
 * threads share as many heaps as there are CPUs: two sharers collide only
 * when one was preempted inside a section (a section is a few hundred
 * instructions), and then the other takes the next shared slot with a
 * try-lock instead of waiting. So no thread waits behind others whatever
 * the thread count, with a fixed set of heaps (no abandoned heaps to adopt,
 * no table to grow). Measured: docs/bench/report.md, "Thread sweep".
 *
 * A thread gives its lease back from a pthread key destructor, so programs
 * creating thousands of threads over time keep reusing a few slots. The
 * next owner inherits a consistent heap: the old owner was outside the
 * allocator when it exited, and the release/acquire pair on slot_owned
 * publishes its writes.
 *
 * Set-up is lazy: the first irq_save after ha_init has recorded ncpu
 * (hartalloc_embed.h) sets up ha_cpu_count() slots, so a program that links
 * libhartalloc.a needs nothing but ha_init. The shim and the runner call
 * ha_host_slots_init themselves, first.
 *
 * Host interrupts (the runner's timer signal) are deferred while the
 * thread's flag is masked and delivered at its outermost restore, as a
 * pending interrupt is on a hart; see ha_host_irq_raise. The same pending
 * flag starts the memory-release thread outside any section (release.c).
 *
 * fork() copies memory but only the calling thread: a heap or a core lock
 * (segment pool, a backend's spinlock) that another thread was using at that
 * moment would stay half-updated or held forever in the child. So fork waits
 * until no thread is inside the allocator (see "fork" below); core locks are
 * only ever held inside a masked section, so the child starts with every
 * lock free, every heap consistent and every slot free.
 *
 * Lock order: init_lock, registry_lock, then the shared slots' locks in slot
 * order (fork takes them all).
 */
#define _GNU_SOURCE /* sched_getcpu, CPU_COUNT */
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hartalloc.h"
#include "hartalloc_embed.h"
#include "host.h"
#include "host_thread.h"

#define MAX_SLOTS HA_MAX_CPUS /* the core refuses more CPUs (hartalloc.h) */

__thread struct host_thread ha_host_self HOST_TLS = {.lane = &ha_lane_closed};

static unsigned nslots;                 /* set once, before any thread enters */
static unsigned first_shared;           /* slots from here on are shared      */
static uint32_t slot_owned[MAX_SLOTS];  /* 1 while a thread leases or binds it */
static bool slot_abandoned[MAX_SLOTS];  /* in a child of fork: leased for good, its
                                         * heap possibly half-updated (below)    */
static int32_t leasable_free;           /* hint for sharers; may lag briefly  */
/* A shared slot's lock, one cache line each: sharers on different CPUs do
 * not write each other's lines. */
static struct {
    uint32_t held;
} __attribute__((aligned(64))) shared_lock[MAX_SLOTS];
/* Whether the release thread's sweep has a heap to look at: a leased slot
 * whose thread exited, a shared slot after a section. Written by the slot's
 * user, read and lowered by the sweep: a hint, both ways. */
enum { SLOT_NEVER_USED, SLOT_SWEPT, SLOT_USED_SINCE_SWEEP };
static uint8_t slot_use[MAX_SLOTS];

/* A slot's user marks it for the sweep (and wakes the release thread);
 * inline, as sharers do it on every section: usually one load. */
__attribute__((noinline, cold)) static void mark_used_now(unsigned slot, bool in_section)
{
    __atomic_store_n(&slot_use[slot], SLOT_USED_SINCE_SWEEP, __ATOMIC_RELAXED);
    ha_host_release_wanted(in_section);
}

static inline __attribute__((always_inline)) void mark_used(unsigned slot, bool in_section)
{
    if (__atomic_load_n(&slot_use[slot], __ATOMIC_RELAXED) != SLOT_USED_SINCE_SWEEP)
        mark_used_now(slot, in_section);
}
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t exit_key;
static void (*irq_handler)(unsigned cpu);
static unsigned threads_entered; /* threads that came in as ROLE_NEW */

/* Owners by slot, for fork's wait; registry_lock guards the pointers (a
 * thread's state dies with it) and is held across fork. */
static struct host_thread *slot_thread[MAX_SLOTS];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct host_thread *service_thread; /* the release thread, if running */
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
    if (slot < first_shared)
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
    /* Sweep the heap it leaves; still an owner, so that starting the
     * release thread allocates from its own heap. */
    mark_used(slot, false);
    t->lane = &ha_lane_closed; /* from here on this thread's mallocs share */
    pthread_mutex_lock(&registry_lock);
    t->role = ROLE_EXITED;
    slot_thread[slot] = NULL;
    __atomic_store_n(&slot_owned[slot], 0u, __ATOMIC_RELEASE);
    if (slot < first_shared)
        __atomic_fetch_add(&leasable_free, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&registry_lock);
}

static bool try_lease(struct host_thread *t)
{
    bool leased = false;
    pthread_mutex_lock(&registry_lock);
    for (unsigned slot = 0; slot < first_shared && !leased; slot++) {
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

static inline __attribute__((always_inline)) bool try_lock(uint32_t *word)
{
    return __atomic_load_n(word, __ATOMIC_RELAXED) == 0 &&
           __atomic_exchange_n(word, 1u, __ATOMIC_ACQUIRE) == 0;
}

/* Lock a shared slot for this section: the one of the CPU we run on, or,
 * if its holder was preempted inside, the next free one. Never waits on
 * one holder: it yields only when every shared slot is busy at once. */
__attribute__((noinline)) static void take_shared_slot(struct host_thread *t)
{
    unsigned count = nslots - first_shared;
    int cpu = sched_getcpu(); /* a load from rseq's cpu_id on glibc >= 2.35 */
    unsigned start = cpu < 0 ? 0 : (unsigned)cpu % count;
    for (;;) {
        bool any_unbound = false;
        for (unsigned i = 0; i < count; i++) {
            unsigned slot = first_shared + (start + i) % count;
            if (__atomic_load_n(&slot_owned[slot], __ATOMIC_RELAXED))
                continue; /* bound to a thread by the runner */
            any_unbound = true;
            if (try_lock(&shared_lock[slot].held)) {
                t->slot = slot;
                t->holds_shared = true;
                mark_used(slot, true); /* frees into it need a sweep */
                return;
            }
        }
        if (!any_unbound)
            ha_embed_panic("host: a thread without a slot entered the allocator, but every "
                           "slot is bound to a thread");
        sched_yield();
    }
}

static void lazy_slots_init(void)
{
    unsigned ncpu = ha_cpu_count();
    if (ncpu == 0)
        ha_embed_panic("host: allocator entered before ha_init");
    if (ha_host_slots_init(ncpu) != 0 && __atomic_load_n(&nslots, __ATOMIC_ACQUIRE) == 0)
        ha_embed_panic("host: cannot set up a slot for each of ha_init's CPUs");
}

/* The outermost irq_save of a thread that owns no slot, or of an owner while
 * a fork is pending. Out of line, so the owner's path needs no stack frame. */
__attribute__((noinline, cold)) void ha_host_enter_slow(struct host_thread *t)
{
    if (t->forking) {
        /* fork's prepare step holds every lock and no other thread is inside:
         * the forking thread may use its slot, or a shared one, as is. */
        if (t->role != ROLE_OWNER)
            t->slot = first_shared < nslots ? first_shared : 0;
        return;
    }
    /* A sharer's usual case: the slot it had last time is free. (Sharers
     * spread over the slots by CPU the first time and after a collision,
     * then keep to them; the try-lock makes a wrong guess cheap.) */
    if (t->role == ROLE_SHARER && __atomic_load_n(&leasable_free, __ATOMIC_RELAXED) <= 0 &&
        !__atomic_load_n(&slot_owned[t->slot], __ATOMIC_RELAXED) &&
        try_lock(&shared_lock[t->slot].held)) {
        t->holds_shared = true;
        mark_used(t->slot, true);
        return;
    }
    if (t->role == ROLE_SERVICE) {
        wait_out_fork(t); /* it touches only the pool, under the pool lock */
        return;
    }
    if (__atomic_load_n(&nslots, __ATOMIC_ACQUIRE) == 0)
        lazy_slots_init();
    if (t->role == ROLE_NEW && __atomic_add_fetch(&threads_entered, 1u, __ATOMIC_RELAXED) == 2)
        ha_host_threads_began(); /* the release thread may be wanted from now on */
    if (t->role == ROLE_NEW ||
        (t->role == ROLE_SHARER && __atomic_load_n(&leasable_free, __ATOMIC_RELAXED) > 0)) {
        if (!try_lease(t))
            t->role = ROLE_SHARER;
    }
    if (t->role == ROLE_OWNER) {
        wait_out_fork(t);
        return;
    }
    take_shared_slot(t); /* fork holds every shared lock: sharers need no more */
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

/* A sharer's outermost restore: the section ends and the shared slot is
 * free again. Only owners get interrupts, but a section may have asked for
 * the release thread (release.c). */
__attribute__((noinline, cold)) void ha_host_leave_shared(void)
{
    struct host_thread *t = &ha_host_self;
    t->holds_shared = false;
    __atomic_store_n(&shared_lock[t->slot].held, 0u, __ATOMIC_RELEASE);
    __atomic_store_n(&t->masked, 0, __ATOMIC_RELEASE);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (t->pending)
        ha_host_deliver_pending(t);
}

/* What a masked section left for its end, now unmasked: interrupts that
 * arrived meanwhile, and a request to start the release thread. */
__attribute__((noinline)) void ha_host_deliver_pending(struct host_thread *t)
{
    int pending;
    while ((pending = __atomic_exchange_n(&t->pending, 0, __ATOMIC_RELAXED)) != 0) {
        if (pending & PENDING_RELEASE)
            ha_host_release_start();
        if (pending & PENDING_IRQ)
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
        __atomic_fetch_or(&t->pending, PENDING_IRQ, __ATOMIC_RELAXED); /* atomic against
                                                                       * release_wanted */
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

/* The release thread (release.c) enters the allocator only for the pool:
 * it never takes a slot, but fork waits for it as for an owner. */
void ha_host_become_service(void)
{
    struct host_thread *t = &ha_host_self;
    pthread_mutex_lock(&registry_lock);
    t->role = ROLE_SERVICE;
    service_thread = t;
    pthread_mutex_unlock(&registry_lock);
}

/* The release thread's sweep: collect every heap that has been used and
 * that nobody uses now (a leased slot whose thread exited, a shared slot
 * between sections), holding its slot as its owner would. Such a heap keeps
 * empty pages for reuse and takes in other threads' frees only when it
 * allocates, so without this they would pin their segments until the slot's
 * next user. True when some heap was used since the previous sweep: other
 * threads may still be freeing into idle heaps, so the release thread keeps
 * sweeping a while. *collected: whether it collected any heap, i.e. some
 * idle heap exists that later frees from other threads may fill again. */
bool ha_host_collect_idle_heaps(bool *collected)
{
    struct host_thread *t = &ha_host_self;
    bool active = false;
    *collected = false;
    unsigned count = __atomic_load_n(&nslots, __ATOMIC_ACQUIRE);
    for (unsigned slot = 0; slot < count; slot++) {
        uint8_t use = __atomic_load_n(&slot_use[slot], __ATOMIC_RELAXED);
        if (use == SLOT_NEVER_USED)
            continue;
        if (use == SLOT_USED_SINCE_SWEEP) {
            active = true;
            __atomic_store_n(&slot_use[slot], SLOT_SWEPT, __ATOMIC_RELAXED);
        }
        bool shared = slot >= first_shared;
        if (shared ? __atomic_load_n(&slot_owned[slot], __ATOMIC_RELAXED) ||
                         !try_lock(&shared_lock[slot].held)
                   : !claim(slot))
            continue; /* in use: its user collects as it goes */
        t->slot = slot; /* ha_embed_cpu_index() for this one call */
        ha_collect();
        *collected = true;
        if (shared) {
            __atomic_store_n(&shared_lock[slot].held, 0u, __ATOMIC_RELEASE);
        } else {
            __atomic_store_n(&slot_owned[slot], 0u, __ATOMIC_RELEASE);
            __atomic_fetch_add(&leasable_free, 1, __ATOMIC_RELAXED);
        }
    }
    return active;
}

/* ---- fork ------------------------------------------------------------------
 * prepare: take registry_lock (no lease or exit in flight) and every shared
 * slot's lock (no sharer inside), raise fork_pending, then wait for every
 * owner's (and the release thread's) masked
 * flag to drop. An owner stores masked and then loads fork_pending with only
 * a compiler barrier between (its fast path stays free of fences); the
 * membarrier() between our store and our loads is the full fence on its
 * side, so either it sees fork_pending and steps out, or we see it masked
 * and wait (the asymmetric fence of userspace RCU). */
static void quiesce_for_fork(void)
{
    ha_host_self.forking = true;
    pthread_mutex_lock(&registry_lock);
    for (unsigned slot = first_shared; slot < nslots; slot++)
        while (!try_lock(&shared_lock[slot].held))
            sched_yield(); /* a sharer is inside: it will leave */
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
    if (service_thread && service_thread != &ha_host_self)
        wait_for_zero(&service_thread->masked);
}

static void resume_after_fork(void)
{
    __atomic_store_n(&ha_host_fork_pending, 0, __ATOMIC_RELEASE);
    for (unsigned slot = first_shared; slot < nslots; slot++)
        __atomic_store_n(&shared_lock[slot].held, 0u, __ATOMIC_RELEASE);
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
        free_slots += slot < first_shared && !slot_owned[slot];
    }
    leasable_free = free_slots;
    service_thread = NULL; /* it did not follow us; release.c starts another */
    ha_host_release_after_fork();
    resume_after_fork();
}

/* CPUs this process may run on (taskset, cgroups): no allocation. */
static unsigned usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? (unsigned)n : 1;
}

int ha_host_slots_init(unsigned count)
{
    int r = -1;
    pthread_mutex_lock(&init_lock);
    if (count == 0 || count > MAX_SLOTS || nslots != 0)
        goto out;
    if (pthread_key_create(&exit_key, give_back_at_exit) != 0)
        goto out;
    /* Without membarrier (Linux < 4.14, or filtered), fork still keeps the
     * shared slots consistent but cannot wait for owners. */
    fork_guarded = syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    pthread_atfork(quiesce_for_fork, resume_after_fork, reclaim_slots_in_child);
    unsigned shared = usable_cpus();
    if (shared > count)
        shared = count;
    first_shared = count - shared;
    leasable_free = (int32_t)first_shared;
    __atomic_store_n(&nslots, count, __ATOMIC_RELEASE);
    r = 0;
out:
    pthread_mutex_unlock(&init_lock);
    return r;
}
