/* alloc_suite.c - the `alloc` suite: the ABI of hartalloc.h as a list of
 * behaviours, the same for every alloc_type, on host threads and on harts.
 * ha_check() runs after every case (TH_SUITE_USES_ALLOCATOR). */
#include "alloc_cases.h"

static const struct th_case alloc_cases[] = {
    /* names and arguments (alloc_abi.c) */
    { "names", ta_names },
    { "error_text", ta_error_text },
    { "init_twice_rejected", ta_init_twice_rejected },
    { "add_memory_bad_args", ta_add_memory_bad_args },
    { "add_memory_used", ta_add_memory_used },
    { "add_memory_overlap", ta_add_memory_overlap },
    { "null_ignored", ta_null_ignored },
    /* sizes and alignment (alloc_abi.c) */
    { "size_zero", ta_size_zero },
    { "every_small_size", ta_every_small_size },
    { "powers_of_two", ta_powers_of_two },
    { "class_boundaries", ta_class_boundaries },
    { "usable_fits_request", ta_usable_fits_request },
    { "huge", ta_huge },
    { "too_large", ta_too_large },
    { "alignment", ta_alignment },
    { "bad_alignment", ta_bad_alignment },
    /* realloc, zeroed memory, ha_free (alloc_realloc.c) */
    { "realloc_chain", ta_realloc_chain },
    { "realloc_moves", ta_realloc_moves },
    { "realloc_within_usable", ta_realloc_within_usable },
    { "realloc_aligned", ta_realloc_aligned },
    { "realloc_fail_keeps_block", ta_realloc_fail_keeps_block },
    { "zeroed_after_reuse", ta_zeroed_after_reuse },
    { "large_reuse", ta_large_reuse },
    { "zeroed_after_pages", ta_zeroed_after_pages },
    { "free_without_layout", ta_free_without_layout },
    /* pages, usage, statistics, out of memory (alloc_accounting.c) */
    { "pages", ta_pages },
    { "pages_bad_args", ta_pages_bad_args },
    { "pages_and_bytes_share", ta_pages_and_bytes_share },
    { "used_bytes_exact", ta_used_bytes_exact },
    { "stats_counts", ta_stats_counts },
    { "lone_large_gives_back", ta_lone_large_gives_back },
    { "oom_recovers", ta_oom_recovers },
    /* every CPU at once (alloc_stress.c) */
    { "churn", ta_churn },
    { "cross_cpu_free", ta_cross_cpu_free },
    { "cross_cpu_realloc", ta_cross_cpu_realloc },
    { "ring_handoff", ta_ring_handoff },
    { "full_page_handoff", ta_full_page_handoff },
    { "huge_and_pages_concurrent", ta_huge_and_pages_concurrent },
    { "oom_all_cpus", ta_oom_all_cpus },
};

const struct th_suite th_suite_alloc = {
    .name = "alloc",
    .what = "the hartalloc.h ABI for every alloc_type: sizes, alignment, realloc, pages, OOM, cross-CPU frees",
    .cases = TH_CASES(alloc_cases),
    .flags = TH_SUITE_USES_ALLOCATOR,
};
