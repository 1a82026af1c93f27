#!/usr/bin/env bash
# Builds the CNCF distribution registry (github.com/distribution/distribution/v3, the registry
# behind Docker Hub's and many others') from its Go module (tests/registry), so the tests can
# push charts with official helm and pull them through OCIRepository and `type: oci`
# HelmRepository sources. Cached outside the checkout in a folder named after a hash of the
# module files; $cache/registry/bin points at the newest. Prints the bin folder.
#
# Usage: scripts/build-registry.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's older golang-go may sit earlier on PATH; the machine's Go is in /usr/local/go.
if [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi

cache="${HELMRELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helmrelease}"
hash="$(cat tests/registry/go.mod tests/registry/go.sum scripts/build-registry.sh | sha256sum | cut -c1-16)"
out="$cache/registry/$hash"

if [ ! -x "$out/bin/registry" ]; then
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp/bin"
  (cd tests/registry && go build -trimpath -ldflags "-s -w" -o "$out.tmp/bin/" tool)
  rm -rf "$out"
  mv "$out.tmp" "$out"
fi
ln -sfn "$hash/bin" "$cache/registry/bin"
echo "$cache/registry/bin"
