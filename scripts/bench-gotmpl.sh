#!/usr/bin/env bash
# Compares our Go template engine with Go's text/template on the same chart-sized case
# (crates/gotmpl/benches/chart.rs): criterion for ours, a Go timing loop for Go's.
#   scripts/bench-gotmpl.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -q -p helmrelease-gotmpl --bench render -- --warm-up-time 2 --measurement-time 5 2>&1 \
  | grep -E "^(parse|execute|parse\+execute) " -A1 | grep -E "time:|^[a-z]" || true
case_file=$(mktemp)
trap 'rm -f "$case_file"' EXIT
cargo run -q --release -p helmrelease-gotmpl --example bench_cases -- 1 > "$case_file"
work="$PWD/target/gotmpl-oracle-build"
mkdir -p "$work"
(cd crates/gotmpl/oracle && GOPATH="$work/gopath" GOCACHE="$work/cache" GOFLAGS="" GOPROXY=off \
  GOTOOLCHAIN=local GO111MODULE=on go run ./bench 2000) < "$case_file"
