# alloc/alloc.mk - the allocator core, compiled per target by the fragments
# that link it (arch/host/host.mk, arch/riscv64/riscv64.mk).

# Compile the core for rv64imac/lp64 too: the core must build without F/D and
# without any architecture #if. (Objects only; nothing links them.)
RV_IMAC_OBJS := $(patsubst alloc/%.c,$(RV_OUT)/imac/alloc/%.o,$(ALLOC_SRCS))
$(RV_OUT)/imac/alloc/%.o: alloc/%.c $(ALLOC_HDRS)
	@mkdir -p $(dir $@)
	$(RV_CC) $(CFLAGS_COMMON) $(CFLAGS_CORE) $(CORE_INC) -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany -c $< -o $@

ALL_TARGETS += $(RV_IMAC_OBJS)
