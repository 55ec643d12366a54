#!/usr/bin/env bash
# The whole test suite: formatting and the release workflow, the wasm UI, every
# test of the workspace (unit, integration against real SQLite files, the real
# model and the real HTTP server, end-to-end flows of the real window under Xvfb),
# then the installer test (release .deb/.rpm built, installed, upgraded, removed).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
npx --no-install action-validator .github/workflows/release.yml
bash scripts/build-ui.sh
cargo test --workspace --exclude cardiorisk-ui
bash scripts/test-installer.sh
