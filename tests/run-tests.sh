#!/usr/bin/env bash
# Runs every test vmkd has and ends with one line "N passed, N failed[, N skipped]".
#
# Suites: the cmocka unit tests from the normal and the sanitizer build, the fuzzers for a
# few seconds each (when clang's libFuzzer runtime is installed), and every integration
# script tests/integration/*.sh. A cmocka binary counts its own tests; a script counts the
# "N passed, N failed" line it prints last, or one test by its exit status.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
failures=()
logdir=build/test-logs
mkdir -p "$logdir"
# The relay's per-user defaults (debugger sockets, DbgPrint logs) go under XDG_RUNTIME_DIR,
# or /run/vmkd and /var/log/vmkd for root: tests get a private one and leave the machine's
# alone.
if [[ -z ${XDG_RUNTIME_DIR:-} ]]; then
	XDG_RUNTIME_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-tests-xdg.XXXXXX")
	export XDG_RUNTIME_DIR
	trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
fi

# run NAME CMD...: runs one suite, streams its output, adds its counts.
run() {
	local name=$1; shift
	local log="$logdir/${name//\//_}.log"
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local p f s line
	if grep -q '^\[==========\] .* test(s) run\.' "$log"; then
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s).*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	elif line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1) && [[ -n $line ]]; then
		p=$(sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
		f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
		s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line"); s=${s:-0}
	elif [[ $rc -eq 0 ]]; then
		p=1 f=0 s=0
	else
		p=0 f=1 s=0
	fi
	# A crash or a nonzero exit is a failure even if the counts looked clean.
	if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[[ $f -eq 0 ]] || failures+=("$name (log: $log)")
}

for tree in build build/asan; do
	for t in "$tree"/tests/test_*; do
		[[ -x $t ]] && run "${t#build/}" "$t"
	done
done

have_libfuzzer() {
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
		clang -fsanitize=fuzzer -x c - -o "$logdir/libfuzzer-probe" >/dev/null 2>&1
}
if have_libfuzzer; then
	run fuzz-smoke make --no-print-directory fuzz FUZZ_SECONDS="${FUZZ_SMOKE_SECONDS:-5}"
else
	echo "=== fuzz-smoke: skipped (clang's libFuzzer runtime is not installed)"
	skipped=$((skipped + 1))
fi

for t in tests/integration/*.sh; do
	[[ -x $t ]] && run "integration/$(basename "$t" .sh)" "$t"
done

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
if [[ $skipped -gt 0 ]]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[[ $failed -eq 0 ]]
