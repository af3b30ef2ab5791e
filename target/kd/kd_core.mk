# The platform-free KD target core (target/kd) as a host archive, so unit tests can drive
# it with fake machines and transports. The kernel build compiles the same files itself.
KD_CORE_SRCS := $(wildcard target/kd/*.c)
KD_CORE_OBJS := $(KD_CORE_SRCS:%.c=$(BUILD)/obj/%.o)
LIBKD_CORE := $(BUILD)/libkdcore.a

$(LIBKD_CORE): $(KD_CORE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

EXTRA_CFLAGS_target_kd_ := -Itarget/kd -Ilib/kd
EXTRA_CFLAGS_tests_unit_ += -Itarget/kd
TEST_EXTRA_LIBS += $(LIBKD_CORE)
