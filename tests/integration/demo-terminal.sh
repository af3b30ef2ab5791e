#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo-terminal.sh - `make demo` on a terminal, as a user runs it: under tmux (a private
# server, so a real pty with job control and hang-ups), under TCG.
#   1. commands typed at the kd> prompt answer; `g` then Ctrl-C breaks in (the SIGINT
#      reaches the debugger alone: QEMU, the relay and make live on); `q` ends `make demo`
#      with status 0 and stops QEMU and the relay;
#   1b. the guest runs to its end under the debugger (stop flag set, `g`): the demo ends
#      with the kernel's exit code instead of a debugger waiting for ever;
#   2. the terminal goes away (tmux server killed: hang-up) while the guest runs: every
#      process the demo started is gone within a few seconds;
#   3. the demo script itself is killed outright (SIGKILL, no trap runs): its watchdog stops
#      QEMU and the relay.
# Before those, without a terminal: a kernel without kdvm.dll is refused before booting, and
# one whose kdvm.dll fails to load stops the demo with a clear message (never a hang).
# Pids come from the demo (VMKD_DEMO_PIDS); everything is bounded and stopped by pid.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/integration/lib/tmux.sh
. tests/integration/lib/tmux.sh
export BUILD=${BUILD:-build}
root=$PWD
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-demo-term.XXXXXX")
passed=0 failed=0
sock=$tmp/tmux.sock
server_pid=""

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# Every pid a demo run named, plus QEMU's and the debugger's.
run_pids() {
	local f=$tmp/$1.pids p
	[[ -r $f ]] || return 0
	awk '$1 == "demo" || $1 == "relay" || $1 == "qemu-target" || $1 == "watchdog" { print $2 }' "$f"
	for p in qemu-pidfile attach-pidfile; do
		cat "$(awk -v k="$p" '$1 == k { print $2 }' "$f")" 2>/dev/null && echo
	done
}

kill_server() {
	[[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null
	server_pid=""
}

cleanup() {
	local r p
	kill_server
	sleep 0.5
	for r in "$tmp"/*.pids; do
		[[ -e $r ]] || continue
		r=$(basename "$r" .pids)
		for p in $(cat "$tmp/$r.all" 2>/dev/null); do alive "$p" && kill -KILL "$p" 2>/dev/null; done
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! command -v tmux >/dev/null; then
	fail "tmux is not installed (scripts/install-deps.sh installs it)"
	echo "$passed passed, $failed failed"
	exit 1
fi
if [[ ! -x $BUILD/vmkd || ! -r $BUILD/target/vmkd-target.bin || ! -r $BUILD/guest/kdvm.dll ]]; then
	fail "build first: $BUILD/vmkd, $BUILD/target/vmkd-target.bin, $BUILD/guest/kdvm.dll"
	echo "$passed passed, $failed failed"
	exit 1
fi

# alive PID: a live process (not a zombie).
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $st != Z* ]]
}

# all_gone NAME SECONDS: true when every pid of run NAME has exited within SECONDS.
# snapshot NAME: records the run's pids while its files exist (the demo removes its
# directory, QEMU's pid file included, when it ends).
snapshot() { run_pids "$1" | grep -E '^[0-9]+$' >"$tmp/$1.all"; }

all_gone() {
	local pids
	pids=$(cat "$tmp/$1.all" 2>/dev/null)
	if (($(wc -l <<<"$pids") < 5)); then
		echo "    the demo named too few pids in $tmp/$1.pids: $(tr '\n' ' ' <<<"$pids")"
		return 1
	fi
	# shellcheck disable=SC2086 # one pid a word
	gone_within "$2" $pids
}

# gone_within SECONDS PID...: true when every PID has exited within SECONDS.
gone_within() {
	local limit=$1 i p left
	shift
	for p in "$@"; do
		[[ $p =~ ^[1-9][0-9]*$ ]] || { echo "    not a pid: '$p'"; return 1; }
	done
	for ((i = 0; i < limit * 10; i++)); do
		left=""
		for p in "$@"; do alive "$p" && left+=" $p"; done
		[[ -z $left ]] && return 0
		sleep 0.1
	done
	echo "    still running:$left"
	ps -o pid,stat,args -p "${left// /,}" 2>/dev/null | cut -c1-120 | sed 's/^/    | /'
	return 1
}

pid_of() { awk -v k="$2" '$1 == k { print $2 }' "$tmp/$1.pids" 2>/dev/null; }
qemu_of() { cat "$(pid_of "$1" qemu-pidfile)" 2>/dev/null; }

# demo_start NAME: `make demo` in a fresh tmux server's only pane; its output is logged to
# $tmp/NAME.log, its exit status to $tmp/NAME.exit.
demo_start() {
	local name=$1
	kill_server
	rm -f "$sock"
	tmux_run "$sock" demo 200 "$tmp/$name.log" \
		"cd $root && VMKD_DEMO_PIDS=$tmp/$name.pids make --no-print-directory demo;
		 echo \$? >$tmp/$name.exit; sleep 600"
	server_pid=$tmux_pid
}

# pane: what the terminal shows now.
pane() { tmux -S "$sock" capture-pane -p -t demo 2>/dev/null; }

keys() { tmux -S "$sock" send-keys -t demo "$@"; }

# at_prompt SECONDS: waits until the last line on screen is the kd> prompt.
at_prompt() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		[[ $(pane | sed '/^[[:space:]]*$/d' | tail -n 1) =~ ^[0-9]+:\ kd\>\ *$ ]] && return 0
		sleep 0.1
	done
	return 1
}

# log_count NAME REGEX: how many lines of the run's log match.
log_count() { tr -d '\r' <"$tmp/$1.log" 2>/dev/null | grep -cE -- "$2"; }

wait_log() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		(($(log_count "$1" "$2") > ${4:-0})) && return 0
		sleep 0.1
	done
	return 1
}

show() {
	echo "    --- screen"
	pane | sed '/^[[:space:]]*$/d' | tail -n 20 | sed 's/^/    | /'
}

# ---- 0: a kernel that cannot load kdvm.dll: a clear message, never a hang ----------------
# Kernels beside the real one, relinked from copies of its objects: one with nothing
# embedded (refused before booting) and one with a file that is no DLL embedded (the kernel
# falls back to serial at run time; the demo's guard sees it on the console).
echo "== fail fast: kernels without a loadable kdvm.dll"
# kernel_with NAME BLOB: $tmp/NAME, a BUILD directory whose kernel embeds BLOB.
kernel_with() {
	mkdir -p "$tmp/$1"
	cp -a "$BUILD/target" "$tmp/$1/"
	ln -s "$root/$BUILD/vmkd" "$tmp/$1/vmkd"
	make --no-print-directory BUILD="$tmp/$1" KDVM_EMBED="$2" \
		"$tmp/$1/target/vmkd-target.bin" >"$tmp/$1.build" 2>&1
}
if kernel_with nodll ""; then
	BUILD=$tmp/nodll timeout -k 5 60 scripts/demo.sh </dev/null >"$tmp/nodll.out" 2>&1
	rc=$?
	check "a kernel without kdvm.dll: the demo refuses it at once (status $rc)" \
		grep -q "was built without kdvm.dll" "$tmp/nodll.out"
	check "... with status 1 and without booting" \
		test "$rc" -eq 1 -a "$(grep -c 'booting the test kernel' "$tmp/nodll.out")" -eq 0
else
	fail "could not relink the kernel without kdvm.dll"
	tail -n 5 "$tmp/nodll.build" | sed 's/^/    | /'
fi
head -c 4096 /dev/urandom >"$tmp/not-a-dll"
if kernel_with junk "$tmp/not-a-dll"; then
	BUILD=$tmp/junk VMKD_DEMO_HELLO_TIMEOUT=300 VMKD_DEMO_PIDS=$tmp/junk.pids \
		timeout -k 5 240 scripts/demo.sh </dev/null >"$tmp/junk.out" 2>&1
	rc=$?
	grep -q 'booting the test kernel under tcg' "$tmp/junk.out" && echo "accel: tcg"
	check "a kernel whose kdvm.dll does not load: the demo stops with status 1 (got $rc)" \
		test "$rc" -eq 1
	check "... saying that the kernel fell back to serial (not a timeout)" \
		grep -q "did not load kdvm.dll (its console: \"debugport=vm: bad image, falling back" \
		"$tmp/junk.out"
	check "... and leaves nothing running" gone_within 10 $(cat "$tmp/junk.pids" 2>/dev/null |
		awk '$1 == "relay" || $1 == "qemu-target" || $1 == "watchdog" { print $2 }')
	[[ $rc -eq 1 ]] || tail -n 5 "$tmp/junk.out" | sed 's/^/    | /'
else
	fail "could not relink the kernel with a junk kdvm.dll"
	tail -n 5 "$tmp/junk.build" | sed 's/^/    | /'
fi

# ---- 1: the prompt, Ctrl-C, q -------------------------------------------------------------
echo "== prompt: commands, g + Ctrl-C, q"
demo_start prompt
if at_prompt 180 && grep -q 'bc \*' "$tmp/prompt.log"; then
	pass "make demo ran its session and left the terminal at the kd> prompt"
	snapshot prompt
	grep -qE 'booting the test kernel under tcg' "$tmp/prompt.log" && echo "accel: tcg"
	rips=$(log_count prompt '^rip=[0-9a-f]{16}')
	keys 'r rip' Enter
	check "a command typed at the prompt answers (r rip)" \
		wait_log prompt '^rip=[0-9a-f]{16}' 30 "$rips"
	at_prompt 30
	breaks=$(log_count prompt 'Break instruction exception')
	keys g Enter
	sleep 2
	keys C-c
	check "g, then Ctrl-C breaks in (\"Break instruction exception\")" \
		wait_log prompt 'Break instruction exception' 60 "$breaks"
	check "... and the debugger is back at the prompt" at_prompt 30
	qpid=$(qemu_of prompt)
	check "QEMU (pid $qpid) still runs after Ctrl-C" alive "${qpid:-0}"
	check "the relay (pid $(pid_of prompt relay)) still runs after Ctrl-C" \
		alive "$(pid_of prompt relay)"
	check "make demo still runs after Ctrl-C" test ! -e "$tmp/prompt.exit"
	check "the connection to the target was not lost" \
		test "$(log_count prompt 'connection lost|closed by the peer')" -eq 0
	rips=$(log_count prompt '^rip=[0-9a-f]{16}')
	keys 'r rip' Enter
	check "the target answers after the break-in" \
		wait_log prompt '^rip=[0-9a-f]{16}' 30 "$rips"
	at_prompt 30
	keys q Enter
	for _ in $(seq 300); do [[ -s $tmp/prompt.exit ]] && break; sleep 0.1; done
	check "q ends make demo with status 0 (got $(cat "$tmp/prompt.exit" 2>/dev/null))" \
		test "$(cat "$tmp/prompt.exit" 2>/dev/null)" == 0
	check "no make error on the way out" test "$(log_count prompt 'make: \*\*\*')" -eq 0
	check "q stopped everything the demo started" all_gone prompt 10
else
	fail "no kd> prompt within 180 s"
	show
fi
kill_server

# ---- 1b: the kernel runs to its end under the debugger -------------------------------------
echo "== the VM ends under the debugger: the demo ends with the kernel's exit code"
demo_start ended
if at_prompt 180; then
	snapshot ended
	flag=$(nm "$BUILD/target/vmkd-target.elf" | awk '$3 == "vmkd_stop_request" { print $1 }')
	keys "ed $flag 1" Enter
	at_prompt 30
	keys g Enter
	for _ in $(seq 600); do [[ -s $tmp/ended.exit ]] && break; sleep 0.1; done
	check "make demo ends by itself, status 0 (got $(cat "$tmp/ended.exit" 2>/dev/null))" \
		test "$(cat "$tmp/ended.exit" 2>/dev/null)" == 0
	check "... saying the test kernel finished with exit code 0" \
		wait_log ended 'the test kernel finished with exit code 0' 5
	check "... and nothing it started runs on" all_gone ended 10
else
	fail "ended: no kd> prompt within 180 s"
	show
fi
kill_server

# ---- 2: the terminal goes away --------------------------------------------------------------
echo "== hang-up: the terminal closes while the guest runs"
demo_start hangup
if at_prompt 180; then
	snapshot hangup
	keys g Enter
	sleep 2
	check "before the hang-up, QEMU runs" alive "$(qemu_of hangup)"
	kill_server
	check "after the hang-up, the demo, QEMU, the relay, the debugger and the watchdog are gone" \
		all_gone hangup 10
else
	fail "hangup: no kd> prompt within 180 s"
	show
fi
kill_server

# ---- 3: the script itself is killed ---------------------------------------------------------
echo "== SIGKILL of the demo script: the watchdog cleans up"
demo_start killed
if at_prompt 180; then
	snapshot killed
	demo=$(pid_of killed demo)
	qpid=$(qemu_of killed)
	check "before the kill, QEMU runs" alive "${qpid:-0}"
	kill -KILL "$demo"
	check "after SIGKILL of demo.sh (pid $demo), QEMU, qemu-target.sh and the relay are gone" \
		gone_within 10 "${qpid:-0}" "$(pid_of killed qemu-target)" "$(pid_of killed relay)"
	kill_server
	check "... and with the terminal gone, everything else too" all_gone killed 10
else
	fail "killed: no kd> prompt within 180 s"
	show
fi
kill_server

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
