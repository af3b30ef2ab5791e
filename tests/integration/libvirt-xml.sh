#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# libvirt-xml.sh - `vmkd libvirt` prints well-formed XML (xmllint) with the expected
# elements and attributes (XPath), for each mode; completed into a whole domain, it is valid
# against libvirt's own schema (virt-xml-validate, when libvirt-clients is installed).
# Ends with "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-libvirt.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 skipped=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }

if ! command -v xmllint >/dev/null; then
	fail "xmllint is missing (make deps installs libxml2-utils)"
	echo "$passed passed, $failed failed"
	exit 1
fi

# xp FILE XPATH: the XPath expression's string value (namespaces by local-name()).
xp() {
	xmllint --xpath "$2" "$1" 2>/dev/null
}

# is FILE XPATH WANT NAME: checks one value.
is() {
	local got
	got=$(xp "$1" "$2")
	check "$4 (got '$got')" test "$got" == "$3"
}

variant() {
	local name=$1 f=$tmp/$1.xml
	shift
	"$BUILD/vmkd" libvirt "$@" >"$f" 2>"$tmp/$name.err"
	check "$name: vmkd libvirt $* exits 0" test $? -eq 0
	check "$name: the output is well-formed XML" xmllint --noout "$f"
}

# Default: QEMU (libvirt's user) creates the socket, the relay connects.
variant bind vm0
f=$tmp/bind.xml
is "$f" "count(/domain/devices/channel)" 1 "bind: one <channel>"
is "$f" "string(/domain/devices/channel/@type)" unix "bind: a unix channel"
is "$f" "string(/domain/devices/channel/source/@mode)" bind "bind: QEMU binds the socket"
is "$f" "string(/domain/devices/channel/source/@path)" \
	/var/lib/libvirt/qemu/channel/target/vmkd-vm0.vm.sock "bind: in libvirt's channel directory"
is "$f" "string(/domain/devices/channel/target/@type)" virtio "bind: a virtio target"
is "$f" "string(/domain/devices/channel/target/@name)" org.vmkd.0 "bind: the port kdvm.dll opens"
is "$f" "string(/domain/devices/controller[@type='virtio-serial']/@index)" 1 \
	"bind: vmkd's own virtio-serial controller, index 1"
is "$f" "string(/domain/devices/channel/address/@controller)" 1 "bind: the channel sits on it"
is "$f" "string(/domain/devices/channel/address/@type)" virtio-serial "bind: a virtio-serial address"
is "$f" "count(//memoryBacking) + count(//*[local-name()='commandline'])" 0 \
	"bind: no memoryBacking or qemu:commandline without --host-ram"
check "bind: stderr names the relay command that connects to it" \
	grep -qF "vmkd relay --name vm0 --guest unix:/var/lib/libvirt/qemu/channel/target/vmkd-vm0.vm.sock" "$tmp/bind.err"

# Host RAM: shared file memory and a QMP socket of the relay's own.
variant hostram win11 --host-ram --controller 3 --qemu-dir /srv/q
f=$tmp/hostram.xml
is "$f" "string(/domain/memoryBacking/source/@type)" file "hostram: file-backed memory"
is "$f" "string(/domain/memoryBacking/access/@mode)" shared "hostram: shared with the relay"
is "$f" "string(/domain/devices/controller[@type='virtio-serial']/@index)" 3 "hostram: --controller 3"
is "$f" "string(/domain/devices/channel/address/@controller)" 3 "hostram: the channel on controller 3"
is "$f" "string(/domain/devices/channel/source/@path)" /srv/q/vmkd-win11.vm.sock "hostram: --qemu-dir"
is "$f" "string(/domain/*[local-name()='commandline']/*[local-name()='arg'][1]/@value)" -qmp \
	"hostram: qemu:commandline passes -qmp"
is "$f" "string(/domain/*[local-name()='commandline']/*[local-name()='arg'][2]/@value)" \
	"unix:/srv/q/vmkd-win11.qmp.sock,server=on,wait=off" "hostram: ... on a socket QEMU creates"
is "$f" "namespace-uri(/domain/*[local-name()='commandline'])" \
	"http://libvirt.org/schemas/domain/qemu/1.0" "hostram: in libvirt's qemu namespace"

# Relay listens (qemu:///session): QEMU connects and reconnects.
variant connect vm1 --relay-listens --socket-dir /run/user/1000/vmkd
f=$tmp/connect.xml
is "$f" "string(/domain/devices/channel/source/@mode)" connect "connect: QEMU connects"
is "$f" "string(/domain/devices/channel/source/@path)" /run/user/1000/vmkd/vm1.vm.sock \
	"connect: to the relay's socket"
is "$f" "string(/domain/devices/channel/source/reconnect/@enabled)" yes \
	"connect: and reconnects to a restarted relay"

# Usage errors.
"$BUILD/vmkd" libvirt vm0 --relay-listens --qemu-dir /x >/dev/null 2>&1
check "usage: --qemu-dir with --relay-listens exits 2" test $? -eq 2
"$BUILD/vmkd" libvirt vm0 --ram 4G >/dev/null 2>&1
check "usage: qemu-args' --ram is not a libvirt option (exit 2)" test $? -eq 2
"$BUILD/vmkd" libvirt vm0 --controller 256 >/dev/null 2>&1
check "usage: --controller 256 exits 2" test $? -eq 2

# libvirt's own schema: each variant completed into a minimal domain.
if command -v virt-xml-validate >/dev/null && [[ -r /usr/share/libvirt/schemas/domain.rng ]]; then
	validate() { virt-xml-validate "$1" domain >"$1.log" 2>&1; }
	# The check can fail: a channel of an unknown type is refused.
	sed "s|<channel type='unix'>|<channel type='bogus'>|" "$tmp/bind.xml" |
		sed "s|^<domain type='kvm'\(.*\)>\$|<domain type='kvm'\1><name>t</name><memory unit='MiB'>256</memory><os><type arch='x86_64' machine='q35'>hvm</type></os>|" \
		>"$tmp/broken.xml"
	check "schema: a channel of an unknown type is refused (the check can fail)" \
		eval '! validate "$tmp/broken.xml"'
	for v in bind hostram connect; do
		sed "s|^<domain type='kvm'\(.*\)>\$|<domain type='kvm'\1><name>t-$v</name><memory unit='MiB'>256</memory><os><type arch='x86_64' machine='q35'>hvm</type></os>|" \
			"$tmp/$v.xml" >"$tmp/$v.full.xml"
		check "$v: valid against libvirt's domain schema (virt-xml-validate)" \
			validate "$tmp/$v.full.xml"
	done
else
	echo "SKIP: libvirt's schema check (virt-xml-validate from libvirt-clients not installed)"
	skipped=$((skipped + 1))
fi

if [[ $skipped -gt 0 ]]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[[ $failed -eq 0 ]]
