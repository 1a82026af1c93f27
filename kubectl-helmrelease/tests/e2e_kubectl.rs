//! End to end: the real `kubectl` runs our plugin (found on PATH as `kubectl-helmrelease`)
//! against the real control plane holding Flux's CRDs, HelmReleases and release Secrets written by our
//! encoder: history, diff between revisions, drift after `kubectl patch`, and audit.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-helmrelease");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `kubectl ARGS` with the plugin's folder first on PATH and KUBECONFIG set, as a user runs it.
fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    kubectl_env(kubeconfig, args, stdin, &[])
}

/// [`kubectl`] with extra environment variables.
fn kubectl_env(
    kubeconfig: &Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let plugin_dir = Path::new(PLUGIN).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(plugin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let mut child = Command::new(helmrelease_testcluster::kubectl())
        .args(args)
        .current_dir(repo())
        .env("PATH", path)
        .env("KUBECONFIG", kubeconfig)
        .env("TZ", "UTC")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_runs_the_plugin_against_a_cluster() {
    let Some(cluster) = helmrelease_testcluster::shared().await else {
        return;
    };
    let kc = cluster.kubeconfig().to_path_buf();
    // kubectl blocks: run the scenario off the runtime.
    tokio::task::spawn_blocking(move || scenario(&kc))
        .await
        .unwrap();
}

fn ok(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let (code, out, err) = kubectl(kubeconfig, args, stdin);
    assert_eq!(code, 0, "kubectl {args:?} failed:\n{out}\n{err}");
    out
}

fn scenario(kc: &Path) {
    ok(kc, &["apply", "-f", "../shared/reference/flux/crds/"], None);
    ok(
        kc,
        &["apply", "-f", "-"],
        Some(
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: apps}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: data}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: ops}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: flux-system}}\n",
        ),
    );
    for file in ["helmreleases", "sources", "release-secrets"] {
        ok(
            kc,
            &["apply", "-f", &format!("examples/cluster/{file}.yaml")],
            None,
        );
    }

    // history: the release behind HelmRelease apps/podinfo, read from its Secrets.
    let history = ok(
        kc,
        &["helmrelease", "history", "podinfo", "-n", "apps"],
        None,
    );
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 5, "{history}");
    assert!(lines[0].starts_with("REVISION   UPDATED"), "{history}");
    assert!(
        lines[4].contains("deployed") && lines[4].contains("Rollback to 2"),
        "{history}"
    );

    // The same release kept by Helm's configmap driver (HELM_DRIVER=configmap) in another
    // namespace: the payload is the Secret's, not base64-encoded once more.
    let secret: serde_json::Value = serde_json::from_str(&ok(
        kc,
        &[
            "get",
            "secret",
            "sh.helm.release.v1.podinfo.v1",
            "-n",
            "apps",
            "-o",
            "json",
        ],
        None,
    ))
    .unwrap();
    let payload = {
        use base64::Engine as _;
        let wire = secret["data"]["release"].as_str().unwrap();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(wire)
                .unwrap(),
        )
        .unwrap()
    };
    let mut labels = secret["metadata"]["labels"].clone();
    labels["status"] = "deployed".into();
    let configmap = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "sh.helm.release.v1.podinfo.v1", "namespace": "ops", "labels": labels},
        "data": {"release": payload},
    });
    ok(kc, &["apply", "-f", "-"], Some(&configmap.to_string()));
    let driver = [("HELM_DRIVER", "configmap")];
    let (code, out, err) = kubectl_env(
        kc,
        &[
            "helmrelease",
            "history",
            "podinfo",
            "-n",
            "ops",
            "--release",
        ],
        None,
        &driver,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines().nth(1).is_some_and(|l| l.starts_with("1 ")),
        "{out}"
    );
    // With Secrets (the default), ops has no release at all.
    let (code, out, err) = kubectl(
        kc,
        &[
            "helmrelease",
            "history",
            "podinfo",
            "-n",
            "ops",
            "--release",
        ],
        None,
    );
    assert_ne!(code, 0, "{out}{err}");
    let (code, _, err) = kubectl_env(
        kc,
        &["helmrelease", "list", "-n", "ops"],
        None,
        &[("HELM_DRIVER", "etcd")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown driver \"etcd\""), "{err}");

    // diff between two revisions: exit 1, the replicas and image change, values too.
    let (code, out, err) = kubectl(
        kc,
        &[
            "helmrelease",
            "diff",
            "podinfo",
            "-n",
            "apps",
            "--revision",
            "1",
            "--to-revision",
            "4",
        ],
        None,
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("-  replicas: 1\n+  replicas: 2\n"), "{out}");
    assert!(
        out.ends_with("1 changed, 0 added, 0 removed; values changed\n"),
        "{out}"
    );

    // Deploy the manifest of the deployed revision, then label and annotate it as Helm does.
    let manifest = ok(
        kc,
        &["helmrelease", "get", "manifest", "podinfo", "-n", "apps"],
        None,
    );
    ok(kc, &["apply", "-f", "-"], Some(&manifest));
    // Without the ownership metadata Helm adds, the next upgrade would fail: drift.
    let (code, out, err) = kubectl(kc, &["helmrelease", "drift", "podinfo", "-n", "apps"], None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(
            "/metadata/labels/app.kubernetes.io~1managed-by: desired \"Helm\", live <unset>"
        ),
        "{out}"
    );
    let owned = ["deployment/podinfo", "service/podinfo", "-n", "apps"];
    ok(
        kc,
        &[
            &["label"][..],
            &owned,
            &["app.kubernetes.io/managed-by=Helm"],
        ]
        .concat(),
        None,
    );
    ok(
        kc,
        &[
            &["annotate"][..],
            &owned,
            &[
                "meta.helm.sh/release-name=podinfo",
                "meta.helm.sh/release-namespace=apps",
            ],
        ]
        .concat(),
        None,
    );
    let (code, out, err) = kubectl(kc, &["helmrelease", "drift", "podinfo", "-n", "apps"], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("0 drifted (0 missing, 0 modified), 2 in sync"),
        "{out}"
    );

    // Someone scales the Deployment by hand: drift, exit 1, naming the field.
    ok(
        kc,
        &[
            "patch",
            "deployment",
            "podinfo",
            "-n",
            "apps",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"replicas":5}}"#,
        ],
        None,
    );
    let (code, out, err) = kubectl(kc, &["helmrelease", "drift", "podinfo", "-n", "apps"], None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("Deployment apps/podinfo (apps/v1): modified"),
        "{out}"
    );
    assert!(out.contains("/spec/replicas: desired 2, live 5"), "{out}");

    // audit: the stuck pending-upgrade release and the orphaned one are findings; exit 1.
    let (code, out, err) = kubectl(kc, &["helmrelease", "audit", "-A", "--drift"], None);
    assert_eq!(code, 1, "{out}{err}");
    let finding = |category: &str, object: &str| {
        out.lines()
            .any(|l| l.split_whitespace().nth(1) == Some(category) && l.contains(object))
    };
    assert!(finding("stuck", "Release data/redis"), "{out}");
    assert!(finding("orphaned", "Release ops/legacy-cron"), "{out}");
    assert!(finding("drift", "Release apps/podinfo"), "{out}");
    assert!(finding("policy", "HelmRelease data/redis"), "{out}");

    // list: one row per HelmRelease plus the orphan.
    let list = ok(kc, &["helmrelease", "list", "-A"], None);
    assert!(list.contains("legacy-cron"), "{list}");

    // Scoped to the kubeconfig's namespace (default): nothing there, but no error either.
    let (code, out, err) = kubectl(kc, &["helmrelease", "history", "podinfo"], None);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("not found in namespace \"default\""), "{err}");
}
