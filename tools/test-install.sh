#!/bin/bash
# test-install.sh - the test-install step: `make install` into a temporary
# prefix, then each example built and run from the installed copy, as
# examples/README.md tells a user to. PASS/FAIL lines; non-zero on failure.
#   HA_INSTALL_RUST=0 skips the Rust example (it compiles the core: ~30 s).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
prefix=$(mktemp -d "${TMPDIR:-/tmp}/hartalloc-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
failed=0

check() { # NAME EXPECTED-PATTERN COMMAND...
    local name=$1 pattern=$2 out rc
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && grep -Eq "$pattern" <<<"$out"; then
        echo "PASS install.$name"
    else
        echo "FAIL install.$name exit status $rc, output:"
        tail -n 8 <<<"$out" | sed 's/^/    /'
        failed=1
    fi
}

check make-install "" make -s -C "$here" install PREFIX="$prefix"
for f in include/hartalloc.h include/hartalloc_embed.h lib/libhartalloc.a lib/libhartalloc.so \
         lib/libhartalloc-checked.so lib/pkgconfig/hartalloc.pc; do
    [ -f "$prefix/$f" ] || { echo "FAIL install.files $f missing"; failed=1; }
done
examples=$prefix/share/hartalloc/examples
work=$prefix/work
mkdir -p "$work"

# C on the static library, compiled with what pkg-config says and nothing else.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
c_static() {
    cc -O2 "$examples/c-static/main.c" $(pkg-config --cflags --libs hartalloc) -o "$work/c-static" &&
        "$work/c-static"
}
check c-static "^c-static: mi, 8 threads on 2 CPUs, ([0-9]+) allocations, \\1 frees, 0 bytes in use" c_static

# The LD_PRELOAD recipe, run as written.
check preload "^hartalloc mi:" bash -c 'cd "$1" && "$2/preload/run.sh" "$3"' _ "$work" "$examples" "$prefix"
check preload-result "^100000$" bash -c 'cd "$1" && "$2/preload/run.sh" "$3" | head -n 1' _ "$work" "$examples" "$prefix"

# Rust through the crate by path (offline: it needs only core, alloc, std).
if [ "${HA_INSTALL_RUST:-1}" != 0 ]; then
    check rust "^rust: mi counted 80000 words on hartalloc$" \
        env CARGO_TARGET_DIR="$work/rust-target" timeout 600 \
        cargo run --quiet --offline --release --manifest-path "$examples/rust/Cargo.toml"
fi
exit $failed
