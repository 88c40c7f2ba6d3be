# tools/bench.mk - benchmark workloads (tests/bench/) on the host and in QEMU.
#
#   make bench        host: every workload under hartalloc (LD_PRELOAD), glibc,
#                     mimalloc, jemalloc and tcmalloc; writes docs/bench/
#   make bench-qemu   kernel: every workload x alloc_type x harts 1,2,4,8
#   make bench-icount kernel: guest instructions per op at 1 hart (-icount)
#   make bench-latency kernel: every call's cost, per alloc_type x workload
#                     at 1 and 4 harts (-icount, kernel-latency.elf)
#   make bench-report regenerate docs/bench/report.md and the plots
#   make bench-pair   callgrind instructions per malloc(32)+free pair
#   make bench-usable malloc_usable_size of powers of two, every alloc_type and libmimalloc
#   make bench-sweep  host: threads 1..1,000, hartalloc (also with scarce heaps)
#                     vs libmimalloc and glibc (part of make bench)
#   make bench-memory host: resident memory after frees (part of make bench)
#   make bench-pair-kernel  kernel: guest instructions per ha_alloc(32, 8) +
#                     ha_dealloc pair, every alloc_type (-icount), and the
#                     disassembly count of the fast path (tools/bench/fastpath-count.py)
#   make bench-profile W=<workload>  callgrind top functions, hartalloc vs mimalloc
# Knobs: BENCH_REPS (host repetitions), BENCH_THREADS (host threads),
#        BENCH_ONLY (a subset of workloads, space-separated), BENCH_ACCEL.

BENCH_OUT   := $(BUILD)/bench
BENCH_HOST  := $(BENCH_OUT)/bench-host
BENCH_PAIR  := $(BENCH_OUT)/pair
BENCH_USABLE := $(BENCH_OUT)/usable
BENCH_SWEEP := $(BENCH_OUT)/thread-sweep
BENCH_DOCS  := docs/bench
HA_PRELOAD  := $(HOST_OUT)/libhartalloc.so
KERNEL_ELF  := $(RV_OUT)/kernel.elf

BENCH_REPS    ?= 5
BENCH_THREADS ?= $(shell nproc)
BENCH_ONLY    ?=
BENCH_ACCEL   ?= mt

# The workloads built as a plain program: malloc/free underneath (BENCH_LIBC),
# with the shared harness and formatter, and no hartalloc linked in.
BENCH_HOST_SRCS := tools/bench/host_main.c $(BENCH_SRCS) tests/benches.c tests/harness.c alloc/format.c
BENCH_HOST_CFLAGS := $(CFLAGS_COMMON) -DBENCH_LIBC -pthread \
                     -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc

$(BENCH_HOST): $(BENCH_HOST_SRCS) $(wildcard tests/bench/*.h tests/*.h alloc/include/*.h)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(BENCH_HOST_CFLAGS) $(BENCH_HOST_SRCS) -o $@

$(BENCH_USABLE): tools/bench/usable.c
	@mkdir -p $(dir $@)
	$(HOST_CC) -O2 -fno-builtin-malloc -fno-builtin-free $< -o $@
$(BENCH_SWEEP): tools/bench/thread_sweep.c
	@mkdir -p $(dir $@)
	$(HOST_CC) -O2 -g -pthread -fno-builtin $< -o $@

$(BENCH_PAIR): tools/bench/pair.c
	@mkdir -p $(dir $@)
	$(HOST_CC) -O2 -g -fno-builtin-malloc -fno-builtin-free $< -o $@

.PHONY: bench bench-qemu bench-icount bench-latency bench-report bench-pair bench-pair-kernel bench-usable \
        bench-profile test-bench-host test-bench-qemu test-latency bench-sweep bench-memory

bench: $(BENCH_HOST) $(HA_PRELOAD) $(BENCH_SWEEP) $(HOST_PRELOAD_MEMORY)
	python3 tools/bench/run.py host --bin $(BENCH_HOST) --preload $(HA_PRELOAD) \
	    --reps $(BENCH_REPS) --threads "$(BENCH_THREADS)" --only "$(BENCH_ONLY)" \
	    --out $(BENCH_DOCS)/host.json
	$(MAKE) --no-print-directory bench-sweep bench-memory

# Three runs per point: each thread count does the same total work.
bench-sweep: $(BENCH_SWEEP) $(HA_PRELOAD)
	python3 tools/bench/run.py sweep --bin $(BENCH_SWEEP) --preload $(HA_PRELOAD) --reps 3 \
	    --out $(BENCH_DOCS)/sweep.json
	python3 tools/bench/report.py $(BENCH_DOCS)

bench-memory: $(HOST_PRELOAD_MEMORY) $(HA_PRELOAD)
	python3 tools/bench/run.py memory --bin $(HOST_PRELOAD_MEMORY) --preload $(HA_PRELOAD) --reps 3 \
	    --out $(BENCH_DOCS)/memory.json
	python3 tools/bench/report.py $(BENCH_DOCS)

bench-qemu: $(KERNEL_ELF)
	python3 tools/bench/run.py qemu --accel $(BENCH_ACCEL) --only "$(BENCH_ONLY)" \
	    --out $(BENCH_DOCS)/kernel.json
	python3 tools/bench/report.py $(BENCH_DOCS)

# Guest instructions per operation, every workload x alloc_type at 1 hart
# under -icount: deterministic, the kernel path's cost without host noise.
bench-icount: $(KERNEL_ELF)
	python3 tools/bench/run.py qemu --accel icount --harts 1 --only "$(BENCH_ONLY)" \
	    --out $(BENCH_DOCS)/kernel-icount.json
	python3 tools/bench/report.py $(BENCH_DOCS)

# Per-call cost (kernel/latency.h): p50..max of every alloc_type on every
# workload and the alloc suite, lock waits, bytes zeroed/copied; CCDF plot.
bench-latency: $(RV_LAT_KERNEL) $(KERNEL_ELF)
	python3 tools/bench/run.py latency --only "$(BENCH_ONLY)" --out $(BENCH_DOCS)/kernel-latency.json
	python3 tools/bench/report.py $(BENCH_DOCS)

bench-report:
	python3 tools/bench/report.py $(BENCH_DOCS)

# malloc_usable_size of powers of two for every alloc_type and libmimalloc.
bench-usable: $(BENCH_USABLE) $(HA_PRELOAD)
	./tools/bench/usable.sh $(BENCH_USABLE) $(HA_PRELOAD) > $(BENCH_DOCS)/usable.json
	python3 tools/bench/report.py $(BENCH_DOCS)

bench-pair: $(BENCH_PAIR) $(HA_PRELOAD)
	./tools/bench/callgrind-pair.sh $(BENCH_PAIR) $(HA_PRELOAD) | tee $(BENCH_DOCS)/callgrind-pair.txt
	python3 tools/bench/report.py $(BENCH_DOCS)

bench-pair-kernel: $(KERNEL_ELF) rust-kernel
	python3 tools/bench/run.py pair --out $(BENCH_DOCS)/kernel-pair.json
	python3 tools/bench/fastpath-count.py $(KERNEL_ELF) --rust $(RUST_KERNEL) \
	    --json $(BENCH_DOCS)/fastpath-count.json --readme alloc/mi/README.md
	python3 tools/bench/report.py $(BENCH_DOCS)

# Where the time goes: callgrind of one host workload under hartalloc and
# mimalloc, top functions of each (make bench-profile W=glibc-thread).
W ?= glibc-thread
bench-profile: $(BENCH_HOST) $(HA_PRELOAD)
	./tools/bench/callgrind-profile.sh $(BENCH_HOST) $(HA_PRELOAD) $(W)

# make test: every workload once, tiny, to prove it runs (never timed).
test-bench-host: $(BENCH_HOST) $(HA_PRELOAD)
	python3 tools/bench/run.py test-host --bin $(BENCH_HOST) --preload $(HA_PRELOAD)

test-bench-qemu: $(KERNEL_ELF)
	python3 tools/bench/run.py test-qemu

# make test: the measuring image's figures add up and repeat (run.py).
test-latency: $(RV_LAT_KERNEL) $(KERNEL_ELF)
	python3 tools/bench/run.py test-latency

TEST_STEPS += test-bench-host test-bench-qemu test-latency
