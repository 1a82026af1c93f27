//! The chart installed with official Helm into the real control plane (kwok plays the
//! kubelet, so Deployments become available and hook Jobs complete): `helm install --wait`,
//! `helm upgrade --wait`, `helm uninstall --wait`, and afterwards nothing of the release is
//! left, neither namespaced nor cluster-scoped. Skips without the binaries unless
//! HELMRELEASE_REQUIRE_CLUSTER is set. Runs in its own process, so on a cluster of its own:
//! the webhook configurations it installs must not meet other tests' HelmReleases.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_chart_tests::{bin_dir, chart, documents};
use helmrelease_testcluster::{Cluster, TestNamespace, ok, shared};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

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

/// The certgen hooks of release `release`, from `helm get hooks`: their RBAC objects applied
/// (without the hook lifecycle, so they stay) and, per Job, its script and environment.
async fn certgen_hooks(
    ns: &TestNamespace,
    release: &str,
) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
    let hooks = ok("helm get hooks", ns.helm(&["get", "hooks", release]).await);
    let mut jobs = BTreeMap::new();
    for (source, body) in documents(&hooks) {
        if !source.contains("/certgen/") {
            continue;
        }
        let object: Value = serde_saphyr::from_str(&body).unwrap();
        if object["kind"] != "Job" {
            ok(
                "kubectl apply",
                ns.kubectl(&["apply", "-f", "-"], Some(&body)).await,
            );
            continue;
        }
        let container = &object["spec"]["template"]["spec"]["containers"][0];
        let script = container["command"][2].as_str().unwrap().to_string();
        let env = container["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["value"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let name = object["metadata"]["name"].as_str().unwrap();
        jobs.insert(name.rsplit('-').next().unwrap().to_string(), (script, env));
    }
    jobs
}

/// Runs a certgen Job's script here, as its ServiceAccount would (the kubeconfig impersonates
/// it), with official kubectl on PATH and `cert_dir` as the Job's /certs.
fn run_certgen(
    cluster: &Cluster,
    ns: &TestNamespace,
    job: &(String, BTreeMap<String, String>),
    service_account: &str,
    cert_dir: &Path,
) -> (bool, String) {
    let home = cert_dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let kubeconfig = home.join("kubeconfig");
    let yaml = cluster.kubeconfig_yaml(&ns.name)
        + &format!(
            "    as: system:serviceaccount:{}:{service_account}\n",
            ns.name
        );
    std::fs::write(&kubeconfig, yaml).unwrap();
    let kubectl_dir = helmrelease_testcluster::kubectl()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        kubectl_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (script, env) = job;
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .envs(env)
        .env("CERT_DIR", cert_dir)
        .env("HOME", &home)
        .env("KUBECONFIG", &kubeconfig)
        .env("PATH", path)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The self-signed certificate hooks, for real: kwok completes hook Jobs without running
/// them, so their scripts run here, with the hooks' own RBAC: create stores the certificate
/// `helmrelease-webhook certs` wrote and keeps it on a second run, patch puts its CA into
/// both webhook configurations, delete removes the Secret. Returns the CA.
async fn self_signed_hooks_work(
    cluster: &Cluster,
    ns: &TestNamespace,
    release: &str,
) -> Option<String> {
    let webhook = bin_dir().join("helmrelease-webhook");
    if !webhook.is_file() {
        assert!(
            std::env::var_os("HELMRELEASE_REQUIRE_CLUSTER").is_none(),
            "{} is missing: build the workspace first",
            webhook.display()
        );
        eprintln!("skipping the certgen scripts: no helmrelease-webhook binary");
        return None;
    }
    let cert_dir = std::env::temp_dir().join(format!("helmrelease-certgen-{}", std::process::id()));
    let service = format!("{release}-helmrelease-webhook.{}.svc", ns.name);
    let out = std::process::Command::new(&webhook)
        .args(["certs", "--dns-name", &service, "--out-dir"])
        .arg(&cert_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ca = std::fs::read_to_string(cert_dir.join("ca.crt")).unwrap();

    let jobs = certgen_hooks(ns, release).await;
    let account = format!("{release}-helmrelease-certgen");
    let secret = format!("secret/{release}-helmrelease-webhook-tls");
    let (done, log) = run_certgen(cluster, ns, &jobs["create"], &account, &cert_dir);
    assert!(done, "create: {log}");
    assert_eq!(jsonpath(ns, &secret, "{.type}").await, "kubernetes.io/tls");
    let (done, log) = run_certgen(cluster, ns, &jobs["create"], &account, &cert_dir);
    assert!(
        done && log.contains("exists: keeping it"),
        "create again: {log}"
    );
    let (done, log) = run_certgen(cluster, ns, &jobs["patch"], &account, &cert_dir);
    assert!(done, "patch: {log}");
    assert_eq!(
        ca_bundles(ns, &format!("{release}-helmrelease-webhook")).await,
        vec![ca.clone(); 2]
    );
    let _ = std::fs::remove_dir_all(&cert_dir);
    Some(ca)
}

/// The certgen delete hook removes the Secret (RBAC applied again: the upgrade's hooks took
/// it away).
async fn self_signed_delete_hook_works(cluster: &Cluster, ns: &TestNamespace, release: &str) {
    let cert_dir =
        std::env::temp_dir().join(format!("helmrelease-certgen-del-{}", std::process::id()));
    let jobs = certgen_hooks(ns, release).await;
    let (done, log) = run_certgen(
        cluster,
        ns,
        &jobs["delete"],
        &format!("{release}-helmrelease-certgen"),
        &cert_dir,
    );
    let _ = std::fs::remove_dir_all(&cert_dir);
    assert!(done, "delete: {log}");
    let secrets = ok(
        "kubectl get secrets",
        ns.kubectl(&["get", "secrets", "-o", "name"], None).await,
    );
    assert!(!secrets.contains("webhook-tls"), "{secrets}");
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
    // Every Pod of the chart, hook Jobs included, must pass the restricted Pod Security
    // Standard: the API server refuses any that does not.
    ok(
        "kubectl label namespace",
        ns.kubectl(
            &[
                "label",
                "namespace",
                &ns.name,
                "pod-security.kubernetes.io/enforce=restricted",
            ],
            None,
        )
        .await,
    );
    // The control: a privileged Pod is refused there.
    let refused = ns
        .kubectl(
            &["run", "privileged", "--image=busybox", "--privileged"],
            None,
        )
        .await;
    assert!(
        !refused.ok && refused.stderr.contains("violates PodSecurity"),
        "{}",
        refused.stderr
    );
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
    let ca = match self_signed_hooks_work(cluster, &ns, release).await {
        Some(ca) => ca,
        None => {
            patch_ca_bundle(&ns, "hr4-helmrelease-webhook", cluster.ca_pem()).await;
            cluster.ca_pem().to_string()
        }
    };

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
        "--set",
        "controller.rbac.clusterAdmin=false",
    ]);
    let out = ok("helm upgrade", ns.helm(&upgrade).await);
    assert!(out.contains("REVISION: 2"), "{out}");
    assert_eq!(
        ca_bundles(&ns, "hr4-helmrelease-webhook").await,
        vec![ca; 2],
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
    // Without the cluster-admin binding (removed by the upgrade), each ServiceAccount has just
    // what its program needs; the webhook reads no Secrets and writes nothing.
    let namespace = format!("--namespace={}", ns.name);
    for (account, verb, resource, scope, expected) in [
        (
            "controller",
            "patch",
            "helmreleases.helm.toolkit.fluxcd.io/status",
            "-A",
            "yes",
        ),
        (
            "controller",
            "update",
            "helmreleases.helm.toolkit.fluxcd.io/finalizers",
            "-A",
            "yes",
        ),
        ("controller", "create", "secrets", "-A", "yes"),
        ("controller", "delete", "configmaps", "-A", "yes"),
        (
            "controller",
            "create",
            "helmcharts.source.toolkit.fluxcd.io",
            "-A",
            "yes",
        ),
        (
            "controller",
            "patch",
            "ocirepositories.source.toolkit.fluxcd.io/status",
            "-A",
            "yes",
        ),
        ("controller", "impersonate", "serviceaccounts", "-A", "yes"),
        ("controller", "create", "events", "-A", "yes"),
        (
            "controller",
            "update",
            "leases.coordination.k8s.io",
            namespace.as_str(),
            "yes",
        ),
        (
            "controller",
            "update",
            "leases.coordination.k8s.io",
            "--namespace=kube-system",
            "no",
        ),
        (
            "controller",
            "create",
            "clusterroles.rbac.authorization.k8s.io",
            "-A",
            "no",
        ),
        (
            "webhook",
            "watch",
            "helmrepositories.source.toolkit.fluxcd.io",
            "-A",
            "yes",
        ),
        (
            "webhook",
            "list",
            "ocirepositories.source.toolkit.fluxcd.io",
            "-A",
            "yes",
        ),
        (
            "webhook",
            "watch",
            "helmreleasepolicies.policy.helmrelease.dev",
            "-A",
            "yes",
        ),
        ("webhook", "list", "namespaces", "-A", "yes"),
        ("webhook", "get", "secrets", "-A", "no"),
        (
            "webhook",
            "create",
            "helmreleases.helm.toolkit.fluxcd.io",
            "-A",
            "no",
        ),
    ] {
        let user = format!(
            "--as=system:serviceaccount:{}:{release}-helmrelease-{account}",
            ns.name
        );
        let (resource, subresource) = match resource.split_once('/') {
            Some((r, s)) => (r, Some(format!("--subresource={s}"))),
            None => (resource, None),
        };
        let mut args = vec!["auth", "can-i", verb, resource, scope, user.as_str()];
        if let Some(sub) = &subresource {
            args.push(sub);
        }
        let out = ns.kubectl(&args, None).await;
        assert_eq!(
            out.stdout.trim(),
            expected,
            "{account}: {verb} {resource} {subresource:?} {scope}: {}",
            out.stderr
        );
    }
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
    if bin_dir().join("helmrelease-webhook").is_file() {
        self_signed_delete_hook_works(cluster, &ns, release).await;
    }

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
    // Every Pod of the chart, hook Jobs included, must pass the restricted Pod Security
    // Standard: the API server refuses any that does not.
    ok(
        "kubectl label namespace",
        ns.kubectl(
            &[
                "label",
                "namespace",
                &ns.name,
                "pod-security.kubernetes.io/enforce=restricted",
            ],
            None,
        )
        .await,
    );
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
