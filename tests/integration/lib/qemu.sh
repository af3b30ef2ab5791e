# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# shellcheck disable=SC2034 # its variables are read by the scripts that source it
# qemu.sh - the one way scripts start the test kernel and the relay in the background: the
# integration tests (through session.sh), bench/run.sh and scripts/demo.sh. QEMU itself is
# started by scripts/qemu-target.sh (bounded by --timeout, stopped by the pid QEMU records);
# everything started here is stopped by its pid, never by name. Sourced from the repository
# root; expects BUILD. Every function returns 0 unless it says otherwise, and nothing in them
# trips `set -e`, so callers under it (and their EXIT traps) never stop half-way.
#
# VM_DETACH=1: start in a new session (setsid), outside the terminal's foreground process
# group, so Ctrl-C and a hang-up on the terminal reach only the foreground (the demo's
# debugger); the caller stops them from its traps. Call before `set -m` (setsid forks, and
# $! no longer names the process, when the child leads its own process group).

vm_pid="" vm_qemu_pidfile="" vm_rc="" relay_pid=""

# vm_spawn CMD...: CMD in the background (detached with VM_DETACH=1); $! is CMD's pid.
vm_spawn() {
	if [[ ${VM_DETACH:-0} == 1 ]]; then
		setsid "$@" &
	else
		"$@" &
	fi
}

# vm_virtio_args SOCK [CHARDEV_OPTIONS [PORT]]: sets VM_VIRTIO_ARGS to the QEMU arguments of
# the vmkd port (virtserialport PORT, default org.vmkd.0) on a unix socket. The default
# options, server=off, make QEMU connect to a relay listening on SOCK: the port is then open
# before the guest runs (with QEMU listening instead, a guest that boots before the relay
# connects finds no host and boots on without a debugger, as kdcom does).
vm_virtio_args() {
	# shellcheck disable=SC2054 # the commas belong to the option strings
	VM_VIRTIO_ARGS=(-device virtio-serial-pci,id=vser0
		-chardev "socket,id=vmkd0,path=$1,${2:-server=off}"
		-device "virtserialport,bus=vser0.0,chardev=vmkd0,name=${3:-org.vmkd.0}")
}

# vm_start OUT PIDFILE [qemu-target options] [-- QEMU arguments]: boots the kernel in the
# background, qemu-target.sh's stdout and stderr in OUT; sets vm_pid (the script) and
# vm_qemu_pidfile (QEMU writes its pid there while it runs).
vm_start() {
	local out=$1
	vm_qemu_pidfile=$2
	shift 2
	rm -f "$vm_qemu_pidfile"
	vm_spawn scripts/qemu-target.sh --pidfile "$vm_qemu_pidfile" "$@" >"$out" 2>&1
	vm_pid=$!
}

# vm_qemu_pid: prints QEMU's pid while its pid file names one.
vm_qemu_pid() {
	local qpid
	qpid=$(cat "$vm_qemu_pidfile" 2>/dev/null) || return 1
	[[ $qpid =~ ^[0-9]+$ ]] || return 1
	echo "$qpid"
}

# vm_running: true while the qemu-target.sh started by vm_start runs.
vm_running() {
	[[ -n $vm_pid ]] && kill -0 "$vm_pid" 2>/dev/null
}

# vm_stop: stops QEMU (TERM to the script, which stops QEMU by pid, and to QEMU itself),
# reaps the script, sets vm_rc.
vm_stop() {
	local qpid
	[[ -n $vm_pid ]] || return 0
	qpid=$(vm_qemu_pid) || qpid=""
	if [[ -n $qpid ]]; then kill -TERM "$qpid" 2>/dev/null || true; fi
	pid_stop "$vm_pid" 15 # the script stops QEMU itself within 10 s
	vm_rc=$pid_rc
	if [[ -n $qpid ]]; then kill -KILL "$qpid" 2>/dev/null || true; fi
	vm_pid=""
	return 0
}

# vm_wait [SECONDS]: waits for the kernel to end by itself (at most SECONDS when given, then
# vm_stop); sets vm_rc to qemu-target.sh's status (the target's exit code, 124 timeout...).
vm_wait() {
	local limit=${1:-} i
	[[ -n $vm_pid ]] || return 0
	if [[ -n $limit ]]; then
		for ((i = 0; i < limit * 10; i++)); do
			vm_running || break
			sleep 0.1
		done
		if vm_running; then
			vm_stop
			return 0
		fi
	fi
	vm_rc=0
	wait "$vm_pid" || vm_rc=$?
	vm_pid=""
	return 0
}

# relay_start LOG GUEST_SOCK DEBUGGER_SOCK [relay options]: `vmkd relay` listening for QEMU's
# chardev on GUEST_SOCK and for the debugger on DEBUGGER_SOCK, output in LOG; sets
# relay_pid. Returns nonzero if both sockets are not there within 10 s.
relay_start() {
	local log=$1 gsock=$2 dsock=$3 i
	shift 3
	vm_spawn "$BUILD/vmkd" relay --guest "listen:unix:$gsock" --listen "unix:$dsock" "$@" \
		>"$log" 2>&1
	relay_pid=$!
	for ((i = 0; i < 100; i++)); do
		[[ -S $gsock && -S $dsock ]] && return 0
		kill -0 "$relay_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# relay_start_ivshmem LOG IVS_SOCK DEBUGGER_SOCK [relay options]: `vmkd relay` as the ivshmem
# server of QEMU's ivshmem-doorbell on IVS_SOCK (--guest ivshmem:PATH), the debugger on
# DEBUGGER_SOCK; sets relay_pid. Start it before QEMU. Nonzero if the sockets do not appear
# within 10 s.
relay_start_ivshmem() {
	local log=$1 isock=$2 dsock=$3 i
	shift 3
	vm_spawn "$BUILD/vmkd" relay --guest "ivshmem:$isock" --listen "unix:$dsock" "$@" \
		>"$log" 2>&1
	relay_pid=$!
	for ((i = 0; i < 100; i++)); do
		[[ -S $isock && -S $dsock ]] && return 0
		kill -0 "$relay_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# pid_stop PID [SECONDS]: TERM to PID (a child of this shell), KILL if it is still there
# SECONDS later (10), then reaps it; its status in pid_rc. A process that ignores TERM
# cannot hang the caller.
pid_stop() {
	local pid=$1 limit=${2:-10} i
	pid_rc=0
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < limit * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || pid_rc=$?
	return 0
}

# relay_stop: stops the relay by its pid and reaps it.
relay_stop() {
	[[ -n $relay_pid ]] || return 0
	pid_stop "$relay_pid"
	relay_pid=""
	return 0
}

# relay_crash: the relay killed with SIGKILL, as a crash would end it (no clean-up of its
# own), and reaped.
relay_crash() {
	[[ -n $relay_pid ]] || return 0
	kill -9 "$relay_pid" 2>/dev/null
	wait "$relay_pid" 2>/dev/null
	relay_pid=""
	return 0
}
