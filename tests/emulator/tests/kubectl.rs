//! The real `kubectl` against the emulator: apply CRDs and custom resources, read back CRD
//! defaults, short names, delete.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_emulator::Emulator;
use std::path::Path;

fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let out = helmrelease_emulator::harness::kubectl(kubeconfig, args, stdin).unwrap();
    (out.ok, out.stdout, out.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_applies_crds_and_helmreleases() {
    if !helmrelease_emulator::harness::kubectl_available() {
        eprintln!("kubectl is not installed; skipping");
        return;
    }
    let emulator = Emulator::start(0).await.unwrap();
    let dir = std::env::temp_dir().join(format!("emulator-kubectl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    emulator.write_kubeconfig(&kubeconfig).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let crds = root.join("crds");
    let flux_crds =
        root.join("../shared/reference/flux/crds/helm.toolkit.fluxcd.io_helmreleases.yaml");

    let k = |args: &[&str], stdin: Option<&str>| {
        let kubeconfig = kubeconfig.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let stdin = stdin.map(String::from);
        async move {
            tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                kubectl(&kubeconfig, &refs, stdin.as_deref())
            })
            .await
            .unwrap()
        }
    };

    let (ok, out, err) = k(&["apply", "-f", crds.to_str().unwrap()], None).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("customresourcedefinition.apiextensions.k8s.io/helmreleases.helm.toolkit.fluxcd.io created"), "{out}");
    // Flux's own CRD applies over ours (same group and names), as in a cluster.
    let (ok, _, err) = k(&["apply", "-f", flux_crds.to_str().unwrap()], None).await;
    assert!(ok, "{err}");

    let (ok, _, err) = k(
        &["apply", "-f", "-"],
        Some("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"),
    )
    .await;
    assert!(ok, "{err}");
    let hr = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n        namespace: flux-system\n";
    let (ok, out, err) = k(&["apply", "-f", "-"], Some(hr)).await;
    assert!(
        ok && out.contains("helmrelease.helm.toolkit.fluxcd.io/podinfo created"),
        "{out}{err}"
    );
    let (ok, out, _) = k(
        &[
            "get",
            "hr",
            "-n",
            "apps",
            "podinfo",
            "-o",
            "jsonpath={.spec.chart.spec.version}",
        ],
        None,
    )
    .await;
    assert!(ok);
    assert_eq!(out, "*", "the CRD default fills an omitted version");
    let (ok, out, _) = k(&["get", "hr", "-A"], None).await;
    assert!(ok && out.contains("podinfo"), "{out}");
    // The CRD schema is enforced: a bad duration is refused, and so is an unknown field,
    // because kubectl asks for strict field validation.
    let bad = hr.replace("interval: 5m", "interval: 5 minutes");
    let (ok, _, err) = k(&["apply", "-f", "-"], Some(&bad)).await;
    assert!(!ok);
    assert!(err.contains(r#"HelmRelease.helm.toolkit.fluxcd.io "podinfo" is invalid: spec.interval: "5 minutes" does not match"#), "{err}");
    let unknown = hr.replace("  interval: 5m\n", "  interval: 5m\n  intervall: 6m\n");
    let (ok, _, err) = k(&["apply", "-f", "-"], Some(&unknown)).await;
    assert!(!ok);
    assert!(err.contains(r#"unknown field "spec.intervall""#), "{err}");
    // Server-side dry runs answer without writing.
    let other = hr.replace("name: podinfo\n  namespace", "name: dry\n  namespace");
    let (ok, out, err) = k(&["apply", "--dry-run=server", "-f", "-"], Some(&other)).await;
    assert!(
        ok && out.contains("helmrelease.helm.toolkit.fluxcd.io/dry created (server dry run)"),
        "{out}{err}"
    );
    let (ok, _, _) = k(&["get", "hr", "dry", "-n", "apps"], None).await;
    assert!(!ok, "a dry run must not create the object");
    let (ok, _, err) = k(
        &["delete", "hr", "podinfo", "-n", "apps", "--dry-run=server"],
        None,
    )
    .await;
    assert!(ok, "{err}");
    let (ok, _, _) = k(&["get", "hr", "podinfo", "-n", "apps"], None).await;
    assert!(ok, "a dry-run delete must not delete");
    // Applying again is a no-op; then delete.
    let (ok, out, err) = k(&["apply", "-f", "-"], Some(hr)).await;
    assert!(ok, "{out}{err}");
    let (ok, _, err) = k(&["delete", "hr", "podinfo", "-n", "apps"], None).await;
    assert!(ok, "{err}");
    let (ok, out, err) = k(&["get", "hr", "-n", "apps"], None).await;
    assert!(ok && !out.contains("podinfo"), "{out}{err}");

    // Client-side apply of a changed Deployment sends a strategic merge patch with
    // `$setElementOrder` and `$patch` directives: merged by container name, none stored.
    let deployment = |containers: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n{containers}"
        )
    };
    let two = "      - name: app\n        image: web:1\n        env:\n        - {name: A, value: '1'}\n      - name: side\n        image: side:1\n";
    let one =
        "      - name: app\n        image: web:2\n        env:\n        - {name: B, value: '2'}\n";
    for containers in [two, one] {
        let (ok, out, err) = k(&["apply", "-f", "-"], Some(&deployment(containers))).await;
        assert!(ok, "{out}{err}");
    }
    let (ok, out, err) = k(&["get", "deploy", "web", "-n", "apps", "-o", "json"], None).await;
    assert!(ok, "{err}");
    let stored: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        stored["spec"]["template"]["spec"]["containers"],
        serde_json::json!([{"name": "app", "image": "web:2", "env": [{"name": "B", "value": "2"}]}]),
        "{out}"
    );
    assert!(
        !out.contains("$setElementOrder") && !out.contains("$patch"),
        "{out}"
    );
    // kubectl patch's default (strategic) on a Deployment merges by key ...
    let (ok, out, err) = k(
        &[
            "patch",
            "deploy",
            "web",
            "-n",
            "apps",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"extra","image":"x:1"}]}}}}"#,
        ],
        None,
    )
    .await;
    assert!(ok, "{out}{err}");
    let (_, out, _) = k(
        &[
            "get",
            "deploy",
            "web",
            "-n",
            "apps",
            "-o",
            "jsonpath={.spec.template.spec.containers[*].name}",
        ],
        None,
    )
    .await;
    assert_eq!(out, "app extra");
    // ... and is refused for custom resources, as by the API server.
    let (ok, _, err) = k(&["apply", "-f", "-"], Some(hr)).await;
    assert!(ok, "{err}");
    let (ok, _, err) = k(
        &[
            "patch",
            "hr",
            "podinfo",
            "-n",
            "apps",
            "--type",
            "strategic",
            "-p",
            r#"{"spec":{"suspend":true}}"#,
        ],
        None,
    )
    .await;
    assert!(!ok && err.contains("unknown format"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
