#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench-smoke.sh - keeps the benchmark harness from rotting: bench/run.sh in its tiny mode
# under TCG, then checks the CSV: the header, every metric row for both transports, numeric
# values where the run can measure them (n/a only where a note says why), no DbgPrint line
# lost, and the plot. No timing thresholds: benchmarks are not tests. Ends with
# "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-bench-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 skipped=0

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

if [[ ! -x $BUILD/vmkd || ! -r $BUILD/target/vmkd-target.bin ]]; then
	fail "build first: $BUILD/vmkd and $BUILD/target/vmkd-target.bin are needed"
	echo "$passed passed, $failed failed"
	exit 1
fi

# Every metric the table has; "!" = must be a number whenever the transport ran.
SERIAL=(rtt_small_us! rtt_small_us_p99! requests_per_s! rtt_read4k_us! rtt_read4k_us_p99!
	read_mb_s! read_bytes! vm_exits_per_packet vm_exits_per_packet_net idle_exits_per_s
	notifications_per_packet! portio_per_packet portio_while_polling dbgprint_lines_s!
	dbgprint_lines_lost! channel_rtt_us channel_rtt_us_p99 channel_rtt4k_us
	channel_rtt4k_us_p99)
VMKD=(rtt_small_us! rtt_small_us_p99! requests_per_s! rtt_read4k_us! rtt_read4k_us_p99!
	read_mb_s! read_bytes! vm_exits_per_packet vm_exits_per_packet_net idle_exits_per_s
	notifications_per_packet! portio_per_packet! portio_while_polling! dbgprint_lines_s!
	dbgprint_lines_lost! channel_rtt_us channel_rtt_us_p99 channel_rtt4k_us
	channel_rtt4k_us_p99)

echo "== bench/run.sh --smoke --accel tcg"
if timeout -k 5 600 bench/run.sh --smoke --accel tcg --out "$tmp" </dev/null >"$tmp/run.log" 2>&1; then
	pass "the harness ran to the end"
else
	fail "the harness failed (status $?)"
	sed 's/^/    | /' "$tmp/run.log" | tail -n 40
fi
csv=$tmp/latest.csv

if [[ $(head -n 1 "$csv" 2>/dev/null) == "accel,transport,metric,value,unit" ]]; then
	pass "latest.csv has the header accel,transport,metric,value,unit"
else
	fail "latest.csv is missing or has a wrong header"
fi

# check_rows TRANSPORT METRIC...: one row each, a number (or n/a with a note).
check_rows() {
	local transport=$1 spec metric rows value bad=0
	shift
	for spec in "$@"; do
		metric=${spec%!}
		rows=$(grep -c "^tcg,$transport,$metric," "$csv")
		value=$(grep "^tcg,$transport,$metric," "$csv" | head -n 1 | cut -d, -f4)
		if [[ $rows -ne 1 ]]; then
			echo "    $transport $metric: $rows rows"
			bad=1
		elif [[ $value =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then
			:
		elif [[ $value == n/a && $spec != *! ]] &&
			grep -q "^tcg $transport $metric: n/a: ." "$tmp/latest.notes"; then
			:
		else
			echo "    $transport $metric: '$value' ($([[ $spec == *! ]] && echo "must be a number" || echo "n/a without a reason"))"
			bad=1
		fi
	done
	return $bad
}

if check_rows serial "${SERIAL[@]}"; then
	pass "serial: every metric has one row, numeric (n/a only with a reason)"
else
	fail "serial: metric rows"
fi
if grep -q "^tcg vmkd rtt_small_us: n/a: .*kdvm.dll is not built" "$tmp/latest.notes"; then
	echo "SKIP: vmkd rows: kdvm.dll is not built here"
	skipped=$((skipped + 1))
elif check_rows vmkd "${VMKD[@]}"; then
	pass "vmkd: every metric has one row, numeric (n/a only with a reason)"
else
	fail "vmkd: metric rows"
fi

HOSTMEM=("${VMKD[@]:0:15}" dump_mb_s!)
if grep -q "^tcg hostmem rtt_small_us: n/a: .*\(kdvm.dll is not built\|/dev/shm\)" "$tmp/latest.notes"; then
	echo "SKIP: hostmem rows: $(grep -o "^tcg hostmem rtt_small_us: n/a: .*" "$tmp/latest.notes")"
	skipped=$((skipped + 1))
elif check_rows hostmem "${HOSTMEM[@]}"; then
	pass "hostmem: every metric has one row, numeric (n/a only with a reason)"
else
	fail "hostmem: metric rows"
fi

if grep -q "^tcg ivshmem rtt_small_us: n/a: .*kdvm.dll is not built" "$tmp/latest.notes"; then
	echo "SKIP: ivshmem rows: kdvm.dll is not built here"
elif check_rows ivshmem "${VMKD[@]}"; then
	pass "ivshmem: every metric has one row, numeric (n/a only with a reason)"
else
	fail "ivshmem: metric rows"
fi
lost=$(grep -E '^tcg,(serial|vmkd|hostmem|ivshmem),dbgprint_lines_lost,' "$csv" | cut -d, -f4 | sort -u | tr '\n' ' ')
if [[ $lost == "0 " ]]; then
	pass "no DbgPrint line was lost"
else
	fail "DbgPrint lines lost: $lost"
fi

if grep -q '^== accelerator tcg' "$tmp/latest.txt" 2>/dev/null &&
	grep -q 'QEMU emulator version' "$tmp/latest.txt"; then
	pass "the table names the accelerator and the QEMU version"
else
	fail "latest.txt lacks the accelerator or the QEMU version"
fi

if ! command -v gnuplot >/dev/null; then
	echo "SKIP: plot: gnuplot is not installed"
	skipped=$((skipped + 1))
elif [[ $(head -c 8 "$tmp/latest.png" 2>/dev/null | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]; then
	pass "latest.png is a PNG"
else
	fail "no PNG plot"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
