#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deb-package.sh - `make deb` builds an installable Debian package: its control fields,
# Depends satisfied by this Debian's packages, its file list (the install tree with man
# pages compressed, copyright, conffiles), then installed with dpkg into a scratch root
# (dpkg --root; the running system is not touched), the installed binary run, and removed.
# Ends with "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-deb-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }

for t in dpkg-deb dpkg-shlibdeps; do
	if ! command -v "$t" >/dev/null; then
		echo "SKIP: $t is not installed (dpkg-dev)"
		echo "$passed passed, $failed failed, 1 skipped"
		exit 0
	fi
done

deb=$(BUILD=$BUILD dist/deb/build-deb.sh "$tmp/out" 2>"$tmp/build.err")
check "build-deb.sh builds a package ($(basename "${deb:-none}"))" test -n "$deb" -a -r "${deb:-/nonexistent}"
if [[ -z $deb || ! -r $deb ]]; then
	sed 's/^/    /' "$tmp/build.err"
	echo "$passed passed, $failed failed"
	exit 1
fi
version=$("$BUILD/vmkd" --version | awk '{print $2}')

field() { dpkg-deb --field "$deb" "$1"; }
check "Package: vmkd" test "$(field Package)" == vmkd
check "Version: $(field Version) is vmkd's $version (with ~ for -)" test "$(field Version)" == "${version//-/\~}"
check "Architecture: $(field Architecture) is this machine's" test "$(field Architecture)" == "$(dpkg --print-architecture)"
check "Depends names libc6, libedit2, libcapstone4 ($(field Depends))" \
	eval '[[ "$(field Depends)" == *libc6* && "$(field Depends)" == *libedit2* && "$(field Depends)" == *libcapstone* ]]'
missing=""
for p in $(field Depends | tr ',' '\n' | sed -E 's/\(.*\)//; s/\|.*//' | tr -d ' '); do
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=" $p"
done
check "every dependency is an installed Debian package here${missing:+ (missing:$missing)}" test -z "$missing"
check "a description" eval '[[ -n "$(field Description)" ]]'

dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's|^\./|/|' | grep -v '/$' | sort >"$tmp/files"
for f in /usr/bin/vmkd /lib/systemd/system/vmkd-relay.service /etc/vmkd/relay.conf.example \
	/usr/share/doc/vmkd/copyright /usr/share/doc/vmkd/changelog.Debian.gz \
	/usr/share/man/man1/vmkd.1.gz /usr/share/man/man1/vmkd-relay.1.gz \
	/usr/share/vmkd/windows/install-kdvm.ps1 /usr/lib/sysusers.d/vmkd.conf; do
	check "contains $f" grep -qxF "$f" "$tmp/files"
done
check "man pages are compressed (no uncompressed .1)" test -z "$(grep '\.1$' "$tmp/files")"
missing=""
for m in docs/man/*.1; do
	grep -qxF "/usr/share/man/man1/$(basename "$m").gz" "$tmp/files" || missing+=" $(basename "$m")"
done
check "every page of docs/man is packaged${missing:+ (missing:$missing)}" test -z "$missing"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$tmp/conffiles" 2>/dev/null
check "/etc/vmkd/relay.conf.example is a conffile" grep -qxF /etc/vmkd/relay.conf.example "$tmp/conffiles"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/vmkd >"$tmp/vmkd" && chmod +x "$tmp/vmkd"
check "the packaged binary is stripped" eval '! file "$tmp/vmkd" | grep -q "not stripped"'

# Install into a scratch root with dpkg itself (the maintainer scripts see DPKG_ROOT and
# leave the running system alone), run the binary, remove the package.
root=$tmp/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: >"$root/var/lib/dpkg/status"
dpkg --root="$root" --force-depends --force-script-chrootless --log=/dev/null -i "$deb" \
	>"$tmp/dpkg.log" 2>&1
check "dpkg -i installs it (into a scratch root)" test "$(dpkg --root="$root" -s vmkd 2>/dev/null |
	sed -n 's/^Status: //p')" == "install ok installed"
got=$("$root/usr/bin/vmkd" --version 2>&1)
check "the installed vmkd --version: '$got'" test "$got" == "vmkd $version"
dpkg --root="$root" --force-script-chrootless --log=/dev/null -r vmkd >>"$tmp/dpkg.log" 2>&1
check "dpkg -r removes it, keeping only the conffile" \
	test "$(cd "$root" && find . -type f ! -path './var/lib/dpkg/*' | sort)" == ./etc/vmkd/relay.conf.example
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
