#!/usr/bin/env bash
# Measures `kubectl-helmrelease audit` over a generated fleet from files:
#   scripts/bench-audit.sh [RELEASES] [REVISIONS] [RUNS]   (defaults 500 10 5)
# BIN=path/to/kubectl-helmrelease measures another build (e.g. an older commit's) on the same fleet.
# Prints the wall time (milliseconds) and peak RSS of each run, the best time and the highest RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
releases=${1:-500}
revisions=${2:-10}
runs=${3:-5}
bin=${BIN:-target/release/kubectl-helmrelease}
cargo build --release -q -p kubectl-helmrelease --bin kubectl-helmrelease --example fleet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
target/release/examples/fleet "$dir" "$releases" "$revisions"
echo "fleet: $releases releases x $revisions revisions, $(du -sh "$dir" | cut -f1) in $(ls "$dir" | wc -l) files"
best=""
peak=0
for i in $(seq "$runs"); do
  start=$(date +%s%N)
  /usr/bin/time -o "$dir.rss" -f "%M" "$bin" audit -A --from-file "$dir" >/dev/null
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  kb=$(tail -1 "$dir.rss")
  echo "run $i: ${ms} ms, max RSS ${kb} KB"
  if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  if [ "$kb" -gt "$peak" ]; then peak=$kb; fi
done
rm -f "$dir.rss"
echo "best: ${best} ms; highest max RSS: ${peak} KB"
