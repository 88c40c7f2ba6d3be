/*
 * threads.c - a plain pthread program (no hartalloc linked in) that
 * test-host-preload runs under LD_PRELOAD. Every check prints
 * "PASS preload.threads.<name>" or "FAIL preload.threads.<name> <why>".
 *
 *   preload-threads <alloc_type expected in ha_name(), or "" for glibc>
 *
 * It covers what the shim promises: the malloc family's edge cases, blocks
 * handed between threads, thousands of short-lived threads (slot leases come
 * back), more threads alive at once than there are slots, and fork while
 * other threads allocate; each block is filled with a pattern and checked
 * before it is freed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void report(const char *name, bool ok, const char *why)
{
    if (ok) {
        printf("PASS preload.threads.%s\n", name);
    } else {
        printf("FAIL preload.threads.%s %s\n", name, why);
        failures++;
    }
    fflush(stdout);
}

/* The byte at offset i of a block tagged `tag`. */
static unsigned char pattern(uint64_t tag, size_t i)
{
    return (unsigned char)((tag * 0x9e3779b97f4a7c15ull + i) >> 7 ^ i);
}

static void fill(unsigned char *p, size_t n, uint64_t tag)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pattern(tag, i);
}

static bool intact(const unsigned char *p, size_t n, uint64_t tag)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(tag, i))
            return false;
    return true;
}

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* ---- the preload is active: ha_name() is the requested type ------------- */
static void check_active(const char *expected)
{
    const char *(*ha_name)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "ha_name");
    if (!*expected) {
        report("active", ha_name == NULL, "ha_name found without a preload");
        return;
    }
    char *volatile p = malloc(1); /* volatile: GCC would delete the pair; it
                                    * initialises the library if nothing did */
    free(p);
    if (ha_name && strcmp(ha_name(), expected) != 0)
        printf("# ha_name() is \"%s\"\n", ha_name());
    report("active", ha_name && strcmp(ha_name(), expected) == 0,
           ha_name ? "ha_name() differs from HARTALLOC_TYPE" : "ha_name not found: not preloaded");
}

/* ---- the malloc family's contract ---------------------------------------- */
static bool aligned_to(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

static void check_api(void)
{
    bool ok = true;
    for (size_t n = 0; n < 5000 && ok; n += 1 + n / 8) {
        unsigned char *p = malloc(n);
        ok = p && aligned_to(p, 16) && malloc_usable_size(p) >= n;
        if (p) {
            fill(p, n, n);
            ok = ok && intact(p, n, n);
        }
        free(p);
    }
    report("malloc-sizes", ok, "NULL, misaligned or short block");

    unsigned char *z = calloc(1000, 7);
    ok = z != NULL;
    for (size_t i = 0; ok && i < 7000; i++)
        ok = z[i] == 0;
    free(z);
    errno = 0;
    volatile size_t half = SIZE_MAX / 2;
    report("calloc", ok && calloc(half, 3) == NULL && errno == ENOMEM,
           "not zeroed, or overflow not ENOMEM");

    unsigned char *r = realloc(NULL, 100);
    ok = r != NULL;
    fill(r, 100, 1);
    for (size_t n = 200; ok && n < 300000; n = n * 3 / 2) {
        r = realloc(r, n);
        ok = r && intact(r, 100, 1);
    }
    r = realloc(r, 50);
    ok = ok && r && intact(r, 50, 1);
    ok = ok && realloc(r, 0) == NULL;
    errno = 0;
    volatile size_t too_big = SIZE_MAX - 4096; /* hidden from GCC's size warnings */
    void *huge = malloc(too_big);
    report("realloc", ok && huge == NULL && errno == ENOMEM, "contents lost or bad edge case");

    ok = true;
    for (size_t a = sizeof(void *); a <= (4u << 20) && ok; a <<= 1) {
        void *p = NULL;
        ok = posix_memalign(&p, a, 3 * a / 2 + 1) == 0 && aligned_to(p, a);
        free(p);
        void *q = aligned_alloc(a, a);
        void *m = memalign(a, 10);
        ok = ok && q && m && aligned_to(q, a) && aligned_to(m, a);
        free(q);
        free(m);
    }
    void *bad = NULL;
    ok = ok && posix_memalign(&bad, 24, 8) == EINVAL;
    long page = sysconf(_SC_PAGESIZE);
    void *v = valloc(10), *pv = pvalloc(10);
    ok = ok && v && pv && aligned_to(v, (size_t)page) && aligned_to(pv, (size_t)page) &&
         malloc_usable_size(pv) >= (size_t)page;
    free(v);
    free(pv);
    report("aligned", ok, "misaligned or wrong error");
}

/* ---- blocks handed between threads ---------------------------------------- */
#define RING 64
#define HANDOFFS 20000

struct ring {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct { unsigned char *p; size_t n; uint64_t tag; } slot[RING];
    unsigned head, tail;
    bool bad;
};

static struct ring ring = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER };

static void *producer(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 7919 + 1;
    for (unsigned i = 0; i < HANDOFFS; i++) {
        size_t n = 1 + next_random(&seed) % (next_random(&seed) % 16 == 0 ? 70000 : 600);
        uint64_t tag = next_random(&seed);
        unsigned char *p = malloc(n);
        if (!p) {
            ring.bad = true;
            continue;
        }
        fill(p, n, tag);
        pthread_mutex_lock(&ring.lock);
        while (ring.head - ring.tail == RING)
            pthread_cond_wait(&ring.changed, &ring.lock);
        ring.slot[ring.head % RING].p = p;
        ring.slot[ring.head % RING].n = n;
        ring.slot[ring.head % RING].tag = tag;
        ring.head++;
        pthread_cond_broadcast(&ring.changed);
        pthread_mutex_unlock(&ring.lock);
    }
    return NULL;
}

static void *consumer(void *unused)
{
    (void)unused;
    for (unsigned i = 0; i < HANDOFFS; i++) {
        pthread_mutex_lock(&ring.lock);
        while (ring.head == ring.tail)
            pthread_cond_wait(&ring.changed, &ring.lock);
        unsigned char *p = ring.slot[ring.tail % RING].p;
        size_t n = ring.slot[ring.tail % RING].n;
        uint64_t tag = ring.slot[ring.tail % RING].tag;
        ring.tail++;
        pthread_cond_broadcast(&ring.changed);
        pthread_mutex_unlock(&ring.lock);
        if (!intact(p, n, tag))
            ring.bad = true;
        free(p); /* usually a block of another thread's heap */
    }
    return NULL;
}

static void check_handoff(void)
{
    pthread_t t[6];
    for (uintptr_t i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, i % 2 ? consumer : producer, (void *)i);
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    report("handoff", !ring.bad && ring.head == 3 * HANDOFFS && ring.tail == ring.head,
           "a handed-over block changed or went missing");
}

/* ---- thousands of short-lived threads ------------------------------------- */
#define WAVES 400
#define WAVE_THREADS 8

struct short_lived {
    unsigned char *inherited; /* from the previous wave: check and free */
    size_t inherited_n;
    uint64_t inherited_tag;
    unsigned char *left; /* for the next wave */
    size_t left_n;
    uint64_t left_tag;
    bool bad;
};

static void *short_lived(void *arg)
{
    struct short_lived *s = arg;
    if (s->inherited && !intact(s->inherited, s->inherited_n, s->inherited_tag))
        s->bad = true;
    free(s->inherited);
    uint64_t seed = (uintptr_t)s ^ s->inherited_tag;
    void *mine[32];
    for (int i = 0; i < 32; i++) {
        mine[i] = malloc(1 + next_random(&seed) % 2000);
        s->bad |= mine[i] == NULL;
    }
    for (int i = 0; i < 32; i++)
        free(mine[i]);
    s->left_n = 1 + next_random(&seed) % 5000;
    s->left_tag = next_random(&seed);
    s->left = malloc(s->left_n);
    if (s->left)
        fill(s->left, s->left_n, s->left_tag);
    else
        s->bad = true;
    return NULL;
}

static void check_short_lived_threads(void)
{
    static struct short_lived s[WAVE_THREADS];
    bool bad = false;
    for (unsigned wave = 0; wave < WAVES; wave++) {
        pthread_t t[WAVE_THREADS];
        for (unsigned i = 0; i < WAVE_THREADS; i++) {
            /* Hand each block to a different thread of the next wave. */
            struct short_lived *from = &s[(i + 1) % WAVE_THREADS];
            s[i].inherited = from->left;
            s[i].inherited_n = from->left_n;
            s[i].inherited_tag = from->left_tag;
        }
        for (unsigned i = 0; i < WAVE_THREADS; i++)
            s[i].left = NULL;
        for (unsigned i = 0; i < WAVE_THREADS; i++)
            if (pthread_create(&t[i], NULL, short_lived, &s[i]) != 0)
                bad = true;
        for (unsigned i = 0; i < WAVE_THREADS; i++)
            pthread_join(t[i], NULL);
        for (unsigned i = 0; i < WAVE_THREADS; i++)
            bad |= s[i].bad;
    }
    for (unsigned i = 0; i < WAVE_THREADS; i++)
        free(s[i].left);
    report("short-lived", !bad, "a block changed, or malloc failed, in a short-lived thread");
}

/* ---- leases come back: no short-lived thread had to share ---------------- */
struct ha_stats_prefix { uint64_t allocs; uint64_t rest[6]; }; /* struct ha_stats */

static void check_slots_returned(void)
{
    int (*get_stats)(unsigned, struct ha_stats_prefix *) =
        (int (*)(unsigned, struct ha_stats_prefix *))dlsym(RTLD_DEFAULT, "ha_get_stats");
    struct ha_stats_prefix shared;
    /* Only with the default 64 slots, and for types with per-CPU statistics:
     * slot 63 is the shared one, used only by threads that found no free slot.
     * At most 14 threads have lived at once so far, out of 3200. */
    if (!get_stats || getenv("HARTALLOC_CPUS") || get_stats(63, &shared) != 0)
        return;
    report("slots-returned", shared.allocs == 0, "threads shared the last slot: leases leaked");
}

/* ---- more threads alive at once than there are slots ---------------------- */
#define CROWD 100

static pthread_barrier_t crowd_barrier;

static void *crowd_member(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 104729 + 7;
    bool bad = false;
    pthread_barrier_wait(&crowd_barrier); /* all CROWD threads are alive now */
    for (int i = 0; i < 500 && !bad; i++) {
        size_t n = 1 + next_random(&seed) % 3000;
        unsigned char *p = malloc(n);
        if (!p)
            return (void *)1;
        fill(p, n, seed);
        bad = !intact(p, n, seed);
        free(p);
    }
    pthread_barrier_wait(&crowd_barrier);
    return (void *)(uintptr_t)bad;
}

static void check_crowd(void)
{
    pthread_t t[CROWD];
    bool bad = false;
    pthread_barrier_init(&crowd_barrier, NULL, CROWD);
    for (uintptr_t i = 0; i < CROWD; i++)
        bad |= pthread_create(&t[i], NULL, crowd_member, (void *)i) != 0;
    for (int i = 0; i < CROWD; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad |= r != NULL;
    }
    pthread_barrier_destroy(&crowd_barrier);
    report("crowd", !bad, "a block changed or malloc failed with 100 threads alive");
}

/* ---- fork while other threads allocate ------------------------------------ */
#define FORKS 40

#define PUBLISHED 8
#define PUBLISHED_SIZE 100

static int hammering;
/* Blocks of the hammering threads' heaps, each filled with its index: a
 * child of fork frees them (remote frees into heaps that no thread of the
 * child owns). */
static unsigned char *published[PUBLISHED];

static void *hammer(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 31 + 5;
    void *held[64] = { 0 };
    while (__atomic_load_n(&hammering, __ATOMIC_RELAXED)) {
        for (int i = 0; i < 64; i++) {
            free(held[i]);
            held[i] = malloc(1 + next_random(&seed) % (i % 8 ? 2000 : 300000));
        }
        unsigned k = (unsigned)(next_random(&seed) % PUBLISHED);
        unsigned char *p = malloc(PUBLISHED_SIZE);
        fill(p, PUBLISHED_SIZE, k);
        free(__atomic_exchange_n(&published[k], p, __ATOMIC_ACQ_REL));
    }
    for (int i = 0; i < 64; i++)
        free(held[i]);
    return NULL;
}

/* A thread of the child: allocates, checks and frees with a heap of its own
 * (never one that a thread of the parent was using at the fork). */
static void *child_worker(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 7 + 3;
    for (int i = 0; i < 2000; i++) {
        size_t n = 1 + next_random(&seed) % 3000;
        unsigned char *p = malloc(n);
        if (!p)
            return (void *)1;
        fill(p, n, n + i);
        bool ok = intact(p, n, n + i);
        free(p);
        if (!ok)
            return (void *)1;
    }
    return NULL;
}

/* A thread with a stack large enough that glibc trims its stack cache when
 * it exits, unmapping the stacks of the parent's threads that the child
 * inherited (where their per-thread allocator state was). */
static void *big_stack_worker(void *arg)
{
    (void)arg;
    free(malloc(100));
    return NULL;
}

/* The child's checks: its own allocations, the published blocks freed into
 * their parent-side heaps, three new threads, then a fork of its own after
 * its inherited threads' stacks are gone (the grandchild allocates). 0 when
 * all is well. */
static int child_after_fork(void)
{
    for (size_t n = 1; n < 400000; n = n * 2 + 1) {
        unsigned char *p = malloc(n);
        if (!p)
            return 2;
        fill(p, n, n);
        bool ok = intact(p, n, n);
        free(p);
        if (!ok)
            return 1;
    }
    for (unsigned k = 0; k < PUBLISHED; k++) {
        unsigned char *p = __atomic_exchange_n(&published[k], NULL, __ATOMIC_ACQ_REL);
        if (p && !intact(p, PUBLISHED_SIZE, k))
            return 3;
        free(p);
    }
    pthread_t t[3];
    for (uintptr_t i = 0; i < 3; i++)
        if (pthread_create(&t[i], NULL, child_worker, (void *)i) != 0)
            return 4;
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad |= r != NULL;
    }
    if (bad)
        return 5;
    pthread_attr_t big;
    pthread_t b;
    pthread_attr_init(&big);
    pthread_attr_setstacksize(&big, (size_t)64 << 20);
    if (pthread_create(&b, &big, big_stack_worker, NULL) != 0)
        return 6;
    pthread_join(b, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        for (size_t n = 1; n < 100000; n = n * 3 + 1) {
            unsigned char *p = malloc(n);
            if (!p)
                _exit(2);
            fill(p, n, n);
            bool ok = intact(p, n, n);
            free(p);
            if (!ok)
                _exit(1);
        }
        _exit(0);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 7;
    return 0;
}

/* The child must find every lock free and its heap whole: it allocates,
 * checks and frees, frees blocks its parent's other threads published, runs
 * threads of its own, and exits 0. A lock held across fork hangs it instead
 * (test-host-preload runs this under a timeout). */
static void check_fork(void)
{
    pthread_t t[3];
    bool bad = false;
    __atomic_store_n(&hammering, 1, __ATOMIC_RELAXED);
    for (uintptr_t i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, hammer, (void *)i);
    for (int k = 0; k < FORKS && !bad; k++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(child_after_fork());
        int status;
        bad = pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
              WEXITSTATUS(status) != 0;
    }
    __atomic_store_n(&hammering, 0, __ATOMIC_RELAXED);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    for (unsigned k = 0; k < PUBLISHED; k++)
        free(published[k]);
    report("fork", !bad, "a child of fork failed to allocate, found a block changed, or failed to run threads");
}

int main(int argc, char **argv)
{
    check_active(argc > 1 ? argv[1] : "");
    check_api();
    check_handoff();
    check_short_lived_threads();
    check_slots_returned();
    check_crowd();
    check_fork();
    return failures != 0;
}
