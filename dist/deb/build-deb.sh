#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# build-deb.sh - builds vmkd_VERSION_ARCH.deb from the tree with dpkg-deb: `make install`
# into a staging root (PREFIX=/usr, the unit in /lib/systemd/system as Debian 12 wants),
# man pages and changelog compressed, the copyright file, conffiles, maintainer scripts,
# and Depends from dpkg-shlibdeps. Run by `make deb`.
#
# usage: dist/deb/build-deb.sh [OUTDIR]   (default $BUILD/deb; BUILD defaults to build)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
out=${1:-$BUILD/deb}
version=$(sed -nE 's/^#define VMKD_VERSION "([^"]+)"/\1/p' cmd/vmkd.c | head -n 1)
# Debian orders "~" before anything: 0.1.0~dev sorts before the 0.1.0 release.
version=${version//-/\~}
arch=$(dpkg --print-architecture)
stage=$(mktemp -d "${TMPDIR:-/tmp}/vmkd-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root

make --no-print-directory -s install BUILD="$BUILD" DESTDIR="$root" PREFIX=/usr \
	UNITDIR=/lib/systemd/system >/dev/null

# As dh_strip would: the debugging information stays in the build tree.
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/vmkd"
doc=$root/usr/share/doc/vmkd
gzip -9n "$root"/usr/share/man/man1/*.1
# Debian wants the copyright file, and a changelog: the git history's last entries.
{
	echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
	echo "Upstream-Name: vmkd"
	echo
	echo "Files: *"
	echo "Copyright: 2026 The vmkd authors"
	echo "License: MIT"
	sed 's/^$/./; s/^/ /' LICENSE
} >"$doc/copyright"
rm -f "$doc/LICENSE"
{
	echo "vmkd ($version) unstable; urgency=low"
	echo
	if git log -1 >/dev/null 2>&1; then
		git log -10 --format='  * %s' | cut -c1-79
	else
		echo "  * Built from a source tree without history."
	fi
	echo
	echo " -- The vmkd authors <vmkd@invalid>  $(date -R -u -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")"
} | gzip -9n >"$doc/changelog.Debian.gz"

mkdir -p "$root/DEBIAN"
install -m 0755 dist/deb/postinst dist/deb/prerm "$root/DEBIAN/"
# Every file under /etc is a conffile: dpkg keeps the administrator's changes.
(cd "$root" && find etc -type f | sed 's|^|/|') >"$root/DEBIAN/conffiles"

# Depends: the shared libraries of the binary, as dpkg-shlibdeps finds their packages.
mkdir -p "$stage/debian"
printf 'Source: vmkd\n\nPackage: vmkd\nArchitecture: any\n' >"$stage/debian/control"
depends=$(cd "$stage" && dpkg-shlibdeps -O root/usr/bin/vmkd 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[[ -n $depends ]] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	-e "s/@DEPENDS@/$depends/" dist/deb/control.in >"$root/DEBIAN/control"
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z |
	xargs -0 md5sum) >"$root/DEBIAN/md5sums"

mkdir -p "$out"
deb=$out/vmkd_${version}_${arch}.deb
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "$deb"
