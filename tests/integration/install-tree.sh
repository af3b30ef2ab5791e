#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install-tree.sh - `make install DESTDIR=... PREFIX=/usr` installs exactly the expected
# tree with the right modes; the installed binary runs (--version) and its man pages are
# found; the systemd unit names the installed paths, has its runtime directory and
# hardening, and passes `systemd-analyze verify`; the example configuration is one the
# relay accepts; `make uninstall` removes everything it installed and keeps relay.conf.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-install.XXXXXX")
relay_pid=
cleanup() {
	[[ -n $relay_pid ]] && kill "$relay_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }

root=$tmp/root
make --no-print-directory -s install BUILD="$BUILD" DESTDIR="$root" PREFIX=/usr >"$tmp/install.log" 2>&1
rc=$?
check "make install DESTDIR=... PREFIX=/usr exits 0 (got $rc)" test "$rc" -eq 0
[[ $rc -eq 0 ]] || sed 's/^/    /' "$tmp/install.log" | tail -n 20

# The expected tree. The docs are every docs/*.md of the source tree (other pages come
# and go); everything else is listed by name.
{
	printf '%s\n' /usr/bin/vmkd /etc/vmkd/relay.conf.example \
		/usr/lib/systemd/system/vmkd-relay.service /usr/lib/sysusers.d/vmkd.conf \
		/usr/share/doc/vmkd/README.md /usr/share/doc/vmkd/LICENSE \
		/usr/share/vmkd/windows/install-kdvm.ps1 /usr/share/vmkd/windows/install-kdvm.cmd
	for p in vmkd vmkd-attach vmkd-relay vmkd-bench vmkd-qemu-args vmkd-libvirt vmkd-gdb vmkd-dump \
		vmkd-pdb vmkd-symfetch vmkd-log vmkd-trace vmkd-replay; do
		echo "/usr/share/man/man1/$p.1"
	done
	for d in docs/*.md; do echo "/usr/share/doc/vmkd/$(basename "$d")"; done
	[[ -r $BUILD/guest/kdvm.dll ]] && echo /usr/share/vmkd/windows/kdvm.dll
} | sort >"$tmp/want"
(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort) >"$tmp/got"
diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"
check "the installed files are exactly the expected $(wc -l <"$tmp/want")" test ! -s "$tmp/diff"
sed 's/^/    /' "$tmp/diff"
[[ -r $BUILD/guest/kdvm.dll ]] ||
	echo "    (kdvm.dll not built here: no mingw-w64; it is not expected in the tree)"

modes=$(cd "$root" && find . -type f -printf '%m %p\n' | sort -k2)
check "the binary is mode 755" grep -qx '755 ./usr/bin/vmkd' <<<"$modes"
check "every other file is mode 644" \
	test -z "$(grep -v ' ./usr/bin/vmkd$' <<<"$modes" | grep -v '^644 ')"
if [[ -r $BUILD/guest/kdvm.dll ]]; then
	check "kdvm.dll is installed byte for byte" cmp -s "$BUILD/guest/kdvm.dll" "$root/usr/share/vmkd/windows/kdvm.dll"
fi

# The installed binary.
got=$("$root/usr/bin/vmkd" --version 2>&1)
check "the installed vmkd --version runs: '$got'" test "$got" == "$("$BUILD/vmkd" --version)" -a -n "$got"
"$root/usr/bin/vmkd" qemu-args --help >/dev/null 2>&1
check "the installed vmkd qemu-args --help exits 0" test $? -eq 0
page=$(MANPATH=$root/usr/share/man man -w vmkd-relay 2>/dev/null)
check "man finds the installed vmkd-relay(1) under the prefix's MANPATH" \
	test "$page" == "$root/usr/share/man/man1/vmkd-relay.1"

# The unit.
unit=$root/usr/lib/systemd/system/vmkd-relay.service
for line in 'ExecStart=/usr/bin/vmkd relay --config /etc/vmkd/relay.conf --quiet' \
	'ConditionPathExists=/etc/vmkd/relay.conf' 'RuntimeDirectory=vmkd' \
	'ExecReload=/bin/kill -HUP $MAINPID' \
	'RuntimeDirectoryMode=0750' 'LogsDirectory=vmkd' 'Group=vmkd' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
	'ProtectHome=yes' 'CapabilityBoundingSet=CAP_DAC_OVERRIDE' 'WantedBy=multi-user.target'; do
	check "unit: $line" grep -qxF -- "$line" "$unit"
done
check "unit: no template placeholder left" test -z "$(grep -o '@[A-Z]*@' "$unit")"
check "sysusers.d creates the group vmkd" grep -qE '^g vmkd -$' "$root/usr/lib/sysusers.d/vmkd.conf"

if command -v systemd-analyze >/dev/null; then
	# verify wants the binary where ExecStart says: install to a real prefix for it.
	prefix=$tmp/prefix
	make --no-print-directory -s install BUILD="$BUILD" PREFIX="$prefix" >/dev/null 2>&1
	check "PREFIX=$prefix: the unit runs $prefix/bin/vmkd" \
		grep -qxF "ExecStart=$prefix/bin/vmkd relay --config $prefix/etc/vmkd/relay.conf --quiet" \
		"$prefix/lib/systemd/system/vmkd-relay.service"
	systemd-analyze verify --man=no "$prefix/lib/systemd/system/vmkd-relay.service" >"$tmp/verify" 2>&1
	rc=$?
	check "systemd-analyze verify: exit 0 (got $rc), no message" test "$rc" -eq 0 -a ! -s "$tmp/verify"
	sed 's/^/    /' "$tmp/verify"
	# The check can fail: a misspelt directive is reported.
	sed 's/^NoNewPrivileges=/NoNewPrivilege=/' "$prefix/lib/systemd/system/vmkd-relay.service" \
		>"$tmp/broken.service"
	systemd-analyze verify --man=no "$tmp/broken.service" >"$tmp/verify" 2>&1
	check "systemd-analyze verify reports a misspelt directive (the check can fail)" \
		grep -q 'NoNewPrivilege' "$tmp/verify"
else
	echo "    (systemd-analyze is not installed: unit checked statically only)"
fi

# The example configuration, its VMs uncommented and moved to $tmp, is accepted by the relay.
sed -E -e 's/^#(win[0-9]+ )/\1/' -e "s|/run/vmkd/|$tmp/|g" \
	-e "s|/var/lib/libvirt/qemu/channel/target/|$tmp/|g" -e 's/tcp:127\.0\.0\.1:50001/tcp:127.0.0.1:0/' \
	"$root/etc/vmkd/relay.conf.example" >"$tmp/relay.conf"
check "the example names two VMs" test "$(grep -cE '^win[0-9]+ ' "$tmp/relay.conf")" -eq 2
"$root/usr/bin/vmkd" relay --config "$tmp/relay.conf" >"$tmp/relay.out" 2>"$tmp/relay.log" &
relay_pid=$!
for _ in $(seq 50); do grep -q 'serving' "$tmp/relay.log" && break; sleep 0.1; done
check "the installed relay serves the example's VMs" grep -q 'serving 2 VMs' "$tmp/relay.log"
kill "$relay_pid" 2>/dev/null
wait "$relay_pid"
rc=$?
relay_pid=
check "the relay exits 0 on SIGTERM (got $rc)" test "$rc" -eq 0

# Uninstall keeps the user's configuration and removes everything else.
echo "vm0 unix:/x unix:/y" >"$root/etc/vmkd/relay.conf"
make --no-print-directory -s uninstall BUILD="$BUILD" DESTDIR="$root" PREFIX=/usr >/dev/null 2>&1
check "make uninstall exits 0" test $? -eq 0
left=$(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort)
check "uninstall leaves only the user's relay.conf (left: ${left//$'\n'/ })" test "$left" == /etc/vmkd/relay.conf
check "uninstall removes the directories it created" \
	test ! -e "$root/usr/share/vmkd" -a ! -e "$root/usr/share/doc/vmkd"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
