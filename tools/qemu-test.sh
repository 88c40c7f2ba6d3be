#!/bin/bash
# qemu-test.sh - one QEMU boot as a test, for the rv-* steps of `make test`.
#
#   qemu-test.sh pass NAME [VAR=value ...]          the boot must exit 0 with
#                                                   "N passed, 0 failed" (and
#                                                   EXPECT_LOG=regex, if set)
#   qemu-test.sh fail NAME REGEX [VAR=value ...]    it must exit non-zero (not
#                                                   a timeout; EXPECT_EXIT=n: with
#                                                   exactly n) and print REGEX
# VAR=value pairs override qemu-run.sh's knobs (SMP, ARGS, ALLOC, KERNEL...).
# Prints "PASS qemu.NAME" or "FAIL qemu.NAME <log>:<line> <reason>". For an
# expected pass the kernel's own case lines are forwarded too, renamed
# "PASS qemu.NAME/<suite>.<case>"; for an expected failure they are not (they
# are the point, not a failure).
set -uo pipefail
expect=$1 name=$2
shift 2
if [ "$expect" = fail ]; then regex=$1; shift; fi
for kv in "$@"; do export "${kv?}"; done
LOGDIR=${QEMU_LOGDIR:-build/test-logs/qemu}
final="$LOGDIR/$name.log"
# Boot into a private file, renamed into place at the end: two `make test`s
# in one checkout must not read each other's console.
export LOG="$final.$$" QUIET=1
export TIMEOUT=${QEMU_TEST_TIMEOUT:-60}
trap 'mv -f "$LOG" "$final"' EXIT

start=${EPOCHREALTIME/./}
"$(dirname "$0")/qemu-run.sh"
rc=$?
us=$(( ${EPOCHREALTIME/./} - start ))
secs=$(printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000)))

if [ "$expect" = pass ]; then
    # The kernel's case lines, named after this boot so a failure says where.
    sed -n -E "s#^(PASS|FAIL) #\1 qemu.$name/#p" "$LOG"
    if [ "$rc" -eq 0 ] && grep -q '^[0-9]* passed, 0 failed' "$LOG" &&
        { [ -z "${EXPECT_LOG:-}" ] || grep -qE -- "$EXPECT_LOG" "$LOG"; }; then
        echo "PASS qemu.$name (${secs}s)"
        exit 0
    fi
    reason="exit status $rc"
    [ "$rc" -eq 0 ] && reason="no /${EXPECT_LOG:-passed, 0 failed}/ in the log"
    [ "$rc" -eq 124 ] && reason="timed out after ${TIMEOUT}s"
    line=$(grep -nE '^(PANIC|TRAP|error:|FAIL)' "$LOG" | head -1)
    echo "FAIL qemu.$name $final:${line%%:*} $reason${line:+: ${line#*:}}"
    tail -n 15 "$LOG" | sed 's/^/    /'
    exit 1
fi

want=${EXPECT_EXIT:-non-zero}
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && { [ "$want" = non-zero ] || [ "$rc" = "$want" ]; } &&
    grep -qE -- "$regex" "$LOG"; then
    echo "PASS qemu.$name (exit $rc as expected, ${secs}s)"
    exit 0
fi
echo "FAIL qemu.$name $final:1 expected exit $want with /$regex/, got exit $rc"
tail -n 15 "$LOG" | sed 's/^/    /'
exit 1
