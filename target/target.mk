# SPDX-License-Identifier: MIT
# target/target.mk - the bootable x86-64 test kernel: $(BUILD)/target/vmkd-target.bin, the
# flat multiboot image QEMU's -kernel boots (scripts/qemu-target.sh), plus the ELF with
# symbols beside it for debugging.
#
# Every target/*.c and target/*.S is part of the kernel (drop a file in, it is built), and so
# is the KD protocol core from lib/kd, compiled again with the kernel's flags: freestanding,
# no red zone (traps land on the current stack), no SSE in C (the trap path and Windows-built
# code share the FPU state), no stack protector, no libc headers (target/include shadows
# <string.h> with the kernel's own).
#
# Code model: the kernel runs at 0xfffff80000200000, outside the +-2 GiB windows that
# -mcmodel=small/kernel reach with 32-bit absolute addresses. -fpie makes gcc address
# everything RIP-relative instead, and the static non-PIE link resolves every GOT/PLT
# reference at link time, so no run-time relocation is needed. (-mcmodel=large would work
# too, but turns every call and global access into a movabs sequence; RIP-relative code is
# also what Windows' own x64 code looks like under a debugger.)

TARGET_CC ?= gcc
TARGET_OBJCOPY ?= objcopy
TARGET_OUT := $(BUILD)/target
TARGET_OBJDIR := $(TARGET_OUT)/obj
TARGET_ELF := $(TARGET_OUT)/vmkd-target.elf
TARGET_BIN := $(TARGET_OUT)/vmkd-target.bin

TARGET_CFLAGS := -std=c11 -O2 -g -ffreestanding -nostdlib -fno-builtin \
	-mno-red-zone -mgeneral-regs-only -fno-stack-protector -fcf-protection=none \
	-fpie -fno-plt -fno-asynchronous-unwind-tables -fno-omit-frame-pointer \
	-fno-tree-loop-distribute-patterns \
	$(WARNINGS) -Itarget/include -Iinclude -Itarget/kd -Iguest -Ilib/kd
TARGET_ASFLAGS := -fpie -g -Wall -Werror -Itarget/include -Iinclude
TARGET_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,target/kernel.ld -Wl,--build-id=none \
	-Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--fatal-warnings \
	-Wl,-Map,$(TARGET_OUT)/vmkd-target.map

# The protocol core: everything but the host-only trace decoder. kd_link.c and kd_api.c are
# picked up once they exist. The platform-free KD target core (target/kd, also built for
# the host by target/kd/kd_core.mk) is compiled in too.
TARGET_KD_SRCS := lib/kd/kd_packet.c lib/kd/kd_parser.c \
	$(wildcard lib/kd/kd_link.c lib/kd/kd_api.c)
# workload=echo runs kdvm.dll's channel core directly (no KD on top): the benchmark's
# channel floor. Same sources as the DLL, built with the kernel's flags.
TARGET_GUEST_SRCS := lib/kd/vmkd_frame.c guest/guest_mem.c guest/pci_cf8.c guest/vring.c \
	guest/virtio_serial.c guest/kdvm_channel.c
# loader_block.c lays blocks out from the DLL's own table of known layouts.
TARGET_GUEST_SRCS += guest/kdvm_options.c
# the channel's backends (guest/kdvm_backend.h): virtio-serial and ivshmem
TARGET_GUEST_SRCS += guest/kdvm_backend_vser.c guest/kdvm_backend_ivs.c guest/ivshmem.c \
	lib/kd/vmkd_shmring.c
TARGET_SRCS := $(wildcard target/*.c target/*.S target/kd/*.c) $(TARGET_KD_SRCS) \
	$(TARGET_GUEST_SRCS)
TARGET_OBJS := $(patsubst %,$(TARGET_OBJDIR)/%.o,$(basename $(TARGET_SRCS)))

$(TARGET_OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	$(TARGET_CC) $(TARGET_CFLAGS) -MMD -MP -c $< -o $@

$(TARGET_OBJDIR)/%.o: %.S
	@mkdir -p $(@D)
	$(TARGET_CC) $(TARGET_ASFLAGS) -MMD -MP -c $< -o $@

$(TARGET_ELF): $(TARGET_OBJS) target/kernel.ld
	$(TARGET_CC) $(TARGET_LDFLAGS) -o $@ $(TARGET_OBJS)

$(TARGET_BIN): $(TARGET_ELF)
	$(TARGET_OBJCOPY) -O binary $< $@

ALL_TARGETS += $(TARGET_BIN)

-include $(TARGET_OBJS:.o=.d)

# ---- kdvm.dll, the real transport DLL, embedded and loaded by target/pe_loader.c ----------
#
# guest/guest.mk builds $(BUILD)/guest/kdvm.dll (mingw-w64). When that fragment exists, the
# kernel embeds the DLL (target/kdvm_blob.S, .incbin) and `debugport=vm` loads it; building
# the kernel then builds the DLL, and stops with a clear message when mingw-w64 is missing
# (never a kernel silently without it). `make KDVM_EMBED=` builds a kernel without it (it
# says "not built in" and falls back to serial); `make KDVM_EMBED=other.dll` embeds another
# file. guest.mk is included after this file, so the fragment's existence decides, not its
# variables, and nothing here looks for the cross compiler while make parses.
ifneq ($(wildcard guest/guest.mk),)
KDVM_EMBED ?= $(BUILD)/guest/kdvm.dll
endif
KDVM_BLOB_OBJ := $(TARGET_OBJDIR)/target/kdvm_blob.o
KDVM_BLOB_CFG := $(TARGET_OUT)/kdvm-blob.cfg

# .incbin is invisible to -MMD: depend on the DLL itself, and on a file that changes only
# when the embedded path does (so switching KDVM_EMBED on or off rebuilds the blob).
$(KDVM_BLOB_CFG): vmkd-kdvm-blob-cfg
	@mkdir -p $(@D)
	@echo '$(KDVM_EMBED)' | cmp -s - $@ || echo '$(KDVM_EMBED)' > $@

$(KDVM_BLOB_OBJ): $(KDVM_BLOB_CFG) $(KDVM_EMBED)
$(KDVM_BLOB_OBJ): private TARGET_ASFLAGS += $(if $(KDVM_EMBED),-DKDVM_DLL_PATH='"$(KDVM_EMBED)"')

.PHONY: vmkd-kdvm-blob-cfg

# The same PE loader built for the host, so tests/unit/test_pe_loader.c loads the real DLL.
# It includes nothing from the kernel, hence no kernel flags.
LIBPELOADER := $(BUILD)/libpeloader.a

$(LIBPELOADER): $(BUILD)/obj/target/pe_loader.o
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

EXTRA_CFLAGS_tests_unit_ += -Itarget
TEST_EXTRA_LIBS += $(LIBPELOADER)

# libFuzzer harness of the same loader (tests/fuzz/fuzz_pe_loader.c).
FUZZ_SRCS_fuzz_pe_loader := target/pe_loader.c
FUZZ_CFLAGS_fuzz_pe_loader := -Itarget
