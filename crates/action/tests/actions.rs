//! Our actions against the real control plane, interchangeable with official Helm 4.1.4:
//! what we install Helm upgrades, what Helm installs we upgrade and Helm rolls back, what Helm
//! installs we uninstall without a trace; hooks and waits fail as Helm's do.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use base64::Engine;
use helmrelease_action::{Actions, Cancel, Desired, Options};
use helmrelease_release::model::{self, Chart, Hook};
use helmrelease_testcluster::{Output, TestNamespace, shared};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn webapp() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/charts/webapp")
}

#[track_caller]
fn ok(what: &str, out: Output) -> String {
    assert!(
        out.ok,
        "{what} failed ({:?}):\n{}\n{}",
        out.code, out.stdout, out.stderr
    );
    out.stdout
}

fn b64(data: &[u8]) -> Option<String> {
    Some(base64::engine::general_purpose::STANDARD.encode(data))
}

/// The chart as Helm stores it in a release: metadata, templates, values, schema and files.
fn stored_chart(chart: &helmrelease_helm::chart::Chart) -> Chart {
    let file = |f: &helmrelease_helm::chart::File| model::File {
        name: f.name.clone(),
        data: b64(&f.data),
        ..model::File::default()
    };
    Chart {
        metadata: serde_json::from_value(chart.metadata.to_value().to_json()).ok(),
        templates: Some(chart.templates.iter().map(file).collect()),
        values: chart.values.to_json().as_object().cloned(),
        schema: chart.schema.as_deref().and_then(b64),
        files: Some(chart.files.iter().map(file).collect()),
        ..Chart::default()
    }
}

/// The example chart rendered by our engine as release `name` in `namespace`.
fn desired(name: &str, namespace: &str, values: &str, upgrade: bool) -> Desired {
    let loaded = helmrelease_helm::chart::load(webapp()).unwrap();
    let chart = stored_chart(&loaded);
    let user = helmrelease_helm::values::read_values(values).unwrap();
    let options = helmrelease_helm::render::TemplateOptions {
        release_name: name.into(),
        namespace: namespace.into(),
        is_upgrade: upgrade,
        ..Default::default()
    };
    let rendered = helmrelease_helm::render::render_with_values(loaded, &user, &options).unwrap();
    Desired {
        chart,
        config: user.to_json().as_object().cloned().unwrap_or_default(),
        manifest: rendered.manifest.clone(),
        hooks: rendered
            .hooks
            .iter()
            .map(|h| Hook {
                name: h.name.clone(),
                kind: h.kind.clone(),
                path: h.path.clone(),
                manifest: h.manifest.clone(),
                events: h.events.clone(),
                weight: h.weight,
                delete_policies: h.delete_policies.clone(),
                ..Hook::default()
            })
            .collect(),
        crds: rendered.crds.clone(),
        notes: rendered.notes.clone(),
    }
}

fn options() -> Options {
    Options {
        timeout: Duration::from_secs(60),
        ..Options::default()
    }
}

async fn actions(ns: &TestNamespace) -> Actions {
    Actions::new(ns.client.clone(), &ns.name, "helm-controller")
}

async fn history(ns: &TestNamespace, name: &str) -> Vec<(i64, String, String)> {
    let out = ok(
        "helm history",
        ns.helm(&["history", name, "-o", "json"]).await,
    );
    let rows: Value = serde_json::from_str(&out).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
                r["description"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn replicas(ns: &TestNamespace, deploy: &str) -> String {
    ok(
        "kubectl get deploy",
        ns.kubectl(
            &[
                "get",
                "deploy",
                deploy,
                "-o",
                "jsonpath={.spec.replicas}/{.status.readyReplicas}",
            ],
            None,
        )
        .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_install_then_helm_upgrade() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("our-install").await.unwrap();
    let a = actions(&ns).await;
    let release = a
        .install(
            "web",
            &desired("web", &ns.name, "replicaCount: 1\n", false),
            &options(),
            &Cancel::never(),
        )
        .await
        .unwrap();
    assert_eq!(release.version, 1);
    assert_eq!(replicas(&ns, "web-webapp").await, "1/1");
    // The pre-install hook ran and completed.
    let job = ok(
        "kubectl get job",
        ns.kubectl(
            &[
                "get",
                "job",
                "web-webapp-migrate",
                "-o",
                "jsonpath={.status.succeeded}",
            ],
            None,
        )
        .await,
    );
    assert_eq!(job, "1");
    assert_eq!(
        history(&ns, "web").await,
        vec![(1, "deployed".into(), "Install complete".into())]
    );
    // Helm's CLI applies as field manager "helm"; ours is Flux's, "helm-controller", which owns
    // the fields now. As after Flux, a plain `helm upgrade` meets the conflict, and
    // `--force-conflicts` takes the fields over.
    let chart = webapp();
    let chart = chart.to_str().unwrap();
    let upgrade = [
        "upgrade",
        "web",
        chart,
        "--wait",
        "--timeout=60s",
        "--set",
        "replicaCount=3",
    ];
    let out = ns.helm(&upgrade).await;
    assert!(
        !out.ok
            && out.stderr.contains(
                "Apply failed with 1 conflict: conflict with \"helm-controller\": .spec.replicas"
            ),
        "{}",
        out.stderr
    );
    ok(
        "helm upgrade --force-conflicts",
        ns.helm(&[&upgrade[..], &["--force-conflicts"]].concat())
            .await,
    );
    let h = history(&ns, "web").await;
    assert_eq!(h.len(), 3, "{h:?}");
    assert_eq!(h[0], (1, "superseded".into(), "Install complete".into()));
    assert_eq!(h[1].1, "failed");
    assert_eq!(h[2], (3, "deployed".into(), "Upgrade complete".into()));
    assert_eq!(replicas(&ns, "web-webapp").await, "3/3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_then_our_upgrade_then_helm_rollback() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("helm-install").await.unwrap();
    ok(
        "helm install",
        ns.helm(&[
            "install",
            "web",
            webapp().to_str().unwrap(),
            "--wait",
            "--timeout=60s",
        ])
        .await,
    );
    let a = actions(&ns).await;
    let upgraded = a
        .upgrade(
            "web",
            &desired("web", &ns.name, "replicaCount: 4\n", true),
            &options(),
            &Cancel::never(),
        )
        .await
        .unwrap();
    assert_eq!(upgraded.version, 2);
    assert_eq!(replicas(&ns, "web-webapp").await, "4/4");
    // Our upgrade owns .spec.replicas as helm-controller, so Helm's rollback forces it back.
    ok(
        "helm rollback",
        ns.helm(&[
            "rollback",
            "web",
            "1",
            "--wait",
            "--timeout=60s",
            "--force-conflicts",
        ])
        .await,
    );
    assert_eq!(
        history(&ns, "web").await,
        vec![
            (1, "superseded".into(), "Install complete".into()),
            (2, "superseded".into(), "Upgrade complete".into()),
            (3, "deployed".into(), "Rollback to 1".into())
        ]
    );
    assert_eq!(replicas(&ns, "web-webapp").await, "2/2");
    // And we roll back too: to revision 2.
    let back = a
        .rollback("web", Some(2), &options(), &Cancel::never())
        .await
        .unwrap();
    assert_eq!(back.version, 4);
    assert_eq!(replicas(&ns, "web-webapp").await, "4/4");
    let h = history(&ns, "web").await;
    assert_eq!(h[3], (4, "deployed".into(), "Rollback to 2".into()));
    assert_eq!(h[2].1, "superseded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_then_our_uninstall_leaves_nothing() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("our-uninstall").await.unwrap();
    ok(
        "helm install",
        ns.helm(&[
            "install",
            "web",
            webapp().to_str().unwrap(),
            "--wait",
            "--timeout=60s",
            "--set",
            "password=x",
        ])
        .await,
    );
    let a = actions(&ns).await;
    a.uninstall("web", false, &options(), &Cancel::never())
        .await
        .unwrap();
    let left = ok(
        "kubectl get",
        ns.kubectl(&["get", "deploy,svc,secret,configmap", "-o", "name"], None)
            .await,
    );
    // Only the namespace's root CA (the hook's Job stays, as with Helm: it has no delete policy).
    assert_eq!(left, "configmap/kube-root-ca.crt\n");
    let out = ns.helm(&["history", "web"]).await;
    assert!(
        !out.ok && out.stderr.contains("release: not found"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_fails_the_install_as_helm_does() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("our-hook-fails").await.unwrap();
    let a = actions(&ns).await;
    let values = "hookAnnotations:\n  helmrelease.dev/kwok-fail: \"true\"\n";
    let err = a
        .install(
            "bad",
            &desired("bad", &ns.name, values, false),
            &options(),
            &Cancel::never(),
        )
        .await
        .unwrap_err();
    let want = format!(
        "failed pre-install: resource Job/{}/bad-webapp-migrate not ready. status: Failed, message: Job Failed. failed: 1/1",
        ns.name
    );
    assert_eq!(err.to_string(), want);
    assert_eq!(
        history(&ns, "bad").await,
        vec![(
            1,
            "failed".into(),
            format!("Release \"bad\" failed: {want}")
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_that_never_becomes_ready_times_out_naming_it() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("our-timeout").await.unwrap();
    let a = actions(&ns).await;
    let values = "podAnnotations:\n  helmrelease.dev/kwok-fail: \"true\"\n";
    let mut opts = options();
    opts.timeout = Duration::from_secs(3);
    let err = a
        .install(
            "slow",
            &desired("slow", &ns.name, values, false),
            &opts,
            &Cancel::never(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "resource Deployment/{}/slow-webapp not ready. status: InProgress, message: Available: 0/2\ncontext deadline exceeded",
            ns.name
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_wait_stops_at_once() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("our-cancel").await.unwrap();
    let a = actions(&ns).await;
    let values = "podAnnotations:\n  helmrelease.dev/kwok-fail: \"true\"\n";
    let (canceller, cancel) = Cancel::new();
    let started = Instant::now();
    let wanted = desired("stuck", &ns.name, values, false);
    let opts = options();
    let run = a.install("stuck", &wanted, &opts, &cancel);
    let stop = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        canceller.cancel();
    };
    let (result, ()) = tokio::join!(run, stop);
    let err = result.unwrap_err();
    assert!(err.to_string().starts_with("cancelled: "), "{err}");
    // Well inside the 60 s timeout.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}
