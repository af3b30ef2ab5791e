#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# symbols-session.sh - vmkd attach's symbols, stacks, hardware breakpoints and memory
# commands against the booted test kernel, through the relay (kdvm.dll fast path) and over
# the emulated serial port: lm lists nt (and kdcom = kdvm.dll on the fast path), exports
# resolve from the images in memory (`? nt!...`, `x`, `ln`), `bp nt!vmkd_workload_function`
# is hit and reported by name, `k` shows the known call chain, the export of kdvm.dll's
# KdSendPacket has a .pdata entry, a hardware write breakpoint (`ba w`) on the workload's
# counter is hit, `s` finds the known pattern and `.writemem` writes it byte for byte.
# Under TCG (software breakpoints need it here). Ends with "N passed, N failed".
# WinDbg addresses carry a literal backtick (fffff800`00200000): single quotes on purpose.
# shellcheck disable=SC2016
set -uo pipefail
trap "" PIPE # a client that already quit must not kill the script
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-symbols.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh
trap session_cleanup EXIT
require_build

# nm_addr SYMBOL: the symbol's address from the kernel's ELF (the independent truth).
nm_addr() {
	nm "$BUILD/target/vmkd-target.elf" | awk -v s="$1" '$3 == s { print $1 }'
}

# windbg_addr HEX: "fffff800`00203270" from "fffff80000203270".
windbg_addr() {
	echo "${1:0:8}\`${1:8:8}"
}

# symbols_checks NAME FASTPATH: the checks, once the target stopped at its initial
# breakpoint (workload=loop); the client's output is $client_out.
symbols_checks() {
	local name=$1 fast=$2 fn calls flag pat phys guard
	fn=$(nm_addr vmkd_workload_function) calls=$(nm_addr vmkd_workload_calls)
	flag=$(field stop-flag) pat=$(field pattern) phys=$(field phys) guard=$(field guard)

	run ".logopen $tmp/$name.log" 30
	run "lm" 30
	check "$name: lm lists the kernel as nt from PsLoadedModuleList" \
		grep -qE '^fffff800`00200000 fffff800`[0-9a-f]{8}   nt +ntoskrnl.exe' <<<"$out"
	if [[ $fast == 1 ]]; then
		check "$name: lm lists kdvm.dll as kdcom" grep -qE '   kdcom +kdcom.dll' <<<"$out"
	fi
	run "? nt!vmkd_workload_function" 30
	check "$name: nt!vmkd_workload_function resolves from the export table ($fn)" \
		grep -q "Evaluate expression: .* = $(windbg_addr "$fn")" <<<"$out"
	run "? nt+0x1000" 30
	check "$name: module+offset evaluates" \
		grep -q 'Evaluate expression: .* = fffff800`00201000' <<<"$out"
	run "x nt!vmkd_*" 30
	check "$name: x nt!vmkd_* lists the three vmkd_ exports" \
		test "$(grep -cE '^fffff800`[0-9a-f]{8} nt!vmkd_' <<<"$out")" -eq 3
	check "$name: ... with the right address for the counter" \
		grep -q "^$(windbg_addr "$calls") nt!vmkd_workload_calls" <<<"$out"
	run "ln nt!vmkd_workload_function+3" 30
	check "$name: ln names the symbol before and the one after" \
		grep -qE "^\($(windbg_addr "$fn")\)   nt!vmkd_workload_function\+0x3   \|  \(fffff800\`[0-9a-f]{8}\)   nt!" <<<"$out"
	run "u nt!kd_main L 1" 30
	check "$name: u labels the listing with the symbol" grep -q "^nt!kd_main:" <<<"$out"
	if [[ $fast == 1 ]]; then
		run "? kdcom!KdSendPacket" 30
		check "$name: kdcom!KdSendPacket resolves from kdvm.dll's export table" \
			grep -qE 'Evaluate expression: .* = fffff800`[0-9a-f]{8}' <<<"$out"
		run ".fnent kdcom!KdSendPacket" 30
		check "$name: kdvm.dll's .pdata has the entry of KdSendPacket, beginning at it" \
			grep -q "Function entry for kdcom!KdSendPacket:" <<<"$out"
		check "$name: ... with its unwind codes" grep -qE "offs [0-9a-f]{2}, (PUSH_NONVOL|ALLOC_SMALL|ALLOC_LARGE)" <<<"$out"
	fi

	run "bp nt!vmkd_workload_function" 30
	run "bl" 30
	check "$name: bl shows the breakpoint by name" \
		grep -qE "^ 0 e $(windbg_addr "$fn")     0001 \(0001\) nt!vmkd_workload_function\$" <<<"$out"
	run "g" 60
	check "$name: bp nt!vmkd_workload_function is hit" grep -q "Breakpoint 0 hit" <<<"$out"
	check "$name: the stop names the function" grep -q "^nt!vmkd_workload_function:" <<<"$out"
	run "kn" 30
	echo "$out" | sed 's/^/    | /' | head -12
	check "$name: k frame 0 is the workload function" \
		grep -qE '^00 fffff800`[0-9a-f]{8} fffff800`[0-9a-f]{8}     nt!vmkd_workload_function' <<<"$out"
	check "$name: k walks on through kd_main into kmain, in that order" \
		grep -qzE 'nt!vmkd_workload_function.*nt!kd_main\+0x[0-9a-f]+.*nt!kmain\+0x[0-9a-f]+' <<<"$out"
	check "$name: the frames without unwind data are marked [fp]" grep -q "\[fp\]" <<<"$out"
	run "dqs @rsp L 1" 30
	check "$name: dqs @rsp shows the return address with its symbol" \
		grep -qE '^fffff800`[0-9a-f]{8}  fffff800`[0-9a-f]{8} nt!' <<<"$out"
	run "bc *" 30

	# A hardware write breakpoint on the workload's call counter.
	run "ba w8 nt!vmkd_workload_calls" 30
	run "bl" 30
	check "$name: bl lists the hardware breakpoint" \
		grep -qE "^ 0 e $(windbg_addr "$calls") w 8 0001 \(0001\) nt!vmkd_workload_calls" <<<"$out"
	run "g" 60
	check "$name: the hardware write breakpoint is hit" grep -q "Breakpoint 0 hit" <<<"$out"
	check "$name: ... in the workload function, after the write" \
		grep -q "^nt!vmkd_workload_function+0x" <<<"$out"
	run "bc *" 30

	run "s -b $pat L 100 03 0a 11 18" 30
	check "$name: s -b finds the known pattern at its start" \
		grep -q "^$(windbg_addr "$(printf '%016x' "$pat")")  03 0a 11 18" <<<"$out"
	run "s -d $pat L 1000 342d261f" 30
	check "$name: s -d finds the pattern's second dword" \
		grep -q "^$(windbg_addr "$(printf '%016x' $((pat + 4)))")  342d261f" <<<"$out"
	run ".writemem $tmp/$name.pat $pat L?100" 30
	python3 -c 'import sys; sys.stdout.buffer.write(bytes((i * 7 + 3) & 255 for i in range(256)))' \
		>"$tmp/$name.expect"
	check "$name: .writemem writes the pattern byte for byte" cmp -s "$tmp/$name.pat" "$tmp/$name.expect"
	# Strings written with .readmem, read back with da and du.
	printf 'vmkd symbols\0' >"$tmp/$name.str"
	python3 -c 'import sys; sys.stdout.buffer.write("wide str\0".encode("utf-16-le"))' >"$tmp/$name.wstr"
	run ".readmem $tmp/$name.str $pat+200 L?d" 30
	check "$name: .readmem reads the file into memory" grep -q "^Reading d bytes." <<<"$out"
	run "da $pat+200" 30
	check "$name: da prints the string" grep -q "  \"vmkd symbols\"\$" <<<"$out"
	run ".readmem $tmp/$name.wstr $pat+300 L?12" 30
	run "du $pat+300" 30
	check "$name: du prints the UTF-16 string" grep -q "  \"wide str\"\$" <<<"$out"

	# Page walks from CR3 agree with what the kernel announced.
	run "!vtop $pat" 30
	check "$name: !vtop translates the pattern's address to its announced physical address" \
		grep -q "translates to physical address ${phys#0x}\.\$" <<<"$out"
	# The kernel lives in the physmap at 0xfffff80000000000 + its physical address.
	run "!vtop 0 nt!vmkd_workload_calls" 30
	check "$name: !vtop 0 VA (current CR3) of a kernel variable" \
		grep -q "translates to physical address $(printf '%x' $((0x$calls - 0xfffff80000000000)))\.\$" <<<"$out"
	run "!pte $pat" 30
	check "$name: !pte walks four levels to the pattern's physical address" \
		grep -qzE "PXE at .*PPE at .*PDE at .*PTE at .*pa $(windbg_addr "$(printf '%016x' "$phys")")" <<<"$out"
	run "!pte $guard" 30
	check "$name: !pte says the guard page is not present" grep -q "not present" <<<"$out"
	run "~" 30
	check "$name: ~ names the current processor" grep -q "^processor 0 of 1" <<<"$out"
	run "~0" 30
	check "$name: ~0 (the current one) is accepted" test -z "$(grep "^~: " <<<"$out")"
	run "~1" 30
	check "$name: ~1 on a uniprocessor target is refused" grep -q "no processor 1 (the target has 1)" <<<"$out"
	run ".logclose" 30
	check "$name: the .logopen log holds the commands and their output" \
		grep -qzE 'kd> lm.*   nt +ntoskrnl.exe.*Breakpoint 0 hit.*kd> \.logclose' "$tmp/$name.log"
	run "ed $flag 1" 30
}

serial_run() {
	local name=tcg-serial-symbols limit=120
	echo "== $name"
	target_start "$name" tcg "$limit" "workload=loop build=19041" \
		--kd-serial "unix-wait:$tmp/$name.kd.sock"
	client_start "$name" "unix:$tmp/$name.kd.sock" --connect-timeout 30 --wait "$limit" --timeout 30
	if ! wait_for "$client_out" '\(first chance\)' "$limit"; then
		fail "$name: no initial breakpoint"
		show "$client_out" "$tmp/$name.console"
		client_finish 5
		target_kill
		target_pid=
		return
	fi
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
	symbols_checks "$name" 0
	# .reboot: the test kernel resets the machine; QEMU runs with -no-reboot, so it ends
	# "without isa-debug-exit" (exit status 100 of qemu-target.sh).
	run ".reboot" 30
	client_finish 30
	target_wait
	check "$name: .reboot reset the target (qemu-target.sh status $target_rc, 100 = reset)" \
		test "$target_rc" -eq 100
	target_pid=
}

fast_run() {
	local name=tcg-fast-symbols limit=120
	echo "== $name"
	vm_relay "$name"
	client_start "$name" "unix:$tmp/$name.dbg.sock" --connect-timeout 30 --wait "$limit" --timeout 30
	wait_for "$relay_log" "debugger connected" 30
	target_start "$name" tcg "$limit" "debugport=vm workload=loop build=19041" -- "${VM_VIRTIO_ARGS[@]}"
	if ! wait_for "$client_out" '\(first chance\)' "$limit"; then
		fail "$name: no initial breakpoint"
		show "$client_out" "$tmp/$name.console" "$relay_log"
		client_finish 5
		target_kill
		target_pid=
	else
		grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
		symbols_checks "$name" 1
		cmd "qd"
		client_finish 30
		target_wait
		check "$name: the target ran to completion (exit $target_rc)" test "$target_rc" -eq 0
		target_pid=
	fi
	relay_stop
}

fast_run
serial_run
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
