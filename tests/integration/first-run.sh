#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# first-run.sh - `make demo` as the first command on a fresh machine, without QEMU: a copy
# of the source tree (the files git tracks, as a clone has them) is built where the mingw-w64
# cross compiler is not on PATH while make parses the Makefile and appears only when the
# `deps` step runs (a stand-in scripts/install-deps.sh puts wrappers for it on PATH, as
# apt-get would; a stand-in scripts/demo.sh reports what was built instead of booting).
# Checks: kdvm.dll is built and embedded in the test kernel; with no cross compiler at all
# the build stops with a message instead of dropping the DLL; `make KDVM_EMBED=` still
# builds without it. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# A user types `make demo` at a shell: no parent make (under `make check` the inherited
# MAKEFLAGS/MAKELEVEL would add "Entering directory" lines to what the checks read).
unset MAKEFLAGS MAKELEVEL MFLAGS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-first-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
show() { tail -n "${2:-15}" "$1" | sed 's/^/    | /'; }

mingw_gcc=$(command -v x86_64-w64-mingw32-gcc)
mingw_windres=$(command -v x86_64-w64-mingw32-windres)
if [[ -z $mingw_gcc || -z $mingw_windres ]]; then
	fail "mingw-w64 is not installed here (scripts/install-deps.sh installs it)"
	echo "$passed passed, $failed failed"
	exit 1
fi

# A PATH like this machine's, minus mingw-w64: every directory's programs linked into one
# directory, the x86_64-w64-mingw32-* ones left out. $tmp/late comes first and is empty
# until the stand-in deps step fills it.
mkdir -p "$tmp/sysbin" "$tmp/late"
IFS=: read -ra path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
	[[ -d $d ]] || continue
	for f in "$d"/*; do
		b=${f##*/}
		[[ $b == x86_64-w64-mingw32-* || -e $tmp/sysbin/$b || ! -x $f ]] && continue
		ln -s "$f" "$tmp/sysbin/$b"
	done
done
fresh_path=$tmp/late:$tmp/sysbin

# The tree as a clone has it: tracked files, no build directory.
src=$tmp/src
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z | xargs -0 tar cf - | tar xf - -C "$src"
else # an unpacked tarball: everything but what builds make
	tar cf - --exclude=./build --exclude=./.git . | tar xf - -C "$src"
fi
rm -rf "$src/build"

# The stand-ins: deps "installs" mingw-w64, the demo says what it was given.
cat >"$src/scripts/install-deps.sh" <<EOF
#!/usr/bin/env bash
printf '#!/bin/sh\nexec %s "\$@"\n' "$mingw_gcc" >"$tmp/late/x86_64-w64-mingw32-gcc"
printf '#!/bin/sh\nexec %s "\$@"\n' "$mingw_windres" >"$tmp/late/x86_64-w64-mingw32-windres"
chmod +x "$tmp/late/"*
echo "stand-in deps: mingw-w64 installed"
EOF
cat >"$src/scripts/demo.sh" <<'EOF'
#!/usr/bin/env bash
echo "stand-in demo: $(ls build/guest/kdvm.dll build/target/vmkd-target.bin 2>&1 | tr '\n' ' ')"
EOF
chmod +x "$src/scripts/install-deps.sh" "$src/scripts/demo.sh"

# blob_size ELF: bytes of kdvm.dll embedded in the kernel (kdvm_dll_end - kdvm_dll_start).
blob_size() {
	local s e
	s=$(nm "$1" 2>/dev/null | awk '$3 == "kdvm_dll_start" { print $1 }')
	e=$(nm "$1" 2>/dev/null | awk '$3 == "kdvm_dll_end" { print $1 }')
	if [[ -n $s && -n $e ]]; then echo $((16#$e - 16#$s)); else echo -1; fi
}

echo "== no cross compiler at all: the build stops and says why"
(cd "$src" && PATH=$fresh_path make -j2 all >"$tmp/none.log" 2>&1)
rc=$?
check "make all fails without mingw-w64 (status $rc)" test "$rc" -ne 0
check "... naming the missing compiler and what to do" \
	grep -q "x86_64-w64-mingw32-gcc not found: kdvm.dll .*make deps" "$tmp/none.log"
check "... and leaves no kernel without kdvm.dll behind" test ! -e "$src/build/target/vmkd-target.bin"
[[ $failed -eq 0 ]] || show "$tmp/none.log" 4

echo "== make demo: the cross compiler arrives with deps, after make started"
(cd "$src" && PATH=$fresh_path make -j2 demo >"$tmp/demo.log" 2>&1)
rc=$?
check "make demo succeeds (status $rc)" test "$rc" -eq 0
check "deps ran before anything was built" \
	test "$(grep -n -m 1 'stand-in deps' "$tmp/demo.log" | cut -d: -f1)" == 1
check "kdvm.dll was built" test -s "$src/build/guest/kdvm.dll"
dll_size=$(stat -c %s "$src/build/guest/kdvm.dll" 2>/dev/null || echo 0)
size=$(blob_size "$src/build/target/vmkd-target.elf")
check "the test kernel embeds it ($size bytes embedded, the DLL has $dll_size)" \
	test "$size" -eq "$dll_size" -a "$dll_size" -gt 0
check "the demo ran after the build" grep -q "stand-in demo: build/guest/kdvm.dll" "$tmp/demo.log"
check "no 'not built' warning on the way" test "$(grep -c 'kdvm.dll is not built' "$tmp/demo.log")" -eq 0
[[ $rc -eq 0 ]] || show "$tmp/demo.log"

echo "== make KDVM_EMBED=: a kernel without kdvm.dll, on purpose"
rm -rf "$tmp/late/"*
(cd "$src" && PATH=$fresh_path make -j2 BUILD=build/nodll KDVM_EMBED= all >"$tmp/nodll.log" 2>&1)
rc=$?
check "make KDVM_EMBED= all builds without mingw-w64 (status $rc)" test "$rc" -eq 0
check "... a kernel with nothing embedded" \
	test "$(blob_size "$src/build/nodll/target/vmkd-target.elf")" -eq 0
[[ $rc -eq 0 ]] || show "$tmp/nodll.log"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
