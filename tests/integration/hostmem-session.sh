#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# hostmem-session.sh - the relay's host path: the test kernel on kdvm.dll with its RAM in a
# shared memory backend file (/dev/shm, removed after) and a QMP socket; the relay reads
# memory of the stopped guest from that file. The same reads (known pattern, 4 KiB and
# 2 MiB page boundaries, a partial read into an unmapped page, physical reads, a write read
# back) are made once through the host path and once with --no-host-ram, and their output
# must be identical; the relay's stats and trace must show the host path answered.
# Full run under TCG; a smoke run under KVM when /dev/kvm works.
# Ends with "N passed, N failed".
set -uo pipefail
trap "" PIPE
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-hostmem.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh
relay_pid=
shm_files=()
cleanup() {
	[[ -n ${client_pid:-} ]] && kill "$client_pid" 2>/dev/null
	[[ -n ${target_pid:-} ]] && target_kill
	[[ -n $relay_pid ]] && kill "$relay_pid" 2>/dev/null
	rm -f "${shm_files[@]}"
	[[ ${KEEP_TMP:-} ]] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

if [[ ! -x $BUILD/vmkd || ! -r $BUILD/target/vmkd-target.bin || ! -r $BUILD/guest/kdvm.dll ]]; then
	fail "build first: $BUILD/vmkd, $BUILD/target/vmkd-target.bin, $BUILD/guest/kdvm.dll"
	echo "$passed passed, $failed failed"
	exit 1
fi
if [[ ! -d /dev/shm || ! -w /dev/shm ]]; then
	echo "== /dev/shm is not writable here: skipped"
	echo "$passed passed, $failed failed"
	exit 0
fi

# vm_args NAME SHM: virtio-serial to the relay, guest RAM in SHM, QMP on $tmp/NAME.qmp.
vm_args() {
	echo "-device virtio-serial-pci,id=vser0" \
		"-chardev socket,id=vmkd0,path=$tmp/$1.vm.sock,server=off" \
		"-device virtserialport,bus=vser0.0,chardev=vmkd0,name=org.vmkd.0" \
		"-object memory-backend-file,id=vmkd-ram,size=256M,mem-path=$2,share=on" \
		"-machine memory-backend=vmkd-ram" \
		"-qmp unix:$tmp/$1.qmp,server=on,wait=off"
}

# relay_start NAME SHM [relay options]
relay_start() {
	local name=$1 shm=$2
	shift 2
	relay_log=$tmp/$name.relay.log
	"$BUILD/vmkd" relay --name "$name" --guest "listen:unix:$tmp/$name.vm.sock" \
		--listen "unix:$tmp/$name.dbg.sock" --host-ram "$shm" --qmp "unix:$tmp/$name.qmp" \
		--trace "$@" >"$tmp/$name.relay.out" 2>"$relay_log" &
	relay_pid=$!
	for _ in $(seq 100); do [[ -S $tmp/$name.dbg.sock && -S $tmp/$name.vm.sock ]] && break; sleep 0.1; done
}

relay_stop() {
	kill "$relay_pid" 2>/dev/null
	wait "$relay_pid" 2>/dev/null
	relay_pid=
}

# reads NAME: the reads whose output is compared, appended to $tmp/NAME.reads.
reads() {
	local name=$1 pat=$2 phys=$3 guard=$4 r
	local -a cmds=(
		"db $pat L 40"
		"db $pat+ff8 L 10"
		"dq $pat L 20"
		"db $guard-4 L 8"
		"db $guard L 8"
		"db fffff800003ffff8 L 10"
		"db fffff80000200000 L 100"
		"!db $phys L 40"
		"!db 1ffff8 L 10"
		"!db bfff8 L 10"
		"!db fffffff8 L 8"
		"eb $pat+200 de ad be ef"
		"db $pat+200 L 8"
		"!db $phys+200 L 8"
		"db 0 L 8"
		"db 00007ffffffffff8 L 10"
	)
	for r in "${cmds[@]}"; do
		run "$r" 60
		# Without the markers run() adds (their numbers differ between sessions).
		printf '> %s\n%s\n' "$r" "$(grep -vE '\? 0n9[0-9]{5}|Evaluate expression: 9[0-9]{5} ' <<<"$out")" \
			>>"$tmp/$name.reads"
	done
}

# session MODE ACCEL LIMIT: MODE host (the host path) or guest (--no-host-ram).
session() {
	local mode=$1 accel=$2 limit=$3 name="$2-$1" shm flag pat phys guard line n
	echo "== $name (accel $accel)"
	shm=/dev/shm/vmkd-test-$$-$name
	shm_files+=("$shm")
	if [[ $mode == host ]]; then relay_start "$name" "$shm"; else relay_start "$name" "$shm" --no-host-ram; fi
	client_start "$name" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait "$limit" --timeout 60
	wait_for "$relay_log" "debugger connected" 30
	# shellcheck disable=SC2046
	target_start "$name" "$accel" "$limit" "debugport=vm workload=loop build=19041" -- \
		$(vm_args "$name" "$shm")
	if ! wait_for "$client_out" '\(first chance\)' "$limit"; then
		fail "$name: no initial breakpoint within $limit s"
		show "$client_out" "$tmp/$name.console" "$tmp/$name.qemu.out" "$relay_log"
		client_finish 5
		target_kill
		target_pid=
		relay_stop
		return
	fi
	grep -q "^accel: $accel\$" "$tmp/$name.qemu.out" && echo "accel: $accel"
	pat=$(field pattern) phys=$(field phys) guard=$(field guard) flag=$(field stop-flag)
	check "$name: the target announced its pattern" test -n "$pat" -a -n "$phys" -a -n "$guard"
	: >"$tmp/$name.reads"
	reads "$name" "${pat#0x}" "${phys#0x}" "${guard#0x}"
	check "$name: the known pattern reads back" \
		grep -q "03 0a 11 18 1f 26 2d 34" "$tmp/$name.reads"
	kill -USR1 "$relay_pid"
	wait_for "$relay_log" "stats: " 10
	line=$(grep -o "host RAM .*" "$relay_log" | tail -n 1)
	echo "    $line"
	n=$(sed -nE 's/.*host path ([0-9]+) reads.*/\1/p' <<<"$line")
	if [[ $mode == host ]]; then
		check "$name: the relay mapped the guest RAM" grep -qE "host RAM mapped: [0-9]+ MiB in [0-9]+ ranges" "$relay_log"
		check "$name: the host path answered reads (got ${n:-none})" test "${n:-0}" -gt 10
		check "$name: the trace names the host path" grep -q "ReadVirtualMemory .*: host path" "$relay_log"
		check "$name: physical reads too" grep -q "ReadPhysicalMemory .*: host path" "$relay_log"
		check "$name: a read outside RAM (the BIOS below 4 GiB) went to the guest" \
			grep -q "ReadPhysicalMemory 0xfffffff8 len 8: guest path" "$relay_log"
	else
		check "$name: --no-host-ram: no host path" test -z "$line"
	fi
	cmd "ed $flag 1"
	cmd qd
	client_finish 30
	target_wait
	check "$name: the guest ran to completion (exit $target_rc)" test "$target_rc" -eq 0
	target_pid=
	relay_stop
	rm -f "$shm"
}

# compare ACCEL: the two sessions' reads, byte for byte.
compare() {
	local accel=$1
	if [[ -s $tmp/$accel-host.reads && -s $tmp/$accel-guest.reads ]] &&
		diff -u "$tmp/$accel-guest.reads" "$tmp/$accel-host.reads" >"$tmp/$accel.diff"; then
		pass "$accel: every read through the host path equals the guest path's ($(grep -c '^>' "$tmp/$accel-host.reads") reads)"
	else
		fail "$accel: host and guest path reads differ"
		head -n 40 "$tmp/$accel.diff" 2>/dev/null | sed 's/^/    | /'
	fi
	check "$accel: a read into the unmapped guard page is partial" \
		grep -qE "  [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} \?\? \?\? \?\? \?\? " "$tmp/$accel-host.reads"
	check "$accel: the write reads back virtually and physically" \
		test "$(grep -c 'de ad be ef' "$tmp/$accel-host.reads")" -ge 2
}

session host tcg 120
session guest tcg 120
compare tcg
if kvm_usable; then
	session host kvm 300
	check "kvm: the host path answered under KVM" test -s "$tmp/kvm-host.reads"
else
	echo "== KVM: /dev/kvm is not usable here, skipped"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
