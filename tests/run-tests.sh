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

# Every suite is bounded (SUITE_LIMIT seconds, 900 by default; a unit-test binary, which
# takes seconds, UNIT_LIMIT, 180 by default), and the whole run has a
# budget (CHECK_BUDGET, 75 min) that keeps it inside CI's 90 minutes: a suite that hangs
# becomes a failure with a picture of what it was waiting for, and the run still ends with
# its summary line.
suite_limit=${SUITE_LIMIT:-900}
unit_limit=${UNIT_LIMIT:-180}
budget_end=$((SECONDS + ${CHECK_BUDGET:-4500}))

# run_bounded LOG LIMIT CMD...: CMD in a session of its own, its output on stdout and in
# LOG. Past LIMIT seconds: the session's processes and their wait channels go into the log,
# then the session is stopped (TERM, KILL 10 s later). Returns CMD's status, 124 on timeout.
run_bounded() {
	local log=$1 limit=$2 pid rc i
	shift 2
	: >"$log"
	shown=0
	setsid "$@" >>"$log" 2>&1 </dev/null &
	pid=$!
	for ((i = 0; i < limit * 10; i++)); do
		show_new "$log"
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		{
			echo "run-tests: TIMEOUT: still running after $limit s; its processes:"
			ps -s "$pid" -o pid,ppid,etimes,stat,wchan:24,args 2>&1
		} >>"$log"
		suite_signal "$pid" TERM
		for ((i = 0; i < 100; i++)); do
			[[ -n $(ps -s "$pid" -o pid= 2>/dev/null) ]] || break
			sleep 0.1
		done
		suite_signal "$pid" KILL
		wait "$pid" 2>/dev/null
		rc=124
	else
		rc=0
		wait "$pid" || rc=$?
	fi
	show_new "$log" # what the suite wrote last
	return "$rc"
}

# show_new LOG: prints what LOG gained since the last look ($shown bytes were printed). A
# reader of our own rather than `tail -f`: a suite's last lines are never left unprinted,
# and a pipe that a leaked background process holds open cannot keep the run waiting.
show_new() {
	local size
	size=$(stat -c %s "$1" 2>/dev/null) || return 0
	((size > shown)) || return 0
	tail -c +$((shown + 1)) "$1" | head -c $((size - shown))
	shown=$size
}

# suite_signal SID SIG: SIG to every process of session SID (by pid, from ps).
suite_signal() {
	local p
	for p in $(ps -s "$1" -o pid= 2>/dev/null); do kill "-$2" "$p" 2>/dev/null; done
}

# run NAME CMD...: runs one suite (bounded by $limit_now), streams its output, adds its counts.
run() {
	local name=$1; shift
	local log="$logdir/${name//\//_}.log"
	local t0=$SECONDS rc
	echo "=== $name"
	if ((SECONDS >= budget_end)); then
		echo "run-tests: not run: make check's time budget (${CHECK_BUDGET:-4500} s) is spent" |
			tee "$log"
		failed=$((failed + 1))
		failures+=("$name (not run: time budget spent)")
		return
	fi
	local limit=${limit_now:-$suite_limit}
	((budget_end - SECONDS < limit)) && limit=$((budget_end - SECONDS))
	run_bounded "$log" "$limit" "$@"
	rc=$?
	echo "=== $name: $((SECONDS - t0)) s"
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
	[[ $rc -eq 124 ]] && failures+=("$name timed out after $limit s (log: $log)") ||
		{ [[ $f -eq 0 ]] || failures+=("$name (log: $log)"); }
}

limit_now=$unit_limit
for tree in build build/asan; do
	for t in "$tree"/tests/test_*; do
		[[ -x $t ]] && run "${t#build/}" "$t"
	done
done
limit_now=

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
echo "make check ran for $SECONDS s"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
if [[ $skipped -gt 0 ]]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[[ $failed -eq 0 ]]
