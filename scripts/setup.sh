#!/usr/bin/env bash
# Installs what CardioRisk needs to build, run and test on Debian/Ubuntu.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(
  build-essential pkg-config curl
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev
  xvfb webkit2gtk-driver imagemagick xdotool sqlite3
  desktop-file-utils rpm
  # Report PDFs: a CJK font to fall back on, and pdftotext to read them back in tests.
  fonts-droid-fallback poppler-utils
)
# Node.js runs the Tauri CLI (installers) and the workflow linter; the machine's own
# is used when there is one.
if ! command -v npm >/dev/null; then packages+=(nodejs npm); fi
# Debian's rustc with the standard library's source builds the wasm UI when rustup
# cannot add the wasm32 target (scripts/build-ui.sh chooses).
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  packages+=(lld-22)
fi
# Windows from Linux, offline (scripts/build-windows.sh, scripts/test-windows.sh): the
# same rustc with mingw-w64 as linker, makensis for the installer, Wine to test it.
packages+=(rustc-web rust-web-src gcc-mingw-w64-x86-64 nsis wine64)
# macOS from Linux (scripts/build-macos.sh): the same rustc, zig as C compiler and
# linker (from PyPI, below), LLVM's otool and lipo to check the Mach-O files.
packages+=(python3-venv llvm-22 file)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "Rust is not installed: install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi

# The test build lints with clippy-driver (scripts/test.sh).
if ! command -v clippy-driver >/dev/null; then
  rustup component add clippy
fi

# wasm-bindgen's CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wbg=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg" ]; then
  cargo install wasm-bindgen-cli --version "$wbg"
fi
if ! command -v tauri-driver >/dev/null; then
  cargo install tauri-driver --version "^2" --locked
fi
# zig and cargo-zigbuild, pinned, in their own virtual environment (scripts/build-macos.sh).
macos_venv=${CARDIORISK_MACOS_TOOLS:-$HOME/.local/share/cardiorisk-build/macos-venv}
macos_tools=(ziglang==0.17.0 cargo-zigbuild==0.24.1)
installed=$("$macos_venv/bin/pip" freeze 2>/dev/null || true)
for tool in "${macos_tools[@]}"; do
  if ! grep -qxF "$tool" <<<"$installed"; then
    python3 -m venv "$macos_venv"
    "$macos_venv/bin/pip" install --quiet "${macos_tools[@]}"
    break
  fi
done
# The Tauri CLI and the workflow linter, exactly as package-lock.json pins them.
if ! cmp -s package-lock.json node_modules/.installed-lock.json 2>/dev/null; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.installed-lock.json
fi
echo "Set-up complete."
