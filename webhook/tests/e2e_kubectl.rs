//! End to end: the real webhook binary in cluster mode against the real control plane, registered through
//! webhook configurations, and the real `kubectl apply` seeing its denials, mutations and
//! warnings the way users will.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use base64::Engine;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_helmrelease-webhook");

fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let out =
        helmrelease_testcluster::run(&helmrelease_testcluster::kubectl(), kubeconfig, args, stdin)
            .unwrap();
    (out.ok, out.stdout, out.stderr)
}

struct Webhook(Child);

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_webhook(dir: &Path, kubeconfig: &Path) -> (Webhook, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
            "--tls-cert-file",
        ])
        .arg(dir.join("tls.crt"))
        .arg("--tls-key-file")
        .arg(dir.join("tls.key"))
        .env("KUBECONFIG", kubeconfig)
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
    let mut addr = None;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(a) = line
            .split_whitespace()
            .find_map(|t| t.strip_prefix("addr="))
        {
            addr = Some(a.to_string());
        }
        if line.contains("caches synced") {
            std::thread::spawn(move || for _ in lines.by_ref() {});
            return (webhook, addr.unwrap());
        }
        seen.push(line);
    }
    panic!("the webhook did not become ready: {seen:?}");
}

fn webhook_configurations(port: &str, ca: &Path) -> String {
    let bundle = base64::engine::general_purpose::STANDARD.encode(std::fs::read(ca).unwrap());
    let hook = |name: &str, path: &str, ops: &str| {
        format!(
            "- name: {name}\n  clientConfig:\n    url: https://localhost:{port}{path}\n    caBundle: {bundle}\n  rules:\n  - apiGroups: [helm.toolkit.fluxcd.io]\n    apiVersions: [\"*\"]\n    resources: [helmreleases]\n    operations: [{ops}]\n  failurePolicy: Fail\n  sideEffects: None\n  timeoutSeconds: 5\n  admissionReviewVersions: [v1]\n  namespaceSelector:\n    matchExpressions:\n    - key: kubernetes.io/metadata.name\n      operator: NotIn\n      values: [kube-system]\n"
        )
    };
    format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: helmrelease-webhook\nwebhooks:\n{}---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: helmrelease-webhook\nwebhooks:\n{}",
        hook("mutate.helmrelease.dev", "/mutate", "CREATE, UPDATE"),
        hook(
            "validate.helmrelease.dev",
            "/validate",
            "CREATE, UPDATE, DELETE"
        )
    )
}

const UNPINNED: &str = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: unpinned\n  namespace: apps\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      version: \"^6\"\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n        namespace: apps\n";
const PINNED_BARE: &str = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\n  annotations:\n    helmrelease.dev/deletion-protection: \"true\"\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      version: 6.5.4\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_sees_denials_mutations_and_warnings_from_the_webhook() {
    let Some(cluster) = helmrelease_testcluster::shared().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig: PathBuf = cluster.kubeconfig().to_path_buf();
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    let kc = kubeconfig.clone();
    let run = move |args: Vec<String>, stdin: Option<String>| {
        let kc = kc.clone();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            kubectl(&kc, &refs, stdin.as_deref())
        })
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let (ok, _, err) = run(args(&["apply", "-f", crds.to_str().unwrap()]), None)
        .await
        .unwrap();
    assert!(ok, "{err}");
    let setup = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  url: https://stefanprodan.github.io/podinfo\n";
    let (ok, _, err) = run(args(&["apply", "-f", "-"]), Some(setup.into()))
        .await
        .unwrap();
    assert!(ok, "{err}");

    helmrelease_webhook::certs::generate(&["localhost".to_string()], dir.path(), 1).unwrap();
    let (webhook, addr) = tokio::task::spawn_blocking({
        let d = dir.path().to_path_buf();
        let k = kubeconfig.clone();
        move || start_webhook(&d, &k)
    })
    .await
    .unwrap();
    let port = addr.rsplit(':').next().unwrap().to_string();
    let configs = webhook_configurations(&port, &dir.path().join("ca.crt"));
    let (ok, _, err) = run(args(&["apply", "-f", "-"]), Some(configs))
        .await
        .unwrap();
    assert!(ok, "{err}");

    // Denied, with our message as kubectl prints it.
    let (ok, _, err) = run(args(&["apply", "-f", "-"]), Some(UNPINNED.into()))
        .await
        .unwrap();
    assert!(!ok, "an unpinned HelmRelease was admitted");
    assert!(
        err.contains(r#"admission webhook "validate.helmrelease.dev" denied the request: pinned-version: spec.chart.spec.version: "^6" is a caret range (>=6.0.0 <7.0.0); pin an exact version such as "6.0.0""#),
        "{err}"
    );

    // Admitted and mutated: the namespace of the source that is there, cleanup and retries.
    let (ok, out, err) = run(args(&["apply", "-f", "-"]), Some(PINNED_BARE.into()))
        .await
        .unwrap();
    assert!(ok, "{out}{err}");
    assert!(
        err.contains("Warning: helmrelease-webhook set spec.upgrade to"),
        "{err}"
    );
    let (ok, out, _) = run(
        args(&["get", "hr", "podinfo", "-n", "apps", "-o",
               "jsonpath={.spec.chart.spec.sourceRef.namespace} {.spec.upgrade.cleanupOnFail} {.spec.install.remediation.retries}"]),
        None,
    )
    .await
    .unwrap();
    assert!(ok);
    assert_eq!(out, "apps true 3");

    // Deletion protection.
    let (ok, _, err) = run(args(&["delete", "hr", "podinfo", "-n", "apps"]), None)
        .await
        .unwrap();
    assert!(!ok);
    assert!(err.contains("deletion-protection: "), "{err}");
    drop(webhook);
}
