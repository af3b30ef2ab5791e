#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# man-pages.sh - every man page in docs/man renders without a warning (groff -ww, man -l),
# every command `vmkd --help` lists has its page and its --help (usage on stdout, exit 0),
# wrong usage exits 2, --version agrees with the pages, and SEE ALSO names pages that
# exist. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }

for tool in groff man; do
	command -v "$tool" >/dev/null || { fail "$tool is missing (make deps: groff-base, man-db)"; }
done
[[ $failed -eq 0 && -x $BUILD/vmkd ]] || { fail "need groff, man and $BUILD/vmkd"; echo "$passed passed, $failed failed"; exit 1; }

version=$("$BUILD/vmkd" --version)
check "vmkd --version prints 'vmkd VERSION' (got '$version')" grep -qE '^vmkd [0-9]+\.[0-9]+\.[0-9]+' <<<"$version"
base=$(sed -E 's/^vmkd ([0-9]+\.[0-9]+\.[0-9]+).*/\1/' <<<"$version")

pages=(docs/man/*.1)
check "docs/man has pages (${#pages[@]})" test "${#pages[@]}" -ge 8
for p in "${pages[@]}"; do
	pg=$(basename "$p" .1)
	groff -man -ww -z "$p" >"$tmp/groff.err" 2>&1
	check "$pg: groff -man -ww: no warnings" test ! -s "$tmp/groff.err"
	[[ -s $tmp/groff.err ]] && sed 's/^/    /' "$tmp/groff.err"
	MANWIDTH=80 man -l "$p" >"$tmp/$pg.txt" 2>"$tmp/man.err"
	check "$pg: man -l renders it (exit 0, nothing on stderr)" test $? -eq 0 -a ! -s "$tmp/man.err"
	check "$pg: NAME, SYNOPSIS, DESCRIPTION and SEE ALSO sections" \
		eval 'grep -q "^NAME" "$tmp/$pg.txt" && grep -q "^SYNOPSIS" "$tmp/$pg.txt" && grep -q "^DESCRIPTION" "$tmp/$pg.txt" && grep -q "^SEE ALSO" "$tmp/$pg.txt"'
	check "$pg: .TH names vmkd $base" grep -qE "^\.TH .*\"vmkd $base\"" "$p"
	# SEE ALSO: every vmkd page it names exists.
	missing=""
	for ref in $(sed -n '/^SEE ALSO/,$p' "$tmp/$pg.txt" | grep -oE 'vmkd(-[a-z-]+)?\(1\)' | sed 's/(1)//'); do
		[[ -r docs/man/$ref.1 ]] || missing+=" $ref"
	done
	check "$pg: the vmkd pages of SEE ALSO exist${missing:+ (missing:$missing)}" test -z "$missing"
done

# Every command of `vmkd --help`.
"$BUILD/vmkd" --help >"$tmp/help" 2>&1
check "vmkd --help exits 0" test $? -eq 0
mapfile -t cmds < <(sed -n '/^commands:/,/^$/p' "$tmp/help" | awk 'NF >= 2 && /^  [a-z]/ {print $1}')
check "vmkd --help lists commands (${cmds[*]})" test "${#cmds[@]}" -ge 5
for c in "${cmds[@]}"; do
	check "$c: has a man page vmkd-$c.1" test -r "docs/man/vmkd-$c.1"
	check "vmkd.1 lists $c" grep -qE "^\.B $(sed 's/-/\\\\-/g' <<<"$c")\$" docs/man/vmkd.1
	"$BUILD/vmkd" "$c" --help >"$tmp/out" 2>"$tmp/err"
	rc=$?
	check "$c --help: exit 0 (got $rc), usage on stdout, nothing on stderr" \
		eval '[[ $rc -eq 0 ]] && grep -q "^usage: vmkd $c" "$tmp/out" && [[ ! -s $tmp/err ]]'
	"$BUILD/vmkd" "$c" --no-such-option >"$tmp/bad.out" 2>"$tmp/bad.err"
	rc=$?
	check "$c --no-such-option: exit 2 (got $rc), a message on stderr, nothing on stdout" \
		eval '[[ $rc -eq 2 && -s $tmp/bad.err && ! -s $tmp/bad.out ]]'
	check "$c --version: the same version" test "$("$BUILD/vmkd" "$c" --version)" == "$version"
	# The options of --help appear in the man page.
	miss=""
	for o in $(grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9-]+' "$tmp/out" 2>/dev/null | grep -oE -- '--[a-z0-9-]+'); do
		"$BUILD/vmkd" "$c" --help | grep -qE -- "$o" || continue
		grep -qF -- "$(sed 's/-/\\-/g' <<<"$o")" "docs/man/vmkd-$c.1" || miss+=" $o"
	done
	check "$c: every option of --help is in vmkd-$c.1${miss:+ (missing:$miss)}" test -z "$miss"
done
"$BUILD/vmkd" no-such-command >/dev/null 2>&1
check "an unknown command exits 2" test $? -eq 2
"$BUILD/vmkd" >/dev/null 2>&1
check "no command exits 2" test $? -eq 2

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
