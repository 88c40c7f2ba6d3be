# hartalloc - top-level Makefile.
#
#   make setup      install every dependency from Debian's packages (root)
#   make test       build everything, run every test, print "N passed, N failed"
#   make run        boot the test kernel under QEMU (ALLOC= SMP= MEM= ARGS= ACCEL=)
#   make debug      the same, halted, with gdb-multiarch attached
#   make bench      host benchmarks against glibc, mimalloc, jemalloc, tcmalloc
#   make bench-qemu kernel benchmarks for every alloc_type at 1, 2, 4, 8 harts
#
# Each part of the tree adds its rules in its own fragment (included below) and
# appends the names of its test steps to TEST_STEPS; tools/test-all.sh runs them.

.DEFAULT_GOAL := all
.SUFFIXES:
SHELL := /bin/bash

BUILD      ?= build
HOST_OUT   := $(BUILD)/host
RV_OUT     := $(BUILD)/riscv64

# Knobs passed to the QEMU runner by make run.
ALLOC ?= mi
SMP   ?= 4
MEM   ?= 256M
ARGS  ?=
ACCEL ?= mt
TIMEOUT ?= 60

# Heap region of the test kernel (bytes, a multiple of 4 MiB).
HEAP_SIZE ?= 0x4000000

# Everything sees the public headers (alloc/include) and the shared test
# headers; only the allocator core sees its own internal headers (alloc/).
CFLAGS_COMMON := -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -fno-strict-aliasing \
                 -Ialloc/include -Itests
# The allocator core is freestanding on every target.
CFLAGS_CORE   := -ffreestanding -fno-builtin-malloc -fno-builtin-free
# Only the core's own compile rules add this.
CORE_INC      := -Ialloc

HOST_CC ?= gcc
RV_CC   ?= riscv64-unknown-elf-gcc

# The core: the ABI and dispatch (alloc/), mi (alloc/mi), the classic
# backends (alloc/classic) and the checked-build pieces (alloc/checked).
ALLOC_SRCS := $(sort $(wildcard alloc/*.c alloc/mi/*.c alloc/classic/*.c alloc/checked/*.c))
ALLOC_HDRS := $(wildcard alloc/include/*.h alloc/*.h alloc/mi/*.h alloc/classic/*.h alloc/checked/*.h)
TEST_SRCS  := $(sort $(wildcard tests/*.c))
BENCH_SRCS := $(sort $(wildcard tests/bench/*.c))

TEST_STEPS :=

include alloc/alloc.mk
-include arch/host/host.mk
-include arch/riscv64/riscv64.mk
-include alloc/rust/rust.mk
-include tools/bench.mk
-include tests/reliability.mk

.PHONY: all setup test clean
all: $(ALL_TARGETS)

setup:
	./tools/setup.sh

test: all
	./tools/test-all.sh $(TEST_STEPS)

clean:
	rm -rf $(BUILD)
