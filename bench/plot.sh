#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# plot.sh - the benchmark as a PNG: per accelerator, serial and vmkd side by side for each
# headline metric, on a log scale (the two differ by orders of magnitude). gnuplot-nox.
#
# usage: bench/plot.sh CSV PNG [TITLE]
set -euo pipefail
csv=${1?usage: plot.sh CSV PNG [TITLE]}
png=${2?usage: plot.sh CSV PNG [TITLE]}
title=${3:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-plot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Headline metrics, in plot order, with their axis labels; "*" marks a cost (lower is better).
metrics="rtt_small_us:rtt 16 B (us)*
rtt_read4k_us:rtt 3944 B (us)*
channel_rtt_us:channel rtt (us)*
requests_per_s:requests/s
read_mb_s:bulk read (MB/s)
dbgprint_lines_s:DbgPrint lines/s
notifications_per_packet:notify/packet*"

accels=$(awk -F, 'NR > 1 && !seen[$1]++ { print $1 }' "$csv")
n=0
for a in $accels; do
	n=$((n + 1))
	# One data file per accelerator: label, serial, vmkd ("?" = not measured).
	while IFS=: read -r m label; do
		awk -F, -v a="$a" -v m="$m" -v label="$label" '
			$1 == a && $3 == m { v[$2] = ($4 == "n/a" || $4 + 0 <= 0) ? "?" : $4 }
			END { printf "\"%s\" %s %s\n", label, ("serial" in v) ? v["serial"] : "?",
				("vmkd" in v) ? v["vmkd"] : "?" }' "$csv"
	done <<<"$metrics" >"$tmp/$a.dat"
done
[[ $n -gt 0 ]] || { echo "plot.sh: no rows in $csv" >&2; exit 1; }

{
	echo "set terminal pngcairo size $((560 * n)),520 font 'sans,9' noenhanced"
	echo "set output '$png'"
	echo "set multiplot layout 1,$n title \"vmkd bench: serial (KDCOM on a 16550) vs vmkd (kdvm.dll over virtio-serial), log scale${title:+\\n$title}\""
	echo "set datafile missing '?'"
	echo "set style data histogram"
	echo "set style histogram clustered gap 1"
	echo "set style fill solid 0.85 border -1"
	echo "set logscale y"
	echo "set format y '%g'"
	echo "set grid ytics"
	echo "set xtics rotate by 35 right"
	echo "set key top right"
	echo "set bmargin 7"
	echo "set offsets 0, 0, graph 0.08, 0"
	echo "set label 1 '* lower is better' at graph 0.01, graph 0.97"
	for a in $accels; do
		echo "set title 'accelerator: $a'"
		echo "plot '$tmp/$a.dat' using 2:xtic(1) title 'serial' lc rgb '#c0504d', \\"
		echo "  '' using 3 title 'vmkd' lc rgb '#4f81bd', \\"
		echo "  '' using (\$0 - 0.17):2:(\$2 >= 1000 ? sprintf('%.0f', \$2) : sprintf('%.3g', \$2)) with labels offset 0,0.6 font ',7' notitle, \\"
		echo "  '' using (\$0 + 0.17):3:(\$3 >= 1000 ? sprintf('%.0f', \$3) : sprintf('%.3g', \$3)) with labels offset 0,0.6 font ',7' notitle"
	done
	echo "unset multiplot"
} >"$tmp/plot.gp"
gnuplot "$tmp/plot.gp"
