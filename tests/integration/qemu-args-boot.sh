#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# qemu-args-boot.sh - boots the test target with exactly the arguments `vmkd qemu-args`
# prints (parsed as the shell would), behind a relay started with the matching endpoints,
# and checks that a KD session runs through the fast path: once with the port alone and
# once with --host-ram (shared RAM file and QMP socket, checked from the host while the
# guest is halted). TCG; ends with "N passed, N failed".
set -uo pipefail
trap "" PIPE
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-qemu-args.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh
shm_files=() qargs=()
cleanup() {
	rm -f "${shm_files[@]}"
	session_cleanup
}
trap cleanup EXIT
require_build
command -v socat >/dev/null || { fail "socat is missing (make deps)"; echo "$passed passed, $failed failed"; exit 1; }

# qmp SOCKET COMMAND: one QMP command's answer (after the capabilities handshake).
qmp() {
	printf '{"execute":"qmp_capabilities"}\n{"execute":"%s"}\n' "$2" |
		socat -t 3 - "unix-connect:$1" 2>/dev/null
}

# boot NAME [qemu-args options]: relay, debugger, then the target on the printed arguments.
boot() {
	local name=$1 printed
	shift
	echo "== $name (accel tcg)"
	printed=$("$BUILD/vmkd" qemu-args "$name" --socket-dir "$tmp" "$@" 2>"$tmp/$name.hint")
	check "$name: vmkd qemu-args exits 0 and prints one line" \
		test $? -eq 0 -a "$(wc -l <<<"$printed")" -eq 1
	echo "    qemu-args: $printed"
	# The words exactly as a shell reads them (the output is shell-quoted where needed).
	eval "qargs=($printed)"
	check "$name: the relay command on stderr names the same sockets" \
		grep -qF "vmkd relay --name $name --guest listen:unix:$tmp/$name.vm.sock --listen unix:$tmp/$name.sock" "$tmp/$name.hint"

	relay_log=$tmp/$name.relay.log
	relay_start "$relay_log" "$tmp/$name.vm.sock" "$tmp/$name.sock" --name "$name"
	client_out=$tmp/$name.client
	"$BUILD/vmkd" attach --connect-timeout 30 --wait 120 --timeout 30 -c version \
		"unix:$tmp/$name.sock" >"$client_out" 2>&1 &
	client_pid=$!
	wait_for "$relay_log" "debugger connected" 30
	target_start "$name" tcg 150 "debugport=vm workload=loop build=19041" -- "${qargs[@]}"
}

# session_checks NAME: the attach -c version run through the relay, and what QEMU saw.
session_checks() {
	local name=$1 i
	for ((i = 0; i < 1500; i++)); do kill -0 "$client_pid" 2>/dev/null || break; sleep 0.1; done
	kill "$client_pid" 2>/dev/null
	wait "$client_pid"
	local rc=$?
	client_pid=
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
	check "$name: vmkd attach -c version succeeded (exit $rc)" test "$rc" -eq 0
	check "$name: version reports the target's build through the relay" \
		grep -q 'Windows Kernel Version 19041' "$client_out"
	check "$name: the guest said HELLO on the virtserialport QEMU got from qemu-args" \
		grep -q 'guest HELLO from' "$relay_log"
	check "$name: the kernel ran KD through kdvm.dll" \
		grep -q "KD on vm (kdvm.dll as kdcom.dll)" "$tmp/$name.console"
	grep -q 'Windows Kernel Version' "$client_out" ||
		show "$client_out" "$relay_log" "$tmp/$name.console" "$tmp/$name.qemu.out"
}

finish() {
	target_kill
	target_pid=
	relay_stop
}

# 1. The port alone, as a user adds it to an existing command line.
boot port
session_checks port
finish

# 2. With the guest's RAM in a shared file and a QMP socket for the relay.
name=hostram-$$
shm_files+=("/dev/shm/vmkd-$name")
boot "$name" --ram 256M --host-ram
session_checks "$name"
check "$name: the RAM file /dev/shm/vmkd-$name exists with the guest's size (256 MiB)" \
	test "$(stat -c %s "/dev/shm/vmkd-$name" 2>/dev/null)" == 268435456
memdev=$(qmp "$tmp/$name.qmp.sock" query-memdev)
check "$name: QMP answers on $name.qmp.sock: one shared 256 MiB backend" \
	grep -qE '"size": 268435456.*"share": true|"share": true.*"size": 268435456' <<<"$memdev"
check "$name: ... and it is the machine's RAM (id vmkd-ram)" grep -q '"id": "vmkd-ram"' <<<"$memdev"
[[ -n $memdev ]] || echo "    (no QMP answer)"
# The file is the guest's memory: the target's known pattern (byte i = 7i + 3) sits at the
# physical address the target announced (RAM below 4 GiB is the file from offset 0).
phys=$(grep -oE 'pattern 0x[0-9a-f]+ phys 0x[0-9a-f]+' "$client_out" | head -n 1 | awk '{print $4}')
bytes=""
[[ -n $phys ]] && bytes=$(od -An -tx1 -N8 -j "$((phys))" "/dev/shm/vmkd-$name" | tr -s ' ' | sed 's/^ //')
check "$name: the RAM file holds the guest's known pattern at phys ${phys:-?} (got '$bytes')" \
	test "$bytes" == "03 0a 11 18 1f 26 2d 34"
finish

# 3. Argument errors are usage errors (exit 2), not output.
"$BUILD/vmkd" qemu-args vm0 --host-ram >"$tmp/err.out" 2>&1
check "usage: --host-ram without --ram exits 2 with a message" \
	test $? -eq 2 -a -n "$(grep -- '--host-ram needs --ram' "$tmp/err.out")"
"$BUILD/vmkd" qemu-args 'bad name' >"$tmp/err.out" 2>&1
check "usage: a bad VM name exits 2" test $? -eq 2
"$BUILD/vmkd" qemu-args >"$tmp/err.out" 2>&1
check "usage: no VM name exits 2" test $? -eq 2

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
