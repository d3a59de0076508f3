#!/usr/bin/env bash
# Foundation figures: cold start of `serve` to a 200 from /readyz, idle RSS, and /healthz
# throughput with wrk at 64 connections. Prints a table. Not a test: numbers vary by machine.
#
#   bench/foundation.sh            # 5 cold starts, 20 s of wrk
#   RUNS=3 DURATION=10 bench/foundation.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
DURATION=${DURATION:-20}
SERVER=${BENCH_SERVER:-postgres://postgres@127.0.0.1:5432}
DB=coursewright_bench

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
SQLX_OFFLINE=true cargo build --release --quiet
BIN=target/release/coursewright

psql "$SERVER/postgres" -qX -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL="$SERVER/$DB" RUST_LOG=warn
"$BIN" migrate >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

starts=()
for _ in $(seq "$RUNS"); do
  t0=$(date +%s%N)
  "$BIN" serve --bind "127.0.0.1:$port" >/dev/null 2>&1 &
  pid=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; do sleep 0.002; done
  t1=$(date +%s%N)
  starts+=($(( (t1 - t0) / 1000 )))
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done
median_us=$(printf '%s\n' "${starts[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
min_us=$(printf '%s\n' "${starts[@]}" | sort -n | head -1)

"$BIN" serve --bind "127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; do sleep 0.01; done
sleep 2
rss_idle=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
wrk_out=$(wrk -t2 -c64 -d"${DURATION}s" --latency "$url/healthz")
rss_load=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
rps=$(awk '/Requests\/sec/ {print $2}' <<<"$wrk_out")
p50=$(awk '$1=="50%" {print $2}' <<<"$wrk_out")
p99=$(awk '$1=="99%" {print $2}' <<<"$wrk_out")
errors=$(grep -E 'Non-2xx|Socket errors' <<<"$wrk_out" || true)

printf '\n%-44s %s\n' "measure" "value"
printf '%-44s %s\n' "--------------------------------------------" "------------------"
printf '%-44s %.1f ms (min %.1f ms, %d runs)\n' "cold start: serve -> 200 /readyz (median)" "$(awk "BEGIN{print $median_us/1000}")" "$(awk "BEGIN{print $min_us/1000}")" "$RUNS"
printf '%-44s %.1f MiB\n' "RSS idle (after ready + 2 s)" "$(awk "BEGIN{print $rss_idle/1024}")"
printf '%-44s %.1f MiB\n' "RSS peak (during the wrk run)" "$(awk "BEGIN{print $rss_load/1024}")"
printf '%-44s %s\n' "/healthz req/s (wrk -t2 -c64 -d${DURATION}s)" "$rps"
printf '%-44s %s / %s\n' "/healthz latency p50 / p99" "$p50" "$p99"
printf '%-44s %s\n' "wrk errors" "${errors:-none}"
psql "$SERVER/postgres" -qX -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
