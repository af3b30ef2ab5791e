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
trap "" PIPE # a client that already quit must not kill the script
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

# session ACCEL LIMIT FIRMWARE: the scripted session over the kernel's serial port.
session() {
	local accel=$1 limit=$2 firmware=$3 name="$1-session"
	echo "== $name (accel $accel, firmware $firmware)"
	# unix-wait: QEMU starts the guest only once the debugger is connected, so the boot
	# reports and the initial breakpoint never race the client's connect.
	target_start "$name" "$accel" "$limit" "workload=loop build=19041" \
		--firmware "$firmware" --kd-serial "unix-wait:$tmp/$name.kd.sock"
	scripted_session "$name" "$accel" "$limit" "unix:$tmp/$name.kd.sock"
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
