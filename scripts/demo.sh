#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh - `make demo`: boots vmkd's test kernel under QEMU and debugs it with
# `vmkd attach`: version, modules, export symbols, registers, disassembly, a breakpoint by
# name and its hit, the stack, a single step,
# DbgPrint text while it runs, a break-in. On a terminal it then leaves you at the kd>
# prompt (type `help`; `q` quits and stops the VM); without one it finishes the session
# and exits 0.
#
# VMKD_TRANSPORT=vmkd (default): the fast path. The kernel loads kdvm.dll (debugport=vm),
# which talks to `vmkd relay` over a virtio-serial port; vmkd attach talks KDCOM to the
# relay. VMKD_TRANSPORT=serial: the baseline, KDCOM over the kernel's emulated COM1.
#
# VMKD_ACCEL=kvm|tcg|auto picks the accelerator. The default is tcg: the demo sets a
# software breakpoint, and the software KVM of the machines this project is built on cannot
# execute int3 in guest ring 0 (the VM stops with "KVM internal error"). On a real VT-x/SVM
# host, VMKD_ACCEL=kvm works.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-demo.XXXXXX")
qemu_pidfile=$tmp/qemu.pid
target_pid=

cleanup() {
	local qpid
	qpid=$(cat "$qemu_pidfile" 2>/dev/null || true)
	[[ $qpid =~ ^[0-9]+$ ]] && kill "$qpid" 2>/dev/null
	[[ -n $target_pid ]] && wait "$target_pid" 2>/dev/null
	[[ -n ${relay_pid:-} ]] && kill "$relay_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

symbol() {
	nm "$BUILD/target/vmkd-target.elf" | awk -v s="$1" '$3 == s { print $1 }'
}

flag=$(symbol vmkd_stop_request)
accel=$(scripts/qemu-target.sh --accel "${VMKD_ACCEL:-tcg}" --probe-accel)
transport=${VMKD_TRANSPORT:-vmkd}
relay_pid=
case $transport in
vmkd)
	# The relay listens for QEMU's chardev and for the debugger; QEMU connects at start,
	# so the port is open before the guest runs.
	"$BUILD/vmkd" relay --name demo --guest "listen:unix:$tmp/vm.sock" \
		--listen "unix:$tmp/kd.sock" >"$tmp/relay.out" 2>"$tmp/relay.log" &
	relay_pid=$!
	for _ in $(seq 50); do [[ -S $tmp/vm.sock && -S $tmp/kd.sock ]] && break; sleep 0.1; done
	append="debugport=vm workload=loop"
	firmware=seabios # qboot assigns no PCI BARs, virtio needs them
	qemu_extra=(-- -device virtio-serial-pci,id=vser0
		-chardev "socket,id=vmkd0,path=$tmp/vm.sock,server=off"
		-device virtserialport,bus=vser0.0,chardev=vmkd0,name=org.vmkd.0)
	kd_serial=null
	echo "vmkd demo: transport vmkd: kdvm.dll in the guest -> virtio-serial -> vmkd relay -> KDCOM on $tmp/kd.sock"
	echo "vmkd demo: relay log: $tmp/relay.log"
	;;
serial)
	append="workload=loop"
	firmware=qboot
	qemu_extra=()
	kd_serial="unix:$tmp/kd.sock"
	echo "vmkd demo: transport serial: KDCOM over the kernel's emulated COM1 on $tmp/kd.sock"
	;;
*)
	echo "vmkd demo: VMKD_TRANSPORT must be vmkd or serial" >&2
	exit 2
	;;
esac
echo "vmkd demo: booting the test kernel under $accel; console log: $tmp/console.log"
scripts/qemu-target.sh --accel "$accel" --firmware "$firmware" --timeout 600 \
	--append "$append" --kd-serial "$kd_serial" \
	--console "file:$tmp/console.log" --pidfile "$qemu_pidfile" "${qemu_extra[@]}" \
	>"$tmp/qemu.out" 2>&1 &
target_pid=$!

session="version; lm; x nt!vmkd_*; r; u @rip L3; bp nt!vmkd_workload_function; g; kn; r rip; u @rip L3; t; bc *"
echo "vmkd demo: vmkd attach -c \"$session; ...\" unix:$tmp/kd.sock"
echo
if [[ -t 0 && -t 1 ]]; then
	"$BUILD/vmkd" attach --connect-timeout 30 -i -c "$session" "unix:$tmp/kd.sock"
else
	# No terminal: also let it run a moment (DbgPrint text arrives), break in, end the
	# workload through its stop flag and let the kernel exit.
	fifo=$tmp/cmds
	mkfifo "$fifo"
	"$BUILD/vmkd" attach --connect-timeout 30 "unix:$tmp/kd.sock" <"$fifo" &
	client=$!
	exec 7>"$fifo"
	tr ';' '\n' <<<"$session" | sed 's/^ //' >&7
	echo "g" >&7
	sleep 3
	kill -INT "$client"
	printf 'r rip\ned %s 1\nqd\n' "$flag" >&7
	exec 7>&-
	wait "$client"
	wait "$target_pid"
	rc=$?
	target_pid=
	echo
	echo "vmkd demo: the test kernel finished with exit code $rc"
	exit "$rc"
fi
