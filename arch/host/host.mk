# arch/host/host.mk - the host build: the library, the LD_PRELOAD malloc
# libraries, the test runner, and their test steps.
#
#   build/host/libhartalloc.a          core + host hooks, for programs calling ha_*
#   build/host/libhartalloc.so         LD_PRELOAD malloc (arch/host/malloc_shim.c)
#   build/host/libhartalloc-checked.so the same over a core built with HA_CHECKED
#   build/host/hartalloc-test          the shared suites and benchmarks on threads
#   build/host/hartalloc-test-checked  the same over the HA_CHECKED core
#   build/host/preload-threads         a plain pthread program for test-host-preload
#   build/host/preload-memory-return   the same, for memory given back
#   build/host/static-lib              a program on libhartalloc.a and hartalloc.h only

HOST_HOOK_SRCS   := arch/host/cpu_slots.c arch/host/console.c arch/host/region.c arch/host/release.c
HOST_SHIM_SRC    := arch/host/malloc_shim.c
HOST_RUNNER_SRCS := arch/host/runner.c arch/host/runner_timer.c

# Everything is position-independent so one set of objects serves the
# archive, the shared libraries and the runner. -MMD: header dependencies.
HOST_CFLAGS      := $(CFLAGS_COMMON) -Iarch/host -fPIC -pthread -MMD -MP
# The core gets the per-operation hooks inline (arch/host/embed_inline.h),
# and gives free segments back (arch/host/release.c).
HOST_CORE_CFLAGS := $(HOST_CFLAGS) $(CFLAGS_CORE) $(CORE_INC) -DHA_EMBED_INLINE='"embed_inline.h"' \
                    -DHA_EMBED_RELEASE
# The shim defines malloc itself: keep GCC from rewriting its body into calls
# to the functions being defined (malloc+memset -> calloc).
HOST_SHIM_CFLAGS := $(HOST_CFLAGS) -fno-builtin

HOST_OBJ         := $(HOST_OUT)/obj
HOST_OBJ_CHECKED := $(HOST_OUT)/obj-checked
host_objs = $(patsubst %.c,$(1)/%.o,$(2))

HOST_CORE_OBJS         := $(call host_objs,$(HOST_OBJ),$(ALLOC_SRCS))
HOST_CORE_CHECKED_OBJS := $(call host_objs,$(HOST_OBJ_CHECKED),$(ALLOC_SRCS))
HOST_HOOK_OBJS         := $(call host_objs,$(HOST_OBJ),$(HOST_HOOK_SRCS))
HOST_SHIM_OBJ          := $(call host_objs,$(HOST_OBJ),$(HOST_SHIM_SRC))
HOST_RUNNER_OBJS       := $(call host_objs,$(HOST_OBJ),$(HOST_RUNNER_SRCS) $(TEST_SRCS) $(BENCH_SRCS))

HOST_LIB        := $(HOST_OUT)/libhartalloc.a
HOST_SO         := $(HOST_OUT)/libhartalloc.so
HOST_SO_CHECKED := $(HOST_OUT)/libhartalloc-checked.so
HOST_TEST       := $(HOST_OUT)/hartalloc-test
HOST_TEST_CHECKED := $(HOST_OUT)/hartalloc-test-checked
HOST_PRELOAD_THREADS := $(HOST_OUT)/preload-threads
HOST_PRELOAD_MEMORY  := $(HOST_OUT)/preload-memory-return
HOST_STATIC_LIB_TEST := $(HOST_OUT)/static-lib

$(HOST_OBJ)/alloc/%.o: alloc/%.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CORE_CFLAGS) -c $< -o $@

$(HOST_OBJ_CHECKED)/alloc/%.o: alloc/%.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CORE_CFLAGS) -DHA_CHECKED -c $< -o $@

$(HOST_SHIM_OBJ): $(HOST_SHIM_SRC)
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_SHIM_CFLAGS) -c $< -o $@

# arch/host, tests and tests/bench (the workloads call ha_* directly here).
$(HOST_OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -c $< -o $@

$(HOST_LIB): $(HOST_CORE_OBJS) $(HOST_HOOK_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The shared libraries export the malloc family and exactly the public ABI
# (the ha_* functions hartalloc.h declares, so the list follows the header).
# -Bsymbolic-functions: calls inside the library (malloc -> ha_alloc, the
# core -> its hooks) bind directly instead of through the PLT.
HOST_EXPORTS := $(HOST_OUT)/exports.map
HOST_SO_LDFLAGS := -shared -pthread -Wl,--version-script=$(HOST_EXPORTS) -Wl,-Bsymbolic-functions \
                   -Wl,-z,now

$(HOST_EXPORTS): alloc/include/hartalloc.h arch/host/host.mk
	@mkdir -p $(@D)
	{ echo '{ global: malloc; free; calloc; realloc; reallocarray; posix_memalign;'; \
	  echo '  aligned_alloc; memalign; valloc; pvalloc; malloc_usable_size; malloc_trim;'; \
	  grep -o '\bha_[a-z_]*(' $< | tr -d '(' | sort -u | sed 's/.*/  &;/'; \
	  echo '  local: *; };'; } > $@

$(HOST_SO): $(HOST_CORE_OBJS) $(HOST_HOOK_OBJS) $(HOST_SHIM_OBJ) $(HOST_EXPORTS)
	$(HOST_CC) $(HOST_SO_LDFLAGS) -o $@ $(filter %.o,$^)

$(HOST_SO_CHECKED): $(HOST_CORE_CHECKED_OBJS) $(HOST_HOOK_OBJS) $(HOST_SHIM_OBJ) $(HOST_EXPORTS)
	$(HOST_CC) $(HOST_SO_LDFLAGS) -o $@ $(filter %.o,$^)

$(HOST_TEST): $(HOST_RUNNER_OBJS) $(HOST_LIB)
	$(HOST_CC) -pthread -o $@ $(HOST_RUNNER_OBJS) $(HOST_LIB)

$(HOST_TEST_CHECKED): $(HOST_RUNNER_OBJS) $(HOST_CORE_CHECKED_OBJS) $(HOST_HOOK_OBJS)
	$(HOST_CC) -pthread -o $@ $^

# Built like any program: plain malloc, no hartalloc linked in.
$(HOST_PRELOAD_THREADS): arch/host/preload/threads.c
	@mkdir -p $(@D)
	$(HOST_CC) -std=gnu11 -O2 -g -Wall -Wextra -pthread $< -o $@ -ldl

# -fno-builtin: GCC may drop a malloc whose block is only written and freed.
$(HOST_PRELOAD_MEMORY): arch/host/preload/memory_return.c
	@mkdir -p $(@D)
	$(HOST_CC) -std=gnu11 -O2 -g -Wall -Wextra -fno-builtin -pthread $< -o $@

# As a user builds it: the public include directory and the archive, nothing else.
$(HOST_STATIC_LIB_TEST): arch/host/standalone/static_lib.c $(HOST_LIB) alloc/include/hartalloc.h
	@mkdir -p $(@D)
	$(HOST_CC) -std=gnu11 -O2 -g -Wall -Wextra -pthread -Ialloc/include $< $(HOST_LIB) -o $@

-include $(wildcard $(HOST_OBJ)/*/*.d $(HOST_OBJ)/*/*/*.d $(HOST_OBJ)/*/*/*/*.d \
                    $(HOST_OBJ_CHECKED)/*/*.d $(HOST_OBJ_CHECKED)/*/*/*.d)

ALL_TARGETS += $(HOST_LIB) $(HOST_SO) $(HOST_SO_CHECKED) $(HOST_TEST) $(HOST_TEST_CHECKED) \
               $(HOST_PRELOAD_THREADS) $(HOST_PRELOAD_MEMORY) $(HOST_STATIC_LIB_TEST)

.PHONY: test-host-suites test-host-preload test-host-static

# Every allocator suite x every alloc_type at 1 and 4 CPUs, and at 2 CPUs
# over the checked core; the fail suite must fail.
test-host-suites: $(HOST_TEST) $(HOST_TEST_CHECKED)
	./tools/host-suites.sh $(HOST_TEST) $(HOST_TEST_CHECKED)

# Unmodified programs under LD_PRELOAD.
test-host-preload: $(HOST_SO) $(HOST_SO_CHECKED) $(HOST_PRELOAD_THREADS) $(HOST_PRELOAD_MEMORY) $(HOST_TEST)
	./tools/host-preload.sh $(HOST_OUT)

# libhartalloc.a alone: ha_init, then ha_* from more threads than CPUs.
test-host-static: $(HOST_STATIC_LIB_TEST)
	$(HOST_STATIC_LIB_TEST)

TEST_STEPS += test-host-suites test-host-preload test-host-static

# ---- install ----------------------------------------------------------------
# make install PREFIX=/usr/local (DESTDIR= for staging): the headers, the
# archive, the LD_PRELOAD libraries, a pkg-config file, and under
# share/hartalloc the examples with the sources the Rust crate compiles
# (alloc/: examples/rust finds the crate two folders up, as in this tree).
PREFIX ?= /usr/local
INSTALL_ROOT = $(DESTDIR)$(PREFIX)
HOST_PUBLIC_HDRS := alloc/include/hartalloc.h alloc/include/hartalloc_embed.h
CRATE_SRCS := $(shell git ls-files alloc/rust/hartalloc 2>/dev/null || find alloc/rust/hartalloc -type f -not -path '*/target/*')

.PHONY: install test-install
install: $(HOST_LIB) $(HOST_SO) $(HOST_SO_CHECKED)
	install -d $(INSTALL_ROOT)/include $(INSTALL_ROOT)/lib/pkgconfig $(INSTALL_ROOT)/share/hartalloc
	install -m 644 $(HOST_PUBLIC_HDRS) $(INSTALL_ROOT)/include/
	install -m 644 $(HOST_LIB) $(INSTALL_ROOT)/lib/
	install -m 755 $(HOST_SO) $(HOST_SO_CHECKED) $(INSTALL_ROOT)/lib/
	sed 's|@PREFIX@|$(PREFIX)|' arch/host/hartalloc.pc.in > $(INSTALL_ROOT)/lib/pkgconfig/hartalloc.pc
	cd examples && find . -type f -not -name Cargo.lock -not -path './rust/target/*' \
	    -exec install -D -m 644 {} $(INSTALL_ROOT)/share/hartalloc/examples/{} \;
	chmod 755 $(INSTALL_ROOT)/share/hartalloc/examples/preload/run.sh
	for f in $(ALLOC_SRCS) $(ALLOC_HDRS) $(CRATE_SRCS); do \
	    install -D -m 644 $$f $(INSTALL_ROOT)/share/hartalloc/$$f || exit 1; done

# Install into a temporary prefix and build and run each example from there,
# as a user would (examples/README.md).
test-install:
	./tools/test-install.sh

TEST_STEPS += test-install
