#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The relay's long-running life under valgrind (memcheck, --leak-check=full): several VMs
# played by tests/tools/fake_guest (one sending malformed frames), debugger sessions coming
# and going, a refused second debugger, a GDB client, guests that go away and come back, a
# config reload (SIGHUP) that drops one VM and adds another, stats (SIGUSR1); then SIGTERM.
# valgrind must report no error and no leak (--error-exitcode), and the relay exit 0.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
VMKD=$BUILD/vmkd
FAKE=$BUILD/tests/tools/fake_guest
tmp=$(mktemp -d /tmp/vmkd-vg.XXXXXX)
pids=()
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! command -v valgrind >/dev/null || [[ ! -x $VMKD || ! -x $FAKE ]]; then
	echo "SKIP: valgrind, $VMKD or $FAKE missing"
	echo "0 passed, 0 failed"
	exit 0
fi

start_fake() { # NAME MODE INDEX: sets fake_pid
	"$FAKE" --mode "$2" --index "$3" "$tmp/g$1.sock" 2>>"$tmp/fake-$1.log" &
	fake_pid=$!
	pids+=("$fake_pid")
}
start_fake a normal 1
fake_a=$fake_pid
start_fake b normal 2
start_fake bad malformed 3
start_fake c normal 4
for ((i = 0; i < 50; i++)); do [[ -S $tmp/gc.sock ]] && break; sleep 0.1; done
{
	echo "a unix:$tmp/ga.sock unix:$tmp/da.sock"
	echo "b unix:$tmp/gb.sock unix:$tmp/db.sock trace"
	echo "bad unix:$tmp/gbad.sock unix:$tmp/dbad.sock"
} >"$tmp/relay.conf"

valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
	--log-file="$tmp/valgrind.log" \
	"$VMKD" relay -q --stats 1 --config "$tmp/relay.conf" 2>"$tmp/relay.log" &
relay_pid=$!
pids+=("$relay_pid")
check "relay under valgrind connected to its guests" wait_for "$tmp/relay.log" 'bad: guest HELLO' 60

session() { # NAME INDEX: one debugger session, its own bytes back
	local out
	out=$(timeout 120 "$VMKD" attach -b -t 30 --wait 60 -c "db 0x2000 L4; version" \
		"unix:$tmp/d$1.sock" 2>&1 </dev/null)
	grep -qF "$(printf '%02x %02x %02x %02x' $(((0x2000 + 3 * $2) & 0xff)) \
		$(((0x2001 + 3 * $2) & 0xff)) $(((0x2002 + 3 * $2) & 0xff)) \
		$(((0x2003 + 3 * $2) & 0xff)))" <<<"$out"
}

check "session on a" session a 1
check "session on b (traced)" session b 2
check "session on the malformed guest's VM" session bad 3

# A second debugger while one is attached is refused with a notice.
mkfifo "$tmp/hold.fifo"
timeout 60 "$VMKD" attach -i "unix:$tmp/da.sock" <"$tmp/hold.fifo" >"$tmp/hold.out" 2>&1 &
hold_pid=$!
pids+=("$hold_pid")
exec 8>"$tmp/hold.fifo"
sleep 3
timeout 30 "$VMKD" attach -t 5 --wait 5 -c version "unix:$tmp/da.sock" </dev/null >"$tmp/refused.out" 2>&1
check "a second debugger is refused" grep -qi "already has a debugger" "$tmp/refused.out"
exec 8>&-
kill "$hold_pid" 2>/dev/null
wait "$hold_pid" 2>/dev/null

# A GDB client.
python3 - "$tmp/db.sock" >/dev/null 2>&1 <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"+$qSupported#37" + b"$bbbb#10" * 10)
s.settimeout(10)
s.recv(4096)
EOF
check "the relay logged the GDB client" wait_for "$tmp/relay.log" 'b: debugger speaks the GDB' 20

# A guest goes away and comes back; the relay reconnects.
kill "$fake_a"
wait "$fake_a" 2>/dev/null
sleep 2
start_fake a normal 1
hellos_a() { grep -c 'a: guest HELLO' "$tmp/relay.log"; }
reconnected() {
	local i
	for ((i = 0; i < 300; i++)); do
		(($(hellos_a) >= 2)) && return 0
		sleep 0.1
	done
	return 1
}
check "the relay reconnects to a guest that came back" reconnected
sleep 3
check "session on a after its guest came back" session a 1

# Reload: 'bad' leaves, 'c' joins.
{
	echo "a unix:$tmp/ga.sock unix:$tmp/da.sock"
	echo "b unix:$tmp/gb.sock unix:$tmp/db.sock trace"
	echo "c unix:$tmp/gc.sock unix:$tmp/dc.sock"
} >"$tmp/relay.conf"
kill -HUP "$relay_pid"
check "reload adds a VM" wait_for "$tmp/relay.log" 'c: guest HELLO' 30
check "session on the added VM" session c 4
kill -USR1 "$relay_pid"
sleep 1

kill -TERM "$relay_pid"
wait "$relay_pid"
rc=$?
check "relay exits 0 under valgrind (no error, no leak; valgrind exit $rc)" test "$rc" -eq 0
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|All heap blocks" \
	"$tmp/valgrind.log" | sed 's/^==[0-9]*== /valgrind: /'
check "valgrind: 0 errors" grep -q "ERROR SUMMARY: 0 errors" "$tmp/valgrind.log"

echo "$passed passed, $failed failed"
((failed == 0))
