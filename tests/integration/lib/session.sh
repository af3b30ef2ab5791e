# SPDX-License-Identifier: MIT
# session.sh - helpers for integration tests that boot the test kernel and drive it with
# `vmkd attach` in scripted mode, feeding commands through a FIFO so the script can react
# to what the target printed. Sourced; expects $tmp and BUILD.

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
# the background with its KD port on $tmp/NAME.kd.sock; sets target_pid (the script) and
# target_qemu_pidfile.
target_start() {
	local name=$1 accel=$2 limit=$3 append=$4
	shift 4
	target_qemu_pidfile=$tmp/$name.qemu.pid
	scripts/qemu-target.sh --accel "$accel" --timeout "$limit" --append "$append" \
		--console "file:$tmp/$name.console" --pidfile "$target_qemu_pidfile" "$@" \
		>"$tmp/$name.qemu.out" 2>&1 &
	target_pid=$!
}

# target_wait: waits for the qemu-target script; sets target_rc.
target_wait() {
	wait "$target_pid"
	target_rc=$?
}

# target_kill: stops QEMU by its pid (never by name) and reaps the script.
target_kill() {
	local qpid
	qpid=$(cat "$target_qemu_pidfile" 2>/dev/null || true)
	[[ $qpid =~ ^[0-9]+$ ]] && kill "$qpid" 2>/dev/null
	kill "$target_pid" 2>/dev/null
	wait "$target_pid" 2>/dev/null
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
	kill "$client_pid" 2>/dev/null
	wait "$client_pid"
	client_rc=$?
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

# show FILE...: the tail of files, indented, for a failure's context.
show() {
	local f
	for f in "$@"; do
		echo "    --- $f"
		tail -n 25 "$f" 2>/dev/null | sed 's/^/    | /'
	done
}
