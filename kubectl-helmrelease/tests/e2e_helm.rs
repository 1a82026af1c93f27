//! End to end, both directions with the official Helm 4.1.4 on the real control plane:
//! - the plugin reads what Helm wrote: `history`, `get`, `diff`, `drift` and `audit` agree with
//!   `helm history` and `helm get`, under real defaulting and managedFields;
//! - Helm reads what our encoder wrote: `helm history`, `helm get manifest` and `helm rollback`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_release::model::{Chart, Info, Metadata};
use helmrelease_release::{ObjectOptions, Release, storage};
use helmrelease_testcluster::{Output, TestNamespace, ok, run_async, shared};
use serde_json::Value;
use std::path::{Path, PathBuf};

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-helmrelease");

fn webapp() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/charts/webapp")
}

/// The plugin binary with this namespace's kubeconfig.
async fn plugin(ns: &TestNamespace, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(["-n".to_string(), ns.name.clone()]);
    run_async(PathBuf::from(PLUGIN), ns.kubeconfig.clone(), all, None).await
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_reads_what_official_helm_wrote() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("helm-wrote").await.unwrap();
    let chart = webapp().display().to_string();
    ok(
        "helm install",
        ns.helm(&["install", "web", &chart, "--wait", "--timeout=60s"])
            .await,
    );
    ok(
        "helm upgrade",
        ns.helm(&[
            "upgrade",
            "web",
            &chart,
            "--wait",
            "--timeout=60s",
            "--set",
            "replicaCount=3",
            "--set",
            "password=hunter2",
        ])
        .await,
    );

    // history: the same revisions, statuses, charts and descriptions as helm history.
    let helm = json(&ok(
        "helm history",
        ns.helm(&["history", "web", "-o", "json"]).await,
    ));
    let ours = json(&ok(
        "plugin history",
        plugin(&ns, &["history", "web", "--release", "-o", "json"]).await,
    ));
    let rows = |v: &Value, keys: [&str; 5]| -> Vec<Vec<String>> {
        v.as_array()
            .unwrap_or_else(|| v["revisions"].as_array().unwrap())
            .iter()
            .map(|r| keys.iter().map(|k| r[*k].to_string()).collect())
            .collect()
    };
    let keys = ["revision", "status", "chart", "app_version", "description"];
    let helm_rows = rows(&helm, keys);
    assert_eq!(helm_rows.len(), 2, "{helm}");
    let our_rows = rows(&ours, ours_keys(&ours));
    assert_eq!(our_rows, helm_rows, "ours: {ours}\nhelm: {helm}");

    // get manifest, notes, hooks, metadata and all: byte for byte what helm get prints.
    for what in ["manifest", "notes", "hooks", "metadata", "all"] {
        let helm = ok("helm get", ns.helm(&["get", what, "web"]).await);
        let ours = ok(
            "plugin get",
            plugin(&ns, &["get", what, "web", "--release"]).await,
        );
        assert_eq!(ours, helm, "get {what}");
    }
    let helm_values = json(&ok(
        "helm get values",
        ns.helm(&["get", "values", "web", "-o", "json"]).await,
    ));
    let our_values = json(&ok(
        "plugin get values",
        plugin(&ns, &["get", "values", "web", "--release", "-o", "json"]).await,
    ));
    assert_eq!(our_values, helm_values);
    assert_eq!(helm_values["replicaCount"], 3);

    // diff of the two revisions: the replica change, the new Secret masked.
    let out = plugin(
        &ns,
        &[
            "diff",
            "web",
            "--release",
            "--revision",
            "1",
            "--to-revision",
            "2",
        ],
    )
    .await;
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("-  replicas: 2\n+  replicas: 3\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("+stringData:\n+  password: \"***\"\n"),
        "{}",
        out.stdout
    );

    // drift: none right after Helm's upgrade, though the server defaulted and managed fields.
    let out = plugin(&ns, &["drift", "web", "--release"]).await;
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("0 drifted"), "{}", out.stdout);

    // Someone scales it by hand.
    ok(
        "kubectl scale",
        ns.kubectl(&["scale", "deployment/web-webapp", "--replicas=5"], None)
            .await,
    );
    let out = plugin(&ns, &["drift", "web", "--release"]).await;
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("/spec/replicas: desired 3, live 5"),
        "{}",
        out.stdout
    );

    // audit sees the drift, and nothing stuck.
    let out = plugin(&ns, &["audit", "--drift"]).await;
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    let findings: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert!(findings.contains(&"drift"), "{}", out.stdout);
    assert!(!findings.contains(&"stuck"), "{}", out.stdout);

    // A user without RBAC permission gets the real server's 403, and a message naming the
    // permission to ask for; once granted, the same command works.
    ok(
        "kubectl create sa",
        ns.kubectl(&["create", "serviceaccount", "viewer"], None)
            .await,
    );
    let token = ok(
        "kubectl create token",
        ns.kubectl(&["create", "token", "viewer"], None).await,
    );
    let viewer = ns.kubeconfig.with_extension("viewer.kubeconfig");
    std::fs::write(
        &viewer,
        helmrelease_testcluster::kubeconfig_yaml(
            cluster.server(),
            cluster.ca_pem(),
            token.trim(),
            &ns.name,
        ),
    )
    .unwrap();
    let as_viewer = |args: &[&str]| {
        run_async(
            PathBuf::from(PLUGIN),
            viewer.clone(),
            args.iter().map(|s| s.to_string()).collect(),
            None,
        )
    };
    let out = as_viewer(&["history", "web", "--release"]).await;
    assert_eq!(out.code, Some(2), "{}{}", out.stdout, out.stderr);
    let n = &ns.name;
    assert!(
        out.stderr.contains(&format!(
            "forbidden: cannot list secrets in namespace \"{n}\"; this needs RBAC permission to \
             list secrets in namespace \"{n}\" (server said: secrets is forbidden: User \
             \"system:serviceaccount:{n}:viewer\" cannot list resource \"secrets\" in API group \
             \"\" in the namespace \"{n}\")"
        )),
        "{}",
        out.stderr
    );
    ok(
        "kubectl create role",
        ns.kubectl(
            &[
                "create",
                "role",
                "release-reader",
                "--verb=get,list",
                "--resource=secrets",
            ],
            None,
        )
        .await,
    );
    ok(
        "kubectl create rolebinding",
        ns.kubectl(
            &[
                "create",
                "rolebinding",
                "release-reader",
                "--role=release-reader",
                &format!("--serviceaccount={n}:viewer"),
            ],
            None,
        )
        .await,
    );
    let out = as_viewer(&["history", "web", "--release"]).await;
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
}

/// The plugin's JSON history names its fields as Helm's does, or close to it; find them.
fn ours_keys(ours: &Value) -> [&'static str; 5] {
    let first = ours
        .as_array()
        .and_then(|a| a.first())
        .or_else(|| ours["revisions"].as_array().and_then(|a| a.first()))
        .cloned()
        .unwrap_or_default();
    let pick = |a: &'static str, b: &'static str| if first.get(a).is_some() { a } else { b };
    [
        "revision",
        "status",
        "chart",
        pick("app_version", "appVersion"),
        "description",
    ]
}

/// A release revision rendered by our engine and stored by our encoder.
fn our_release(namespace: &str, revision: i64, replicas: i64, status: &str) -> Release {
    let loaded = helmrelease_helm::chart::load(webapp()).unwrap();
    let values = format!("replicaCount: {replicas}\n");
    let user = helmrelease_helm::values::read_values(&values).unwrap();
    let options = helmrelease_helm::render::TemplateOptions {
        release_name: "web".into(),
        namespace: namespace.into(),
        is_upgrade: revision > 1,
        revision,
        ..Default::default()
    };
    let rendered = helmrelease_helm::render::render_with_values(loaded, &user, &options).unwrap();
    let manifest = rendered.manifest.clone();
    let at = format!("2026-11-0{revision}T10:00:00Z");
    Release {
        name: "web".into(),
        info: Some(Info {
            first_deployed: Some("2026-11-01T10:00:00Z".into()),
            last_deployed: Some(at),
            description: if revision == 1 {
                "Install complete".into()
            } else {
                "Upgrade complete".into()
            },
            status: status.into(),
            notes: rendered.notes.clone(),
            ..Info::default()
        }),
        chart: Some(Chart {
            metadata: Some(Metadata {
                api_version: Some("v2".into()),
                name: Some("webapp".into()),
                version: Some("1.2.3".into()),
                app_version: Some("2.0".into()),
                ..Metadata::default()
            }),
            ..Chart::default()
        }),
        config: user.to_json().as_object().cloned(),
        manifest,
        version: revision,
        namespace: namespace.into(),
        ..Release::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_helm_reads_and_rolls_back_what_our_encoder_wrote() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("we-wrote").await.unwrap();
    let v1 = our_release(&ns.name, 1, 1, "superseded");
    let v2 = our_release(&ns.name, 2, 3, "deployed");
    for release in [&v1, &v2] {
        let secret = storage::to_secret(release, &ObjectOptions::default()).unwrap();
        ok(
            "kubectl create release secret",
            ns.kubectl(&["create", "-f", "-"], Some(&secret.to_string()))
                .await,
        );
    }
    // The objects of revision 2, as the controller would have applied them.
    ok(
        "kubectl apply",
        ns.kubectl(
            &["apply", "--server-side", "--field-manager=helm", "-f", "-"],
            Some(&v2.manifest),
        )
        .await,
    );

    let history = json(&ok(
        "helm history",
        ns.helm(&["history", "web", "-o", "json"]).await,
    ));
    let summary: Vec<(i64, String, String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
                r["chart"].as_str().unwrap().to_string(),
                r["description"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                1,
                "superseded".into(),
                "webapp-1.2.3".into(),
                "Install complete".into()
            ),
            (
                2,
                "deployed".into(),
                "webapp-1.2.3".into(),
                "Upgrade complete".into()
            ),
        ]
    );
    let manifest = ok(
        "helm get manifest",
        ns.helm(&["get", "manifest", "web"]).await,
    );
    assert_eq!(manifest.trim_end(), v2.manifest.trim_end());
    let values = json(&ok(
        "helm get values",
        ns.helm(&["get", "values", "web", "-o", "json"]).await,
    ));
    assert_eq!(values, serde_json::json!({"replicaCount": 3}));

    ok(
        "helm rollback",
        ns.helm(&["rollback", "web", "1", "--wait", "--timeout=60s"])
            .await,
    );
    let history = ok("helm history", ns.helm(&["history", "web"]).await);
    let rows: Vec<&str> = history.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{history}");
    assert!(rows[1].contains("superseded"), "{history}");
    assert!(
        rows[2].contains("deployed") && rows[2].contains("Rollback to 1"),
        "{history}"
    );
    let replicas = ok(
        "kubectl get deploy",
        ns.kubectl(
            &[
                "get",
                "deploy",
                "web-webapp",
                "-o",
                "jsonpath={.spec.replicas}",
            ],
            None,
        )
        .await,
    );
    assert_eq!(replicas, "1");
    // And our plugin reads Helm's revision 3 on top of ours.
    let out = ok(
        "plugin history",
        plugin(&ns, &["history", "web", "--release"]).await,
    );
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(out.contains("Rollback to 1"), "{out}");
}
