#!/usr/bin/env bash
# The whole test suite: the wasm UI, the app and CLI, then every test (unit,
# integration against real SQLite files and the real model, and the end-to-end
# test of the real window under Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
bash scripts/build-ui.sh
cargo test --workspace --exclude cardiorisk-ui
