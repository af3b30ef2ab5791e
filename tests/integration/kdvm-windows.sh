#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kdvm-windows.sh - what Windows does to kdvm.dll that an ordinary session does not
# (docs/windows.md): the test kernel's kdvm_imitate= events (target/kdvm_imitate.h) fire
# between two debugger requests of the scripted session of serial-session.sh, run through
# vmkd attach -> vmkd relay -> virtio-serial -> kdvm.dll, and every result of the session
# must still be right afterwards:
#   device   another driver resets the device, turns its decodes off, moves its BAR
#   power    a sleep cycle (D3, firmware reset, D0) and a hibernation resume
#            (KdSave(TRUE), reset, KdRestore(TRUE), KdDebuggerInitialize0(NULL) again)
#   crash    a bug check: the services kdvm.dll imports panic the kernel if called, and
#            the rest of the session runs on the DLL's own memory and port I/O
#   loader   a loader block laid out like each supported release's (target/loader_block.h)
#            carries VMKDPORT=3, and the VM's only vmkd port is org.vmkd.3: kdvm.dll finds
#            it only if it read the option; a block of unknown layout must give defaults
# Phase 0 always runs with KeQueryPerformanceCounter refused (target/kexports.h).
# TCG (software breakpoints); under KVM, when /dev/kvm works, a smoke run of the loader
# block boot. Ends with "N passed, N failed".
set -uo pipefail
trap "" PIPE
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-kdvm-windows.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh
trap session_cleanup EXIT
require_build

# imitated NAME EVENTS HELLOS: the scripted session with kdvm_imitate=EVENTS; the DLL must
# say HELLO at least HELLOS times (once at boot, once per device set up again).
imitated() {
	local name=tcg-$1 events=$2 hellos=$3 ev got
	echo "== $name (kdvm_imitate=$events)"
	vm_relay "$name"
	client_start "$name" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait 90 \
		--timeout 30
	wait_for "$relay_log" "debugger connected" 30
	client_early=1
	target_start "$name" tcg 120 "debugport=vm workload=loop build=19041 kdvm_imitate=$events" -- \
		"${VM_VIRTIO_ARGS[@]}"
	scripted_session "$name" tcg 120 "unix:$tmp/$name.dbg.sock"
	client_early=
	for ev in ${events//,/ }; do
		check "$name: event ${ev%@*} fired mid-session" \
			grep -q "vmkd-target: imitate: ${ev%@*} after packet" "$tmp/$name.console"
	done
	check "$name: no service was called where it is not safe" \
		not grep -q "where it is not safe" "$tmp/$name.console"
	got=$(grep -c "guest HELLO from" "$relay_log")
	check "$name: the DLL said HELLO again after each set-up ($got, want >= $hellos)" \
		test "$got" -ge "$hellos"
	relay_stop
}

not() { ! "$@"; }

# Events fire after the Nth packet the kernel sent; the boot sends about 8 before the
# session's first request, so these land between requests of the session.
# loader LAYOUT [ACCEL]: boots with the block laid out as LAYOUT and VMKDPORT=3 in its
# options; the only vmkd port is org.vmkd.3 (no relay: the DLL needs only the port).
loader() {
	local layout=$1 accel=${2:-tcg} name=${2:-tcg}-loader-$1
	vm_virtio_args "$tmp/$name.vm.sock" server=on,wait=off org.vmkd.3
	target_start "$name" "$accel" 120 "debugport=vm workload=none nobreak loaderblock=$layout loadoptions=noexecute=optin,debug,debugport=vm,vmkdport=3" -- \
		"${VM_VIRTIO_ARGS[@]}"
	target_wait
	target_pid=
	grep -q "^accel: $accel\$" "$tmp/$name.qemu.out" && echo "accel: $accel"
	check "$name: the kernel passed a $layout loader block" \
		grep -q "loader block laid out as $layout " "$tmp/$name.console"
	if [[ $layout == unknown ]]; then
		check "$name: unknown layout: defaults (org.vmkd.0), so the port is not found" \
			grep -q "debugport=vm: KdDebuggerInitialize0 failed, falling back" \
			"$tmp/$name.console"
	else
		check "$name: VMKDPORT=3 read from LoadOptions: kdvm.dll drives org.vmkd.3" \
			grep -q "KD on vm (kdvm.dll as kdcom.dll)" "$tmp/$name.console"
	fi
	check "$name: the kernel ran to its end (exit $target_rc)" test "$target_rc" -eq 0
	grep -q "KD on\|falling back" "$tmp/$name.console" || show "$tmp/$name.console" "$tmp/$name.qemu.out"
}

case ${1:-all} in
all | loader)
	for layout in win7 win8 win81 win10 win10-1803 unknown; do loader "$layout"; done ;;&
all | device) imitated device reset@12,decode@15,bar@18 2 ;;&
all | power) imitated power power@12,hiber@16 3 ;;&
all | crash) imitated crash crash@10,reset@14 2 ;;&
all | kvm)
	if kvm_usable; then
		loader win10-1803 kvm
	else
		echo "== KVM: /dev/kvm is not usable here, skipped"
	fi ;;
esac
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
