#!/bin/bash
# callgrind-pair.sh PAIR_BIN HARTALLOC_SO [SIZE] - instructions per malloc+free
# pair of SIZE (32) bytes, for hartalloc and the Debian allocators, in one run.
#
# Each allocator runs PAIR_BIN twice under valgrind --tool=callgrind, with N1
# and N2 pairs, collecting only inside pairs() (--toggle-collect). The
# difference (Ir(N1) - Ir(N2)) / (N1 - N2) cancels the slow paths of the
# first calls (page set-up), leaving the steady-state cost of one pair,
# including the loop's own few instructions and the two PLT calls, the same
# for every allocator.
set -eu
BIN=${1:?pair binary}
HA=${2:?libhartalloc.so}
SIZE=${3:-32}
N1=${N1:-1000000}
N2=${N2:-100000}
LIBDIR=/usr/lib/x86_64-linux-gnu
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ir() { # LIB N -> instructions collected in pairs()
    local lib=$1 n=$2 out=$TMP/cg.out
    # HARTALLOC_REGION: valgrind cannot map hartalloc's default 64 GiB reservation.
    env HARTALLOC_REGION=1G ${lib:+LD_PRELOAD=$lib} valgrind --tool=callgrind --callgrind-out-file="$out" \
        --toggle-collect=pairs "$BIN" "$n" "$SIZE" >/dev/null 2>&1
    awk '/^(summary|totals):/ {print $2; exit}' "$out"
}

printf '%-10s %14s %14s %10s\n' alloc "Ir(N=$N1)" "Ir(N=$N2)" "Ir/pair"
for entry in "hartalloc:$HA" "mimalloc:$LIBDIR/libmimalloc.so.2" "glibc:" \
             "jemalloc:$LIBDIR/libjemalloc.so.2" "tcmalloc:$LIBDIR/libtcmalloc.so.4"; do
    name=${entry%%:*}
    lib=${entry#*:}
    a=$(ir "$lib" "$N1")
    b=$(ir "$lib" "$N2")
    if [ -z "$a" ] || [ -z "$b" ]; then
        printf '%-10s %14s\n' "$name" "failed"
        continue
    fi
    awk -v n="$name" -v a="$a" -v b="$b" -v n1="$N1" -v n2="$N2" \
        'BEGIN { printf "%-10s %14d %14d %10.2f\n", n, a, b, (a - b) / (n1 - n2) }'
done
