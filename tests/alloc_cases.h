/*
 * alloc_cases.h - the shared ABI suite `alloc`: helpers and the case list.
 *
 * The suite specifies hartalloc.h for every alloc_type; the case list, in
 * order, is alloc_suite.c. Single-CPU cases (alloc_abi.c: names, arguments,
 * sizes, alignment; alloc_realloc.c: realloc, zeroed memory, ha_free;
 * alloc_accounting.c: pages, usage, statistics, out of memory) run on CPU 0
 * while the other CPUs wait. Multi-CPU cases (alloc_stress.c) run on every
 * CPU and meet with th_barrier(), so between two barriers they record
 * failures with TH_EXPECT and never return early. Every case measures its own
 * starting figures and ends with the heap back where it started: nothing is
 * assumed about the heap's capacity (the kernel adds its free RAM) or history.
 */
#ifndef TESTS_ALLOC_CASES_H
#define TESTS_ALLOC_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "hartalloc.h"

#define TA_KIB ((size_t)1 << 10)
#define TA_MIB ((size_t)1 << 20)

/* ---- contents ---------------------------------------------------------------
 * A block's pattern is a function of (tag, byte offset) only, so a prefix of
 * a block filled with a tag verifies against the same tag at any length. */
void ta_fill(void *p, size_t n, uint64_t tag);
/* Offset of the first byte of [p, p+n) that differs from the pattern, or n. */
size_t ta_verify(const void *p, size_t n, uint64_t tag);
/* The same over only the first and last `edge` bytes (all of a small block):
 * for cases that touch the whole heap, where writing every byte is too slow
 * under TCG. */
void ta_fill_ends(void *p, size_t n, uint64_t tag, size_t edge);
bool ta_ends_intact(const void *p, size_t n, uint64_t tag, size_t edge);
bool ta_is_zero(const void *p, size_t n);

static inline bool ta_aligned(const void *p, size_t align)
{
    return ((uintptr_t)p & (align - 1)) == 0;
}

/* ---- figures a case compares before and after ------------------------------ */
struct ta_usage {
    size_t used_bytes;
    size_t used_pages;
    struct ha_stats stats; /* HA_ALL_CPUS */
};
/* Read while no other CPU allocates. */
void ta_usage_now(struct ta_usage *u);

/* ---- blocks chained through their own first bytes ---------------------------
 * Cases that fill the whole heap keep their blocks in a list threaded through
 * the blocks, so no case needs storage proportional to the heap. */
struct ta_node {
    struct ta_node *next;
    size_t size;    /* as requested, >= sizeof(struct ta_node)             */
    size_t align;   /* as requested                                        */
    uint64_t tag;   /* pattern of the bytes after the node                 */
};
#define TA_NODE_ALIGN 16u /* alignment every chained block is allocated with */
#define TA_EDGE 64u       /* bytes checked at each end of a chained block      */

/* Allocate a chained block of `size` bytes, fill it, push it on *list. */
struct ta_node *ta_node_alloc(struct ta_node **list, size_t size, size_t align, uint64_t tag);
/* Check every block of the list; return the first damaged one or NULL. */
const struct ta_node *ta_list_damaged(const struct ta_node *list);
/* Check and free every block of the list (possibly on another CPU than the
 * one that allocated it). Returns the number of damaged blocks. */
size_t ta_list_free(struct ta_node *list);
/* Allocate chained blocks until the heap is exhausted: `from` bytes each until
 * that fails, then half as much, down to `to` bytes. Adds the blocks to *list
 * and returns the sum of their usable sizes; *count gets their number. At most
 * `limit` blocks (a bound, so a heap that never says NULL ends the case). */
size_t ta_exhaust(struct ta_node **list, size_t from, size_t to, uint64_t tag, size_t limit,
                  size_t *count);

/* ---- the cases ---------------------------------------------------------------- */
void ta_names(struct th_ctx *ctx);
void ta_error_text(struct th_ctx *ctx);
void ta_init_twice_rejected(struct th_ctx *ctx);
void ta_add_memory_bad_args(struct th_ctx *ctx);
void ta_add_memory_used(struct th_ctx *ctx);
void ta_add_memory_overlap(struct th_ctx *ctx);
void ta_null_ignored(struct th_ctx *ctx);
void ta_size_zero(struct th_ctx *ctx);
void ta_every_small_size(struct th_ctx *ctx);
void ta_powers_of_two(struct th_ctx *ctx);
void ta_class_boundaries(struct th_ctx *ctx);
void ta_usable_fits_request(struct th_ctx *ctx); /* alloc_fit.c */
void ta_huge(struct th_ctx *ctx);
void ta_too_large(struct th_ctx *ctx);
void ta_alignment(struct th_ctx *ctx);
void ta_bad_alignment(struct th_ctx *ctx);
void ta_realloc_chain(struct th_ctx *ctx);
void ta_realloc_moves(struct th_ctx *ctx);
void ta_realloc_within_usable(struct th_ctx *ctx);
void ta_realloc_aligned(struct th_ctx *ctx);
void ta_realloc_fail_keeps_block(struct th_ctx *ctx);
void ta_zeroed_after_reuse(struct th_ctx *ctx);
void ta_large_reuse(struct th_ctx *ctx);
void ta_zeroed_after_pages(struct th_ctx *ctx);
void ta_free_without_layout(struct th_ctx *ctx);
void ta_pages(struct th_ctx *ctx);
void ta_pages_bad_args(struct th_ctx *ctx);
void ta_pages_and_bytes_share(struct th_ctx *ctx);
void ta_used_bytes_exact(struct th_ctx *ctx);
void ta_stats_counts(struct th_ctx *ctx);
void ta_lone_large_gives_back(struct th_ctx *ctx);
void ta_oom_recovers(struct th_ctx *ctx);

void ta_churn(struct th_ctx *ctx);
void ta_cross_cpu_free(struct th_ctx *ctx);
void ta_cross_cpu_realloc(struct th_ctx *ctx);
void ta_ring_handoff(struct th_ctx *ctx);
void ta_full_page_handoff(struct th_ctx *ctx);
void ta_huge_and_pages_concurrent(struct th_ctx *ctx);
void ta_oom_all_cpus(struct th_ctx *ctx);

#endif /* TESTS_ALLOC_CASES_H */
