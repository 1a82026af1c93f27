#!/usr/bin/env bash
# Builds the container images without a container engine: one OCI image layout per program
# (helmrelease-webhook, helmrelease-controller), from scratch, each of two layers: a small base
# (passwd and group with the non-root user 65532, CA certificates, /tmp) and the statically
# linked binary. The same as the Dockerfile builds, for machines without Docker. Publish with
# e.g. `skopeo copy oci:target/oci/helmrelease-webhook:0.1.0 docker://REGISTRY/helmrelease-webhook:0.1.0`.
#
# Usage: scripts/build-image.sh [--bin-dir DIR] [OUT_DIR]      (OUT_DIR defaults to target/oci)
#
# Without --bin-dir it builds both programs in release mode with glibc linked statically
# (+crt-static) and checks they are static. --bin-dir takes executables built elsewhere (the
# layout test uses stand-ins). Layers are reproducible: sorted, fixed owners and times
# (SOURCE_DATE_EPOCH, default the commit's time).
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir=""
if [ "${1:-}" = "--bin-dir" ]; then
  bin_dir="$2"
  shift 2
fi
out="${1:-target/oci}"
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
created="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"
target=x86_64-unknown-linux-gnu
programs=(helmrelease-webhook helmrelease-controller)

strip_debug=false
if [ -z "$bin_dir" ]; then
  strip_debug=true
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --release --locked --target "$target" \
    -p helmrelease-webhook -p helmrelease-controller
  bin_dir="target/$target/release"
  for p in "${programs[@]}"; do
    # No dynamic loader: the image has no libc to load.
    if file -L "$bin_dir/$p" | grep -q 'dynamically linked'; then
      echo "build-image.sh: $bin_dir/$p is dynamically linked" >&2
      exit 1
    fi
  done
fi

ca_bundle=/etc/ssl/certs/ca-certificates.crt
if [ ! -f "$ca_bundle" ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq ca-certificates
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# tar of a folder, reproducibly, everything owned by root.
pack() {
  tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$1" -cf - .
}

# Stores stdin as a blob of layout $1; prints "sha256:HEX SIZE".
blob() {
  local tmp="$1/blobs/tmp.$$"
  cat >"$tmp"
  local hex size
  hex="$(sha256sum "$tmp" | cut -d' ' -f1)"
  size="$(stat -c %s "$tmp")"
  mv "$tmp" "$1/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

# The base layer's tree: what a distroless static image offers these programs.
base="$work/base"
mkdir -p "$base/etc/ssl/certs" "$base/tmp"
chmod 1777 "$base/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$base/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$base/etc/group"
install -m 0644 "$ca_bundle" "$base/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$base/etc/passwd" "$base/etc/group"
pack "$base" >"$work/base.tar"

for program in "${programs[@]}"; do
  layout="$out/$program"
  rm -rf "$layout"
  mkdir -p "$layout/blobs/sha256"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

  app="$work/$program"
  mkdir -p "$app/usr/local/bin"
  install -m 0755 "$bin_dir/$program" "$app/usr/local/bin/$program"
  # The release profile keeps line tables; symbols stay for backtraces.
  if $strip_debug; then strip --strip-debug "$app/usr/local/bin/$program"; fi
  pack "$app" >"$work/$program.tar"

  layers=""
  diff_ids=""
  for tarball in "$work/base.tar" "$work/$program.tar"; do
    diff_id="sha256:$(sha256sum "$tarball" | cut -d' ' -f1)"
    read -r digest size < <(gzip -n -9 <"$tarball" | blob "$layout")
    layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"$digest\",\"size\":$size}"
    diff_ids="$diff_ids${diff_ids:+,}\"$diff_id\""
  done

  case "$program" in
    helmrelease-webhook) description="Admission webhook for Flux HelmReleases and Helm sources" ;;
    *) description="Reconciles Flux HelmReleases, a drop-in for Flux's helm-controller" ;;
  esac
  labels="\"org.opencontainers.image.title\":\"$program\",\
\"org.opencontainers.image.description\":\"$description\",\
\"org.opencontainers.image.version\":\"$version\",\
\"org.opencontainers.image.revision\":\"$revision\",\
\"org.opencontainers.image.source\":\"https://github.com/helmrelease/helmrelease\",\
\"org.opencontainers.image.licenses\":\"Apache-2.0\",\
\"org.opencontainers.image.created\":\"$created\""
  config="{\"created\":\"$created\",\"architecture\":\"amd64\",\"os\":\"linux\",\
\"config\":{\"User\":\"65532:65532\",\
\"Env\":[\"PATH=/usr/local/bin:/usr/bin:/bin\",\"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt\"],\
\"Entrypoint\":[\"/usr/local/bin/$program\"],\"WorkingDir\":\"/\",\"Labels\":{$labels}},\
\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diff_ids]},\
\"history\":[{\"created\":\"$created\",\"created_by\":\"scripts/build-image.sh: base\"},\
{\"created\":\"$created\",\"created_by\":\"scripts/build-image.sh: $program\"}]}"
  read -r config_digest config_size < <(printf '%s' "$config" | blob "$layout")

  manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$config_digest\",\"size\":$config_size},\
\"layers\":[$layers],\"annotations\":{$labels}}"
  read -r manifest_digest manifest_size < <(printf '%s' "$manifest" | blob "$layout")

  printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\
\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$manifest_digest\",\"size\":$manifest_size,\
\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"},\
\"annotations\":{\"org.opencontainers.image.ref.name\":\"$version\"}}]}" >"$layout/index.json"
  echo "$layout:$version $manifest_digest"
done
