#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One relay serving many VMs at once, each with its own debugger, and a few bad ones beside
# them. The VMs are played by tests/tools/fake_guest (the frame protocol, a tiny kernel whose
# memory bytes are derived from the address and the VM's index), so no QEMU is needed:
#
#  - SCALE_VMS (default 64) normal VMs; every one gets a `vmkd attach -b` of its own, all at
#    once, which reads 16 bytes at an address of its own and the kernel base: each must see
#    its own VM's bytes and base (no cross-talk);
#  - a VM whose guest sends malformed, truncated, oversized and out-of-order frames: the relay
#    counts and logs them, the VM is still debuggable after its fresh HELLO;
#  - a VM whose guest never answers: its debugger gives up with an error, in bounded time,
#    and the relay reports the unanswered request;
#  - a GDB client on a KD socket: told to use `vmkd gdb`, and the guest is not broken into;
#  - SCALE_QEMU (default 1, at most 2) more VMs are real: QEMU (TCG) booting the test kernel
#    on kdvm.dll (debugport=vm), its chardev on the same relay. Their debuggers run in the
#    same rounds as the fakes' and must see their own kernel (build, base, the MZ at its
#    base, kdvm.dll as kdcom), and the fakes still only their own bytes (no cross-talk
#    between real and fake guests). Skipped, and said so, without QEMU or the test kernel;
#  - after all that the relay is alive and a second round on every VM passes again.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
N=${SCALE_VMS:-64}
NQ=${SCALE_QEMU:-1}
((NQ > 2)) && NQ=2
VMKD=$BUILD/vmkd
FAKE=$BUILD/tests/tools/fake_guest
tmp=$(mktemp -d /tmp/vmkd-scale.XXXXXX)
pids=()
# shellcheck source=tests/integration/lib/session.sh
. tests/integration/lib/session.sh

qvm_pids=() qvm_pidfiles=()
cleanup() {
	local p k
	for k in "${!qvm_pids[@]}"; do # QEMU first, by the pid it recorded (qemu.sh's vm_stop)
		vm_pid=${qvm_pids[k]} vm_qemu_pidfile=${qvm_pidfiles[k]}
		vm_stop
	done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

if [[ ! -x $VMKD || ! -x $FAKE ]]; then
	echo "SKIP: $VMKD or $FAKE not built (make all tests)"
	echo "0 passed, 0 failed"
	exit 0
fi

guests=()
for ((i = 0; i < N; i++)); do
	guests+=("$tmp/g$i.sock")
	echo "vm$i unix:$tmp/g$i.sock unix:$tmp/d$i.sock" >>"$tmp/relay.conf"
done
echo "bad unix:$tmp/gbad.sock unix:$tmp/dbad.sock" >>"$tmp/relay.conf"
echo "mute unix:$tmp/gmute.sock unix:$tmp/dmute.sock" >>"$tmp/relay.conf"
if ((NQ > 0)); then
	if ! command -v "${QEMU:-qemu-system-x86_64}" >/dev/null; then
		echo "no QEMU VM: ${QEMU:-qemu-system-x86_64} is not installed"
		NQ=0
	elif [[ ! -r $BUILD/target/vmkd-target.bin || ! -r $BUILD/guest/kdvm.dll ]]; then
		echo "no QEMU VM: the test kernel or kdvm.dll is not built"
		NQ=0
	fi
fi
# The QEMU VMs: the relay listens for their chardev (QEMU connects, server=off).
for ((k = 0; k < NQ; k++)); do
	echo "qvm$k listen:unix:$tmp/gq$k.sock unix:$tmp/dq$k.sock" >>"$tmp/relay.conf"
done

"$FAKE" --index 0 "${guests[@]}" 2>"$tmp/fake.log" &
pids+=($!)
"$FAKE" --mode malformed --index 200 "$tmp/gbad.sock" 2>"$tmp/fake-bad.log" &
pids+=($!)
"$FAKE" --mode mute --index 201 "$tmp/gmute.sock" 2>"$tmp/fake-mute.log" &
pids+=($!)
for ((i = 0; i < 50; i++)); do [[ -S $tmp/gmute.sock && -S $tmp/g$((N - 1)).sock ]] && break; sleep 0.1; done
"$VMKD" relay -q --config "$tmp/relay.conf" 2>"$tmp/relay.log" &
relay_pid=$!
pids+=("$relay_pid")
check "relay connected to all $((N + 2)) guests" \
	wait_for "$tmp/relay.log" "mute: guest HELLO" 30
for ((i = 0; i < 100; i++)); do
	(($(grep -c 'guest HELLO from "fake_guest' "$tmp/relay.log") >= N + 2)) && break
	sleep 0.2
done

# qvm_build K: the Windows build QEMU VM K reports (the fakes report 19041).
qvm_build() {
	echo $((17763 + 600 * $1))
}

for ((k = 0; k < NQ; k++)); do
	for ((i = 0; i < 100; i++)); do [[ -S $tmp/gq$k.sock ]] && break; sleep 0.1; done
	vm_virtio_args "$tmp/gq$k.sock"
	vm_start "$tmp/qvm$k.qemu.out" "$tmp/qvm$k.qemu.pid" --accel tcg --timeout 600 \
		--append "debugport=vm workload=idle build=$(qvm_build "$k")" \
		--console "file:$tmp/qvm$k.console" -- "${VM_VIRTIO_ARGS[@]}"
	qvm_pids+=("$vm_pid") qvm_pidfiles+=("$vm_qemu_pidfile")
done
for ((k = 0; k < NQ; k++)); do
	if check "QEMU VM qvm$k: kdvm.dll said HELLO to the relay" \
		wait_for "$tmp/relay.log" "qvm$k: guest HELLO from \"kdvm.dll" 180; then
		grep -q "^accel: tcg\$" "$tmp/qvm$k.qemu.out" && echo "accel: tcg"
	else
		tail -5 "$tmp/qvm$k.qemu.out" "$tmp/qvm$k.console" 2>/dev/null
	fi
done

# expect_bytes INDEX ADDR: the 16 bytes fake_guest serves VM INDEX at ADDR, as db prints them.
expect_bytes() {
	local idx=$1 addr=$2 k out=""
	for ((k = 0; k < 16; k++)); do
		out+=$(printf '%02x' $(((addr + k + 3 * idx) & 0xff)))
		((k == 7)) && out+="-" || out+=" "
	done
	echo "${out% }"
}

# attach_vm NAME INDEX ROUND: reads the VM's bytes and version into $tmp/NAME.ROUND.out.
attach_vm() {
	local name=$1 idx=$2 round=$3 addr
	addr=$((0x10000 + idx * 0x1000 + round * 0x10))
	timeout 120 "$VMKD" attach -b -t 30 --wait 60 \
		-c "db $(printf '0x%x' "$addr") L10; version" "unix:$tmp/d$name.sock" \
		</dev/null >"$tmp/$name.$round.out" 2>&1
}

# verify NAME INDEX ROUND: its own bytes and its own kernel base, nobody else's.
verify() {
	local name=$1 idx=$2 round=$3 addr want base
	addr=$((0x10000 + idx * 0x1000 + round * 0x10))
	want=$(expect_bytes "$idx" "$addr")
	base=$(printf 'fffff800`%02x000000' "$idx")
	grep -qF -- "$want" "$tmp/$name.$round.out" &&
		grep -qF "Kernel base = 0x$base" "$tmp/$name.$round.out"
}

# attach_qvm K ROUND: QEMU VM K's version, modules and the first bytes at its kernel base.
attach_qvm() {
	local k=$1 round=$2
	timeout 180 "$VMKD" attach -b -t 60 --wait 120 \
		-c "version; lm; db fffff800\`00200000 L10" "unix:$tmp/dq$k.sock" \
		>"$tmp/qvm$k.$round.out" 2>&1
}

# verify_qvm K ROUND: its own kernel (build, base, image, kdvm.dll as kdcom), no fake's.
verify_qvm() {
	local out=$tmp/qvm$1.$2.out
	grep -qF "Windows Kernel Version $(qvm_build "$1") " "$out" &&
		grep -qF 'Kernel base = 0xfffff800`00200000 ' "$out" &&
		grep -qE '^fffff800`00200000 +4d 5a ' "$out" &&
		grep -qE 'kdcom +kdcom.dll' "$out" &&
		! grep -qF "fake_guest" "$out"
}

# round ROUND: every VM's debugger at once (the fakes' and the QEMU VMs'); counts the VMs
# whose output is their own.
round() {
	local r=$1 i k ok=0 apids=()
	for ((k = 0; k < NQ; k++)); do
		attach_qvm "$k" "$r" &
		apids+=($!)
	done
	for ((i = 0; i < N; i++)); do
		attach_vm "$i" "$i" "$r" &
		apids+=($!)
	done
	for i in "${apids[@]}"; do wait "$i"; done
	for ((k = 0; k < NQ; k++)); do
		if check "round $r: QEMU VM qvm$k's debugger sees its own kernel" verify_qvm "$k" "$r"; then
			continue
		fi
		echo "--- qvm$k round $r:"
		tail -12 "$tmp/qvm$k.$r.out"
	done
	for ((i = 0; i < N; i++)); do
		if verify "$i" "$i" "$r"; then
			ok=$((ok + 1))
		else
			echo "--- vm$i round $r:"
			tail -5 "$tmp/$i.$r.out"
		fi
	done
	echo "round $r: $ok of $N VMs read their own memory and kernel base"
	((ok == N))
}

check "$N fake VMs' debuggers at once (with $NQ QEMU VMs'), each sees only its VM (round 1)" round 1

# The malformed guest: refused frames counted and logged, the VM still debuggable.
attach_vm bad 200 1
check "malformed frames: the VM behind them is debuggable" verify bad 200 1
check "malformed frames: the relay logged the rejections" \
	grep -q "bad: guest frame rejected" "$tmp/relay.log"

# The mute guest: it stops but answers nothing. Its debugger reports, in bounded time, and
# the relay reports the unanswered request.
start=$SECONDS
timeout 120 "$VMKD" attach -b -t 15 --wait 30 -c "version" "unix:$tmp/dmute.sock" \
	</dev/null >"$tmp/mute.out" 2>&1
rc=$?
check "a guest that never answers: the debugger reports (exit $rc)" \
	test "$rc" -ne 0 -a "$rc" -ne 124
echo "mute attach gave up after $((SECONDS - start)) s"
check "... and the relay reported the unanswered request" \
	grep -q "mute: guest has not answered the debugger's" "$tmp/relay.log"

# A GDB client on a KD socket: no break-in reaches the guest, it is told what to use.
# breakins VM: the relay's break-in count for VM from a fresh stats line (SIGUSR1).
breakins() {
	local n i
	n=$(grep -c "$1: .*breakins" "$tmp/relay.log")
	kill -USR1 "$relay_pid"
	for ((i = 0; i < 100; i++)); do
		(($(grep -c "$1: .*breakins" "$tmp/relay.log") > n)) && break
		sleep 0.1
	done
	grep "$1: .*breakins" "$tmp/relay.log" | tail -1 | sed -E 's/.*breakins ([0-9]+).*/\1/'
}
breakins_before=$(breakins vm0)
if command -v python3 >/dev/null; then
	python3 - "$tmp/d0.sock" >"$tmp/gdb.out" 2>&1 <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"+$qSupported:multiprocess+;swbreak+#c9" + b"$bbbbbbbbbbbb#10" * 50)
s.settimeout(10)
data = b""
while b"#" not in data[2:] or len(data) < 8:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode(errors="replace"))
EOF
	check "a GDB client on the KD socket is told to use 'vmkd gdb'" grep -q "vmkd gdb" "$tmp/gdb.out"
	check "... and the relay logged it" wait_for "$tmp/relay.log" "vm0: debugger speaks the GDB" 10
	check "... and sent no break-in for its 'b's" \
		test "$(breakins vm0)" -eq "$breakins_before"
fi

check "the relay is still running" kill -0 "$relay_pid"
check "$N fake VMs' debuggers at once again (with $NQ QEMU VMs') (round 2)" round 2

echo "$passed passed, $failed failed"
((failed == 0))
