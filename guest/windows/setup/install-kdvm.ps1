# SPDX-License-Identifier: MIT
<#
.SYNOPSIS
Makes kdvm.dll (vmkd's KD transport over virtio-serial) this Windows' kernel debugger
transport, or with -Uninstall puts everything back as it was.

.DESCRIPTION
Install (run from an elevated PowerShell, in the folder that holds kdvm.dll):
  1. copies kdvm.dll into %SystemRoot%\System32 (an existing kdvm.dll is kept as
     kdvm.dll.vmkd-backup; VirtualKD's VMware transport has the same name),
  2. bcdedit /set {current} dbgtransport kdvm.dll
  3. bcdedit /set {current} debug on
  4. with -Signing TestSigning: test-signs the copy with a self-signed certificate and
     sets testsigning on; with -Signing NoIntegrityChecks: sets nointegritychecks on.
Before changing anything it writes what it found (the previous value of every BCD
element it touches, the old DLL, the certificate it made) to
%ProgramData%\vmkd\install-kdvm.state. -Uninstall reads that file and restores each value
(or deletes the element when it was absent), the old DLL, and removes the certificate.
install-kdvm.cmd does the same for systems without PowerShell and shares the state file.

Windows x64 loads only signed kernel code, and the KD transport is loaded by the boot
loader (winload) with the kernel. kdvm.dll as built by vmkd is not signed, so one of:
  - every boot: "Disable Driver Signature Enforcement" in the advanced boot options
    (F8 on Windows 7; on Windows 8/10/11: Shift+Restart > Troubleshoot > Advanced options >
    Startup Settings > 7). This is what VirtualKD-Redux users do. Nothing to undo.
  - -Signing TestSigning: test signing mode ("Test Mode" on the desktop). The boot loader
    then accepts test-signed code, not unsigned code: the script signs the copy.
  - -Signing NoIntegrityChecks: Microsoft documents nointegritychecks as ignored by
    Windows 7 and later; it is here for Vista and Server 2008.
UEFI Secure Boot must be off for test signing, nointegritychecks and kernel debugging:
Windows refuses these BCD values while it is on (turn it off in the VM's firmware, e.g.
OVMF's setup, or use a VM without Secure Boot). Suspend BitLocker first if it is on.

What has been verified: the commands below against this script's own static test on Linux
(no Windows and no PowerShell there). Not yet verified on a real Windows installation.

.PARAMETER Signing
None (default), TestSigning or NoIntegrityChecks; see above.

.PARAMETER Uninstall
Undo a previous install, from the state file.

.PARAMETER BootEntry
The boot entry to change (default {current}).

.PARAMETER Force
Replace a kdvm.dll in System32 that is not vmkd's (it is backed up either way).

.EXAMPLE
powershell -ExecutionPolicy Bypass -File .\install-kdvm.ps1
.EXAMPLE
powershell -ExecutionPolicy Bypass -File .\install-kdvm.ps1 -Uninstall
#>
[CmdletBinding()]
param(
	[ValidateSet('None', 'TestSigning', 'NoIntegrityChecks')]
	[string]$Signing = 'None',
	[switch]$Uninstall,
	[string]$BootEntry = '{current}',
	[switch]$Force
)

# Written for Windows PowerShell 2.0 (Windows 7) and later.
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$DllName = 'kdvm.dll'
$Absent = '_absent_'
# The BCD elements this script may change, and which of them are booleans.
$Elements = @('dbgtransport', 'debug', 'testsigning', 'nointegritychecks')
$Booleans = @('debug', 'testsigning', 'nointegritychecks')

# A 32-bit PowerShell on 64-bit Windows sees SysWOW64 as System32: use Sysnative there.
$System32 = Join-Path $env:SystemRoot 'System32'
$Sysnative = Join-Path $env:SystemRoot 'Sysnative'
if ([IntPtr]::Size -eq 4 -and (Test-Path $Sysnative)) { $System32 = $Sysnative }
$Bcdedit = Join-Path $System32 'bcdedit.exe'
$Target = Join-Path $System32 $DllName
$Backup = "$Target.vmkd-backup"
$StateDir = Join-Path $env:ProgramData 'vmkd'
$StateFile = Join-Path $StateDir 'install-kdvm.state'
$Here = Split-Path -Parent $MyInvocation.MyCommand.Path
$Source = Join-Path $Here $DllName

function Assert-Admin {
	$id = [Security.Principal.WindowsIdentity]::GetCurrent()
	$p = New-Object Security.Principal.WindowsPrincipal($id)
	if (-not $p.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
		throw 'install-kdvm: run this from an elevated PowerShell (Run as administrator)'
	}
}

# The only place bcdedit runs.
function Invoke-Bcd([string[]]$BcdArgs) {
	Write-Host "  bcdedit $($BcdArgs -join ' ')"
	$out = & $Bcdedit @BcdArgs 2>&1
	if ($LASTEXITCODE -ne 0) {
		throw "install-kdvm: bcdedit $($BcdArgs -join ' ') failed: $out"
	}
	return $out
}

# An element's value as bcdedit /enum shows it for the boot entry, or $Absent.
function Get-BcdValue([string]$Name) {
	$out = & $Bcdedit /enum $BootEntry 2>&1
	if ($LASTEXITCODE -ne 0) { throw "install-kdvm: bcdedit /enum $BootEntry failed: $out" }
	foreach ($line in $out) {
		if ("$line" -match "^$Name\s+(.+?)\s*$") { return $Matches[1] }
	}
	return $Absent
}

function Set-BcdValue([string]$Name, [string]$Value) {
	Invoke-Bcd @('/set', $BootEntry, $Name, $Value) | Out-Null
}

# Puts back what the state file recorded: the old value, or no value at all. bcdedit
# shows booleans in the system's language, so a boolean is "on" when it read the same as
# right after this script set it on (recorded as on_text).
function Restore-BcdValue([string]$Name, [hashtable]$State) {
	$key = "prev.$Name"
	if (-not $State.ContainsKey($key)) { return }
	$prev = $State[$key]
	if ($prev -eq $Absent) {
		Invoke-Bcd @('/deletevalue', $BootEntry, $Name) | Out-Null
	} elseif ($Booleans -contains $Name) {
		$on = ($prev -eq $State['on_text'])
		Invoke-Bcd @('/set', $BootEntry, $Name, $(if ($on) { 'on' } else { 'off' })) | Out-Null
	} else {
		Invoke-Bcd @('/set', $BootEntry, $Name, $prev) | Out-Null
	}
}

function Read-State {
	if (-not (Test-Path $StateFile)) {
		throw "install-kdvm: nothing to undo: $StateFile does not exist"
	}
	$state = @{}
	foreach ($line in Get-Content $StateFile) {
		if ($line -match '^([a-z_.]+)=(.*)$') { $state[$Matches[1]] = $Matches[2] }
	}
	return $state
}

function Write-State([hashtable]$State) {
	if (-not (Test-Path $StateDir)) { New-Item -ItemType Directory -Path $StateDir | Out-Null }
	$lines = @('# install-kdvm state: what -Uninstall puts back. Do not edit.')
	foreach ($k in ($State.Keys | Sort-Object)) { $lines += "$k=$($State[$k])" }
	Set-Content -Path $StateFile -Value $lines -Encoding ASCII
}

function Test-SecureBoot {
	try { return [bool](Confirm-SecureBootUEFI) } catch { return $false }
}

function Install-Kdvm {
	if (Test-Path $StateFile) {
		throw "install-kdvm: already installed ($StateFile exists); run -Uninstall first"
	}
	if (-not (Test-Path $Source)) { throw "install-kdvm: no $DllName next to this script ($Source)" }
	if (Test-SecureBoot) {
		throw ('install-kdvm: UEFI Secure Boot is on. Windows refuses kernel debugging and ' +
			'test signing while it is: turn it off in the VM firmware first.')
	}
	$ver = (Get-Item $Source).VersionInfo
	Write-Host "install-kdvm: $DllName $($ver.FileVersion) ($($ver.ProductName))"
	if ((Test-Path $Target) -and -not $Force) {
		$old = (Get-Item $Target).VersionInfo
		if ($old.ProductName -ne $ver.ProductName) {
			throw ("install-kdvm: $Target exists and is not vmkd's ($($old.ProductName) " +
				"$($old.FileVersion); VirtualKD's VMware transport has this name). " +
				'Run again with -Force to replace it; it is backed up.')
		}
	}

	# Everything that is about to change, recorded before it changes.
	$state = @{ 'entry' = $BootEntry; 'signing' = $Signing; 'dll_backup' = 'no'; 'cert' = '' }
	foreach ($name in $Elements) { $state["prev.$name"] = Get-BcdValue $name }
	if (Test-Path $Target) { $state['dll_backup'] = 'yes' }
	Write-State $state

	if ($state['dll_backup'] -eq 'yes') { Copy-Item -Path $Target -Destination $Backup -Force }
	Copy-Item -Path $Source -Destination $Target -Force
	Write-Host "  copied $DllName to $Target"

	if ($Signing -eq 'TestSigning') {
		if (-not (Get-Command New-SelfSignedCertificate -ErrorAction SilentlyContinue)) {
			throw 'install-kdvm: -Signing TestSigning needs New-SelfSignedCertificate (Windows 10 / Server 2016)'
		}
		$cert = New-SelfSignedCertificate -Type CodeSigningCert -Subject 'CN=vmkd kdvm.dll test signing' `
			-CertStoreLocation 'Cert:\LocalMachine\My'
		$state['cert'] = $cert.Thumbprint
		Write-State $state
		Set-AuthenticodeSignature -FilePath $Target -Certificate $cert -HashAlgorithm SHA256 | Out-Null
		Write-Host "  test-signed $Target (certificate $($cert.Thumbprint))"
	}

	Set-BcdValue 'dbgtransport' $DllName
	Set-BcdValue 'debug' 'on'
	if ($Signing -eq 'TestSigning') { Set-BcdValue 'testsigning' 'on' }
	if ($Signing -eq 'NoIntegrityChecks') { Set-BcdValue 'nointegritychecks' 'on' }
	# Only the elements changed are restored; the others keep whatever they have then.
	foreach ($name in $Elements) {
		if (($name -eq 'testsigning' -and $Signing -ne 'TestSigning') -or
		    ($name -eq 'nointegritychecks' -and $Signing -ne 'NoIntegrityChecks')) {
			$state.Remove("prev.$name")
		}
	}
	$state['on_text'] = Get-BcdValue 'debug'
	Write-State $state

	Write-Host ''
	Write-Host 'install-kdvm: done. Restart Windows; the host runs vmkd relay for this VM.'
	if ($Signing -eq 'None') {
		Write-Host ('  kdvm.dll is not signed: at boot choose "Disable Driver Signature Enforcement" ' +
			'(F8 on Windows 7; Shift+Restart > Troubleshoot > Advanced options > Startup ' +
			'Settings > 7 on Windows 8 and later), or install again with -Signing TestSigning.')
	}
	Write-Host "  To undo: $($MyInvocation.ScriptName) -Uninstall"
}

function Uninstall-Kdvm {
	$state = Read-State
	if ($state.ContainsKey('entry') -and $state['entry']) { $script:BootEntry = $state['entry'] }
	foreach ($name in $Elements) { Restore-BcdValue $name $state }
	if ($state['dll_backup'] -eq 'yes' -and (Test-Path $Backup)) {
		Move-Item -Path $Backup -Destination $Target -Force
		Write-Host "  restored the previous $Target"
	} elseif (Test-Path $Target) {
		Remove-Item -Path $Target -Force
		Write-Host "  removed $Target"
	}
	if ($state['cert']) {
		$path = "Cert:\LocalMachine\My\$($state['cert'])"
		if (Test-Path $path) { Remove-Item -Path $path -Force }
		Write-Host "  removed the test-signing certificate $($state['cert'])"
	}
	Remove-Item -Path $StateFile -Force
	Write-Host 'install-kdvm: undone. Restart Windows.'
}

Assert-Admin
if ($Uninstall) { Uninstall-Kdvm } else { Install-Kdvm }
