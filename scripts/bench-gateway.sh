#!/usr/bin/env bash
# Load test of the REST gateway with wrk on loopback, against `cardiorisk serve`
# (release build), with logging on and varied inputs, on a plan the run cannot exhaust.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "install wrk (apt-get install -y wrk)"; exit 1; }
port=${PORT:-18080}
source scripts/gateway-bench-server.sh
VARIETY=${VARIETY:-cycle}
script=$(mktemp --suffix=.lua)
cat > "$script" <<LUA
local n = 0
request = function()
  n = n + 1
  local c = 10 + (n % 21)
  local p = 6 + (n % 13)
  -- $VARIETY: "cycle" repeats 27,300 distinct patients (they fit in the prediction
  -- cache); "unique" gives every request new inputs (no cache hit in a 10 s run).
  local g = 12
  if "$VARIETY" == "unique" then
    g = 5 + (math.floor(n / 27300) % 16)
  end
  local path = string.format("/external/api/riesgocardiaco?colesterol=%d.%d&presion=%d.%d&glucosa=%d.%d&edad=%d&sobrepeso=%d&tabaquismo=%d",
    math.floor(c / 10), c % 10, math.floor(p / 10), p % 10, math.floor(g / 10), g % 10, n % 100, n % 2, math.floor(n / 2) % 2)
  return wrk.format("GET", path, { ["api-Key"] = "$key" })
end
LUA
# FLOOD=N: N more connections send the real key's prefix with a wrong secret the
# whole time (an attacker guessing keys), to see what it costs valid requests.
flood=""
if [ "${FLOOD:-0}" -gt 0 ]; then
  wrong="${key:0:13}$(printf '0%.0s' $(seq 48))"
  wrk -t1 -c"$FLOOD" -d"${DURATION:-10s}" -H "api-Key: $wrong" \
    "http://127.0.0.1:$port/external/api/riesgocardiaco?colesterol=2.0&presion=1.2&glucosa=1.0&edad=40&sobrepeso=0&tabaquismo=0" \
    > "$data/flood.txt" &
  flood=$!
fi
wrk -t${THREADS:-1} -c${CONNECTIONS:-8} -d${DURATION:-10s} --latency -s "$script" "http://127.0.0.1:$port"
if [ -n "$flood" ]; then
  wait "$flood"
  echo "flood (wrong secret, real prefix): $(grep -E 'Requests/sec|Non-2xx' "$data/flood.txt" | tr -s ' ' | tr '\n' ';')"
fi
logged=$(curl -s "http://127.0.0.1:$port/internal/api/log?action=gateway.request&limit=1" -H "Authorization: Bearer $token" \
  | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
echo "gateway requests in the audit log: $logged"
rm -f "$script"
