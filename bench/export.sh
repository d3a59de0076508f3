#!/usr/bin/env bash
# Exports, in one run (crates/web/benches/export.rs): a 40-lesson course (8 modules × 5
# lessons, offline provider, built and published through the real pipeline); the learner
# HTML of every lesson from the server; Debian's Chromium printing those lessons to PDF with
# --print-to-pdf; our PDF and our SCORM ZIP; an export served from the store and a 304.
# Prints a table and the ratios; the files land in bench/out/export/.
# Not a test: numbers vary by machine.
#
#   bench/export.sh               # medians of 5 rounds
#   ROUNDS=3 bench/export.sh
#   BUILD=1 bench/export.sh       # also: the cold release build time and the binary size
#                                 # the PDF engine (typst) adds
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need chromium chromium
need bc bc
mkdir -p bench/out/export
SQLX_OFFLINE=true BENCH_OUT=bench/out/export cargo bench -q -p web --bench export

if [ "${BUILD:-}" = 1 ]; then
  # Cold release builds in scratch target folders: the export crate with typst, and the
  # domain crate it builds on alone: the difference is, within the few seconds of zip and
  # quick-xml, what the PDF engine costs a fresh build.
  t=$(mktemp -d)
  trap 'rm -rf "$t"' EXIT
  s=$(date +%s.%N)
  CARGO_TARGET_DIR="$t/with" SQLX_OFFLINE=true cargo build -q --release -p export
  with=$(echo "$(date +%s.%N) - $s" | bc)
  s=$(date +%s.%N)
  CARGO_TARGET_DIR="$t/without" SQLX_OFFLINE=true cargo build -q --release -p domain
  without=$(echo "$(date +%s.%N) - $s" | bc)
  printf '\ncold release build: export with typst %.0f s, domain alone %.0f s: typst adds about %.0f s\n' \
    "$with" "$without" "$(echo "$with - $without" | bc)"
  # Binary size: the release binary, and the share of it typst's crates take (cargo-bloat).
  command -v cargo-bloat >/dev/null || cargo install -q --locked cargo-bloat
  SQLX_OFFLINE=true cargo build -q --release -p coursewright
  size=$(stat -c %s target/release/coursewright)
  SQLX_OFFLINE=true cargo bloat -q --release -p coursewright --bin coursewright --crates -n 400 --message-format json >"$t/bloat.json"
  python3 - "$t/bloat.json" "$size" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); size = int(sys.argv[2])
pdf = ('typst', 'krilla', 'hayro', 'rustybuzz', 'skrifa', 'read_fonts', 'font_types', 'fontdb',
       'hypher', 'citationberg', 'hayagriva', 'biblatex', 'codex', 'wasmi', 'syntect', 'two_face',
       'usvg', 'resvg', 'tiny_skia', 'svgtypes', 'kurbo', 'subsetter', 'pdf_writer', 'xmp_writer',
       'comemo', 'ecow', 'image', 'zune', 'qcms', 'icu', 'ttf_parser', 'palette', 'pixglyph',
       'lipsum', 'unicode_math')
text = sum(c['size'] for c in b['crates'] if c['name'].startswith(pdf))
print(f"release binary: {size/1e6:.1f} MB; the PDF engine's crates take {text/1e6:.1f} MB of its code "
      f"({100*text/b['text-section-size']:.0f}% of .text); the fonts embedded by typst-assets are data on top")
PY
fi
