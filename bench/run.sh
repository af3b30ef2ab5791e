#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - the vmkd benchmark: the serial baseline and the vmkd fast path side by side,
# under every usable accelerator, through `vmkd bench` (the session engine of `vmkd attach`).
#
# usage: bench/run.sh [--smoke] [--accel auto|all|kvm|tcg] [--only hostmem|scale|dbgprint]
#                     [--out DIR] [--keep]
#   --smoke     tiny sizes (keeps the harness from rotting; numbers mean nothing)
#   --accel     auto/all (default): tcg, plus kvm when /dev/kvm works; or just one
#   --only hostmem  just the hostmem run (host-path reads and `vmkd dump`), for quick
#               before/after comparisons; the other rows are absent from the table
#   --only scale    just the scale rows (one relay, 1/16/64 fake-guest VMs; no QEMU unless
#               SCALE_QEMU=1, see bench_scale)
#   --only dbgprint  the serial, vmkd and ivshmem runs with the request phases at their
#               smoke sizes and the full DbgPrint phase: the dbgprint rows side by side
#   --out DIR   results directory (default bench/results): latest.csv, latest.png,
#               latest.txt (the table), latest.notes
#   --keep      keep the per-run logs (QEMU, relay, console) and say where they are
#
# Each run boots the test kernel once (`workload=dbgprint lines=N print=counter`, console
# port absent so DbgPrint costs only the transport; print=counter: every line the same
# text with an in-place decimal counter, no vsnprintf, the same for every transport) and
# `vmkd bench` measures it while it sits at the initial breakpoint, then lets it print. serial: KDCOM over an emulated 16550 on a unix
# socket. vmkd: kdvm.dll (debugport=vm) over virtio-serial to `vmkd relay`, the debugger on
# the relay. channel: the kernel's `workload=echo` over the same virtio-serial port, timed
# by `vmkd bench --echo` on the chardev itself. scale: one relay serving 1, 16 and 64 VMs
# played by tests/tools/fake_guest, small-request round trip on one of them (scale.csv).
# hostmem: the vmkd run again with the guest RAM in a shared memory backend file on
# /dev/shm, so the relay answers memory reads of the stopped guest from the host (its host
# path); plus `vmkd dump` of that RAM: dump_mb_s (sparse, the default), dump_dense_mb_s
# (--no-sparse) into the results' temp dir, dump_dense_shm_mb_s (--no-sparse) into /dev/shm.
# Every QEMU is bounded (--timeout) and stopped by pid, never by name. Sizes per run are
# printed with the table.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
VMKD=$BUILD/vmkd
KERNEL=$BUILD/target/vmkd-target.bin
QEMU=${QEMU:-qemu-system-x86_64}

smoke=0 accel_opt=auto out=bench/results keep=0 only=
while [[ $# -gt 0 ]]; do
	case $1 in
	--smoke) smoke=1; shift ;;
	--accel) accel_opt=${2?}; shift 2 ;;
	--only)
		only=${2?}
		[[ $only == hostmem || $only == scale || $only == dbgprint ]] ||
			{ echo "run.sh: --only takes hostmem, scale or dbgprint" >&2; exit 2; }
		shift 2
		;;
	--out) out=${2?}; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '3,33p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done

[[ -x $VMKD && -r $KERNEL ]] || { echo "run.sh: build first ($VMKD, $KERNEL)" >&2; exit 2; }
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-bench.XXXXXX")
raw=$tmp/raw.csv
: >"$raw"

# ---- process bookkeeping: everything we start is stopped by its pid -------------------
# tests/integration/lib/qemu.sh starts QEMU (through scripts/qemu-target.sh) and the relay,
# and stops them by pid: vm_start/vm_stop/vm_wait, relay_start/relay_stop.

# shellcheck source=tests/integration/lib/qemu.sh
. tests/integration/lib/qemu.sh
shm_file="" # the hostmem run's guest RAM file

cleanup() {
	vm_stop
	relay_stop
	if [[ -n $shm_file ]]; then rm -f "$shm_file"; fi
	if [[ $keep == 1 ]]; then
		echo "run.sh: logs kept in $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- what can run here ----------------------------------------------------------------

accels=(tcg)
kvm_note=""
if [[ $accel_opt == kvm || $accel_opt == tcg ]]; then
	accels=("$accel_opt")
elif [[ $(scripts/qemu-target.sh --accel auto --probe-accel 2>/dev/null) == kvm ]]; then
	accels=(tcg kvm)
else
	kvm_note="KVM: /dev/kvm is not usable here; TCG only"
fi

have_vmkd=1 vmkd_why=""
if [[ ! -r $BUILD/guest/kdvm.dll ]]; then
	have_vmkd=0 vmkd_why="$BUILD/guest/kdvm.dll is not built"
elif ! "$VMKD" relay --help >/dev/null 2>&1; then
	have_vmkd=0 vmkd_why="this vmkd has no relay"
fi
qemu_version=$("$QEMU" --version | head -n 1)

# sizes ACCEL TRANSPORT: "small read4k bulk lines echo_small echo_large" for one run.
# Serial is sized down (it runs at ~10-70 KB/s here); the table states every size.
sizes() {
	if [[ $smoke == 1 ]]; then
		echo "20 3 32K 10 20 3"
		return
	fi
	case $1/$2 in
	tcg/serial) echo "300 40 2M 500 0 0" ;;
	tcg/vmkd | tcg/hostmem | tcg/ivshmem) echo "5000 1000 16M 5000 5000 1000" ;;
	kvm/serial) echo "100 10 128K 200 0 0" ;;
	kvm/vmkd | kvm/ivshmem) echo "500 100 2M 1000 1000 200" ;;
	kvm/hostmem) echo "500 1000 64M 1000 1000 200" ;;
	esac
}

# na_rows ACCEL TRANSPORT WHY METRIC:UNIT...: n/a rows with a reason.
na_rows() {
	local accel=$1 transport=$2 why=$3 m
	shift 3
	for m in "$@"; do
		echo "$accel,$transport,${m%%:*},n/a,${m#*:}" >>"$raw"
		echo "# note $accel $transport ${m%%:*}: n/a: $why" >>"$raw"
	done
}

KD_METRICS=(rtt_small_us:us rtt_small_us_p99:us requests_per_s:req/s rtt_read4k_us:us
	rtt_read4k_us_p99:us read_mb_s:MB/s read_bytes:bytes vm_exits_per_packet:exits/pkt
	vm_exits_per_packet_net:exits/pkt idle_exits_per_s:exits/s
	notifications_per_packet:notify/pkt portio_per_packet:portio/pkt portio_while_polling:portio
	dbgprint_lines_s:lines/s dbgprint_lines_lost:lines)
ECHO_METRICS=(channel_rtt_us:us channel_rtt_us_p99:us channel_rtt4k_us:us
	channel_rtt4k_us_p99:us)

# Generous bounds: a run that needs more is broken, not slow.
qemu_limit() { [[ $1 == kvm ]] && echo 300 || echo 240; }

# ---- one KD run -----------------------------------------------------------------------

# bench_kd ACCEL TRANSPORT: boots, measures, appends rows to $raw.
bench_kd() {
	local accel=$1 transport=$2 name="$1-$2" small read4k bulk lines
	local dir=$tmp/$name limit firmware endpoint rc=0 console append
	local qemu_extra=() bench_extra=() kd=()
	read -r small read4k bulk lines _ <<<"$(sizes "$accel" "$transport")"
	if [[ $only == dbgprint ]]; then read -r small read4k bulk _ <<<"20 3 32K"; fi
	limit=$(qemu_limit "$accel")
	mkdir -p "$dir"
	append="workload=dbgprint lines=$lines print=counter build=19041"
	echo "# note $accel $transport dbgprint_lines_s: workload print=counter: one fixed line whose number is advanced in place (no vsnprintf), through DbgPrint -> KdpPrint -> KdSendPacket -> the transport, identical for every column; counted at the debugger" >>"$raw"
	console=qemu:none
	[[ ${VMKD_BENCH_CONSOLE:-0} == 1 ]] && console=file:$dir/console
	echo "== $accel / $transport: $small small reads, $read4k 4k reads, $bulk bulk, $lines DbgPrint lines" >&2

	if [[ $transport == hostmem ]]; then
		# The vmkd set-up plus the guest RAM in a file the relay maps, and a QMP socket
		# of the relay's own (QEMU serves one client per QMP socket; the bench has one).
		firmware=seabios
		append="$append debugport=vm"
		kd=(--kd-serial null)
		shm_file=/dev/shm/vmkd-bench-$$-$accel
		relay_start "$dir/relay.log" "$dir/vser.sock" "$dir/dbg.sock" -q \
			--host-ram "$shm_file" --qmp "unix:$dir/qmp-relay.sock" || true
		# shellcheck disable=SC2054 # the commas belong to -device's option string
		qemu_extra=(-device virtio-serial-pci,id=vser0
			-chardev "socket,id=vmkd0,path=$dir/vser.sock,server=off,reconnect=1"
			-device virtserialport,bus=vser0.0,chardev=vmkd0,name=org.vmkd.0
			-object "memory-backend-file,id=vmkd-ram,size=256M,mem-path=$shm_file,share=on,prealloc=on"
			-machine memory-backend=vmkd-ram -S
			-qmp "unix:$dir/qmp-relay.sock,server=on,wait=off")
		bench_extra=(--relay-pid "$relay_pid" --relay-log "$dir/relay.log")
		endpoint=unix:$dir/dbg.sock
	elif [[ $transport == ivshmem ]]; then
		# kdvm.dll on ivshmem-doorbell, the relay its ivshmem server (started first:
		# QEMU connects while realizing the device); the DLL maps it in phase 1.
		firmware=seabios
		append="$append debugport=vm loaderblock=win10-1803 loadoptions=debugport=vm,vmkddev=ivshmem"
		kd=(--kd-serial null)
		relay_start_ivshmem "$dir/relay.log" "$dir/ivs.sock" "$dir/dbg.sock" -q || true
		# shellcheck disable=SC2054 # the commas belong to the option strings
		qemu_extra=(-chardev "socket,id=vmkdivs,path=$dir/ivs.sock"
			-device ivshmem-doorbell,chardev=vmkdivs,vectors=1)
		bench_extra=(--relay-pid "$relay_pid" --relay-log "$dir/relay.log")
		endpoint=unix:$dir/dbg.sock
	elif [[ $transport == serial ]]; then
		# qboot boots in ~0.1 s under KVM and the 16550 needs no PCI.
		firmware=$([[ $accel == kvm ]] && echo qboot || echo seabios)
		kd=(--kd-serial "unix-wait:$dir/kd.sock")
		endpoint=unix:$dir/kd.sock
	else
		# virtio-serial needs PCI BARs: SeaBIOS assigns them, qboot does not.
		firmware=seabios
		append="$append debugport=vm"
		kd=(--kd-serial null)
		relay_start "$dir/relay.log" "$dir/vser.sock" "$dir/dbg.sock" -q || true
		vm_virtio_args "$dir/vser.sock" server=off,reconnect=1
		qemu_extra=("${VM_VIRTIO_ARGS[@]}")
		bench_extra=(--relay-pid "$relay_pid" --relay-log "$dir/relay.log")
		endpoint=unix:$dir/dbg.sock
	fi
	vm_start "$dir/qemu.out" "$dir/qemu.pid" --accel "$accel" --firmware "$firmware" \
		--timeout "$limit" --append "$append" --console "$console" "${kd[@]}" \
		-- -qmp "unix:$dir/qmp.sock,server=on,wait=off" "${qemu_extra[@]}"
	if [[ $transport == hostmem ]]; then bench_dump "$accel" "$dir"; fi

	timeout -k 5 "$limit" "$VMKD" bench --accel "$accel" --transport "$transport" \
		--small "$small" --read4k "$read4k" --bulk "$bulk" --lines "$lines" \
		--idle-ms "$([[ $smoke == 1 ]] && echo 200 || echo 1000)" --wait 90 \
		--qmp "unix:$dir/qmp.sock" "${bench_extra[@]}" --csv "$dir/rows.csv" \
		"$endpoint" 2>"$dir/bench.err" || rc=$?
	sed 's/^/    /' "$dir/bench.err" >&2
	vm_wait 30
	relay_stop
	if [[ -n $shm_file ]]; then
		echo "    $(grep -o 'host RAM [a-z]*: host path.*' "$dir/relay.log" | tail -n 1)" >&2
		rm -f "$shm_file"
		shm_file=""
	fi
	if [[ $rc -ne 0 ]]; then
		echo "    run failed (status $rc); QEMU said: $(tail -n 1 "$dir/qemu.out")" >&2
	fi
	# Progress lines read "vmkd bench: [phase] ..."; the last other line is the error.
	fill_missing "$accel" "$transport" "$dir/rows.csv" \
		"the $transport run failed (status $rc): $(grep -v '^vmkd bench: \[' "$dir/bench.err" |
			tail -n 1 | sed 's/^vmkd bench: //')"
}

# bench_dump ACCEL DIR: `vmkd dump` (raw) of the guest's 256 MiB from host RAM, as users
# run it (all-zero pages left as holes: dump_mb_s) and with --no-sparse (every page
# written: dump_dense_mb_s), each the median of three runs (the machine may be shared).
# QEMU starts stopped (-S) with its RAM file preallocated (every page real), so the guest
# cannot boot past its initial breakpoint without the debugger meanwhile; QMP cont starts
# it after. The timing starts once QEMU answers QMP: its start-up (the preallocation) is
# not the dump's.
bench_dump() {
	local accel=$1 dir=$2 fs
	for _ in {1..100}; do [[ -S $dir/qmp-relay.sock ]] && break; sleep 0.1; done
	for _ in {1..300}; do
		printf '{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n' |
			socat -t 5 - "unix-connect:$dir/qmp-relay.sock" 2>/dev/null |
			grep -q '"status"' && break
		sleep 0.1
	done
	# The relay maps lazily; the dump uses the same QMP socket before it does.
	dump_rows "$accel" "$dir" "$dir" dump_mb_s "all-zero pages left as holes (the default)"
	dump_rows "$accel" "$dir" "$dir" dump_dense_mb_s "every page written" --no-sparse
	# The same into tmpfs: the tool's own rate where the disk does not set it.
	dump_rows "$accel" "$dir" /dev/shm dump_dense_shm_mb_s "every page written" --no-sparse
	printf '{"execute":"qmp_capabilities"}\n{"execute":"cont"}\n' |
		socat -t 2 - "unix-connect:$dir/qmp-relay.sock" >/dev/null 2>&1 || true
}

# dump_rows ACCEL DIR TO METRIC WHAT [DUMP-OPTIONS]: three `vmkd dump -f raw` into directory
# TO, one row (the median rate).
dump_rows() {
	local accel=$1 dir=$2 to=$3 metric=$4 what=$5 fs out line holes rates=() rate
	local file=$3/vmkd-bench-dump-$$.raw
	shift 5
	fs=$(df -T "$to" | awk 'NR == 2 {print $2}')
	for _ in 1 2 3; do
		out=$("$VMKD" dump --qmp "unix:$dir/qmp-relay.sock" --ram "$shm_file" -f raw -q \
			"$@" -o "$file" 2>&1) || true
		rm -f "$file"
		line=$(grep '^dump: .* MB/s' <<<"$out" | head -n 1) || true
		rate=$(sed -nE 's/.* ([0-9.]+) MB\/s.*/\1/p' <<<"$line")
		[[ -n $rate ]] || break
		rates+=("$rate")
		holes=$(sed -nE 's/^dump: ([0-9]+ KiB) of all-zero pages.*/, \1 of them all-zero pages left as holes/p' <<<"$out")
		echo "    $line ($what$holes)" >&2
	done
	if [[ ${#rates[@]} == 3 ]]; then
		rate=$(printf '%s\n' "${rates[@]}" | sort -g | sed -n 2p)
		echo "$accel,hostmem,$metric,$rate,MB/s" >>"$raw"
		echo "# note $accel hostmem $metric: median of 3 runs (${rates[*]} MB/s) of vmkd dump -f raw${*:+ $*} of the 256 MiB of guest RAM, preallocated and not yet booted into, from /dev/shm (tmpfs) to $fs ($to), $what$holes; wall time of the command (QMP, mapping, pause, write, resume)" >>"$raw"
	else
		na_rows "$accel" hostmem "vmkd dump failed: $(tail -n 1 <<<"$out")" "$metric:MB/s"
	fi
}

# fill_missing ACCEL TRANSPORT ROWS WHY: appends ROWS, then n/a rows for metrics it lacks.
fill_missing() {
	local accel=$1 transport=$2 rows=$3 why=$4 m
	[[ -r $rows ]] && cat "$rows" >>"$raw"
	for m in "${KD_METRICS[@]}"; do
		grep -q "^$accel,$transport,${m%%:*}," "$raw" || na_rows "$accel" "$transport" "$why" "$m"
	done
}

# ---- the raw channel: guest echo over virtio-serial, no KD ----------------------------

bench_echo() {
	local accel=$1 dir=$tmp/$1-echo small large rc=0 why limit
	read -r _ _ _ _ small large <<<"$(sizes "$accel" vmkd)"
	limit=$(qemu_limit "$accel")
	mkdir -p "$dir"
	echo "== $accel / channel echo: $small small, $large 4k frames" >&2
	# The console stays on here: it tells a kernel without the echo workload apart.
	vm_virtio_args "$dir/vser.sock" server=on,wait=on
	vm_start "$dir/qemu.out" "$dir/qemu.pid" --accel "$accel" --firmware seabios \
		--timeout "$limit" --append "workload=echo nobreak" --console "file:$dir/console" \
		--kd-serial null -- -qmp "unix:$dir/qmp.sock,server=on,wait=off" "${VM_VIRTIO_ARGS[@]}"
	timeout -k 5 "$limit" "$VMKD" bench --echo --accel "$accel" --transport vmkd \
		--small "$small" --read4k "$large" --wait 60 --qmp "unix:$dir/qmp.sock" \
		--csv "$dir/rows.csv" \
		"unix:$dir/vser.sock" 2>"$dir/bench.err" || rc=$?
	sed 's/^/    /' "$dir/bench.err" >&2
	vm_wait 20
	[[ -r $dir/rows.csv ]] && cat "$dir/rows.csv" >>"$raw"
	if [[ $rc -ne 0 ]]; then
		if grep -q 'unknown workload "echo"' "$dir/console" 2>/dev/null; then
			why="the test kernel has no workload=echo yet (the guest channel core echoing frames; see bench/README.md)"
		elif [[ $rc -eq 3 ]]; then
			why="no guest echo answered on the virtio-serial port"
		else
			why="the echo run failed (status $rc): $(tail -n 1 "$dir/bench.err")"
		fi
		local m
		for m in "${ECHO_METRICS[@]}"; do
			grep -q "^$accel,vmkd,${m%%:*}," "$raw" || na_rows "$accel" vmkd "$why" "$m"
		done
	fi
}

# ---- scale: the relay serving 1, 16 and 64 VMs ------------------------------------------

# bench_scale: one relay serving N VMs played by tests/tools/fake_guest (no QEMU: this
# measures the relay, not the guests), every VM with a debugger attached (N-1 idle
# connections), `vmkd bench` on the first. The small-request round trip should stay flat
# as N grows: the relay's work per request does not depend on how many VMs it serves.
# Rows go to $out/scale.csv (accel "host", transport "relay-NVM"), apart from latest.csv.
# SCALE_QEMU=1 adds a row "64q" (transport relay-64vm-qemu): the last of the 64 VMs is a real
# QEMU (TCG, the test kernel on kdvm.dll, running idle). Not by default: a TCG guest keeps
# one host core busy whether it runs or sits in KD (it polls), so on a small host that row
# measures the contention with QEMU for the CPU, not the relay.
scale_txt=$out/latest.txt
bench_scale() {
	local fake=$BUILD/tests/tools/fake_guest n nf q c i dir spid rpid hpid small read4k tname
	local counts=(1 16 64) csv=$out/scale.csv
	echo "accel,transport,metric,value,unit" >"$csv"
	if [[ ! -x $fake ]] || ! command -v python3 >/dev/null; then
		echo "scale: $fake or python3 missing (make tests); no scale rows" | tee -a "$scale_txt"
		return
	fi
	small=2000 read4k=200
	[[ ${SCALE_QEMU:-0} == 1 ]] && counts+=(64q)
	[[ $smoke == 1 ]] && counts=(1 4) small=20 read4k=3
	for c in "${counts[@]}"; do
		n=${c%q} q=0 tname=relay-${c%q}vm
		if [[ $c == *q ]]; then q=1 tname+=-qemu; fi
		nf=$((n - q))
		dir=$tmp/scale-$c
		mkdir -p "$dir"
		echo "== host / relay serving $n VMs ($q of them QEMU): $small small reads, $read4k 4k reads on vm0" >&2
		: >"$dir/relay.conf"
		local socks=()
		for ((i = 0; i < nf; i++)); do
			socks+=("$dir/g$i.sock")
			echo "vm$i unix:$dir/g$i.sock unix:$dir/d$i.sock" >>"$dir/relay.conf"
		done
		if ((q)); then echo "vm$nf listen:unix:$dir/gq.sock unix:$dir/d$nf.sock" >>"$dir/relay.conf"; fi
		# vm0's guest in a process of its own: the measured path must not include a fake
		# guest polling the other VMs' sockets.
		"$fake" "${socks[0]}" 2>"$dir/fake0.log" &
		spid=$!
		if ((nf > 1)); then
			"$fake" --index 1 "${socks[@]:1}" 2>"$dir/fake.log" &
			spid="$spid $!"
		fi
		for _ in {1..50}; do [[ -S $dir/g$((nf - 1)).sock ]] && break; sleep 0.1; done
		"$VMKD" relay -q --config "$dir/relay.conf" 2>"$dir/relay.log" &
		rpid=$!
		for _ in {1..100}; do [[ -S $dir/d$((n - 1)).sock ]] && break; sleep 0.1; done
		if ((q)); then
			vm_virtio_args "$dir/gq.sock"
			vm_start "$dir/qemu.out" "$dir/qemu.pid" --accel tcg --timeout 600 \
				--append "debugport=vm workload=idle" --console "file:$dir/console" \
				-- "${VM_VIRTIO_ARGS[@]}"
			for _ in {1..1200}; do
				grep -q "vm$nf: guest HELLO from \"kdvm.dll" "$dir/relay.log" && break
				vm_running || break
				sleep 0.1
			done
			grep -q "vm$nf: guest HELLO from \"kdvm.dll" "$dir/relay.log" ||
				echo "    the QEMU VM did not come up: $(tail -n 1 "$dir/qemu.out")" >&2
		fi
		# The other VMs' debuggers: attached, idle.
		local holders=()
		for ((i = 1; i < n; i++)); do holders+=("$dir/d$i.sock"); done
		python3 -c '
import socket, sys, time
held = []
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    s.connect(p)
    held.append(s)
time.sleep(3600)
' "${holders[@]}" &
		hpid=$!
		sleep 1
		timeout -k 5 120 "$VMKD" bench --accel host --transport "$tname" \
			--small "$small" --read4k "$read4k" --bulk 64K --lines 0 --idle-ms 0 \
			--wait 30 --csv "$dir/rows.csv" "unix:$dir/d0.sock" </dev/null 2>"$dir/bench.err" ||
			echo "    scale run with $n VMs failed: $(tail -n 1 "$dir/bench.err")" >&2
		if ((q)); then vm_stop; fi
		# shellcheck disable=SC2086 # $spid is one or two pids
		kill "$hpid" "$rpid" $spid 2>/dev/null || true
		# shellcheck disable=SC2086
		wait "$hpid" "$rpid" $spid 2>/dev/null || true
		grep -E ',(rtt_small_us|rtt_small_us_p99|requests_per_s|rtt_read4k_us),' \
			"$dir/rows.csv" >>"$csv" 2>/dev/null || true
	done
	{
		echo "== scale: one relay, N VMs (fake guests; 64q: one of them QEMU), a debugger on each; vm0 measured"
		printf '%-12s %14s %18s %16s %15s\n' VMs rtt_small_us rtt_small_us_p99 requests_per_s rtt_read4k_us
		for c in "${counts[@]}"; do
			tname=relay-${c%q}vm
			if [[ $c == *q ]]; then tname+=-qemu; fi
			printf '%-12s' "$c"
			for m in rtt_small_us rtt_small_us_p99 requests_per_s rtt_read4k_us; do
				printf ' %14s' "$(grep "^host,$tname,$m," "$csv" | cut -d, -f4)"
			done
			echo
		done
	} | tee -a "$scale_txt"
}

# ---- run everything -------------------------------------------------------------------

start=$SECONDS
if [[ $only == scale ]]; then
	scale_txt=$out/scale.txt # latest.txt keeps the last full run's table
	: >"$scale_txt"
	bench_scale
	echo "csv: $out/scale.csv, table: $scale_txt ($((SECONDS - start)) s)"
	exit 0
fi
for accel in "${accels[@]}"; do
	if [[ $only == hostmem ]]; then
		if [[ $have_vmkd == 1 && -w /dev/shm ]]; then bench_kd "$accel" hostmem; fi
		continue
	fi
	if [[ $only == dbgprint ]]; then
		bench_kd "$accel" serial
		if [[ $have_vmkd == 1 ]]; then
			bench_kd "$accel" vmkd
			bench_kd "$accel" ivshmem
		fi
		continue
	fi
	bench_kd "$accel" serial
	if [[ $have_vmkd == 1 ]]; then
		bench_kd "$accel" vmkd
		if [[ -w /dev/shm ]]; then
			bench_kd "$accel" hostmem
		else
			na_rows "$accel" hostmem "/dev/shm is not writable here" "${KD_METRICS[@]}" \
				dump_mb_s:MB/s dump_dense_mb_s:MB/s dump_dense_shm_mb_s:MB/s
		fi
		bench_kd "$accel" ivshmem
		na_rows "$accel" ivshmem "the raw-channel echo (workload=echo) runs over virtio-serial only" \
			"${ECHO_METRICS[@]}"
		bench_echo "$accel"
	else
		na_rows "$accel" vmkd "$vmkd_why" "${KD_METRICS[@]}" "${ECHO_METRICS[@]}"
		na_rows "$accel" ivshmem "$vmkd_why" "${KD_METRICS[@]}" "${ECHO_METRICS[@]}"
	fi
	na_rows "$accel" serial "channel_rtt is the floor of the virtio-serial channel; the serial baseline has none" \
		"${ECHO_METRICS[@]}"
done

# ---- results --------------------------------------------------------------------------

{
	echo "accel,transport,metric,value,unit"
	grep -v '^#' "$raw"
} >"$out/latest.csv"
sed -n 's/^# note //p' "$raw" >"$out/latest.notes"
{
	echo "# vmkd bench, $(date -u +%Y-%m-%dT%H:%M:%SZ), $qemu_version$([[ $smoke == 1 ]] && echo ', SMOKE sizes')"
	for accel in "${accels[@]}"; do
		echo "# sizes $accel serial: $(sizes "$accel" serial)"
		echo "# sizes $accel vmkd: $(sizes "$accel" vmkd)"
		echo "# sizes $accel hostmem: $(sizes "$accel" hostmem)"
		echo "# sizes $accel ivshmem: $(sizes "$accel" ivshmem)"
	done
	[[ $only == dbgprint ]] && echo "# --only dbgprint: request phases at 20 3 32K (smoke sizes)"
	[[ -n $kvm_note ]] && echo "# $kvm_note"
	cat "$out/latest.csv"
} >"$tmp/table-input"
bench/table.sh "$tmp/table-input" "$out/latest.notes" | tee "$out/latest.txt"
if command -v gnuplot >/dev/null; then
	bench/plot.sh "$out/latest.csv" "$out/latest.png" "$qemu_version" &&
		echo "plot: $out/latest.png"
else
	echo "plot: gnuplot is not installed (apt-get install gnuplot-nox); no PNG"
fi
[[ $only == dbgprint ]] || bench_scale
echo "csv: $out/latest.csv, $out/scale.csv ($((SECONDS - start)) s)"
