#!/usr/bin/env bash
# Builds Flux's own helm-controller and source-controller from their Go modules (tests/flux), to
# run side by side with ours in controller/tests/flux_side_by_side.rs. The binaries go to a cache
# folder named after a hash of the module files, outside the checkout, with the CRDs of the same
# versions (from the modules' config/crd/bases) in crds/ beside bin/; $cache/flux/bin points at
# the newest bin/. A second run with the same modules builds nothing. Prints the bin folder.
#
# Usage: scripts/build-flux.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's older golang-go may sit earlier on PATH; the machine's Go is in /usr/local/go.
if [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi

cache="${HELMRELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helmrelease}"
hash="$(cat tests/flux/go.mod tests/flux/go.sum scripts/build-flux.sh | sha256sum | cut -c1-16)"
out="$cache/flux/$hash"
components=(helm-controller source-controller)

have_all() {
  for c in "${components[@]}"; do [ -x "$out/bin/$c" ] || return 1; done
  [ -d "$out/crds" ]
}

if ! have_all; then
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp/bin"
  (cd tests/flux && go build -trimpath -ldflags "-s -w" -o "$out.tmp/bin/" tool)
  mkdir -p "$out.tmp/crds"
  for module in "${components[@]}"; do
    dir="$(cd tests/flux && go list -m -f '{{.Dir}}' "github.com/fluxcd/$module")"
    cp "$dir"/config/crd/bases/*.yaml "$out.tmp/crds/"
  done
  chmod u+w "$out.tmp/crds"/*.yaml
  rm -rf "$out"
  mv "$out.tmp" "$out"
fi
ln -sfn "$hash/bin" "$cache/flux/bin"
echo "$cache/flux/bin"
