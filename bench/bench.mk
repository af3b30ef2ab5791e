# Benchmarks: `vmkd bench` (host/bench/, linked into the host library and the vmkd binary)
# and the harness that boots the VMs and runs it (bench/run.sh).
#
#   make bench         serial vs vmkd under every usable accelerator: a table on stdout,
#                      bench/results/latest.csv and latest.png (BENCH_ARGS passes options)
#   make bench-smoke   the same harness in a tiny mode, under TCG, with the CSV checked

BENCH_SRCS := $(wildcard host/bench/*.c)
BENCH_OBJS := $(BENCH_SRCS:%.c=$(BUILD)/obj/%.o)

# host.mk archives $^: adding prerequisites adds the objects.
$(HOST_LIB): $(BENCH_OBJS)

BENCH_ARGS ?=

bench: deps all
	BUILD=$(BUILD) bench/run.sh $(BENCH_ARGS)

bench-smoke: all
	BUILD=$(BUILD) tests/integration/bench-smoke.sh

.PHONY: bench bench-smoke
