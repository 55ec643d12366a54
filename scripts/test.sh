#!/usr/bin/env bash
# The whole test suite: formatting, clippy and the release workflow, the wasm UI, every
# test of the workspace (unit, integration against real SQLite files, the real
# model and the real HTTP server, end-to-end flows of the real window under Xvfb),
# the installer test (release .deb/.rpm built, installed, upgraded, removed), the
# Windows build tested under Wine, and the macOS build (compiled for Apple silicon,
# the CLI linked and checked).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
npx --no-install action-validator .github/workflows/release.yml
bash scripts/build-ui.sh

# The Windows build has its own compiler and target directory, and needs only the
# built UI. It starts now, at low priority, beside the debug test build, the tests and
# the Linux installer's release build, taking the CPU they leave idle (links and
# build scripts run on one core; the tests wait on the window and the disk).
mkdir -p target
windows_log=target/build-windows.log
nice -n 15 bash scripts/build-windows.sh >"$windows_log" 2>&1 &
windows_build=$!
# The macOS build (every crate of the app and the CLI for aarch64-apple-darwin, the
# CLI linked and checked as a Mach-O executable) likewise, in target/macos, below the
# Windows build, which is longer and has its Wine test still to run after it.
macos_log=target/build-macos.log
nice -n 17 bash scripts/build-macos.sh check >"$macos_log" 2>&1 &
macos_build=$!
trap 'kill "$windows_build" "$macos_build" 2>/dev/null || true' EXIT
# The test build is clippy's too (scripts/lint-env.sh): every target of the workspace's
# own crates (libraries, binaries, tests, benches) linted, warnings denied. A separate
# `cargo clippy` would check all ~450 dependencies again (about 5 CPU-minutes cold) for
# the same lints; `cargo clippy` itself runs clippy-driver so, only with `cargo check`.
# The UI is linted by neither: checking it for this machine would build the Leptos
# stack again.
source scripts/lint-env.sh
if ! cargo test --workspace --exclude cardiorisk-ui --all-targets --no-run; then
  echo "the test build failed, or clippy found warnings (above)" >&2
  exit 1
fi
started=$(date +%s)
cargo test --workspace --exclude cardiorisk-ui
echo "workspace tests: $(($(date +%s) - started)) s"
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
bash scripts/test-installer.sh
echo "workspace and installer tests: $(($(date +%s) - started)) s"
if ! wait "$windows_build"; then
  cat "$windows_log"
  echo "the Windows build failed" >&2
  exit 1
fi
echo "Windows build done $(($(date +%s) - started)) s after the tests started"
bash scripts/test-windows.sh
if ! wait "$macos_build"; then
  cat "$macos_log"
  echo "the macOS build failed" >&2
  exit 1
fi
trap - EXIT
echo "macOS build done $(($(date +%s) - started)) s after the tests started:"
grep -E '^(target/macos/.*: Mach-O|minimum macOS|  /)' "$macos_log"
