#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dbglog-record.sh - issue #15 through the real stack (vmkd relay -> QEMU virtio-serial ->
# kdvm.dll -> the test kernel):
#   1. the DbgPrint log: every line the guest prints is in `vmkd log` (and `vmkd log -f`),
#      in order, none duplicated, with its timestamp and processor; also the lines printed
#      while no debugger is attached (VMKD_CAP_HOST_LOG), then a debugger attaches;
#   2. record and replay: a `vmkd attach -c` session through `vmkd relay --record`, printed
#      by `vmkd trace` and exported as pcapng, then replayed by `vmkd replay` to the same
#      client script with identical output; a different script is reported as a
#      divergence (exit 1), and a truncated recording as such.
# Runs under TCG. Ends with "N passed, N failed".
set -uo pipefail
trap "" PIPE
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-dbglog.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh
replay_pid=
cleanup() {
	[[ -n $replay_pid ]] && kill "$replay_pid" 2>/dev/null
	session_cleanup
}
trap cleanup EXIT
require_build

# ---- 1. the DbgPrint log ------------------------------------------------------------------
# Here the debugger is attached from the start; nodebugger_test below covers the lines
# printed before one attaches.
dbglog_test() {
	local name=tcg-dbglog lines=3000 seen dups inorder client_lines follow_pid
	echo "== $name"
	mkdir -p "$tmp/logs"
	vm_relay "$name" --log-dir "$tmp/logs"
	"$BUILD/vmkd" log -f --dir "$tmp/logs" "$name" >"$tmp/$name.follow" 2>&1 &
	follow_pid=$!
	client_start "$name" "unix:$tmp/$name.dbg.sock" --connect-timeout 30
	wait_for "$relay_log" "debugger connected" 30
	target_start "$name" tcg 240 "debugport=vm workload=dbgprint lines=$lines nobreak build=19041" \
		-- "${VM_VIRTIO_ARGS[@]}"
	target_wait
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
	wait_for "$tmp/$name.follow" "dbgprint done" 10
	kill "$follow_pid" 2>/dev/null
	wait "$follow_pid" 2>/dev/null
	client_finish 5
	relay_stop
	"$BUILD/vmkd" log --dir "$tmp/logs" "$name" >"$tmp/$name.vmkdlog"
	seen=$(grep -c "dbgprint line " "$tmp/$name.vmkdlog")
	dups=$(grep -oE "dbgprint line [0-9]+ of" "$tmp/$name.vmkdlog" | sort | uniq -d | wc -l)
	inorder=$(grep -oE "dbgprint line [0-9]+ of" "$tmp/$name.vmkdlog" | awk '{print $3}' |
		awk -v n="$lines" 'BEGIN{ok=1} {if ($1 != NR) ok=0} END{print (ok && NR == n) ? "yes" : "no"}')
	client_lines=$(grep -c "dbgprint line " "$client_out")
	echo "    log: $seen of $lines lines, $dups duplicated; the debugger printed $client_lines"
	check "$name: every DbgPrint line is in the log ($seen of $lines)" test "$seen" -eq "$lines"
	check "$name: in order, none duplicated" test "$inorder" = yes -a "$dups" -eq 0
	check "$name: the log ends with the workload's last line" \
		grep -q "vmkd-target: dbgprint done" "$tmp/$name.vmkdlog"
	check "$name: lines carry a UTC timestamp and the processor" \
		grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{15}Z cpu0 vmkd-target: dbgprint line 1 of' \
		"$tmp/$name.vmkdlog"
	check "$name: the log has the lines the debugger printed ($client_lines)" \
		test "$client_lines" -eq "$seen"
	check "$name: vmkd log -f followed the log as it grew" \
		cmp -s "$tmp/$name.follow" "$tmp/$name.vmkdlog"
	"$BUILD/vmkd" log --dir "$tmp/logs" -n 3 "$name" >"$tmp/$name.tail"
	check "$name: vmkd log -n 3 prints the last three lines" \
		test "$(wc -l <"$tmp/$name.tail")" -eq 3 -a "$(tail -n 3 "$tmp/$name.vmkdlog")" = "$(cat "$tmp/$name.tail")"
	target_pid=
}

# The guest prints while no debugger is attached: the relay (its log on) says
# VMKD_CAP_HOST_LOG, so kdvm.dll keeps KdDebuggerNotPresent clear and sends the prints
# without waiting; the relay logs them and drops them for the link (counted). Then a
# debugger attaches (break-in, g) and the guest prints more: every line is in the log, in
# order, none duplicated, and the later ones reached the debugger too.
nodebugger_test() {
	local name=tcg-nodbg before=500 after=200 total seen dups inorder client_lines first
	local client_first
	total=$((before + after))
	echo "== $name"
	mkdir -p "$tmp/logs"
	vm_relay "$name" --log-dir "$tmp/logs"
	target_start "$name" tcg 300 \
		"debugport=vm workload=dbgprint lines=$before then=$after nobreak build=19041" \
		-- "${VM_VIRTIO_ARGS[@]}"
	if ! wait_for "$tmp/logs/$name.log" "dbgprint waiting for a break-in" 240; then
		fail "$name: the lines printed with no debugger never reached the log"
		show "$tmp/$name.console" "$relay_log" "$tmp/$name.qemu.out"
		target_kill
		target_pid=
		relay_stop
		return
	fi
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
	check "$name: the relay told the guest it keeps the log" \
		grep -q "HELLO_ACK with debugger absent, DbgPrints kept in the log" "$relay_log"
	client_start "$name" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait 120 -b
	if wait_for "$client_out" "\(first chance\)|Break instruction|stopped" 120; then
		cmd g
	else
		fail "$name: the debugger did not stop the guest"
		show "$client_out" "$relay_log"
	fi
	target_wait
	client_finish 5
	relay_stop
	"$BUILD/vmkd" log --dir "$tmp/logs" "$name" >"$tmp/$name.vmkdlog"
	seen=$(grep -c "dbgprint line " "$tmp/$name.vmkdlog")
	dups=$(grep -oE "dbgprint line [0-9]+ of" "$tmp/$name.vmkdlog" | sort | uniq -d | wc -l)
	inorder=$(grep -oE "dbgprint line [0-9]+ of" "$tmp/$name.vmkdlog" | awk '{print $3}' |
		awk -v n="$total" 'BEGIN{ok=1} {if ($1 != NR) ok=0} END{print (ok && NR == n) ? "yes" : "no"}')
	client_lines=$(grep -c "dbgprint line " "$client_out")
	client_first=$(grep -oE "dbgprint line [0-9]+ of" "$client_out" | head -n 1 | awk '{print $3}')
	first=$(grep -oE "dbgprint line [0-9]+ of" "$client_out" | awk '{print $3}' |
		awk -v s="$((before + 1))" 'BEGIN{ok=1} {if ($1 != s + NR - 1) ok=0} END{print ok ? "yes" : "no"}')
	echo "    log: $seen of $total lines ($before before the debugger), $dups duplicated;" \
		"the debugger printed $client_lines, from line ${client_first:-none}"
	check "$name: every line is in the log, also the $before printed with no debugger ($seen of $total)" \
		test "$seen" -eq "$total"
	check "$name: in order, none duplicated" test "$inorder" = yes -a "$dups" -eq 0
	check "$name: the lines printed while attached reached the debugger ($client_lines of $after)" \
		test "$client_lines" -eq "$after" -a "$first" = yes
	check "$name: the log ends with the workload's last line" \
		grep -q "vmkd-target: dbgprint done" "$tmp/$name.vmkdlog"
	check "$name: the guest ran to its end (exit $target_rc)" \
		grep -q "vmkd-target: workload dbgprint finished" "$tmp/$name.console"
	target_pid=
}

# ---- 2. record, trace, pcapng, replay ----------------------------------------------------
script_cmds="version; r rip; db fffff80000200000 L 20; dq fffff80000200000 L 2"

record_test() {
	local name=tcg-record rec rc
	echo "== $name"
	rec=$tmp/$name.rec
	vm_relay "$name" --log-dir "$tmp/logs" --record "$tmp/%n.rec"
	"$BUILD/vmkd" attach --connect-timeout 30 --wait 120 --timeout 30 -c "$script_cmds" \
		"unix:$tmp/$name.dbg.sock" >"$tmp/$name.live" 2>&1 &
	client_pid=$!
	wait_for "$relay_log" "debugger connected" 30
	# shellcheck disable=SC2046
	target_start "$name" tcg 120 "debugport=vm workload=loop build=19041" -- "${VM_VIRTIO_ARGS[@]}"
	for _ in $(seq 1200); do kill -0 "$client_pid" 2>/dev/null || break; sleep 0.1; done
	wait "$client_pid"
	rc=$?
	client_pid=
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
	check "$name: the live session ran its commands (exit $rc)" \
		grep -q "Windows Kernel Version 19041" "$tmp/$name.live"
	target_kill
	target_pid=
	relay_stop
	check "$name: the relay wrote the recording" test -s "$rec"

	"$BUILD/vmkd" trace "$rec" >"$tmp/$name.trace" 2>&1
	check "$name: vmkd trace reads it" test $? -eq 0
	check "$name: the trace shows the link events" grep -q "event: debugger connected" "$tmp/$name.trace"
	check "$name: ... and the guest's HELLO" grep -q 'event: guest hello "kdvm.dll' "$tmp/$name.trace"
	check "$name: ... the debugger's GetVersion and the target's reply" \
		grep -qE 'dbg   <- MANIPULATE id=[0-9a-f]+ GetVersion status=00000000' "$tmp/$name.trace"
	check "$name: ... and the guest side of it" grep -q 'guest -> MANIPULATE GetVersion' "$tmp/$name.trace"

	"$BUILD/vmkd" trace --pcapng "$tmp/$name.pcapng" "$rec" 2>/dev/null
	check "$name: pcapng export starts with a section header block" \
		test "$(od -An -tx1 -N4 "$tmp/$name.pcapng" | tr -d ' ')" = 0a0d0d0a
	if command -v tshark >/dev/null; then
		tshark -r "$tmp/$name.pcapng" -X lua_script:tools/wireshark/vmkd.lua \
			-Y "vmkd.kd.api == 0x3146" >"$tmp/$name.tshark" 2>/dev/null
		check "$name: tshark with tools/wireshark/vmkd.lua finds the GetVersion packets" \
			grep -q "GetVersion" "$tmp/$name.tshark"
		check "$name: ... on both sides of the relay" \
			test "$(grep -c "STATE_MANIPULATE" "$tmp/$name.tshark")" -ge 4
	else
		echo "    (tshark not installed: the dissector is not exercised)"
	fi

	# The replay serves the same client script: same output.
	"$BUILD/vmkd" replay --listen "unix:$tmp/replay.sock" --timeout 120 "$rec" \
		>"$tmp/$name.replay.out" 2>&1 &
	replay_pid=$!
	"$BUILD/vmkd" attach --connect-timeout 30 --wait 60 --timeout 30 -c "$script_cmds" \
		"unix:$tmp/replay.sock" >"$tmp/$name.replayed" 2>&1
	wait "$replay_pid"
	rc=$?
	replay_pid=
	check "$name: vmkd replay played the recording to its end (exit $rc)" test "$rc" -eq 0
	if diff -u "$tmp/$name.live" "$tmp/$name.replayed" >"$tmp/$name.diff"; then
		pass "$name: the replayed session printed exactly what the live one did"
	else
		fail "$name: the replayed session differs"
		show "$tmp/$name.diff" "$tmp/$name.replay.out"
	fi

	# Another script diverges at its first different request.
	"$BUILD/vmkd" replay --listen "unix:$tmp/replay2.sock" --timeout 120 "$rec" \
		>"$tmp/$name.replay2.out" 2>&1 &
	replay_pid=$!
	"$BUILD/vmkd" attach --connect-timeout 30 --wait 60 --timeout 10 \
		-c "version; r rip; db fffff80000200100 L 20" "unix:$tmp/replay2.sock" >/dev/null 2>&1
	wait "$replay_pid"
	rc=$?
	replay_pid=
	check "$name: a different request is a divergence (exit $rc)" test "$rc" -eq 1
	check "$name: ... reported as expected vs got" \
		grep -qE "divergence: .*expected -> MANIPULATE ReadVirtualMemory addr=fffff80000200000.*got -> MANIPULATE ReadVirtualMemory addr=fffff80000200100" \
		"$tmp/$name.replay2.out"

	# A truncated recording is reported, never crashed on.
	head -c $(($(stat -c %s "$rec") - 5)) "$rec" >"$tmp/cut.rec"
	"$BUILD/vmkd" trace "$tmp/cut.rec" >"$tmp/cut.out" 2>&1
	rc=$?
	check "$name: a truncated recording: exit 1 with the offset (got $rc)" \
		test "$rc" -eq 1 -a -n "$(grep -E 'offset [0-9]+: .*truncated' "$tmp/cut.out")"
}

dbglog_test
nodebugger_test
record_test
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
