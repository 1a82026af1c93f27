//! Realistic objects for benchmarks and examples.

use serde_json::{Value, json};

/// A HelmRelease of about 5 KB, like a production one: pinned chart, remediation, drift
/// detection, and a few KB of inline values.
pub fn helmrelease_5kb() -> Value {
    let ingress_hosts: Vec<Value> = (0..12)
        .map(|i| json!({"host": format!("shop-{i}.example.com"), "paths": [{"path": "/", "pathType": "Prefix"}]}))
        .collect();
    let env: Vec<Value> = (0..60)
        .map(|i| json!({"name": format!("FEATURE_FLAG_{i}"), "value": if i % 2 == 0 { "enabled" } else { "disabled" }}))
        .collect();
    json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "shop", "namespace": "apps", "labels": {"app.kubernetes.io/part-of": "shop", "team": "checkout"},
                     "annotations": {"helmrelease.dev/deletion-protection": "true"}},
        "spec": {
            "interval": "10m",
            "timeout": "5m",
            "chart": {"spec": {"chart": "podinfo", "version": "6.5.4", "interval": "1h",
                               "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}},
            "install": {"crds": "CreateReplace", "remediation": {"retries": 3}},
            "upgrade": {"crds": "CreateReplace", "cleanupOnFail": true, "remediation": {"retries": 3, "remediateLastFailure": true}},
            "driftDetection": {"mode": "enabled", "ignore": [{"paths": ["/spec/replicas"], "target": {"kind": "Deployment"}}]},
            "maxHistory": 5,
            "valuesFrom": [{"kind": "ConfigMap", "name": "shop-values"}, {"kind": "Secret", "name": "shop-secrets", "valuesKey": "values.yaml"}],
            "values": {
                "replicaCount": 3,
                "image": {"repository": "ghcr.io/stefanprodan/podinfo", "tag": "6.5.4", "pullPolicy": "IfNotPresent"},
                "resources": {"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                "ingress": {"enabled": true, "className": "nginx", "hosts": ingress_hosts},
                "env": env,
                "podAnnotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9797"},
                "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                     "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "shop"}}}}]}}
            }
        }
    })
}
