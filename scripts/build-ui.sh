#!/usr/bin/env bash
# Builds the Leptos UI to wasm and lays out ui/dist for the Tauri shell.
# Uses the installed wasm32 target where rustup has it; otherwise builds std for
# wasm32 from source with Debian's rustc (packages rustc-web, rust-web-src, lld-22).
set -euo pipefail
cd "$(dirname "$0")/.."

target=wasm32-unknown-unknown
if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  out=target/wasm
  CARGO_PROFILE_RELEASE_STRIP=debuginfo CARGO_TARGET_DIR=$out cargo build -p cardiorisk-ui --release --target $target
else
  out=target/wasm-std
  CARGO_PROFILE_RELEASE_STRIP=debuginfo RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc CARGO_TARGET_DIR=$out \
    cargo build -p cardiorisk-ui --release --target $target -Zbuild-std=std,panic_abort
fi

rm -rf ui/dist.new
mkdir -p ui/dist.new
wasm-bindgen --target web --no-typescript --out-name cardiorisk_ui --out-dir ui/dist.new "$out/$target/release/cardiorisk-ui.wasm"
cp ui/static/* ui/dist.new/
rm -rf ui/dist
mv ui/dist.new ui/dist
echo "UI built in ui/dist"
