#!/bin/bash
# test-all.sh STEP... - run each make target STEP, keep its log under
# build/test-logs/, and count results.
#
# A step prints PASS/FAIL lines of its own cases; those are counted. A step
# that exits non-zero without printing a FAIL line counts as one failure, so a
# crash or a hang (the QEMU runner's timeout) is never lost.
set -u
LOGDIR=${LOGDIR:-build/test-logs}
mkdir -p "$LOGDIR"
passed=0
failed=0
for step in "$@"; do
    log="$LOGDIR/$step.log"
    start=$(date +%s)
    make --no-print-directory -s "$step" >"$log" 2>&1
    rc=$?
    p=$(grep -c '^PASS ' "$log")
    f=$(grep -c '^FAIL ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $step exit status $rc (log: $log)" | tee -a "$log"
        tail -n 20 "$log" | sed 's/^/    /'
        f=1
    fi
    grep '^FAIL ' "$log" | sed 's/^/  /'
    passed=$((passed + p))
    failed=$((failed + f))
    echo "step $step: $p passed, $f failed ($(( $(date +%s) - start )) s)"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
