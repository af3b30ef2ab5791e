#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kdvm-dll.sh - checks the built KD transport DLL ($BUILD/guest/kdvm.dll, made by `make all`;
# this script builds nothing): PE32+ for x64, native subsystem, entry point 0, exactly the
# ten KD transport exports, only the imports listed in guest/README.md, no section both
# writable and executable, a correct PE checksum, no SSE code.
#
# Then, when `make tests` built it, the DLL's channel core and virtio-serial backend run
# against real QEMU: $BUILD/guest/vser-smoke.elf (the same C files in a tiny multiboot
# kernel) boots under TCG with a virtio-serial device (started, like every test's QEMU, by
# scripts/qemu-target.sh), and guest/tests/vm/vser-smoke.py plays
# the relay (VMKD_SMOKE_ACCEL=kvm to try KVM; slow on this host's software KVM).
# Ends with "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
dll=$BUILD/guest/kdvm.dll
objdump=${MINGW_OBJDUMP:-x86_64-w64-mingw32-objdump}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-kdvm-dll.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0 skipped=0

pass() {
	echo "PASS: $*"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}

# check NAME EXPECTED ACTUAL
check() {
	if [[ $2 == "$3" ]]; then
		pass "$1 = $3"
	else
		fail "$1: expected '$2', got '$3'"
	fi
}

finish() {
	if [[ $skipped -gt 0 ]]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[[ $failed -eq 0 ]]
	exit
}

if ! command -v "$objdump" >/dev/null; then
	fail "$objdump not installed"
	finish
fi
if [[ ! -r $dll ]]; then
	fail "no $dll (run make all first)"
	finish
fi

"$objdump" -p "$dll" >"$tmp/p" 2>&1 || { fail "objdump -p failed"; cat "$tmp/p"; finish; }

field() { # field NAME: the value after NAME in objdump -p's header dump
	awk -v k="$1" '$1 == k { print $2; exit }' "$tmp/p"
}

check "Magic" "020b" "$(field Magic)"
check "AddressOfEntryPoint" "0000000000000000" "$(field AddressOfEntryPoint)"
check "Subsystem" "00000001" "$(field Subsystem)"
check "ImageBase" "0000000140000000" "$(field ImageBase)"

# Exports: exactly the ten, by name, no forwarders. KdPower is the tenth: newer kernels
# import it from the transport too, so a DLL without it would not bind there
# (docs/windows.md, "Power transitions").
sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/p' "$tmp/p" |
	awk '/^\t\[/ { print $NF }' | sort >"$tmp/exports"
printf '%s\n' KdD0Transition KdD3Transition KdDebuggerInitialize0 KdDebuggerInitialize1 \
	KdPower KdReceivePacket KdRestore KdSave KdSendPacket KdSetHiberRange | sort >"$tmp/want-exports"
if diff -u "$tmp/want-exports" "$tmp/exports" >"$tmp/d"; then
	pass "exports: exactly the ten KD transport functions"
else
	fail "exports differ"; cat "$tmp/d"
fi
check "export table DLL name" "kdvm.dll" "$(awk '$1 == "Name" && NF == 3 { print $3; exit }' "$tmp/p")"

# Imports: DLL!name pairs, exactly the documented ones. KeQueryPerformanceCounter stays a
# HAL.dll import: Microsoft documents it as exported by Hal.dll (any IRQL), and from 10 2004
# on, where the HAL moved into ntoskrnl, hal.dll keeps the name (docs/windows.md, "Boot
# phases"). The DLL calls it only in phase 1; MmGetPhysicalAddress only in phase 0;
# MmMapIoSpace only in phase 1 and only with VMKDDEV=IVSHMEM (docs/windows.md section 6).
awk '/DLL Name:/ { dll = $3 } dll && /^\t[0-9a-f]+\t/ && NF >= 3 { print dll "!" $NF }' "$tmp/p" |
	sort >"$tmp/imports"
printf '%s\n' 'HAL.dll!KeQueryPerformanceCounter' 'ntoskrnl.exe!KdDebuggerNotPresent' \
	'ntoskrnl.exe!MmGetPhysicalAddress' 'ntoskrnl.exe!MmMapIoSpace' | sort >"$tmp/want-imports"
if diff -u "$tmp/want-imports" "$tmp/imports" >"$tmp/d"; then
	pass "imports: $(paste -sd ' ' "$tmp/imports")"
else
	fail "imports differ from guest/README.md"; cat "$tmp/d"
fi

# Header fields objdump does not print as numbers, the section flags and the checksum,
# straight from the file.
if ! python3 - "$dll" >"$tmp/py" 2>&1 <<'EOF'
import struct, sys

data = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', data, 0x3c)[0]
assert data[:2] == b'MZ' and data[pe:pe + 4] == b'PE\0\0', 'not a PE file'
machine, nsect, stamp = struct.unpack_from('<HHI', data, pe + 4)
opt_size, chars = struct.unpack_from('<HH', data, pe + 20)
opt = pe + 24
print('machine %04x' % machine)
print('timestamp %d' % stamp)
print('dll %d' % (1 if chars & 0x2000 else 0))
dllchars = struct.unpack_from('<H', data, opt + 70)[0]
print('nx %d' % (1 if dllchars & 0x100 else 0))
ndirs = struct.unpack_from('<I', data, opt + 108)[0]
tls = struct.unpack_from('<II', data, opt + 112 + 9 * 8) if ndirs > 9 else (0, 0)
print('tls %d' % (tls[1] != 0))
wx = []
for i in range(nsect):
    s = opt + opt_size + 40 * i
    name = data[s:s + 8].rstrip(b'\0').decode('ascii', 'replace')
    flags = struct.unpack_from('<I', data, s + 36)[0]
    if flags & 0x20000000 and flags & 0x80000000:
        wx.append(name)
print('wx %s' % (','.join(wx) or '-'))
# PE checksum: 16-bit one's-complement-style sum of the file with the CheckSum field taken
# as 0, folded, plus the file length.
ck_off = opt + 64
stored = struct.unpack_from('<I', data, ck_off)[0]
buf = data[:ck_off] + b'\0\0\0\0' + data[ck_off + 4:]
if len(buf) % 2:
    buf += b'\0'
total = 0
for (w,) in struct.iter_unpack('<H', buf):
    total += w
    total = (total & 0xffff) + (total >> 16)
total = (total & 0xffff) + (total >> 16)
print('checksum %08x %08x' % (stored, (total + len(data)) & 0xffffffff))
EOF
then
	fail "header parse failed"; cat "$tmp/py"
	finish
fi
pyval() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$tmp/py"; }

check "Machine" "8664" "$(pyval machine)"
check "Characteristics DLL" "1" "$(pyval dll)"
check "TimeDateStamp (reproducible build)" "0" "$(pyval timestamp)"
check "DllCharacteristics NX_COMPAT" "1" "$(pyval nx)"
check "TLS directory present" "0" "$(pyval tls)"
check "sections both writable and executable" "-" "$(pyval wx)"
read -r stored computed <<<"$(pyval checksum)"
if [[ -n $stored && $stored == "$computed" && $stored != 00000000 ]]; then
	pass "CheckSum $stored is correct"
else
	fail "CheckSum stored $stored, computed $computed"
fi

# The transport runs inside the debugger path of a kernel that may not save SSE state for
# it: no xmm/ymm registers at all (-mgeneral-regs-only).
"$objdump" -d "$dll" >"$tmp/d" 2>&1
if grep -qE '%[xy]mm[0-9]' "$tmp/d"; then
	fail "SSE registers used: $(grep -cE '%[xy]mm[0-9]' "$tmp/d") instructions"
else
	pass "no SSE instructions in the code"
fi

# ---- the same core against real QEMU ------------------------------------------------------
smoke=$BUILD/guest/vser-smoke.elf
if [[ ! -r $smoke ]]; then
	echo "SKIP: live virtio-serial smoke test (no $smoke; run make tests)"
	skipped=$((skipped + 1))
elif ! command -v "${QEMU:-qemu-system-x86_64}" >/dev/null; then
	echo "SKIP: live virtio-serial smoke test (no QEMU)"
	skipped=$((skipped + 1))
else
	echo "== live smoke test: $smoke under ${VMKD_SMOKE_ACCEL:-tcg}"
	python3 guest/tests/vm/vser-smoke.py "$smoke" 120 "${VMKD_SMOKE_ACCEL:-tcg}" >"$tmp/smoke" 2>&1
	rc=$?
	sed 's/^/    /' "$tmp/smoke"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$tmp/smoke" | tail -n 1)
	if [[ -n $line ]]; then
		passed=$((passed + $(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")))
		failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
	fi
	if [[ $rc -ne 0 && ( -z $line || $line == *" 0 failed"* ) ]]; then
		fail "vser-smoke.py exited with $rc"
	fi
fi

finish
