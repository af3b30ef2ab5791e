#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# guest-scripts.sh - a static test of the Windows guest set-up scripts (no Windows and no
# PowerShell here: Debian does not package pwsh). For install-kdvm.ps1 and install-kdvm.cmd
# it parses which bcdedit commands each path runs and checks: install sets exactly
# dbgtransport kdvm.dll and debug on (plus testsigning / nointegritychecks when asked),
# nothing else touches the BCD (/enum only reads), the state is written before the first
# change, every install step (each BCD element, the DLL copy, its backup, the certificate)
# has its undo in the uninstall path, both scripts share the state file and its keys, and
# the files are plain ASCII (CRLF for the .cmd). Also kdvm.dll's version resource (when the
# DLL is built): the strings Windows shows and the script compares, and a FileVersion equal
# to vmkd's version. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
exec python3 - guest/windows/setup/install-kdvm.ps1 guest/windows/setup/install-kdvm.cmd \
	"${BUILD:-build}/guest/kdvm.dll" cmd/vmkd.c <<'PY'
import re
import sys

ps1_path, cmd_path, dll_path, main_c = sys.argv[1:5]
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS: {name}")
    else:
        failed += 1
        print(f"FAIL: {name}" + (f" ({detail})" if detail else ""))


raw_ps1 = open(ps1_path, "rb").read()
raw_cmd = open(cmd_path, "rb").read()
check("install-kdvm.ps1 is plain ASCII", all(b < 128 for b in raw_ps1))
check("install-kdvm.cmd is plain ASCII", all(b < 128 for b in raw_cmd))
cmd_lines = raw_cmd.split(b"\n")
check("install-kdvm.cmd has CRLF line endings throughout (cmd.exe's labels need them)",
      all(l.endswith(b"\r") for l in cmd_lines[:-1]) and cmd_lines[-1] == b"")
ps1 = raw_ps1.decode()
cmd = raw_cmd.decode().replace("\r\n", "\n")

# ---- PowerShell ------------------------------------------------------------------------


def ps_function(src, name):
    m = re.search(r"^function " + re.escape(name) + r"\b[^\n]*\{\n(.*?)^\}", src, re.M | re.S)
    return m.group(1) if m else ""


install = ps_function(ps1, "Install-Kdvm")
uninstall = ps_function(ps1, "Uninstall-Kdvm")
check("ps1: Install-Kdvm and Uninstall-Kdvm exist", bool(install and uninstall))

# bcdedit runs only in Invoke-Bcd (changes) and Get-BcdValue (/enum, reads).
runs = [(m.start(), ps1[m.start():ps1.index("\n", m.start())]) for m in re.finditer(r"& \$Bcdedit", ps1)]
inv = ps_function(ps1, "Invoke-Bcd")
get = ps_function(ps1, "Get-BcdValue")
check("ps1: bcdedit runs in exactly two places", len(runs) == 2, f"{len(runs)}")
check("ps1: ... Invoke-Bcd (any verb, from the wrappers) and Get-BcdValue (/enum only)",
      "& $Bcdedit @BcdArgs" in inv and "& $Bcdedit /enum $BootEntry" in get)

# Every bcdedit verb in the script.
verbs = set(re.findall(r"'(/[a-z]+)'", ps1)) | set(re.findall(r"\$Bcdedit (/[a-z]+)", ps1))
check("ps1: the only bcdedit verbs are /set, /deletevalue and /enum",
      verbs <= {"/set", "/deletevalue", "/enum"} and {"/set", "/deletevalue", "/enum"} <= verbs,
      " ".join(sorted(verbs)))
setfn = ps_function(ps1, "Set-BcdValue")
check("ps1: Set-BcdValue runs bcdedit /set $BootEntry NAME VALUE",
      "Invoke-Bcd @('/set', $BootEntry, $Name, $Value)" in setfn)
check("ps1: the boot entry is {current} unless -BootEntry says otherwise",
      re.search(r"\[string\]\$BootEntry = '\{current\}'", ps1) is not None)

sets = re.findall(r"Set-BcdValue '([a-z]+)' (\S+)\}?", install)
sets = [(n, v.rstrip("}").strip()) for n, v in sets]
check("ps1 install: sets exactly dbgtransport kdvm.dll, debug on, testsigning on, nointegritychecks on",
      sorted(sets) == sorted([("dbgtransport", "$DllName"), ("debug", "'on'"),
                              ("testsigning", "'on'"), ("nointegritychecks", "'on'")]), str(sets))
check("ps1: $DllName is kdvm.dll", "$DllName = 'kdvm.dll'" in ps1)
check("ps1 install: testsigning only with -Signing TestSigning",
      "if ($Signing -eq 'TestSigning') { Set-BcdValue 'testsigning' 'on' }" in install)
check("ps1 install: nointegritychecks only with -Signing NoIntegrityChecks",
      "if ($Signing -eq 'NoIntegrityChecks') { Set-BcdValue 'nointegritychecks' 'on' }" in install)

m = re.search(r"\$Elements = @\(([^)]*)\)", ps1)
elements = re.findall(r"'([a-z]+)'", m.group(1)) if m else []
check("ps1: every element install sets is one the state records and uninstall restores",
      {n for n, _ in sets} <= set(elements), f"elements {elements}")
check("ps1 install: records the previous value of each element",
      'foreach ($name in $Elements) { $state["prev.$name"] = Get-BcdValue $name }' in install)
check("ps1 uninstall: restores each element",
      "foreach ($name in $Elements) { Restore-BcdValue $name $state }" in uninstall)
restore = ps_function(ps1, "Restore-BcdValue")
check("ps1 undo: an element that was absent is deleted (bcdedit /deletevalue)",
      "Invoke-Bcd @('/deletevalue', $BootEntry, $Name)" in restore and "$prev -eq $Absent" in restore)
check("ps1 undo: a boolean goes back to on or off, a string to its old value",
      "'on'" in restore and "'off'" in restore and "Invoke-Bcd @('/set', $BootEntry, $Name, $prev)" in restore)


def first(src, needle):
    i = src.find(needle)
    return i if i >= 0 else 10**9


w = first(install, "Write-State $state")
check("ps1 install: the state is written before the DLL is copied and before any BCD change",
      w < first(install, "Copy-Item -Path $Source") and w < first(install, "Set-BcdValue"))
check("ps1 install: refuses to run twice (the state of the first install would be lost)",
      "if (Test-Path $StateFile)" in install)
check("ps1 install/undo: the DLL copy is undone (removed, or the previous DLL moved back)",
      "Copy-Item -Path $Source -Destination $Target" in install and
      "Remove-Item -Path $Target" in uninstall and "Move-Item -Path $Backup -Destination $Target" in uninstall)
check("ps1 install/undo: a previous kdvm.dll is backed up, and put back",
      "Copy-Item -Path $Target -Destination $Backup" in install and "$state['dll_backup'] -eq 'yes'" in uninstall)
check("ps1 install/undo: the test-signing certificate is recorded and removed",
      "New-SelfSignedCertificate" in install and "$state['cert'] = $cert.Thumbprint" in install and
      'Cert:\\LocalMachine\\My\\$($state[\'cert\'])' in uninstall)
check("ps1 undo: the state file goes last", uninstall.rstrip().split("\n")[-2:][0].strip().startswith("Remove-Item -Path $StateFile"))
check("ps1: refuses Secure Boot up front and explains the unsigned-DLL choices",
      "Confirm-SecureBootUEFI" in ps1 and "Disable Driver Signature Enforcement" in ps1 and
      "testsigning" in ps1.lower())
pscompat = [w for w in ("[ordered]", "ConvertTo-Json", "$PSScriptRoot", "-RunAsAdministrator") if w in ps1]
check("ps1: nothing newer than PowerShell 2.0 (Windows 7) outside -Signing TestSigning", not pscompat, str(pscompat))
check("ps1: -Uninstall is the one switch that undoes", "[switch]$Uninstall" in ps1 and
      "if ($Uninstall) { Uninstall-Kdvm } else { Install-Kdvm }" in ps1)

# ---- cmd -------------------------------------------------------------------------------


def cmd_section(src, label):
    m = re.search(r"^:" + label + r"\n(.*?)^exit /b 0$", src, re.M | re.S)
    return m.group(1) if m else ""


cinst, cun = cmd_section(cmd, "install"), cmd_section(cmd, "uninstall")
check("cmd: :install and :uninstall sections", bool(cinst and cun))
csets = re.findall(r"call :setbcd (\S+) (\S+)", cinst)
check("cmd install: sets exactly dbgtransport kdvm.dll, debug on, nointegritychecks on",
      sorted(csets) == sorted([("dbgtransport", "%DLL%"), ("debug", "on"), ("nointegritychecks", "on")]),
      str(csets))
check("cmd: %DLL% is kdvm.dll", 'set "DLL=kdvm.dll"' in cmd)
check("cmd install: nointegritychecks only with /nointegritychecks",
      "if defined NOINTEGRITY call :setbcd nointegritychecks on" in cinst)
crest = re.findall(r"call :restorebcd (\S+)", cun)
check("cmd: every element install sets is restored on /uninstall",
      {n for n, _ in csets} <= set(crest), f"restored {crest}")
check("cmd: ... and whatever the PowerShell script may have set (shared state)",
      set(elements) <= set(crest), f"restored {crest}")
recorded = set(re.findall(r"echo prev\.([a-z]+)=", cinst))
check("cmd install: records the previous value of each element it sets",
      {n for n, _ in csets} <= recorded, str(recorded))
bc = [l.strip() for l in cmd.split("\n") if '"%BCDEDIT%"' in l or "%BCDEDIT% " in l]
bverbs = {re.search(r"BCDEDIT%\"? (/[a-z]+)", l).group(1) for l in bc if re.search(r"BCDEDIT%\"? (/[a-z]+)", l)}
check("cmd: the only bcdedit verbs are /set, /deletevalue and /enum", bverbs == {"/set", "/deletevalue", "/enum"}, str(bverbs))
for label, verbs_ok in (("getbcd", {"/enum"}), ("setbcd", {"/set"}), ("restorebcd", {"/set", "/deletevalue"})):
    m = re.search(r"^:" + label + r"\n(.*?)^exit /b 0$", cmd, re.M | re.S)
    body = m.group(0) if m else ""
    v = set(re.findall(r"BCDEDIT%\"? (/[a-z]+)", body))
    check(f"cmd :{label} runs bcdedit {' '.join(sorted(verbs_ok))} only", v == verbs_ok, str(v))
outside = re.sub(r"^:(getbcd|setbcd|restorebcd)\n.*?^exit /b 0$", "", cmd, flags=re.M | re.S)
check("cmd: bcdedit runs nowhere but those three", not re.search(r"BCDEDIT%\"? /", outside))
ci = cinst.find('> "%STATE%"')
check("cmd install: the state is written before the DLL is copied and before any BCD change",
      0 <= ci < cinst.find("copy /y \"%SOURCE%\"") and ci < cinst.find("call :setbcd"))
check("cmd install/undo: the DLL copy is undone, a previous DLL put back",
      'copy /y "%TARGET%" "%BACKUP%"' in cinst and 'move /y "%BACKUP%" "%TARGET%"' in cun and
      'del /f "%TARGET%"' in cun)
check("cmd undo: a certificate made by the PowerShell script is removed", "certutil -delstore My" in cun)
check("cmd: /uninstall is the one switch that undoes", 'if /i "%~1"=="/uninstall" goto uninstall' in cmd)

# ---- shared state ------------------------------------------------------------------------
check("both scripts use %ProgramData%\\vmkd\\install-kdvm.state",
      "Join-Path $StateDir 'install-kdvm.state'" in ps1 and "Join-Path $env:ProgramData 'vmkd'" in ps1 and
      'set "STATE=%STATEDIR%\\install-kdvm.state"' in cmd and 'set "STATEDIR=%ProgramData%\\vmkd"' in cmd)
keys_cmd = set(re.findall(r"echo ([a-z_.]+)=", cmd))
keys_ps1 = {"entry", "signing", "dll_backup", "cert", "on_text"} | {f"prev.{e}" for e in elements}
check("both scripts write the same keys (prev.NAME, on_text, dll_backup, entry, cert)",
      keys_cmd <= keys_ps1 and {"entry", "dll_backup", "on_text", "cert"} <= keys_cmd, str(keys_cmd ^ keys_ps1))
check("both scripts mark an absent element the same way",
      "$Absent = '_absent_'" in ps1 and 'set "ABSENT=_absent_"' in cmd)

# ---- kdvm.dll's version resource ---------------------------------------------------------


def version_string(blob, key):
    """The value of a StringFileInfo entry: UTF-16LE key, NUL, padding to 4, value, NUL."""
    k = key.encode("utf-16-le") + b"\0\0"
    i = blob.find(k)
    if i < 0:
        return None
    j = i + len(k)
    j += (-j) % 4
    end = j
    while end + 1 < len(blob) and blob[end:end + 2] != b"\0\0":
        end += 2
    return blob[j:end].decode("utf-16-le", "replace")


try:
    dll = open(dll_path, "rb").read()
except OSError:
    dll = None
    print(f"    ({dll_path} is not built: no mingw-w64; its version resource is not checked)")
if dll is not None:
    want = {"CompanyName": "vmkd project", "ProductName": "vmkd", "OriginalFilename": "kdvm.dll"}
    for k, v in want.items():
        got = version_string(dll, k)
        check(f"kdvm.dll {k} is '{v}' (got {got!r})", got == v)
    cr = version_string(dll, "LegalCopyright") or ""
    check(f"kdvm.dll LegalCopyright names the MIT License ({cr!r})", "MIT" in cr)
    m = re.search(r'#define VMKD_VERSION "(\d+)\.(\d+)\.(\d+)', open(main_c).read())
    fv = version_string(dll, "FileVersion")
    check(f"kdvm.dll FileVersion {fv!r} is vmkd's version",
          m is not None and fv == ".".join(m.groups()) + ".0")
    # VS_FIXEDFILEINFO: signature 0xfeef04bd, then struct version, then FileVersionMS/LS.
    i = dll.find(bytes.fromhex("bd04effe"))
    ok = i >= 0 and m is not None
    if ok:
        ms = int.from_bytes(dll[i + 8:i + 12], "little")
        ls = int.from_bytes(dll[i + 12:i + 16], "little")
        ok = (ms >> 16, ms & 0xFFFF, ls >> 16) == tuple(int(x) for x in m.groups())
    check("kdvm.dll's fixed FILEVERSION agrees", ok)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
