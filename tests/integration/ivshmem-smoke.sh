#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ivshmem-smoke.sh - the ivshmem channel backend end to end against real QEMU: `vmkd relay
# --guest ivshmem:PATH` is the ivshmem server of QEMU's ivshmem-doorbell device (memfd and
# eventfds per QEMU's ivshmem protocol), and $BUILD/guest/ivs-smoke.elf (guest/ivshmem.c
# and the shared-memory rings in a tiny multiboot kernel, guest/tests/vm/ivs_main.c) finds
# the device, maps its BARs, says HELLO, sends 2000 DbgPrints through a 64 KiB ring (it
# wraps and fills; the doorbell wakes the relay), and answers the relay's STATS_REQUEST.
# Checks: the relay served QEMU, the guest's script passed, the DbgPrint log holds every
# line once and in order, the relay logged the guest's STATS, no frame was rejected.
# TCG always; KVM too when it works here (VMKD_IVS_KVM=0 skips it).
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
elf=$BUILD/guest/ivs-smoke.elf
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-ivs-smoke.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh

# shellcheck disable=SC2317 # called through trap
cleanup() {
	vm_stop
	relay_stop
	rm -rf "$tmp"
}
trap cleanup EXIT

finish() {
	echo "$passed passed, $failed failed"
	[[ $failed -eq 0 ]]
	exit
}

[[ -r $elf ]] || { fail "no $elf (run make tests first)"; finish; }
[[ -x $BUILD/vmkd ]] || { fail "no $BUILD/vmkd (run make all first)"; finish; }

N=2000

# run ACCEL TIMEOUT
run() {
	local accel=$1 limit=$2 dir=$tmp/$1 got last i
	mkdir -p "$dir/logs"
	echo "== ivshmem smoke, accel $accel"
	vm_spawn "$BUILD/vmkd" relay --guest "ivshmem:$dir/ivs.sock" --listen "unix:$dir/kd.sock" \
		--name ivs --log-dir "$dir/logs" --quiet >"$dir/relay.log" 2>&1
	relay_pid=$!
	for ((i = 0; i < 100; i++)); do
		[[ -S $dir/ivs.sock ]] && break
		sleep 0.1
	done
	if [[ ! -S $dir/ivs.sock ]]; then
		fail "$accel: the relay's ivshmem socket did not appear"
		relay_stop
		return
	fi
	# The relay must be up first: QEMU connects to its server while realizing the device.
	vm_start "$dir/qemu.out" "$dir/qemu.pid" --accel "$accel" --kernel "$elf" --memory 64M \
		--timeout "$limit" --kd-port com2 --kd-serial null --console "file:$dir/console" \
		-- -chardev "socket,id=ivs,path=$dir/ivs.sock" \
		-device ivshmem-doorbell,chardev=ivs,vectors=1
	grep -m1 '^accel:' "$dir/qemu.out" 2>/dev/null || echo "accel: $accel"
	if wait_for "$dir/console" '^ivs: prints sent' "$limit"; then
		pass "$accel: guest found the device and sent $N DbgPrints ($(grep -m1 '^ivs: init' "$dir/console" | cut -d' ' -f3-))"
	else
		fail "$accel: guest did not get through its prints"
		sed 's/^/    console: /' "$dir/console" 2>/dev/null | tail -5
	fi
	kill -USR1 "$relay_pid" 2>/dev/null # the relay asks the guest for its STATS
	vm_wait "$limit"
	if [[ $vm_rc == 0 ]] && grep -q '^ivs: ok' "$dir/console"; then
		pass "$accel: guest script passed (HELLO_ACK, prints, STATS_REQUEST answered;$(grep -m1 '^ivs: prints sent' "$dir/console" | cut -d' ' -f4-))"
	else
		fail "$accel: guest exit $vm_rc"
		sed 's/^/    console: /' "$dir/console" 2>/dev/null | tail -5
	fi
	check "$accel: relay served QEMU as ivshmem server" \
		grep -q 'ivshmem: QEMU connected; shared memory 256 KiB, rings 2 x 64 KiB' \
		"$dir/relay.log"
	check "$accel: relay got the guest's HELLO through the ring" \
		grep -q 'guest HELLO from "ivshmem smoke"' "$dir/relay.log"
	got=$(grep -c 'ivs line [0-9]*$' "$dir/logs/ivs.log" 2>/dev/null)
	last=$(grep -o 'ivs line [0-9]*' "$dir/logs/ivs.log" 2>/dev/null | awk -v n="$N" '
		{ if ($3 != i) { print "out of order at " i; exit } i++ }
		END { if (i == n) print "in order" }')
	if [[ $got == "$N" && $last == "in order" ]]; then
		pass "$accel: DbgPrint log holds all $N lines, once each, in order"
	else
		fail "$accel: DbgPrint log: $got lines, $last"
	fi
	check "$accel: relay logged the guest's STATS (answer to its STATS_REQUEST)" \
		grep -qE "guest stats: packets sent $N " "$dir/relay.log"
	check "$accel: no frame rejected" grep -qE 'frames rejected 0 ' "$dir/relay.log"
	relay_stop
	if grep -q 'ivshmem: QEMU closed its connection' "$dir/relay.log"; then
		pass "$accel: relay saw QEMU leave"
	else
		fail "$accel: relay did not notice QEMU leaving"
	fi
}

run tcg 120
if [[ ${VMKD_IVS_KVM:-1} != 0 ]] && kvm_usable; then
	run kvm 240
fi
finish
