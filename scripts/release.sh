#!/usr/bin/env bash
# Writes the release files of the kubectl plugin: for each platform of krew/helmrelease.yaml
# that this machine builds, the archive the manifest names (the plugin, its completion
# helper, README.md) and its .sha256, and the krew manifest with the version and sums filled in.
#
# Usage: scripts/release.sh [--bin-dir DIR] [OUT_DIR]     (OUT_DIR defaults to target/release-files)
#
# Without --bin-dir it builds both executables in release mode, statically linked against
# glibc (+crt-static) so they run on any Linux. --bin-dir packages executables built elsewhere
# (the test uses stand-ins). Archives are reproducible: sorted names, fixed times and owners.
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir=""
if [ "${1:-}" = "--bin-dir" ]; then
  bin_dir="$2"
  shift 2
fi
out="${1:-target/release-files}"
version="v$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
manifest=krew/helmrelease.yaml
grep -q "^  version: $version\$" "$manifest" || {
  echo "release.sh: $manifest does not say version $version; update it first" >&2
  exit 1
}

# Only Linux on x86_64 is built here (no other Rust targets on this machine).
os=linux
arch=amd64
target=x86_64-unknown-linux-gnu

strip_debug=false
if [ -z "$bin_dir" ]; then
  strip_debug=true
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --release --locked -p kubectl-helmrelease --target "$target" \
    --bin kubectl-helmrelease --bin kubectl_complete-helmrelease
  bin_dir="target/$target/release"
fi

mkdir -p "$out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
for bin in kubectl-helmrelease kubectl_complete-helmrelease; do
  install -m 0755 "$bin_dir/$bin" "$stage/$bin"
  # The release profile keeps line tables (150 MB); symbols stay for backtraces.
  if $strip_debug; then strip --strip-debug "$stage/$bin"; fi
done
install -m 0644 README.md "$stage/README.md"

archive="kubectl-helmrelease_${version}_${os}_${arch}.tar.gz"
# Reproducible: the same inputs give the same bytes, hence the same sha256.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
  -C "$stage" -cf - kubectl-helmrelease kubectl_complete-helmrelease README.md |
  gzip -n -9 >"$out/$archive"
sum="$(sha256sum "$out/$archive" | cut -d' ' -f1)"
echo "$sum  $archive" >"$out/$archive.sha256"

# The manifest to publish: the placeholder sum after this archive's uri replaced by its sum.
awk -v uri="/$archive" -v sum="$sum" '
  index($0, "uri: ") && index($0, uri) { pending = 1 }
  pending && /^ *sha256: / { sub(/sha256: .*/, "sha256: \"" sum "\""); pending = 0 }
  { print }
' "$manifest" >"$out/helmrelease.yaml"
echo "$out/$archive $sum"
echo "$out/helmrelease.yaml"
