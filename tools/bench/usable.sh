#!/bin/bash
# usable.sh USABLE_BIN HARTALLOC_SO > usable.json - malloc_usable_size of
# powers of two (and -1, +1, x1.5) from 16 bytes to 64 MiB: every hartalloc
# alloc_type (HARTALLOC_TYPE) and libmimalloc, under LD_PRELOAD.
set -eu
BIN=${1:?usable binary}
HA=${2:?libhartalloc.so}
MIMALLOC=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2
row() { # NAME then the program's output on stdin -> one JSON member
    printf '  "%s": [' "$1"
    awk 'NR > 1 { printf ", " } { printf "[%s, %s]", $1, $2 }'
    printf ']'
}
echo "{"
first=1
for type in mi mi-locked tlsf buddy slab first-fit best-fit worst-fit; do
    [ $first = 1 ] || echo ","
    first=0
    # 1 GiB: room for 64 MiB blocks in every type without a 64 GiB reservation.
    env HARTALLOC_REGION=1G HARTALLOC_TYPE=$type LD_PRELOAD="$HA" "$BIN" | row "$type"
done
echo ","
env LD_PRELOAD="$MIMALLOC" "$BIN" | row "libmimalloc"
echo
echo "}"
