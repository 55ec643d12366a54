#!/usr/bin/env bash
# What a clinician feels of the desktop app on this machine: the UI's wasm size, the
# time from exec to the first screen ready for input (median of $RUNS starts, each
# with an empty data directory), and the memory (PSS, app plus its WebKit processes)
# with the first screen up; then the E2E flows on that build: the assessment from the
# click to its painted result and the memory after each flow. Release build, under
# Xvfb. Prints figures; asserts nothing.
#   bash scripts/bench-client.sh            # RUNS=10
#   BEFORE=/path/to/older/cardiorisk-app bash scripts/bench-client.sh
#                                           # also that build's starts, interleaved
#                                           # with this one's, in the same run
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
BEFORE=${BEFORE:-}

[ -f ui/dist/index.html ] || bash scripts/build-ui.sh
echo "== release build"
npx --no-install tauri build --no-bundle --config '{"build":{"beforeBuildCommand":""}}' >/dev/null
app=target/release/cardiorisk-app
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || { echo "BEFORE=$BEFORE is not an executable" >&2; exit 2; }

echo "UI wasm: $(stat -c %s ui/dist/cardiorisk_ui_bg.wasm) bytes"

display=:$((90 + RANDOM % 50))
Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 &
xvfb=$!
work=$(mktemp -d)
cleanup() { kill "$xvfb" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.05; done

# Sum of Pss over the process and all its descendants (the WebKit web and network
# processes are the app's children), in kB.
pss_tree() {
  local pids=("$1") i=0 total=0 pid
  while [ "$i" -lt "${#pids[@]}" ]; do
    pids+=($(pgrep -P "${pids[$i]}" || true))
    i=$((i + 1))
  done
  for pid in "${pids[@]}"; do
    [ -r "/proc/$pid/smaps_rollup" ] || continue
    total=$((total + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")))
  done
  echo "$total"
}

# Starts the app `$1` with an empty data directory `$2` and waits for its first screen
# ready for input: exec to then in ms in $start_ms; the app is left running
# ($started_pid).
start_once() {
  local app=$1 data=$2 ready="$2.ready" start end
  start=$(date +%s%N)
  DISPLAY=$display CARDIORISK_DATA_DIR=$data CARDIORISK_READY_FILE=$ready "$app" >/dev/null 2>&1 &
  started_pid=$!
  until [ -e "$ready" ]; do
    kill -0 "$started_pid" 2>/dev/null || { echo "$app ended before its first screen" >&2; exit 1; }
    sleep 0.002
  done
  end=$(date +%s%N)
  start_ms=$(((end - start) / 1000000))
}

median_of() {
  printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'
}

times=()
before_times=()
for run in $(seq "$RUNS"); do
  if [ -n "$BEFORE" ]; then
    start_once "$BEFORE" "$work/before-$run"
    before_times+=("$start_ms")
    kill "$started_pid"; wait "$started_pid" 2>/dev/null || true
  fi
  data="$work/data-$run"
  start_once "$app" "$data"
  times+=("$start_ms")
  pid=$started_pid
  if [ "$run" = 1 ]; then
    sleep 1 # let the first screen settle before reading memory
    echo "memory with the first screen up: $(( $(pss_tree "$pid") / 1024 )) MB PSS (app and WebKit processes)"
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
if [ -n "$BEFORE" ]; then
  echo "start of BEFORE ($BEFORE), interleaved, ms: $(printf '%s\n' "${before_times[@]}" | sort -n | tr '\n' ' ')"
  echo "BEFORE start median: $(median_of "${before_times[@]}") ms"
fi
echo "start, exec to first screen ready (ms), $RUNS runs: $(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')"
echo "start median: $(median_of "${times[@]}") ms"
# Where the start went, as the app's support log notes it (ms after main began; exec
# to main is the rest): services open, the page began loading, its wasm began to run,
# the first screen ready. Medians of the runs.
milestone() {
  cat "$work"/data-*/logs/cardiorisk.log 2>/dev/null | grep -o "$1=[0-9-]*" | cut -d= -f2 | sort -n \
    | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "?"}'
}
echo "start milestones (median ms after main): services open $(milestone setup_ms)," \
  "page loading $(milestone page_started_ms), wasm running $(milestone wasm_started_ms)," \
  "first screen ready $(milestone ready_ms)"

# The E2E flows drive this release build: click-to-paint of each assessment as the
# page measures it, and the memory each flow leaves the app at (every screen visited
# across the flows, assessments included).
echo "== E2E flows on the release build"
# The test binary is built as the test command builds it, so neither rebuilds for the other.
source scripts/lint-env.sh
CARDIORISK_E2E_APP="$PWD/$app" cargo test -q -p cardiorisk-app --test e2e -- --nocapture --test-threads 1 2>&1 \
  | grep -E "click to painted result|IPC round trip|memory after|test result" || true

# Many assessments of one patient on this build: the first on the page, then the
# median and p90 of the rest, click to painted result (tests/e2e/bench.rs, ignored by the test command).
echo "== assessments, click to painted result"
CARDIORISK_E2E_APP="$PWD/$app" cargo test -q -p cardiorisk-app --test e2e assessment_click_to_paint -- --ignored --nocapture 2>&1 \
  | grep -E "assessment|test result" || true
