# Host tools: the `vmkd` binary (cmd/vmkd.c) over a library of the host layers
# (host/common, host/client, host/relay, ...), linked with libkd, libedit and capstone.

HOST_DIRS := host/common host/sym host/client host/relay host/gdb host/setup host/dump host/record
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

# The relay core's fuzz harness (tests/fuzz/fuzz_relay.c): the per-VM core without sockets,
# with its observers (DbgPrint log, recorder) and the host path it calls into.
FUZZ_SRCS_fuzz_relay := host/relay/relay_vm.c host/relay/relay_guest.c \
	host/relay/relay_debugger.c host/relay/relay_queue.c host/relay/relay_buf.c \
	host/relay/relay_log.c host/relay/relay_stats.c \
	host/relay/relay_tap.c host/relay/relay_dbglog.c host/record/record.c \
	host/relay/relay_hostmem.c host/common/guest_ram.c host/common/guest_ram_qmp.c \
	host/common/guest_vmem.c host/common/pagewalk.c host/common/qmp.c host/common/endpoint.c

# libFuzzer harness of the engine's packet decoder (tests/fuzz/fuzz_session_decode.c).
FUZZ_SRCS_fuzz_session_decode := host/client/session_decode.c
# Fuzz harnesses of host/common (tests/fuzz/fuzz_pagewalk.c, fuzz_mtree.c).
FUZZ_SRCS_fuzz_pagewalk := host/common/pagewalk.c host/common/guest_ram.c host/common/guest_vmem.c
FUZZ_SRCS_fuzz_mtree := host/common/guest_ram.c

# Recordings (tests/fuzz/fuzz_record.c): reader, trace lines, pcapng export, replay script.
FUZZ_SRCS_fuzz_record := host/record/record.c host/record/record_text.c \
	host/record/pcapng.c host/record/replay.c
# libFuzzer harness of the gdb server's RSP framing and register decoding.
FUZZ_SRCS_fuzz_rsp := host/gdb/rsp_parser.c host/gdb/gdb_regs.c
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
