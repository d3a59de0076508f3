#!/usr/bin/env bash
# Generation throughput: an 8x5 course against a fake provider answering after 500 ms, with
# the critical-path bound for the configured LLM concurrency, then the same request again
# from the response cache. Prints a table. Not a test.
#
#   bench/generation.sh            # 8 LLM calls in flight
#   CONCURRENCY=16 bench/generation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER=${BENCH_SERVER:-postgres://postgres@127.0.0.1:5432}
SQLX_OFFLINE=true cargo build --release --quiet -p worker --bench generation
bin=$(ls -t target/release/deps/generation-* | grep -v '\.d$' | head -n1)
"$bin" --database-url "$SERVER/cw_bench_generation" --concurrency "${CONCURRENCY:-8}"
