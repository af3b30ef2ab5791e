#!/usr/bin/env bash
# Installs the Debian 12 packages vmkd's build, tests and demo need; does nothing when all
# are present. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
	gcc make binutils pkg-config        # host build
	libcmocka-dev                       # unit tests
	clang llvm libclang-rt-14-dev       # libFuzzer harnesses (make fuzz, fuzz smoke in check)
	qemu-system-x86                     # boots the test target
	gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64   # kdvm.dll
	libedit-dev libcapstone-dev         # vmkd attach: line editing, disassembly
	libcurl4-openssl-dev                # PDB downloads from a symbol server
	lld                                 # lld-link: the PE + PDB the PDB tests build
	gnuplot-nox fonts-liberation        # make bench plot (and a font for its PNG)
	socat procps iproute2 python3       # test plumbing (python3: the kdvm.dll checks)
	gdb lldb                            # vmkd gdb: the real gdb and lldb in gdb-session.sh
	libxml2-utils libvirt-clients       # vmkd libvirt checks: xmllint, virt-xml-validate + schemas
	man-db groff-base                   # man page checks (man -l, groff -man -ww)
	dpkg-dev file                       # make deb (dpkg-shlibdeps) and its test
	tmux                                # terminal tests (demo-terminal.sh, faults.sh *-tty)
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
