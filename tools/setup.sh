#!/bin/bash
# setup.sh - install every dependency from Debian's packages. Idempotent, no
# prompts; run as root (CI does) or through sudo.
set -euo pipefail
PACKAGES=(
    make gcc libc6-dev git python3 time
    gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf
    qemu-system-misc opensbi gdb-multiarch device-tree-compiler
    clang llvm libclang-rt-14-dev valgrind spin
    libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev
    gnuplot-nox
    rustc cargo rust-src librust-compiler-builtins-dev
)
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
