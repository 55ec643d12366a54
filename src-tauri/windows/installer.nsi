; CardioRisk for Windows: a per-user installer built offline with Debian's makensis
; (scripts/build-windows.sh). No administrator rights needed; the clinic's data in
; %APPDATA%\org.cardiorisk.desktop is never touched by installing, upgrading or
; uninstalling.
;
;   makensis -DVERSION=0.1.0 -DSOURCE=dir -DICON=icon.ico -DOUTFILE=setup.exe installer.nsi
;
; Silent install for clinic IT:     CardioRisk_0.1.0_x64-setup.exe /S [/DESKTOP] [/D=C:\path]
; Silent uninstall:                 "%LOCALAPPDATA%\Programs\CardioRisk\uninstall.exe" /S

Unicode true
Target amd64-unicode
ManifestDPIAware true
SetCompressor /SOLID lzma

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"
!include "x64.nsh"

!ifndef VERSION | SOURCE | ICON | OUTFILE
  !error "give -DVERSION, -DSOURCE, -DICON and -DOUTFILE"
!endif

!define PRODUCT "CardioRisk"
!define APP_EXE "cardiorisk-app.exe"
!define CLI_EXE "cardiorisk.exe"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${PRODUCT}"
!define SETTINGS_KEY "Software\${PRODUCT}"
!define WEBVIEW2_CLIENT "Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"

Name "${PRODUCT}"
OutFile "${OUTFILE}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\${PRODUCT}"
InstallDirRegKey HKCU "${SETTINGS_KEY}" "InstallDir"

VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=0 "ProductName" "${PRODUCT}"
VIAddVersionKey /LANG=0 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileDescription" "${PRODUCT} ${VERSION} installer"
VIAddVersionKey /LANG=0 "CompanyName" "${PRODUCT}"
VIAddVersionKey /LANG=0 "LegalCopyright" "MIT licence"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_NODESC
!define MUI_FINISHPAGE_RUN "$INSTDIR\${APP_EXE}"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

; The installer speaks the user's language when it is one of these.
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "Spanish"

LangString SecAppName ${LANG_ENGLISH} "CardioRisk (required)"
LangString SecAppName ${LANG_SPANISH} "CardioRisk (necesario)"
LangString SecDesktopName ${LANG_ENGLISH} "Desktop shortcut"
LangString SecDesktopName ${LANG_SPANISH} "Acceso directo en el escritorio"
LangString AppRunning ${LANG_ENGLISH} "CardioRisk is open. Close it, then run the installer again."
LangString AppRunning ${LANG_SPANISH} "CardioRisk está abierto. Ciérrelo y vuelva a ejecutar el instalador."
LangString NoWebView2 ${LANG_ENGLISH} "This computer does not have the Microsoft Edge WebView2 Runtime, which the CardioRisk window needs (Windows 10 and 11 normally include it). CardioRisk will be installed; ask your IT department to install the WebView2 Runtime (Evergreen Standalone Installer) before opening it. The command-line tool cardiorisk.exe works without it."
LangString NoWebView2 ${LANG_SPANISH} "Este equipo no tiene Microsoft Edge WebView2 Runtime, que la ventana de CardioRisk necesita (Windows 10 y 11 normalmente lo incluyen). CardioRisk se instalará; pida a su departamento de informática que instale WebView2 Runtime (instalador independiente Evergreen) antes de abrirlo. La herramienta de línea de comandos cardiorisk.exe funciona sin él."

Var WebView2Version

Section "!$(SecAppName)" SecApp
  SectionIn RO
  ; An open app holds its exe: replacing it would fail half-way.
  ${If} ${FileExists} "$INSTDIR\${APP_EXE}"
    ClearErrors
    FileOpen $0 "$INSTDIR\${APP_EXE}" a
    ${If} ${Errors}
      MessageBox MB_OK|MB_ICONEXCLAMATION "$(AppRunning)" /SD IDOK
      SetErrorLevel 2
      Quit
    ${EndIf}
    FileClose $0
  ${EndIf}

  SetOutPath "$INSTDIR"
  File "${SOURCE}\${APP_EXE}"
  File "${SOURCE}\${CLI_EXE}"
  File "${SOURCE}\WebView2Loader.dll"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateShortcut "$SMPROGRAMS\${PRODUCT}.lnk" "$INSTDIR\${APP_EXE}"

  WriteRegStr HKCU "${SETTINGS_KEY}" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "${PRODUCT}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${APP_EXE}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" "$0"

  ${If} $WebView2Version == ""
    DetailPrint "$(NoWebView2)"
    MessageBox MB_OK|MB_ICONINFORMATION "$(NoWebView2)" /SD IDOK
  ${EndIf}
SectionEnd

Section /o "$(SecDesktopName)" SecDesktop
  CreateShortcut "$DESKTOP\${PRODUCT}.lnk" "$INSTDIR\${APP_EXE}"
SectionEnd

; The WebView2 Runtime's version as its updater records it (per machine or per user).
Function FindWebView2
  SetRegView 64
  ReadRegStr $0 HKLM "SOFTWARE\WOW6432Node\${WEBVIEW2_CLIENT}" "pv"
  ${If} $0 == ""
  ${OrIf} $0 == "0.0.0.0"
    ReadRegStr $0 HKLM "SOFTWARE\${WEBVIEW2_CLIENT}" "pv"
  ${EndIf}
  ${If} $0 == ""
  ${OrIf} $0 == "0.0.0.0"
    ReadRegStr $0 HKCU "Software\${WEBVIEW2_CLIENT}" "pv"
  ${EndIf}
  ${If} $0 == "0.0.0.0"
    StrCpy $0 ""
  ${EndIf}
  StrCpy $WebView2Version $0
FunctionEnd

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_OK|MB_ICONSTOP "CardioRisk needs 64-bit Windows." /SD IDOK
    SetErrorLevel 2
    Quit
  ${EndIf}
  Call FindWebView2
  ; /DESKTOP asks for the desktop shortcut (for silent installs); an upgrade keeps one
  ; the user already has.
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/DESKTOP" $R1
  ${IfNot} ${Errors}
  ${OrIf} ${FileExists} "$DESKTOP\${PRODUCT}.lnk"
    SectionSetFlags ${SecDesktop} ${SF_SELECTED}
  ${EndIf}
FunctionEnd

Section "Uninstall"
  Delete "$INSTDIR\${APP_EXE}"
  Delete "$INSTDIR\${CLI_EXE}"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${PRODUCT}.lnk"
  Delete "$DESKTOP\${PRODUCT}.lnk"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
  DeleteRegKey HKCU "${SETTINGS_KEY}"
  ; Patients, assessments, the audit trail and models stay in
  ; %APPDATA%\org.cardiorisk.desktop: they are the clinic's records, not the program's.
SectionEnd
