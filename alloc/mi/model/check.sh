#!/bin/bash
# check.sh OUTDIR NAME EXPECT [-DNAME=VALUE...] - model-check thread_free.pml
# exhaustively with spin and print one result line:
#   PASS model.NAME states=S transitions=T depth=D (N s)
#   FAIL model.NAME thread_free.pml:0 <what went wrong>
# EXPECT is "clean" (no error may be found) or "error" (a seeded bug: spin
# must report a violation). The -D options set the model's bounds and BUG.
set -u
out=$1 name=$2 expect=$3
shift 3
model=$(cd "$(dirname "$0")" && pwd)/thread_free.pml
dir=$out/$name
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
start=$(date +%s)
if ! spin "$@" -a "$model" >spin.log 2>&1; then
    echo "FAIL model.$name thread_free.pml:0 spin -a failed: $(head -c 300 spin.log)"
    exit 1
fi
# SAFETY: assertions and invalid end states; COLLAPSE: lossless state
# compression (exhaustive, unlike bitstate hashing).
opt=-O2
[ "$expect" = clean ] || opt=-O0 # a seeded bug is found in a few thousand states
if ! gcc $opt -w -DSAFETY -DCOLLAPSE -o pan pan.c >gcc.log 2>&1; then
    echo "FAIL model.$name thread_free.pml:0 gcc pan.c failed: $(head -c 300 gcc.log)"
    exit 1
fi
./pan -m100000 >pan.log 2>&1
errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.log | tail -1)
states=$(awk '/states, stored/ {print $1; exit}' pan.log)
trans=$(awk '/transitions \(= stored\+matched\)/ {print $1; exit}' pan.log)
depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' pan.log | tail -1)
secs=$(( $(date +%s) - start ))
what=$(grep -m1 -E '^pan:[0-9]+:|^pan: ' pan.log | head -c 200)
if [ -z "$errors" ]; then
    echo "FAIL model.$name thread_free.pml:0 pan gave no verdict: $(tail -c 300 pan.log)"
    exit 1
fi
if grep -q 'max search depth too small' pan.log; then
    echo "FAIL model.$name thread_free.pml:0 search depth limit reached: not exhaustive"
    exit 1
fi
if [ "$expect" = clean ]; then
    if [ "$errors" -eq 0 ]; then
        echo "PASS model.$name states=$states transitions=$trans depth=$depth (${secs} s)"
    else
        ./pan -r >trail.log 2>&1
        echo "FAIL model.$name thread_free.pml:0 $what (trail: $dir/trail.log)"
        exit 1
    fi
else
    if [ "$errors" -gt 0 ]; then
        echo "PASS model.$name seeded bug caught: $what (states=$states)"
    else
        echo "FAIL model.$name thread_free.pml:0 the seeded bug went unnoticed ($states states)"
        exit 1
    fi
fi
