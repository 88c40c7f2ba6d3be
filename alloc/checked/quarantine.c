/*
 * quarantine.c - checked builds: the FIFO of freed blocks described in
 * quarantine.h. Release builds compile nothing here.
 */
#include "quarantine.h"

#ifdef HA_CHECKED
#include "free_fill.h"
#include "spinlock.h"

struct held {
    void *ptr;
    size_t size, align;  /* as given to the free, for the backend's checks */
    size_t fill;         /* bytes filled at the free                       */
    uint64_t since;      /* allocation count at the free                   */
};

static struct {
    ha_spinlock lock;
    unsigned head, count; /* oldest at slot[head]                          */
    uint64_t allocs;      /* allocations seen (quarantine_tick)            */
    struct held slot[QUARANTINE_SLOTS];
} q;

/* Take the oldest block: any (all), or one that has waited long enough or
 * that a new block pushes out. Call with the lock held. */
static bool pop_oldest(struct held *out, bool all)
{
    if (q.count == 0)
        return false;
    struct held *h = &q.slot[q.head];
    if (!all && q.count < QUARANTINE_SLOTS && q.allocs - h->since < QUARANTINE_AGE)
        return false;
    *out = *h;
    q.head = (q.head + 1) % QUARANTINE_SLOTS;
    q.count--;
    return true;
}

/* Verify the fill, then free for real. Called with the lock held, so a
 * second free of the block, racing on another CPU, finds it still held
 * (lock order: the quarantine's, then the backend's). */
static void release(const struct ha_backend *b, const struct held *h)
{
    free_fill_verify(h->ptr, h->ptr, h->fill, b->name);
    b->dealloc(h->ptr, h->size, h->align);
}

static bool held_locked(const void *ptr)
{
    for (unsigned i = 0; i < q.count; i++)
        if (q.slot[(q.head + i) % QUARANTINE_SLOTS].ptr == ptr)
            return true;
    return false;
}

void quarantine_check_live(const void *ptr, const char *what)
{
    unsigned long irq = ha_spin_lock_irqsave(&q.lock);
    bool held = held_locked(ptr);
    ha_spin_unlock_irqrestore(&q.lock, irq);
    if (held)
        ha_fault(ptr, "%s of a block that was freed (it waits in the checked build's quarantine)", what);
}

void quarantine_free(const struct ha_backend *b, void *ptr, size_t size, size_t align)
{
    /* The backend validates the free (and stops on a bad one) first. */
    b->verify_free(ptr, size, align);
    size_t fill = free_fill_len(b->usable_size(ptr));
    struct held out;
    unsigned long irq = ha_spin_lock_irqsave(&q.lock);
    if (held_locked(ptr)) {
        ha_spin_unlock_irqrestore(&q.lock, irq);
        ha_fault(ptr, "double free (the block waits in the checked build's quarantine since its first free)");
    }
    free_fill(ptr, fill);
    if (q.count == QUARANTINE_SLOTS && pop_oldest(&out, true))
        release(b, &out);
    q.slot[(q.head + q.count) % QUARANTINE_SLOTS] = (struct held){ ptr, size, align, fill, q.allocs };
    q.count++;
    ha_spin_unlock_irqrestore(&q.lock, irq);
}

void quarantine_tick(const struct ha_backend *b)
{
    struct held out;
    unsigned long irq = ha_spin_lock_irqsave(&q.lock);
    q.allocs++;
    if (pop_oldest(&out, false))
        release(b, &out);
    ha_spin_unlock_irqrestore(&q.lock, irq);
}

bool quarantine_flush(const struct ha_backend *b)
{
    bool any = false;
    struct held out;
    unsigned long irq = ha_spin_lock_irqsave(&q.lock);
    while (pop_oldest(&out, true)) {
        release(b, &out);
        any = true;
    }
    ha_spin_unlock_irqrestore(&q.lock, irq);
    return any;
}
#endif
