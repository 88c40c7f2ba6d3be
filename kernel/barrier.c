/*
 * barrier.c - a sense-reversing barrier on 32-bit atomics.
 *
 * Each CPU flips its private sense, then counts itself in. The last to arrive
 * resets the count and publishes the new sense; the others spin until they
 * see it, asleep in wfi until the last one wakes them (see cpu_wait_until: under
 * TCG, spinning harts starve the very harts they wait for). Because the count is reset before the sense flips, a CPU racing
 * ahead into the next barrier cannot be counted in the old one.
 */
#include "barrier.h"

#include <stdint.h>

#include "cpu.h"

static unsigned participants;
static uint32_t arrived;
static uint32_t global_sense;
static uint32_t local_sense[MAX_HARTS]; /* touched only by its own CPU */

void barrier_init(unsigned ncpu) { participants = ncpu; }

void barrier_wait(void)
{
    unsigned cpu = this_cpu()->index;
    uint32_t sense = local_sense[cpu] ^= 1;
    if (__atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL) == participants) {
        __atomic_store_n(&arrived, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&global_sense, sense, __ATOMIC_RELEASE);
        for (unsigned k = 0; k < participants; k++)
            if (k != cpu)
                cpu_wake(k);
    } else {
        cpu_wait_until(__atomic_load_n(&global_sense, __ATOMIC_ACQUIRE) == sense);
    }
}
