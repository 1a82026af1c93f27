#!/usr/bin/env bash
# Benchmark: N HelmReleases of a podinfo-like chart (a Deployment scaled to 0, a
# ServiceAccount, a Service and an Ingress) from a local HelmRepository, reconciled on the real
# control plane (scripts/kube-cluster) by Flux's helm-controller + source-controller (built by
# scripts/build-flux.sh) and then by helmrelease-controller (in-process sources), one after the
# other in the same cluster, each in a namespace of its own and at the same concurrency.
#
# For each: the time from the controller's start until every HelmRelease is Ready, the peak
# RSS of its processes (VmHWM), and the requests the API server served meanwhile (the sum of
# apiserver_request_total, all clients: the idle rate is printed too, to subtract).
#
# Usage: scripts/bench-controller.sh [N ...]          (default: 100)
#   BENCH_CONCURRENCY (10), BENCH_SKIP_FLUX=1, BENCH_TIMEOUT seconds per run (1800).
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(100)
concurrency=${BENCH_CONCURRENCY:-10}
timeout=${BENCH_TIMEOUT:-1800}

scripts/build-kube.sh >/dev/null
flux_bin="$(readlink -f "$(scripts/build-flux.sh)")"
scripts/install-test-binaries.sh >/dev/null
cache="${HELMRELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helmrelease}"
kubectl="$cache/test-bin/kubectl"
helm="$cache/test-bin/helm4"
cargo build -q --release -p helmrelease-controller
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
ours="$target_dir/release/helmrelease-controller"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # BENCH_KEEP=DIR keeps the controllers' logs.
  [ -n "${BENCH_KEEP:-}" ] && mkdir -p "$BENCH_KEEP" && cp "$work"/*.log "$BENCH_KEEP"/ 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

scripts/kube-cluster --kubeconfig-out "$work/kubeconfig" --data-dir "$work/cluster" >"$work/cluster.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do [ -s "$work/kubeconfig" ] && break; sleep 0.5; done
[ -s "$work/kubeconfig" ] || { echo "cluster did not start:"; tail -20 "$work/cluster.log"; exit 1; }
export KUBECONFIG="$work/kubeconfig"
"$kubectl" apply --server-side -f "$flux_bin/../crds" >/dev/null
"$kubectl" wait --for=condition=Established crd --all --timeout=60s >/dev/null

# The chart and its repository, served over HTTP on loopback.
mkdir -p "$work/chart/templates" "$work/repo"
cat >"$work/chart/Chart.yaml" <<'EOF'
apiVersion: v2
name: podinfo
version: 6.5.4
appVersion: 6.5.4
EOF
cat >"$work/chart/values.yaml" <<'EOF'
replicaCount: 0
image: ghcr.io/stefanprodan/podinfo:6.5.4
port: 9898
host: podinfo.local
EOF
cat >"$work/chart/templates/all.yaml" <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}
  labels:
    app.kubernetes.io/name: {{ .Release.Name }}
    helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  labels:
    app.kubernetes.io/name: {{ .Release.Name }}
spec:
  type: ClusterIP
  ports:
    - port: {{ .Values.port }}
      targetPort: http
      name: http
  selector:
    app.kubernetes.io/name: {{ .Release.Name }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    app.kubernetes.io/name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .Release.Name }}
    spec:
      serviceAccountName: {{ .Release.Name }}
      containers:
        - name: podinfo
          image: {{ .Values.image }}
          ports:
            - name: http
              containerPort: {{ .Values.port }}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .Release.Name }}
spec:
  rules:
    - host: {{ .Release.Name }}.{{ .Values.host }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ .Release.Name }}
                port:
                  number: {{ .Values.port }}
EOF
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$helm" package "$work/chart" -d "$work/repo" >/dev/null
"$helm" repo index "$work/repo" --url "http://127.0.0.1:$port" >/dev/null
(cd "$work/repo" && exec python3 -m http.server "$port" --bind 127.0.0.1) >"$work/http.log" 2>&1 &
pids+=($!)

# N HelmReleases and their HelmRepository in namespace $1.
objects() { # namespace count
  python3 - "$1" "$2" "$port" <<'PY'
import sys
ns, n, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print(f"""apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: {ns}
spec:
  interval: 1h
  url: http://127.0.0.1:{port}""")
for i in range(n):
    print(f"""---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo-{i}
  namespace: {ns}
spec:
  interval: 1h
  chart:
    spec:
      chart: podinfo
      version: "6.5.4"
      interval: 1h
      sourceRef:
        kind: HelmRepository
        name: podinfo
  install:
    timeout: 5m
  values:
    port: {9000 + i % 100}""")
PY
}

requests() { # the API server's request count so far
  "$kubectl" get --raw /metrics | python3 -c '
import sys
total = 0.0
for line in sys.stdin:
    if line.startswith("apiserver_request_total{"):
        total += float(line.rsplit(" ", 1)[1])
print(int(total))'
}

# Waits until all N HelmReleases in the namespace are Ready; prints the seconds taken, the
# peak RSS (MiB) of the PIDs given, and the API requests served.
measure() { # namespace n start-epoch requests-before pid...
  local ns=$1 n=$2 start=$3 before=$4; shift 4
  python3 - "$ns" "$n" "$start" "$timeout" "$kubectl" "$@" <<'PY'
import json, subprocess, sys, time
ns, n, start, timeout, kubectl = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
pids = sys.argv[6:]
def hwm(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0
peak = {p: 0 for p in pids}
ready = 0
while True:
    for p in pids:
        peak[p] = max(peak[p], hwm(p))
    out = subprocess.run([kubectl, "get", "hr", "-n", ns, "-o", "json"], capture_output=True, text=True).stdout
    items = json.loads(out or '{"items": []}')["items"]
    ready = sum(1 for i in items if any(c.get("type") == "Ready" and c.get("status") == "True"
                                        for c in i.get("status", {}).get("conditions", [])))
    if ready >= n or time.time() - start > timeout:
        break
    time.sleep(1)
elapsed = time.time() - start
for p in pids:
    peak[p] = max(peak[p], hwm(p))
print(f"{elapsed:.1f} {sum(peak.values()) / 1024:.0f} {ready}")
PY
}

printf '%-8s %-26s %10s %12s %14s %s\n' "N" "controller" "seconds" "peak MiB" "API requests" "ready"
idle_a=$(requests); sleep 10; idle_b=$(requests)
echo "# idle API request rate: $(( (idle_b - idle_a) / 10 ))/s (all clients)"
for n in "${counts[@]}"; do
  for who in flux ours; do
    [ "$who" = flux ] && [ "${BENCH_SKIP_FLUX:-}" = 1 ] && continue
    ns="bench-$who-$n"
    objects "$ns" "$n" | "$kubectl" apply --server-side -f - >/dev/null
    log="$work/$who-$n.log"
    before=$(requests)
    start=$(date +%s.%N)
    if [ "$who" = flux ]; then
      mkdir -p "$work/flux-storage-$n"
      common=(--watch-all-namespaces=false --enable-leader-election=false --log-level=error
        --metrics-addr=127.0.0.1:0 --concurrent="$concurrency")
      sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      RUNTIME_NAMESPACE=$ns "$flux_bin/source-controller" "${common[@]}" --health-addr=127.0.0.1:0 \
        --storage-path="$work/flux-storage-$n" --storage-addr="127.0.0.1:$sport" \
        --storage-adv-addr="127.0.0.1:$sport" >"$log" 2>&1 &
      spid=$!; pids+=($spid)
      RUNTIME_NAMESPACE=$ns "$flux_bin/helm-controller" "${common[@]}" --health-addr=127.0.0.1:0 \
        >>"$log" 2>&1 &
      hpid=$!; pids+=($hpid)
      result=$(measure "$ns" "$n" "$start" "$before" "$spid" "$hpid")
      kill "$spid" "$hpid"; wait "$spid" "$hpid" 2>/dev/null || true
      label="Flux helm+source-controller"
    else
      RUNTIME_NAMESPACE=$ns "$ours" --watch-all-namespaces=false --enable-leader-election=false \
        --log-level="${BENCH_LOG_LEVEL:-error}" --log-encoding=console --metrics-addr= --health-addr= --concurrent="$concurrency" \
        --storage-path="$work/ours-storage-$n" --storage-addr=127.0.0.1:0 >"$log" 2>&1 &
      opid=$!; pids+=($opid)
      result=$(measure "$ns" "$n" "$start" "$before" "$opid")
      kill "$opid"; wait "$opid" 2>/dev/null || true
      label="helmrelease-controller"
    fi
    after=$(requests)
    read -r secs mib ready <<<"$result"
    if [ "$ready" != "$n" ]; then
      echo "# $label: only $ready of $n Ready after ${secs}s; the end of its log:" >&2
      tail -15 "$log" >&2
    fi
    printf '%-8s %-26s %10s %12s %14s %s\n' "$n" "$label" "$secs" "$mib" "$((after - before))" "$ready/$n"
  done
done
