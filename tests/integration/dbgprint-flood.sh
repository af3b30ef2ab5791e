#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dbgprint-flood.sh - kdvm.dll's pipelined sends under a DbgPrint flood while the debugger
# works: the test kernel prints N numbered lines as fast as it can (workload=dbgprint), the
# debugger (vmkd attach, through vmkd relay) breaks in several times in the middle of the
# flood and sends requests at each stop (memory compared with the kernel's pattern,
# registers, the DLL's counters), then lets it go on. Every line must arrive exactly once
# and in order, each stop must come after the lines printed before it, every request must
# get the right answer, and the DLL must do no port I/O while polling.
# Full run under TCG; a shorter smoke run under KVM when /dev/kvm works.
# Ends with "N passed, N failed".
set -uo pipefail
trap "" PIPE
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-flood.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh
relay_pid=
cleanup() {
	[[ -n ${client_pid:-} ]] && kill "$client_pid" 2>/dev/null
	[[ -n ${target_pid:-} ]] && target_kill
	[[ -n $relay_pid ]] && kill "$relay_pid" 2>/dev/null
	[[ ${KEEP_TMP:-} ]] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

if [[ ! -x $BUILD/vmkd || ! -r $BUILD/target/vmkd-target.bin || ! -r $BUILD/guest/kdvm.dll ]]; then
	fail "build first: $BUILD/vmkd, $BUILD/target/vmkd-target.bin, $BUILD/guest/kdvm.dll"
	echo "$passed passed, $failed failed"
	exit 1
fi

# flood ACCEL LINES BREAKS GAP LIMIT: one VM, one relay, one debugger.
flood() {
	local accel=$1 lines=$2 breaks=$3 gap=$4 limit=$5 name="$1-flood" relay_log pattern
	local b mark got stats before stops
	echo "== $name (accel $accel, $lines lines, $breaks break-ins)"
	relay_log=$tmp/$name.relay.log
	"$BUILD/vmkd" relay --name "$name" --guest "listen:unix:$tmp/$name.vm.sock" \
		--listen "unix:$tmp/$name.dbg.sock" >"$relay_log" 2>&1 &
	relay_pid=$!
	for _ in $(seq 100); do [[ -S $tmp/$name.dbg.sock && -S $tmp/$name.vm.sock ]] && break; sleep 0.1; done
	client_start "$name" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait "$limit" \
		--timeout 30
	wait_for "$relay_log" "debugger connected" 30
	target_start "$name" "$accel" "$limit" \
		"debugport=vm workload=dbgprint lines=$lines build=19041" -- \
		-device virtio-serial-pci,id=vser0 \
		-chardev "socket,id=vmkd0,path=$tmp/$name.vm.sock,server=off" \
		-device virtserialport,bus=vser0.0,chardev=vmkd0,name=org.vmkd.0
	if ! wait_for "$client_out" '\(first chance\)' "$limit"; then
		fail "$name: no initial breakpoint within $limit s"
		show "$client_out" "$tmp/$name.console" "$relay_log"
		client_finish 5
		target_kill
		target_pid=
		kill "$relay_pid" 2>/dev/null
		wait "$relay_pid" 2>/dev/null
		relay_pid=
		return
	fi
	pattern=$(field pattern)
	check "$name: the kernel announced its pattern region" test -n "$pattern"

	for ((b = 1; b <= breaks; b++)); do
		mark=$(wc -l <"$client_out")
		cmd g
		sleep "$gap"
		kill -INT "$client_pid"
		if ! wait_for "$client_out" 'Break instruction exception' 60 ||
			(($(grep -c 'Break instruction exception' "$client_out") < b + 1)); then
			for _ in $(seq 300); do
				(($(grep -c 'Break instruction exception' "$client_out") >= b + 1)) && break
				sleep 0.1
			done
		fi
		check "$name: break-in $b stops the printing kernel" \
			test "$(grep -c 'Break instruction exception' "$client_out")" -ge $((b + 1))
		# Requests at the stop: memory against the kernel's pattern (byte i = 7i + 3),
		# a register, and (once) the DLL's counters through the relay.
		run "db $pattern+0x100 L 10" 30
		check "$name: stop $b: memory read is right" \
			grep -q "03 0a 11 18 1f 26 2d 34-3b 42 49 50 57 5e 65 6c" <<<"$out"
		run "r rip" 30
		check "$name: stop $b: registers read" grep -qE "rip=fffff800[0-9a-f]{8}" <<<"$out"
		if ((b == 1)); then
			kill -USR1 "$relay_pid"
			wait_for "$relay_log" "guest stats: " 10
		fi
	done
	cmd g
	wait_for "$client_out" 'dbgprint done' "$limit"
	cmd qd
	client_finish 30
	target_wait
	check "$name: the kernel printed everything and exited with 0 (got $target_rc)" \
		test "$target_rc" -eq 0
	target_pid=

	got=$(grep -oE "dbgprint line [0-9]+ of $lines" "$client_out" | awk '{print $3}')
	check "$name: every line arrived once, in order ($(wc -l <<<"$got") of $lines)" \
		diff -q <(echo "$got") <(seq 1 "$lines")
	check "$name: the end marker arrived" grep -q "dbgprint done" "$client_out"
	# Each stop (after the first) shows up after the lines printed before it and before
	# the lines printed after it: the line just before it and just after it follow on.
	stops=0
	while read -r before; do
		[[ -n $before ]] && stops=$((stops + 1))
	done < <(grep -B1 'Break instruction exception' "$client_out" |
		grep -oE "dbgprint line [0-9]+ of $lines" | awk '$3 > 0 && $3 < '"$lines"' {print $3}')
	check "$name: the break-ins landed in the middle of the flood ($stops of $breaks)" \
		test "$stops" -ge 1
	stats=$(grep -o "guest stats: .*" "$relay_log" | tail -n 1)
	echo "    $stats"
	check "$name: the DLL did no port I/O while polling" grep -q "(0 while polling)" <<<"$stats"
	kill "$relay_pid" 2>/dev/null
	wait "$relay_pid" 2>/dev/null
	relay_pid=
	echo "    $(grep -o 'queue [0-9]* (max [^)]*)' "$relay_log" | tail -n 1)"
}

flood tcg 20000 3 0.4 180
if kvm_usable; then
	flood kvm 600 1 1 300
else
	echo "== KVM: /dev/kvm is not usable here, skipped"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
