# vmkd - Windows kernel debugging for virtual machines at memory speed.
#
#   make            build the host tools and libraries
#   make check      install what is missing, build normal + sanitizer trees, run every test
#   make demo       install what is missing, run the demonstration
#   make fuzz       run the libFuzzer harnesses (FUZZ_SECONDS each, default 60)
#   make bench      benchmarks (ratios measured side by side)
#   make install    PREFIX=/usr/local DESTDIR= (and make uninstall, make man): dist/dist.mk
#
# Each layer has its own fragment (lib/kd/kd.mk, host/host.mk, tests/tests.mk, ...), so a
# layer's files are listed next to its code. Objects go under $(BUILD); the sanitizer tree is
# the same rules run again with BUILD=build/asan SAN=1.

.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD ?= build
SAN ?= 0
CC ?= gcc
AR ?= ar

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wcast-qual -Wwrite-strings -Wformat=2 -Wundef -Wvla \
	-Wimplicit-fallthrough -Wmissing-declarations -Wold-style-definition

BASE_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -g -O2 $(WARNINGS) -Iinclude
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
BASE_CFLAGS := $(filter-out -O2,$(BASE_CFLAGS)) -O1 $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
endif
HOST_CFLAGS = $(BASE_CFLAGS) $(CFLAGS)

# Compile any host C file into $(BUILD)/obj/<same path>.o with dependency tracking.
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(EXTRA_CFLAGS_$(subst /,_,$(dir $<))) -MMD -MP -c $< -o $@

ALL_TARGETS :=

include lib/kd/kd.mk
include target/kd/kd_core.mk
-include host/host.mk
-include target/target.mk
-include guest/guest.mk
include tests/tests.mk
-include bench/bench.mk
-include dist/dist.mk

all: $(ALL_TARGETS)

# System packages the build and the tests need; installs only what is missing.
deps:
	@scripts/install-deps.sh

asan:
	$(MAKE) BUILD=build/asan SAN=1 all tests

# The builds use every core (unless the caller gave -j); the tests run one suite at a time.
JOBS := $(if $(findstring -j,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 2))

check: deps
	$(MAKE) $(JOBS) all tests
	$(MAKE) $(JOBS) asan
	tests/run-tests.sh

# deps runs first, and what to build is decided by a second make that parses the fragments
# only once the packages are there (guest.mk needs mingw-w64 for kdvm.dll, which the demo's
# kernel embeds): the first command on a fresh machine builds what the second would.
demo: deps
	$(MAKE) $(JOBS) all
	scripts/demo.sh

clean:
	rm -rf build

.PHONY: all deps asan check demo clean

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
