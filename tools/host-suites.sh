#!/bin/bash
# host-suites.sh RUNNER [CHECKED_RUNNER] - the test-host-suites step: every
# suite of RUNNER (build/host/hartalloc-test) that uses the allocator, for
# every alloc_type, at 1 and 4 CPUs, and with CHECKED_RUNNER (the HA_CHECKED
# core) at 2 CPUs; then the runner's own failure paths. Prints PASS/FAIL
# lines for tools/test-all.sh and exits non-zero if any failed.
#   HOST_SUITE_CPUS="1 4"  HOST_SUITE_CHECKED_CPUS=2  CPU counts
#   HOST_SUITE_TIMEOUT=300  seconds per run
set -u
runner=$1
checked_runner=${2:-}
cpus_list=${HOST_SUITE_CPUS:-1 4}
checked_cpus_list=${HOST_SUITE_CHECKED_CPUS:-2}
limit=${HOST_SUITE_TIMEOUT:-300}
failed=0

fail() { echo "FAIL $*"; failed=1; }

allocs=$("$runner" --list-allocs) || { fail "host.runner.list-allocs exit status $?"; exit 1; }
suites=$("$runner" --list-allocator-suites) || { fail "host.runner.list-suites exit status $?"; exit 1; }
[ -n "$suites" ] || fail "host.runner.list-suites no suite uses the allocator"

# run_suites RUNNER TAG CPUS...: every suite x alloc_type x CPUS on RUNNER.
run_suites() {
    local bin=$1 tag=$2
    shift 2
    for alloc in $allocs; do
        for suite in $suites; do
            [ "$suite" = fail ] && continue
            for cpus in "$@"; do
                run_one "$bin" "$alloc" "$suite" "$cpus" "[$alloc,cpus=$cpus$tag]"
            done
        done
    done
}

# run_one RUNNER ALLOC SUITE CPUS TAG: one run, its results tagged.
run_one() {
    local bin=$1 alloc=$2 suite=$3 cpus=$4 where=$5 out rc
    out=$(timeout "$limit" "$bin" --alloc="$alloc" --cpus="$cpus" --suite="$suite" 2>&1)
    rc=$?
    # Tag each result with its run, so one case under two allocators
    # stays two lines; anything else (check reports) is indented.
    sed -E "s/^(PASS|FAIL) ([^ ]+)/\1 \2$where/; t; s/^/    /" <<<"$out" |
        grep -v '^    [0-9]* passed, [0-9]* failed$'
    if [ "$rc" -ne 0 ]; then
        failed=1
        grep -q '^FAIL ' <<<"$out" ||
            echo "FAIL host.$suite$where exit status $rc$([ "$rc" = 124 ] && echo ' (timeout)')"
    fi
}

run_suites "$runner" "" $cpus_list
if [ -n "$checked_runner" ]; then
    run_suites "$checked_runner" ",checked" $checked_cpus_list
fi

# expect_exit NAME STATUS PATTERN ARGS...: the runner run with ARGS must exit
# with STATUS ("nonzero" for any failure) and print a line matching PATTERN.
expect_exit() {
    local name=$1 want=$2 pattern=$3 out rc
    shift 3
    out=$("$runner" "$@" 2>&1)
    rc=$?
    if { [ "$want" = nonzero ] && [ "$rc" -ne 0 ] || [ "$rc" = "$want" ]; } && grep -q "$pattern" <<<"$out"; then
        echo "PASS host.runner.$name"
    else
        fail "host.runner.$name exit status $rc (expected $want, and a line matching '$pattern'): $out"
    fi
}

# The runner must report failure, not just print it.
expect_exit fail-suite-exits-nonzero nonzero '^FAIL fail\.' --alloc=mi --cpus=2 --suite=fail
# Unknown names: exit status 2 and the list of valid names.
expect_exit unknown-alloc 2 "valid names: $(head -n1 <<<"$allocs")," \
    --alloc=nonsense --cpus=1 --suite="${suites%%$'\n'*}"
expect_exit unknown-suite 2 "valid names: .*${suites%%$'\n'*}" --alloc=mi --cpus=1 --suite=nonsense
exit $failed
