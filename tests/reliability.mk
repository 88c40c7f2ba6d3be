# tests/reliability.mk - reliability checks (issue 7): the model of the
# cross-CPU free protocol, the fuzzer, sanitizer builds, death tests, soak.
#
#   make model        model-check alloc/model/thread_free.pml exhaustively (larger bounds)
#
# Test steps (short versions, in make test):
#   test-model        the model at small bounds must hold
#   test-model-bugs   each seeded bug of the model must be caught

MODEL_OUT := $(BUILD)/model
MODEL_CHECK := alloc/model/check.sh
MODEL_SRC := alloc/model/thread_free.pml $(MODEL_CHECK)
# Seeded bugs of the model (see the list at the top of thread_free.pml).
MODEL_BUGS := 1 2 3 4 5 6

.PHONY: model test-model test-model-bugs

# make model: 2 pages of 2 blocks with 4 owner allocations (~8.5 M states),
# 3 pages of 2 blocks with 3, one page of 3 blocks with 5.
model: $(MODEL_SRC)
	@rc=0; \
	$(MODEL_CHECK) $(MODEL_OUT) full-2x2-a4 clean -DNPAGES=2 -DBPP=2 -DALLOCS=4 || rc=1; \
	$(MODEL_CHECK) $(MODEL_OUT) full-3x2-a3 clean -DNPAGES=3 -DBPP=2 -DALLOCS=3 || rc=1; \
	$(MODEL_CHECK) $(MODEL_OUT) full-1x3-a5 clean -DNPAGES=1 -DBPP=3 -DALLOCS=5 || rc=1; \
	exit $$rc

# make test: 2 pages of 2 blocks, 3 owner allocations (~0.9 M states).
test-model: $(MODEL_SRC)
	@$(MODEL_CHECK) $(MODEL_OUT) small-2x2-a3 clean -DNPAGES=2 -DBPP=2 -DALLOCS=3

test-model-bugs: $(MODEL_SRC)
	@rc=0; for b in $(MODEL_BUGS); do \
	    $(MODEL_CHECK) $(MODEL_OUT) bug$$b error -DNPAGES=2 -DBPP=2 -DALLOCS=3 -DBUG=$$b || rc=1; \
	done; exit $$rc

TEST_STEPS += test-model test-model-bugs
