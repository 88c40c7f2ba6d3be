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
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "hartalloc_embed.h"
#include "host.h"

#define MAX_SLOTS 256 /* the core refuses more CPUs than it has heaps for */

/* initial-exec: this runs inside malloc, and the general-dynamic TLS model
 * may call __tls_get_addr, which may call malloc. A preloaded library always
 * gets static TLS. */
#define TLS_INITIAL_EXEC __attribute__((tls_model("initial-exec")))

enum role {
    ROLE_NEW = 0, /* has not entered the allocator yet                        */
    ROLE_OWNER,   /* holds a slot: uses its heap without a lock               */
    ROLE_SHARER,  /* found every slot leased: uses the last slot, locked      */
    ROLE_EXITED,  /* gave its slot back at exit: shares from now on           */
};

struct host_thread {
    unsigned slot;                 /* owner: for life; sharer: while masked   */
    unsigned role;                 /* enum role                               */
    bool holds_shared;             /* this masked section took shared_lock    */
    volatile sig_atomic_t masked;  /* "interrupts off": inside the allocator  */
    volatile sig_atomic_t pending; /* a host interrupt arrived while masked   */
};

static __thread struct host_thread self TLS_INITIAL_EXEC;

static unsigned nslots;                 /* set once, before any thread enters */
static unsigned shared_slot;            /* nslots - 1: never leased           */
static uint32_t slot_owned[MAX_SLOTS];  /* 1 while a thread leases or binds it */
static int32_t leasable_free;           /* hint for sharers; may lag briefly  */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t exit_key;
static void (*irq_handler)(unsigned cpu);

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

static void become_owner(struct host_thread *t, unsigned slot)
{
    t->slot = slot;
    t->role = ROLE_OWNER;
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
    t->role = ROLE_EXITED;
    __atomic_store_n(&slot_owned[slot], 0u, __ATOMIC_RELEASE);
    if (slot < shared_slot)
        __atomic_fetch_add(&leasable_free, 1, __ATOMIC_RELAXED);
}

/* The outermost irq_save of a thread that owns no slot. Out of line, so the
 * owner's path needs no stack frame. */
__attribute__((noinline, cold)) static void enter_without_lease(struct host_thread *t)
{
    if (t->role == ROLE_NEW ||
        (t->role == ROLE_SHARER && __atomic_load_n(&leasable_free, __ATOMIC_RELAXED) > 0)) {
        if (nslots == 0)
            ha_embed_panic("host: allocator entered before ha_host_slots_init");
        for (unsigned slot = 0; slot < shared_slot; slot++) {
            if (claim(slot)) {
                become_owner(t, slot);
                return;
            }
        }
        t->role = ROLE_SHARER;
    }
    if (__atomic_load_n(&slot_owned[shared_slot], __ATOMIC_RELAXED))
        ha_embed_panic("host: a thread without a slot entered the allocator, but every slot "
                       "is bound to a thread");
    pthread_mutex_lock(&shared_lock);
    t->slot = shared_slot;
    t->holds_shared = true;
}

unsigned long ha_embed_irq_save(void)
{
    struct host_thread *t = &self;
    unsigned long was_masked = (unsigned long)t->masked;
    t->masked = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* masked before the section starts */
    if (!was_masked && __builtin_expect(t->role != ROLE_OWNER, 0))
        enter_without_lease(t);
    return was_masked;
}

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
__attribute__((noinline, cold)) static void leave_shared(void)
{
    self.holds_shared = false;
    pthread_mutex_unlock(&shared_lock);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    self.masked = 0;
}

/* Interrupts that arrived while masked, now unmasked: deliver them. */
__attribute__((noinline)) static void deliver_pending(struct host_thread *t)
{
    while (t->pending) {
        t->pending = 0;
        deliver_irq(t);
    }
}

void ha_embed_irq_restore(unsigned long was_masked)
{
    if (was_masked)
        return; /* nested: the outermost restore ends the section */
    if (__builtin_expect(self.holds_shared, 0)) {
        leave_shared();
        return;
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the section ends before unmasking */
    self.masked = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (__builtin_expect(self.pending, 0))
        deliver_pending(&self);
}

unsigned ha_embed_cpu_index(void)
{
    return self.slot;
}

void ha_host_set_irq_handler(void (*handler)(unsigned cpu))
{
    irq_handler = handler;
}

void ha_host_irq_raise(void)
{
    struct host_thread *t = &self;
    if (!irq_handler || t->role != ROLE_OWNER)
        return; /* only a thread with a CPU of its own has interrupts */
    if (t->masked)
        t->pending = 1;
    else
        deliver_irq(t);
}

int ha_host_bind_slot(unsigned slot)
{
    struct host_thread *t = &self;
    if (slot >= nslots || t->role != ROLE_NEW || !claim(slot))
        return -1;
    become_owner(t, slot);
    return 0;
}

/* fork() keeps only the calling thread. A sharer of another thread may be
 * inside the shared heap at that moment: hold shared_lock across fork, so
 * the child's copy of that heap is consistent and its lock free. Slots of
 * the threads that did not survive stay leased in the child (their heaps may
 * be mid-operation in the copy); the child shares when it runs out. */
static void lock_shared_for_fork(void) { pthread_mutex_lock(&shared_lock); }
static void unlock_shared_after_fork(void) { pthread_mutex_unlock(&shared_lock); }

int ha_host_slots_init(unsigned count)
{
    if (count == 0 || count > MAX_SLOTS || nslots != 0)
        return -1;
    if (pthread_key_create(&exit_key, give_back_at_exit) != 0)
        return -1;
    pthread_atfork(lock_shared_for_fork, unlock_shared_after_fork, unlock_shared_after_fork);
    shared_slot = count - 1;
    leasable_free = (int32_t)(count - 1);
    nslots = count;
    return 0;
}
