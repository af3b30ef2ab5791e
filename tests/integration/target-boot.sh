#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# target-boot.sh - boots the test kernel (built by `make all`; this script builds nothing)
# through scripts/qemu-target.sh and checks the platform layer: banner and self-test, port
# selection (with the KD core off: nokd), the fatal-fault path, int3 reaching the KD hook, the timeout, and that a
# backgrounded run is cleaned up by pid. Always under TCG; then, when /dev/kvm is usable,
# bounded boots under KVM (SeaBIOS and qboot). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

export BUILD=${BUILD:-build}
run=scripts/qemu-target.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-target-boot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=tests/integration/lib/qemu.sh
. tests/integration/lib/qemu.sh

passed=0 failed=0
ran_accels=()

pass() {
	echo "PASS: $*"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}

# boot NAME ACCEL TIMEOUT [qemu-target options...]: runs one boot with the console in
# $tmp/NAME.console; leaves the exit code in $rc and stdout+stderr in $tmp/NAME.out.
boot() {
	local name=$1 accel=$2 limit=$3
	shift 3
	"$run" --accel "$accel" --timeout "$limit" --console "file:$tmp/$name.console" "$@" \
		>"$tmp/$name.out" 2>&1
	rc=$?
	touch "$tmp/$name.console"
	echo "    $(grep -h '^qemu-target: ' "$tmp/$name.out" | tail -n 1)"
}

# has FILE REGEX: true when the extended regex matches a line of FILE.
has() {
	grep -qE -- "$2" "$1"
}

show() {
	sed 's/^/    | /' "$tmp/$1.console" "$tmp/$1.out" | tail -n 20
}

# basic NAME ACCEL TIMEOUT [options...]: the banner, the self-test and a clean exit.
basic() {
	local name=$1 accel=$2 limit=$3 c banner
	shift 3
	boot "$name" "$accel" "$limit" --append "marker=$name nokd" "$@"
	c=$tmp/$name.console
	banner="^vmkd-target: booted, cmdline=\"marker=$name nokd kdport=com1\", tsc=[0-9]+ MHz"
	if [[ $rc -eq 0 ]] && has "$tmp/$name.out" "^accel: $accel\$" && has "$c" "$banner" &&
		has "$c" ", accel=$accel, init=[0-9]+ us\$" &&
		has "$c" '^vmkd-target: KernBase=0xfffff80000200000 ' &&
		has "$c" '^vmkd-target: selftest ok' && has "$c" '^vmkd-target: exit 0'; then
		pass "$name: banner, selftest ok, exit code 0 under $accel${*:+ ($*)}"
		[[ " ${ran_accels[*]} " == *" $accel "* ]] || ran_accels+=("$accel")
	else
		fail "$name: expected banner + selftest ok + exit 0 under $accel (rc=$rc)"
		show "$name"
	fi
}

if [[ ! -r $BUILD/target/vmkd-target.bin ]]; then
	fail "no $BUILD/target/vmkd-target.bin (run make all first)"
	echo "$passed passed, $failed failed"
	exit 1
fi

echo "== TCG"
basic tcg-boot tcg 30
basic tcg-qboot tcg 30 --firmware qboot

# kdport=com2 moves the console to COM1 and leaves COM2 (KD) silent.
boot tcg-com2 tcg 30 --kd-port com2 --kd-serial "file:$tmp/tcg-com2.kd" --append nokd
if [[ $rc -eq 0 ]] && has "$tmp/tcg-com2.console" 'kdport=com2 console=com1' &&
	has "$tmp/tcg-com2.console" '^vmkd-target: selftest ok' && [[ ! -s $tmp/tcg-com2.kd ]]; then
	pass "tcg-com2: kdport=com2 puts the console on COM1, nothing on the KD port"
else
	fail "tcg-com2: port swap (rc=$rc)"
	show tcg-com2
fi

# Unexpected faults print the frame and exit with TARGET_EXIT_FAULT (3) / _DOUBLE_FAULT (4).
for t in "pf 3 #PF cr2=fffff80000" "gp 3 #GP rip=" "ud 3 #UD rip=" "df 4 #DF rsp="; do
	read -r kind code name detail <<<"$t"
	boot "tcg-crash-$kind" tcg 30 --append "crash=$kind noselftest"
	if [[ $rc -eq $code ]] &&
		has "$tmp/tcg-crash-$kind.console" "^vmkd-target: FATAL $name \\(vector" &&
		has "$tmp/tcg-crash-$kind.console" "$detail" &&
		has "$tmp/tcg-crash-$kind.console" '^  backtrace:'; then
		pass "tcg-crash-$kind: $name reported with the frame, exit code $code"
	else
		fail "tcg-crash-$kind: expected $name report and exit code $code (rc=$rc)"
		show "tcg-crash-$kind"
	fi
done

# int3 goes to kd_debug_trap; the weak default reports it and resumes.
boot tcg-int3 tcg 30 --append "crash=bp noselftest"
if [[ $rc -eq 0 ]] && has "$tmp/tcg-int3.console" '^vmkd-target: #BP at rip=0xfffff80000' &&
	has "$tmp/tcg-int3.console" 'resumed after int3'; then
	pass "tcg-int3: int3 reaches the KD hook and resumes"
else
	fail "tcg-int3: int3 through the default KD hook (rc=$rc)"
	show tcg-int3
fi

# The timeout stops a target that stays up.
# 10 s: long enough to reach the idle loop on a loaded machine, still bounded.
boot tcg-timeout tcg 10 --append "stay noselftest" --pidfile "$tmp/timeout.pid"
if [[ $rc -eq 124 ]] && has "$tmp/tcg-timeout.console" '^vmkd-target: idle \(stay\)' &&
	[[ ! -e $tmp/timeout.pid ]]; then
	pass "tcg-timeout: a staying target is stopped after the timeout (exit 124)"
else
	fail "tcg-timeout: expected exit 124 after 10 s (rc=$rc)"
	show tcg-timeout
fi

# In the background (qemu.sh's vm_start, as every test starts it): the pid file names the
# running QEMU; TERM to the script alone stops it.
vm_start "$tmp/bg.out" "$tmp/bg.pid" --accel tcg --timeout 60 --append "stay noselftest" \
	--console "file:$tmp/bg.console"
script_pid=$vm_pid
for _ in $(seq 100); do
	grep -q 'idle (stay)' "$tmp/bg.console" 2>/dev/null && [[ -s $tmp/bg.pid ]] && break
	sleep 0.1
done
qemu_pid=$(cat "$tmp/bg.pid" 2>/dev/null || true)
alive_before=no
[[ $qemu_pid =~ ^[0-9]+$ ]] && kill -0 "$qemu_pid" 2>/dev/null && alive_before=yes
kill -TERM "$script_pid" 2>/dev/null
wait "$script_pid"
bg_rc=$?
alive_after=no
[[ $qemu_pid =~ ^[0-9]+$ ]] && kill -0 "$qemu_pid" 2>/dev/null && alive_after=yes
if [[ $alive_before == yes && $alive_after == no && $bg_rc -eq 143 ]]; then
	pass "tcg-background: pid file names QEMU; TERM to the script stops QEMU (pid $qemu_pid)"
else
	fail "tcg-background: running=$alive_before, after TERM running=$alive_after, rc=$bg_rc"
	sed 's/^/    | /' "$tmp/bg.out"
	[[ $alive_after == yes ]] && kill -KILL "$qemu_pid" 2>/dev/null
fi

# KVM: the same boot, bounded (ring 0 is emulated slowly on this host kind; SeaBIOS alone
# takes ~4.5 s there, qboot ~0.1 s).
if [[ $("$run" --accel auto --probe-accel) == kvm ]]; then
	echo "== KVM"
	basic kvm-boot kvm 60
	basic kvm-qboot kvm 60 --firmware qboot
else
	echo "== KVM: /dev/kvm is not usable here, skipped"
fi

echo "accelerators that ran: ${ran_accels[*]:-none}"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
