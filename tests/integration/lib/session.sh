# SPDX-License-Identifier: MIT
# session.sh - helpers for integration tests that boot the test kernel and drive it with
# `vmkd attach` in scripted mode, feeding commands through a FIFO so the script can react
# to what the target printed. Sourced; expects $tmp and BUILD. Processes start through
# qemu.sh (vm_start, relay_start), the launcher the demo and the benchmark share.

# shellcheck source=tests/integration/lib/qemu.sh
. "$(dirname "${BASH_SOURCE[0]}")/qemu.sh"

passed=${passed:-0}
failed=${failed:-0}

pass() {
	echo "PASS: $*"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}

# check NAME COND...: pass or fail NAME by a command's status.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# require_build: ends the script (status 1, "build first") unless vmkd, the test kernel and
# kdvm.dll are built.
require_build() {
	[[ -x $BUILD/vmkd && -r $BUILD/target/vmkd-target.bin && -r $BUILD/guest/kdvm.dll ]] &&
		return 0
	fail "build first: $BUILD/vmkd, $BUILD/target/vmkd-target.bin, $BUILD/guest/kdvm.dll"
	echo "$passed passed, $failed failed"
	exit 1
}

# session_cleanup: what a session script's EXIT trap does: stops the client, QEMU and the
# relay by their pids and removes $tmp (kept, and said so, with KEEP_TMP set).
session_cleanup() {
	[[ -n ${client_pid:-} ]] && kill "$client_pid" 2>/dev/null
	[[ -n ${target_pid:-} ]] && target_kill
	relay_stop
	if [[ ${KEEP_TMP:-} ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
	return 0
}

# kvm_usable: true when /dev/kvm works for QEMU here.
kvm_usable() {
	[[ $(scripts/qemu-target.sh --accel auto --probe-accel 2>/dev/null) == kvm ]]
}

# wait_for FILE REGEX SECONDS: polls until the regex matches a line of FILE.
wait_for() {
	local file=$1 re=$2 limit=$3 i
	for ((i = 0; i < limit * 10; i++)); do
		grep -qE -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# target_start NAME ACCEL TIMEOUT APPEND [extra qemu-target options]: boots the kernel in
# the background (qemu.sh's vm_start) with its console in $tmp/NAME.console; sets
# target_pid (the script) and target_qemu_pidfile.
target_start() {
	local name=$1 accel=$2 limit=$3 append=$4
	shift 4
	vm_start "$tmp/$name.qemu.out" "$tmp/$name.qemu.pid" --accel "$accel" --timeout "$limit" \
		--append "$append" --console "file:$tmp/$name.console" "$@"
	target_pid=$vm_pid target_qemu_pidfile=$vm_qemu_pidfile
}

# vm_relay NAME [relay options]: qemu.sh's relay_start for VM NAME: QEMU's vmkd port
# connects to $tmp/NAME.vm.sock, the debugger to $tmp/NAME.dbg.sock; output in $relay_log
# ($tmp/NAME.relay.log). Sets VM_VIRTIO_ARGS to that port's QEMU arguments (vm_virtio_args).
# Returns relay_start's status.
vm_relay() {
	local name=$1
	shift
	relay_log=$tmp/$name.relay.log
	vm_virtio_args "$tmp/$name.vm.sock"
	relay_start "$relay_log" "$tmp/$name.vm.sock" "$tmp/$name.dbg.sock" --name "$name" "$@"
}

# target_wait: waits for the qemu-target script; sets target_rc.
target_wait() {
	vm_wait
	target_rc=$vm_rc
}

# target_kill: stops QEMU by its pid (never by name) and reaps the script.
target_kill() {
	vm_stop
}

# client_start NAME ENDPOINT [attach options]: runs vmkd attach reading commands from a
# FIFO held open on fd 7; output in $tmp/NAME.client.
client_start() {
	local name=$1 endpoint=$2
	shift 2
	client_out=$tmp/$name.client
	rm -f "$tmp/$name.fifo"
	mkfifo "$tmp/$name.fifo"
	"$BUILD/vmkd" attach "$@" "$endpoint" <"$tmp/$name.fifo" >"$client_out" 2>&1 &
	client_pid=$!
	exec 7>"$tmp/$name.fifo"
}

# cmd LINE: sends one command line to the client.
cmd() {
	printf '%s\n' "$*" >&7
}

# client_finish SECONDS: closes the command stream and waits (bounded) for the client;
# sets client_rc.
client_finish() {
	local limit=$1 i
	exec 7>&-
	for ((i = 0; i < limit * 10; i++)); do
		kill -0 "$client_pid" 2>/dev/null || break
		sleep 0.1
	done
	pid_stop "$client_pid"
	client_rc=$pid_rc
}

# cmd_wait LINE SECONDS: sends a command followed by a marker (`? 0nN`, whose answer is
# unique) and waits until the marker's answer shows that the command has finished.
marker_seq=900000
cmd_wait() {
	local line=$1 limit=$2 i
	marker_seq=$((marker_seq + 1))
	cmd "$line"
	cmd "? 0n$marker_seq"
	for ((i = 0; i < limit * 10; i++)); do
		grep -q "Evaluate expression: $marker_seq = " "$client_out" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# field NAME: the hex value after "NAME " in the target's boot announcement.
field() {
	grep -oE "$1 0x[0-9a-f]+" "$client_out" | head -n 1 | awk '{print $2}'
}

# check_guest_counters NAME NOUN: the last "guest stats:" line kdvm.dll sent (in
# $relay_log) shows packets sent, at most one NOUN (notification, doorbell) per packet
# plus a few for set-up, and no port I/O while polling.
check_guest_counters() {
	local name=$1 noun=$2 line sent notes polling
	line=$(grep -o "guest stats: .*" "$relay_log" | tail -n 1)
	echo "    $line"
	sent=$(sed -nE 's/.*packets sent ([0-9]+).*/\1/p' <<<"$line")
	notes=$(sed -nE 's/.*notifications ([0-9]+).*/\1/p' <<<"$line")
	polling=$(sed -nE 's/.*\(([0-9]+) while polling\).*/\1/p' <<<"$line")
	check "$name: the DLL reported its counters (packets sent $sent)" \
		test -n "$sent" -a "${sent:-0}" -gt 0
	check "$name: at most one $noun per packet sent ($notes for $sent, set-up included)" \
		test -n "$notes" -a "${notes:-999999}" -le $((${sent:-0} + 8))
	check "$name: no port I/O while polling (got $polling)" test "${polling:-1}" -eq 0
}

# show FILE...: the tail of files, indented, for a failure's context.
show() {
	local f
	for f in "$@"; do
		echo "    --- $f"
		tail -n 25 "$f" 2>/dev/null | sed 's/^/    | /'
	done
}

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

# scripted_session NAME ACCEL LIMIT ENDPOINT [attach options]: with the target booted by
# target_start (command line "workload=loop build=19041"), runs the whole scripted session
# through ENDPOINT and checks every result; the KVM run skips software breakpoints (this
# host's KVM cannot run int3 in ring 0). If a function while_running is defined, it is
# called while the guest runs between the last two stops.
scripted_session() {
	local name=$1 accel=$2 limit=$3 endpoint=$4 fn flag calls pat phys guard
	local next rip breakin_wait
	shift 4
	# A caller that had to connect before the guest started (client_early) did it already.
	[[ -n ${client_early:-} ]] ||
		client_start "$name" "$endpoint" --connect-timeout 30 --wait "$limit" --timeout 30 "$@"
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
	declare -F while_running >/dev/null && while_running
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
