#!/usr/bin/env bash
# Builds the test control plane from upstream Go modules: etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler at one Kubernetes release (tests/cluster/go), and
# kwok (tests/cluster/kwok). The binaries go to a cache folder named after a hash of the module
# files, outside the checkout, and $cache/kube/bin points at the newest; a second run with the
# same modules builds nothing. Prints the bin folder.
#
# Usage: scripts/build-kube.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's older golang-go may sit earlier on PATH; the machine's Go is in /usr/local/go.
if [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi

cache="${HELMRELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helmrelease}"
hash="$(cat tests/cluster/go/go.mod tests/cluster/go/go.sum tests/cluster/kwok/go.mod \
  tests/cluster/kwok/go.sum scripts/build-kube.sh | sha256sum | cut -c1-16)"
out="$cache/kube/$hash"
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

have_all() {
  for c in "${components[@]}"; do [ -x "$out/$c" ] || return 1; done
}

if ! have_all; then
  mkdir -p "$out.tmp"
  # The version the API server reports: Helm checks charts' kubeVersion against it.
  k8s_version="$(grep -oE 'k8s.io/kubernetes v[0-9.]+' tests/cluster/go/go.mod | head -1 | cut -d' ' -f2)"
  minor="$(echo "$k8s_version" | cut -d. -f2)"
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  (cd tests/cluster/go && go build -trimpath -ldflags "$ldflags" -o "$out.tmp/" tool)
  mv "$out.tmp/server" "$out.tmp/etcd"
  (cd tests/cluster/kwok && go build -trimpath -ldflags "-s -w" -o "$out.tmp/" tool)
  rm -rf "$out"
  mv "$out.tmp" "$out"
fi
ln -sfn "$hash" "$cache/kube/bin"
echo "$cache/kube/bin"
