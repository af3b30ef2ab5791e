@echo off
rem SPDX-License-Identifier: MIT
rem install-kdvm.cmd - install-kdvm.ps1 for systems without PowerShell: makes kdvm.dll the
rem kernel debugger transport, or with /uninstall puts everything back. Shares the state
rem file %ProgramData%\vmkd\install-kdvm.state with the PowerShell script (either undoes
rem the other's install). Run from an elevated command prompt in the folder of kdvm.dll.
rem
rem   install-kdvm.cmd                        copy, dbgtransport kdvm.dll, debug on
rem   install-kdvm.cmd /nointegritychecks     ... and nointegritychecks on (Vista/2008)
rem   install-kdvm.cmd /uninstall             undo, from the state file
rem
rem Test signing needs a certificate: use install-kdvm.ps1 -Signing TestSigning (this script
rem undoes it too).
rem kdvm.dll is not signed: at boot choose "Disable Driver Signature Enforcement" (F8 on
rem Windows 7; Shift+Restart > Troubleshoot > Advanced options > Startup Settings > 7 on
rem Windows 8 and later). UEFI Secure Boot must be off. Not yet verified on real Windows.
setlocal EnableExtensions EnableDelayedExpansion

set "DLL=kdvm.dll"
set "ENTRY={current}"
set "ABSENT=_absent_"
set "SYS32=%SystemRoot%\System32"
rem A 32-bit cmd on 64-bit Windows sees SysWOW64 as System32: use Sysnative there.
if exist "%SystemRoot%\Sysnative\bcdedit.exe" set "SYS32=%SystemRoot%\Sysnative"
set "BCDEDIT=%SYS32%\bcdedit.exe"
set "TARGET=%SYS32%\%DLL%"
set "BACKUP=%TARGET%.vmkd-backup"
set "STATEDIR=%ProgramData%\vmkd"
set "STATE=%STATEDIR%\install-kdvm.state"
set "SOURCE=%~dp0%DLL%"

net session >nul 2>&1
if errorlevel 1 (
	echo install-kdvm: run this from an elevated command prompt ^(Run as administrator^)
	exit /b 1
)

if /i "%~1"=="/uninstall" goto uninstall
if /i "%~1"=="/nointegritychecks" (set "NOINTEGRITY=1") else set "NOINTEGRITY="
if not "%~1"=="" if not defined NOINTEGRITY (
	echo usage: install-kdvm.cmd [/nointegritychecks ^| /uninstall]
	exit /b 2
)
goto install

:install
if exist "%STATE%" (
	echo install-kdvm: already installed ^(%STATE% exists^); run with /uninstall first
	exit /b 1
)
if not exist "%SOURCE%" (
	echo install-kdvm: no %DLL% next to this script
	exit /b 1
)
rem Everything that is about to change, recorded before it changes.
if not exist "%STATEDIR%" mkdir "%STATEDIR%"
call :getbcd dbgtransport prev_dbgtransport || exit /b 1
call :getbcd debug prev_debug || exit /b 1
call :getbcd nointegritychecks prev_nointegritychecks || exit /b 1
set "BACKED=no"
if exist "%TARGET%" set "BACKED=yes"
> "%STATE%" (
	echo # install-kdvm state: what /uninstall puts back. Do not edit.
	echo entry=%ENTRY%
	echo signing=None
	echo cert=
	echo dll_backup=%BACKED%
	echo prev.dbgtransport=!prev_dbgtransport!
	echo prev.debug=!prev_debug!
	if defined NOINTEGRITY echo prev.nointegritychecks=!prev_nointegritychecks!
)
if "%BACKED%"=="yes" copy /y "%TARGET%" "%BACKUP%" >nul || exit /b 1
copy /y "%SOURCE%" "%TARGET%" >nul || exit /b 1
echo   copied %DLL% to %TARGET%
call :setbcd dbgtransport %DLL% || exit /b 1
call :setbcd debug on || exit /b 1
if defined NOINTEGRITY call :setbcd nointegritychecks on || exit /b 1
call :getbcd debug ON_TEXT || exit /b 1
>> "%STATE%" echo on_text=!ON_TEXT!
echo.
echo install-kdvm: done. Restart Windows; the host runs vmkd relay for this VM.
echo   To undo: %~nx0 /uninstall
exit /b 0

:uninstall
if not exist "%STATE%" (
	echo install-kdvm: nothing to undo: %STATE% does not exist
	exit /b 1
)
for /f "usebackq eol=# tokens=1,* delims==" %%a in ("%STATE%") do set "st.%%a=%%b"
if defined st.entry set "ENTRY=!st.entry!"
call :restorebcd dbgtransport || exit /b 1
call :restorebcd debug || exit /b 1
call :restorebcd testsigning || exit /b 1
call :restorebcd nointegritychecks || exit /b 1
if "!st.dll_backup!"=="yes" if exist "%BACKUP%" (
	move /y "%BACKUP%" "%TARGET%" >nul || exit /b 1
	echo   restored the previous %TARGET%
	goto uninstall_state
)
if exist "%TARGET%" del /f "%TARGET%" || exit /b 1
echo   removed %TARGET%
:uninstall_state
if defined st.cert if not "!st.cert!"=="" (
	certutil -delstore My !st.cert! >nul || (echo install-kdvm: certutil -delstore My !st.cert! failed & exit /b 1)
	echo   removed the test-signing certificate !st.cert!
)
del /f "%STATE%"
echo install-kdvm: undone. Restart Windows.
exit /b 0

rem :getbcd NAME VAR - VAR = the element's value in bcdedit /enum, or %ABSENT%.
:getbcd
set "%2=%ABSENT%"
"%BCDEDIT%" /enum %ENTRY% >nul 2>&1 || (echo install-kdvm: bcdedit /enum %ENTRY% failed & exit /b 1)
rem (unquoted: for /f strips a quoted command's quotes; %SystemRoot% has no blanks)
for /f "tokens=1,*" %%a in ('%BCDEDIT% /enum %ENTRY%') do if /i "%%a"=="%1" set "%2=%%b"
exit /b 0

rem :setbcd NAME VALUE - the only place an element is set on install.
:setbcd
echo   bcdedit /set %ENTRY% %1 %2
"%BCDEDIT%" /set %ENTRY% %1 %2 >nul || (echo install-kdvm: bcdedit /set %ENTRY% %1 %2 failed & exit /b 1)
exit /b 0

rem :restorebcd NAME - the old value, or no value when it was absent; a boolean is "on"
rem when it read as bcdedit showed it right after install set it on (on_text).
:restorebcd
if not defined st.prev.%1 exit /b 0
set "PREV=!st.prev.%1!"
if "!PREV!"=="%ABSENT%" (
	echo   bcdedit /deletevalue %ENTRY% %1
	"%BCDEDIT%" /deletevalue %ENTRY% %1 >nul || (echo install-kdvm: bcdedit /deletevalue %ENTRY% %1 failed & exit /b 1)
	exit /b 0
)
set "VAL=!PREV!"
if /i "%1"=="debug" set "BOOL=1"
if /i "%1"=="testsigning" set "BOOL=1"
if /i "%1"=="nointegritychecks" set "BOOL=1"
if defined BOOL (
	set "BOOL="
	if "!PREV!"=="!st.on_text!" (set "VAL=on") else set "VAL=off"
)
echo   bcdedit /set %ENTRY% %1 !VAL!
"%BCDEDIT%" /set %ENTRY% %1 !VAL! >nul || (echo install-kdvm: bcdedit /set %ENTRY% %1 !VAL! failed & exit /b 1)
exit /b 0
