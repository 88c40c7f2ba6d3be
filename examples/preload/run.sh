#!/bin/sh
# run.sh PREFIX - hartalloc as the malloc of an unmodified program: preload
# the shared library. HARTALLOC_STATS=1 makes it print its statistics at exit,
# which shows it was in use; HARTALLOC_TYPE, HARTALLOC_CPUS and
# HARTALLOC_REGION are the other knobs (arch/host/README.md).
set -eu
prefix=${1:?usage: run.sh PREFIX}
lib=$prefix/lib/libhartalloc.so

# Any dynamically linked program: here python3 sorting 100,000 numbers.
# (The statistics go to stderr as the program exits.)
LD_PRELOAD=$lib HARTALLOC_STATS=1 python3 -c 'print(sorted(range(100000), reverse=True)[0] + 1)' 2>stats.txt
grep '^hartalloc mi:' stats.txt

# The checked library verifies every call (double frees, overflows into the
# block's slack, frees of foreign pointers) and stops at the first fault.
echo 'print(sum(range(1000)))' | LD_PRELOAD=$prefix/lib/libhartalloc-checked.so python3
