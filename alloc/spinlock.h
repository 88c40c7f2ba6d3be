/*
 * spinlock.h - a test-and-test-and-set lock on a 32-bit word.
 *
 * 32-bit because riscv64 has no 8/16-bit AMOs and libatomic is unavailable:
 * the exchange compiles to amoswap.w.aq, the release to a fence + sw.
 * ha_spin_lock_irqsave masks local interrupts first, so a handler on the same
 * CPU can never spin on a lock its own CPU holds (ArceOS's SpinNoIrq).
 */
#ifndef HA_SPINLOCK_H
#define HA_SPINLOCK_H

#include <stdint.h>

#include "hartalloc_embed.h"

typedef struct ha_spinlock {
    uint32_t locked;
} ha_spinlock;

/* Measuring builds (-DHA_SPIN_STATS, the kernel's latency image) tell the
 * embedding how many times the wait loop below ran before a contended
 * acquisition, so lock waits are reported apart from path length. Other
 * builds compile none of it. */
#ifdef HA_SPIN_STATS
void ha_embed_lock_spun(unsigned long spins);
#define HA_SPIN_COUNT(stmt) stmt
#else
#define HA_SPIN_COUNT(stmt)
#endif

static inline void ha_spin_lock(ha_spinlock *l)
{
    HA_SPIN_COUNT(unsigned long spins = 0);
    for (;;) {
        if (!__atomic_exchange_n(&l->locked, 1u, __ATOMIC_ACQUIRE)) {
            HA_SPIN_COUNT(if (spins) ha_embed_lock_spun(spins));
            return;
        }
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
            HA_SPIN_COUNT(spins++); /* wait on a shared cache line, not with AMOs */
    }
}

static inline void ha_spin_unlock(ha_spinlock *l)
{
    __atomic_store_n(&l->locked, 0u, __ATOMIC_RELEASE);
}

static inline unsigned long ha_spin_lock_irqsave(ha_spinlock *l)
{
    unsigned long flags = ha_embed_irq_save();
    ha_spin_lock(l);
    return flags;
}

static inline void ha_spin_unlock_irqrestore(ha_spinlock *l, unsigned long flags)
{
    ha_spin_unlock(l);
    ha_embed_irq_restore(flags);
}

#endif /* HA_SPINLOCK_H */
