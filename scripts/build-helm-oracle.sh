#!/usr/bin/env bash
# Builds the Helm reference renderer (../shared/tools/gotmpl-oracle: Go text/template, Sprig and
# Helm's functions) into OUT, by default target/helm-oracle, offline from Debian's Go packages
# (golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev
# golang-github-burntsushi-toml-dev golang-github-gobwas-glob-dev), as its README says.
# Without Go this prints why and does nothing; the tests that need it then skip (or fail under
# GOTMPL_REQUIRE_ORACLE=1, as in CI).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/../shared/tools/gotmpl-oracle"
out="${1:-$root/target/helm-oracle}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
if ! command -v go >/dev/null 2>&1; then
  echo "build-helm-oracle: no 'go' on PATH; not building" >&2
  exit 0
fi
if [ ! -d "$src" ]; then
  echo "build-helm-oracle: $src not found; not building" >&2
  exit 0
fi
work="$root/target/helm-oracle-build"
rm -rf "$work/src"
mkdir -p "$work/src" "$(dirname "$out")"
ln -s "$src" "$work/src/gotmploracle"
GO111MODULE=off GOPATH="$work:/usr/share/gocode" GOCACHE="$work/cache" GOFLAGS="" \
  go build -o "$out" gotmploracle
echo "build-helm-oracle: built $out" >&2
