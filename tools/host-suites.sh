#!/bin/bash
# host-suites.sh RUNNER - the test-host-suites step: every suite of RUNNER
# (build/host/hartalloc-test) that uses the allocator, for every alloc_type,
# at 1 and 4 CPUs; then the runner's own failure paths. Prints PASS/FAIL
# lines for tools/test-all.sh and exits non-zero if any failed.
#   HOST_SUITE_CPUS="1 4"  CPU counts    HOST_SUITE_TIMEOUT=300  seconds per run
set -u
runner=$1
cpus_list=${HOST_SUITE_CPUS:-1 4}
limit=${HOST_SUITE_TIMEOUT:-300}
failed=0

fail() { echo "FAIL $*"; failed=1; }

allocs=$("$runner" --list-allocs) || { fail "host.runner.list-allocs exit status $?"; exit 1; }
suites=$("$runner" --list-allocator-suites) || { fail "host.runner.list-suites exit status $?"; exit 1; }
[ -n "$suites" ] || fail "host.runner.list-suites no suite uses the allocator"

for alloc in $allocs; do
    for suite in $suites; do
        [ "$suite" = fail ] && continue
        for cpus in $cpus_list; do
            where="[$alloc,cpus=$cpus]"
            out=$(timeout "$limit" "$runner" --alloc="$alloc" --cpus="$cpus" --suite="$suite" 2>&1)
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
        done
    done
done

# The runner must report failure, not just print it.
out=$("$runner" --alloc=mi --cpus=2 --suite=fail 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -q '^FAIL fail\.' <<<"$out"; then
    echo "PASS host.runner.fail-suite-exits-nonzero"
else
    fail "host.runner.fail-suite-exits-nonzero exit status $rc for a failing suite"
fi

# Unknown names: exit status 2 and the list of valid names.
out=$("$runner" --alloc=nonsense --cpus=1 --suite="${suites%%$'\n'*}" 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && grep -q "valid names: $(head -n1 <<<"$allocs")," <<<"$out"; then
    echo "PASS host.runner.unknown-alloc"
else
    fail "host.runner.unknown-alloc exit status $rc: $out"
fi
out=$("$runner" --alloc=mi --cpus=1 --suite=nonsense 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && grep -q "valid names: .*${suites%%$'\n'*}" <<<"$out"; then
    echo "PASS host.runner.unknown-suite"
else
    fail "host.runner.unknown-suite exit status $rc: $out"
fi
exit $failed
