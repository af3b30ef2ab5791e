#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fuzz-long.sh - the long fuzzing campaign: every libFuzzer harness in build/fuzz until it
# has executed FUZZ_RUNS inputs (10 000 000 by default) or FUZZ_MAX_SECONDS passed (3600),
# at the lowest CPU priority, one after the other, each growing its corpus in
# build/fuzz/corpus/NAME. Writes one line per harness (executions, seconds, executions/s,
# corpus size, crashes) to stdout and to FUZZ_REPORT (bench/results/fuzz-long.txt); a
# crash leaves its reproducer in build/fuzz/crashes/NAME/ and makes the exit status 1.
#
#   make fuzz-long [FUZZ_RUNS=N] [FUZZ_MAX_SECONDS=S] [FUZZ_ONLY="fuzz_api fuzz_rsp"]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

runs=${FUZZ_RUNS:-10000000}
max_s=${FUZZ_MAX_SECONDS:-3600}
report=${FUZZ_REPORT:-bench/results/fuzz-long.txt}
only=${FUZZ_ONLY:-}
status=0

mkdir -p "$(dirname "$report")" build/fuzz/logs
{
	echo "# make fuzz-long on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, clang $(clang --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -n 1)"
	echo "# goal $runs executions per harness, at most $max_s s each; nice 19"
	printf '%-22s %12s %8s %10s %8s %8s\n' harness executions seconds execs/s corpus crashes
} | tee "$report"

# FUZZ_ONLY names the harnesses and their order; by default every one, by name.
bins=()
if [[ -n $only ]]; then
	for name in $only; do bins+=("build/fuzz/$name"); done
else
	bins=(build/fuzz/fuzz_*)
fi
for bin in "${bins[@]}"; do
	[[ -x $bin && ! -d $bin ]] || { echo "fuzz-long: no harness $bin" >&2; status=1; continue; }
	name=$(basename "$bin")
	seeds=tests/fuzz/seeds/$name
	[[ -d $seeds ]] || seeds=tests/fuzz/seeds/common
	corpus=build/fuzz/corpus/$name crashes=build/fuzz/crashes/$name
	log=build/fuzz/logs/$name.log
	mkdir -p "$corpus" "$crashes"
	t0=$(date +%s.%N)
	nice -n 19 "$bin" -runs="$runs" -max_total_time="$max_s" -print_final_stats=1 \
		-artifact_prefix="$crashes/" "$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	ncrash=$(find "$crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	ncorpus=$(find "$corpus" -type f | wc -l)
	[[ $rc -eq 0 && $ncrash -eq 0 ]] || status=1
	printf '%-22s %12s %8s %10s %8s %8s%s\n' "$name" "${execs:-?}" "$secs" \
		"$(awk -v e="${execs:-0}" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? e / s : 0) }')" \
		"$ncorpus" "$ncrash" "$([[ $rc -eq 0 ]] || echo "  (exit $rc, see $log)")" | tee -a "$report"
done
exit "$status"
