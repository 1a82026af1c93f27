//! The webhook's cluster mode against the real control plane: watch caches, readiness,
//! lookups of sources and OCIRepositories, and watched HelmReleasePolicies.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_webhook::review::{Decider, Endpoint, handle};
use helmrelease_webhook::state;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

async fn create(client: &kube::Client, object: Value) {
    let api_version = object["apiVersion"].as_str().unwrap();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().unwrap();
    let plural = match kind {
        "CustomResourceDefinition" => "customresourcedefinitions".to_string(),
        "Namespace" => "namespaces".to_string(),
        "HelmReleasePolicy" => "helmreleasepolicies".to_string(),
        "OCIRepository" => "ocirepositories".to_string(),
        "HelmRepository" => "helmrepositories".to_string(),
        other => format!("{}s", other.to_lowercase()),
    };
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural);
    let obj: DynamicObject = serde_json::from_value(object.clone()).unwrap();
    let api: Api<DynamicObject> = match object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
    {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    api.create(&PostParams::default(), &obj).await.unwrap();
}

async fn setup() -> Option<kube::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cluster = helmrelease_testcluster::shared().await?;
    let client = cluster.client().await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    let mut crds: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .collect();
    crds.sort();
    let crds: Vec<&std::path::Path> = crds.iter().map(|p| p.as_path()).collect();
    cluster.install_crds(&crds).await;
    for ns in ["flux-system", "apps"] {
        create(
            &client,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )
        .await;
    }
    create(&client, json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": "podinfo", "namespace": "flux-system"}, "spec": {"url": "https://stefanprodan.github.io/podinfo"}})).await;
    create(&client, json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
        "metadata": {"name": "floating", "namespace": "flux-system"},
        "spec": {"url": "oci://ghcr.io/stefanprodan/charts/podinfo", "interval": "5m", "ref": {"tag": "latest"}}})).await;
    Some(client)
}

fn review(spec: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u", "kind": {"group": "helm.toolkit.fluxcd.io", "version": "v2", "kind": "HelmRelease"},
            "operation": "CREATE", "namespace": "apps", "userInfo": {},
            "object": {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": "podinfo", "namespace": "apps"}, "spec": spec}}}))
    .unwrap()
}

fn response(decider: &dyn Decider, endpoint: Endpoint, body: &[u8]) -> Value {
    let outcome = handle(endpoint, body, decider);
    let value: Value = serde_json::from_slice(&outcome.body).unwrap();
    value["response"].clone()
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn lookups_come_from_watch_caches_and_policies_are_watched() {
    let Some(client) = setup().await else { return };
    let (decider, ready) = state::cluster(client.clone(), None).await;
    until("caches to sync", || ready.load(Ordering::Acquire)).await;

    // The source exists elsewhere: the denial names the namespace that holds it.
    let no_namespace = json!({"interval": "5m", "chart": {"spec": {"chart": "podinfo", "version": "6.5.4",
        "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}},
        "install": {"remediation": {"retries": 3}}, "upgrade": {"cleanupOnFail": true, "remediation": {"retries": 3}}});
    let r = response(&decider, Endpoint::Validate, &review(no_namespace.clone()));
    assert_eq!(r["allowed"], false);
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .ends_with("set spec.chart.spec.sourceRef.namespace: flux-system"),
        "{r}"
    );

    // A source created later is seen without a restart; mutation then fills the namespace.
    create(&client, json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": "podinfo", "namespace": "apps"}, "spec": {"url": "https://example.com"}})).await;
    until("the new HelmRepository", || {
        decider
            .sources()
            .namespaces_with("HelmRepository", "podinfo")
            .len()
            == 2
    })
    .await;
    let r = response(&decider, Endpoint::Mutate, &review(no_namespace));
    assert_eq!(r["patchType"], "JSONPatch", "{r}");

    // A chartRef to a known floating OCIRepository is denied, naming it.
    let chart_ref = json!({"interval": "5m", "chartRef": {"kind": "OCIRepository", "name": "floating", "namespace": "flux-system"},
        "install": {"remediation": {"retries": 3}}, "upgrade": {"cleanupOnFail": true, "remediation": {"retries": 3}}});
    let r = response(&decider, Endpoint::Validate, &review(chart_ref));
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("pinned-oci-ref: spec.chartRef: OCIRepository flux-system/floating"),
        "{r}"
    );

    // Policies are watched: turning pinned-version into a warning takes effect at once.
    let unpinned = json!({"interval": "5m", "chart": {"spec": {"chart": "podinfo", "version": "^6",
        "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}},
        "install": {"remediation": {"retries": 3}}, "upgrade": {"cleanupOnFail": true, "remediation": {"retries": 3}}});
    assert_eq!(
        response(&decider, Endpoint::Validate, &review(unpinned.clone()))["allowed"],
        false
    );
    create(
        &client,
        json!({"apiVersion": "policy.helmrelease.dev/v1alpha1", "kind": "HelmReleasePolicy",
        "metadata": {"name": "relaxed"}, "spec": {"rules": {"pinnedVersion": {"action": "Warn"}}}}),
    )
    .await;
    until("the policy to be watched", || {
        !decider.policies().is_empty()
    })
    .await;
    let r = response(&decider, Endpoint::Validate, &review(unpinned));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("pinned-version: ")
    );
}
