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
#   power-off   QEMU quits (QMP quit) under an attached debugger: it is told; a new QEMU
#               on the same relay: the same debugger gets the new boot's stop
#   flood       a debugger that floods break-ins and garbage, then one that stops reading
#               while the guest prints: the relay survives with its RSS bounded, and a new
#               debugger afterwards breaks in and gets answers
#   sync-reset  (no QEMU) a KDCOM target answering every RESET with a SYNC packet:
#               `vmkd attach` takes the packet after its one RESET (no RESET loop),
#               reaches the stop and ends by itself
#
# A guest reset (QMP system_reset) under an attached debugger is fastpath-session.sh's;
# the relay's own faults without QEMU (64 VMs, malformed frames, a mute guest, a GDB
# client) are relay-scale.sh's. FAULT_CASES="prints dbg-kill ..." picks cases. Under TCG only (the kernel runs int3).
# Ends with "N passed, N failed".
set -uo pipefail
trap "" PIPE
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-faults.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh
relay_pid=
extra_pids=()
cleanup() {
	local p
	[[ -n ${client_pid:-} ]] && kill "$client_pid" 2>/dev/null
	[[ -n ${target_pid:-} ]] && target_kill
	[[ -n $relay_pid ]] && kill "$relay_pid" 2>/dev/null
	for p in "${extra_pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [[ ${KEEP_TMP:-} ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

CASES=${FAULT_CASES:-prints dbg-kill relay-kill power-off flood sync-reset}
LINES=${FAULT_LINES:-100000}

if [[ ! -x $BUILD/vmkd || ! -r $BUILD/target/vmkd-target.bin || ! -r $BUILD/guest/kdvm.dll ]]; then
	fail "build first: $BUILD/vmkd, $BUILD/target/vmkd-target.bin, $BUILD/guest/kdvm.dll"
	echo "$passed passed, $failed failed"
	exit 1
fi

# virtio_args NAME: the vmkd port, QEMU connecting (and reconnecting) to the relay.
virtio_args() {
	echo "-device virtio-serial-pci,id=vser0" \
		"-chardev socket,id=vmkd0,path=$tmp/$1.vm.sock,server=off,reconnect=1" \
		"-device virtserialport,bus=vser0.0,chardev=vmkd0,name=org.vmkd.0"
}

# relay_start NAME: the relay for VM NAME; appends to its log (restarts keep one log).
relay_start() {
	relay_log=$tmp/$1.relay.log
	"$BUILD/vmkd" relay -q --name "$1" --guest "listen:unix:$tmp/$1.vm.sock" \
		--listen "unix:$tmp/$1.dbg.sock" >>"$relay_log" 2>&1 &
	relay_pid=$!
	for _ in $(seq 100); do [[ -S $tmp/$1.dbg.sock && -S $tmp/$1.vm.sock ]] && break; sleep 0.1; done
}

relay_stop() {
	kill "$relay_pid" 2>/dev/null
	wait "$relay_pid" 2>/dev/null
	relay_pid=
}

# booted_vm NAME LIMIT APPEND [qemu args]: the test kernel on kdvm.dll, in the background.
booted_vm() {
	local name=$1 limit=$2 append=$3
	shift 3
	# shellcheck disable=SC2046
	target_start "$name" tcg "$limit" "debugport=vm $append" -- $(virtio_args "$name") "$@"
}

# rss_kb PID: resident set size in KiB.
rss_kb() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null
}

# count_of REGEX FILE
count_of() {
	grep -cE -- "$1" "$2" 2>/dev/null
}

# lines_ok FILE N: "dbgprint line i of N" for i = 1..N, each once, in order.
lines_ok() {
	grep -oE "dbgprint line [0-9]+ of $2\$" "$1" | awk -v n="$2" '
		{ split($0, w, " "); if (w[3] != ++i) { bad = 1; exit } }
		END { exit !(bad == 0 && i == n) }'
}

# ---- prints: DbgPrint lines to a slow reader ------------------------------------------
case_prints() {
	local name=prints start secs peak=0 r
	echo "== $name ($LINES lines, slow reader)"
	relay_start "$name"
	# The reader: sips of 512 bytes with a pause, so the debugger blocks on its stdout.
	client_out=$tmp/$name.client
	mkfifo "$tmp/$name.fifo" "$tmp/$name.out.fifo"
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
' "$client_out" "$tmp/$name.out.fifo" &
	reader_pid=$!
	extra_pids+=("$reader_pid")
	"$BUILD/vmkd" attach --connect-timeout 30 --wait 900 --timeout 60 \
		"unix:$tmp/$name.dbg.sock" <"$tmp/$name.fifo" >"$tmp/$name.out.fifo" 2>&1 &
	client_pid=$!
	exec 7>"$tmp/$name.fifo"
	wait_for "$relay_log" "debugger connected" 30
	booted_vm "$name" 900 "workload=dbgprint lines=$LINES"
	if ! wait_for "$client_out" '\(first chance\)' 120; then
		fail "$name: no initial breakpoint"
		show "$client_out" "$tmp/$name.console" "$relay_log"
		client_finish 5
		target_kill
		relay_stop
		return
	fi
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
	start=$SECONDS
	cmd g
	while ! grep -q "dbgprint done" "$client_out" 2>/dev/null && ((SECONDS - start < 800)); do
		r=$(rss_kb "$relay_pid")
		((${r:-0} > peak)) && peak=$r
		sleep 1
	done
	secs=$((SECONDS - start))
	echo "    $LINES lines in ${secs} s under TCG through a slow reader; relay peak RSS ${peak} KiB"
	check "$name: all $LINES lines arrived, in order, each once" lines_ok "$client_out" "$LINES"
	check "$name: the relay's memory stayed bounded (peak ${peak} KiB < 64 MiB)" \
		test "$peak" -gt 0 -a "$peak" -lt 65536
	target_wait
	check "$name: the guest ran to completion (exit $target_rc)" test "$target_rc" -eq 0
	target_pid=
	client_finish 2 # the guest is gone: nothing to wait for
	wait "$reader_pid" 2>/dev/null
	relay_stop
}

# ---- dbg-kill: the debugger dies mid-request --------------------------------------------
case_dbg_kill() {
	local name=dbg-kill flag pat
	echo "== $name"
	relay_start "$name"
	client_start "$name-a" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait 120 \
		--timeout 30
	wait_for "$relay_log" "debugger connected" 30
	booted_vm "$name" 300 "workload=loop"
	if ! wait_for "$client_out" '\(first chance\)' 120; then
		fail "$name: no initial breakpoint"
		show "$client_out" "$tmp/$name.console" "$relay_log"
		client_finish 5
		target_kill
		relay_stop
		return
	fi
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
	flag=$(field stop-flag) pat=$(field pattern)
	# A read of many requests; the debugger is killed while they fly.
	cmd "db $pat L 10000"
	wait_for "$client_out" "^[0-9a-f]{8}\`[0-9a-f]{8}  " 30
	kill -9 "$client_pid"
	wait "$client_pid" 2>/dev/null
	exec 7>&-
	check "$name: the relay saw the debugger go" wait_for "$relay_log" "debugger disconnected" 30
	client_start "$name-b" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait 120 \
		--timeout 30
	check "$name: a new debugger gets the halted guest's state" \
		wait_for "$client_out" '\(first chance\)' 120
	run "db $pat L 8" 60
	check "$name: ... and reads correct memory" grep -q "03 0a 11 18 1f 26 2d 34" <<<"$out"
	run version 60
	check "$name: ... and gets answers (version)" grep -q "Windows Kernel Version" <<<"$out"
	cmd "ed $flag 1"
	cmd qd
	client_finish 30
	target_wait
	check "$name: the guest ran to completion (exit $target_rc)" test "$target_rc" -eq 0
	target_pid=
	relay_stop
}

# ---- relay-kill: the relay dies and comes back under a running guest ------------------
case_relay_kill() {
	local name=relay-kill flag pat
	echo "== $name"
	relay_start "$name"
	client_start "$name-a" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait 120 \
		--timeout 30
	wait_for "$relay_log" "debugger connected" 30
	booted_vm "$name" 300 "workload=loop"
	if ! wait_for "$client_out" '\(first chance\)' 120; then
		fail "$name: no initial breakpoint"
		show "$client_out" "$tmp/$name.console" "$relay_log"
		client_finish 5
		target_kill
		relay_stop
		return
	fi
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
	flag=$(field stop-flag) pat=$(field pattern)
	cmd g
	sleep 2
	kill -9 "$relay_pid"
	wait "$relay_pid" 2>/dev/null
	relay_pid=
	client_finish 10
	sleep 2
	check "$name: QEMU and the guest keep running without the relay" \
		kill -0 "$(cat "$target_qemu_pidfile")"
	relay_start "$name"
	check "$name: QEMU's chardev reconnects to the new relay" \
		wait_for "$relay_log" "guest chardev connected" 30
	client_start "$name-b" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait 120 \
		--timeout 30 -b
	check "$name: a new debugger breaks into the running guest" \
		wait_for "$client_out" '\(first chance\)|Break instruction' 120
	run "db $pat L 8" 60
	check "$name: ... and reads correct memory" grep -q "03 0a 11 18 1f 26 2d 34" <<<"$out"
	cmd "ed $flag 1"
	cmd qd
	client_finish 30
	target_wait
	# Not target_rc: QEMU's reconnect attempts while the relay was down put "Unable to
	# connect" on its stderr, which qemu-target.sh reads as "could not start" (125).
	check "$name: the guest ran to completion (its console says exit 0)" \
		grep -q "^vmkd-target: exit 0" "$tmp/$name.console"
	target_pid=
	relay_stop
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
	local name=power-off flag i
	echo "== $name"
	relay_start "$name"
	client_start "$name" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait 300 \
		--timeout 30
	wait_for "$relay_log" "debugger connected" 30
	booted_vm "$name" 300 "workload=loop" -qmp "unix:$tmp/$name.qmp,server=on,wait=off"
	if ! wait_for "$client_out" '\(first chance\)' 120; then
		fail "$name: no initial breakpoint"
		show "$client_out" "$tmp/$name.console" "$relay_log"
		client_finish 5
		target_kill
		relay_stop
		return
	fi
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
	cmd g
	sleep 2
	qmp "$tmp/$name.qmp" quit
	target_wait
	target_pid=
	check "$name: the debugger is told the VM left" wait_for "$client_out" "left the relay" 30
	check "$name: the relay keeps running" kill -0 "$relay_pid"
	rm -f "$tmp/$name.console"
	booted_vm "$name" 300 "workload=loop"
	check "$name: the same debugger is told the VM is back" \
		wait_for "$client_out" "is back on the relay" 60
	for ((i = 0; i < 1200; i++)); do
		(($(count_of '\(first chance\)' "$client_out") >= 2)) && break
		sleep 0.1
	done
	if (($(count_of '\(first chance\)' "$client_out") >= 2)); then
		pass "$name: ... and gets the new boot's initial breakpoint"
	else
		fail "$name: ... and gets the new boot's initial breakpoint"
		show "$client_out" "$relay_log"
	fi
	flag=$(grep -oE "stop-flag 0x[0-9a-f]+" "$client_out" | tail -n 1 | awk '{print $2}')
	cmd "ed $flag 1"
	cmd qd
	client_finish 30
	target_wait
	check "$name: the new guest ran to completion (exit $target_rc)" test "$target_rc" -eq 0
	target_pid=
	relay_stop
}

# ---- flood: hostile debuggers against a printing guest --------------------------------
case_flood() {
	local name=flood peak=0 r i fpid
	echo "== $name"
	relay_start "$name"
	client_start "$name-a" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait 120 \
		--timeout 30
	wait_for "$relay_log" "debugger connected" 30
	booted_vm "$name" 600 "workload=dbgprint lines=$LINES"
	if ! wait_for "$client_out" '\(first chance\)' 120; then
		fail "$name: no initial breakpoint"
		show "$client_out" "$tmp/$name.console" "$relay_log"
		client_finish 5
		target_kill
		relay_stop
		return
	fi
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
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
	for ((i = 0; i < 60; i++)); do
		kill -0 "$fpid" 2>/dev/null || break
		r=$(rss_kb "$relay_pid")
		((${r:-0} > peak)) && peak=$r
		sleep 0.1
	done
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
	for ((i = 0; i < 100; i++)); do
		kill -0 "$fpid" 2>/dev/null || break
		r=$(rss_kb "$relay_pid")
		((${r:-0} > peak)) && peak=$r
		sleep 0.1
	done
	wait "$fpid"
	echo "    relay peak RSS under the flood and the non-reader: ${peak} KiB"
	check "$name: the relay's memory stayed bounded (peak ${peak} KiB < 64 MiB)" \
		test "$peak" -gt 0 -a "$peak" -lt 65536
	check "$name: the relay is alive" kill -0 "$relay_pid"
	# A proper debugger now: the guest still answers.
	client_start "$name-b" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait 300 \
		--timeout 60 -b
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
