//! Admission warnings through the real API server, as kubectl prints them. kube-apiserver
//! cuts every warning of a request to 256 characters once they add up to more than 4,096
//! (`k8s.io/apiserver` `pkg/endpoints/filters/warning.go`); what the webhook sends must reach
//! the user whole. A test process of its own: its cluster has no other webhook registered.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use base64::Engine;
use helmrelease_webhook::review::{Endpoint, handle};
use helmrelease_webhook::state::OfflineDecider;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_helmrelease-webhook");

/// Every rule that can only warn set to Warn, and pinned-version too, so one HelmRelease
/// brings several warnings, one of them as long as its version.
const POLICY: &str = "apiVersion: policy.helmrelease.dev/v1alpha1\nkind: HelmReleasePolicy\nmetadata:\n  name: warn\nspec:\n  rules:\n    pinnedVersion:\n      action: Warn\n";

struct Webhook(Child);

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_webhook(dir: &Path) -> (Webhook, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--offline",
            "--addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
            "--tls-cert-file",
        ])
        .arg(dir.join("tls.crt"))
        .arg("--tls-key-file")
        .arg(dir.join("tls.key"))
        .arg("--policy")
        .arg(dir.join("policy.yaml"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let webhook = Webhook(child);
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(addr) = line
            .split_whitespace()
            .find_map(|t| t.strip_prefix("addr="))
        {
            let addr = addr.to_string();
            std::thread::spawn(move || for _ in lines.by_ref() {});
            return (webhook, addr);
        }
        seen.push(line);
    }
    panic!("the webhook did not start: {seen:?}");
}

fn helmrelease(namespace: &str, version: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: long-range\n  namespace: {namespace}\nspec:\n  interval: 5m\n  maxHistory: 0\n  chart:\n    spec:\n      chart: podinfo\n      version: \"{version}\"\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n        namespace: {namespace}\n"
    )
}

/// The warnings the webhook answers for this HelmRelease, computed in-process with the same
/// policy: what it sends, for comparing with what kubectl prints.
fn sent_warnings(dir: &Path, object: &str) -> Vec<String> {
    let object = helmrelease_manifest::parse(object, "test")
        .unwrap()
        .remove(0)
        .value;
    let review = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "1",
            "kind": {"group": "helm.toolkit.fluxcd.io", "version": "v2", "kind": "HelmRelease"},
            "operation": "CREATE",
            "namespace": object["metadata"]["namespace"],
            "object": object,
        }
    });
    let policies = helmrelease_webhook::load_policies(&[dir.join("policy.yaml")]).unwrap();
    let decider = OfflineDecider::new(policies);
    let outcome = handle(
        Endpoint::Validate,
        &serde_json::to_vec(&review).unwrap(),
        &decider,
    );
    let body: serde_json::Value = serde_json::from_slice(&outcome.body).unwrap();
    assert_eq!(body["response"]["allowed"], true, "{body}");
    body["response"]["warnings"]
        .as_array()
        .map(|w| w.iter().map(|w| w.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// `Warning: ` lines of kubectl's stderr, without the prefix.
fn printed_warnings(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("Warning: "))
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_warning_reaches_kubectl_whole() {
    let Some(cluster) = helmrelease_testcluster::shared().await else {
        return;
    };
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    cluster
        .install_crds(&[&crds.join("helm.toolkit.fluxcd.io_helmreleases.yaml")])
        .await;
    let ns = cluster.namespace("warnings").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), POLICY).unwrap();
    helmrelease_webhook::certs::generate(&["localhost".to_string()], dir.path(), 1).unwrap();
    let (webhook, addr) = tokio::task::spawn_blocking({
        let d = dir.path().to_path_buf();
        move || start_webhook(&d)
    })
    .await
    .unwrap();
    let port = addr.rsplit(':').next().unwrap();
    let bundle = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(dir.path().join("ca.crt")).unwrap());
    let config = format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: warnings-{ns}\nwebhooks:\n- name: validate.helmrelease.dev\n  clientConfig:\n    url: https://localhost:{port}/validate\n    caBundle: {bundle}\n  rules:\n  - apiGroups: [helm.toolkit.fluxcd.io]\n    apiVersions: [\"*\"]\n    resources: [helmreleases]\n    operations: [CREATE, UPDATE]\n  failurePolicy: Fail\n  sideEffects: None\n  timeoutSeconds: 5\n  admissionReviewVersions: [v1]\n  namespaceSelector:\n    matchLabels:\n      kubernetes.io/metadata.name: {ns}\n",
        ns = ns.name
    );
    let out = cluster.kubectl(&["apply", "-f", "-"], Some(&config)).await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);

    // A range of 400 versions: its pinned-version warning alone is over 4,000 characters,
    // past the API server's total, so the server would cut it to its first 256.
    let version: Vec<String> = (0..400).map(|i| format!("1.0.{i}")).collect();
    let object = helmrelease(&ns.name, &version.join(" || "));
    let sent = sent_warnings(dir.path(), &object);
    assert!(sent.len() >= 3, "{sent:?}");
    assert!(
        sent.iter().any(|w| w.starts_with("pinned-version: ")),
        "{sent:?}"
    );

    // The API server picks webhook configurations up within a second or so; a server-side
    // dry run goes through the webhook without storing anything.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = cluster
            .kubectl(&["apply", "--dry-run=server", "-f", "-"], Some(&object))
            .await;
        assert!(out.ok, "{}{}", out.stdout, out.stderr);
        if !printed_warnings(&out.stderr).is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "no warnings: {}", out.stderr);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let out = cluster.kubectl(&["apply", "-f", "-"], Some(&object)).await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    let printed = printed_warnings(&out.stderr);
    assert_eq!(
        printed, sent,
        "kubectl printed other warnings than the webhook sent:\n{}",
        out.stderr
    );
    let total: usize = printed.iter().map(|w| w.chars().count()).sum();
    assert!(total <= 4096, "{total}");
    assert!(
        printed
            .iter()
            .any(|w| w.starts_with("pinned-version: ") && w.contains("pin ")),
        "the fix of the long warning reached the user: {printed:?}"
    );

    let out = cluster
        .kubectl(
            &[
                "delete",
                "validatingwebhookconfiguration",
                &format!("warnings-{}", ns.name),
            ],
            None,
        )
        .await;
    assert!(out.ok, "{}", out.stderr);
    drop(webhook);
}
