#!/usr/bin/env bash
# Load test of helmrelease-webhook over TLS with keep-alive, side by side with a minimal
# hyper+rustls server returning a fixed AdmissionReview (the ceiling on this machine).
# Installs oha (crates.io) when missing. Prints throughput, latency percentiles and RSS.
#
#   scripts/bench-webhook.sh [seconds] [connections] [rate]
# WEBHOOK=path/to/helmrelease-webhook measures another build (e.g. an older commit's) against the
# same baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
connections=${2:-32}
rate=${3:-2000}

command -v oha >/dev/null || cargo install oha --locked
cargo build -q --release -p helmrelease-webhook --bin helmrelease-webhook --example baseline --example review_body

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
target/release/examples/review_body > "$work/review.json"
target/release/helmrelease-webhook certs --dns-name localhost --out-dir "$work" >/dev/null

RUST_LOG=warn "${WEBHOOK:-target/release/helmrelease-webhook}" serve --offline --addr 127.0.0.1:18443 --admin-addr 127.0.0.1:18080 \
  --tls-cert-file "$work/tls.crt" --tls-key-file "$work/tls.key" &
webhook=$!
target/release/examples/baseline "$work/tls.crt" "$work/tls.key" 127.0.0.1:18444 2>/dev/null &
baseline=$!
for _ in $(seq 50); do
  curl -sf http://127.0.0.1:18080/readyz >/dev/null && break
  sleep 0.1
done

load() { # name port extra-args...
  local name=$1 port=$2; shift 2
  oha --no-tui --output-format json --insecure -m POST -H 'content-type: application/json' -D "$work/review.json" \
    -z "${seconds}s" -c "$connections" "$@" "https://localhost:$port/validate" > "$work/$name.json"
  python3 - "$work/$name.json" "$name" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s, p = d["summary"], d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
print(f"{sys.argv[2]:<28} {s['requestsPerSec']:>10.0f} req/s   p50 {p['p50']*1e3:6.3f} ms   p99 {p['p99']*1e3:6.3f} ms   success {s['successRate']*100:.1f}%   codes {codes}")
PY
}
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }

echo "body: $(wc -c < "$work/review.json") bytes; $connections connections, ${seconds}s each, keep-alive, HTTP/1.1"
load baseline-max 18444
load webhook-max 18443
echo "fixed rate $rate req/s:"
load baseline-rate 18444 -q "$rate"
load webhook-rate 18443 -q "$rate"
echo "RSS after load: webhook $(rss $webhook), baseline $(rss $baseline)"
