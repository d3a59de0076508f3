#!/usr/bin/env bash
# Queue throughput: drain N no-op jobs with 1, 4 and 16 concurrent claimers through our real
# worker path (one commit per claim and per finish, audit rows and output records included),
# then graphile-worker 0.17.3 in its default unbatched mode on the same PostgreSQL, and print
# a table with the ratio. Run it on an idle machine: both sides share its 2 cores.
#
#   bench/queue.sh                 # 50,000 jobs
#   JOBS=5000 bench/queue.sh
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-50000}
LEVELS=${LEVELS:-1,4,16}
SERVER=${BENCH_SERVER:-postgres://postgres@127.0.0.1:5432}
out=bench/out
mkdir -p "$out"

SQLX_OFFLINE=true cargo build --release --quiet -p worker --bench queue
bin=$(ls -t target/release/deps/queue-* | grep -v '\.d$' | head -n1)

"$bin" --jobs "$JOBS" --concurrency "$LEVELS" --database-url "$SERVER/cw_bench_queue" | tee "$out/queue-ours.jsonl" >&2
psql "$SERVER/postgres" -qX -c "DROP DATABASE IF EXISTS cw_bench_queue WITH (FORCE)" >/dev/null

psql "$SERVER/postgres" -qX -c "DROP DATABASE IF EXISTS gw_bench_queue WITH (FORCE)" -c "CREATE DATABASE gw_bench_queue" >/dev/null
bench/queue/run-graphile.sh --jobs "$JOBS" --concurrency "$LEVELS" --database-url "$SERVER/gw_bench_queue" | tee "$out/queue-graphile.jsonl" >&2
psql "$SERVER/postgres" -qX -c "DROP DATABASE IF EXISTS gw_bench_queue WITH (FORCE)" >/dev/null

python3 - "$out/queue-ours.jsonl" "$out/queue-graphile.jsonl" <<'PY'
import json, sys
ours = {r["concurrency"]: r for r in map(json.loads, open(sys.argv[1]))}
ref = {r["concurrency"]: r for r in map(json.loads, open(sys.argv[2]))}
print()
print(f'{"claimers":>8} | {"ours jobs/s":>11} {"p50 ms":>7} {"p99 ms":>7} {"dup":>4} | {"graphile jobs/s":>15} {"p50 ms":>7} {"p99 ms":>7} {"dup":>4} | {"ratio":>6}')
print("-" * 96)
for c in sorted(ours):
    o, g = ours[c], ref.get(c, {})
    ratio = o["jobs_per_sec"] / g["jobs_per_sec"] if g else float("nan")
    print(f'{c:>8} | {o["jobs_per_sec"]:>11.1f} {o["claim_p50_ms"]:>7.2f} {o["claim_p99_ms"]:>7.2f} {o["duplicates"]:>4} | '
          f'{g.get("jobs_per_sec", 0):>15.1f} {g.get("claim_p50_ms", 0):>7.2f} {g.get("claim_p99_ms", 0):>7.2f} {g.get("duplicates", 0):>4} | {ratio:>5.2f}x')
print(f"\n{next(iter(ours.values()))['jobs']} jobs per run; goal: >= 1.5x graphile-worker with zero duplicates")
PY
