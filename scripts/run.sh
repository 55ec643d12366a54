#!/usr/bin/env bash
# Builds the UI and starts the desktop app (debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-ui.sh
exec cargo run --bin cardiorisk-app
