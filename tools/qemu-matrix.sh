#!/bin/bash
# qemu-matrix.sh SUITE [SMP...] - boot test=SUITE for every alloc_type at each
# hart count (default 1 2 4 8), RV_JOBS boots at a time, each a qemu-test.sh
# "pass" run named <suite>-<alloc>-smp<n>.
#
# The names come from the kernel itself: alloc=nonsense makes it list every
# alloc_type, test=nonsense every suite, so a new backend or suite needs no
# change here. Knobs as for qemu-run.sh (ACCEL, MEM, KERNEL, ...); each boot
# may take QEMU_TEST_TIMEOUT=150 s (the list allocators need 40 s at 8 harts on
# a loaded 2-core host).
set -uo pipefail
suite=$1
shift
harts=("$@")
[ ${#harts[@]} -eq 0 ] && harts=(1 2 4 8)
here=$(dirname "$0")
LOGDIR=${QEMU_LOGDIR:-build/test-logs/qemu}

# Ask the kernel for the valid names listed after "valid: " in its error.
# (private log file, renamed into place: another make test may run alongside)
valid_names() {
    local log="$LOGDIR/list-$1.log"
    LOG="$log.$$" QUIET=1 TIMEOUT=30 SMP=1 ALLOC="$2" ARGS="$3" "$here/qemu-run.sh"
    mv -f "$log.$$" "$log"
    sed -n 's/.*; valid: //p' "$log" | head -1 | tr -d ',' | tr ' ' '\n' | grep .
}

allocs=$(valid_names allocs nonsense '') || { echo "FAIL qemu-matrix.names $LOGDIR/list-allocs.log:1 the kernel listed no alloc_type"; exit 1; }
suites=$(valid_names suites mi test=nonsense) || { echo "FAIL qemu-matrix.names $LOGDIR/list-suites.log:1 the kernel listed no suite"; exit 1; }
if ! grep -qx -- "$suite" <<<"$suites"; then
    echo "FAIL qemu-matrix.$suite $LOGDIR/list-suites.log:1 no suite '$suite' in the kernel (has: $(echo $suites))"
    exit 1
fi
echo "qemu-matrix: test=$suite for $(echo $allocs) at ${harts[*]} harts, ${RV_JOBS:-2} at a time"

for a in $allocs; do
    for n in "${harts[@]}"; do
        echo "$a $n"
    done
done | xargs -P "${RV_JOBS:-2}" -L 1 sh -c \
    'QEMU_TEST_TIMEOUT=${QEMU_TEST_TIMEOUT:-150} exec "$0/qemu-test.sh" pass "'"$suite"'-$1-smp$2" ALLOC="$1" SMP="$2" ARGS="test='"$suite"'"' "$here"
