#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ivshmem-session.sh - the same scripted debugger session as fastpath-session.sh, with
# kdvm.dll on the ivshmem backend: the test kernel boots with `-device ivshmem-doorbell`
# and no virtio-serial device, `vmkd relay --guest ivshmem:PATH` is QEMU's ivshmem server,
# and the load option VMKDDEV=IVSHMEM makes kdvm.dll map the device with MmMapIoSpace in
# KdDebuggerInitialize1 (the test kernel's export panics if it is called in phase 0).
# Checks: the whole session (version, memory, registers, breakpoint and step under TCG,
# break-in), that the DLL ran on ivshmem, its counters (one doorbell per packet sent, no
# port I/O while polling). TCG full, KVM smoke when /dev/kvm works (VMKD_IVS_KVM=0 skips).
# Ends with "N passed, N failed".
set -uo pipefail
trap "" PIPE # a client that already quit must not kill the script
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-ivs-session.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh

cleanup() {
	[[ -n ${client_pid:-} ]] && kill "$client_pid" 2>/dev/null
	[[ -n ${target_pid:-} ]] && target_kill
	relay_stop
	if [[ ${KEEP_TMP:-} ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

if [[ ! -x $BUILD/vmkd || ! -r $BUILD/target/vmkd-target.bin || ! -r $BUILD/guest/kdvm.dll ]]; then
	fail "build first: $BUILD/vmkd, $BUILD/target/vmkd-target.bin, $BUILD/guest/kdvm.dll"
	echo "$passed passed, $failed failed"
	exit 1
fi

# ivs_relay NAME: the relay as the VM's ivshmem server (qemu.sh's relay_start_ivshmem).
ivs_relay() {
	relay_log=$tmp/$1.relay.log
	relay_start_ivshmem "$relay_log" "$tmp/$1.ivs.sock" "$tmp/$1.dbg.sock" --name "$1" \
		--log-dir "$tmp/$1.logs" --quiet
}

ivs_session() {
	local accel=$1 limit=$2 name="$1-ivs"
	echo "== $name (accel $accel)"
	if ! ivs_relay "$name"; then
		fail "$name: the relay's sockets did not appear"
		relay_stop
		return
	fi
	client_start "$name" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait "$limit" \
		--timeout 30
	wait_for "$relay_log" "debugger connected" 30
	client_early=1
	# The relay first (QEMU connects to its server while realizing the device).
	target_start "$name" "$accel" "$limit" \
		"debugport=vm workload=loop build=19041 loaderblock=win10-1803 loadoptions=debugport=vm,vmkddev=ivshmem" -- \
		-chardev "socket,id=vmkdivs,path=$tmp/$name.ivs.sock" \
		-device ivshmem-doorbell,chardev=vmkdivs,vectors=1
	while_running() {
		kill -USR1 "$relay_pid"
		wait_for "$relay_log" "guest stats: " 10
	}
	scripted_session "$name" "$accel" "$limit" "unix:$tmp/$name.dbg.sock"
	unset -f while_running
	client_early=
	check "$name: the relay served QEMU as its ivshmem server" \
		grep -q "ivshmem: QEMU connected; shared memory 256 KiB" "$relay_log"
	check "$name: kdvm.dll waited for phase 1 and then came up (KdDebuggerInitialize1 = 0)" \
		grep -q "KdDebuggerInitialize1(LoaderBlock) = 0" "$tmp/$name.console"
	check "$name: the kernel ran KD through kdvm.dll" \
		grep -q "KD on vm (kdvm.dll as kdcom.dll)" "$tmp/$name.console"
	check "$name: the guest's HELLO came through the ring" \
		grep -q 'guest HELLO from "kdvm.dll' "$relay_log"
	check_guest_counters "$name" doorbell
	relay_stop
}

ivs_session tcg 240
if [[ ${VMKD_IVS_KVM:-1} != 0 ]] && kvm_usable; then
	ivs_session kvm 300
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
