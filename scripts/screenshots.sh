#!/usr/bin/env bash
# Runs the end-to-end flows (which take screenshots of the real window under Xvfb)
# and copies the screenshots the guides and README use into docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-ui.sh
source scripts/lint-env.sh
cargo test -p cardiorisk-app --test e2e
mkdir -p docs/screenshots
for name in first-run patients patient range-error assessment what-if report \
  administration integration-client settings audit model-card model-retrain assessment-es \
  patient-1024x700; do
  cp "target/e2e-shots/$name.png" docs/screenshots/
done
echo "Screenshots copied to docs/screenshots/."
