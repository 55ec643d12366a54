#!/usr/bin/env bash
# Batch scoring CSV -> CSV with the release CLI: rows per second and peak memory
# (max RSS) on generated files of 1,000,000 and 10,000,000 rows, each run $RUNS times
# from the page cache. Prints figures; asserts nothing.
#   bash scripts/bench-batch.sh                 # ROWS="1000000 10000000" RUNS=3
#   BIN=/path/to/cardiorisk bash scripts/bench-batch.sh   # another build, same files
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
ROWS=${ROWS:-"1000000 10000000"}
if [ -z "${BIN:-}" ]; then
  cargo build --release -p cardiorisk-cli
  BIN=target/release/cardiorisk
fi
work=${WORK:-$(mktemp -d)}
trap '[ -n "${WORK:-}" ] || rm -rf "$work"' EXIT
for rows in $ROWS; do
  input="$work/in-$rows.csv"
  [ -s "$input" ] || "$BIN" synth --rows "$rows" --seed 7 --span valid --out "$input" >/dev/null
  for run in $(seq "$RUNS"); do
    cat "$input" >/dev/null
    rm -f "$work/out.csv"
    /usr/bin/time -f "%e %M" -o "$work/time" "$BIN" batch --data "$input" --out "$work/out.csv" 2>/dev/null
    read -r seconds rss_kb < "$work/time"
    echo "$rows rows, run $run: $(awk -v r="$rows" -v s="$seconds" 'BEGIN { printf "%.2f M rows/s (%.2f s)", r / s / 1e6, s }'), max RSS $((rss_kb / 1024)) MB, input $(( $(stat -c %s "$input") / 1048576 )) MB"
  done
done
