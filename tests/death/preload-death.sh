#!/bin/bash
# preload-death.sh LIBRARY VICTIM ALLOC - run preload-victim under
# LD_PRELOAD=LIBRARY (the checked malloc library) once per misuse and require
# SIGABRT and a "hartalloc: pointer P: <fault>" line on stderr naming the
# pointer the victim printed. Prints PASS/FAIL preload-death.CASE[ALLOC].
set -u
lib=$1 victim=$2 alloc=$3
rc=0
check() {
    local mode=$1 re=$2 out err status line
    err=$(mktemp)
    out=$(HARTALLOC_TYPE=$alloc LD_PRELOAD=$lib timeout 60 "$victim" "$mode" 2>"$err")
    status=$?
    line=$(grep -m1 'hartalloc: pointer ' "$err")
    local why=
    if [ "$status" -ne 134 ]; then why="exit status $status, expected SIGABRT (134)"
    elif [ -z "$out" ]; then why="the victim printed no pointer"
    elif ! grep -qF "hartalloc: pointer $out:" <<<"$line"; then why="no message naming $out"
    elif ! grep -qiE -- "$re" <<<"$line"; then why="the message does not match /$re/"
    fi
    if [ -n "$why" ]; then
        echo "FAIL preload-death.$mode[$alloc] preload_victim.c:0 $why (stderr: $(head -c 300 "$err" | tr '\n' ' '))"
        rc=1
    else
        echo "PASS preload-death.$mode[$alloc] ${line#*panic: }"
    fi
    rm -f "$err"
}
check double-free 'double free'
check interior 'interior|not the start'
check realloc-after-free 'not live|freed|double free|is free'
check write-past-end 'past the end|overflow|canary'
check write-after-free 'after free|after it was freed'
exit $rc
