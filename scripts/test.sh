#!/usr/bin/env bash
# The whole test suite: formatting, clippy and the release workflow, the wasm UI, every
# test of the workspace (unit, integration against real SQLite files, the real
# model and the real HTTP server, end-to-end flows of the real window under Xvfb),
# the installer test (release .deb/.rpm built, installed, upgraded, removed), then
# the Windows build tested under Wine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
npx --no-install action-validator .github/workflows/release.yml
bash scripts/build-ui.sh
cargo test --workspace --exclude cardiorisk-ui --no-run

# The Windows build has its own compiler and target directory. It runs at low
# priority beside the tests and the Linux installer's release build, taking the
# CPU they leave idle (waits on the window and the disk, single-threaded links).
# Clippy (every crate but the wasm UI, all targets, warnings denied) does the same:
# checking the UI for this machine builds the Leptos stack again, which took the
# Windows build's CPU and pushed a cold run to about 85 minutes.
mkdir -p target
windows_log=target/build-windows.log
nice -n 15 bash scripts/build-windows.sh >"$windows_log" 2>&1 &
windows_build=$!
clippy_log=target/clippy.log
nice -n 10 cargo clippy --workspace --exclude cardiorisk-ui --all-targets -- -D warnings \
  >"$clippy_log" 2>&1 &
clippy=$!
trap 'kill "$windows_build" "$clippy" 2>/dev/null || true' EXIT
started=$(date +%s)
cargo test --workspace --exclude cardiorisk-ui
echo "workspace tests: $(($(date +%s) - started)) s"
bash scripts/test-installer.sh
echo "workspace and installer tests: $(($(date +%s) - started)) s"
if ! wait "$clippy"; then
  cat "$clippy_log"
  echo "clippy found warnings" >&2
  exit 1
fi
echo "clippy done $(($(date +%s) - started)) s after the tests started"
if ! wait "$windows_build"; then
  cat "$windows_log"
  echo "the Windows build failed" >&2
  exit 1
fi
trap - EXIT
echo "Windows build done $(($(date +%s) - started)) s after the tests started"
bash scripts/test-windows.sh
