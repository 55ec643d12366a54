#!/usr/bin/env bash
# Installer test: builds the release .deb and .rpm, checks their size, installs the
# .deb with dpkg, checks the desktop entry, icons and binary, starts the installed
# app under Xvfb and waits for its window, upgrades to a newer package version with
# data in the user's data directory and checks the data survived, then removes the
# package. Needs root (dpkg); says so plainly and skips otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_DEB_BYTES=15000000
CLI=target/debug/cardiorisk

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "installer test SKIPPED: installing a .deb needs root or passwordless sudo"
  exit 0
fi

work=$(mktemp -d)
xvfb_pid=""
app_pid=""
package=""
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  if [ -n "$package" ] && dpkg-query -W "$package" >/dev/null 2>&1; then
    $SUDO dpkg -P "$package" >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "installer test FAILED: $*" >&2; exit 1; }

[ -f ui/dist/index.html ] || fail "build the UI first (bash scripts/build-ui.sh)"
version=$(node -p "require('./tauri.conf.json').version")
newer=$(node -p "v='$version'.split('.'); v[2]=+v[2]+1; v.join('.')")

echo "== building the release installers (version $version)"
# scripts/test.sh has just built the UI; the bundler need not build it again.
no_ui='"build":{"beforeBuildCommand":""}'
npx --no-install tauri build --bundles deb,rpm --config "{$no_ui}"
deb=$(ls target/release/bundle/deb/*_"$version"_*.deb)
rpm=$(ls target/release/bundle/rpm/*-"$version"-*.rpm)
cp "$deb" "$work/old.deb"
deb_bytes=$(stat -c %s "$deb")
rpm_bytes=$(stat -c %s "$rpm")
echo "installer sizes: .deb $deb_bytes bytes, .rpm $rpm_bytes bytes (limit for the .deb: $MAX_DEB_BYTES)"
[ "$deb_bytes" -le "$MAX_DEB_BYTES" ] || fail ".deb is $deb_bytes bytes, over $MAX_DEB_BYTES"
if command -v rpm >/dev/null; then
  # Read whole before matching: `rpm ... | grep -q` fails under pipefail when grep stops
  # reading early and rpm dies of SIGPIPE.
  rpm_meta=$(rpm -qp --qf '%{NAME} %{VERSION}\n' "$rpm")
  rpm_files=$(rpm -qpl "$rpm")
  grep -q " $version\$" <<<"$rpm_meta" || fail ".rpm metadata: $rpm_meta"
  grep -qx /usr/bin/cardiorisk-app <<<"$rpm_files" || fail ".rpm lacks /usr/bin/cardiorisk-app; it holds: $rpm_files"
fi

echo "== packaging the upgrade (version $newer)"
# The same executables under a newer package version: what dpkg does to an installed
# app and its user's data on upgrade is the test, not a recompiled binary (building it
# again took 3.5 minutes of CI to change only the version it reports).
npx --no-install tauri bundle --bundles deb --config "{$no_ui,\"version\":\"$newer\"}"
cp target/release/bundle/deb/*_"$newer"_*.deb "$work/new.deb"

package=$(dpkg-deb -f "$work/old.deb" Package)
if dpkg-query -W "$package" >/dev/null 2>&1; then
  fail "package $package is already installed on this machine; remove it first"
fi

echo "== installing $package $version"
$SUDO dpkg -i "$work/old.deb"
[ "$(dpkg-query -W -f='${Version}' "$package")" = "$version" ] || fail "installed version"
bin=/usr/bin/cardiorisk-app
[ -x "$bin" ] || fail "$bin missing"
desktop=$(dpkg -L "$package" | grep '^/usr/share/applications/.*\.desktop$')
[ -n "$desktop" ] || fail "no desktop entry"
desktop-file-validate "$desktop" || fail "desktop entry invalid"
grep -qx "Exec=cardiorisk-app" "$desktop" || fail "desktop entry Exec"
icon=$(sed -n 's/^Icon=//p' "$desktop")
icons=$(dpkg -L "$package" | grep "^/usr/share/icons/hicolor/.*/apps/$icon.png$")
[ "$(echo "$icons" | wc -l)" -ge 3 ] || fail "expected icons at several sizes, found: $icons"
for f in $icons; do
  size=$(identify -format '%wx%h' "$f")
  dir_size=$(echo "$f" | sed -n 's|.*/hicolor/\([0-9]*x[0-9]*\).*|\1|p')
  # 256x256@2 holds a 256x256 image; the others match their folder.
  [ "$size" = "$dir_size" ] || [[ "$f" == *"@2"* ]] || fail "icon $f is $size"
done
echo "desktop entry $desktop, icon '$icon' at: $(echo "$icons" | tr '\n' ' ')"

display=":$((90 + RANDOM % 100))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
home="$work/home"
mkdir -p "$home"
data="$home/.local/share/org.cardiorisk.desktop"

# Starts the installed app as a user with $home, waits for its window, then stops it.
run_installed() {
  local label=$1
  HOME="$home" XDG_DATA_HOME="" DISPLAY="$display" WEBKIT_DISABLE_COMPOSITING_MODE=1 \
    "$bin" >"$work/app-$label.log" 2>&1 &
  app_pid=$!
  for _ in $(seq 1 60); do
    if DISPLAY="$display" xdotool search --name '^CardioRisk$' >/dev/null 2>&1; then break; fi
    kill -0 "$app_pid" 2>/dev/null || { cat "$work/app-$label.log"; fail "$label: the app exited"; }
    sleep 0.5
  done
  DISPLAY="$display" xdotool search --name '^CardioRisk$' >/dev/null || fail "$label: no window"
  sleep 2
  mkdir -p target/installer-shots
  DISPLAY="$display" import -window root "target/installer-shots/$label.png"
  kill "$app_pid"
  wait "$app_pid" 2>/dev/null || true
  app_pid=""
  # The data stays sealed until a sign-in opens it: the app makes its directory (and
  # its support log) at start, the database at first run.
  [ -d "$data" ] || fail "$label: no data directory for the user"
  echo "$label: window seen, data directory $data"
}

run_installed "installed-$version"
# Data written by the app's own code into the same directory the installed app uses.
CARDIORISK_PASSWORD="correct horse battery" "$CLI" setup --username admin \
  --display-name "Upgrade Check" --data-dir "$data"
# The database is sealed: only the administrator's password opens it (the CLI signs
# in, which is one more audit entry each time).
verified_entries() {
  CARDIORISK_PASSWORD="correct horse battery" "$CLI" audit verify --username admin --data-dir "$data" |
    sed -n 's/^audit trail verified: \([0-9]*\) entries.*/\1/p'
}
audit_before=$(verified_entries)
[ -n "$audit_before" ] || fail "set-up did not store the administrator, or the trail does not verify"
if grep -qaF "Upgrade Check" "$data/cardiorisk.db"; then fail "the database holds a name in clear"; fi
if sqlite3 "$data/cardiorisk.db" "SELECT count(*) FROM users" >/dev/null 2>&1; then
  fail "a plain sqlite3 reads the database"
fi

echo "== upgrading to $newer"
$SUDO dpkg -i "$work/new.deb"
[ "$(dpkg-query -W -f='${Version}' "$package")" = "$newer" ] || fail "upgraded version"
run_installed "upgraded-$newer"
audit_after=$(verified_entries)
[ -n "$audit_after" ] || fail "the administrator's password no longer opens the data, or the trail broke"
[ "$audit_after" -eq $((audit_before + 1)) ] ||
  fail "audit entries: $audit_before before, $audit_after after (one more sign-in expected)"
echo "data intact after the upgrade: the administrator's password opens it, $audit_after audit entries verified, none lost"

echo "== removing"
$SUDO dpkg -r "$package"
[ ! -e "$bin" ] || fail "$bin left behind"
[ ! -e "$desktop" ] || fail "$desktop left behind"
for f in $icons; do [ ! -e "$f" ] || fail "$f left behind"; done
if dpkg-query -W "$package" >/dev/null 2>&1; then $SUDO dpkg -P "$package" >/dev/null; fi
dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q installed && fail "package still installed"
[ -f "$data/cardiorisk.db" ] || fail "removal must not touch the user's data"
package=""
echo "installer test passed"
