#!/usr/bin/env bash
# `kubectl helmrelease template` against official `helm template` 4.1.4, side by side in one run:
# generated large charts (126, 246 and 486 documents; 0.66 to 2.6 MB) and the small example
# chart. Each binary renders each chart RUNS times, interleaved, after a warm-up; prints best
# and median wall times, the ratio of medians and their geometric mean over the large charts.
#
# Usage: scripts/bench-template.sh [RUNS]   (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-15}"
helm="$(scripts/install-test-binaries.sh)/helm4"
cargo build -q --release -p kubectl-helmrelease
cargo build -q --release -p helmrelease-helm --example bench_chart
ours="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export HELM_CACHE_HOME="$work/helm" HELM_CONFIG_HOME="$work/helm" HELM_DATA_HOME="$work/helm"
for n in 10 20 40; do
  "$ours/examples/bench_chart" "$work/big$n" "$n"
done
cp -r examples/charts/webapp "$work/webapp"

ms() { # CMD... -> wall milliseconds of one run
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

printf '%-10s %6s %9s %14s %14s %7s\n' chart docs bytes "helm best/med" "ours best/med" ratio
ratios=()
for chart in big10 big20 big40 webapp; do
  "$ours/kubectl-helmrelease" template r "$work/$chart" >"$work/ours.out"
  "$helm" template r "$work/$chart" >"$work/helm.out"
  cmp -s "$work/ours.out" "$work/helm.out" || { echo "output differs for $chart" >&2; exit 1; }
  docs=$(grep -c '^# Source:' "$work/ours.out")
  bytes=$(wc -c <"$work/ours.out")
  h=(); o=()
  for _ in $(seq "$runs"); do
    h+=("$(ms "$helm" template r "$work/$chart")")
    o+=("$(ms "$ours/kubectl-helmrelease" template r "$work/$chart")")
  done
  read -r hb hm < <(printf '%s\n' "${h[@]}" | sort -n | awk '{a[NR]=$1} END {print a[1], a[int((NR+1)/2)]}')
  read -r ob om < <(printf '%s\n' "${o[@]}" | sort -n | awk '{a[NR]=$1} END {print a[1], a[int((NR+1)/2)]}')
  ratio=$(awk -v h="$hm" -v o="$om" 'BEGIN { printf "%.1f", h / (o > 0 ? o : 1) }')
  printf '%-10s %6s %9s %8s/%-5s %8s/%-5s %6sx\n' "$chart" "$docs" "$bytes" "$hb" "$hm" "$ob" "$om" "$ratio"
  [ "$chart" = webapp ] || ratios+=("$ratio")
done
printf '%s\n' "${ratios[@]}" | awk '{ s += log($1); n++ } END { printf "geometric mean over the large charts: %.1fx\n", exp(s / n) }'
