#!/bin/bash
# gdb-test.sh - prove `make debug` works: boot the kernel halted with its gdb
# stub, attach gdb-multiarch in batch mode with tools/gdbinit, stop in kmain,
# read the boot hart's arguments, let the run finish. Prints PASS/FAIL.
set -uo pipefail
KERNEL=${KERNEL:-build/riscv64/kernel.elf}
dir=${QEMU_LOGDIR:-build/test-logs/qemu}
mkdir -p "$dir"
port=$((20000 + RANDOM % 20000)) # other people may be debugging on 1234
# Private log files, renamed into place at the end (another make test may run alongside).
trap 'mv -f "$dir/gdb-qemu.log.$$" "$dir/gdb-qemu.log"; mv -f "$dir/gdb.log.$$" "$dir/gdb.log"' EXIT
LOG="$dir/gdb-qemu.log.$$" QUIET=1 TIMEOUT=60 SMP=2 GDBPORT=$port KERNEL=$KERNEL \
    "$(dirname "$0")/qemu-run.sh" </dev/null &
qemu=$!
timeout 60 gdb-multiarch -batch -x tools/gdbinit -ex "target remote localhost:$port" \
    -ex 'break kmain' -ex continue -ex 'printf "gdb: kmain on hart %lu, fdt %p\n", $a0, $a1' \
    -ex continue "$KERNEL" >"$dir/gdb.log.$$" 2>&1
wait $qemu
rc=$?
if grep -q '^gdb: kmain on hart [0-9]*, fdt 0x8' "$dir/gdb.log.$$" && [ "$rc" -eq 0 ] &&
    grep -q '^exit: passed' "$dir/gdb-qemu.log.$$"; then
    echo "PASS qemu.gdb-attaches ($(grep '^gdb: ' "$dir/gdb.log.$$"))"
    exit 0
fi
echo "FAIL qemu.gdb-attaches $dir/gdb.log:1 gdb did not stop in kmain or the run failed (QEMU exit $rc)"
tail -n 10 "$dir/gdb.log.$$" | sed 's/^/    /'
exit 1
