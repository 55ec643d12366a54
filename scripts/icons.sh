#!/usr/bin/env bash
# Regenerates every app icon the bundlers need from the one source, assets/icon.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx --no-install tauri icon assets/icon.svg -o "$out" >/dev/null 2>&1
for f in 32x32.png 64x64.png 128x128.png 128x128@2x.png icon.png icon.ico icon.icns; do
  cp "$out/$f" assets/icons/
done
echo "Icons written to assets/icons/."
