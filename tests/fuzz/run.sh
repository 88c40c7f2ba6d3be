#!/bin/bash
# run.sh FUZZER OUTDIR OPTION ALLOC... - run the libFuzzer harness once per
# alloc_type with OPTION (-runs=N for the make test smoke, -max_total_time=S
# for make fuzz), starting from tests/fuzz/corpus; new inputs go to
# OUTDIR/corpus-ALLOC, crashes to OUTDIR/. Prints per alloc_type
#   PASS fuzz.ALLOC inputs=I ops=O
#   FAIL fuzz.ALLOC fuzz_alloc.c:0 <first report line> (log: ...)
set -u
fuzzer=$1 out=$2 option=$3
shift 3
seeds=$(cd "$(dirname "$0")" && pwd)/corpus
rc=0
for alloc in "$@"; do
    mkdir -p "$out/corpus-$alloc"
    log=$out/fuzz-$alloc.log
    HA_FUZZ_ALLOC=$alloc "$fuzzer" "$option" -seed=1 -max_len=4000 -timeout=30 \
        -artifact_prefix="$out/$alloc-" "$out/corpus-$alloc" "$seeds" >"$log" 2>&1
    status=$?
    counts=$(sed -n "s/^fuzz \[$alloc\]: \([0-9]*\) inputs, \([0-9]*\) operations checked, \([0-9]*\) out of memory/inputs=\1 ops=\2 null=\3/p" "$log" | tail -1)
    if [ "$status" -eq 0 ] && [ -n "$counts" ]; then
        echo "PASS fuzz.$alloc $counts"
    else
        why=$(grep -m1 -E '^fuzz|ERROR|runtime error|panic' "$log")
        echo "FAIL fuzz.$alloc fuzz_alloc.c:0 exit $status: ${why:-no report} (log: $log)"
        rc=1
    fi
done
exit $rc
