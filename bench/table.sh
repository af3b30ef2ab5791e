#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# table.sh - prints the benchmark table: per accelerator one row per metric with the serial,
# vmkd, host RAM (hostmem: vmkd with the relay's host path) and ivshmem (kdvm.dll on the
# ivshmem-doorbell backend, docs/windows.md section 6) values and their gains over
# serial, then the targets (met or missed) and the notes.
#
# usage: bench/table.sh INPUT NOTES
#   INPUT  "# ..." header lines (QEMU version, sizes), then the CSV with its header
#   NOTES  lines "ACCEL TRANSPORT METRIC: text" (latest.notes)
set -euo pipefail
input=${1?usage: table.sh INPUT NOTES}
notes=${2?usage: table.sh INPUT NOTES}

awk -F, -v notes="$notes" '
# Rates: more is better, gain = vmkd / serial. Sizes and losses: no gain. Else costs.
function kind(m) {
	if (m ~ /^(requests_per_s|read_mb_s|dbgprint_lines_s|dump_mb_s|dump_dense_mb_s|dump_dense_shm_mb_s)$/) return "rate"
	if (m ~ /^(read_bytes|dbgprint_lines_lost)$/) return "none"
	return "cost"
}
function num(v) { return v != "" && v != "n/a" }
function fmt(v) {
	if (!num(v)) return v == "" ? "-" : v
	if (v == int(v) && v < 1e12) return sprintf("%d", v)
	if (v >= 100) return sprintf("%.0f", v)
	return sprintf("%.3g", v)
}
function gain(m, s, v,   k, r) {
	k = kind(m)
	if (k == "none" || !num(s) || !num(v) || s + 0 <= 0 || v + 0 <= 0) return "-"
	r = k == "rate" ? v / s : s / v
	return r >= 1000 ? sprintf("%.0fx", r) : sprintf("%.3gx", r)
}
function verdict(ok) { return ok ? "met" : "MISSED" }

/^#/ { sub(/^# ?/, ""); header[++nh] = $0; next }
$1 == "accel" { next }
{
	if (!($1 in seen_accel)) { seen_accel[$1] = 1; accels[++na] = $1 }
	key = $1 SUBSEP $3
	if (!(key in seen_metric)) { seen_metric[key] = 1; order[$1, ++nm[$1]] = $3 }
	val[$1, $2, $3] = $4
	unit[$3] = $5
}
END {
	for (i = 1; i <= nh; i++) print header[i]
	while ((getline line < notes) > 0) {
		split(line, w, " ")
		note[w[1]] = note[w[1]] "    " substr(line, length(w[1]) + 2) "\n"
	}
	for (a = 1; a <= na; a++) {
		acc = accels[a]
		printf "\n== accelerator %s\n", acc
		printf "%-28s %-12s %14s %14s %10s %14s %10s %14s %10s\n", "metric", "unit",
			"serial", "vmkd", "vmkd gain", "host RAM", "host gain", "ivshmem", "ivs gain"
		for (i = 1; i <= nm[acc]; i++) {
			m = order[acc, i]
			s = val[acc, "serial", m]; v = val[acc, "vmkd", m]; h = val[acc, "hostmem", m]
			x = val[acc, "ivshmem", m]
			printf "%-28s %-12s %14s %14s %10s %14s %10s %14s %10s\n", m, unit[m], fmt(s),
				fmt(v), gain(m, s, v), fmt(h), gain(m, s, h), fmt(x), gain(m, s, x)
		}
		printf "targets (%s):\n", acc
		s = val[acc, "serial", "rtt_read4k_us"]; v = val[acc, "vmkd", "rtt_read4k_us"]
		want = acc == "kvm" ? 1000 : 100
		if (num(s) && num(v))
			printf "  rtt_read4k vmkd >= %dx faster than serial: %s (%.3gx)\n", want,
				verdict(s / v >= want), s / v
		else
			printf "  rtt_read4k vmkd >= %dx faster than serial: n/a\n", want
		s = val[acc, "serial", "rtt_read4k_us"]; h = val[acc, "hostmem", "rtt_read4k_us"]
		if (num(s) && num(h))
			printf "  rtt_read4k host RAM >= 1000x faster than serial: %s (%.3gx)\n",
				verdict(s / h >= 1000), s / h
		else
			printf "  rtt_read4k host RAM >= 1000x faster than serial: n/a\n"
		h = val[acc, "hostmem", "read_mb_s"]
		printf "  read_mb_s through the host path >= 200 MB/s: %s\n",
			num(h) ? verdict(h >= 200) " (" fmt(h) ")" : "n/a"
		h = val[acc, "hostmem", "dump_mb_s"]; d = val[acc, "hostmem", "dump_dense_mb_s"]
		t = val[acc, "hostmem", "dump_dense_shm_mb_s"]
		printf "  vmkd dump >= 1000 MB/s: %s%s%s\n", num(h) ? verdict(h >= 1000) " (" fmt(h) ")" : "n/a",
			num(d) ? "; every page written (--no-sparse): " fmt(d) " MB/s" : "",
			num(t) ? ", into tmpfs " fmt(t) " MB/s" : ""
		v = val[acc, "vmkd", "rtt_small_us"]; c = val[acc, "vmkd", "channel_rtt_us"]
		if (num(v) && num(c))
			printf "  rtt_small within 2x of channel_rtt: %s (%s us = %.3gx of %s us)\n",
				verdict(v <= 2 * c), fmt(v), v / c, fmt(c)
		else
			printf "  rtt_small within 2x of channel_rtt: n/a (no channel_rtt measurement)\n"
		v = val[acc, "vmkd", "notifications_per_packet"]
		printf "  <= 1 notification per packet sent: %s\n",
			num(v) ? verdict(v <= 1) " (" fmt(v) ")" : "n/a"
		v = val[acc, "vmkd", "portio_while_polling"]
		printf "  0 port I/O while polling: %s\n", num(v) ? verdict(v == 0) " (" fmt(v) ")" : "n/a"
		s = val[acc, "serial", "dbgprint_lines_s"]; v = val[acc, "vmkd", "dbgprint_lines_s"]
		l = val[acc, "vmkd", "dbgprint_lines_lost"]
		want = acc == "kvm" ? 20 : 100
		if (num(s) && num(v) && s + 0 > 0)
			printf "  dbgprint_lines_s vmkd >= %dx serial, 0 lost: %s (%.3gx, %s lost)\n", want,
				verdict(v / s >= want && l == 0), v / s, fmt(l)
		else
			printf "  dbgprint_lines_s vmkd >= %dx serial, 0 lost: n/a\n", want
		printf "notes (%s):\n%s", acc, note[acc]
	}
}' "$input"
