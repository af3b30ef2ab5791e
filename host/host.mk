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
FUZZ_SRCS_fuzz_pe_exports := host/sym/sym.c host/sym/sym_pe.c host/sym/sym_unwind.c \
	host/sym/sym_pdb.c
FUZZ_SRCS_fuzz_unwind := host/sym/sym_unwind.c
FUZZ_SRCS_fuzz_sym_pdb := host/sym/sym_pdb.c

# A small DLL and its PDB from Debian's clang and lld-link, for test_sym_pdb (which skips
# itself when lld-link is not installed).
PDB_FIXTURE_DIR := $(BUILD)/tests/pdb
$(PDB_FIXTURE_DIR)/pdbtest.dll: tests/fixtures/pdbtest.c
	@mkdir -p $(@D)
	@if command -v clang >/dev/null && command -v lld-link >/dev/null; then \
		clang --target=x86_64-pc-windows-msvc -O1 -gcodeview -c $< -o $(@D)/pdbtest.obj && \
		lld-link /nologo /dll /noentry /nodefaultlib /debug /pdb:$(@D)/pdbtest.pdb \
			/out:$@ $(@D)/pdbtest.obj; \
	else echo "lld-link not found: test_sym_pdb will skip"; fi
$(BUILD)/tests/test_sym_pdb: $(PDB_FIXTURE_DIR)/pdbtest.dll
EXTRA_CFLAGS_tests_unit_ += -DVMKD_PDB_FIXTURE_DIR='"$(PDB_FIXTURE_DIR)"'
