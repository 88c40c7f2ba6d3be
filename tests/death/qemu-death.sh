#!/bin/bash
# qemu-death.sh KERNEL ALLOC CASE... - boot the checked kernel once per case
# (test=death-CASE) and require: a non-zero exit that is not a timeout, the
# suite's "death: pointer P expect /RE/" line, and a PANIC line whose ha_fault
# message names P and matches RE. Prints PASS/FAIL qemu-death.CASE[ALLOC].
set -u
kernel=$1 alloc=$2
shift 2
dir=build/test-logs/qemu-death
mkdir -p "$dir"
rc=0
for c in "$@"; do
    log=$dir/$alloc-$c.log
    KERNEL=$kernel ALLOC=$alloc SMP=${SMP:-2} ARGS="test=death-$c" LOG=$log QUIET=1 TIMEOUT=${TIMEOUT:-60} \
        ./tools/qemu-run.sh >/dev/null 2>&1
    status=$?
    noted=$(sed -n 's/^death: pointer \(0x[0-9a-f]*\) expect \/\(.*\)\/$/\1/p' "$log" | head -1)
    re=$(sed -n 's/^death: pointer \(0x[0-9a-f]*\) expect \/\(.*\)\/$/\2/p' "$log" | head -1)
    panic=$(grep -m1 '^PANIC .*hartalloc: pointer ' "$log")
    why=
    if [ "$status" -eq 0 ] || [ "$status" -eq 124 ]; then why="exit status $status, expected a panic"
    elif [ -z "$noted" ]; then why="no 'death: pointer' line"
    elif [ -z "$panic" ]; then why="no hartalloc fault message"
    elif ! grep -qF "hartalloc: pointer $noted:" <<<"$panic"; then why="the message does not name $noted"
    elif ! grep -qiE -- "$re" <<<"$panic"; then why="the message does not match /$re/"
    fi
    if [ -n "$why" ]; then
        echo "FAIL qemu-death.$c[$alloc] $log:1 $why${panic:+: ${panic#*: }}"
        rc=1
    else
        echo "PASS qemu-death.$c[$alloc] ${panic#*): }"
    fi
done
exit $rc
