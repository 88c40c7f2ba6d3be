#!/bin/bash
# run.sh RUNNER TAG CPUS SUITE... - run each SUITE of a sanitizer build of
# hartalloc-test for every alloc_type at CPUS CPUs. The sanitizers stop the
# run at the first report (halt_on_error, exit code 66), which counts as a
# failure with the report's first lines shown; case lines are tagged
# [alloc,cpus=N,TAG].
set -u
runner=$1 tag=$2 cpus=$3
shift 3
export ASAN_OPTIONS=halt_on_error=1:exitcode=66:detect_leaks=0:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=66
export TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1
limit=${SAN_TIMEOUT:-300}
rc=0
allocs=$("$runner" --list-allocs) || { echo "FAIL $tag.list-allocs exit status $?"; exit 1; }
for alloc in $allocs; do
    for suite in "$@"; do
        where="[$alloc,cpus=$cpus,$tag]"
        out=$(timeout "$limit" "$runner" --alloc="$alloc" --cpus="$cpus" --suite="$suite" 2>&1)
        status=$?
        sed -nE "s/^(PASS|FAIL) ([^ ]+)/\\1 \\2$where/p" <<<"$out"
        if [ "$status" -ne 0 ]; then
            rc=1
            report=$(grep -m1 -E 'ERROR: |WARNING: ThreadSanitizer|runtime error' <<<"$out")
            echo "FAIL $tag.$suite$where exit status $status${report:+: $report}"
            grep -A25 -m1 -E 'ERROR: |WARNING: ThreadSanitizer|runtime error' <<<"$out" | sed 's/^/    /'
        fi
    done
done
exit $rc
