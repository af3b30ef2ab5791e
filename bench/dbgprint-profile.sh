#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dbgprint-profile.sh - the guest instructions of one DbgPrint line, per function: the test
# kernel (workload=dbgprint print=counter, no console) runs under TCG with QEMU's gdb stub;
# gdb steps one instruction at a time from one kd_print_text call (the kernel's DbgPrint:
# KdpPrint, KdSendPacket into kdvm.dll, the break-in poll after it) to the next, and every
# address is named by the kernel's and kdvm-sym.dll's line tables (an inlined function
# counts as itself). This is what this host's KVM emulates one by one, so it is the cost of
# a line there (bench/README.md, "DbgPrint"). The relay runs without a debugger and keeps
# the lines for its log, so the DLL takes its normal send path. Single-stepping hides
# concurrency: the device always looks idle, so every frame is notified here.
#
# usage: bench/dbgprint-profile.sh [--transport vmkd|ivshmem] [--skip N] [--lines N] [--top N]
#   --skip N    lines printed before the counted ones (default 50: caches and link warm)
#   --lines N   lines counted (default 3; gdb steps ~1000 instructions a second)
#   --top N     functions listed (default 40)
# Needs gdb, python3 and mingw's addr2line; builds $BUILD/guest/kdvm-sym.dll if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
transport=vmkd skip=50 lines=3 top=40
while [[ $# -gt 0 ]]; do
	case $1 in
	--transport) transport=${2?}; shift 2 ;;
	--skip) skip=${2?}; shift 2 ;;
	--lines) lines=${2?}; shift 2 ;;
	--top) top=${2?}; shift 2 ;;
	-h|--help) sed -n '3,18p' "$0"; exit 0 ;;
	*) echo "dbgprint-profile.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done
[[ $transport == vmkd || $transport == ivshmem ]] || { echo "dbgprint-profile.sh: --transport vmkd|ivshmem" >&2; exit 2; }
for t in gdb python3 x86_64-w64-mingw32-addr2line; do
	command -v "$t" >/dev/null || { echo "dbgprint-profile.sh: $t is needed" >&2; exit 2; }
done
# Linked afresh: its objects are intermediate files make may have removed.
rm -f "$BUILD/guest/kdvm-sym.dll"
make -s "BUILD=$BUILD" "$BUILD/guest/kdvm-sym.dll" all >/dev/null
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-profile.XXXXXX")
# shellcheck source=tests/integration/lib/qemu.sh
. tests/integration/lib/qemu.sh
cleanup() {
	vm_stop
	relay_stop
	rm -rf "$tmp"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
append="workload=dbgprint lines=$((skip + lines + 10)) print=counter nobreak build=19041 debugport=vm"
if [[ $transport == vmkd ]]; then
	relay_start "$tmp/relay.log" "$tmp/vser.sock" "$tmp/dbg.sock" -q --log-dir "$tmp" ||
		{ echo "dbgprint-profile.sh: the relay did not start" >&2; exit 1; }
	vm_virtio_args "$tmp/vser.sock" server=off,reconnect=1
	extra=("${VM_VIRTIO_ARGS[@]}")
else
	relay_start_ivshmem "$tmp/relay.log" "$tmp/ivs.sock" "$tmp/dbg.sock" -q --log-dir "$tmp" ||
		{ echo "dbgprint-profile.sh: the relay did not start" >&2; exit 1; }
	# shellcheck disable=SC2054 # the commas belong to the option strings
	extra=(-chardev "socket,id=vmkdivs,path=$tmp/ivs.sock" -device ivshmem-doorbell,chardev=vmkdivs,vectors=1)
	append="$append loaderblock=win10-1803 loadoptions=debugport=vm,vmkddev=ivshmem"
fi
vm_start "$tmp/qemu.out" "$tmp/qemu.pid" --accel tcg --firmware seabios --timeout 600 \
	--append "$append" --console qemu:none --kd-serial null -- -gdb "tcp:127.0.0.1:$port" -S \
	"${extra[@]}"
sleep 1

# gdb: to kd_print_text, skip lines, then log every pc until the next kd_print_text.
cat >"$tmp/step.py" <<EOF
import gdb
gdb.execute("set pagination off")
gdb.execute("target remote 127.0.0.1:$port")
gdb.execute("hbreak kd_print_text")
gdb.execute("continue")
if $skip > 1:
    gdb.execute("continue $((skip - 1))")
gdb.execute("delete")
start = int(gdb.parse_and_eval("(unsigned long)kd_print_text"))
out = open("$tmp/trace", "w")
out.write("dll %x\n" % int(gdb.parse_and_eval("(unsigned long)kd.kdvm.image.base")))
for _ in range($lines):
    n = 0
    while True:
        gdb.execute("stepi", to_string=True)
        pc = int(gdb.parse_and_eval("\$pc"))
        out.write("%x\n" % pc)
        n += 1
        if pc == start or n > 100000:
            break
    out.write("line\n")
out.close()
gdb.execute("kill")
EOF
timeout 900 gdb -batch -nx -x "$tmp/step.py" "$BUILD/target/vmkd-target.elf" >"$tmp/gdb.out" 2>&1 ||
	{ echo "dbgprint-profile.sh: gdb failed: $(tail -n 3 "$tmp/gdb.out")" >&2; exit 1; }

python3 - "$tmp/trace" "$BUILD/target/vmkd-target.elf" "$BUILD/guest/kdvm-sym.dll" "$top" "$transport" <<'EOF'
import collections, subprocess, sys
trace, kernel, dll, top, transport = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
rows = open(trace).read().split()
base = int(rows[1], 16)
pcs, nlines = [], 0
for r in rows[2:]:
    if r == "line":
        nlines += 1
    else:
        pcs.append(int(r, 16))
IMAGE_BASE = 0x140000000  # guest/guest.mk --image-base
in_dll = lambda pc: base <= pc < base + 0x100000
def names(tool, image, addrs, off, tag):
    if not addrs:
        return {}
    out = subprocess.run([tool, "-a", "-f", "-i", "-e", image] + ["%x" % (a - off) for a in addrs],
                         capture_output=True, text=True).stdout.splitlines()
    res, cur = {}, None
    for l in out:
        if l.startswith("0x"):
            cur = int(l, 16) + off
            res[cur] = None
        elif cur is not None and res[cur] is None and ":" not in l:
            res[cur] = tag + l  # the innermost (inlined) function
    return res
u = sorted(set(pcs))
n = names("addr2line", kernel, [p for p in u if not in_dll(p)], 0, "kernel ")
n.update(names("x86_64-w64-mingw32-addr2line", dll, [p for p in u if in_dll(p)],
               base - IMAGE_BASE, "kdvm.dll "))
count = collections.Counter(n.get(p) or "?" for p in pcs)
dll_total = sum(1 for p in pcs if in_dll(p))
print("dbgprint-profile (%s, TCG, single-stepped): %d lines, %.0f instructions a line "
      "(kernel %.0f, kdvm.dll %.0f)" % (transport, nlines, len(pcs) / nlines,
      (len(pcs) - dll_total) / nlines, dll_total / nlines))
for name, c in count.most_common(top):
    print("%8.1f  %s" % (c / nlines, name))
EOF
