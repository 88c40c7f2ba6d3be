/*
 * host_thread.h - a host thread's state as a CPU, and the contract's three
 * per-operation hooks over it as static inline functions: cpu_slots.c wraps
 * them as the ha_embed_* symbols, and embed_inline.h hands them to the core
 * (HA_EMBED_INLINE), so malloc pays no call for them. The protocol (owners,
 * sharers, deferred interrupts, fork) is described in cpu_slots.c.
 */
#ifndef HOST_THREAD_H
#define HOST_THREAD_H

#include <signal.h>
#include <stdbool.h>

#include "hartalloc_lane.h"

enum role {
    ROLE_NEW = 0, /* has not entered the allocator yet                        */
    ROLE_OWNER,   /* holds a slot: uses its heap without a lock               */
    ROLE_SHARER,  /* found every slot leased: takes a shared slot, locked     */
    ROLE_EXITED,  /* gave its slot back at exit: shares from now on           */
    ROLE_SERVICE, /* the release thread: enters for the pool only, no slot    */
};

struct host_thread {
    ha_lane *lane;                 /* the malloc shim's lane (hartalloc_lane.h)
                                    * for an owner while mi is active, else
                                    * &ha_lane_closed; the slot stays this
                                    * thread's while it is open               */
    unsigned slot;                 /* owner: for life; sharer: while masked   */
    unsigned role;                 /* enum role                               */
    bool holds_shared;             /* this masked section took shared_lock    */
    bool forking;                  /* between fork's prepare and its return   */
    volatile sig_atomic_t masked;  /* "interrupts off": inside the allocator;
                                    * read by a forking thread                */
    volatile sig_atomic_t pending; /* PENDING_*: work for the outermost restore */
};

/* initial-exec: this runs inside malloc, and the general-dynamic TLS model
 * may call __tls_get_addr, which may call malloc. A preloaded library always
 * gets static TLS. Hidden: the symbols never leave the library. */
#define HOST_TLS __attribute__((tls_model("initial-exec"), visibility("hidden")))
#define HOST_HIDDEN __attribute__((visibility("hidden")))

enum {
    PENDING_IRQ = 1,     /* a host interrupt arrived while masked           */
    PENDING_RELEASE = 2, /* start the release thread (release.c)            */
};

extern __thread struct host_thread ha_host_self HOST_TLS;
extern int ha_host_fork_pending HOST_HIDDEN; /* owners must not start a section */

/* The rare paths, out of line (cpu_slots.c). */
HOST_HIDDEN void ha_host_enter_slow(struct host_thread *t);
HOST_HIDDEN void ha_host_leave_shared(void);
HOST_HIDDEN void ha_host_deliver_pending(struct host_thread *t);
/* release.c: start the release thread (outside any section); forget it in
 * a child of fork. cpu_slots.c: make the caller the release thread. */
HOST_HIDDEN void ha_host_release_start(void);
HOST_HIDDEN void ha_host_release_after_fork(void);
HOST_HIDDEN void ha_host_become_service(void);
/* release.c: a heap may hold memory to give back (a thread exited, a
 * shared slot is in use): run the release thread soon. in_section: the
 * caller is inside a masked section (the thread starts at its end).
 * cpu_slots.c: the sweep of idle heaps, run by the release thread. */
HOST_HIDDEN void ha_host_release_wanted(bool in_section);
HOST_HIDDEN bool ha_host_collect_idle_heaps(bool *collected);
HOST_HIDDEN void ha_host_threads_began(void); /* a second thread entered */


static inline unsigned long host_irq_save(void)
{
    struct host_thread *t = &ha_host_self;
    unsigned long was_masked = (unsigned long)t->masked;
    t->masked = 1;
    /* masked before the section starts, and before fork_pending is read:
     * the forking thread's membarrier makes the pair a full fence. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (!was_masked && __builtin_expect(t->role != ROLE_OWNER ||
                                        __atomic_load_n(&ha_host_fork_pending, __ATOMIC_RELAXED), 0))
        ha_host_enter_slow(t);
    return was_masked;
}

static inline void host_irq_restore(unsigned long was_masked)
{
    if (was_masked)
        return; /* nested: the outermost restore ends the section */
    if (__builtin_expect(ha_host_self.holds_shared, 0)) {
        ha_host_leave_shared();
        return;
    }
    /* The section ends before unmasking (release: a forking thread may be
     * waiting for this store). */
    __atomic_store_n(&ha_host_self.masked, 0, __ATOMIC_RELEASE);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (__builtin_expect(ha_host_self.pending, 0))
        ha_host_deliver_pending(&ha_host_self);
}

static inline unsigned host_cpu_index(void)
{
    return ha_host_self.slot;
}

#endif /* HOST_THREAD_H */
