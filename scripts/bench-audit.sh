#!/usr/bin/env bash
# Measures `kubectl-helmrelease audit` over a generated fleet from files:
#   scripts/bench-audit.sh [RELEASES] [REVISIONS] [RUNS]   (defaults 500 10 5)
# Prints the wall time of each run and the best, in milliseconds.
set -euo pipefail
cd "$(dirname "$0")/.."
releases=${1:-500}
revisions=${2:-10}
runs=${3:-5}
cargo build --release -q -p kubectl-helmrelease --bin kubectl-helmrelease --example fleet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
target/release/examples/fleet "$dir" "$releases" "$revisions"
echo "fleet: $releases releases x $revisions revisions, $(du -sh "$dir" | cut -f1) in $(ls "$dir" | wc -l) files"
best=""
for i in $(seq "$runs"); do
  start=$(date +%s%N)
  target/release/kubectl-helmrelease audit -A --from-file "$dir" >/dev/null
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "run $i: ${ms} ms"
  if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
done
echo "best: ${best} ms"
