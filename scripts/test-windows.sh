#!/usr/bin/env bash
# Windows test under Wine: builds the Windows exes and installer (scripts/build-windows.sh),
# installs silently into a fresh Wine prefix, runs the installed cardiorisk.exe (predict
# and evaluate against the Linux build of the same sources, train then evaluate the new
# model, setup and serve with requests through the gateway on 127.0.0.1), checks what
# Wine lets us check of the window's exe, upgrades in place to a newer installer with
# the data kept, and uninstalls with the data still there.
# Skips, saying so, where Wine or mingw is not installed (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

CLI=target/debug/cardiorisk # the Linux build of the same sources, for comparison

for tool in wine wineserver winepath makensis x86_64-w64-mingw32-gcc; do
  if ! command -v "$tool" >/dev/null; then
    echo "windows test SKIPPED: $tool is not installed (bash scripts/setup.sh installs it)"
    exit 0
  fi
done
[ -x "$CLI" ] || cargo build -p cardiorisk-cli

fail() { echo "windows test FAILED: $*" >&2; exit 1; }

version=$(node -p "require('./tauri.conf.json').version")
newer=$(node -p "v='$version'.split('.'); v[2]=+v[2]+1; v.join('.')")
bash scripts/build-windows.sh
# The upgrade: the same programs under a newer installer version (no second build).
VERSION=$newer bash scripts/build-windows.sh >/dev/null
installer=target/win/dist/CardioRisk_${version}_x64-setup.exe
upgrade=target/win/dist/CardioRisk_${newer}_x64-setup.exe

work=$(mktemp -d)
server=""
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEARCH=win64
# No Mono or Gecko: Wine would offer to download them.
export WINEDLLOVERRIDES="mscoree=;mshtml="
unset DISPLAY
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  wineserver -k 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== a fresh Wine prefix"
wine wineboot -i >/dev/null 2>&1
wineserver -w
# Test only: Wine 8 lacks bcryptprimitives.dll (see tests/windows/bcryptprimitives.c).
system32=$(winepath -u 'C:\windows\system32')
x86_64-w64-mingw32-gcc -shared -O2 -o "$system32/bcryptprimitives.dll" \
  tests/windows/bcryptprimitives.c -lbcrypt

reg_value() { # key value -> data, or nothing
  wine reg query "$1" /v "$2" 2>/dev/null | tr -d '\r' | awk -v v="$2" '$1 == v {print $NF}'
}
uninstall_key='HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\CardioRisk'

echo "== silent install of $installer ($(stat -c %s "$installer") bytes)"
wine "$installer" /S || fail "the installer exited with $?"
wineserver -w
install_dir=$(reg_value 'HKCU\Software\CardioRisk' InstallDir)
[ -n "$install_dir" ] || fail "no InstallDir in the registry"
inst=$(winepath -u "$install_dir")
for f in cardiorisk-app.exe cardiorisk.exe WebView2Loader.dll uninstall.exe; do
  [ -f "$inst/$f" ] || fail "$f not installed in $inst"
done
[ "$(reg_value "$uninstall_key" DisplayVersion)" = "$version" ] || fail "Apps & features entry"
appdata=$(winepath -u "$(wine cmd /c echo %APPDATA% | tr -d '\r')")
start_menu="$appdata/Microsoft/Windows/Start Menu/Programs"
[ -f "$start_menu/CardioRisk.lnk" ] || fail "no Start-menu shortcut"
echo "installed in $install_dir, with its Start-menu shortcut and Apps & features entry"
app_data="$appdata/org.cardiorisk.desktop"

exe="$inst/cardiorisk.exe"
win() { wine "$exe" "$@" | tr -d '\r'; }
w() { winepath -w "$1"; }

echo "== predict: the same answer as on Linux"
patient=(--colesterol 2.5 --presion 1.6 --glucosa 0.9 --edad 45 --sobrepeso 0 --tabaquismo 0)
linux=$("$CLI" predict "${patient[@]}")
windows=$(win predict "${patient[@]}")
echo "linux:   $linux"
echo "windows: $windows"
# Everything but the time it took.
timeless() { node -e 'const p = JSON.parse(process.argv[1]); delete p.elapsed_ms; console.log(JSON.stringify(p))' "$1"; }
[ "$(timeless "$linux")" = "$(timeless "$windows")" ] || fail "predict differs between Linux and Windows"

echo "== evaluate the embedded model on a generated hold-out"
"$CLI" synth --rows 3000 --seed 11 --out "$work/holdout.csv" >/dev/null
"$CLI" synth --rows 2000 --seed 12 --out "$work/train.csv" >/dev/null
metric() { node -e 'const m = JSON.parse(process.argv[1]); console.log(m[process.argv[2]])' "$1" "$2"; }
linux=$("$CLI" evaluate --data "$work/holdout.csv")
windows=$(win evaluate --data "$(w "$work/holdout.csv")")
for m in accuracy auc; do
  echo "$m: linux $(metric "$linux" $m), windows $(metric "$windows" $m)"
  [ "$(metric "$linux" $m)" = "$(metric "$windows" $m)" ] || fail "$m differs"
done

echo "== train, then evaluate the new model"
win train --data "$(w "$work/train.csv")" --out "$(w "$work/model.json")" --epochs 20 >/dev/null 2>&1 ||
  fail "train failed"
trained=$(win evaluate --data "$(w "$work/holdout.csv")" --model "$(w "$work/model.json")")
accuracy=$(metric "$trained" accuracy)
echo "model trained under Wine: accuracy $accuracy on the hold-out"
node -e "process.exit($accuracy >= 0.7 ? 0 : 1)" || fail "the trained model scores $accuracy"

echo "== setup and serve: requests through the gateway on 127.0.0.1"
password="wine check password"
CARDIORISK_PASSWORD=$password win setup --username admin --display-name "Wine Check" >/dev/null
[ -f "$app_data/cardiorisk.db" ] || fail "setup did not write %APPDATA%\\org.cardiorisk.desktop"
port=$((20000 + RANDOM % 20000))
CARDIORISK_USERNAME=admin CARDIORISK_PASSWORD=$password wine "$exe" serve --port "$port" \
  >"$work/serve.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
  curl -s -o /dev/null "$base/" && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log"; fail "serve exited"; }
  sleep 0.1
done
token=$(curl -sf -X POST -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}" "$base/internal/api/session" |
  node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).data.token)')
key=$(curl -sf -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
  -d '{"name":"wine-client","plan":"PREMIUM"}' "$base/internal/api/user" |
  node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).data.api_key)')
answer=$(curl -sf -H "api-Key: $key" \
  "$base/external/api/riesgocardiaco?colesterol=2.5&presion=1.6&glucosa=0.9&edad=45&sobrepeso=0&tabaquismo=0")
echo "gateway answered: $answer"
grep -q '"status":"ok"' <<<"$answer" && grep -q '"valor":' <<<"$answer" || fail "the gateway's answer"
curl -sf -H "Authorization: Bearer $token" "$base/internal/api/log" | grep -q riesgocardiaco ||
  fail "the gateway's request is not in the log"
echo "the request is in the audit log"
kill "$server"
wait "$server" 2>/dev/null || true
server=""
wineserver -w
echo "== the data sealed at rest"
if grep -rlaF -e riesgocardiaco -e "Wine Check" -e "colesterol=2.5" "$app_data"; then
  fail "a file in %APPDATA%\\org.cardiorisk.desktop holds the log or a name in clear"
fi
if sqlite3 "$app_data/cardiorisk.db" "SELECT count(*) FROM users" 2>/dev/null; then
  fail "a plain sqlite3 reads the database"
fi
audit_verify() {
  CARDIORISK_PASSWORD=$password win audit verify --username admin | tr -d '\r'
}
audit_verify | grep -q "audit trail verified" || fail "the password does not open the data"
if CARDIORISK_PASSWORD="not the password" win audit verify --username admin >/dev/null 2>&1; then
  fail "a wrong password opened the data"
fi
echo "no name, request or measurement in clear in any file; sqlite3 cannot read it; the password opens it"

echo "== the window's exe without WebView2"
set +e
CARDIORISK_DATA_DIR="$(w "$work/app-data")" timeout 60 wine "$inst/cardiorisk-app.exe" \
  >"$work/app.log" 2>&1
status=$?
set -e
tr -d '\r' <"$work/app.log" | grep -v '^$' | tail -3
if [ "$status" = 124 ]; then
  fail "cardiorisk-app.exe did not exit within 60 s without WebView2"
fi
[ "$status" = 3 ] || fail "cardiorisk-app.exe exited with $status, not 3 (no webview)"
grep -q "WebView2 Runtime is not installed" "$work/app.log" || fail "no WebView2 message"
echo "cardiorisk-app.exe starts, finds no WebView2 and says so (exit 3)"

echo "== silent upgrade to $newer, data kept"
entries_before=$(audit_verify | sed -n 's/^audit trail verified: \([0-9]*\) entries.*/\1/p')
wine "$upgrade" /S || fail "the upgrade exited with $?"
wineserver -w
[ "$(reg_value "$uninstall_key" DisplayVersion)" = "$newer" ] || fail "version after the upgrade"
[ "$(reg_value 'HKCU\Software\CardioRisk' InstallDir)" = "$install_dir" ] || fail "moved on upgrade"
entries_after=$(audit_verify | sed -n 's/^audit trail verified: \([0-9]*\) entries.*/\1/p')
[ -n "$entries_after" ] && [ "$entries_after" -gt "$entries_before" ] ||
  fail "the audit trail after the upgrade ($entries_after entries, $entries_before before)"
win predict "${patient[@]}" >/dev/null || fail "the upgraded CLI does not run"
echo "upgraded to $newer; the password still opens the data, its $entries_before audit entries kept and verified"

echo "== silent uninstall, data kept"
wine "$inst/uninstall.exe" /S
wineserver -w # the uninstaller runs from a copy of itself and returns at once
[ ! -e "$inst" ] || fail "files left in $inst: $(ls "$inst")"
[ ! -e "$start_menu/CardioRisk.lnk" ] || fail "Start-menu shortcut left behind"
[ -z "$(reg_value "$uninstall_key" DisplayVersion)" ] || fail "Apps & features entry left behind"
# The installed CLI is gone with the app: the one just built opens the data instead.
exe="$(pwd)/target/win/x86_64-pc-windows-gnu/release/cardiorisk.exe"
audit_verify | grep -q "audit trail verified" || fail "the data did not survive the uninstall"
echo "uninstalled; the clinic's data is still in %APPDATA%\\org.cardiorisk.desktop"
echo "windows test passed"
