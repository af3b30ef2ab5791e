#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh - `make demo`: boots vmkd's test kernel under QEMU and debugs it with
# `vmkd attach`: version, modules, export symbols, registers, disassembly, a breakpoint by
# name and its hit, the stack, a single step,
# DbgPrint text while it runs, a break-in. On a terminal it then leaves you at the kd>
# prompt (type `help`; `g` runs the guest, Ctrl-C breaks in, `q` quits and stops the VM,
# exit status 0); without one it finishes the session and exits with the kernel's exit code.
#
# VMKD_TRANSPORT=vmkd (default): the fast path. The kernel loads kdvm.dll (debugport=vm),
# which talks to `vmkd relay` over a virtio-serial port; vmkd attach talks KDCOM to the
# relay. VMKD_TRANSPORT=serial: the baseline, KDCOM over the kernel's emulated COM1.
#
# VMKD_ACCEL=kvm|tcg|auto picks the accelerator. The default is tcg: the demo sets a
# software breakpoint, and the software KVM of the machines this project is built on cannot
# execute int3 in guest ring 0 (the VM stops with "KVM internal error"). On a real VT-x/SVM
# host, VMKD_ACCEL=kvm works.
#
# Processes: QEMU and the relay run in a session of their own (setsid), so the terminal's
# Ctrl-C reaches only the debugger, which the script runs as the terminal's foreground job
# (set -m). Whatever ends the demo - `q`, a failure, a signal, the terminal closing - the
# EXIT trap stops them by pid; a detached watchdog does it if this script is killed outright.
# A guard stops the demo with a clear message when kdvm.dll does not come up (the kernel's
# console says it fell back to serial, or no HELLO reaches the relay within
# VMKD_DEMO_HELLO_TIMEOUT seconds, default 60) or when the VM ends under the debugger.
# VMKD_DEMO_PIDS=FILE: write the pids the demo started there (for tests).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
export BUILD
# shellcheck source=tests/integration/lib/qemu.sh
. tests/integration/lib/qemu.sh

say() { printf 'vmkd demo: %s\n' "$*"; }
die() {
	printf 'vmkd demo: %s\n' "$*" >&2
	exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-demo.XXXXXX") || exit 1
attach_pidfile=$tmp/attach.pid
failfile=$tmp/fail   # the guard's verdict: the demo failed
endfile=$tmp/ended   # the guard's note: the VM ended under the debugger
guard_pid="" watchdog_pid=""

# The debugger, if it still runs (pid from its wrapper; checked to be vmkd before a kill).
attach_pid() {
	local p
	p=$(cat "$attach_pidfile" 2>/dev/null) && [[ $p =~ ^[0-9]+$ ]] &&
		[[ $(ps -o comm= -p "$p" 2>/dev/null) == vmkd ]] && echo "$p"
}

stop_pid() {
	[[ -n $1 ]] || return 0
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# No `set -e` here and nothing that can stop half-way: every step runs.
cleanup() {
	local p
	trap '' HUP INT TERM
	stop_pid "$guard_pid"
	if p=$(attach_pid); then kill -TERM "$p" 2>/dev/null; fi
	vm_stop
	relay_stop
	stop_pid "$watchdog_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

symbol() {
	nm "$BUILD/target/vmkd-target.elf" | awk -v s="$1" '$3 == s { print $1 }'
}

[[ -x $BUILD/vmkd && -r $BUILD/target/vmkd-target.bin && -r $BUILD/target/vmkd-target.elf ]] ||
	die "build first ($BUILD/vmkd, $BUILD/target/vmkd-target.bin): make demo builds what it needs"
flag=$(symbol vmkd_stop_request)
accel=$(scripts/qemu-target.sh --accel "${VMKD_ACCEL:-tcg}" --probe-accel) || exit 1
transport=${VMKD_TRANSPORT:-vmkd}
hello_limit=${VMKD_DEMO_HELLO_TIMEOUT:-60}
VM_DETACH=1

case $transport in
vmkd)
	# A kernel linked without the DLL would say "not built in" and fall back to serial
	# while the relay waits on virtio-serial: refuse it before booting.
	dll_start=$(symbol kdvm_dll_start) dll_end=$(symbol kdvm_dll_end)
	[[ -n $dll_start && $dll_start != "$dll_end" ]] ||
		die "$BUILD/target/vmkd-target.bin was built without kdvm.dll (no mingw-w64 when it was built); run 'make demo' again, which installs it (make deps) and rebuilds"
	# The relay listens for QEMU's chardev and for the debugger; QEMU connects at start,
	# so the port is open before the guest runs.
	relay_start "$tmp/relay.log" "$tmp/vm.sock" "$tmp/kd.sock" --name demo --log-dir "$tmp" ||
		die "the relay did not start: $(tail -n 3 "$tmp/relay.log")"
	append="debugport=vm workload=loop"
	firmware=seabios # qboot assigns no PCI BARs, virtio needs them
	vm_virtio_args "$tmp/vm.sock"
	qemu_extra=(-- "${VM_VIRTIO_ARGS[@]}")
	kd_serial=null
	say "transport vmkd: kdvm.dll in the guest -> virtio-serial -> vmkd relay -> KDCOM on $tmp/kd.sock"
	say "relay log: $tmp/relay.log"
	;;
serial)
	append="workload=loop"
	firmware=qboot
	qemu_extra=()
	kd_serial="unix:$tmp/kd.sock"
	say "transport serial: KDCOM over the kernel's emulated COM1 on $tmp/kd.sock"
	;;
*)
	die "VMKD_TRANSPORT must be vmkd or serial"
	;;
esac
say "booting the test kernel under $accel; console log: $tmp/console.log"
: >"$tmp/console.log"
# QEMU's bound: an hour at a prompt, ten minutes for the scripted run.
if [[ -t 0 && -t 1 ]]; then limit=${VMKD_DEMO_TIMEOUT:-3600}; else limit=${VMKD_DEMO_TIMEOUT:-600}; fi
vm_start "$tmp/qemu.out" "$tmp/qemu.pid" --accel "$accel" --firmware "$firmware" \
	--timeout "$limit" --append "$append" --kd-serial "$kd_serial" \
	--console "file:$tmp/console.log" "${qemu_extra[@]}"

# The watchdog: in a session of its own, it outlives a SIGKILL of this script and then stops
# what the script started, by pid. The EXIT trap stops it first in every other case.
setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
	q=$(cat "$4" 2>/dev/null)
	kill -TERM "$2" ${3:+"$3"} 2>/dev/null
	[[ $q =~ ^[0-9]+$ ]] && kill -TERM "$q" 2>/dev/null' \
	vmkd-demo-watchdog "$$" "$vm_pid" "$relay_pid" "$tmp/qemu.pid" </dev/null >/dev/null 2>&1 &
watchdog_pid=$!

# stop_attach FILE MESSAGE: the guard's word, then the debugger is stopped; the script says
# why when the debugger has returned.
stop_attach() {
	local p
	printf '%s\n' "$2" >"$1"
	if p=$(attach_pid); then kill -TERM "$p" 2>/dev/null; fi
}
fail_fast() { stop_attach "$failfile" "$*"; }

# The guard: kdvm.dll must say HELLO to the relay, and a VM that ends must not leave the
# debugger waiting for ever.
guard() {
	local i j line hello=0
	[[ $transport == vmkd ]] || hello=1
	for ((i = 0; ; i++)); do
		if line=$(grep -m 1 'falling back to the serial transport' "$tmp/console.log"); then
			fail_fast "the test kernel did not load kdvm.dll (its console: \"${line#vmkd-target: }\"), so nothing answers on virtio-serial. Rebuild it with mingw-w64: make deps && make (make demo does both)."
			return
		fi
		((hello)) || ! grep -q 'HELLO' "$tmp/relay.log" || hello=1
		if ! vm_running; then
			if ((hello)); then
				# Give the debugger a moment to notice by itself (it may be quitting).
				for ((j = 0; j < 50; j++)); do attach_pid >/dev/null || return; sleep 0.2; done
				stop_attach "$endfile" "the VM has ended ($(grep -h '^qemu-target: ' "$tmp/qemu.out" | tail -n 1 | sed 's/^qemu-target: //; s/ (qemu status.*//')); stopped the debugger."
			else
				fail_fast "QEMU ended before kdvm.dll said HELLO to the relay: $(tail -n 2 "$tmp/qemu.out" | tr '\n' ' ')"
			fi
			return
		fi
		if ((!hello && i >= hello_limit * 5)); then
			fail_fast "no HELLO from kdvm.dll within $hello_limit s (console log: $(tail -n 1 "$tmp/console.log")); is the virtio-serial port there?"
			return
		fi
		sleep 0.2
	done
}
guard &
guard_pid=$!

[[ -z ${VMKD_DEMO_PIDS:-} ]] ||
	printf 'demo %s\nrelay %s\nqemu-target %s\nwatchdog %s\nqemu-pidfile %s\nattach-pidfile %s\n' \
		"$$" "${relay_pid:-none}" "$vm_pid" "$watchdog_pid" "$tmp/qemu.pid" \
		"$attach_pidfile" >"$VMKD_DEMO_PIDS"

# attach ARGS...: vmkd attach, its pid recorded for the guard and the cleanup.
attach() {
	bash -c 'echo $$ >"$0"; exec "$@"' "$attach_pidfile" \
		"$BUILD/vmkd" attach --connect-timeout 30 "$@" "unix:$tmp/kd.sock"
}

# failed: the guard's message, if it stopped the demo.
failed() {
	[[ -s $failfile ]] || return 1
	echo
	printf 'vmkd demo: %s\n' "$(cat "$failfile")" >&2
}

session="version; lm; x nt!vmkd_*; r; u @rip L3; bp nt!vmkd_workload_function; g; kn; r rip; u @rip L3; t; bc *"
say "vmkd attach -c \"$session; ...\" unix:$tmp/kd.sock"
echo
if [[ -t 0 && -t 1 ]]; then
	# Job control: the debugger becomes the terminal's foreground process group, so Ctrl-C
	# (SIGINT) reaches it alone - not make, not this script.
	set -m
	attach -i -c "$session"
	rc=$?
	set +m
	if failed; then
		stty sane 2>/dev/null
		exit 1
	fi
	if [[ -s $endfile ]] || ! vm_running; then
		# The kernel ran to its end (e.g. `ed <stop flag> 1; g`): its exit code is ours,
		# whether the guard stopped the debugger or it noticed by itself.
		stty sane 2>/dev/null
		vm_wait 10
		echo
		if [[ -s $endfile ]]; then say "$(cat "$endfile")"; else say "the VM has ended"; fi
		say "the test kernel finished with exit code $vm_rc"
		exit "$vm_rc"
	fi
	exit "$rc"
fi

trap "" PIPE # a debugger stopped by the guard must not take this script with it
# No terminal: also let it run a moment (DbgPrint text arrives), break in, end the
# workload through its stop flag and let the kernel exit.
fifo=$tmp/cmds
mkfifo "$fifo"
attach <"$fifo" &
client=$!
exec 7>"$fifo"
tr ';' '\n' <<<"$session" | sed 's/^ //' >&7
echo "g" >&7
sleep 3
if p=$(attach_pid); then kill -INT "$p"; fi
printf 'r rip\ned %s 1\nqd\n' "$flag" >&7
exec 7>&-
wait "$client"
failed && exit 1
vm_wait 120
echo
say "the test kernel finished with exit code $vm_rc"
exit "$vm_rc"
