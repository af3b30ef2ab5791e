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
shm_files=()
cleanup() {
	rm -f "${shm_files[@]}"
	session_cleanup
}
trap cleanup EXIT
require_build
if [[ ! -d /dev/shm || ! -w /dev/shm ]]; then
	echo "== /dev/shm is not writable here: skipped"
	echo "$passed passed, $failed failed"
	exit 0
fi

# hostmem_relay NAME SHM [relay options]: the relay (session.sh's vm_relay) with the host
# path: guest RAM in SHM, QMP on $tmp/NAME.qmp, a trace line per request.
hostmem_relay() {
	local name=$1 shm=$2
	shift 2
	vm_relay "$name" --host-ram "$shm" --qmp "unix:$tmp/$name.qmp" --trace "$@"
}

# hostmem_vm_args NAME SHM: sets VM_ARGS, QEMU's side of hostmem_relay: the vmkd port, guest
# RAM in SHM, QMP on $tmp/NAME.qmp.
hostmem_vm_args() {
	VM_ARGS=("${VM_VIRTIO_ARGS[@]}"
		-object "memory-backend-file,id=vmkd-ram,size=256M,mem-path=$2,share=on"
		-machine memory-backend=vmkd-ram
		-qmp "unix:$tmp/$1.qmp,server=on,wait=off")
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

# wait_stop_or_exit SECONDS: the client saw the initial breakpoint (0), or the time ran out
# or QEMU ended first (1).
wait_stop_or_exit() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		grep -q '(first chance)' "$client_out" 2>/dev/null && return 0
		kill -0 "$target_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# session MODE ACCEL LIMIT: MODE host (the host path) or guest (--no-host-ram).
session() {
	local mode=$1 accel=$2 limit=$3 name="$2-$1" shm flag pat phys guard line n
	echo "== $name (accel $accel)"
	shm=/dev/shm/vmkd-test-$$-$name
	shm_files+=("$shm")
	if [[ $mode == host ]]; then hostmem_relay "$name" "$shm"; else hostmem_relay "$name" "$shm" --no-host-ram; fi
	client_start "$name" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait "$limit" --timeout 60
	wait_for "$relay_log" "debugger connected" 30
	hostmem_vm_args "$name" "$shm"
	target_start "$name" "$accel" "$limit" "debugport=vm workload=loop build=19041" -- \
		"${VM_ARGS[@]}"
	if ! wait_stop_or_exit "$limit"; then
		fail "$name: no initial breakpoint within $limit s (or the target ended first)"
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
	if [[ $mode == host ]]; then
		dumps "$name" "$shm" "$phys"
		# The debugger leaves the guest halted; the Windows dump and the KD dump break
		# in, read and continue it; a last debugger ends the workload.
		cmd q
		client_finish 30
		win_dump "$name" "$shm" "$phys"
		kd_dump "$name" "$phys"
		"$BUILD/vmkd" attach -b --wait 60 --connect-timeout 10 -c "ed $flag 1; qd" \
			"unix:$tmp/$name.dbg.sock" >"$tmp/$name.last.client" 2>&1
	else
		cmd_wait "ed $flag 1" 30
		cmd qd
		client_finish 30
	fi
	target_wait
	check "$name: the guest ran to completion (exit $target_rc)" test "$target_rc" -eq 0
	target_pid=
	relay_stop
	rm -f "$shm"
}

# elf_check ELF RAW ADDR:LEN...: the ELF core's PT_LOADs hold the same bytes as the raw
# image at the sampled physical ranges (the guest ran between the two dumps: only memory it
# does not touch while halted is compared); prints the number of PT_LOADs.
elf_check() {
	python3 - "$@" <<'PY'
import struct, sys
elf, raw = open(sys.argv[1], 'rb'), open(sys.argv[2], 'rb')
samples = [tuple(int(x, 0) for x in s.split(':')) for s in sys.argv[3:]]
h = elf.read(64)
assert h[:4] == b'\x7fELF' and h[4] == 2 and h[5] == 1, 'not ELF64 LE'
etype, mach = struct.unpack_from('<HH', h, 16)
assert etype == 4 and mach == 62, 'not an x86-64 core'
phoff, = struct.unpack_from('<Q', h, 32)
phentsize, phnum = struct.unpack_from('<HH', h, 54)
n = 0
for i in range(phnum):
    elf.seek(phoff + i * phentsize)
    p_type, flags, off, vaddr, paddr, filesz, memsz, align = struct.unpack('<IIQQQQQQ', elf.read(56))
    assert p_type == 1 and filesz == memsz
    left = []
    for a, k in samples:
        if paddr <= a and a + k <= paddr + filesz:
            elf.seek(off + a - paddr); raw.seek(a)
            assert elf.read(k) == raw.read(k), 'sample %#x differs' % a
        else:
            left.append((a, k))
    samples = left
    n += 1
assert not samples, 'samples not in any PT_LOAD: %s' % samples
print(n)
PY
}

# dumps NAME SHM PHYS: raw and ELF dumps of the halted guest from host RAM.
dumps() {
	local name=$1 shm=$2 phys=$3 pat segs
	"$BUILD/vmkd" dump --qmp "unix:$tmp/$name.qmp" --ram "$shm" -f raw -o "$tmp/$name.raw" \
		>"$tmp/$name.dump.out" 2>&1
	check "$name: vmkd dump (raw) succeeded" grep -q "dump: .* KiB in .* ranges -> .* (raw)" "$tmp/$name.dump.out"
	grep "dump:" "$tmp/$name.dump.out" | sed 's/^/    /'
	"$BUILD/vmkd" dump --qmp "unix:$tmp/$name.qmp" --ram "$shm" -f elf -o "$tmp/$name.elf" \
		>>"$tmp/$name.dump.out" 2>&1
	check "$name: vmkd dump (elf) succeeded" grep -q "(elf)" "$tmp/$name.dump.out"
	pat=$(od -An -tx1 -j "$((phys))" -N 8 "$tmp/$name.raw" 2>/dev/null | xargs)
	check "$name: the raw dump holds the pattern at its physical address ($pat)" \
		test "$pat" == "03 0a 11 18 1f 26 2d 34"
	check "$name: the raw dump holds the write made through KD" \
		test "$(od -An -tx1 -j "$((phys + 0x200))" -N 4 "$tmp/$name.raw" | xargs)" == "de ad be ef"
	check "$name: the raw dump holds the kernel image (MZ at 0x200000)" \
		test "$(od -An -c -j $((0x200000)) -N 2 "$tmp/$name.raw" | xargs)" == "M Z"
	segs=$(elf_check "$tmp/$name.elf" "$tmp/$name.raw" "$phys:0x4000" 0x200000:0x1000 \
		0x100000:0x100000 2>&1)
	check "$name: the ELF core's PT_LOADs hold the raw image's bytes at their p_paddr ($segs)" \
		test "${segs:-0}" -ge 2 2>/dev/null
	check "$name: the guest runs again after the dumps (QMP cont)" \
		bash -c "printf '{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-status\"}\n' |
			socat -t 2 - unix-connect:$tmp/$name.qmp | grep -q '\"running\": true'"
}

# win_dump NAME SHM PHYS: a Windows full memory dump (header from KD, pages from host RAM),
# its header read back by `vmkd dump --inspect`, the pattern page found through the runs.
win_dump() {
	local name=$1 shm=$2 phys=$3 info off
	"$BUILD/vmkd" dump -f dmp --kd "unix:$tmp/$name.dbg.sock" --qmp "unix:$tmp/$name.qmp" \
		--ram "$shm" -o "$tmp/$name.dmp" >>"$tmp/$name.dump.out" 2>&1
	check "$name: vmkd dump -f dmp succeeded" grep -q "(dmp)" "$tmp/$name.dump.out"
	info=$("$BUILD/vmkd" dump --inspect "$tmp/$name.dmp" 2>&1)
	echo "$info" >"$tmp/$name.dmp.txt"
	check "$name: dmp: PAGEDU64, version 15.19041, machine 8664, 1 processor" \
		grep -qzE "signature: PAGEDU64.version: 15\.19041.machine: 8664.processors: 1" <<<"$(tr '\n' '.' <<<"$info")"
	check "$name: dmp: DirectoryTableBase is the guest's CR3 (page aligned, in RAM)" \
		grep -qE "^DirectoryTableBase: 0x[0-9a-f]*000$" <<<"$info"
	if grep -qE '^PsLoadedModuleList: 0xfffff800' <<<"$info" &&
		grep -qE '^KdDebuggerDataBlock: 0xfffff800' <<<"$info"; then
		pass "$name: dmp: PsLoadedModuleList and KdDebuggerDataBlock in the kernel"
	else
		fail "$name: dmp: PsLoadedModuleList and KdDebuggerDataBlock in the kernel"
		sed 's/^/    /' <<<"$info" | head -n 20
		sed 's/^/    /' "$tmp/$name.dump.out" | tail -n 5
	fi
	check "$name: dmp: the stopped processor's context (cs 0x10) and a break-in exception" \
		bash -c "grep -qE '^context: rip 0xfffff800[0-9a-f]+ rsp 0x[0-9a-f]+ cs 0x10$' <<<\"$info\" && grep -q '^exception: 0x80000003' <<<\"$info\""
	check "$name: dmp: one run per RAM range, as many as the ELF core's PT_LOADs" \
		test "$(grep -c '^run ' <<<"$info")" -eq "$(elf_check "$tmp/$name.elf" "$tmp/$name.raw" 2>/dev/null)"
	off=$(python3 - "$info" "$phys" <<'PY'
import re, sys
pa = int(sys.argv[2], 0); off = 0x2000
for base, count in re.findall(r'^run \d+: page (0x[0-9a-f]+|0), (\d+) pages', sys.argv[1], re.M):
    base, count = int(base, 0), int(count)
    if base <= pa >> 12 < base + count:
        print(off + (pa - (base << 12))); break
    off += count << 12
PY
)
	check "$name: dmp: the pattern page, found through the runs, equals the raw dump" \
		cmp -s <(dd if="$tmp/$name.dmp" bs=4096 skip=$((${off:-0} / 4096)) count=4 2>/dev/null) \
			<(dd if="$tmp/$name.raw" bs=4096 skip=$((phys / 4096)) count=4 2>/dev/null)
}

# kd_dump NAME PHYS: the pattern region through KD requests equals the host dump.
kd_dump() {
	local name=$1 phys=$2
	"$BUILD/vmkd" dump --kd "unix:$tmp/$name.dbg.sock" --range "$phys:0x4000" -f raw \
		-o "$tmp/$name.kd.raw" >>"$tmp/$name.dump.out" 2>&1
	grep "through KD" "$tmp/$name.dump.out" | sed 's/^/    /'
	check "$name: a dump through KD requests matches the host dump" \
		cmp -s <(dd if="$tmp/$name.kd.raw" bs=4096 skip=$((phys / 4096)) count=4 2>/dev/null) \
			<(dd if="$tmp/$name.raw" bs=4096 skip=$((phys / 4096)) count=4 2>/dev/null)
	check "$name: the KD dump's raw file is the physical space too (size = end of range)" \
		test "$(stat -c %s "$tmp/$name.kd.raw")" -eq $((phys + 0x4000))
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
