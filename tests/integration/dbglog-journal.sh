#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dbglog-journal.sh - `vmkd relay --journal=SOCKET` through the real stack (QEMU
# virtio-serial -> kdvm.dll -> the test kernel printing with no debugger attached): a fake
# journald (a unix datagram socket bound by python3) gets one native-protocol entry per
# DbgPrint line, with MESSAGE, VMKD_VM=<name>, VMKD_CPU, SYSLOG_IDENTIFIER=vmkd. The relay
# never waits for the journal: in a flood, what the socket's queue cannot take at once
# (net.unix.max_dgram_qlen datagrams, 10 by default where systemd does not raise it) is
# dropped and counted. So: what arrived is exactly what the relay counted as sent, in the
# log file's order with none duplicated, and sent + dropped is every line of the file.
# Then with no journal socket at all: the guest runs to the end, every line is dropped and
# counted, the error logged once.
# Runs under TCG. Ends with "N passed, N failed".
set -uo pipefail
trap "" PIPE
cd "$(dirname "$0")/../.." || exit 1
export BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-journal.XXXXXX")
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh
sink_pid=
cleanup() {
	[[ -n $sink_pid ]] && kill "$sink_pid" 2>/dev/null
	session_cleanup
}
trap cleanup EXIT
require_build
command -v python3 >/dev/null || { fail "python3 is needed for the fake journald"; echo "$passed passed, $failed failed"; exit 1; }

# The fake journald: binds SOCKET, writes each datagram's plain fields as one JSON object
# a line to OUT (binary-safe fields decoded too), until killed or 10 s of silence after
# the first entry.
fake_journald() {
	python3 -c '
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "w", buffering=1)
s.settimeout(300)
while True:
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    s.settimeout(10)
    f, i = {}, 0
    while i < len(d):
        nl = d.index(b"\n", i)
        line = d[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack("<Q", d[nl + 1:nl + 9])
            v = d[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        f[k.decode()] = v.decode("utf-8", "replace")
    out.write(json.dumps(f) + "\n")
' "$1" "$2" &
	sink_pid=$!
	for _ in {1..50}; do [[ -S $1 ]] && return 0; sleep 0.1; done
	return 1
}

journal_test() {
	local name=tcg-journal lines=500 got inorder fields sent dropped
	echo "== $name"
	mkdir -p "$tmp/logs"
	check "$name: the fake journald listens" fake_journald "$tmp/journal.sock" "$tmp/entries"
	vm_relay "$name" --log-dir "$tmp/logs" --journal="$tmp/journal.sock"
	target_start "$name" tcg 240 "debugport=vm workload=dbgprint lines=$lines nobreak build=19041" \
		-- "${VM_VIRTIO_ARGS[@]}"
	target_wait
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
	check "$name: the guest ran to the end (status $target_rc)" test "$target_rc" -eq 0
	wait_for "$tmp/entries" "dbgprint done" 20
	relay_stop
	kill "$sink_pid" 2>/dev/null
	wait "$sink_pid" 2>/dev/null
	sink_pid=
	python3 -c '
import json, sys
for l in open(sys.argv[1]):
    print(json.loads(l).get("MESSAGE", ""))' "$tmp/entries" >"$tmp/messages"
	"$BUILD/vmkd" log --dir "$tmp/logs" "$name" | sed -E 's/^[^ ]+ cpu[0-9]+ //' >"$tmp/file-lines"
	read -r sent dropped < <(sed -nE 's/.*DbgPrint journal: ([0-9]+) lines sent, ([0-9]+) dropped.*/\1 \2/p' \
		"$relay_log" | tail -n 1)
	got=$(wc -l <"$tmp/entries")
	echo "    journal: $got entries; relay: ${sent:-?} sent, ${dropped:-?} dropped; log file: $(wc -l <"$tmp/file-lines") lines"
	check "$name: the log file has every DbgPrint line" \
		test "$(grep -c "dbgprint line " "$tmp/file-lines")" -eq "$lines"
	check "$name: the fake journald got what the relay sent ($got of ${sent:-?})" \
		test "${sent:-x}" = "$got" -a "$got" -gt 0
	check "$name: sent + dropped is every line of the log file" \
		test "$((${sent:-0} + ${dropped:-0}))" -eq "$(wc -l <"$tmp/file-lines")"
	inorder=$(python3 -c '
import sys
want = open(sys.argv[1]).read().splitlines()
got = open(sys.argv[2]).read().splitlines()
i = 0
for g in got:
    while i < len(want) and want[i] != g:
        i += 1
    if i == len(want):
        print("no"); sys.exit()
    i += 1
print("yes" if len(set(got)) == len(got) else "no")' "$tmp/file-lines" "$tmp/messages")
	check "$name: the journal's lines are the log file's, in order, none duplicated" \
		test "$inorder" = yes
	fields=$(python3 -c '
import json, sys
bad = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if (e.get("VMKD_VM") != sys.argv[2] or e.get("VMKD_CPU") != "0" or
            e.get("SYSLOG_IDENTIFIER") != "vmkd" or e.get("PRIORITY") != "6"):
        bad += 1
print(bad)' "$tmp/entries" "$name")
	check "$name: every entry has VMKD_VM=$name, VMKD_CPU=0, SYSLOG_IDENTIFIER=vmkd, PRIORITY=6 ($fields without)" \
		test "$fields" -eq 0
	check "$name: the relay logged the journal's socket" grep -q "DbgPrint journal: $tmp/journal.sock" \
		"$relay_log"
	target_pid=
}

# No journald: every line is dropped and counted, the error is logged once, and the guest
# is not held up (it runs to the end).
nojournal_test() {
	local name=tcg-nojournal lines=300 sent dropped
	echo "== $name"
	vm_relay "$name" --no-dbglog --journal="$tmp/absent.sock"
	target_start "$name" tcg 240 "debugport=vm workload=dbgprint lines=$lines nobreak build=19041" \
		-- "${VM_VIRTIO_ARGS[@]}"
	target_wait
	grep -q "^accel: tcg\$" "$tmp/$name.qemu.out" && echo "accel: tcg"
	check "$name: the guest ran to the end without a journald (status $target_rc)" \
		test "$target_rc" -eq 0
	relay_stop
	read -r sent dropped < <(sed -nE 's/.*DbgPrint journal: ([0-9]+) lines sent, ([0-9]+) dropped.*/\1 \2/p' \
		"$relay_log" | tail -n 1)
	echo "    relay: ${sent:-?} sent, ${dropped:-?} dropped"
	check "$name: nothing sent, every line counted as dropped (${dropped:-?} >= $lines)" \
		test "${sent:-x}" = 0 -a "${dropped:-0}" -ge "$lines"
	check "$name: the error is logged once" \
		test "$(grep -c "DbgPrint journal: .*absent.sock: No such file" "$relay_log")" -eq 1
	target_pid=
}

journal_test
nojournal_test
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
