# SPDX-License-Identifier: MIT
# guest/guest.mk - the guest transport: $(BUILD)/guest/kdvm.dll (mingw-w64, a Windows KD
# transport DLL) and the host unit tests of its ring, channel and transport logic
# ($(BUILD)/tests/test_guest_*, run by tests/run-tests.sh like every cmocka binary).
#
# The DLL is built freestanding (platform.md B1): no CRT, no red zone, no stack probes, no
# SSE in C, native subsystem, entry point 0, fixed image base, no timestamp, stripped. The
# same C files are compiled for the host with the normal flags for the tests.

GUEST_CORE_SRCS := guest/vring.c guest/guest_mem.c guest/pci_cf8.c guest/virtio_serial.c \
	guest/kdvm_channel.c guest/kdvm_transport.c guest/kdvm_options.c
# The ivshmem-doorbell backend (guest/ivshmem.h) and its rings (lib/kd/vmkd_shmring.c).
GUEST_CORE_SRCS += guest/ivshmem.c guest/kdvm_backend_vser.c guest/kdvm_backend_ivs.c
GUEST_CORE_HDRS := $(wildcard guest/*.h) include/vmkd/vmkd_frame.h \
	include/vmkd/vmkd_frame_parser.h include/vmkd/kd_wire.h include/vmkd/kd_bytes.h

# ---- kdvm.dll ---------------------------------------------------------------------------

MINGW_CC ?= x86_64-w64-mingw32-gcc
MINGW_WINDRES ?= x86_64-w64-mingw32-windres
GUEST_OUT := $(BUILD)/guest
GUEST_OBJDIR := $(GUEST_OUT)/obj
KDVM_DLL := $(GUEST_OUT)/kdvm.dll

GUEST_DLL_SRCS := $(GUEST_CORE_SRCS) guest/windows/kdvm.c lib/kd/vmkd_frame.c \
	lib/kd/vmkd_shmring.c
GUEST_DLL_OBJS := $(GUEST_DLL_SRCS:%.c=$(GUEST_OBJDIR)/%.o)
GUEST_DLL_RES := $(GUEST_OBJDIR)/guest/windows/kdvm_rc.o

GUEST_DLL_CFLAGS := -std=c11 -O2 -ffreestanding -nostdlib -fno-builtin \
	-fno-tree-loop-distribute-patterns -mno-red-zone -fno-stack-protector \
	-mno-stack-arg-probe -mgeneral-regs-only -g $(WARNINGS) -Iinclude -Ilib/kd -Iguest
GUEST_DLL_LDFLAGS := -shared -nostdlib -s -Wl,--subsystem,native -Wl,-e,0 \
	-Wl,--image-base,0x140000000 -Wl,--no-insert-timestamp
# The same DLL with its symbols and line tables, not stripped (the objects carry -g, which
# does not change their code): bench/dbgprint-profile.sh names the guest's instructions.
KDVM_SYM_DLL := $(GUEST_OUT)/kdvm-sym.dll

# The cross compiler is looked for when a recipe needs it, never while make parses: on a
# fresh machine `make demo` / `make check` install mingw-w64 (deps) after parsing began.
# Missing, it stops the build with what to do, instead of a kernel without kdvm.dll.
guest_need_tool = @command -v $(1) >/dev/null 2>&1 || { echo "guest.mk: $(1) not found: \
kdvm.dll (embedded in the test kernel for debugport=vm) needs mingw-w64. Run \
'make deps' (scripts/install-deps.sh), or build without it: make KDVM_EMBED=" >&2; exit 1; }

$(GUEST_OBJDIR)/%.o: %.c
	$(call guest_need_tool,$(MINGW_CC))
	@mkdir -p $(@D)
	$(MINGW_CC) $(GUEST_DLL_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_DLL_RES): guest/windows/kdvm.rc
	$(call guest_need_tool,$(MINGW_WINDRES))
	@mkdir -p $(@D)
	$(MINGW_WINDRES) -O coff $< -o $@

# Only the imports listed in guest/README.md may appear; tests/integration/kdvm-dll.sh checks.
$(KDVM_DLL): $(GUEST_DLL_OBJS) $(GUEST_DLL_RES) guest/windows/kdvm.def
	$(call guest_need_tool,$(MINGW_CC))
	$(MINGW_CC) $(GUEST_DLL_LDFLAGS) -o $@ $(GUEST_DLL_OBJS) $(GUEST_DLL_RES) \
		guest/windows/kdvm.def -lntoskrnl -lhal

$(KDVM_SYM_DLL): $(GUEST_DLL_OBJS) $(GUEST_DLL_RES) guest/windows/kdvm.def
	$(call guest_need_tool,$(MINGW_CC))
	$(MINGW_CC) $(filter-out -s,$(GUEST_DLL_LDFLAGS)) -o $@ $(GUEST_DLL_OBJS) \
		$(GUEST_DLL_RES) guest/windows/kdvm.def -lntoskrnl -lhal

# Part of `make all` unless the kernel is built without it (make KDVM_EMBED=).
ifneq ($(KDVM_EMBED),)
ALL_TARGETS += $(KDVM_DLL)
endif

kdvm: $(KDVM_DLL)

-include $(GUEST_DLL_OBJS:.o=.d)

# ---- bare-metal smoke kernel -------------------------------------------------------------
# The same core for a 32-bit multiboot kernel (guest/tests/vm): tests/integration/kdvm-dll.sh
# boots it under QEMU/TCG with a real virtio-serial device and guest/tests/vm/vser-smoke.py
# as the relay. 32-bit because QEMU's -kernel loads multiboot ELF32 and needs no long-mode
# set-up; -malign-double gives 64-bit members their x86-64 alignment, so the wire structs'
# static asserts hold.

GUEST_VM_ELF := $(GUEST_OUT)/vser-smoke.elf
GUEST_VM_OBJDIR := $(GUEST_OUT)/vm-obj
GUEST_VM_SRCS := guest/tests/vm/boot.S guest/tests/vm/vm_main.c guest/tests/vm/smoke.c \
	$(GUEST_CORE_SRCS) lib/kd/vmkd_frame.c lib/kd/vmkd_shmring.c
GUEST_VM_OBJS := $(patsubst %,$(GUEST_VM_OBJDIR)/%.o,$(basename $(GUEST_VM_SRCS)))
GUEST_VM_CFLAGS := -std=c11 -O2 -m32 -malign-double -ffreestanding -nostdlib -fno-builtin \
	-fno-tree-loop-distribute-patterns -fno-pic -fno-pie -fno-stack-protector \
	-fcf-protection=none -mgeneral-regs-only -fno-asynchronous-unwind-tables \
	$(WARNINGS) -Iinclude -Ilib/kd -Iguest

$(GUEST_VM_OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(GUEST_VM_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_VM_OBJDIR)/%.o: %.S
	@mkdir -p $(@D)
	$(CC) -m32 -fno-pic -c $< -o $@

$(GUEST_VM_ELF): $(GUEST_VM_OBJS) guest/tests/vm/vm.ld
	$(CC) -m32 -nostdlib -static -no-pie -Wl,-T,guest/tests/vm/vm.ld -Wl,--build-id=none \
		-o $@ $(GUEST_VM_OBJS)

TEST_EXTRA_BINS += $(GUEST_VM_ELF)

# The same for the ivshmem backend (guest/tests/vm/ivs_main.c): booted with
# ivshmem-doorbell and the real relay as its ivshmem server by
# tests/integration/ivshmem-smoke.sh.
GUEST_IVS_ELF := $(GUEST_OUT)/ivs-smoke.elf
GUEST_IVS_SRCS := guest/tests/vm/boot.S guest/tests/vm/ivs_main.c guest/tests/vm/smoke.c \
	guest/ivshmem.c guest/pci_cf8.c lib/kd/vmkd_frame.c lib/kd/vmkd_shmring.c
GUEST_IVS_OBJS := $(patsubst %,$(GUEST_VM_OBJDIR)/%.o,$(basename $(GUEST_IVS_SRCS)))

$(GUEST_IVS_ELF): $(GUEST_IVS_OBJS) guest/tests/vm/vm.ld
	$(CC) -m32 -nostdlib -static -no-pie -Wl,-T,guest/tests/vm/vm.ld -Wl,--build-id=none \
		-o $@ $(GUEST_IVS_OBJS)

TEST_EXTRA_BINS += $(GUEST_IVS_ELF)

-include $(GUEST_IVS_OBJS:.o=.d)

-include $(GUEST_VM_OBJS:.o=.d)

# ---- host unit tests --------------------------------------------------------------------

GUEST_HOST_OBJS := $(GUEST_CORE_SRCS:%.c=$(BUILD)/obj/%.o)
GUEST_TEST_SRCS := $(wildcard guest/tests/test_*.c)
GUEST_TEST_BINS := $(GUEST_TEST_SRCS:guest/tests/%.c=$(BUILD)/tests/%)
GUEST_TEST_SUPPORT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,\
	$(filter-out $(GUEST_TEST_SRCS),$(wildcard guest/tests/*.c)))

EXTRA_CFLAGS_guest_ := -Ilib/kd -Iguest
EXTRA_CFLAGS_guest_tests_ := -Ilib/kd -Iguest -Iguest/tests

$(GUEST_TEST_BINS): $(BUILD)/tests/%: $(BUILD)/obj/guest/tests/%.o $(GUEST_TEST_SUPPORT_OBJS) \
		$(GUEST_HOST_OBJS) $(LIBKD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBKD) -lcmocka

TEST_EXTRA_BINS += $(GUEST_TEST_BINS)

guest-test: $(GUEST_TEST_BINS)
	@for t in $(GUEST_TEST_BINS); do $$t || exit 1; done

.PHONY: kdvm guest-test
