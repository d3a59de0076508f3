#!/usr/bin/env bash
# Learner delivery under load: with the demo course published, wrk at 64 connections
# against the lesson page and the lesson JSON, signed in as the demo learner; in the same
# run, nginx (Debian's package, on another loopback port) serving the same rendered HTML
# saved as a file. Prints req/s, p50 and p99 for each and the ratio to nginx.
# Not a test: numbers vary by machine.
#
#   bench/learn.sh                 # 20 s per target
#   DURATION=5 bench/learn.sh
#   COURSEWRIGHT_BIN=path/to/coursewright bench/learn.sh   # a binary built elsewhere (for
#                                                          # perf: one with symbols)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
SERVER=${BENCH_SERVER:-postgres://postgres@127.0.0.1:5432}
DB=coursewright_bench_learn
OUT=bench/out/learn

need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx
if [ -n "${COURSEWRIGHT_BIN:-}" ]; then
  BIN=$COURSEWRIGHT_BIN
else
  SQLX_OFFLINE=true cargo build --release --quiet -p coursewright
  BIN=target/release/coursewright
fi

rm -rf "$OUT" && mkdir -p "$OUT/www" "$OUT/nginx"
psql "$SERVER/postgres" -qX -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL="$SERVER/$DB" RUST_LOG=warn COURSEWRIGHT_DATA_DIR="$OUT/data"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
nginx_port=$(free_port)
url="http://127.0.0.1:$port"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$OUT/nginx/nginx.pid" ] && kill "$(cat "$OUT/nginx/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  psql "$SERVER/postgres" -qX -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The demo: migrates, seeds people, publishes the sample course and serves it.
"$BIN" demo --bind "127.0.0.1:$port" >"$OUT/demo.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q "Press Ctrl-C" "$OUT/demo.log" 2>/dev/null && break; sleep 0.1; done
grep -q "Press Ctrl-C" "$OUT/demo.log" || { cat "$OUT/demo.log"; echo "demo did not start" >&2; exit 1; }
password=$(awk '$2=="learner@demo.test" {print $3}' "$OUT/demo.log")
course=$(grep -o '/learn/[0-9a-f-]\{36\}' "$OUT/demo.log" | head -1 | cut -d/ -f3)
[ -n "$password" ] && [ -n "$course" ] || { cat "$OUT/demo.log"; echo "no learner or course in the demo output" >&2; exit 1; }

# Sign in as the learner; keep the session cookie for wrk.
cookie=$(curl -s -D - -o /dev/null -H "Origin: $url" -H 'Content-Type: application/json' \
  -d "{\"email\":\"learner@demo.test\",\"password\":\"$password\"}" "$url/api/auth/login" \
  | awk -F'[:;]' 'tolower($1)=="set-cookie" && $2 ~ /cw_session=/ {gsub(/^ +/, "", $2); print $2}')
[ -n "$cookie" ] || { echo "learner login failed" >&2; exit 1; }
curl -sf -H "Cookie: $cookie" -H "Origin: $url" -H 'Content-Type: application/json' \
  -d "{\"courseId\":\"$course\"}" "$url/api/learn/enroll" >/dev/null

page="/learn/$course/lesson/1"
json="/api/learn/courses/$course/lessons/1"
curl -sf -H "Cookie: $cookie" "$url$page" >"$OUT/www/lesson.html"
grep -q "Key takeaways" "$OUT/www/lesson.html" || { echo "the lesson page did not render" >&2; exit 1; }

cat >"$OUT/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $PWD/$OUT/nginx/nginx.pid;
error_log $PWD/$OUT/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { text/html html; }
  client_body_temp_path $PWD/$OUT/nginx/body;
  proxy_temp_path $PWD/$OUT/nginx/proxy;
  fastcgi_temp_path $PWD/$OUT/nginx/fastcgi;
  uwsgi_temp_path $PWD/$OUT/nginx/uwsgi;
  scgi_temp_path $PWD/$OUT/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $PWD/$OUT/www;
  }
}
EOF
nginx -p "$PWD/$OUT/nginx" -c "$PWD/$OUT/nginx/nginx.conf"
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/lesson.html" && break; sleep 0.05; done
cmp -s "$OUT/www/lesson.html" <(curl -s "http://127.0.0.1:$nginx_port/lesson.html") \
  || { echo "nginx does not serve the saved page" >&2; exit 1; }

declare -A RPS P50 P99 ERR
run() { # name url [cookie]
  local out
  if [ -n "${3:-}" ]; then
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Cookie: $3" "$2")
  else
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$2")
  fi
  echo "$out" >"$OUT/wrk-$1.txt"
  RPS[$1]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  P50[$1]=$(awk '$1=="50%" {print $2}' <<<"$out")
  P99[$1]=$(awk '$1=="99%" {print $2}' <<<"$out")
  ERR[$1]=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | paste -sd';' || true)
}
run nginx "http://127.0.0.1:$nginx_port/lesson.html"
run page "$url$page" "$cookie"
run json "$url$json" "$cookie"

ms() { # wrk latency (us/ms/s) -> ms
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.2f", n }'
}
printf '\nwrk -t%s -c%s -d%ss, %s bytes of lesson HTML, signed in as the demo learner\n\n' \
  "$THREADS" "$CONNECTIONS" "$DURATION" "$(stat -c %s "$OUT/www/lesson.html")"
printf '| %-38s | %10s | %8s | %8s | %9s | %s\n' "target" "req/s" "p50 ms" "p99 ms" "vs nginx" "errors"
printf '|%s|%s|%s|%s|%s|%s\n' "----------------------------------------" "------------" "----------" "----------" "-----------" "--------"
for k in nginx page json; do
  case $k in
    nginx) name="nginx 1.22, the saved page (static)";;
    page) name="Coursewright lesson page (HTML)";;
    json) name="Coursewright lesson JSON (API)";;
  esac
  ratio=$(awk -v a="${RPS[$k]}" -v b="${RPS[nginx]}" 'BEGIN { printf "%.2fx", a/b }')
  printf '| %-38s | %10s | %8s | %8s | %9s | %s\n' "$name" "${RPS[$k]}" "$(ms "${P50[$k]}")" "$(ms "${P99[$k]}")" "$ratio" "${ERR[$k]:-none}"
done
echo
echo "Goal: >= 0.5x nginx and p99 under 20 ms. Raw wrk output: $OUT/"
