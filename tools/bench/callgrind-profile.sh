#!/bin/bash
# callgrind-profile.sh BENCH_HOST HARTALLOC_SO WORKLOAD [THREADS] [SCALE] - where
# the instructions go: one host workload under callgrind, with hartalloc and
# with Debian's libmimalloc, and the top functions of each (inclusive of
# nothing: self cost per function, as callgrind_annotate prints it).
set -eu
BIN=${1:?bench-host binary}
HA=${2:?libhartalloc.so}
W=${3:?workload}
THREADS=${4:-2}
SCALE=${5:-5}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for entry in "hartalloc:$HA" "mimalloc:/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"; do
    name=${entry%%:*}
    lib=${entry#*:}
    # valgrind cannot map hartalloc's default 64 GiB reservation: ask for 1 GiB.
    HARTALLOC_REGION=1G LD_PRELOAD=$lib BENCH_ALLOC=$name valgrind --tool=callgrind --callgrind-out-file="$TMP/$name.out" \
        "$BIN" "$W" "$THREADS" "$SCALE" >/dev/null 2>&1
    echo "== $name: $W, $THREADS threads, scale $SCALE"
    callgrind_annotate "$TMP/$name.out" 2>/dev/null | \
        awk '/PROGRAM TOTALS/ {print} /file:function/ {go = 1; n = 0; next} go && NF && n < 14 {print; n++}'
done
