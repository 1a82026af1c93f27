//! The chart installed with official Helm into the real control plane (kwok plays the
//! kubelet, so Deployments become available and hook Jobs complete): `helm install --wait`,
//! `helm upgrade --wait`, `helm uninstall --wait`, and afterwards nothing of the release is
//! left, neither namespaced nor cluster-scoped. Skips without the binaries unless
//! HELMRELEASE_REQUIRE_CLUSTER is set. Runs in its own process, so on a cluster of its own:
//! the webhook configurations it installs must not meet other tests' HelmReleases.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_chart_tests::chart;
use helmrelease_testcluster::{Cluster, TestNamespace, ok, shared};

/// Every object carrying the release's instance label, in any namespace, as `kind/name` lines,
/// plus the CRDs the chart may install.
async fn leftovers(ns: &TestNamespace, release: &str) -> String {
    let kinds = ok(
        "kubectl api-resources",
        ns.kubectl(&["api-resources", "--verbs=list", "-o", "name"], None)
            .await,
    );
    // Events name objects but are not theirs; Leases are the controller's own, written at run
    // time (kwok runs no binary, so none here).
    let kinds: Vec<&str> = kinds.lines().filter(|k| !k.starts_with("events")).collect();
    let selector = format!("app.kubernetes.io/instance={release}");
    let mut out = ok(
        "kubectl get",
        ns.kubectl(
            &["get", &kinds.join(","), "-A", "-l", &selector, "-o", "name"],
            None,
        )
        .await,
    );
    for crd in [
        "helmreleasepolicies.policy.helmrelease.dev",
        "helmreleases.helm.toolkit.fluxcd.io",
        "helmcharts.source.toolkit.fluxcd.io",
    ] {
        let got = ns
            .kubectl(
                &["get", "crd", crd, "-o", "name", "--ignore-not-found"],
                None,
            )
            .await;
        out.push_str(&got.stdout);
    }
    // A CRD carrying the label is found both ways.
    let unique: std::collections::BTreeSet<&str> = out.lines().collect();
    unique.into_iter().collect::<Vec<_>>().join("\n")
}

async fn jsonpath(ns: &TestNamespace, object: &str, path: &str) -> String {
    ok(
        "kubectl get",
        ns.kubectl(&["get", object, "-o", &format!("jsonpath={path}")], None)
            .await,
    )
}

/// Puts `ca` into both webhook configurations' caBundle, as the certgen hook Job (or
/// cert-manager's cainjector) does; kwok runs no container, so the test does it.
async fn patch_ca_bundle(ns: &TestNamespace, webhook: &str, ca: &str) {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(ca);
    let patch = format!(
        r#"[{{"op":"add","path":"/webhooks/0/clientConfig/caBundle","value":"{encoded}"}}]"#
    );
    for kind in [
        "validatingwebhookconfiguration",
        "mutatingwebhookconfiguration",
    ] {
        ok(
            "kubectl patch",
            ns.kubectl(&["patch", kind, webhook, "--type=json", "-p", &patch], None)
                .await,
        );
    }
}

/// Both configurations' caBundle, decoded.
async fn ca_bundles(ns: &TestNamespace, webhook: &str) -> Vec<String> {
    use base64::Engine;
    let mut out = Vec::new();
    for kind in [
        "validatingwebhookconfiguration",
        "mutatingwebhookconfiguration",
    ] {
        let encoded = jsonpath(
            ns,
            &format!("{kind}/{webhook}"),
            "{.webhooks[0].clientConfig.caBundle}",
        )
        .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .unwrap_or_default();
        out.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    out
}

/// One test, not two: both releases own the same cluster-scoped CRD, so they take turns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_upgrade_uninstall_with_helm_4_then_helm_3() {
    let Some(cluster) = shared().await else {
        return;
    };
    helm_4_standalone_leaves_nothing(cluster).await;
    helm_3_defaults_keep_only_the_crd(cluster).await;
}

/// Install with Helm 4 in standalone mode (both components, Flux's CRDs, the self-signed
/// certificate hooks, NetworkPolicies, PDBs), upgrade, uninstall.
async fn helm_4_standalone_leaves_nothing(cluster: &Cluster) {
    let ns = cluster.namespace("chart").await.unwrap();
    let chart = chart().display().to_string();
    let release = "hr4";
    let values = [
        "--set",
        "controller.enabled=true",
        "--set",
        "standalone=true",
        "--set",
        "crds.keep=false",
        "--set",
        "networkPolicy.enabled=true",
        "--set",
        "controller.podDisruptionBudget.enabled=true",
    ];
    let mut install = vec![
        "install",
        release,
        chart.as_str(),
        "--wait",
        "--timeout=120s",
    ];
    install.extend_from_slice(&values);
    let out = ok("helm install", ns.helm(&install).await);
    assert!(out.contains("STATUS: deployed"), "{out}");

    for deployment in ["hr4-helmrelease-webhook", "hr4-helmrelease-controller"] {
        let available = jsonpath(
            &ns,
            &format!("deployment/{deployment}"),
            "{.status.conditions[?(@.type=='Available')].status}",
        )
        .await;
        assert_eq!(available, "True", "{deployment}");
    }
    assert_eq!(
        jsonpath(
            &ns,
            "deployment/hr4-helmrelease-webhook",
            "{.status.readyReplicas}"
        )
        .await,
        "2"
    );
    // The CRDs are served: a HelmReleasePolicy and a HelmRepository can be listed.
    ok(
        "kubectl get hrpol",
        ns.kubectl(&["get", "helmreleasepolicies,helmrepositories"], None)
            .await,
    );
    // The hooks cleaned up after themselves (hook-succeeded).
    let hooks = ok(
        "kubectl get",
        ns.kubectl(
            &[
                "get",
                "jobs,serviceaccounts,roles,rolebindings",
                "-o",
                "name",
            ],
            None,
        )
        .await,
    );
    assert!(!hooks.contains("certgen"), "{hooks}");
    assert!(
        !ok(
            "kubectl get clusterroles",
            ns.kubectl(&["get", "clusterroles", "-o", "name"], None)
                .await
        )
        .contains("certgen")
    );

    // The CA the hook would patch in; an upgrade must keep it (Helm does not own the field).
    patch_ca_bundle(&ns, "hr4-helmrelease-webhook", cluster.ca_pem()).await;

    // Upgrade: more webhook replicas, controller flags changed, the PDB of the controller off.
    let mut upgrade = vec![
        "upgrade",
        release,
        chart.as_str(),
        "--wait",
        "--timeout=120s",
    ];
    upgrade.extend_from_slice(&values);
    upgrade.extend([
        "--set",
        "webhook.replicas=3",
        "--set",
        "controller.concurrent=8",
        "--set",
        "controller.podDisruptionBudget.enabled=false",
    ]);
    let out = ok("helm upgrade", ns.helm(&upgrade).await);
    assert!(out.contains("REVISION: 2"), "{out}");
    assert_eq!(
        ca_bundles(&ns, "hr4-helmrelease-webhook").await,
        vec![cluster.ca_pem().to_string(); 2],
        "helm upgrade dropped the caBundle"
    );
    assert_eq!(
        jsonpath(
            &ns,
            "deployment/hr4-helmrelease-webhook",
            "{.status.readyReplicas}"
        )
        .await,
        "3"
    );
    let args = jsonpath(
        &ns,
        "deployment/hr4-helmrelease-controller",
        "{.spec.template.spec.containers[0].args}",
    )
    .await;
    assert!(args.contains("--concurrent=8"), "{args}");
    let pdbs = ok(
        "kubectl get pdb",
        ns.kubectl(&["get", "pdb", "-o", "name"], None).await,
    );
    assert_eq!(
        pdbs.trim(),
        "poddisruptionbudget.policy/hr4-helmrelease-webhook"
    );

    let before = leftovers(&ns, release).await;
    assert!(
        before.contains("validatingwebhookconfiguration"),
        "{before}"
    );
    assert!(before.contains("customresourcedefinition"), "{before}");

    ok(
        "helm uninstall",
        ns.helm(&["uninstall", release, "--wait", "--timeout=120s"])
            .await,
    );
    let after = leftovers(&ns, release).await;
    assert_eq!(after, "", "left behind by uninstall");
    let secrets = ok(
        "kubectl get secrets",
        ns.kubectl(&["get", "secrets", "-o", "name"], None).await,
    );
    assert_eq!(secrets, "", "release Secrets and the certificate are gone");
}

/// Helm 3 with the defaults (the webhook alone): install, upgrade, uninstall; the CRD stays
/// (crds.keep), nothing else does.
async fn helm_3_defaults_keep_only_the_crd(cluster: &Cluster) {
    let ns = cluster.namespace("chart3").await.unwrap();
    let chart = chart().display().to_string();
    let release = "hr3";
    let out = ok(
        "helm3 install",
        ns.helm3(&[
            "install",
            release,
            chart.as_str(),
            "--wait",
            "--timeout=120s",
        ])
        .await,
    );
    assert!(out.contains("STATUS: deployed"), "{out}");
    patch_ca_bundle(&ns, "hr3-helmrelease-webhook", cluster.ca_pem()).await;
    let out = ok(
        "helm3 upgrade",
        ns.helm3(&[
            "upgrade",
            release,
            chart.as_str(),
            "--wait",
            "--timeout=120s",
            "--set",
            "webhook.logLevel=debug",
        ])
        .await,
    );
    assert!(out.contains("REVISION: 2"), "{out}");
    assert_eq!(
        ca_bundles(&ns, "hr3-helmrelease-webhook").await,
        vec![cluster.ca_pem().to_string(); 2],
        "helm upgrade dropped the caBundle"
    );
    assert_eq!(
        jsonpath(
            &ns,
            "deployment/hr3-helmrelease-webhook",
            "{.spec.template.spec.containers[0].env[0].value}"
        )
        .await,
        "debug"
    );
    ok(
        "helm3 uninstall",
        ns.helm3(&["uninstall", release, "--wait", "--timeout=120s"])
            .await,
    );
    let after = leftovers(&ns, release).await;
    assert_eq!(
        after,
        "customresourcedefinition.apiextensions.k8s.io/helmreleasepolicies.policy.helmrelease.dev",
        "only the kept CRD may stay"
    );
    ok(
        "kubectl delete crd",
        ns.kubectl(
            &[
                "delete",
                "crd",
                "helmreleasepolicies.policy.helmrelease.dev",
            ],
            None,
        )
        .await,
    );
}
