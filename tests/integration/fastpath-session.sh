#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fastpath-session.sh - the scripted KD session of serial-session.sh, run again through
# vmkd attach -> vmkd relay -> QEMU virtio-serial -> kdvm.dll (loaded by the test kernel's
# PE loader, byte for byte the file users install) -> the kernel's KD core, with the same
# results asserted. Then what crosses the VM boundary (the DLL's own counters: at most one
# notification per packet sent, no port I/O while polling), and the relay surviving a
# debugger that leaves and comes back and a guest reset under an attached debugger.
# Full run under TCG; the session as a smoke run under KVM when /dev/kvm works.
# Ends with "N passed, N failed".
set -uo pipefail
trap "" PIPE # a client that already quit must not kill the script
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-fastpath.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh
trap session_cleanup EXIT
require_build

# booted_vm NAME ACCEL LIMIT APPEND [QEMU arguments]: the test kernel on kdvm.dll, started
# in the background, its vmkd port on the relay of vm_relay NAME.
booted_vm() {
	local name=$1 accel=$2 limit=$3 append=$4
	shift 4
	vm_virtio_args "$tmp/$name.vm.sock"
	target_start "$name" "$accel" "$limit" "debugport=vm $append" -- "${VM_VIRTIO_ARGS[@]}" "$@"
}

# The session, through the relay.
fast_session() {
	local accel=$1 limit=$2 name="$1-fast"
	echo "== $name (accel $accel)"
	vm_relay "$name"
	# The debugger first, then the guest: its boot reports and initial breakpoint then
	# find a debugger attached (the relay answers "no debugger" otherwise).
	client_start "$name" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait "$limit" \
		--timeout 30
	wait_for "$relay_log" "debugger connected" 30
	client_early=1
	booted_vm "$name" "$accel" "$limit" "workload=loop build=19041"
	# While the guest runs: ask the relay for the DLL's counters.
	while_running() {
		kill -USR1 "$relay_pid"
		wait_for "$relay_log" "guest stats: " 10
	}
	scripted_session "$name" "$accel" "$limit" "unix:$tmp/$name.dbg.sock"
	unset -f while_running
	client_early=
	check "$name: the kernel ran KD through kdvm.dll" \
		grep -q "KD on vm (kdvm.dll as kdcom.dll)" "$tmp/$name.console"
	check "$name: the kernel loaded kdvm.dll with its PE loader" \
		grep -q "kdvm.dll loaded at" "$tmp/$name.console"
	check_guest_counters "$name" notification
	relay_stop
}

# A debugger leaves a halted guest, another one picks the session up.
reconnect() {
	local name=tcg-reconnect flag
	echo "== $name"
	vm_relay "$name"
	client_start "$name-a" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait 60
	wait_for "$relay_log" "debugger connected" 30
	booted_vm "$name" tcg 90 "workload=loop"
	if wait_for "$client_out" '\(first chance\)' 60; then
		cmd_wait version 30
		flag=$(field stop-flag)
		cmd q
		client_finish 10
		check "$name: first debugger saw the stop and left" \
			grep -q "Windows Kernel Version" "$client_out"
		client_start "$name-b" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait 60
		wait_for "$client_out" '\(first chance\)' 60
		check "$name: a second debugger gets the halted guest's state again" \
			grep -q "(first chance)" "$client_out"
		cmd_wait "r rip" 30
		check "$name: ... and can read its registers" grep -q "rip=" "$client_out"
		cmd "ed $flag 1"
		cmd qd
		client_finish 20
		target_wait
		check "$name: the guest ran to completion (exit $target_rc)" test "$target_rc" -eq 0
	else
		fail "$name: no stop for the first debugger"
		show "$client_out" "$tmp/$name.console" "$relay_log"
		client_finish 5
		target_kill
	fi
	target_pid=
	relay_stop
}

# The guest resets (QMP system_reset) while a debugger is attached and the guest runs.
guest_reset() {
	local name=tcg-reset flag
	echo "== $name"
	vm_relay "$name"
	client_start "$name" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait 60
	wait_for "$relay_log" "debugger connected" 30
	booted_vm "$name" tcg 90 "workload=loop" -action reboot=reset \
		-qmp "unix:$tmp/$name.qmp,server=on,wait=off"
	if ! wait_for "$client_out" '\(first chance\)' 60; then
		fail "$name: no initial stop"
		show "$client_out" "$tmp/$name.console" "$relay_log"
		client_finish 5
		target_kill
		relay_stop
		return
	fi
	cmd g
	sleep 1
	printf '{"execute":"qmp_capabilities"}\n{"execute":"system_reset"}\n' |
		socat -t 2 - "unix-connect:$tmp/$name.qmp" >/dev/null 2>&1
	# The rebooted kernel reports its boot again and stops at its initial breakpoint.
	local i
	for ((i = 0; i < 600; i++)); do
		(($(grep -c '(first chance)' "$client_out") >= 2)) && break
		sleep 0.1
	done
	check "$name: after the guest reset the same debugger sees the new boot's stop" \
		test "$(grep -c '(first chance)' "$client_out")" -ge 2
	check "$name: the console shows two boots" \
		test "$(grep -c 'vmkd-target: booted' "$tmp/$name.console")" -ge 2
	cmd_wait version 30
	check "$name: the new boot answers requests" \
		test "$(grep -c 'Windows Kernel Version' "$client_out")" -ge 1
	flag=$(field stop-flag)
	cmd "ed $flag 1"
	cmd qd
	client_finish 20
	target_wait
	check "$name: the rebooted guest ran to completion (exit $target_rc)" test "$target_rc" -eq 0
	target_pid=
	relay_stop
}

fast_session tcg 90
reconnect
guest_reset
if kvm_usable; then
	fast_session kvm 240
else
	echo "== KVM: /dev/kvm is not usable here, skipped"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
