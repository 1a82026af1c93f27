#!/usr/bin/env bash
# Builds the Go text/template oracle of the gotmpl differential tests
# (crates/gotmpl/oracle, standard library only) into OUT, by default target/gotmpl-oracle.
# Offline: no module downloads, no toolchain switch; the Go caches live under target/.
# Without a Go toolchain this prints why and does nothing (exit 0): the differential test
# then skips, or fails when GOTMPL_REQUIRE_ORACLE=1 (CI). Install Go with `apt-get install
# golang-go`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/target/gotmpl-oracle}"
case "$out" in
  /*) ;;
  *) out="$PWD/$out" ;;
esac

if ! command -v go >/dev/null 2>&1; then
  echo "build-gotmpl-oracle: no 'go' on PATH; not building the oracle (apt-get install golang-go)" >&2
  exit 0
fi

work="$root/target/gotmpl-oracle-build"
mkdir -p "$work" "$(dirname "$out")"
export GOPATH="$work/gopath"
export GOCACHE="$work/cache"
export GOMODCACHE="$work/gopath/pkg/mod"
export GOFLAGS=""
export GOPROXY=off
export GOSUMDB=off
export GOTOOLCHAIN=local
export GO111MODULE=on
export CGO_ENABLED=0

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(cd "$root/crates/gotmpl/oracle" && go build -trimpath -o "$tmp" .)
mv -f "$tmp" "$out"
echo "build-gotmpl-oracle: built $out ($(go version))" >&2
