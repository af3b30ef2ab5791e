#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# relay-reload.sh - `vmkd relay --config FILE` reloads FILE on SIGHUP (what `systemctl
# reload vmkd-relay` sends): a VM whose line did not change keeps its debugger connection,
# a removed VM's sockets go, a new VM's appear; a broken file is refused and nothing
# changes; SIGTERM still ends it with status 0. Without --config, SIGHUP keeps its default
# (the relay ends, as a terminal's hang-up should). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-reload.XXXXXX")
relay_pid= holder_pid=
cleanup() {
	exec 9>&- 2>/dev/null
	[[ -n $holder_pid ]] && kill "$holder_pid" 2>/dev/null
	[[ -n $relay_pid ]] && kill "$relay_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }
wait_for() { for _ in $(seq 100); do grep -qE -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

conf() { for n in "$@"; do echo "$n listen:unix:$tmp/$n.vm unix:$tmp/$n.kd"; done >"$tmp/relay.conf"; }

conf keep drop
"$BUILD/vmkd" relay --config "$tmp/relay.conf" -q 2>"$tmp/log" &
relay_pid=$!
wait_for "$tmp/log" 'serving 2 VMs'
check "the relay serves two VMs and says SIGHUP reloads" grep -q 'serving 2 VMs.*SIGHUP reloads' "$tmp/log"
# A silent debugger on "keep", held open while fd 9 holds the FIFO's write end.
mkfifo "$tmp/hold"
socat -u "OPEN:$tmp/hold" "unix-connect:$tmp/keep.kd" &
holder_pid=$!
exec 9>"$tmp/hold"
wait_for "$tmp/log" 'keep: debugger connected'

conf keep new
kill -HUP "$relay_pid"
wait_for "$tmp/log" 'reloaded'
check "SIGHUP reloads: 1 kept, 1 opened, 1 closed" grep -q 'reloaded .*: 1 kept, 1 opened, 1 closed, 0 failed' "$tmp/log"
check "the relay is still running" kill -0 "$relay_pid"
check "the unchanged VM kept its debugger (no disconnect logged)" \
	eval '! grep -q "keep: debugger disconnected" "$tmp/log"'
check "the removed VM's sockets are gone" test ! -e "$tmp/drop.kd" -a ! -e "$tmp/drop.vm"
check "the new VM's sockets are there" test -S "$tmp/new.kd" -a -S "$tmp/new.vm"

echo "garbage" >"$tmp/relay.conf"
kill -HUP "$relay_pid"
wait_for "$tmp/log" 'reload refused'
check "a broken file is refused, naming the line" grep -q 'reload refused, nothing changed: .*relay.conf:1:' "$tmp/log"
check "... and nothing changed" test -S "$tmp/keep.kd" -a -S "$tmp/new.kd"
check "... and the debugger is still attached" eval '! grep -q "keep: debugger disconnected" "$tmp/log"'

kill "$relay_pid"
wait "$relay_pid"
rc=$?
relay_pid=
check "SIGTERM ends it with status 0 (got $rc)" test "$rc" -eq 0

# One VM from flags: SIGHUP is not caught. The relay starts with SIGHUP at its default
# action: one ignored by whoever started this script (nohup) would be inherited.
env --default-signal=HUP "$BUILD/vmkd" relay --guest "listen:unix:$tmp/one.vm" \
	--listen "unix:$tmp/one.kd" -q 2>"$tmp/log1" &
relay_pid=$!
wait_for "$tmp/log1" 'serving 1 VM'
check "without --config the relay does not offer SIGHUP" eval '! grep -q SIGHUP "$tmp/log1"'
kill -HUP "$relay_pid"
for _ in $(seq 50); do kill -0 "$relay_pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$relay_pid" 2>/dev/null # still there after 5 s: the check below fails
wait "$relay_pid" 2>/dev/null
rc=$?
relay_pid=
check "without --config SIGHUP ends the relay (status $rc = 128+1)" test "$rc" -eq 129

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
