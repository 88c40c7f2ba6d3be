# alloc/rust/rust.mk - the Rust side: the hartalloc crate, its host cargo test,
# and a riscv64 Rust kernel under QEMU (alloc/rust/README.md).
#
#   make rust-sysroot     core, compiler_builtins, alloc for riscv64 (rustc 1.63)
#   make rust-kernel      the riscv64 Rust kernel
#   make run-rust         boot it (ALLOC= SMP= MEM= ARGS= ACCEL=)
#   make rust-host-test   cargo test on the host, once per RUST_HOST_TYPES
#   make rust-kernel-test the kernel at 4 harts for RUST_KERNEL_TYPES, plus
#                         the failure paths (unknown alloc_type, panic, OOM)
#
# Host: rustup's cargo (first on PATH). riscv64: Debian's rustc 1.63 and cargo
# (/usr/bin), with a sysroot built here from Debian's rust-src and
# compiler_builtins sources by plain rustc: no -Z build-std, no registry.

RUST_OUT       := $(BUILD)/rust
RUST_TARGET    := riscv64gc-unknown-none-elf
RUST_SYSROOT   := $(RUST_OUT)/sysroot
RUST_SYSLIB    := $(RUST_SYSROOT)/lib/rustlib/$(RUST_TARGET)/lib
RUST_LIBSRC    ?= /usr/src/rustc-1.63.0/library
RUST_BUILTINS  ?= $(firstword $(wildcard /usr/share/cargo/registry/compiler_builtins-*/src/lib.rs))
RV_RUSTC       ?= /usr/bin/rustc
RV_CARGO       ?= /usr/bin/cargo
HOST_CARGO     ?= cargo

RUST_KERNEL    := $(RUST_OUT)/riscv/$(RUST_TARGET)/release/hartalloc-rust-kernel
RUST_HOST_TYPES   ?= mi mi-locked tlsf buddy slab first-fit best-fit worst-fit
RUST_KERNEL_TYPES ?= mi mi-locked tlsf buddy slab
RUST_KERNEL_SMP   ?= 4
RUST_HOST_TIMEOUT ?= 600

# Sysroot crates: the flags cargo's build-std would use for the standard library.
# compiler_builtins' own build.rs enables "mem" (weak memcpy, memset, ...) for
# -none targets; so do these flags.
RUST_SYSROOT_FLAGS := --target $(RUST_TARGET) -C opt-level=3 -C panic=abort -C debuginfo=1 \
                      -Z force-unstable-if-unmarked

# Built in a private directory and renamed into place, so concurrent make runs
# in one checkout never read a half-written sysroot.
$(RUST_SYSLIB)/liballoc.rlib:
	@tmp=$(RUST_OUT)/sysroot.tmp.$$$$; lib=$$tmp/lib/rustlib/$(RUST_TARGET)/lib; \
	flags="$(RUST_SYSROOT_FLAGS) --sysroot $$tmp --out-dir $$lib"; \
	rm -rf $$tmp && mkdir -p $$lib && export RUSTC_BOOTSTRAP=1 && set -x && \
	$(RV_RUSTC) --crate-name core --edition 2021 --crate-type rlib $(RUST_LIBSRC)/core/src/lib.rs $$flags && \
	$(RV_RUSTC) --crate-name compiler_builtins --edition 2015 --crate-type rlib $(RUST_BUILTINS) $$flags \
	    -C codegen-units=10000 --cfg 'feature="compiler-builtins"' --cfg 'feature="core"' \
	    --cfg 'feature="rustc-dep-of-std"' --cfg 'feature="mem"' --cfg 'feature="unstable"' && \
	$(RV_RUSTC) --crate-name alloc --edition 2021 --crate-type rlib $(RUST_LIBSRC)/alloc/src/lib.rs $$flags && \
	{ mv -T $$tmp $(RUST_SYSROOT) 2>/dev/null || rm -rf $$tmp; }

.PHONY: rust-sysroot rust-kernel run-rust rust-host-test rust-kernel-test
rust-sysroot: $(RUST_SYSLIB)/liballoc.rlib

# Cargo decides what is stale; the crate's build.rs compiles alloc/*.c with
# riscv64-unknown-elf-gcc.
rust-kernel: rust-sysroot
	RUSTC=$(RV_RUSTC) RUSTC_BOOTSTRAP=1 RUSTFLAGS="--sysroot $(abspath $(RUST_SYSROOT))" \
	CARGO_TARGET_RISCV64GC_UNKNOWN_NONE_ELF_LINKER=riscv64-unknown-elf-ld \
	CARGO_TARGET_DIR=$(abspath $(RUST_OUT)/riscv) \
	HA_CFLAGS='-DHA_EMBED_INLINE="embed_inline.h" -I$(abspath alloc/rust/riscv-kernel)' \
	    $(RV_CARGO) build --offline --release --target $(RUST_TARGET) \
	    --manifest-path alloc/rust/riscv-kernel/Cargo.toml

# rust_qemu SMP, BOOTARGS: boot the Rust kernel with the shared QEMU runner
# (tools/qemu-run.sh: timeout, TCG mode, log under build/rust/).
rust_qemu = ALLOC= SMP=$(1) MEM=$(MEM) ACCEL=$(ACCEL) TIMEOUT=$(TIMEOUT) ARGS="$(2)" \
            KERNEL=$(RUST_KERNEL) LOG=$(RUST_OUT)/qemu.log ./tools/qemu-run.sh

run-rust: rust-kernel
	$(call rust_qemu,$(SMP),alloc=$(ALLOC) $(ARGS))

# tests/churn.rs prints PASS/FAIL lines itself; a non-zero exit adds a FAIL.
rust-host-test:
	@status=0; for t in $(RUST_HOST_TYPES); do \
	    echo "== cargo test, HA_ALLOC=$$t"; \
	    HA_ALLOC=$$t CARGO_TARGET_DIR=$(abspath $(RUST_OUT)/host) timeout $(RUST_HOST_TIMEOUT) \
	        $(HOST_CARGO) test --offline --manifest-path alloc/rust/host-test/Cargo.toml 2>&1 \
	    || { echo "FAIL rust-host/$$t cargo test exit status $$?"; status=1; }; \
	done; exit $$status

# The kernel prints its own PASS/FAIL lines; a bad exit status adds a FAIL.
# The failure paths must exit non-zero with their message.
rust-kernel-test: rust-kernel
	@status=0; for t in $(RUST_KERNEL_TYPES); do \
	    echo "== rust kernel, alloc=$$t, $(RUST_KERNEL_SMP) harts"; \
	    $(call rust_qemu,$(RUST_KERNEL_SMP),alloc=$$t) || { echo "FAIL rust-kernel/$$t exit status $$?"; status=1; }; \
	done; \
	expect_exit() { want=$$1 text=$$2 name=$$3; shift 3; \
	    out=$$($(call rust_qemu,2,$$*) 2>&1); rc=$$?; echo "$$out" | sed 's/^\(PASS\|FAIL\) /  (kernel) \1 /'; \
	    if [ $$rc -eq $$want ] && echo "$$out" | grep -q "$$text"; then echo "PASS rust-kernel/$$name exit $$rc"; \
	    else echo "FAIL rust-kernel/$$name exit $$rc, wanted $$want and \"$$text\""; status=1; fi; }; \
	expect_exit 4 'unknown alloc_type "bogus"' unknown-alloc-type alloc=bogus; \
	expect_exit 1 'panic: .*deliberate panic' panic-exits-nonzero alloc=mi selftest=panic; \
	expect_exit 2 'allocation failure: size 1099511627776' oom-exits-nonzero alloc=mi selftest=oom; \
	expect_exit 1 'hartalloc fault: .*buddy: not a block' core-fault-reaches-rust-hook alloc=buddy selftest=fault; \
	expect_exit 5 'unexpected trap: scause 0x' trap-exits-nonzero alloc=mi selftest=trap; \
	exit $$status

TEST_STEPS += rust-host-test rust-kernel-test
