#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pdb-symsrv.sh - PDB symbols from a symbol path and a symbol server, end to end.
#
# Uses the DLL + PDB that `make tests` builds with clang and lld-link ($BUILD/pdbtest; this
# script builds nothing). Checks `vmkd pdb` against llvm-pdbutil's list of publics, then
# serves a symbol store from a local HTTP server (python3 -m http.server on 127.0.0.1, a
# free port, killed by pid) and checks `vmkd symfetch`: a download into the cache that is
# byte-identical to the PDB, a second lookup answered by the cache with no request, a clean
# "not found" on HTTP 404, a rejected non-PDB answer, no request without a server.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
vmkd=$BUILD/vmkd
dll=$BUILD/pdbtest/pdbtest.dll
pdb=$BUILD/pdbtest/pdbtest.pdb
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-pdb-symsrv.XXXXXX")
server_pid=
cleanup() {
	[[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
# check NAME EXPECTED ACTUAL
check() {
	if [[ $2 == "$3" ]]; then pass "$1 = $3"; else fail "$1: expected '$2', got '$3'"; fi
}
finish() {
	echo "$passed passed, $failed failed"
	[[ $failed -eq 0 ]]
	exit
}

for f in "$vmkd" "$dll" "$pdb"; do
	if [[ ! -f $f ]]; then
		fail "$f is missing (run make all tests)"
		finish
	fi
done

# --- vmkd pdb: identity and publics, against llvm-pdbutil when it is installed ---
key=$("$vmkd" pdb "$pdb" | sed -n 's/.*(store key \([0-9A-F]*\)).*/\1/p')
if [[ $key =~ ^[0-9A-F]{33,40}$ ]]; then pass "store key $key"; else fail "store key '$key'"; fi
"$vmkd" pdb --publics "$pdb" | awk '$2 ~ /^p/ {print $3}' | sort >"$tmp/ours"
check "vmkd pdb --publics count" 4 "$(wc -l <"$tmp/ours")"
pdbutil=$(command -v llvm-pdbutil || command -v llvm-pdbutil-14 || true)
if [[ -n $pdbutil ]]; then
	"$pdbutil" dump --publics "$pdb" | sed -n 's/.*S_PUB32 .*`\(.*\)`$/\1/p' | sort >"$tmp/theirs"
	if [[ -s $tmp/theirs ]] && cmp -s "$tmp/ours" "$tmp/theirs"; then
		pass "publics match llvm-pdbutil ($(tr '\n' ' ' <"$tmp/ours"))"
	else
		fail "publics differ from llvm-pdbutil: $(diff "$tmp/ours" "$tmp/theirs" | tr '\n' ' ')"
	fi
fi
rva=$("$vmkd" pdb --procs "$pdb" | awk '$3 == "pdbtest_helper" {print $1 " " $2}')
check "static procedure from the module stream" "00001020 lproc" "$rva"

# --- a symbol store behind a local HTTP server ---
root=$tmp/www
mkdir -p "$root/good/pdbtest.pdb/$key" "$root/empty" "$root/bad/pdbtest.pdb/$key/pdbtest.pdb"
cp "$pdb" "$root/good/pdbtest.pdb/$key/pdbtest.pdb"
echo "not a pdb" >"$root/bad/pdbtest.pdb/$key/pdbtest.pdb/index.html"
python3 -u -m http.server --bind 127.0.0.1 --directory "$root" 0 >"$tmp/http.out" 2>"$tmp/http.log" &
server_pid=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$tmp/http.out" | head -n 1)
	[[ -n $port ]] && break
	sleep 0.1
done
if [[ -z $port ]]; then
	fail "the HTTP server did not start: $(cat "$tmp/http.log")"
	finish
fi
url=http://127.0.0.1:$port
requests() { grep -c "GET /$1/pdbtest.pdb/$key/pdbtest.pdb" "$tmp/http.log"; }

cache=$tmp/cache
out=$("$vmkd" symfetch --sympath "srv*$cache*$url/good" "$dll" 2>"$tmp/err1")
check "symfetch exit status" 0 $?
want="$dll: pdbtest.pdb $key -> $cache/pdbtest.pdb/$key/pdbtest.pdb"
check "symfetch result" "$want" "$out"
if cmp -s "$pdb" "$cache/pdbtest.pdb/$key/pdbtest.pdb"; then
	pass "the downloaded PDB is identical to the served one"
else
	fail "the downloaded PDB differs"
fi
check "requests after the download" 1 "$(requests good)"
if grep -q "^symsrv: GET $url/good/pdbtest.pdb/$key/pdbtest.pdb" "$tmp/err1" &&
	grep -q "^symsrv: pdbtest.pdb: $(stat -c %s "$pdb") bytes" "$tmp/err1"; then
	pass "progress lines on stderr"
else
	fail "progress lines: $(cat "$tmp/err1")"
fi

# The same lookup again, from _NT_SYMBOL_PATH: the cache answers, the server sees nothing.
out=$(_NT_SYMBOL_PATH="srv*$cache*$url/good" "$vmkd" symfetch "$dll" 2>"$tmp/err2")
check "cached symfetch exit status" 0 $?
check "cached symfetch result" "$want" "$out"
check "requests after the cached lookup" 1 "$(requests good)"

# A server without the file: not found, cleanly, nothing left in the cache.
out=$("$vmkd" symfetch --sympath "srv*$tmp/cache2*$url/empty" "$dll" 2>"$tmp/err3")
check "404 exit status" 1 $?
check "404 result" "$dll: pdbtest.pdb $key -> not found" "$out"
if grep -q "not found on the server (HTTP 404)" "$tmp/err3"; then
	pass "404 reported as not found on the server"
else
	fail "404 message: $(cat "$tmp/err3")"
fi
check "files left in the cache after a 404" 0 "$(find "$tmp/cache2" -type f 2>/dev/null | wc -l)"

# A server answering with something that is not this PDB: refused, not cached.
out=$("$vmkd" symfetch --sympath "srv*$tmp/cache3*$url/bad" "$dll" 2>"$tmp/err4")
check "bad answer exit status" 2 $?
if grep -q "is not the PDB asked for" "$tmp/err4"; then
	pass "a non-PDB answer is refused"
else
	fail "bad answer message: $(cat "$tmp/err4")"
fi
check "files left in the cache after a bad answer" 0 "$(find "$tmp/cache3" -type f | wc -l)"

# No server in the path: local folders only, no request at all.
before=$(wc -l <"$tmp/http.log")
out=$("$vmkd" symfetch --sympath "$tmp/cache2;srv*$tmp/cache3" "$dll" 2>/dev/null)
check "no-server exit status" 1 $?
check "no-server requests" "$before" "$(wc -l <"$tmp/http.log")"
# A plain folder with the PDB in it.
mkdir -p "$tmp/flat" && cp "$pdb" "$tmp/flat/"
out=$("$vmkd" symfetch --sympath "$tmp/flat" "$dll" 2>/dev/null)
check "plain folder result" "$dll: pdbtest.pdb $key -> $tmp/flat/pdbtest.pdb" "$out"
# No symbol path at all: an error that says what to do.
msg=$(env -u _NT_SYMBOL_PATH "$vmkd" symfetch "$dll" 2>&1)
check "no symbol path exit status" 2 $?
[[ $msg == *"_NT_SYMBOL_PATH"* ]] && pass "no symbol path message" || fail "message: $msg"

finish
