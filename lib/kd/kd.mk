# Protocol core: built for the host as build/libkd.a (the freestanding build for the
# target kernel and the guest DLL reuses the same sources with their own flags).
KD_SRCS := $(wildcard lib/kd/*.c)
KD_OBJS := $(KD_SRCS:%.c=$(BUILD)/obj/%.o)
LIBKD := $(BUILD)/libkd.a

$(LIBKD): $(KD_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

ALL_TARGETS += $(LIBKD)
