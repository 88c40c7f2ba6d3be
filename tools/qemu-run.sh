#!/bin/bash
# qemu-run.sh - boot the riscv64 test kernel under QEMU + OpenSBI.
#
# Knobs (environment; `make run` passes them through):
#   ALLOC=mi      alloc_type, becomes alloc=<type> on the kernel command line
#   SMP=4         harts          MEM=256M   guest RAM
#   ARGS=         more boot arguments (test=<suite> bench=<name> harts= seed= scale=)
#   ACCEL=mt      TCG mode: mt (-accel tcg,thread=multi), single (thread=single) or
#                 icount (single, guest time = guest instructions)
#   TIMEOUT=60    wall-clock limit in seconds (0: none); a hang exits 124
#   KERNEL=build/riscv64/kernel.elf
#   LOG=build/qemu-run.log   the console output is also written here (\r stripped)
#   QUIET=1       log only, nothing on stdout
#   GDBPORT=      wait at reset for gdb on this TCP port (make debug)
#
# Exit status: QEMU's, i.e. the kernel's verdict from the virt test finisher
# (0 pass, 1 failed case, 2 panic, 3 unexpected trap, 4 bad boot), 124 on timeout.
set -uo pipefail
ALLOC=${ALLOC-mi}
SMP=${SMP:-4}
MEM=${MEM:-256M}
ARGS=${ARGS:-}
ACCEL=${ACCEL:-mt}
TIMEOUT=${TIMEOUT:-60}
KERNEL=${KERNEL:-build/riscv64/kernel.elf}
LOG=${LOG:-build/qemu-run.log}
QUIET=${QUIET:-0}
GDBPORT=${GDBPORT:-}

case "$ACCEL" in
mt) accel=tcg,thread=multi ;;
single) accel=tcg,thread=single ;;
# Guest time counts guest instructions (1 ns each, -icount shift=0): a
# benchmark's ns is then its instruction count, the same on every run.
icount) accel=tcg,thread=single ;;
*) echo "qemu-run: ACCEL must be mt, single or icount, not '$ACCEL'" >&2; exit 2 ;;
esac
[ -f "$KERNEL" ] || { echo "qemu-run: no $KERNEL (run make kernel)" >&2; exit 2; }

cmdline="${ALLOC:+alloc=$ALLOC }$ARGS"
cmd=(qemu-system-riscv64 -machine virt -bios default -nographic -monitor none
     -accel "$accel" -smp "$SMP" -m "$MEM" -kernel "$KERNEL" -append "$cmdline")
[ "$ACCEL" = icount ] && cmd+=(-icount shift=0)
[ -n "$GDBPORT" ] && cmd+=(-gdb "tcp::$GDBPORT" -S)

limit=()
if [ "$TIMEOUT" != 0 ]; then
    # --foreground lets QEMU keep the terminal (Ctrl-A X) when run by hand.
    if [ -t 0 ]; then limit=(timeout --foreground "$TIMEOUT"); else limit=(timeout "$TIMEOUT"); fi
fi

mkdir -p "$(dirname "$LOG")"
echo "qemu-run: ${cmd[*]}" >"$LOG"
if [ "$QUIET" = 1 ]; then
    "${limit[@]}" "${cmd[@]}" </dev/null 2>&1 | sed -u 's/\r$//' >>"$LOG"
else
    if [ -t 0 ]; then in=/dev/stdin; else in=/dev/null; fi
    "${limit[@]}" "${cmd[@]}" <"$in" 2>&1 | sed -u 's/\r$//' | tee -a "$LOG"
fi
rc=${PIPESTATUS[0]}
grep -q 'ROM regions are overlapping' "$LOG" &&
    echo "qemu-run: the kernel (heap included) does not fit in MEM=$MEM: raise MEM or lower HEAP_SIZE" |
    tee -a "$LOG" >&2
# (on a line of its own: the console may have been cut mid-line)
[ "$rc" -eq 124 ] && printf '\nqemu-run: timed out after %ss (log: %s)\n' "$TIMEOUT" "$LOG" | tee -a "$LOG" >&2
exit "$rc"
