#!/usr/bin/env bash
# The gateway while another program holds the database: 64 connections keep asking
# during a 25 s exclusive lock. Prints the answers (503, never 200), the server's
# memory before, during and after, the recovery, and the log's own account of the
# outage. Needs wrk and sqlite3.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk sqlite3; do
  command -v $tool >/dev/null || { echo "install $tool (apt-get install -y $tool)"; exit 1; }
done
port=${PORT:-18082}
lock_secs=${LOCK_SECS:-25}
source scripts/gateway-bench-server.sh
url="http://127.0.0.1:$port/external/api/riesgocardiaco?colesterol=2.0&presion=1.2&glucosa=1.0&edad=40&sobrepeso=0&tabaquismo=0"
rss() { grep VmRSS "/proc/$server/status" | tr -s ' \t' ' '; }
echo "before the lock: $(wrk -t1 -c64 -d3s -H "api-Key: $key" "$url" | grep Requests/sec); $(rss)"
(echo "BEGIN EXCLUSIVE;"; sleep "$lock_secs"; echo "ROLLBACK;") | sqlite3 "$data/cardiorisk.db" &
locker=$!
sleep 0.5
wrk -t1 -c64 -d$((lock_secs - 1))s --timeout 10s -H "api-Key: $key" "$url" > "$data/locked.txt" &
load=$!
for t in $(seq 5 5 $((lock_secs - 5))); do sleep 5; echo "after ${t} s of the lock: $(rss)"; done
wait $locker
wait $load
echo "during the lock: $(grep -E 'requests in|Non-2xx' "$data/locked.txt" | tr -s ' ' | tr '\n' ';')"
echo "after the lock: $(wrk -t1 -c4 -d2s -H "api-Key: $key" "$url" | grep -E 'Requests/sec|Non-2xx' | tr -s ' ' | tr '\n' ';') $(rss)"
echo "the log says: $(sqlite3 "$data/cardiorisk.db" "SELECT detail FROM audit_log WHERE detail LIKE '%answered 503%'")"
kill -TERM $server
wait $server && echo "serve exited 0 on SIGTERM"
