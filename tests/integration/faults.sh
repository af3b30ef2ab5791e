#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# faults.sh - faults on the real chain: the test kernel in QEMU (TCG) with kdvm.dll on
# virtio-serial, `vmkd relay`, `vmkd attach`. Each case asserts the session resumes and that
# nothing is lost or duplicated where it can be counted:
#
#   prints      FAULT_LINES (default 100000) DbgPrint lines while the debugger reads slowly
#               (its stdout is a pipe drained in small sips): every line arrives, in
#               order, once, and the relay's memory stays bounded
#   dbg-kill    the debugger is killed (SIGKILL) in the middle of a multi-request read; a
#               new one gets the halted guest's state and correct memory, the guest ends
#   relay-kill  the relay is killed (SIGKILL) while QEMU runs the guest; a new relay on the
#               same sockets: QEMU's chardev reconnects (reconnect=1), a new debugger breaks
#               in and reads the guest, the guest ends
#   power-off   QEMU quits (QMP quit) under an attached debugger: it is told, and its
#               script stops with a nonzero status; the relay takes a debugger while the VM
#               is away, and a new QEMU on the same relay: that debugger gets the new
#               boot's stop
#   power-cycle-tty  the same with `vmkd attach` on a terminal (tmux): the one debugger
#               stays, is told the VM left and is back, takes the new boot's stop
#   relay-restart-tty  the relay killed and restarted under `vmkd attach` on a terminal,
#               while the guest runs and while it is stopped: the debugger reconnects by
#               itself, breaks in / gets the stop again, reads correct memory
#   flood       a debugger that floods break-ins and garbage, then one that stops reading
#               while the guest prints: the relay survives with its RSS bounded, and a new
#               debugger afterwards breaks in and gets answers
#   vser-reset  the guest's virtio-serial device reset, its decodes turned off and its I/O
#               BAR moved behind kdvm.dll's back (the test kernel's kdvm_imitate=) while the
#               kernel is stopped, between the debugger's requests: every answer is right,
#               the stop is reported once, the FAULT_VSER_LINES (default 3000) DbgPrint
#               lines that follow all arrive, in order, once
#   vser-reset-prints  the same while the kernel runs and prints to a slow reader, and
#               in a break-in's stop: every line and both stops arrive once
#   sync-reset  (no QEMU) a KDCOM target answering every RESET with a SYNC packet:
#               `vmkd attach` takes the packet after its one RESET (no RESET loop),
#               reaches the stop and ends by itself
#
# A guest reset (QMP system_reset) under an attached debugger is fastpath-session.sh's;
# the relay's own faults without QEMU (64 VMs, malformed frames, a mute guest, a GDB
# client) are relay-scale.sh's; kdvm-windows.sh runs the device events under a whole
# scripted session. FAULT_CASES="prints dbg-kill ..." picks cases. Under TCG only (the
# kernel runs int3). Ends with "N passed, N failed".
set -uo pipefail
trap "" PIPE
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-faults.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh
# shellcheck source=tests/integration/lib/tmux.sh
. tests/integration/lib/tmux.sh
extra_pids=()
cleanup() {
	local p
	for p in "${extra_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${extra_pids[@]}"; do wait "$p" 2>/dev/null; done
	session_cleanup
}
trap cleanup EXIT

CASES=${FAULT_CASES:-prints dbg-kill relay-kill power-off power-cycle-tty relay-restart-tty flood sync-reset
	vser-reset vser-reset-prints}
LINES=${FAULT_LINES:-100000}

require_build

# relay_up NAME: qemu.sh's relay_start for VM NAME, QEMU on $tmp/NAME.vm.sock, debuggers on
# $tmp/NAME.dbg.sock, output in $relay_log; a restart keeps the earlier log as
# NAME.relay.log.N, so what a check reads comes from the relay running now.
relay_up() {
	local n=1
	relay_log=$tmp/$1.relay.log
	while [[ -e $relay_log.$n ]]; do n=$((n + 1)); done
	[[ -e $relay_log ]] && mv "$relay_log" "$relay_log.$n"
	relay_start "$relay_log" "$tmp/$1.vm.sock" "$tmp/$1.dbg.sock" -q --name "$1"
}

# booted_vm NAME LIMIT APPEND [qemu args]: the test kernel on kdvm.dll, in the background;
# QEMU's chardev connects (and reconnects) to the relay of VM NAME.
booted_vm() {
	local name=$1 limit=$2 append=$3
	shift 3
	vm_virtio_args "$tmp/$name.vm.sock" server=off,reconnect=1
	target_start "$name" tcg "$limit" "debugport=vm $append" -- "${VM_VIRTIO_ARGS[@]}" "$@"
}

# attach_client NAME CLIENT [attach options]: a debugger for VM NAME (client_start; its
# output in $tmp/CLIENT.client), commands on fd 7.
attach_client() {
	local name=$1 client=$2
	shift 2
	client_start "$client" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 "$@"
}

# stopped_vm NAME LIMIT APPEND [qemu args]: what every case does after starting its relay
# and debugger: boots the kernel with APPEND once the debugger is there; true once the
# debugger has the initial breakpoint. Otherwise it fails the case, shows why, stops all of
# it and returns 1.
stopped_vm() {
	local name=$1 limit=$2 append=$3
	shift 3
	wait_for "$relay_log" "debugger connected" 30
	booted_vm "$name" "$limit" "$append" "$@"
	if ! wait_for "$client_out" '\(first chance\)' 120; then
		fail "$name: no initial breakpoint"
		show "$client_out" "$tmp/$name.console" "$relay_log"
		client_finish 5
		target_kill
		relay_stop
		return 1
	fi
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
}

# reads_guest NAME [PATTERN]: the debugger reads the test kernel's known pattern (at
# PATTERN, or where the boot announced it to this debugger) correctly.
reads_guest() {
	run "db ${2:-$(field pattern)} L 8" 60
	check "$1: ... and reads correct memory" grep -q "03 0a 11 18 1f 26 2d 34" <<<"$out"
}

# guest_released NAME FLAG: sets the kernel's stop flag (at FLAG, or the announced one), the
# debugger leaves (qd), and the guest must run to its end; the relay stops.
guest_released() {
	local name=$1 flag=${2:-$(field stop-flag)}
	cmd "ed $flag 1"
	cmd qd
	client_finish 30
	target_wait
	check "$name: the guest ran to completion (exit $target_rc)" test "$target_rc" -eq 0
	target_pid=
	relay_stop
}

# relay_peak PID SECONDS: while PID runs (at most SECONDS), raises $peak to the relay's RSS.
relay_peak() {
	local pid=$1 limit=$2 i r
	for ((i = 0; i < limit * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		r=$(rss_kb "$relay_pid")
		((${r:-0} > peak)) && peak=$r
		sleep 0.1
	done
}

# rss_kb PID: resident set size in KiB.
rss_kb() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null
}

# count_of REGEX FILE
count_of() {
	grep -cE -- "$1" "$2" 2>/dev/null
}

# wait_count FILE REGEX N SECONDS: polls until REGEX matches at least N lines of FILE.
wait_count() {
	local i
	for ((i = 0; i < $4 * 10; i++)); do
		(($(count_of "$2" "$1") >= $3)) && return 0
		sleep 0.1
	done
	return 1
}

# lines_ok FILE N: "dbgprint line i of N" for i = 1..N, each once, in order.
# not_grep ERE FILE: true when no line of FILE matches.
not_grep() {
	! grep -qE "$1" "$2"
}

lines_ok() {
	grep -oE "dbgprint line [0-9]+ of $2\$" "$1" | awk -v n="$2" '
		{ split($0, w, " "); i++
		  if (w[3] != i && !bad) { bad = 1; at = i; got = w[3] } }
		END { if (bad) printf "    line %d of the output is line %s (%d lines in all)\n", at, got, i > "/dev/stderr"
		      else if (i != n) printf "    %d lines of %d\n", i, n > "/dev/stderr"
		      exit !(bad == 0 && i == n) }'
}

# slow_client NAME CLIENT [attach options]: a debugger for VM NAME whose output (in
# $client_out) goes through a slow reader, sips of 512 bytes with a pause, so the debugger
# blocks on its stdout and the relay's queue towards it fills; commands on fd 7.
slow_client() {
	local name=$1 client=$2
	shift 2
	client_out=$tmp/$client.client
	mkfifo "$tmp/$client.fifo" "$tmp/$client.out.fifo"
	python3 -c '
import sys, time
out = open(sys.argv[1], "wb", buffering=0)
src = open(sys.argv[2], "rb", buffering=0)
while True:
    b = src.read(512)
    if not b:
        break
    out.write(b)
    time.sleep(0.002)
' "$client_out" "$tmp/$client.out.fifo" &
	reader_pid=$!
	extra_pids+=("$reader_pid")
	"$BUILD/vmkd" attach --connect-timeout 30 "$@" "unix:$tmp/$name.dbg.sock" \
		<"$tmp/$client.fifo" >"$tmp/$client.out.fifo" 2>&1 &
	client_pid=$!
	exec 7>"$tmp/$client.fifo"
}

# printed_all NAME N: after `g`, waits (bounded) for the kernel's "dbgprint done" while
# sampling the relay's RSS into $peak; then every one of the N lines must have arrived, in
# order, once, and the kernel must run to its end.
printed_all() {
	local name=$1 n=$2 start=$SECONDS r
	while ! grep -q "dbgprint done" "$client_out" 2>/dev/null && ((SECONDS - start < 800)); do
		r=$(rss_kb "$relay_pid")
		((${r:-0} > peak)) && peak=$r
		# SIGUSR1: the relay asks the guest for its counters and logs them.
		[[ ${ask_guest_stats:-0} == 1 ]] && kill -USR1 "$relay_pid" 2>/dev/null
		sleep 1
	done
	echo "    $n lines in $((SECONDS - start)) s under TCG through a slow reader;" \
		"relay peak RSS ${peak} KiB"
	check "$name: all $n lines arrived, in order, each once" lines_ok "$client_out" "$n"
	if [[ ${ask_guest_stats:-0} == 1 ]]; then
		grep -o "guest stats: .*" "$relay_log" | tail -n 1 | sed 's/^/    /'
		# kdvm.dll's own count: a line it gave up on (no room for 2 s) would be lost
		# before the relay ever saw it.
		check "$name: the guest reported its counters while printing" \
			grep -q "guest stats: .*TX waits timed out" "$relay_log"
		check "$name: ... and never gave up waiting for room (TX waits timed out 0)" \
			not_grep "TX waits timed out [1-9]" "$relay_log"
	fi
	check "$name: the relay's memory stayed bounded (peak ${peak} KiB < 64 MiB)" \
		test "$peak" -gt 0 -a "$peak" -lt 65536
	target_wait
	check "$name: the guest ran to completion (exit $target_rc)" test "$target_rc" -eq 0
	target_pid=
	client_finish 2 # the guest is gone: nothing to wait for
	wait "$reader_pid" 2>/dev/null
}

# ---- prints: DbgPrint lines to a slow reader ------------------------------------------
case_prints() {
	local name=prints peak=0
	echo "== $name ($LINES lines, slow reader)"
	relay_up "$name"
	slow_client "$name" "$name" --wait 900 --timeout 60
	stopped_vm "$name" 900 "workload=dbgprint lines=$LINES" || return
	cmd g
	ask_guest_stats=1 printed_all "$name" "$LINES"
	relay_stop
}

# ---- dbg-kill: the debugger dies mid-request --------------------------------------------
case_dbg_kill() {
	local name=dbg-kill flag pat
	echo "== $name"
	relay_up "$name"
	attach_client "$name" "$name-a" --wait 120 --timeout 30
	stopped_vm "$name" 300 "workload=loop" || return
	# The boot's announcement reaches only this debugger.
	flag=$(field stop-flag) pat=$(field pattern)
	# A read of many requests; the debugger is killed while they fly.
	cmd "db $pat L 10000"
	wait_for "$client_out" "^[0-9a-f]{8}\`[0-9a-f]{8}  " 30
	kill -9 "$client_pid"
	wait "$client_pid" 2>/dev/null
	exec 7>&-
	check "$name: the relay saw the debugger go" wait_for "$relay_log" "debugger disconnected" 30
	attach_client "$name" "$name-b" --wait 120 --timeout 30
	check "$name: a new debugger gets the halted guest's state" \
		wait_for "$client_out" '\(first chance\)' 120
	reads_guest "$name" "$pat"
	run version 60
	check "$name: ... and gets answers (version)" grep -q "Windows Kernel Version" <<<"$out"
	guest_released "$name" "$flag"
}

# ---- relay-kill: the relay dies and comes back under a running guest ------------------
case_relay_kill() {
	local name=relay-kill flag pat
	echo "== $name"
	relay_up "$name"
	attach_client "$name" "$name-a" --wait 120 --timeout 30
	stopped_vm "$name" 300 "workload=loop" || return
	# The boot's announcement reaches only this debugger.
	flag=$(field stop-flag) pat=$(field pattern)
	cmd g
	sleep 2
	relay_crash
	client_finish 10
	sleep 2
	check "$name: QEMU and the guest keep running without the relay" \
		kill -0 "$(cat "$target_qemu_pidfile")"
	relay_up "$name"
	check "$name: QEMU's chardev reconnects to the new relay" \
		wait_for "$relay_log" "guest chardev connected" 30
	attach_client "$name" "$name-b" --wait 120 --timeout 30 -b
	check "$name: a new debugger breaks into the running guest" \
		wait_for "$client_out" '\(first chance\)|Break instruction' 120
	reads_guest "$name" "$pat"
	guest_released "$name" "$flag"
}

# ---- power-off: QEMU quits under the debugger, a new one boots ----------------------
qmp() { # SOCKET COMMAND
	python3 - "$1" "$2" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for cmd in ("qmp_capabilities", sys.argv[2]):
    f.write(json.dumps({"execute": cmd}) + "\n")
    f.flush()
    f.readline()
EOF
}

case_power_off() {
	local name=power-off
	echo "== $name"
	relay_up "$name"
	attach_client "$name" "$name-a" --wait 300 --timeout 30
	stopped_vm "$name" 300 "workload=loop" -qmp "unix:$tmp/$name.qmp,server=on,wait=off" ||
		return
	cmd g
	sleep 2
	qmp "$tmp/$name.qmp" quit
	target_wait
	target_pid=
	check "$name: the debugger is told the VM left" wait_for "$client_out" "left the relay" 30
	# A script cannot go on against a target that is gone (vmkd attach --help): it stops
	# unless the VM is back within the client's grace (0.3 s), which no reboot is.
	check "$name: ... and its script stops, saying why" \
		wait_for "$client_out" "relay reports its guest disconnected; stopping" 30
	client_finish 10
	check "$name: ... with a nonzero status (exit $client_rc)" test "$client_rc" -ne 0
	check "$name: the relay keeps running" kill -0 "$relay_pid"
	# A debugger that waits on the relay while the VM is away, then a new boot.
	attach_client "$name" "$name-b" --wait 300 --timeout 30
	check "$name: the relay takes a debugger while the VM is away" \
		wait_count "$relay_log" "debugger connected" 2 30
	rm -f "$tmp/$name.console"
	booted_vm "$name" 300 "workload=loop"
	check "$name: the new boot's guest is told a debugger is there" \
		wait_count "$relay_log" "guest chardev connected; guest told DEBUGGER\(1\)" 2 60
	check "$name: ... and that debugger gets its initial breakpoint" \
		wait_for "$client_out" '\(first chance\)' 120
	guest_released "$name"
}

# tty_attach NAME [attach options]: `vmkd attach` on a terminal (the only pane of a tmux
# server of its own) for VM NAME, as a user sits at it; what the terminal shows goes to
# $client_out. tty_keys types keys there (tmux send-keys: "g" Enter, C-c).
tty_attach() {
	local name=$1
	shift
	tty_sock=$tmp/$name.tmux
	client_out=$tmp/$name.client
	: >"$client_out"
	tmux_run "$tty_sock" attach 160 "$client_out" \
		"$BUILD/vmkd attach $* unix:$tmp/$name.dbg.sock; echo \"attach exit \$?\"; sleep 60"
	tty_pid=$tmux_pid
	extra_pids+=("$tty_pid")
}
tty_keys() { tmux -S "$tty_sock" send-keys -t attach "$@"; }

# tty_released NAME: the guest's stop flag set and `qd` typed: the debugger exits 0, the
# guest runs to completion; then the terminal and the relay are stopped.
tty_released() {
	local name=$1
	tty_keys "ed $(grep -aoE "stop-flag 0x[0-9a-f]+" "$client_out" | tail -n 1 | awk '{print $2}') 1" Enter
	tty_keys qd Enter
	check "$name: the debugger leaves the guest running and exits 0" \
		wait_for "$client_out" "attach exit 0" 30
	target_wait
	check "$name: the guest ran to completion (exit $target_rc)" test "$target_rc" -eq 0
	target_pid=
	pid_stop "$tty_pid"
	relay_stop
}

have_tmux() {
	command -v tmux >/dev/null && return 0
	fail "$1: tmux is not installed (scripts/install-deps.sh installs it)"
	return 1
}

# power-cycle-tty: the same, with `vmkd attach` on a terminal, as a user sits at it: the
# debugger stays through the power-off, is told the VM left and that it is back, and takes
# the new boot's initial breakpoint without being restarted.
case_power_cycle_tty() {
	local name=power-cycle-tty
	echo "== $name"
	have_tmux "$name" || return
	relay_up "$name"
	tty_attach "$name" --wait 300 --timeout 30
	stopped_vm "$name" 300 "workload=loop" -qmp "unix:$tmp/$name.qmp,server=on,wait=off" ||
		{ pid_stop "$tty_pid"; return; }
	tty_keys g Enter
	sleep 2
	qmp "$tmp/$name.qmp" quit
	target_wait
	target_pid=
	check "$name: the debugger on the terminal is told the VM left" \
		wait_for "$client_out" "VM '$name' left the relay" 30
	rm -f "$tmp/$name.console"
	booted_vm "$name" 300 "workload=loop"
	check "$name: ... stays, and is told the VM is back" \
		wait_for "$client_out" "VM '$name' is back on the relay" 60
	check "$name: ... and takes the new boot's initial breakpoint" \
		wait_count "$client_out" '\(first chance\)' 2 120
	check "$name: ... and the new boot was told a debugger is there" \
		wait_count "$relay_log" "guest chardev connected; guest told DEBUGGER\(1\)" 2 30
	tty_released "$name"
}

# relay-restart-tty: the relay killed and restarted twice under `vmkd attach` on a
# terminal, QEMU and the debugger running on: once while the guest runs (the debugger
# reconnects, Ctrl-C breaks in) and once while it is stopped at the prompt (the next
# command finds the connection gone, the debugger reconnects and the guest reports its
# stop again). Memory reads right after each.
case_relay_restart_tty() {
	local name=relay-restart-tty pat
	echo "== $name"
	have_tmux "$name" || return
	relay_up "$name"
	tty_attach "$name" --wait 300 --timeout 30
	stopped_vm "$name" 300 "workload=loop" || { pid_stop "$tty_pid"; return; }
	pat=$(field pattern)
	tty_keys g Enter
	sleep 2
	relay_kill_restart "$name"
	check "$name: the debugger reconnects to the new relay by itself" \
		wait_for "$client_out" "vmkd attach: reconnected to unix:" 30
	check "$name: ... and QEMU's chardev too" wait_for "$relay_log" "guest chardev connected" 30
	check "$name: ... and waits for the running guest to stop" \
		wait_count "$client_out" "Waiting for the target to stop \(Ctrl-C breaks in\)" 2 10
	# The old relay's listening socket can outlive its connections by a moment: a dial
	# then is reset at once, and dialled again rather than reported as connected.
	check "$name: ... on a connection that lasts (none reset at once)" \
		not_grep "reset by peer" "$client_out"
	sleep 1
	tty_keys C-c
	check "$name: Ctrl-C breaks into the guest on the new relay" \
		wait_for "$client_out" "Break instruction exception" 60
	tty_reads "$name" "$pat" 1
	# Stopped at the prompt: the relay goes and comes back while nobody types.
	relay_kill_restart "$name"
	wait_for "$relay_log" "guest HELLO from" 30
	tty_keys "r rip" Enter
	check "$name: the next command finds the connection lost and reconnects" \
		wait_count "$client_out" "vmkd attach: reconnected to unix:" 2 30
	check "$name: ... and the stopped guest reports its stop again" \
		wait_count "$client_out" "Break instruction exception" 2 60
	tty_reads "$name" "$pat" 2
	check "$name: the debugger process never restarted (one attach, still running)" \
		test "$(count_of "attach exit" "$client_out")" -eq 0
	tty_released "$name"
}

# relay_kill_restart NAME: SIGKILL to the relay, a new one on the same sockets.
relay_kill_restart() {
	relay_crash
	sleep 1
	relay_up "$1"
}

# tty_reads NAME PATTERN N: `db PATTERN L 8` typed at the terminal shows the test pattern
# for the Nth time.
tty_reads() {
	sleep 1
	tty_keys "db $2 L 8" Enter
	check "$1: ... and reads correct memory" \
		wait_count "$client_out" "03 0a 11 18 1f 26 2d 34" "$3" 30
}

# ---- flood: hostile debuggers against a printing guest --------------------------------
case_flood() {
	local name=flood peak=0 fpid
	echo "== $name"
	relay_up "$name"
	attach_client "$name" "$name-a" --wait 120 --timeout 30
	stopped_vm "$name" 600 "workload=dbgprint lines=$LINES" || return
	cmd q
	client_finish 10
	# Break-ins and garbage, as fast as the socket takes them, for a few seconds.
	python3 - "$tmp/$name.dbg.sock" <<'EOF' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.setblocking(False)
junk = (b"b" * 4096) + os.urandom(4096) + b"iiii\x06\x00\x00\x00" * 64
end = time.time() + 5
while time.time() < end:
    try:
        s.send(junk)
    except BlockingIOError:
        time.sleep(0.001)
    try:
        s.recv(65536)
    except BlockingIOError:
        pass
EOF
	fpid=$!
	extra_pids+=("$fpid")
	relay_peak "$fpid" 6
	wait "$fpid"
	check "$name: the relay survived a flood of break-ins and garbage" kill -0 "$relay_pid"
	# A debugger that says 'b' + RESET, then never reads, while the guest prints.
	python3 - "$tmp/$name.dbg.sock" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"b" + b"iiii\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
time.sleep(8)
EOF
	fpid=$!
	extra_pids+=("$fpid")
	relay_peak "$fpid" 10
	wait "$fpid"
	echo "    relay peak RSS under the flood and the non-reader: ${peak} KiB"
	check "$name: the relay's memory stayed bounded (peak ${peak} KiB < 64 MiB)" \
		test "$peak" -gt 0 -a "$peak" -lt 65536
	check "$name: the relay is alive" kill -0 "$relay_pid"
	# A proper debugger now: the guest still answers.
	attach_client "$name" "$name-b" --wait 300 --timeout 60 -b
	check "$name: a debugger after the flood breaks in" \
		wait_for "$client_out" '\(first chance\)|Break instruction' 300
	run version 60
	check "$name: ... and gets answers" grep -q "Windows Kernel Version" <<<"$out"
	cmd qd
	client_finish 30
	target_kill
	target_pid=
	relay_stop
}

# ---- vser-reset: the guest's virtio-serial device reset and moved under the session -----
# The test kernel's kdvm_imitate= (target/kdvm_imitate.h) resets the device, turns its
# decodes off and moves its I/O BAR behind kdvm.dll's back, as another driver or the
# firmware would, each just before the kernel's send number N+1.

# fired_in_order NAME EVENTS MARK: each event of EVENTS (kdvm_imitate= syntax) fired at its
# packet, before the first console line matching MARK when MARK is given.
fired_in_order() {
	local name=$1 events=$2 mark=${3:-} ev at end=
	[[ -n $mark ]] && end=$(grep -n -m1 -E -- "$mark" "$tmp/$name.console" | cut -d: -f1)
	for ev in ${events//,/ }; do
		at=$(grep -n -m1 -- "vmkd-target: imitate: ${ev%@*} after packet ${ev#*@}\$" \
			"$tmp/$name.console" | cut -d: -f1)
		check "$name: event $ev fired${mark:+ during the stop}" \
			test -n "$at" -a "${at:-0}" -lt "${end:-999999999}"
	done
}

# set_up_again NAME EVENTS: the relay heard kdvm.dll's HELLO again after every reset.
set_up_again() {
	local name=$1 events=$2 ev want=1 hellos
	for ev in ${events//,/ }; do [[ ${ev%@*} == reset ]] && want=$((want + 1)); done
	hellos=$(count_of "guest HELLO from" "$relay_log")
	check "$name: kdvm.dll set the device up again after each reset ($hellos HELLOs, want >= $want)" \
		test "$hellos" -ge "$want"
}

# vser-reset: the events fire while the kernel is stopped, between the debugger's requests
# (nothing of either side in flight, as docs/windows.md describes it): every answer must be
# right, the stop must be reported once, and the DbgPrint lines that follow must all
# arrive, in order, once.
VSER_LINES=${FAULT_VSER_LINES:-3000}
case_vser_reset() {
	local name=vser-reset peak=0 n=$VSER_LINES events ok=0 i
	# Sends from boot: two announcements, the initial state change, then one reply per
	# request (vmkd attach's own at the stop, about 13, then the 16 below).
	events=reset@8,decode@12,bar@16,reset@20,reset@26
	echo "== $name (kdvm_imitate=$events during the initial stop, then $n lines)"
	relay_up "$name"
	slow_client "$name" "$name" --wait 600 --timeout 60
	stopped_vm "$name" 900 "workload=dbgprint lines=$n kdvm_imitate=$events" || return
	for ((i = 0; i < 8; i++)); do
		run "db $(field pattern) L 8" 60
		grep -q "03 0a 11 18 1f 26 2d 34" <<<"$out" && ok=$((ok + 1))
		run version 60
		grep -q "Windows Kernel Version" <<<"$out" && ok=$((ok + 1))
	done
	check "$name: every answer right across the resets ($ok of 16: memory, version)" \
		test "$ok" -eq 16
	cmd g
	printed_all "$name" "$n"
	fired_in_order "$name" "$events" "dbgprint line 1 of"
	check "$name: the stop was reported once" \
		test "$(count_of 'Break instruction exception' "$client_out")" -eq 1
	set_up_again "$name" "$events"
	relay_stop
}

# vser-reset-prints: the events fire while the kernel prints to a slow reader (kdvm.dll
# finds them on a DbgPrint's send) and among the replies of a break-in's stop in the
# middle. The relay joins waiting prints rather than stall the guest, so a frame is seldom
# left in the device's ring when an event fires; on a loaded host some are, and kdvm.dll
# sends those DbgPrints again after its HELLO (the guest's counters show how many:
# "frames lost in device resets N (DbgPrints sent again N)").
case_vser_reset_prints() {
	local name=vser-reset-prints peak=0 n=$VSER_LINES half events mark
	half=$((n / 2))
	# Sends from boot (16 before the first line): four among the first half's lines, one
	# among the replies of the stop in the middle, one among the second half's lines.
	events=reset@$((half / 5)),bar@$((2 * half / 5)),decode@$((3 * half / 5))
	events+=,reset@$((4 * half / 5)),reset@$((half + 20)),reset@$((half + half / 2))
	echo "== $name ($n lines, slow reader, kdvm_imitate=$events)"
	relay_up "$name"
	slow_client "$name" "$name" --wait 600 --timeout 60
	stopped_vm "$name" 900 \
		"workload=dbgprint lines=$half then=$((n - half)) kdvm_imitate=$events" || return
	cmd g
	if ! wait_for "$client_out" "dbgprint waiting for a break-in" 600; then
		fail "$name: the first $half lines never ended"
		show "$client_out" "$tmp/$name.console" "$relay_log"
	fi
	mark=$(wc -l <"$client_out")
	kill -INT "$client_pid"
	check "$name: a break-in stops the guest after the device was reset" \
		wait_for "$client_out" 'Break instruction exception' 120
	reads_guest "$name"
	run version 60
	check "$name: ... and gets answers (version)" grep -q "Windows Kernel Version" <<<"$out"
	cmd g
	ask_guest_stats=1 printed_all "$name" "$n"
	fired_in_order "$name" "$events"
	check "$name: the break-in's stop was reported once" \
		test "$(lines_since "$mark" | grep -c 'Break instruction exception')" -eq 1
	check "$name: ... and so was the initial breakpoint (2 stops in all)" \
		test "$(count_of 'Break instruction exception' "$client_out")" -eq 2
	set_up_again "$name" "$events"
	relay_stop
}

# ---- sync-reset: a target that answers every RESET with a SYNC packet ------------------
case_sync_reset() {
	local name=sync-reset start rc resets
	echo "== $name"
	python3 tests/tools/sync_reset_target.py "$tmp/$name.sock" >"$tmp/$name.count" 2>&1 &
	extra_pids+=($!)
	for _ in $(seq 50); do [[ -S $tmp/$name.sock ]] && break; sleep 0.1; done
	start=$SECONDS
	timeout 120 "$BUILD/vmkd" attach -b -t 5 -c version "unix:$tmp/$name.sock" \
		</dev/null >"$tmp/$name.out" 2>&1
	rc=$?
	sleep 0.5
	resets=$(cat "$tmp/$name.count" 2>/dev/null)
	echo "    attach ended (exit $rc) after $((SECONDS - start)) s, $resets RESETs received"
	check "$name: vmkd attach ends by itself (not killed by timeout)" test "$rc" -ne 124
	check "$name: ... having reached the stop" grep -q "(first chance)" "$tmp/$name.out"
	check "$name: ... after at most 3 RESETs, not a RESET loop ($resets)" \
		test -n "$resets" -a "${resets:-99999}" -le 3
}

for c in $CASES; do
	"case_${c//-/_}"
done

echo "$passed passed, $failed failed"
((failed == 0))
