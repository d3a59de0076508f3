#!/usr/bin/env bash
# Reference queue benchmark: installs graphile-worker 0.17.3 (+ pg) into the gitignored
# scratch folder bench/out/graphile-node (skipped when already there at that version),
# then runs bench/queue/graphile.mjs with the given arguments. One JSON line per
# concurrency on stdout; logs on stderr. The database's graphile_worker schema is dropped.
#
#   bench/queue/run-graphile.sh --jobs 50000 --concurrency 1,4,16 \
#       --database-url postgres://postgres@127.0.0.1:5432/SOMEDB
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$(cd "$here/.." && pwd)/out/graphile-node"
version=0.17.3

mkdir -p "$out"
installed=$(node -p "require('$out/node_modules/graphile-worker/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$version" ] || [ ! -d "$out/node_modules/pg" ]; then
  echo "installing graphile-worker@$version into $out" >&2
  npm install --no-audit --no-fund --save-exact --prefix "$out" "graphile-worker@$version" pg@8 >&2
fi

GW_NODE_DIR="$out" exec node "$here/graphile.mjs" "$@"
