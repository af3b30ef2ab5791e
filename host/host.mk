# Host tools: the `vmkd` binary (cmd/vmkd.c) over a library of the host layers
# (host/common, host/client, host/relay, host/pdb, ...), linked with libkd, libedit, capstone
# and libcurl (PDB downloads).

HOST_DIRS := host/common host/pdb host/sym host/client host/relay host/gdb host/setup host/dump host/record
HOST_SRCS := $(foreach d,$(HOST_DIRS),$(wildcard $(d)/*.c))
HOST_OBJS := $(HOST_SRCS:%.c=$(BUILD)/obj/%.o)
HOST_LIB := $(BUILD)/libvmkdhost.a
HOST_LIBS := $(shell pkg-config --libs libedit capstone libcurl 2>/dev/null || \
	echo -ledit -lcapstone -lcurl)
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
	host/relay/relay_tap.c host/relay/relay_dbglog.c host/relay/relay_journal.c \
	host/record/record.c \
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
	host/pdb/codeview.c host/pdb/msf.c host/pdb/pdb.c host/pdb/pdb_load.c host/pdb/sympath.c \
	host/pdb/sympath_parse.c host/pdb/symsrv.c
FUZZ_LIBS_fuzz_pe_exports := -lcurl
FUZZ_SRCS_fuzz_unwind := host/sym/sym_unwind.c


# The PDB reader's harness (tests/fuzz/fuzz_pdb.c): MSF, PDB streams, the CodeView record and
# the symbol path parser (no I/O).
FUZZ_SRCS_fuzz_pdb := host/pdb/msf.c host/pdb/pdb.c host/pdb/codeview.c host/pdb/sympath_parse.c

# The PDB tests' fixture: a small DLL with a CodeView debug directory, its PDB and linker
# map, built with Debian's clang and lld-link at test time.
PDBTEST_DIR := $(BUILD)/pdbtest
PDBTEST_DLL := $(PDBTEST_DIR)/pdbtest.dll
$(PDBTEST_DLL): tests/pdb/pdbtest.c
	@mkdir -p $(@D)
	clang --target=x86_64-pc-windows-msvc -O1 -g -gcodeview -c $< -o $(PDBTEST_DIR)/pdbtest.obj
	lld-link /nologo /dll /noentry /nodefaultlib /debug /pdb:$(PDBTEST_DIR)/pdbtest.pdb \
		/map:$(PDBTEST_DIR)/pdbtest.map /out:$@ $(PDBTEST_DIR)/pdbtest.obj
TEST_EXTRA_BINS += $(PDBTEST_DLL)
EXTRA_CFLAGS_tests_unit_ += -DVMKD_PDBTEST_DIR='"$(PDBTEST_DIR)"'

# kdvm.dll with a PDB, for the PDB tests only: the shipped DLL's objects linked again by GNU
# ld (>= 2.40 writes PDBs: --pdb) without -s. The shipped $(BUILD)/guest/kdvm.dll is not
# changed. The recipe's variables come from guest/guest.mk (included later; recipes expand late).
PDBTEST_KDVM := $(PDBTEST_DIR)/kdvm/kdvm.dll
$(PDBTEST_KDVM): $(BUILD)/guest/kdvm.dll
	@mkdir -p $(@D)
	$(MINGW_CC) $(filter-out -s,$(GUEST_DLL_LDFLAGS)) -Wl,--pdb=$(@D)/kdvm.pdb -o $@ \
		$(GUEST_DLL_OBJS) $(GUEST_DLL_RES) guest/windows/kdvm.def -lntoskrnl -lhal
TEST_EXTRA_BINS += $(PDBTEST_KDVM)
