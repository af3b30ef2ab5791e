#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# serial-session.sh - a full KD session over the emulated serial port: the test kernel
# under QEMU, `vmkd attach` in scripted mode, real results checked (version fields, the
# known pattern, a write read back virtually and physically, a partial read at an unmapped
# page, a breakpoint at a known function, a single step, a break-in while the guest loops,
# DbgPrint lines in order, continue to completion and the exit code). Full run under TCG;
# a bounded smoke run under KVM when /dev/kvm works (this host's KVM cannot run int3 in
# ring 0, so no software breakpoints there). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-serial.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh
cleanup() {
	[[ -n ${client_pid:-} ]] && kill "$client_pid" 2>/dev/null
	[[ -n ${target_pid:-} ]] && target_kill
	rm -rf "$tmp"
}
trap cleanup EXIT

if [[ ! -x $BUILD/vmkd || ! -r $BUILD/target/vmkd-target.bin ]]; then
	fail "build first: $BUILD/vmkd and $BUILD/target/vmkd-target.bin are needed"
	echo "$passed passed, $failed failed"
	exit 1
fi

# lines_since N: the client's output after its first N lines.
lines_since() {
	tail -n +"$(($1 + 1))" "$client_out"
}

# run CMD SECONDS: runs one command and leaves its output in $out.
run() {
	local mark
	mark=$(wc -l <"$client_out")
	cmd_wait "$1" "$2" || echo "    (no answer to '$1' within $2 s)"
	out=$(lines_since "$mark")
}

# session ACCEL LIMIT FIRMWARE: one scripted session; the KVM run skips breakpoints.
session() {
	local accel=$1 limit=$2 firmware=$3 name="$1-session" fn flag calls pat phys guard
	local next rip breakin_wait
	echo "== $name (accel $accel, firmware $firmware)"
	target_start "$name" "$accel" "$limit" "workload=loop build=19041" \
		--firmware "$firmware" --kd-serial "unix:$tmp/$name.kd.sock"
	client_start "$name" "unix:$tmp/$name.kd.sock" --connect-timeout 30 --wait "$limit" \
		--timeout 30
	if ! wait_for "$client_out" '\(first chance\)' "$limit"; then
		fail "$name: no initial breakpoint within $limit s"
		show "$client_out" "$tmp/$name.console" "$tmp/$name.qemu.out"
		client_finish 5
		target_kill
		return
	fi
	grep -q "^accel: $accel\$" "$tmp/$name.qemu.out" && echo "accel: $accel"
	fn=$(field function) flag=$(field stop-flag) calls=$(field calls)
	pat=$(field pattern) phys=$(field phys) guard=$(field guard)
	check "$name: the target announced its symbols" \
		test -n "$fn" -a -n "$flag" -a -n "$calls" -a -n "$pat" -a -n "$phys" -a -n "$guard"

	run version 30
	check "$name: version reports build 19041, x64, KernBase fffff800\`00200000" \
		grep -q 'Windows Kernel Version 19041 UP (1 procs) Free x64' <<<"$out"
	check "$name: version reports KD protocol 6.2 for machine 8664" \
		grep -q 'KD protocol 6.2, flags 0006, machine 8664' <<<"$out"
	run "db $pat L 8" 30
	check "$name: the known pattern reads back" \
		grep -q "03 0a 11 18 1f 26 2d 34" <<<"$out"
	run "eb $pat+100 de ad be ef" 30
	run "db $pat+100 L 4" 30
	check "$name: a write reads back (virtual)" grep -q "de ad be ef" <<<"$out"
	run "!db $phys+100 L 4" 30
	check "$name: the same bytes read back physically" grep -q "de ad be ef" <<<"$out"
	run "db $guard-4 L 8" 30
	check "$name: a read running into an unmapped page is partial" \
		grep -qE "  [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} \?\? \?\? \?\? \?\? " <<<"$out"
	run "r" 30
	check "$name: registers come from the trap frame (cs=0010 ss=0018)" \
		grep -q "cs=0010  ss=0018" <<<"$out"

	if [[ $accel == tcg ]]; then
		run "bp $fn" 30
		run "g" 60
		check "$name: the breakpoint at the workload function is hit" \
			grep -q "Breakpoint 0 hit" <<<"$out"
		run "r rip" 30
		check "$name: rip equals the function's address" grep -q "rip=${fn#0x}\$" <<<"$out"
		run "u $fn L 2" 30
		next=$(grep -oE '^[0-9a-f]{8}`[0-9a-f]{8}' <<<"$out" | sed -n 2p | tr -d '`')
		run "t" 30
		run "r rip" 30
		rip=$(grep -oE 'rip=[0-9a-f]+' <<<"$out" | head -n 1)
		check "$name: a single step advances rip by the instruction's length (to $next)" \
			test -n "$next" -a "$rip" == "rip=$next"
		run "bc *" 30
	else
		run "t" 60
		check "$name: a single step reports a new stop" grep -q "rip=" <<<"$out"
	fi

	# Break in while the guest loops: Ctrl-C to the client while `g` runs.
	breakin_wait=$([[ $accel == tcg ]] && echo 2 || echo 8)
	local mark
	mark=$(wc -l <"$client_out")
	cmd "g"
	sleep "$breakin_wait"
	kill -INT "$client_pid"
	wait_for "$client_out" 'Break instruction exception' 60
	sleep 0.5
	out=$(lines_since "$mark")
	check "$name: a break-in stops the running guest" \
		grep -q "Break instruction exception - code 80000003" <<<"$out"
	run "dq $calls L 1" 30
	check "$name: the workload ran between the stops" \
		grep -qvE "00000000\`00000000\$" <<<"$(grep -E '^[0-9a-f]{8}`' <<<"$out")"

	run "ed $flag 1" 30
	cmd "qd"
	client_finish 30
	target_wait
	check "$name: continued to completion, the target exited with code 0 (got $target_rc)" \
		test "$target_rc" -eq 0
	grep -q "workload loop finished" "$tmp/$name.console" ||
		show "$client_out" "$tmp/$name.console" "$tmp/$name.qemu.out"
	target_pid=
}

# DbgPrint lines arrive in order, each once.
dbgprint() {
	local accel=$1 limit=$2 firmware=$3 name="$1-dbgprint" lines=40 got
	echo "== $name"
	target_start "$name" "$accel" "$limit" "workload=dbgprint lines=$lines nobreak" \
		--firmware "$firmware" --kd-serial "unix-wait:$tmp/$name.kd.sock"
	client_start "$name" "unix:$tmp/$name.kd.sock" --connect-timeout 30 --wait "$limit"
	target_wait
	client_finish 10
	got=$(grep -oE 'dbgprint line [0-9]+ of' "$client_out" | awk '{print $3}' | tr '\n' ' ')
	check "$name: $lines DbgPrint lines arrived in order, each once" \
		test "$got" == "$(seq -s ' ' 1 $lines) "
	check "$name: the workload finished and the target exited with code 0 (got $target_rc)" \
		test "$target_rc" -eq 0
	target_pid=
}

session tcg 90 seabios
dbgprint tcg 60 seabios
if kvm_usable; then
	session kvm 240 qboot
else
	echo "== KVM: /dev/kvm is not usable here, skipped"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
