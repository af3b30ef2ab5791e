#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# qemu-target.sh - boots the vmkd test kernel under QEMU: the one way tests and the demo
# start it. Works in the foreground and in the background (tests that attach a debugger).
#
# usage: scripts/qemu-target.sh [options] [-- extra QEMU arguments]
#   --append "WORDS"      kernel command line (kdport=comN is added when missing)
#   --kd-serial SPEC      backend of the KD serial port (default: null)
#   --console SPEC        backend of the console port (default: stdio)
#   --kd-port com1|com2   which COM port carries KD (default: kdport= from --append, else com1);
#                         the console is the other one
#   --accel kvm|tcg|auto  accelerator (default: $VMKD_ACCEL, else auto = kvm when a quick probe
#                         shows /dev/kvm works, else tcg)
#   --firmware seabios|qboot  (default: $VMKD_FIRMWARE, else seabios). qboot reaches the
#                         kernel in ~0.1 s instead of ~4.5 s under this host's KVM, but it
#                         assigns no PCI BARs: fine for the serial transport, not for
#                         virtio-serial unless the guest programs the BARs itself
#   --timeout SECONDS     stop QEMU after this long (default 60; 0 = no limit)
#   --pidfile PATH        QEMU writes its pid here while it runs (default: a temporary file)
#   --kernel PATH         image to boot (default: $BUILD/target/vmkd-target.bin, BUILD=build)
#   --memory SIZE         guest RAM (default 256M)
#   --probe-accel         print the accelerator auto would pick, and exit
#   --dry-run             print the QEMU command line, and exit
#
# SPEC: stdio | null | file:PATH | unix:PATH (QEMU listens, the guest starts at once; bytes
#       sent while nobody is connected are dropped) | unix-wait:PATH (QEMU listens and waits
#       for the first client before starting the guest) | unix-connect:PATH (QEMU connects
#       to a listener) | tcp:[HOST]:PORT (QEMU listens) | qemu:ANY (passed to -serial as is)
#
# Prints "accel: kvm" or "accel: tcg" on stdout before starting, and one summary line on
# stderr at the end. Exit status: the target's exit code (target_exit(N) -> N; 0 = success,
# see TARGET_EXIT_* in target/layout.h), 124 timeout, 100 QEMU ended without isa-debug-exit
# (reset, triple fault), 125 QEMU could not start, 126 KVM internal error (QEMU stops the VM
# on an instruction this host's software KVM cannot emulate, e.g. int3 in ring 0; we kill it
# at once instead of waiting for the timeout), 128+N killed by signal N.
#
# QEMU is bounded by `timeout` on its own pid, and on exit or signal this script kills the
# pid QEMU recorded - never anything by name. QEMU runs in its own process group unless a
# port is stdio: a terminal's Ctrl-C reaches this script (which stops QEMU), not QEMU.
set -uo pipefail

QEMU=${QEMU:-qemu-system-x86_64}
BUILD=${BUILD:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
me=qemu-target

append="" kd_spec=null con_spec=stdio kd_port="" accel=${VMKD_ACCEL:-auto}
timeout_s=60 pidfile="" kernel="" memory=256M dry_run=0 probe_only=0
firmware=${VMKD_FIRMWARE:-seabios}
extra=()

die() {
	echo "$me: $*" >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--append) append=${2?}; shift 2 ;;
	--kd-serial) kd_spec=${2?}; shift 2 ;;
	--console) con_spec=${2?}; shift 2 ;;
	--kd-port) kd_port=${2?}; shift 2 ;;
	--accel) accel=${2?}; shift 2 ;;
	--timeout) timeout_s=${2?}; shift 2 ;;
	--firmware) firmware=${2?}; shift 2 ;;
	--pidfile) pidfile=${2?}; shift 2 ;;
	--kernel) kernel=${2?}; shift 2 ;;
	--memory) memory=${2?}; shift 2 ;;
	--probe-accel) probe_only=1; shift ;;
	--dry-run) dry_run=1; shift ;;
	--) shift; extra=("$@"); break ;;
	-h|--help) sed -n '3,39p' "$0"; exit 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done

# ---- accelerator ------------------------------------------------------------------------

# KVM counts as usable when QEMU can initialise it (about 0.1 s; the guest never runs).
kvm_usable() {
	[[ -c /dev/kvm && -r /dev/kvm && -w /dev/kvm ]] || return 1
	echo quit | timeout 10 "$QEMU" -accel kvm -M none -nodefaults -display none \
		-monitor stdio >/dev/null 2>&1
}

case $accel in
auto) if kvm_usable; then accel=kvm; else accel=tcg; fi ;;
kvm|tcg) ;;
*) die "--accel must be kvm, tcg or auto" ;;
esac
if [[ $probe_only == 1 ]]; then
	echo "$accel"
	exit 0
fi

# ---- serial ports -----------------------------------------------------------------------

serial_arg() {
	case $1 in
	stdio|null) echo "$1" ;;
	file:?*) echo "$1" ;;
	unix:?*) echo "unix:${1#unix:},server=on,wait=off" ;;
	unix-wait:?*) echo "unix:${1#unix-wait:},server=on,wait=on" ;;
	unix-connect:?*) echo "unix:${1#unix-connect:}" ;;
	tcp:?*) echo "tcp:${1#tcp:},server=on,wait=off" ;;
	qemu:?*) echo "${1#qemu:}" ;;
	*) return 1 ;;
	esac
}

cmdline_kdport=$(grep -oE '(^| )kdport=[^ ]*' <<<"$append" | tail -n 1 | sed 's/.*kdport=//')
if [[ -z $kd_port ]]; then
	kd_port=${cmdline_kdport:-com1}
elif [[ -n $cmdline_kdport && $cmdline_kdport != "$kd_port" ]]; then
	die "--kd-port $kd_port contradicts kdport=$cmdline_kdport in --append"
fi
[[ $kd_port == com1 || $kd_port == com2 ]] || die "--kd-port must be com1 or com2"
[[ -n $cmdline_kdport ]] || append="${append:+$append }kdport=$kd_port"

kd_arg=$(serial_arg "$kd_spec") || die "bad --kd-serial '$kd_spec'"
con_arg=$(serial_arg "$con_spec") || die "bad --console '$con_spec'"
if [[ $kd_port == com1 ]]; then com1=$kd_arg com2=$con_arg; else com1=$con_arg com2=$kd_arg; fi

# ---- image and files --------------------------------------------------------------------

if [[ -z $kernel ]]; then
	kernel=$BUILD/target/vmkd-target.bin
	[[ -e $kernel || $BUILD == /* ]] || kernel=$root/$BUILD/target/vmkd-target.bin
fi
[[ -r $kernel ]] || die "no kernel image at $kernel (run make first)"

own_pidfile=0
if [[ -z $pidfile ]]; then
	pidfile=$(mktemp "${TMPDIR:-/tmp}/vmkd-qemu.XXXXXX.pid") || die "mktemp failed"
	own_pidfile=1
fi
rm -f "$pidfile"
errlog=$(mktemp "${TMPDIR:-/tmp}/vmkd-qemu.XXXXXX.err") || die "mktemp failed"

case $firmware in
seabios) bios=() ;;
qboot) bios=(-bios qboot.rom) ;;
*) die "--firmware must be seabios or qboot" ;;
esac

# -nodefaults: no VGA, NIC (and its option ROM) or default serial; saves ~1 s under KVM.
# shellcheck disable=SC2054 # the commas belong to -device's option string
args=(-nodefaults "${bios[@]}" -accel "$accel" -kernel "$kernel" -append "$append"
	-display none -monitor none -no-reboot
	-device isa-debug-exit,iobase=0xf4,iosize=4 -m "$memory"
	-serial "$com1" -serial "$com2" -pidfile "$pidfile" "${extra[@]}")

if [[ $dry_run == 1 ]]; then
	printf '%q ' "$QEMU" "${args[@]}"
	echo
	rm -f "$errlog"
	[[ $own_pidfile == 0 ]] || rm -f "$pidfile"
	exit 0
fi

# ---- run --------------------------------------------------------------------------------

runner="" ticker=""

# The QEMU pid, if the pid file names a live child of our runner (so a stale file can never
# make us signal an unrelated process).
qemu_pid() {
	local pid ppid
	pid=$(cat "$pidfile" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ $pid == "$runner" ]] && { echo "$pid"; return 0; }
	ppid=$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')
	[[ -n $runner && $ppid == "$runner" ]] || return 1
	echo "$pid"
}

stop_qemu() {
	local qpid
	qpid=$(qemu_pid) || qpid=""
	[[ -n $ticker ]] && kill "$ticker" 2>/dev/null
	[[ -n $runner ]] && kill -TERM "$runner" 2>/dev/null # timeout relays TERM to QEMU
	[[ -n $qpid ]] && kill -TERM "$qpid" 2>/dev/null
	for _ in {1..50}; do
		{ [[ -n $runner ]] && kill -0 "$runner" 2>/dev/null; } ||
			{ [[ -n $qpid ]] && kill -0 "$qpid" 2>/dev/null; } || break
		sleep 0.1
	done
	[[ -n $qpid ]] && kill -KILL "$qpid" 2>/dev/null
	[[ -n $runner ]] && kill -KILL "$runner" 2>/dev/null
	[[ -n $runner ]] && wait "$runner" 2>/dev/null
	runner=""
}

# shellcheck disable=SC2317 # called through trap
cleanup() {
	[[ -n $runner ]] && stop_qemu
	# Pass on what QEMU said, minus the harmless CPUID warning every KVM run prints.
	[[ -s $errlog ]] && grep -v "host doesn't support requested feature" "$errlog" >&2
	rm -f "$errlog"
	[[ $own_pidfile == 0 ]] || rm -f "$pidfile"
}

# shellcheck disable=SC2317 # called through trap
on_signal() {
	trap - INT TERM HUP
	echo "$me: signal $1, stopping QEMU" >&2
	stop_qemu
	exit $((128 + $1))
}

trap cleanup EXIT
trap 'on_signal 1' HUP
trap 'on_signal 2' INT
trap 'on_signal 15' TERM

# QEMU reads stdin only for a stdio port; otherwise keep it off the terminal.
if [[ $kd_spec == stdio || $con_spec == stdio ]]; then exec 4<&0; else exec 4</dev/null; fi

# timeout puts QEMU in a process group of its own, so a Ctrl-C meant for whatever runs in
# the terminal's foreground (the demo's debugger) never reaches it: QEMU stops when this
# script says so. Only a stdio port keeps it in our group (--foreground), to read the tty.
tmo_opts=()
if [[ $kd_spec == stdio || $con_spec == stdio ]]; then tmo_opts=(--foreground); fi

echo "accel: $accel"
start=$EPOCHREALTIME
if [[ $timeout_s != 0 ]]; then
	timeout "${tmo_opts[@]}" -k 5 "$timeout_s" "$QEMU" "${args[@]}" <&4 2>"$errlog" &
else
	"$QEMU" "${args[@]}" <&4 2>"$errlog" &
fi
runner=$!
exec 4<&-

# Wait for QEMU, looking at its stderr four times a second for a KVM internal error (QEMU
# then pauses the VM forever instead of exiting).
status="" internal_error=0
while :; do
	sleep 0.25 &
	ticker=$!
	wait -n -p done_pid "$runner" "$ticker"
	st=$?
	if [[ ${done_pid:-} == "$runner" ]]; then
		status=$st
		kill "$ticker" 2>/dev/null
		wait "$ticker" 2>/dev/null
		ticker="" runner=""
		break
	fi
	ticker=""
	if grep -q 'KVM internal error' "$errlog"; then
		internal_error=1
		stop_qemu
		break
	fi
done
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')

if [[ $internal_error == 1 ]]; then
	rc=126 what="KVM internal error (instruction not emulated by this host's KVM)"
elif [[ $timeout_s != 0 ]] && { [[ $status == 124 ]] || { [[ $status == 137 ]] &&
	awk -v e="$elapsed" -v t="$timeout_s" 'BEGIN { exit !(e >= t) }'; }; }; then
	rc=124 what="timed out after $timeout_s s"
elif [[ $status == 0 ]]; then
	if grep -q 'terminating on signal' "$errlog"; then
		rc=143 what="QEMU was terminated by a signal"
	else
		rc=100 what="QEMU ended without isa-debug-exit (reset or triple fault)"
	fi
elif [[ $status == 1 ]] &&
	grep -vE ': (warning|info): |: Unable to connect character device ' "$errlog" |
	grep -q '^[^ ]*qemu[^ ]*: '; then
	# (status 1 is also isa-debug-exit's code 0: a chardev that lost its peer and
	# reconnected while the guest ran says so on stderr, and is no start failure)
	rc=125 what="QEMU could not start"
elif ((status & 1)); then
	rc=$((status >> 1)) what="target exit code $((status >> 1))"
else
	rc=$status what="QEMU exit status $status"
fi
echo "$me: $what (qemu status ${status:-none}, accel $accel, $firmware, $elapsed s)" >&2
exit "$rc"
