/*
 * thread_free.pml - a Promela model of the mi core's cross-CPU free protocol:
 * the thread_free push, the full-page hand-off and the owner's collection
 * (alloc/mi/types.h states the protocol; the code is mi/free.c, mi/page.c and
 * mi/heap.c). Checked exhaustively with Debian's spin: `make model` (larger
 * bounds), `make test` (step `model`, smaller bounds, and `model-bugs`).
 *
 * What is modelled, function by function (names as in the C code):
 *  free_remote_mt         load xthread_free; write block->next; CAS in the block,
 *                         FULL becoming NOTIFIED in the same CAS; the winner of
 *                         FULL -> NOTIFIED pushes the page (mi_heap_return_page_mt,
 *                         a Treiber push of page->returned_next).
 *  mi_free (owner)        push on local_free, used--; if in_full: unfull (requeue,
 *                         then CAS FULL -> NORMAL, which loses to NOTIFIED); if
 *                         used == 0: mi_heap_page_freed_slow (retire only when the
 *                         flag is NORMAL; whether to keep the page is chosen
 *                         nondeterministically, a superset of the real policy).
 *  fast path              pop from the free list of a queued page.
 *  mi_heap_alloc_slow     take_returned; alloc_from_queue (collect each page; pop,
 *                         or try_park_full = CAS (empty, NORMAL) -> (empty, FULL)
 *                         and move to the full queue, or on a lost CAS collect
 *                         again); else a fresh page from the segment.
 *  mi_heap_take_returned  load; exchange the stack with NULL; for each page: read
 *                         returned_next, CAS NOTIFIED -> NORMAL, requeue if in_full.
 *  mi_page_collect        take xthread_free keeping the flag (a CAS loop, i.e. an
 *                         exchange of the list part), onto local_free, used -= n;
 *                         local_free becomes free when free is empty.
 *  mi_heap_collect_all    the out-of-memory path: collect every page, requeue full
 *                         pages that have blocks, retire empty NORMAL pages.
 *
 * With LARGE=1 the heap also has a large page (mi_heap_park_large,
 * retire_large, and their cases in take_returned and collect_all): one block,
 * parked FULL as it is handed out, given back when its block comes home
 * (after a local free, or through the returned stack after a remote one).
 *
 * The world: one owner heap (CPU 0) with NPAGES pages of BPP blocks, one size
 * class; the owner allocates (at most ALLOCS times), keeps blocks or hands
 * them to two remote CPUs through mailboxes, frees locally, takes the returned
 * stack and runs collect_all, in every order; the remote CPUs free what they are
 * handed. Every access to a word other CPUs write (xthread_free, xreturned,
 * the mailboxes) is its own atomic step, as in hardware (load, CAS, exchange);
 * owner-private work is folded into those steps, which hides no interleaving
 * another CPU could observe. Steps that the C code performs as a load
 * followed by a CAS loop are one atomic step when the loop's outcome cannot
 * depend on the interleaving (an exchange); where it can (the remote push:
 * block->next is written between the load and the CAS), both are modelled.
 *
 * Properties (assertions; spin prints a trail for a violated one):
 *  - no block handed out twice: a popped block is on a free list and held by
 *    nobody (ghost holder[] and listed[]; pushing a listed block fails too);
 *  - used is exact: never decremented below 0, and used == 0 means the
 *    page's xthread_free is empty;
 *  - a page is never retired while on the returned stack or about to be
 *    pushed there, nor while a block of it is held or missing from its lists;
 *  - no block lost, no page stranded: once the remote CPUs are done and the
 *    owner has freed its blocks and taken its returned stack, every page in
 *    use is in its class queue (not the full queue), NORMAL, and after a
 *    collection holds all BPP blocks on its free list with used == 0;
 *  - every run ends (spin's invalid-end-state check): no CPU waits forever.
 *
 * Seeded bugs (`make model-bugs`, a make test step: spin must report each):
 *  BUG=1 the remote free that wins FULL -> NOTIFIED does not push the page
 *  BUG=2 try_park_full sets FULL with a blind store, not a CAS against an
 *        empty xthread_free (a remote free landing in between is never seen)
 *  BUG=3 a local free into a full page does not requeue it
 *  BUG=4 take_returned takes the stack with a load and a store, not an exchange
 *  BUG=5 mi_page_collect takes xthread_free with a load and a store
 *  BUG=6 mi_heap_page_freed_slow retires without looking at the flag
 *  BUG=7 (LARGE=1) retire_large retires a NOTIFIED large page
 *  BUG=8 (LARGE=1) take_returned does not retire the large page it took
 *
 * Not modelled: weak memory ordering (spin explores sequentially consistent
 * interleavings; the acquire/release orders of the C code are argued there),
 * several heaps owning pages (each page has one owner; other owners only act
 * as remote CPUs), several size classes, lazy carving (capacity == reserved),
 * huge blocks, the checked build's bookkeeping, ABA on a page reused after
 * retirement while a remote CPU still holds a stale pointer to it (impossible
 * here: a remote CPU only touches a page through a block it holds, and a held
 * block keeps used > 0). Interrupt handlers run with interrupts masked, i.e.
 * as one more owner operation between two others, which the model includes.
 */

#ifndef NPAGES
#define NPAGES 2
#endif
#ifndef BPP
#define BPP 2 /* blocks per page */
#endif
#ifndef ALLOCS
#define ALLOCS 5 /* owner allocations before it winds down */
#endif
#ifndef BUG
#define BUG 0
#endif

#ifndef LARGE
#define LARGE 0 /* 1: also one large page (a single block, parked FULL at once) */
#endif

#define NBLOCKS (NPAGES * BPP)
#define NPG (NPAGES + LARGE)   /* pages, the large one last                */
#define NBL (NBLOCKS + LARGE)  /* blocks, the large page's block last      */
#define LP NPAGES              /* the large page                           */
#define LB NBLOCKS             /* its block                                */
#define NREMOTE 2
#define NIL 255

/* The flag in the two low bits of xthread_free (enum mi_full_state). */
#define NORMAL 0
#define FULL 1
#define NOTIFIED 2

/* Ghost holder of a block: NOBODY (free), the OWNER, or remote CPU r as 2 + r. */
#define NOBODY 0
#define OWNER 1

#define PAGE_OF(b) ((b) >= NBLOCKS -> LP : (b) / BPP)

byte next[NBL];      /* a free block's link (block->next)                  */
byte holder[NBL];    /* ghost: who holds the block                         */
bool listed[NBL];    /* ghost: on one of its page's lists                  */

local byte free_head[NPG] = NIL;  /* owner: page->free                                  */
local byte local_head[NPG] = NIL; /* owner: page->local_free                            */
local byte used[NPG];       /* owner: page->used                                  */
local bool in_use[NPG];     /* owner: page->in_use (false: back in the segment)   */
local bool in_queue[NPG];   /* owner: on the class queue                          */
local bool in_full[NPG];    /* owner: on the full queue (page->in_full)           */
byte tf_head[NPG];    /* page->xthread_free is the pair (tf_head, tf_flag)  */
byte tf_flag[NPG];
byte ret_next[NPG];   /* page->returned_next                                */
byte ret_head = NIL;     /* heap->xreturned                                    */
bool on_stack[NPG];   /* ghost: pushed and not yet taken                    */
bool pending[NPG];    /* ghost: won FULL -> NOTIFIED, push not yet done     */

chan mbox[NREMOTE] = [1] of { byte };
bool owner_done;
byte remotes_done;

/* ---- owner ----------------------------------------------------------------- */

inline push_list(head, b)
{
    assert(!listed[b]);
    listed[b] = true;
    next[b] = head;
    head = b
}

/* Pop page p's free list into b (fast path and pop()). */
inline pop_free(p, b)
{
    b = free_head[p];
    free_head[p] = next[b];
    assert(listed[b] && holder[b] == NOBODY && PAGE_OF(b) == p);
    listed[b] = false;
    holder[b] = OWNER;
    used[p]++
}

/* mi_page_collect(p), in two parts: take_thread_free is the one atomic step
 * on xthread_free (a CAS loop taking the list part, i.e. an exchange that keeps
 * the flag); collect_into_free is the owner-private rest. */
inline take_thread_free(p)
{
#if BUG == 5
    h = tf_head[p];
    tf_head[p] = NIL
#else
    atomic { h = tf_head[p]; tf_head[p] = NIL }
#endif
}

inline collect_into_free(p)
{
    do
    :: h != NIL ->
        assert(used[p] > 0);
        used[p]--;
        nb = next[h];
        next[h] = local_head[p];
        local_head[p] = h;
        h = nb
    :: else -> break
    od;
    nb = 0;
    if
    :: free_head[p] == NIL -> free_head[p] = local_head[p]; local_head[p] = NIL
    :: else -> skip
    fi
}

/* collect page p and pop a block into b if it has one. */
inline collect_and_pop(p, b)
{
    take_thread_free(p);
    atomic {
        collect_into_free(p);
        if
        :: free_head[p] != NIL -> pop_free(p, b)
        :: else -> skip
        fi
    }
}

/* Retire page p (mi_segment_page_free): check it is really empty. */
inline retire(p)
{
    assert(!on_stack[p] && !pending[p]);
    assert(tf_head[p] == NIL);
    t = 0;
    h = free_head[p];
    do
    :: h != NIL -> assert(PAGE_OF(h) == p && listed[h] && holder[h] == NOBODY); t++; h = next[h]
    :: else -> break
    od;
    h = local_head[p];
    do
    :: h != NIL -> assert(PAGE_OF(h) == p && listed[h] && holder[h] == NOBODY); t++; h = next[h]
    :: else -> break
    od;
    assert(t == BPP);
    t = 0;
    do
    :: t < BPP -> listed[p * BPP + t] = false; t++
    :: else -> break
    od;
    free_head[p] = NIL;
    local_head[p] = NIL;
    in_queue[p] = false;
    in_full[p] = false;
    in_use[p] = false;
    t = 0;
    h = NIL
}

/* mi_heap_take_returned. */
inline take_returned()
{
#if BUG == 4
    q = ret_head;
    ret_head = NIL;
#else
    atomic { q = ret_head; ret_head = NIL };
#endif
    atomic {
        p = q;
        do
        :: p != NIL -> on_stack[p] = false; p = ret_next[p]
        :: else -> break
        od
    };
    do
    :: q != NIL ->
        atomic {
            p = q;
            q = ret_next[p];
            ret_next[p] = NIL;
            assert(in_use[p]);
            assert(tf_flag[p] == NOTIFIED); /* set_full_state(NOTIFIED, NORMAL) */
            tf_flag[p] = NORMAL;
            if
            :: p != LP && in_full[p] -> in_full[p] = false; in_queue[p] = true /* requeue */
            :: else -> skip
            fi
        };
#if LARGE
        if
        :: p == LP -> /* its one block came back: collect, retire */
            take_thread_free(p);
            atomic {
                collect_into_free(p);
                if
#if BUG == 8
                :: used[p] == 0 -> skip
#else
                :: used[p] == 0 -> retire_large_page()
#endif
                :: else -> assert(tf_flag[p] == NORMAL); tf_flag[p] = FULL
                fi
            }
        :: else -> skip
        fi;
#endif
        p = 0
    :: else -> break
    od
}

/* ha_alloc on the owner: fast path, else mi_heap_alloc_slow. b = NIL when out
 * of memory. */
inline owner_alloc(b)
{
    atomic {
        b = NIL;
        p = 0;
        do
        :: p < NPAGES && in_queue[p] && free_head[p] != NIL -> pop_free(p, b); break
        :: p < NPAGES && !(in_queue[p] && free_head[p] != NIL) -> p++
        :: p == NPAGES -> break
        od;
        p = 0
    };
    if
    :: b == NIL ->
        take_returned();
        /* alloc_from_queue */
        p = 0;
        do
        :: p < NPAGES && b == NIL ->
            if
            :: in_queue[p] ->
                collect_and_pop(p, b);
                if
                :: b == NIL ->
                    /* try_park_full */
                    atomic {
                        assert(tf_flag[p] != FULL); /* a queued page is NORMAL or NOTIFIED */
#if BUG == 2
                        ok = (tf_flag[p] == NORMAL);
                        if
                        :: ok -> tf_flag[p] = FULL
                        :: else -> skip
                        fi;
#else
                        ok = (tf_head[p] == NIL && tf_flag[p] == NORMAL);
                        if
                        :: ok -> tf_flag[p] = FULL
                        :: else -> skip
                        fi;
#endif
                        if
                        :: ok -> in_queue[p] = false; in_full[p] = true
                        :: else -> skip
                        fi
                    };
                    if
                    :: !ok -> collect_and_pop(p, b) /* remote frees raced with us */
                    :: else -> skip
                    fi;
                    ok = false
                :: else -> skip
                fi
            :: else -> skip
            fi;
            p++
        :: else -> break
        od;
        /* mi_segment_page_alloc: a fresh page */
        atomic {
            p = 0;
            do
            :: b == NIL && p < NPAGES && in_use[p] -> p++
            :: b == NIL && p < NPAGES && !in_use[p] ->
                assert(tf_head[p] == NIL && tf_flag[p] == NORMAL && used[p] == 0);
                in_use[p] = true;
                in_queue[p] = true;
                t = 0;
                do
                :: t < BPP -> push_list(free_head[p], p * BPP + t); t++
                :: else -> break
                od;
                pop_free(p, b);
                t = 0
            :: b != NIL || p == NPAGES -> break
            od;
            p = 0
        }
    :: else -> skip
    fi
}

/* ---- the large page (LARGE=1): one block; mi_heap_park_large parks it FULL
 * when it is handed out, so the free of its block, local or remote, is what
 * brings it back. */

/* Give the large page back (mi_segment_page_free): its block is home. */
inline retire_large_page()
{
    assert(!on_stack[LP] && !pending[LP] && tf_head[LP] == NIL && used[LP] == 0);
    assert(holder[LB] == NOBODY && listed[LB]);
    assert(free_head[LP] == LB || local_head[LP] == LB);
    listed[LB] = false;
    free_head[LP] = NIL;
    local_head[LP] = NIL;
    in_full[LP] = false;
    in_use[LP] = false
}

/* ha_alloc of a large block: a fresh large page, parked FULL at once. */
inline owner_alloc_large(b)
{
    atomic {
        if
        :: !in_use[LP] ->
            assert(tf_head[LP] == NIL && used[LP] == 0);
            in_use[LP] = true;
            used[LP] = 1;
            tf_flag[LP] = FULL; /* mi_store_relaxed: nobody else knows the page yet */
            in_full[LP] = true;
            b = LB;
            holder[b] = OWNER
        :: else -> b = NIL
        fi
    }
}

/* retire_large: FULL -> NORMAL (a CAS), else the flag must already be NORMAL;
 * a NOTIFIED page is on (or on its way to) the stack: take_returned retires it. */
inline retire_large()
{
    atomic {
        if
        :: tf_flag[LP] == FULL -> tf_flag[LP] = NORMAL; ok = true
        :: else -> ok = false
        fi
    };
    atomic {
        if
        :: !ok -> ok = (tf_flag[LP] == NORMAL)
        :: else -> skip
        fi;
#if BUG == 7
        ok = true
#endif
    };
    atomic {
        if
        :: ok -> retire_large_page()
        :: else -> skip
        fi;
        ok = false
    }
}

/* mi_free of a block b the owner holds. */
inline owner_free(b)
{
    p = PAGE_OF(b);
#if LARGE
    if
    :: p == LP ->
        atomic {
            assert(holder[b] == OWNER);
            holder[b] = NOBODY;
            push_list(local_head[p], b);
            used[p]--
        };
        retire_large()
    :: else ->
#endif
    atomic {
        assert(holder[b] == OWNER);
        holder[b] = NOBODY;
        push_list(local_head[p], b);
        assert(used[p] > 0);
        used[p]--;
#if BUG != 3
        if
        :: in_full[p] -> /* mi_heap_page_unfull: requeue, then FULL -> NORMAL */
            in_full[p] = false;
            in_queue[p] = true;
            if
            :: tf_flag[p] == FULL -> tf_flag[p] = NORMAL
            :: else -> skip /* NOTIFIED: on (or on its way to) the stack */
            fi
        :: else -> skip
        fi
#endif
    };
    if
    :: used[p] == 0 -> /* mi_heap_page_freed_slow */
        atomic {
            assert(tf_head[p] == NIL); /* used counts the remote list too */
#if BUG == 6
            if
            :: in_queue[p] -> retire(p)
            :: skip
            fi
#else
            if
            :: tf_flag[p] == NORMAL && in_queue[p] -> retire(p)
            :: skip /* keep it (the only page of its class) or flag not NORMAL */
            fi
#endif
        }
    :: else -> skip
    fi
#if LARGE
    fi
#endif
    ;
    p = 0
}

/* mi_heap_collect_all (out of memory): every page of the heap's queues. */
inline collect_all()
{
    take_returned();
    r = 0;
    do
    :: r < NPAGES ->
        if
        :: in_queue[r] || in_full[r] ->
            take_thread_free(r);
            atomic {
                collect_into_free(r);
                if
                :: in_full[r] && free_head[r] != NIL ->
                    in_full[r] = false; in_queue[r] = true;
                    if
                    :: tf_flag[r] == FULL -> tf_flag[r] = NORMAL
                    :: else -> skip
                    fi
                :: else -> skip
                fi
            };
            if
            :: used[r] == 0 ->
                atomic {
                    if
                    :: in_full[r] && tf_flag[r] == FULL -> tf_flag[r] = NORMAL; ok = true
                    :: in_full[r] && tf_flag[r] != FULL -> ok = false
                    :: else -> ok = true
                    fi
                };
                atomic {
                    if
                    :: ok && tf_flag[r] == NORMAL -> retire(r)
                    :: else -> skip
                    fi;
                    ok = false
                }
            :: else -> skip
            fi
        :: else -> skip
        fi;
        r++
    :: else -> break
    od;
#if LARGE
    if
    :: in_use[LP] ->
        take_thread_free(LP);
        atomic { collect_into_free(LP) };
        if
        :: used[LP] == 0 -> retire_large()
        :: else -> skip
        fi
    :: else -> skip
    fi;
#endif
    r = 0
}

proctype Owner()
{
    byte b, p, h, t, q, nb, r, allocs;
    bool ok;
    do
    :: allocs < ALLOCS -> allocs++; owner_alloc(b); b = NIL
    :: allocs < ALLOCS && nfull(mbox[0]) ->
        allocs++;
        owner_alloc(b);
        if
        :: b != NIL -> atomic { holder[b] = 2; mbox[0] ! b; b = NIL }
        :: else -> skip
        fi
    :: allocs < ALLOCS && nfull(mbox[1]) ->
        allocs++;
        owner_alloc(b);
        if
        :: b != NIL -> atomic { holder[b] = 3; mbox[1] ! b; b = NIL }
        :: else -> skip
        fi
#if LARGE
    :: allocs < ALLOCS -> allocs++; owner_alloc_large(b); b = NIL
    :: allocs < ALLOCS && nfull(mbox[0]) ->
        allocs++;
        owner_alloc_large(b);
        if
        :: b != NIL -> atomic { holder[b] = 2; mbox[0] ! b; b = NIL }
        :: else -> skip
        fi
#endif
    :: atomic { select(b : 0 .. NBL - 1); ok = (holder[b] == OWNER) };
        if
        :: ok -> ok = false; owner_free(b)
        :: else -> skip
        fi;
        b = NIL
    :: take_returned()
    :: collect_all()
    :: break
    od;
    owner_done = true;

    /* Wind down: free what we hold, wait for the remote CPUs, take the stack. */
    b = 0;
    do
    :: b < NBL ->
        if
        :: holder[b] == OWNER -> owner_free(b)
        :: else -> skip
        fi;
        b++
    :: else -> break
    od;
    remotes_done == NREMOTE;
    take_returned();

    /* Quiescent: no page stranded, no block lost. */
    assert(ret_head == NIL);
#if LARGE
    assert(!in_use[LP]); /* its block came back: the large page was given back, not stranded */
#endif
    r = 0;
    do
    :: r < NPAGES ->
        if
        :: in_use[r] ->
            assert(in_queue[r] && !in_full[r]); /* reachable by alloc: not stranded */
            assert(tf_flag[r] == NORMAL);
            take_thread_free(r);
            collect_into_free(r);
            if
            :: free_head[r] != NIL && local_head[r] != NIL ->
                h = local_head[r]; /* splice the rest to count it */
                do
                :: h != NIL -> nb = next[h]; next[h] = free_head[r]; free_head[r] = h; h = nb
                :: else -> break
                od;
                local_head[r] = NIL
            :: else -> skip
            fi;
            assert(used[r] == 0);
            t = 0;
            h = free_head[r];
            do
            :: h != NIL -> assert(listed[h] && PAGE_OF(h) == r && holder[h] == NOBODY); t++; h = next[h]
            :: else -> break
            od;
            assert(t == BPP) /* every block is back */
        :: else -> skip
        fi;
        r++
    :: else -> break
    od
}

/* A remote CPU: free_remote_mt for every block it is handed. */
proctype Remote(byte r)
{
    byte b, p, h, f, q;
    bool ok;
    do
    :: mbox[r] ? b ->
        p = PAGE_OF(b);
        atomic { h = tf_head[p]; f = tf_flag[p] }; /* mi_load_relaxed */
        do
        :: next[b] = h;                            /* block->next = old head */
            atomic {                               /* mi_cas_weak_release */
                if
                :: tf_head[p] == h && tf_flag[p] == f ->
                    assert(holder[b] == 2 + r && !listed[b]);
                    holder[b] = NOBODY;
                    listed[b] = true;
                    tf_head[p] = b;
                    if
                    :: f == FULL -> tf_flag[p] = NOTIFIED; pending[p] = true
                    :: else -> skip
                    fi;
                    ok = true
                :: else -> h = tf_head[p]; f = tf_flag[p]; ok = false
                fi
            };
            if
            :: ok -> break
            :: else -> skip
            fi
        od;
#if BUG != 1
        if
        :: f == FULL ->   /* mi_heap_return_page_mt */
            q = ret_head;
            do
            :: ret_next[p] = q;
                atomic {
                    if
                    :: ret_head == q -> ret_head = p; on_stack[p] = true; pending[p] = false; ok = true
                    :: else -> q = ret_head; ok = false
                    fi
                };
                if
                :: ok -> break
                :: else -> skip
                fi
            od
        :: else -> skip
        fi;
#endif
        atomic { b = 0; p = 0; h = 0; f = 0; q = 0; ok = false }
    :: atomic { empty(mbox[r]) && owner_done -> break }
    od;
    remotes_done++
}

init
{
    byte i;
    atomic {
        i = 0;
        do
        :: i < NPG ->
            tf_head[i] = NIL; ret_next[i] = NIL;
            i++
        :: else -> break
        od;
        i = 0;
        do
        :: i < NBL -> next[i] = NIL; i++
        :: else -> break
        od;
        run Owner();
        run Remote(0);
        run Remote(1)
    }
}
