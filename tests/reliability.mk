# tests/reliability.mk - reliability checks (issue 7): the model of the
# cross-CPU free protocol, the fuzzer, sanitizer builds, death tests, soak.
#
#   make model           model-check alloc/mi/model/thread_free.pml exhaustively (larger bounds)
#   make fuzz            the libFuzzer harness, FUZZ_TIME seconds per alloc_type
#   make kernel-checked  build/riscv64/checked/kernel-checked.elf (test=death-<case>)
#   make soak            the kernel soak: SOAK_HARTS harts, scale SOAK_SCALE, every alloc_type
#
# Test steps (short versions, in make test):
#   test-model        the model at small bounds must hold
#   test-model-bugs   each seeded bug of the model must be caught
#   test-fuzz         FUZZ_SMOKE_RUNS inputs per alloc_type
#   test-asan         the alloc suite, every alloc_type, 4 CPUs, under ASan + UBSan
#   test-tsan         the same under ThreadSanitizer
#   test-death        the bad-input matrix against the checked core (DEATH_ALLOCS),
#                     in forked children and under LD_PRELOAD of the checked library
#   test-death-qemu   the same cases in the checked kernel, one boot each
#   test-soak-qemu    the soak suite in the kernel at 4 harts (SOAK_TEST_ALLOCS)

MODEL_OUT := $(BUILD)/model
MODEL_CHECK := alloc/mi/model/check.sh
MODEL_SRC := alloc/mi/model/thread_free.pml $(MODEL_CHECK)
# Seeded bugs of the model (see the list at the top of thread_free.pml);
# 7 and 8 are in the large-page part (LARGE=1).
MODEL_BUGS := 1 2 3 4 5 6
MODEL_LARGE_BUGS := 7 8

.PHONY: model test-model test-model-bugs

# make model: 2 pages of 2 blocks with 4 owner allocations (~8.5 M states),
# the same plus the large page, 3 pages of 2 blocks with 3, one page of 3
# blocks with 5.
model: $(MODEL_SRC)
	@rc=0; \
	$(MODEL_CHECK) $(MODEL_OUT) full-2x2-a4 clean -DNPAGES=2 -DBPP=2 -DALLOCS=4 || rc=1; \
	$(MODEL_CHECK) $(MODEL_OUT) full-2x2-large-a4 clean -DNPAGES=2 -DBPP=2 -DALLOCS=4 -DLARGE=1 || rc=1; \
	$(MODEL_CHECK) $(MODEL_OUT) full-3x2-a3 clean -DNPAGES=3 -DBPP=2 -DALLOCS=3 || rc=1; \
	$(MODEL_CHECK) $(MODEL_OUT) full-1x3-a5 clean -DNPAGES=1 -DBPP=3 -DALLOCS=5 || rc=1; \
	exit $$rc

# make test: 2 pages of 2 blocks, 3 owner allocations (~0.9 M states), and
# the same with the large page (~1.4 M states).
test-model: $(MODEL_SRC)
	@rc=0; \
	$(MODEL_CHECK) $(MODEL_OUT) small-2x2-a3 clean -DNPAGES=2 -DBPP=2 -DALLOCS=3 || rc=1; \
	$(MODEL_CHECK) $(MODEL_OUT) small-2x2-large-a3 clean -DNPAGES=2 -DBPP=2 -DALLOCS=3 -DLARGE=1 || rc=1; \
	exit $$rc

test-model-bugs: $(MODEL_SRC)
	@rc=0; for b in $(MODEL_BUGS); do \
	    $(MODEL_CHECK) $(MODEL_OUT) bug$$b error -DNPAGES=2 -DBPP=2 -DALLOCS=3 -DBUG=$$b || rc=1; \
	done; \
	for b in $(MODEL_LARGE_BUGS); do \
	    $(MODEL_CHECK) $(MODEL_OUT) bug$$b error -DNPAGES=2 -DBPP=2 -DALLOCS=3 -DLARGE=1 -DBUG=$$b || rc=1; \
	done; exit $$rc

TEST_STEPS += test-model test-model-bugs

# ---- fuzzer ------------------------------------------------------------------
# tests/fuzz/fuzz_alloc.c is its own embedding; the core is compiled with the
# same sanitizers and libFuzzer's coverage instrumentation.
FUZZ_CC    ?= clang
FUZZ_OUT   := $(BUILD)/fuzz
FUZZ_BIN   := $(FUZZ_OUT)/fuzz_alloc
FUZZ_SAN   := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              -fsanitize-coverage-ignorelist=tests/fuzz/coverage-ignore.txt
FUZZ_FLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -fno-strict-aliasing \
              -Ialloc/include $(FUZZ_SAN)
FUZZ_CORE_OBJS := $(patsubst alloc/%.c,$(FUZZ_OUT)/alloc/%.o,$(ALLOC_SRCS))
FUZZ_TIME  ?= 60
FUZZ_SMOKE_RUNS ?= 400
# Every alloc_type, as the host runner lists them.
FUZZ_ALLOCS = $(shell $(HOST_TEST) --list-allocs)

$(FUZZ_OUT)/alloc/%.o: alloc/%.c $(ALLOC_HDRS) tests/fuzz/coverage-ignore.txt
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(CFLAGS_CORE) $(CORE_INC) -c $< -o $@

$(FUZZ_BIN): tests/fuzz/fuzz_alloc.c $(FUZZ_CORE_OBJS)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

.PHONY: fuzz test-fuzz
fuzz: $(FUZZ_BIN) $(HOST_TEST)
	./tests/fuzz/run.sh $(FUZZ_BIN) $(FUZZ_OUT) -max_total_time=$(FUZZ_TIME) $(FUZZ_ALLOCS)

test-fuzz: $(FUZZ_BIN) $(HOST_TEST)
	@./tests/fuzz/run.sh $(FUZZ_BIN) $(FUZZ_OUT) -runs=$(FUZZ_SMOKE_RUNS) $(FUZZ_ALLOCS)

TEST_STEPS += test-fuzz

# ---- death tests -----------------------------------------------------------
# tests/death/death_cases.c against the checked core (host.mk's objects), each
# case in a forked child. DEATH_ALLOCS: the alloc_types whose checked build
# must catch every case: all of them. (tlsf and the fits catch a double free
# and a write after free under LD_PRELOAD thanks to alloc/checked/quarantine.h; there
# a freed block's link is never written while it waits, so the fill check
# reports the corrupted-link case as a write after free.)
DEATH_OUT  := $(BUILD)/death
DEATH_HOST := $(DEATH_OUT)/death-host
DEATH_OBJS := $(DEATH_OUT)/death_cases.o $(DEATH_OUT)/death_host.o
DEATH_ALLOCS ?= mi mi-locked tlsf buddy slab first-fit best-fit worst-fit

$(DEATH_OUT)/%.o: tests/death/%.c tests/death/death_cases.h
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -Itests/death -c $< -o $@

-include $(DEATH_OBJS:.o=.d)

$(DEATH_HOST): $(DEATH_OBJS) $(HOST_CORE_CHECKED_OBJS) $(HOST_HOOK_OBJS)
	$(HOST_CC) -pthread -o $@ $^

# An ordinary malloc program misusing memory under LD_PRELOAD of the checked
# library. -O0 -w: the misuse must happen as written (GCC warns about it and
# could fold malloc/free pairs away).
DEATH_VICTIM := $(DEATH_OUT)/preload-victim
$(DEATH_VICTIM): tests/death/preload_victim.c
	@mkdir -p $(@D)
	$(HOST_CC) -std=gnu11 -O0 -g -w -fno-builtin -o $@ $<

.PHONY: test-death
test-death: $(DEATH_HOST) $(DEATH_VICTIM) $(HOST_SO_CHECKED)
	@rc=0; for a in $(DEATH_ALLOCS); do \
	    $(DEATH_HOST) --alloc=$$a || rc=1; \
	    ./tests/death/preload-death.sh $(HOST_SO_CHECKED) $(DEATH_VICTIM) $$a || rc=1; \
	done; exit $$rc


TEST_STEPS += test-death

# The checked test kernel: the kernel's sources over the HA_CHECKED core,
# with the death suites as its only registry (tests/death/death_suites.c
# replaces tests/suites.c). Each case boots once and must panic.
RVC_OUT    := $(RV_OUT)/checked
RVC_KERNEL := $(RVC_OUT)/kernel-checked.elf
RVC_SRCS   := $(filter-out tests/suites.c,$(RV_SRCS)) tests/death/death_cases.c tests/death/death_suites.c
RVC_OBJS   := $(addprefix $(RVC_OUT)/obj/,$(addsuffix .o,$(basename $(RVC_SRCS))))
DEATH_CASES := $(shell sed -n 's/^DEATH_SUITE([a-z_]*, "\([a-z-]*\)");$$/\1/p' tests/death/death_suites.c)
DEATH_KERNEL_ALLOCS ?= mi mi-locked tlsf buddy slab first-fit best-fit worst-fit

$(RVC_OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) -DHA_CHECKED -Itests/death -c $< -o $@
$(RVC_OUT)/obj/alloc/%.o: alloc/%.c
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) $(CORE_INC) -DHA_CHECKED -c $< -o $@
$(RVC_OUT)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(RV_CC) $(RV_CFLAGS) -DHA_CHECKED -c $< -o $@
-include $(RVC_OBJS:.o=.d)

$(RVC_KERNEL): $(RVC_OBJS) linker/kernel.ld $(RV_OUT)/heap_size
	$(RV_LINK) $(RVC_OBJS) -lgcc -o $@

.PHONY: kernel-checked test-death-qemu
kernel-checked: $(RVC_KERNEL)
test-death-qemu: $(RVC_KERNEL)
	@rc=0; for a in $(DEATH_KERNEL_ALLOCS); do \
	    ./tests/death/qemu-death.sh $(RVC_KERNEL) $$a $(DEATH_CASES) || rc=1; done; exit $$rc

TEST_STEPS += test-death-qemu

# ---- sanitizer builds of the host test runner -------------------------------
# The same sources as host.mk's hartalloc-test (core, host hooks, runner,
# suites, workloads), compiled into build/asan and build/tsan. Races and
# errors are fixed where they are, not suppressed: no suppression file.
SAN_SRCS := $(ALLOC_SRCS) $(HOST_HOOK_SRCS) $(HOST_RUNNER_SRCS) $(TEST_SRCS) $(BENCH_SRCS)
SAN_CFLAGS := $(CFLAGS_COMMON) -Iarch/host -pthread -O1 -g -fno-omit-frame-pointer
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
TSAN_FLAGS := -fsanitize=thread
ASAN_TEST := $(BUILD)/asan/hartalloc-test
TSAN_TEST := $(BUILD)/tsan/hartalloc-test
SAN_CPUS ?= 4
SAN_SUITES ?= smoke alloc soak

# sanitizer_build NAME FLAGS: build/NAME/hartalloc-test from SAN_SRCS, the
# core with its internal include path, everything else without it.
define sanitizer_build
$(BUILD)/$(1)/obj/alloc/%.o: alloc/%.c
	@mkdir -p $$(@D)
	$(HOST_CC) $(SAN_CFLAGS) $(CFLAGS_CORE) $(CORE_INC) $(2) -MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/obj/%.o: %.c
	@mkdir -p $$(@D)
	$(HOST_CC) $(SAN_CFLAGS) $(2) -MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/hartalloc-test: $(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$(SAN_SRCS))
	$(HOST_CC) $(2) -pthread -o $$@ $$^
-include $(patsubst %.c,$(BUILD)/$(1)/obj/%.d,$(SAN_SRCS))
endef
$(eval $(call sanitizer_build,asan,$(ASAN_FLAGS)))
$(eval $(call sanitizer_build,tsan,$(TSAN_FLAGS)))

.PHONY: test-asan test-tsan
test-asan: $(ASAN_TEST)
	@./tests/sanitize/run.sh $(ASAN_TEST) asan $(SAN_CPUS) $(SAN_SUITES)
test-tsan: $(TSAN_TEST)
	@./tests/sanitize/run.sh $(TSAN_TEST) tsan $(SAN_CPUS) $(SAN_SUITES)

TEST_STEPS += test-asan test-tsan

# ---- soak (tests/soak.c) ---------------------------------------------------
# make soak: the kernel on SOAK_HARTS harts with the timer on, scale
# SOAK_SCALE (100: ~5 M operations at 8 harts), for each of SOAK_ALLOCS.
# The test step boots a small version; the host suites run `soak` too
# (test-host-suites runs every allocator suite).
SOAK_HARTS  ?= 8
SOAK_SCALE  ?= 100
SOAK_ALLOCS ?= $(shell $(HOST_TEST) --list-allocs)
SOAK_TEST_ALLOCS ?= mi tlsf

.PHONY: soak test-soak-qemu
soak: $(RV_KERNEL) $(HOST_TEST)
	@rc=0; for a in $(SOAK_ALLOCS); do \
	    QEMU_TEST_TIMEOUT=900 $(QEMU_TEST) pass soak-$$a-smp$(SOAK_HARTS) ALLOC=$$a SMP=$(SOAK_HARTS) \
	        ARGS="test=soak scale=$(SOAK_SCALE)" || rc=1; \
	    grep -h '^soak:' build/test-logs/qemu/soak-$$a-smp$(SOAK_HARTS).log; \
	done; exit $$rc

test-soak-qemu: $(RV_KERNEL)
	@rc=0; for a in $(SOAK_TEST_ALLOCS); do \
	    $(QEMU_TEST) pass soak-$$a-smp4 ALLOC=$$a SMP=4 ARGS="test=soak" || rc=1; \
	done; exit $$rc

TEST_STEPS += test-soak-qemu
