# Host tools: the `vmkd` binary (cmd/vmkd.c) over a library of the host layers
# (host/common, host/client, host/relay, ...), linked with libkd, libedit and capstone.

HOST_DIRS := host/common host/sym host/client host/relay host/gdb
HOST_SRCS := $(foreach d,$(HOST_DIRS),$(wildcard $(d)/*.c))
HOST_OBJS := $(HOST_SRCS:%.c=$(BUILD)/obj/%.o)
HOST_LIB := $(BUILD)/libvmkdhost.a
HOST_LIBS := $(shell pkg-config --libs libedit capstone 2>/dev/null || echo -ledit -lcapstone)
VMKD := $(BUILD)/vmkd

$(HOST_LIB): $(HOST_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(VMKD): $(BUILD)/obj/cmd/vmkd.o $(HOST_LIB) $(LIBKD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(HOST_LIBS)

ALL_TARGETS += $(HOST_LIB) $(VMKD)

# Unit tests of host code (tests/unit/test_client_*.c) link the host library (tests.mk puts
# TEST_EXTRA_LIBS before libkd and LDLIBS_TEST last).
TEST_EXTRA_LIBS += $(HOST_LIB)
LDLIBS_TEST += $(HOST_LIBS) -lpthread

# libFuzzer harnesses of the symbol layer (tests/fuzz).
FUZZ_SRCS_fuzz_pe_exports := host/sym/sym.c host/sym/sym_pe.c host/sym/sym_unwind.c
FUZZ_SRCS_fuzz_unwind := host/sym/sym_unwind.c
