#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# gdb-session.sh - Debian's real gdb (batch mode) debugging the booted test kernel through
# `vmkd gdb`: over the fast path (vmkd gdb -> vmkd relay -> virtio-serial -> kdvm.dll) and
# over the emulated serial port. Asserts on gdb's own output: registers, the known memory
# pattern, a write read back (virtually, and physically through `monitor phys`), the
# module list, a breakpoint on a known function and continue to it, a single step, a
# hardware watchpoint hit, an interrupt of the running guest (SIGINT to gdb, which sends
# 0x03), detach and re-attach, and the guest running to completion after the last detach.
# One lldb session (gdb-remote over TCP) when lldb is installed. Full run under TCG; a
# smoke run under KVM when /dev/kvm works (no int3 or watchpoints there: this host's KVM
# cannot run them in ring 0). Ends with "N passed, N failed".
# shellcheck disable=SC2016 # '$1 = ...' is gdb's value history, matched literally
set -uo pipefail
trap "" PIPE
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-gdb.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh
server_pid='' gdb_pid=''
cleanup() {
	[[ -n $gdb_pid ]] && kill "$gdb_pid" 2>/dev/null
	[[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null
	session_cleanup
}
trap cleanup EXIT
require_build
if ! command -v gdb >/dev/null; then
	echo "gdb is not installed (apt-get install gdb): skipped"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

# ---- the pieces -----------------------------------------------------------------------

# server_start NAME KD-ENDPOINT [LISTEN]: `vmkd gdb` in the background; its log (DbgPrint
# text while no debugger waits, stops, connections) in $server_log.
server_start() {
	server_log=$tmp/$1.server.log
	server_sock=$tmp/$1.gdb.sock
	"$BUILD/vmkd" gdb --kd "$2" --listen "${3:-unix:$server_sock}" --connect-timeout 60 \
		--timeout 30 >"$server_log" 2>&1 &
	server_pid=$!
}

server_stop() {
	pid_stop "$server_pid"
	server_pid=
}

# gdb_script FILE COMMAND...: a gdb command file connecting to the server.
gdb_script() {
	local file=$1
	shift
	{
		echo "set pagination off"
		echo "set confirm off"
		echo "set architecture i386:x86-64"
		echo "set remotetimeout 60"
		echo "target remote $server_sock"
		printf '%s\n' "$@"
	} >"$file"
}

# gdb_run NAME COMMAND...: one batch gdb session; its output in $out.
gdb_run() {
	local name=$1
	shift
	gdb_script "$tmp/$name.gdbcmds" "$@"
	timeout -k 10 300 gdb -batch -nx -x "$tmp/$name.gdbcmds" </dev/null >"$tmp/$name.gdbout" 2>&1
	out=$(cat "$tmp/$name.gdbout")
}

# kd_core_addr EXPR: the address of a variable of the test kernel's KD core, from its ELF.
kd_core_addr() {
	gdb -batch -nx -ex "p/x &$1" "$BUILD/target/vmkd-target.elf" 2>/dev/null |
		grep -oE '= 0x[0-9a-f]+' | awk '{print $2}'
}

# ---- one session ----------------------------------------------------------------------

# gdb_session NAME ACCEL LIMIT: the target is booting with `vmkd gdb` on its KD side.
gdb_session() {
	local name=$1 accel=$2 limit=$3 fn flag calls pat phys next pc f0=$failed
	if ! wait_for "$server_log" 'target stopped' "$limit" ||
		! wait_for "$server_log" 'pattern 0x' 30; then
		fail "$name: no initial stop within $limit s"
		show "$server_log" "$tmp/$name.console" "$tmp/$name.qemu.out"
		return 1
	fi
	grep -q "^accel: $accel\$" "$tmp/$name.qemu.out" && echo "accel: $accel"
	client_out=$server_log
	fn=$(field function) flag=$(field stop-flag) calls=$(field calls)
	pat=$(field pattern) phys=$(field phys)
	check "$name: the target announced its symbols" \
		test -n "$fn" -a -n "$flag" -a -n "$calls" -a -n "$pat" -a -n "$phys"

	local bp_cmds=()
	if [[ $accel == tcg ]]; then
		bp_cmds=("break *$fn" "continue" "p/x \$pc" "x/2i \$pc" "stepi" "p/x \$pc"
			"delete" "watch *(long *)$calls" "continue" "delete"
			"hbreak *$fn" "continue" "p/x \$pc" "delete")
	else
		bp_cmds=("p/x \$pc" "stepi" "p/x \$pc")
	fi
	gdb_run "$name-1" "info registers rip" "x/8xb $pat" \
		"set {unsigned char[4]}($pat + 0x100) = {0xde, 0xad, 0xbe, 0xef}" \
		"x/4xb $pat + 0x100" "monitor phys $phys+100 4" "monitor version" \
		"info sharedlibrary" "monitor lm" "${bp_cmds[@]}" "detach"
	check "$name: gdb connected and shows rip" grep -qE '^rip +0x[0-9a-f]+' <<<"$out"
	check "$name: x/8xb shows the known pattern" \
		grep -qE ":\s+0x03\s+0x0a\s+0x11\s+0x18\s+0x1f\s+0x26\s+0x2d\s+0x34" <<<"$out"
	check "$name: a memory write reads back" grep -qE ":\s+0xde\s+0xad\s+0xbe\s+0xef" <<<"$out"
	check "$name: ... and physically (monitor phys)" grep -q " de ad be ef" <<<"$out"
	check "$name: monitor version shows the KD version" \
		grep -q "Windows Kernel Version 19041" <<<"$out"
	check "$name: info sharedlibrary lists the kernel (qXfer:libraries)" \
		grep -qE "ntoskrnl.exe" <<<"$(grep -A3 'Shared Object Library' <<<"$out")"
	check "$name: monitor lm lists the kernel at its base" \
		grep -qE "^0xfffff80000200000 0x[0-9a-f]+ .*ntoskrnl.exe" <<<"$out"
	if [[ $accel == tcg ]]; then
		check "$name: the breakpoint on the workload function is hit" \
			grep -q "^Breakpoint 1, $fn in" <<<"$out"
		pc=$(grep -oE '^\$1 = 0x[0-9a-f]+' <<<"$out" | awk '{print $3}')
		check "$name: rip is the function's address ($fn)" test "$pc" == "$fn"
		next=$(grep -A1 -E "^=> $fn" <<<"$out" | tail -n 1 | grep -oE '^ +0x[0-9a-f]+' | tr -d ' ')
		pc=$(grep -oE '^\$2 = 0x[0-9a-f]+' <<<"$out" | awk '{print $3}')
		check "$name: stepi advances rip to the next instruction ($next)" \
			test -n "$next" -a "$pc" == "$next"
		check "$name: the hardware watchpoint on the call counter fires" \
			grep -qE "^Hardware watchpoint 2: \*\(long \*\)$calls" <<<"$(grep -A3 'Old value' -B2 <<<"$out")"
		check "$name: ... with gdb's old and new values" \
			grep -qE "^New value = [0-9]+" <<<"$out"
		pc=$(grep -oE '^\$3 = 0x[0-9a-f]+' <<<"$out" | awk '{print $3}')
		check "$name: a hardware breakpoint (hbreak, Dr0) on the function is hit" \
			test "$pc" == "$fn" -a "$(grep -c "^Hardware assisted breakpoint 3 at $fn" <<<"$out")" -eq 1
	else
		local a b
		a=$(grep -oE '^\$1 = 0x[0-9a-f]+' <<<"$out" | awk '{print $3}')
		b=$(grep -oE '^\$2 = 0x[0-9a-f]+' <<<"$out" | awk '{print $3}')
		check "$name: stepi moves rip ($a -> $b)" test -n "$a" -a -n "$b" -a "$a" != "$b"
	fi
	check "$name: gdb detached" grep -q "Inferior 1 (Remote target) detached" <<<"$out"
	[[ $failed -gt $f0 ]] && show "$tmp/$name-1.gdbout" "$server_log"

	# Re-attach to the running guest, continue, and interrupt it with SIGINT to gdb (gdb
	# sends 0x03, the server a KD break-in).
	gdb_script "$tmp/$name-2.gdbcmds" "p/x \$pc" "continue" "p/x \$pc" "x/1gx $calls" "detach"
	# gdb itself, not under timeout(1): timeout passes a SIGINT on to its whole process
	# group, and a second SIGINT makes gdb give up waiting and disconnect. Bounded below.
	gdb -batch -nx -x "$tmp/$name-2.gdbcmds" >"$tmp/$name-2.gdbout" 2>&1 &
	gdb_pid=$!
	# Interrupt once the continue is under way: gdb printed its first stop, the server
	# passed the continue on (the target runs and prints its loop lines again).
	wait_for "$tmp/$name-2.gdbout" '^\$1 = ' 120
	sleep "$([[ $accel == tcg ]] && echo 3 || echo 8)"
	# fast() under TCG: the relay is killed and restarted while gdb waits in `continue`.
	[[ -n ${mid_continue:-} ]] && "$mid_continue" "$name"
	kill -INT "$gdb_pid"
	wait_for "$tmp/$name-2.gdbout" 'detached' 120
	pid_stop "$gdb_pid"
	gdb_pid=
	out=$(cat "$tmp/$name-2.gdbout")
	check "$name: re-attaching to the running guest stops it (? -> break-in)" \
		grep -qE '^\$1 = 0x[0-9a-f]+' <<<"$out"
	check "$name: SIGINT in gdb interrupts the running guest" \
		grep -q "Program received signal SIGTRAP" <<<"$out"
	check "$name: the workload ran between the stops" \
		grep -qE "^${calls}[^:]*:\s+0x0*[1-9a-f][0-9a-f]*\$" <<<"$out"
	check "$name: gdb detached again" grep -q "Inferior 1 (Remote target) detached" <<<"$out"
	[[ $failed -gt $f0 ]] && show "$tmp/$name-2.gdbout" "$server_log"

	# A watchpoint on a byte only the KD core itself writes (its break-in flag, cleared as
	# every stop ends) never fires: the debugger's own code runs with the debug registers
	# off, and what gdb sets is loaded on the way out. A hit inside the KD code re-entered
	# it in the middle of a stop and resumed the kernel with the wrong context.
	if [[ $accel == tcg ]]; then
		local kdvar named hits f1=$failed
		kdvar=$(kd_core_addr kd.target.kd_ctx.control_c_pending)
		gdb_run "$name-kdwatch" "hbreak *$fn" "watch *(char *)$kdvar" "continue" \
			"p/x \$pc" "delete" "detach"
		pc=$(grep -oE '^\$1 = 0x[0-9a-f]+' <<<"$out" | awk '{print $3}')
		check "$name: hbreak + watch on the KD core's flag ($kdvar): stops at the hbreak" \
			test -n "$kdvar" -a "$pc" == "$fn"
		# gdb names the watchpoint once when it sets it and again on every hit.
		named=$(grep -c "^Hardware watchpoint 2: \*(char \*)$kdvar" <<<"$out")
		hits=$(grep -c "^Old value" <<<"$out")
		check "$name: ... that watchpoint was set and never fired ($named, $hits)" \
			test "$named" -eq 1 -a "$hits" -eq 0
		[[ $failed -gt $f1 ]] && show "$tmp/$name-kdwatch.gdbout" "$server_log"
	fi

	# Last visit: end the workload and let the guest run to completion.
	gdb_run "$name-3" "set {int}$flag = 1" "detach"
	check "$name: a third debugger attaches and detaches" \
		grep -q "Inferior 1 (Remote target) detached" <<<"$out"
	target_wait
	check "$name: the guest ran to completion after the detach (exit $target_rc)" \
		test "$target_rc" -eq 0
	target_pid=
}

# ---- lldb ------------------------------------------------------------------------------

# One lldb session (gdb-remote over TCP, port picked by the kernel) over the serial port.
lldb_session() {
	local name=tcg-lldb port pat flag f0=$failed
	echo "== $name: lldb -> vmkd gdb (tcp) -> QEMU's COM port"
	target_start "$name" tcg 120 "workload=loop build=19041" \
		--kd-serial "unix-wait:$tmp/$name.kd.sock"
	server_start "$name" "unix:$tmp/$name.kd.sock" tcp:127.0.0.1:0
	if ! wait_for "$server_log" 'target stopped' 120 || ! wait_for "$server_log" 'pattern 0x' 30; then
		fail "$name: no initial stop"
		show "$server_log" "$tmp/$name.console"
		target_kill
		server_stop
		return
	fi
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
	client_out=$server_log
	pat=$(field pattern) flag=$(field stop-flag)
	port=$(grep -oE 'listening on tcp:127\.0\.0\.1:[0-9]+' "$server_log" | grep -oE '[0-9]+$')
	check "$name: the server reports the TCP port it listens on" test -n "$port" -a "${port:-0}" != 0
	timeout -k 10 300 lldb -b -o "gdb-remote 127.0.0.1:$port" -o "register read rip" \
		-o "memory read -s1 -c8 -fx $pat" -o "memory write -s4 $flag 1" -o "detach" \
		</dev/null >"$tmp/$name.lldbout" 2>&1
	out=$(cat "$tmp/$name.lldbout")
	check "$name: lldb stops the target (stop reason SIGTRAP)" \
		grep -q "stop reason = signal SIGTRAP" <<<"$out"
	check "$name: lldb reads rip" grep -qE "rip = 0xfffff8[0-9a-f]+" <<<"$out"
	check "$name: lldb reads the known pattern" \
		grep -qE "0x03 0x0a 0x11 0x18 0x1f 0x26 0x2d 0x34" <<<"$out"
	target_wait
	check "$name: lldb's write of the stop flag ended the workload (exit $target_rc)" \
		test "$target_rc" -eq 0
	[[ $failed -gt $f0 ]] && show "$tmp/$name.lldbout" "$server_log"
	target_pid=
	server_stop
}

# ---- the transports -------------------------------------------------------------------

# relay_restart NAME: SIGKILL to the relay under a `continue`, a new one on the same
# sockets; `vmkd gdb` dials it again with gdb still connected, QEMU's chardev reconnects.
relay_restart() {
	local name=$1
	relay_crash
	mv "$relay_log" "$relay_log.1"
	vm_relay "$name"
	check "$name: vmkd gdb reconnects to a restarted relay, gdb still in continue" \
		wait_for "$server_log" "vmkd gdb: reconnected to unix:" 30
	check "$name: ... and QEMU's chardev too" wait_for "$relay_log" "guest HELLO from" 30
	sleep 1
}

fast() {
	local accel=$1 limit=$2 name="$1-fast" mid_continue=
	echo "== $name: gdb -> vmkd gdb -> relay -> virtio-serial -> kdvm.dll"
	vm_relay "$name"
	if [[ $accel == tcg ]]; then
		vm_virtio_args "$tmp/$name.vm.sock" server=off,reconnect=1
		mid_continue=relay_restart
	fi
	server_start "$name" "unix:$tmp/$name.dbg.sock"
	wait_for "$relay_log" "debugger connected" 30
	target_start "$name" "$accel" "$limit" "debugport=vm workload=loop build=19041" -- \
		"${VM_VIRTIO_ARGS[@]}"
	gdb_session "$name" "$accel" "$limit" || target_kill
	target_pid=
	server_stop
	relay_stop
}

serial() {
	local accel=$1 limit=$2 name="$1-serial"
	echo "== $name: gdb -> vmkd gdb -> QEMU's COM port"
	target_start "$name" "$accel" "$limit" "workload=loop build=19041" \
		--kd-serial "unix-wait:$tmp/$name.kd.sock"
	server_start "$name" "unix:$tmp/$name.kd.sock"
	gdb_session "$name" "$accel" "$limit" || target_kill
	target_pid=
	server_stop
}

fast tcg 120
serial tcg 120
if command -v lldb >/dev/null; then
	lldb_session
else
	echo "== lldb is not installed (apt-get install lldb): its session is skipped"
fi
if kvm_usable; then
	fast kvm 240
else
	echo "== KVM: /dev/kvm is not usable here, skipped"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
