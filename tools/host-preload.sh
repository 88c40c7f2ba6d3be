#!/bin/bash
# host-preload.sh HOST_OUT - the test-host-preload step: unmodified programs
# (a shell pipeline, python3, gcc, a pthread program) run correctly with
# LD_PRELOAD=HOST_OUT/libhartalloc.so, for several alloc_types, and with the
# checked library; the pthread program also under every other alloc_type.
# Prints PASS/FAIL lines; exits non-zero if any failed.
#   HOST_PRELOAD_TYPES="mi tlsf"   HOST_PRELOAD_TIMEOUT=300 seconds per program
set -u
out_dir=$1
types=${HOST_PRELOAD_TYPES:-mi tlsf}
limit=${HOST_PRELOAD_TIMEOUT:-300}
here=$(cd "$(dirname "$0")/.." && pwd)
material=$here/arch/host/preload
threads=$out_dir/preload-threads
memory=$out_dir/preload-memory-return
work=$(mktemp -d "${TMPDIR:-/tmp}/hartalloc-preload.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
# The interpreter itself, not a wrapper script (pyenv shims run bash first).
python=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}

# expect NAME EXPECTED COMMAND...: PASS when COMMAND exits 0 and prints EXPECTED.
expect() {
    local name=$1 expected=$2
    shift 2
    local got rc
    got=$(timeout "$limit" bash -c '"$@"' _ "$@" 2>"$work/stderr")
    rc=$?
    if [ "$rc" -eq 0 ] && [ "$got" = "$expected" ]; then
        echo "PASS preload.$name"
    else
        echo "FAIL preload.$name exit status $rc, output '${got:0:200}', expected '$expected'"
        sed 's/^/    /' "$work/stderr" | tail -n 5
        failed=1
    fi
}

# under LIB TYPE COMMAND...: run COMMAND and everything it starts on LIB.
under() {
    local lib=$1 type=$2
    shift 2
    HARTALLOC_TYPE=$type LD_PRELOAD=$lib "$@"
}

pipeline() {
    export HARTALLOC_TYPE=$2 LD_PRELOAD=$1
    seq 1 200000 | sort -R | sort -n | uniq | awk '{ n++; s += $1 } END { printf "%d %.0f\n", n, s }'
}

gcc_compiles() {
    under "$1" "$2" gcc -O2 "$material/hello.c" -o "$work/hello-$2" &&
        under "$1" "$2" "$work/hello-$2"
}

threads_program() { # pass its own PASS/FAIL lines through, tagged
    local lib=$1 type=$2 tag=$3
    shift 3
    local rc
    timeout "$limit" env "$@" HARTALLOC_TYPE="$type" LD_PRELOAD="$lib" "$threads" "$type" \
        >"$work/threads" 2>&1
    rc=$?
    sed -E "s/^(PASS|FAIL) ([^ ]+)/\1 \2[$tag]/; t; s/^/    /" "$work/threads"
    if [ "$rc" -ne 0 ]; then
        failed=1
        grep -q '^FAIL ' "$work/threads" || echo "FAIL preload.threads[$tag] exit status $rc"
    fi
}

export -f under pipeline gcc_compiles
export material work

so=$out_dir/libhartalloc.so
checked=$out_dir/libhartalloc-checked.so
for type in $types; do
    expect "pipeline[$type]" "200000 20000100000" pipeline "$so" "$type"
    expect "python3[$type]" "OK" under "$so" "$type" "$python" "$material/check.py"
    expect "gcc[$type]" "hello 5050 abcabcabc" gcc_compiles "$so" "$type"
    threads_program "$so" "$type" "$type"
    # Two slots on two CPUs: no slot to lease, every thread shares one per CPU.
    threads_program "$so" "$type" "$type,cpus=2" HARTALLOC_CPUS=2
    threads_program "$checked" "$type" "$type,checked"
    expect "checked-pipeline[$type]" "200000 20000100000" pipeline "$checked" "$type"
    # The library is really in use: it prints its statistics at exit.
    expect "stats-at-exit[$type]" "hartalloc $type:" \
        bash -c 'HARTALLOC_STATS=1 HARTALLOC_TYPE=$1 LD_PRELOAD=$2 "$3" -c "pass" 2>&1 |
                 grep -o "^hartalloc [^ ]*:"' _ "$type" "$so" "$python"
done

# Freed memory stops being resident (mi: the segment pool gives it back),
# with leased slots and with shared ones only.
for entry in "mi:$so:mi" "mi,cpus=2:$so:mi HARTALLOC_CPUS=2" "mi,checked:$checked:mi"; do
    tag=${entry%%:*}; rest=${entry#*:}; lib=${rest%%:*}; env_=${rest#*:}
    set -- $env_
    timeout "$limit" env "${@:2}" HARTALLOC_TYPE="$1" LD_PRELOAD="$lib" "$memory" >"$work/memory" 2>&1
    rc=$?
    grep -v '^MEMRET ' "$work/memory" | sed -E "s/^(PASS|FAIL) ([^ ]+)/\1 \2[$tag]/; t; s/^/    /"
    if [ "$rc" -ne 0 ]; then
        failed=1
        grep -q '^FAIL ' "$work/memory" || echo "FAIL preload.memory[$tag] exit status $rc"
    fi
done

# Every other alloc_type runs the pthread program. A 4 GiB region keeps
# this quick: some backends size their metadata by the region (buddy takes
# seconds to initialise over the default 64 GiB).
for type in $("$out_dir/hartalloc-test" --list-allocs); do
    case " $types " in *" $type "*) continue ;; esac
    threads_program "$so" "$type" "$type,region=4G" HARTALLOC_REGION=4G
done

# An unknown type stops the program with status 2 and the valid names.
msg=$(HARTALLOC_TYPE=nonsense LD_PRELOAD=$so "$python" -c 'print("ran")' 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && grep -q "unknown HARTALLOC_TYPE; valid names: mi," <<<"$msg"; then
    echo "PASS preload.unknown-type"
else
    echo "FAIL preload.unknown-type exit status $rc, output '$msg'"
    failed=1
fi
# So does a region size that does not parse.
msg=$(HARTALLOC_REGION=64Q LD_PRELOAD=$so "$python" -c 'print("ran")' 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && grep -q "HARTALLOC_REGION must be a size" <<<"$msg"; then
    echo "PASS preload.bad-region"
else
    echo "FAIL preload.bad-region exit status $rc, output '$msg'"
    failed=1
fi
exit $failed
