#!/usr/bin/env bash
# Memory under a long, bounded load: the demo (migrated, seeded, one course published) serves
# a mixed load from wrk on loopback, /healthz and the demo learner's lesson page, while
# nobody scrapes /metrics. Every 10 s the server's resident memory is read from /proc and
# printed with the requests served so far. A flat RSS column is the pass; a steady climb is
# a leak (histogram samples that only a scrape used to drain, for one).
# Not a test: numbers vary by machine.
#
#   bench/soak.sh                  # 3 minutes
#   SOAK_SECS=600 bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_SECS=${SOAK_SECS:-180}
STEP=10
CONNECTIONS=${CONNECTIONS:-8}
SERVER=${BENCH_SERVER:-postgres://postgres@127.0.0.1:5432}
DB=coursewright_bench_soak
OUT=bench/out/soak

need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
SQLX_OFFLINE=true cargo build --release --quiet -p coursewright
BIN=target/release/coursewright

rm -rf "$OUT" && mkdir -p "$OUT"
psql "$SERVER/postgres" -qX -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL="$SERVER/$DB" RUST_LOG=warn COURSEWRIGHT_DATA_DIR="$OUT/data"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  psql "$SERVER/postgres" -qX -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

"$BIN" demo --bind "127.0.0.1:$port" >"$OUT/demo.log" 2>&1 &
server_pid=$!
for _ in $(seq 600); do grep -q "Press Ctrl-C" "$OUT/demo.log" 2>/dev/null && break; sleep 0.1; done
grep -q "Press Ctrl-C" "$OUT/demo.log" || { cat "$OUT/demo.log"; echo "demo did not start" >&2; exit 1; }
password=$(awk '$2=="learner@demo.test" {print $3}' "$OUT/demo.log")
course=$(grep -o '/learn/[0-9a-f-]\{36\}' "$OUT/demo.log" | head -1 | cut -d/ -f3)
[ -n "$password" ] && [ -n "$course" ] || { cat "$OUT/demo.log"; echo "no learner or course in the demo output" >&2; exit 1; }

cookie=$(curl -s -D - -o /dev/null -H "Origin: $url" -H 'Content-Type: application/json' \
  -d "{\"email\":\"learner@demo.test\",\"password\":\"$password\"}" "$url/api/auth/login" \
  | awk -F'[:;]' 'tolower($1)=="set-cookie" && $2 ~ /cw_session=/ {gsub(/^ +/, "", $2); print $2}')
[ -n "$cookie" ] || { echo "learner login failed" >&2; exit 1; }
curl -sf -H "Cookie: $cookie" -H "Origin: $url" -H 'Content-Type: application/json' \
  -d "{\"courseId\":\"$course\"}" "$url/api/learn/enroll" >/dev/null
page="/learn/$course/lesson/1"
curl -sf -o /dev/null -H "Cookie: $cookie" "$url$page" || { echo "the lesson page did not render" >&2; exit 1; }

rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2/1024}' "/proc/$server_pid/status"; }
# Requests of one wrk run, from its summary line ("N requests in ...").
served() { awk '/requests in/ {print $1}' "$1"; }

printf '\nsoak: %s s of /healthz and %s, %s connections each, no /metrics scrape\n\n' \
  "$SOAK_SECS" "$page" "$CONNECTIONS"
printf '| %6s | %8s | %12s |\n' "time s" "RSS MiB" "requests"
printf '|%s|%s|%s|\n' "--------" "----------" "--------------"
total=0
start_rss=$(rss_mib)
printf '| %6d | %8s | %12d |\n' 0 "$start_rss" 0
for ((t = STEP; t <= SOAK_SECS; t += STEP)); do
  # Two loads at once for one step; each step's counts add up to the requests so far.
  wrk -t1 -c"$CONNECTIONS" -d"${STEP}s" "$url/healthz" >"$OUT/wrk-health.txt" &
  h=$!
  wrk -t1 -c"$CONNECTIONS" -d"${STEP}s" -H "Cookie: $cookie" "$url$page" >"$OUT/wrk-page.txt"
  wait "$h"
  if grep -q 'Non-2xx' "$OUT/wrk-health.txt" "$OUT/wrk-page.txt"; then
    echo "non-2xx answers during the soak:" >&2; grep 'Non-2xx' "$OUT"/wrk-*.txt >&2; exit 1
  fi
  total=$((total + $(served "$OUT/wrk-health.txt") + $(served "$OUT/wrk-page.txt")))
  printf '| %6d | %8s | %12d |\n' "$t" "$(rss_mib)" "$total"
done
end_rss=$(rss_mib)
printf '\nRSS: %s MiB at the start, %s MiB after %s requests\n' "$start_rss" "$end_rss" "$total"
