#!/usr/bin/env bash
# Builds the Leptos UI to wasm and lays out ui/dist for the Tauri shell.
# Uses the installed wasm32 target where rustup has it; otherwise builds std for
# wasm32 from source with Debian's rustc (packages rustc-web, rust-web-src, lld-22).
set -euo pipefail
cd "$(dirname "$0")/.."

# The largest the UI's wasm may be, in bytes: the test command fails above it.
MAX_UI_WASM_BYTES=1500000

target=wasm32-unknown-unknown
profile=wasm-release
if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  out=target/wasm
  CARGO_TARGET_DIR=$out cargo build -p cardiorisk-ui --profile $profile --target $target
else
  out=target/wasm-std
  RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc CARGO_TARGET_DIR=$out \
    cargo build -p cardiorisk-ui --profile $profile --target $target -Zbuild-std=std,panic_abort
fi

rm -rf ui/dist.new
mkdir -p ui/dist.new
# Function names are for debuggers only: four fifths of the file when kept.
# (Debian 12's wasm-opt, binaryen 108, writes a module WebKitGTK then refuses to start,
# even at -O0, so it is not used; it would save another 3 to 10 %.)
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-name cardiorisk_ui --out-dir ui/dist.new "$out/$target/$profile/cardiorisk-ui.wasm"
size=$(stat -c %s ui/dist.new/cardiorisk_ui_bg.wasm)
echo "UI wasm: $size bytes (ceiling $MAX_UI_WASM_BYTES)"
if [ "$size" -gt "$MAX_UI_WASM_BYTES" ]; then
  echo "The UI's wasm grew past its ceiling of $MAX_UI_WASM_BYTES bytes." >&2
  exit 1
fi
cp ui/static/* ui/dist.new/
rm -rf ui/dist
mv ui/dist.new ui/dist
echo "UI built in ui/dist"
