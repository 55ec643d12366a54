# Sourced by the gateway bench scripts: builds the release CLI, starts `cardiorisk
# serve` on $port with a fresh data directory, an administrator and a client on a
# plan no run can exhaust. Sets $bin, $data, $server, $token and $key.
# BIN=/path/to/cardiorisk measures another build instead of building this one.
if [ -n "${BIN:-}" ]; then
  bin=$BIN
else
  cargo build --release -p cardiorisk-cli
  bin=target/release/cardiorisk
fi
data=$(mktemp -d)
export CARDIORISK_PASSWORD="bench-password-1"
$bin setup --username admin --display-name "Bench" --data-dir "$data"
$bin set-plan --name BENCH --per-minute 100000000 --username admin --data-dir "$data"
# Builds before encryption ignore CARDIORISK_USERNAME (BIN= comparisons).
CARDIORISK_USERNAME=admin $bin serve --port "$port" --data-dir "$data" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -s "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
token=$(curl -s -X POST "http://127.0.0.1:$port/internal/api/session" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$CARDIORISK_PASSWORD\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
key=$(curl -s -X POST "http://127.0.0.1:$port/internal/api/user" -H "Authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"name":"bench","plan":"BENCH"}' | sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p')
