#!/usr/bin/env bash
# Analytics, in one run (crates/web/benches/analytics.rs): ingest over HTTP (64 learners,
# batches of 100) beside psql's COPY of as many rows into the same table; a full aggregation
# of EVENTS synthetic events over 90 days beside a hand-written INSERT … SELECT … GROUP BY
# producing the same rows (checked equal); then one new day and the incremental run.
# Prints a table and the ratios. Not a test: numbers vary by machine.
#
#   bench/analytics.sh                  # 10 M events
#   EVENTS=1000000 bench/analytics.sh   # a quicker look
#   BATCHES=40                          # batches per learner (each stays under 120 a minute)
#
# The lesson page with the event script is measured by bench/learn.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v psql >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null; }
SQLX_OFFLINE=true cargo bench -q -p web --bench analytics
