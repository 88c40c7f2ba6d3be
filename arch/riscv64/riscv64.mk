# arch/riscv64/riscv64.mk - the riscv64 test kernel, the QEMU runner targets
# and the QEMU test steps. Included by the top-level Makefile.
#
#   make kernel                       build/riscv64/kernel.elf
#   make run   ALLOC= SMP= MEM= ARGS= ACCEL= TIMEOUT=   boot it under QEMU
#   make debug (same knobs, GDBPORT=)  QEMU halted + gdb-multiarch attached

RV_ARCH   := -march=rv64gc -mabi=lp64d -mcmodel=medany
RV_CFLAGS := $(CFLAGS_COMMON) $(CFLAGS_CORE) $(RV_ARCH) -fno-pie -fno-stack-protector \
             -fno-omit-frame-pointer -Iarch/riscv64 -Ikernel -MMD -MP
RV_KERNEL := $(RV_OUT)/kernel.elf

RV_SRCS := $(ALLOC_SRCS) $(TEST_SRCS) $(BENCH_SRCS) \
           $(sort $(wildcard kernel/*.c)) \
           $(sort $(wildcard arch/riscv64/*.c)) $(sort $(wildcard arch/riscv64/*.S))
RV_OBJS := $(addprefix $(RV_OUT)/obj/,$(addsuffix .o,$(basename $(RV_SRCS))))

$(RV_OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) -c $< -o $@

# The allocator core gets the contract's per-operation hooks inline, and no
# frame pointer (nothing here walks frames; the fast path saves the set-up).
$(RV_OUT)/obj/alloc/%.o: alloc/%.c
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) $(CORE_INC) -fomit-frame-pointer -DHA_EMBED_INLINE='"embed_inline.h"' -c $< -o $@

$(RV_OUT)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) -c $< -o $@

-include $(RV_OBJS:.o=.d)

# Relink when HEAP_SIZE changes: the stamp's content is the value.
$(RV_OUT)/heap_size: FORCE
	@mkdir -p $(dir $@)
	@echo '$(HEAP_SIZE)' | cmp -s - $@ || echo '$(HEAP_SIZE)' > $@

RV_LINK = $(RV_CC) $(RV_ARCH) -nostdlib -nostartfiles -static -T linker/kernel.ld \
          -Wl,--defsym=HEAP_SIZE=$(HEAP_SIZE)

$(RV_KERNEL): $(RV_OBJS) linker/kernel.ld $(RV_OUT)/heap_size
	$(RV_LINK) -Wl,-Map=$(RV_OUT)/kernel.map $(RV_OBJS) -lgcc -o $@

# Test copies of the kernel entered through one of entry.S's bad device tree
# entries (_start_<hook>_fdt): the same objects plus a jump at the entry point.
$(RV_OUT)/hooks/%.o: arch/riscv64/hooks/entry_hook.S
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) -DHOOK_$* -DHOOK_TARGET=_start_$*_fdt -c $< -o $@

$(RV_OUT)/kernel-%-fdt.elf: $(RV_OUT)/hooks/%.o $(RV_OBJS) linker/kernel.ld $(RV_OUT)/heap_size
	$(RV_LINK) $< $(RV_OBJS) -lgcc -o $@

# The measuring image (kernel/latency.h): the same sources in objects of
# their own, the core counting lock spins (HA_SPIN_STATS), every ha_* call of
# the suites and workloads routed through kernel/latency.c by ld's --wrap.
# kernel.elf stays free of all of it.
RV_LAT_KERNEL := $(RV_OUT)/kernel-latency.elf
RV_LAT_OBJS := $(addprefix $(RV_OUT)/latency/,$(addsuffix .o,$(basename $(RV_SRCS))))
RV_LAT_WRAP := ha_alloc ha_alloc_zeroed ha_dealloc ha_free ha_realloc ha_alloc_pages ha_dealloc_pages \
               ha_collect

$(RV_OUT)/latency/%.o: %.c
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) -DKERNEL_LATENCY -c $< -o $@

$(RV_OUT)/latency/alloc/%.o: alloc/%.c
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) $(CORE_INC) -fomit-frame-pointer -DHA_EMBED_INLINE='"embed_inline.h"' \
	    -DHA_SPIN_STATS -c $< -o $@

$(RV_OUT)/latency/%.o: %.S
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) -c $< -o $@

-include $(RV_LAT_OBJS:.o=.d)

$(RV_LAT_KERNEL): $(RV_LAT_OBJS) linker/kernel.ld $(RV_OUT)/heap_size
	$(RV_LINK) $(addprefix -Wl$(comma)--wrap=,$(RV_LAT_WRAP)) $(RV_LAT_OBJS) -lgcc -o $@

comma := ,

.PHONY: kernel kernel-latency run debug FORCE
FORCE:
kernel: $(RV_KERNEL)
kernel-latency: $(RV_LAT_KERNEL)
ALL_TARGETS += $(RV_KERNEL) $(RV_LAT_KERNEL)

RUN_ENV = ALLOC='$(ALLOC)' SMP='$(SMP)' MEM='$(MEM)' ARGS='$(ARGS)' ACCEL='$(ACCEL)' \
          TIMEOUT='$(TIMEOUT)' KERNEL='$(RV_KERNEL)'
GDBPORT ?= 1234

run: $(RV_KERNEL)
	@$(RUN_ENV) ./tools/qemu-run.sh

# QEMU waits for gdb at reset; gdb loads the kernel's symbols and tools/gdbinit.
# QEMU runs in the background without the terminal (gdb has it); its console
# still prints here and goes to build/qemu-run.log. Quitting gdb kills QEMU.
debug: $(RV_KERNEL)
	@$(RUN_ENV) TIMEOUT=0 GDBPORT=$(GDBPORT) ./tools/qemu-run.sh </dev/null & \
	gdb-multiarch -q -x tools/gdbinit -ex 'target remote localhost:$(GDBPORT)' $(RV_KERNEL); \
	wait

# ---- test steps (tools/test-all.sh) ----------------------------------------
# Each runs QEMU through tools/qemu-test.sh, which prints one PASS/FAIL line
# per boot (and forwards the kernel's own case lines when a pass is expected).
# The QEMU steps use the TCG mode measured fastest for them (see README).
RV_TEST_ACCEL ?= mt
RV_JOBS ?= 2
QEMU_TEST = $(RUN_ENV) ACCEL=$(RV_TEST_ACCEL) ./tools/qemu-test.sh

.PHONY: rv-fdt rv-smoke rv-fail rv-bad-fdt rv-bad-args rv-alloc rv-debug rv-irq-defer
rv-smoke: $(RV_KERNEL)
	@rc=0; for n in 1 2 4 8; do \
	    EXPECT_LOG="^smp: $$n of $$n harts online" \
	    $(QEMU_TEST) pass smoke-smp$$n SMP=$$n ARGS=test=smoke || rc=1; done; \
	EXPECT_LOG='^smp: 3 of 4 harts online' \
	    $(QEMU_TEST) pass smoke-harts3-of-4 SMP=4 ARGS='test=smoke harts=3' || rc=1; \
	exit $$rc

rv-fail: $(RV_KERNEL)
	@EXPECT_EXIT=1 $(QEMU_TEST) fail fail-suite-exits-nonzero 'FAIL fail\.fails_on_purpose' SMP=2 ARGS=test=fail

RV_HOOKED := $(foreach h,no bad corrupt firmware,$(RV_OUT)/kernel-$(h)-fdt.elf)
rv-bad-fdt: $(RV_HOOKED)
	@rc=0; \
	EXPECT_EXIT=4 $(QEMU_TEST) fail corrupt-fdt 'error: device tree at .*unknown token 0x7' \
	    KERNEL=$(RV_OUT)/kernel-corrupt-fdt.elf || rc=1; \
	EXPECT_EXIT=3 $(QEMU_TEST) fail trap-reported 'TRAP unexpected load access fault .* stval 0x8000000[0-3]' \
	    KERNEL=$(RV_OUT)/kernel-firmware-fdt.elf || rc=1; \
	EXPECT_EXIT=4 $(QEMU_TEST) fail no-fdt 'error: no device tree' KERNEL=$(RV_OUT)/kernel-no-fdt.elf || rc=1; \
	EXPECT_EXIT=4 $(QEMU_TEST) fail bad-fdt-magic 'error: device tree at .*bad magic' \
	    KERNEL=$(RV_OUT)/kernel-bad-fdt.elf || rc=1; \
	exit $$rc

rv-bad-args: $(RV_KERNEL)
	@rc=0; \
	EXPECT_EXIT=4 $(QEMU_TEST) fail alloc-nonsense "unknown alloc_type 'nonsense'; valid: mi, " \
	    ALLOC=nonsense || rc=1; \
	EXPECT_EXIT=4 $(QEMU_TEST) fail unknown-boot-arg "unknown boot argument 'colour=red'; valid: alloc=" \
	    ARGS=colour=red || rc=1; \
	EXPECT_EXIT=4 $(QEMU_TEST) fail unknown-suite "unknown test suite 'nosuch'; valid: smoke, fail" \
	    ARGS=test=nosuch || rc=1; \
	EXPECT_EXIT=4 $(QEMU_TEST) fail bad-number "boot argument harts=zero: expected a number" \
	    ARGS=harts=zero || rc=1; \
	EXPECT_EXIT=2 $(QEMU_TEST) fail cpu-beyond-ncpu \
	    'PANIC hart .* cpu 1 in hartalloc .*CPU index >= ncpu given to ha_init' \
	    SMP=2 ARGS="test=smoke heapcpus=1" || rc=1; \
	EXPECT_EXIT=2 $(QEMU_TEST) fail cpu-beyond-ncpu-tlsf \
	    'PANIC hart .* cpu 1 in hartalloc .*CPU index >= ncpu given to ha_init' \
	    SMP=2 ALLOC=tlsf ARGS="test=smoke heapcpus=1" || rc=1; \
	exit $$rc

# An interrupt at every instruction of mi's fast paths, which mask nothing:
# trap.c defers it to their return (HA_EMBED_IRQ_DEFER; kernel/irq_defer_test.c).
rv-irq-defer: $(RV_KERNEL)
	@$(QEMU_TEST) pass irq-defer SMP=1 ALLOC=mi ARGS=test=irq-defer

# test=alloc for every alloc_type at 1, 2, 4 and 8 harts (names asked from the kernel).
rv-alloc: $(RV_KERNEL)
	@$(RUN_ENV) ACCEL=$(RV_TEST_ACCEL) RV_JOBS=$(RV_JOBS) ./tools/qemu-matrix.sh alloc 1 2 4 8

# The kernel's device tree parser on the host, under ASan/UBSan: QEMU's own
# virt tree (plus a /memreserve/ and a /reserved-memory node added with dtc)
# must parse to what QEMU was asked for; every corruption must fail cleanly.
RV_FDT_FUZZ := $(HOST_OUT)/fdt_fuzz
$(RV_FDT_FUZZ): kernel/test/fdt_fuzz.c kernel/fdt.c kernel/fdt.h alloc/format.c
	@mkdir -p $(dir $@)
	$(HOST_CC) -std=gnu11 -O1 -g -Wall -Wextra -Wno-type-limits -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -DFDT_MIN_ADDRESS=0 -Ikernel -Iarch/riscv64 -Ialloc/include \
	    kernel/test/fdt_fuzz.c kernel/fdt.c alloc/format.c -o $@

$(RV_OUT)/virt-test.dtb:
	@mkdir -p $(dir $@)
	qemu-system-riscv64 -machine virt,dumpdtb=$(RV_OUT)/virt.dtb -smp 4 -m 256M \
	    -nographic >/dev/null
	dtc -q -I dtb -O dts $(RV_OUT)/virt.dtb | \
	    sed '1a /memreserve/ 0x80000000 0x80000;' >$(RV_OUT)/virt-test.dts
	printf '%s\n' '/ { chosen { bootargs = "alloc=mi test=smoke"; };' \
	    'reserved-memory { #address-cells = <2>; #size-cells = <2>; ranges;' \
	    'fw@80000000 { reg = <0x0 0x80000000 0x0 0x80000>; no-map; }; }; };' >>$(RV_OUT)/virt-test.dts
	dtc -q -I dts -O dtb -o $@ $(RV_OUT)/virt-test.dts

rv-fdt: $(RV_FDT_FUZZ) $(RV_OUT)/virt-test.dtb
	@timeout 300 $(RV_FDT_FUZZ) $(RV_OUT)/virt-test.dtb 4 10000000 0x80000000 0x10000000 2 \
	    'alloc=mi test=smoke'

rv-debug: $(RV_KERNEL)
	@KERNEL=$(RV_KERNEL) ./tools/gdb-test.sh

TEST_STEPS += rv-fdt rv-smoke rv-fail rv-bad-fdt rv-bad-args rv-debug rv-alloc rv-irq-defer
