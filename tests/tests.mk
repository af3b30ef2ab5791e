# Unit tests: every tests/unit/test_*.c is one cmocka binary linked with libkd.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_SUPPORT_SRCS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/obj/%.o)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_SUPPORT_OBJS) $(LIBKD) $(TEST_EXTRA_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(TEST_EXTRA_LIBS) $(LIBKD) -lcmocka $(LDLIBS_TEST)

tests: $(UNIT_BINS) $(TEST_EXTRA_BINS)

# Fuzzers: tests/fuzz/fuzz_*.c, clang + libFuzzer + ASan/UBSan, always in build/fuzz.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -g -O1 -Iinclude -Ilib/kd \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fsanitize-coverage-ignorelist=tests/fuzz/coverage-ignore.txt

# A harness of host code names its extra sources: FUZZ_SRCS_fuzz_x := host/y/z.c (in the
# fragment of the layer it tests); they are prerequisites and compiled in.
.SECONDEXPANSION:
build/fuzz/%: tests/fuzz/%.c $(KD_SRCS) $$(FUZZ_SRCS_$$*) $(wildcard include/vmkd/*.h lib/kd/*.h host/*/*.h)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) $(FUZZ_CFLAGS_$*) -o $@ $< $(KD_SRCS) $(FUZZ_SRCS_$*) $(FUZZ_LIBS_$*)

fuzz-build: $(FUZZ_BINS)

# Seeds: tests/fuzz/seeds/NAME/ for harness NAME when it has its own (libFuzzer reads a
# directory recursively, and another harness's big inputs would slow it), else
# tests/fuzz/seeds/common/ (KD byte streams and scripts).
fuzz: fuzz-build
	@for f in $(FUZZ_BINS); do \
		n=$$(basename $$f); seeds=tests/fuzz/seeds/$$n; \
		[ -d $$seeds ] || seeds=tests/fuzz/seeds/common; \
		mkdir -p build/fuzz/corpus/$$n; \
		echo "== $$f for $(FUZZ_SECONDS) s ($$seeds)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			build/fuzz/corpus/$$n $$seeds || exit 1; \
	done

# The long campaign (>= 10 million executions per harness, reported in the README).
fuzz-long: fuzz-build
	scripts/fuzz-long.sh

.PHONY: tests fuzz fuzz-build fuzz-long

# Tests may reach the protocol core's private headers.
EXTRA_CFLAGS_tests_unit_ += -Ilib/kd
.SECONDARY:

# Test tools (tests/tools/*.c): stand-ins the integration tests run, e.g. fake_guest.
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/tools/%)

$(BUILD)/tests/tools/%: $(BUILD)/obj/tests/tools/%.o $(LIBKD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^

tests: $(TOOL_BINS)
