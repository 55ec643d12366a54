#!/usr/bin/env bash
# Builds CardioRisk for 64-bit Windows on Linux, offline: the app (cardiorisk-app.exe,
# WebView2 through Tauri), the CLI (cardiorisk.exe) and a per-user NSIS installer,
# with mingw-w64 as linker and makensis (packages gcc-mingw-w64-x86-64 nsis), and
# rustup's x86_64-pc-windows-gnu target where it is installed, else Debian's rustc
# with the standard library's source (rustc-web rust-web-src, -Zbuild-std);
# scripts/setup.sh installs them. Nothing is downloaded at build time.
#   bash scripts/build-windows.sh     -> target/win/dist/CardioRisk_<version>_x64-setup.exe
#   VERSION=0.1.1 bash scripts/build-windows.sh   an installer of another version number
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-pc-windows-gnu
out=target/win
dist=$out/dist
version=${VERSION:-$(node -p "require('./tauri.conf.json').version")}
MAX_INSTALLER_BYTES=15000000

[ -f ui/dist/index.html ] || bash scripts/build-ui.sh

export CARGO_TARGET_DIR=$out
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar
packages=(-p cardiorisk-app --bin cardiorisk-app -p cardiorisk-cli --bin cardiorisk)
if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  cargo build --release --target $target "${packages[@]}"
else
  # Debian's rustc builds the standard library for the target from its source.
  RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc \
    cargo build --release --target $target -Zbuild-std=std,panic_abort "${packages[@]}"
fi

# The app loads WebView2Loader.dll at start; webview2-com-sys carries Microsoft's
# redistributable copy (it came with the crate, so no download).
webview2_sys=$(cargo metadata --format-version 1 --filter-platform $target |
  node -e 'const m = JSON.parse(require("fs").readFileSync(0));
    const p = m.packages.find(p => p.name === "webview2-com-sys");
    console.log(require("path").dirname(p.manifest_path))')
rm -rf "$dist/files"
mkdir -p "$dist/files"
cp -p "$out/$target/release/cardiorisk-app.exe" "$out/$target/release/cardiorisk.exe" \
  "$webview2_sys/x64/WebView2Loader.dll" "$dist/files/"

installer="$dist/CardioRisk_${version}_x64-setup.exe"
icon=assets/icons/icon.ico
script=src-tauri/windows/installer.nsi
# Packing takes about 20 s: only when something it packs is newer than the installer.
if [ -f "$installer" ] && [ -z "$(find "$dist/files" "$icon" "$script" -type f -newer "$installer")" ]; then
  echo "Windows installer up to date"
else
  makensis -V2 -DVERSION="$version" -DSOURCE="$PWD/$dist/files" -DICON="$PWD/$icon" \
    -DOUTFILE="$PWD/$installer" "$script"
fi
size=$(stat -c %s "$installer")
echo "Windows installer: $installer, $size bytes (ceiling $MAX_INSTALLER_BYTES)"
if [ "$size" -gt "$MAX_INSTALLER_BYTES" ]; then
  echo "The Windows installer grew past its ceiling of $MAX_INSTALLER_BYTES bytes." >&2
  exit 1
fi
