//! Our actions against the real control plane, interchangeable with official Helm 4.1.4:
//! what we install Helm upgrades, what Helm installs we upgrade and Helm rolls back, what Helm
//! installs we uninstall without a trace; hooks and waits fail as Helm's do.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_action::{Actions, Cancel, Desired, Options};
use helmrelease_testcluster::{TestNamespace, ok, shared};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn webapp() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/charts/webapp")
}

/// The example chart rendered by our engine as release `name` in `namespace`.
fn desired(name: &str, namespace: &str, values: &str, upgrade: bool) -> Desired {
    desired_from(&webapp(), name, namespace, values, upgrade)
}

/// A chart folder rendered by our engine as release `name` in `namespace`.
fn desired_from(
    chart_dir: &Path,
    name: &str,
    namespace: &str,
    values: &str,
    upgrade: bool,
) -> Desired {
    let loaded = helmrelease_helm::chart::load(chart_dir).unwrap();
    let user = helmrelease_helm::values::read_values(values).unwrap();
    let options = helmrelease_helm::render::TemplateOptions {
        release_name: name.into(),
        namespace: namespace.into(),
        is_upgrade: upgrade,
        ..Default::default()
    };
    let rendered = helmrelease_helm::render::render_with_values(loaded, &user, &options).unwrap();
    Desired {
        chart: serde_json::from_value(rendered.chart.clone()).unwrap(),
        config: user.to_json().as_object().cloned().unwrap_or_default(),
        manifest: rendered.manifest.clone(),
        hooks: helmrelease_flux::desired::release_hooks(&rendered.hooks),
        crds: rendered.crds.clone(),
        notes: rendered.notes.clone(),
    }
}

/// `chart` installed as `name` with `values` by official helm in one new namespace and by
/// us in another: (helm's, ours).
async fn side_by_side(
    cluster: &helmrelease_testcluster::Cluster,
    prefix: &str,
    chart: &Path,
    name: &str,
    values: &str,
) -> (TestNamespace, TestNamespace) {
    side_by_side_with(cluster, prefix, chart, name, values, &[], &options()).await
}

/// [`side_by_side`] with more `helm install` flags and our options.
async fn side_by_side_with(
    cluster: &helmrelease_testcluster::Cluster,
    prefix: &str,
    chart: &Path,
    name: &str,
    values: &str,
    helm_flags: &[&str],
    opts: &Options,
) -> (TestNamespace, TestNamespace) {
    let theirs = cluster.namespace(&format!("helm-{prefix}")).await.unwrap();
    let ours = cluster.namespace(&format!("our-{prefix}")).await.unwrap();
    let file = theirs.kubeconfig.with_extension("values.yaml");
    std::fs::write(&file, values).unwrap();
    let install = [
        "install",
        name,
        chart.to_str().unwrap(),
        "--wait",
        "--timeout=60s",
        "-f",
        file.to_str().unwrap(),
    ];
    ok(
        "helm install",
        theirs.helm(&[&install[..], helm_flags].concat()).await,
    );
    actions(&ours)
        .await
        .install(
            name,
            &desired_from(chart, name, &ours.name, values, false),
            opts,
            &Cancel::never(),
        )
        .await
        .unwrap();
    (theirs, ours)
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

fn hooks_chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts/hooks")
}

async fn names(ns: &TestNamespace) -> String {
    ok(
        "kubectl get",
        ns.kubectl(&["get", "jobs,configmaps", "-o", "name"], None)
            .await,
    )
    .replace("configmap/kube-root-ca.crt\n", "")
}

/// The hooks of the newest stored revision: name and phase, in the order they started.
async fn hook_runs(ns: &TestNamespace, name: &str) -> Vec<(String, String)> {
    let storage = helmrelease_action::storage::SecretStorage::new(ns.client.clone(), &ns.name);
    let history = storage.history(name).await.unwrap();
    let latest = &history.last().unwrap().release;
    let mut runs: Vec<(String, String, String)> = latest
        .hooks
        .iter()
        .filter_map(|h| {
            h.last_run.as_ref().map(|r| {
                (
                    r.started_at.clone().unwrap_or_default(),
                    h.name.clone(),
                    r.phase.clone(),
                )
            })
        })
        .collect();
    runs.sort();
    runs.into_iter().map(|(_, n, p)| (n, p)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_pruning_and_keep_match_helm() {
    let Some(cluster) = shared().await else {
        return;
    };
    let chart = hooks_chart();
    let chart_arg = chart.to_str().unwrap();
    let (theirs, ours) = side_by_side(cluster, "hooks", &chart, "h", "").await;
    let a = actions(&ours).await;
    // Weight order, and each delete policy: `first` went once it succeeded.
    let expected_runs = vec![
        ("first".to_string(), "Succeeded".to_string()),
        ("second".to_string(), "Succeeded".to_string()),
        ("after".to_string(), "Succeeded".to_string()),
    ];
    assert_eq!(hook_runs(&theirs, "h").await, expected_runs);
    assert_eq!(hook_runs(&ours, "h").await, expected_runs);
    assert_eq!(names(&ours).await, names(&theirs).await);
    assert_eq!(
        names(&ours).await,
        "job.batch/second\nconfigmap/after\nconfigmap/app\nconfigmap/dropped-one\n"
    );

    // An upgrade prunes what the new revision lacks.
    ok(
        "helm upgrade",
        theirs
            .helm(&[
                "upgrade",
                "h",
                chart_arg,
                "--wait",
                "--timeout=60s",
                "--set",
                "value=two",
            ])
            .await,
    );
    a.upgrade(
        "h",
        &desired_from(&chart, "h", &ours.name, "value: two\n", true),
        &options(),
        &Cancel::never(),
    )
    .await
    .unwrap();
    assert_eq!(names(&ours).await, names(&theirs).await);
    assert!(names(&ours).await.contains("configmap/dropped-two\n"));
    assert!(!names(&ours).await.contains("dropped-one"));

    // Uninstall keeps what asks to be kept, and the hooks without a delete policy for it.
    ok(
        "helm uninstall",
        theirs.helm(&["uninstall", "h", "--wait"]).await,
    );
    a.uninstall("h", false, &options(), &Cancel::never())
        .await
        .unwrap();
    assert_eq!(names(&ours).await, names(&theirs).await);
    assert_eq!(
        names(&ours).await,
        "job.batch/second\nconfigmap/after\nconfigmap/app\n"
    );
}

/// A live object without what differs between two installs: identity, times, managers,
/// status, and the namespace wherever it is written.
fn comparable(mut obj: Value, namespace: &str) -> Value {
    if let Some(meta) = obj["metadata"].as_object_mut() {
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "namespace",
            "generation",
        ] {
            meta.remove(k);
        }
    }
    if let Some(status) = obj.as_object_mut() {
        status.remove("status");
    }
    let text = obj.to_string().replace(namespace, "NS");
    let mut obj: Value = serde_json::from_str(&text).unwrap();
    // Cluster IPs are allocated per Service.
    if let Some(spec) = obj["spec"].as_object_mut() {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
    }
    if let Some(ann) = obj["metadata"]["annotations"].as_object_mut() {
        ann.remove("deployment.kubernetes.io/revision");
    }
    obj
}

/// The live `object` in `ns` as JSON.
async fn live(ns: &TestNamespace, object: &str) -> Value {
    let out = ok(
        "kubectl get",
        ns.kubectl(&["get", object, "-o", "json"], None).await,
    );
    serde_json::from_str(&out).unwrap()
}

/// The webapp's objects in the two namespaces are equal but for what differs between any two
/// installs.
async fn same_live_objects(theirs: &TestNamespace, ours: &TestNamespace) {
    for object in [
        "deployment/web-webapp",
        "service/web-webapp",
        "secret/web-webapp",
        "configmap/web-sub",
    ] {
        assert_eq!(
            comparable(live(ours, object).await, &ours.name),
            comparable(live(theirs, object).await, &theirs.name),
            "{object}"
        );
    }
}

/// Who wrote `object` and how: (manager, operation) of its managed fields, status aside.
async fn managers(ns: &TestNamespace, object: &str) -> Vec<(String, String)> {
    let out = ok(
        "kubectl get",
        ns.kubectl(
            &["get", object, "-o", "json", "--show-managed-fields"],
            None,
        )
        .await,
    );
    let obj: Value = serde_json::from_str(&out).unwrap();
    let mut out: Vec<(String, String)> = obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subresource"].as_str() != Some("status"))
        .map(|f| {
            (
                f["manager"].as_str().unwrap_or_default().to_string(),
                f["operation"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_matches_helm_server_side_false() {
    let Some(cluster) = shared().await else {
        return;
    };
    let csa = Options {
        apply_method: helmrelease_action::ApplyMethod::ClientSide,
        ..options()
    };
    let values = "password: s3cret\npodAnnotations:\n  dropped: \"soon\"\n";
    let (theirs, ours) = side_by_side_with(
        cluster,
        "csa",
        &webapp(),
        "web",
        values,
        &["--server-side=false"],
        &csa,
    )
    .await;
    same_live_objects(&theirs, &ours).await;
    // Created, not applied: an Update by each client's own manager.
    assert_eq!(
        managers(&theirs, "deployment/web-webapp").await,
        vec![("helm".to_string(), "Update".to_string())]
    );
    assert_eq!(
        managers(&ours, "deployment/web-webapp").await,
        vec![("helm-controller".to_string(), "Update".to_string())]
    );
    let stored = |ns: &TestNamespace| {
        let ns = ns.clone();
        async move {
            let storage =
                helmrelease_action::storage::SecretStorage::new(ns.client.clone(), &ns.name);
            let history = storage.history("web").await.unwrap();
            comparable_release(&history.last().unwrap().release, &ns.name)
        }
    };
    assert_eq!(stored(&ours).await["apply_method"], "csa");
    assert_eq!(stored(&ours).await, stored(&theirs).await);

    // Someone else changes the Deployment; an upgrade (auto: client-side, as recorded) drops
    // the annotation the previous revision set, sets its replicas back, keeps the other's.
    for ns in [&theirs, &ours] {
        ok(
            "kubectl annotate",
            ns.kubectl(
                &["annotate", "deployment/web-webapp", "someone/else=kept"],
                None,
            )
            .await,
        );
        ok(
            "kubectl scale",
            ns.kubectl(&["scale", "deployment/web-webapp", "--replicas=1"], None)
                .await,
        );
    }
    let file = theirs.kubeconfig.with_extension("upgrade.yaml");
    std::fs::write(&file, "password: s3cret\n").unwrap();
    ok(
        "helm upgrade",
        theirs
            .helm(&[
                "upgrade",
                "web",
                webapp().to_str().unwrap(),
                "--wait",
                "--timeout=60s",
                "-f",
                file.to_str().unwrap(),
            ])
            .await,
    );
    actions(&ours)
        .await
        .upgrade(
            "web",
            &desired("web", &ours.name, "password: s3cret\n", true),
            &options(),
            &Cancel::never(),
        )
        .await
        .unwrap();
    same_live_objects(&theirs, &ours).await;
    let deploy = live(&ours, "deployment/web-webapp").await;
    assert_eq!(
        deploy["spec"]["template"]["metadata"]["annotations"]["dropped"],
        Value::Null
    );
    assert_eq!(deploy["metadata"]["annotations"]["someone/else"], "kept");
    assert_eq!(deploy["spec"]["replicas"], 2);
    assert_eq!(stored(&ours).await, stored(&theirs).await);
    assert_eq!(stored(&ours).await["apply_method"], "csa");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_namespace_matches_helm() {
    let Some(cluster) = shared().await else {
        return;
    };
    let home = cluster.namespace("nshome").await.unwrap();
    let theirs = format!("{}-helm", home.name);
    let ours = format!("{}-ours", home.name);
    let chart = deps_chart();
    // Official helm in another namespace than the harness's.
    let helm = |namespace: &str, args: &[&str]| {
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        args.extend(["--namespace".to_string(), namespace.to_string()]);
        helmrelease_testcluster::run_async(
            helmrelease_testcluster::helm4(),
            home.kubeconfig.clone(),
            args,
            None,
        )
    };
    let namespace_of = |name: String| {
        let home = home.clone();
        async move {
            let mut ns = live(&home, &format!("namespace/{name}")).await;
            let labels = ns["metadata"]["labels"].take();
            let annotations = ns["metadata"]["annotations"].take();
            (
                labels.to_string().replace(&name, "NS"),
                annotations,
                managers(&home, &format!("namespace/{name}"))
                    .await
                    .into_iter()
                    .map(|(_, op)| op)
                    .collect::<Vec<_>>(),
            )
        }
    };
    let ours_with = |namespace: &str, name: &'static str, apply_method| {
        let a = Actions::new(home.client.clone(), namespace, "helm-controller");
        let wanted = desired_from(&chart, name, namespace, "", false);
        let opts = Options {
            create_namespace: true,
            apply_method,
            ..options()
        };
        async move { a.install(name, &wanted, &opts, &Cancel::never()).await }
    };
    use helmrelease_action::ApplyMethod::{ClientSide, ServerSide};
    // Server-side (the default) and client-side, each into a namespace that does not exist.
    let install = [
        "install",
        chart.to_str().unwrap(),
        "--create-namespace",
        "--wait",
        "--timeout=60s",
    ];
    for (suffix, server_side, method) in [("s", "true", ServerSide), ("c", "false", ClientSide)] {
        let (theirs, ours) = (format!("{theirs}{suffix}"), format!("{ours}{suffix}"));
        let flag = format!("--server-side={server_side}");
        let install = |name| [&["install", name][..], &install[1..], &[flag.as_str()]].concat();
        ok(
            "helm install --create-namespace",
            helm(&theirs, &install("h")).await,
        );
        ours_with(&ours, "h", method).await.unwrap();
        assert_eq!(
            namespace_of(ours.clone()).await,
            namespace_of(theirs.clone()).await,
            "{suffix}"
        );
        // Another release into the namespace, which exists now: fine, with either method.
        ok("helm install again", helm(&theirs, &install("h2")).await);
        ours_with(&ours, "h2", method).await.unwrap();
        assert_eq!(
            namespace_of(ours.clone()).await,
            namespace_of(theirs.clone()).await,
            "{suffix} again"
        );
        assert_eq!(
            namespace_of(ours.clone()).await.0,
            r#"{"kubernetes.io/metadata.name":"NS","name":"NS"}"#
        );
        for ns in [&theirs, &ours] {
            ok(
                "kubectl delete namespace",
                home.kubectl(&["delete", "namespace", ns, "--wait=false"], None)
                    .await,
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_objects_equal_those_of_helm_install() {
    let Some(cluster) = shared().await else {
        return;
    };
    let (theirs, ours) =
        side_by_side(cluster, "same", &webapp(), "web", "password: s3cret\n").await;
    for object in [
        "deployment/web-webapp",
        "service/web-webapp",
        "secret/web-webapp",
        "configmap/web-sub",
    ] {
        let get = |ns: &TestNamespace| {
            let ns = ns.clone();
            async move {
                let out = ok(
                    "kubectl get",
                    ns.kubectl(&["get", object, "-o", "json"], None).await,
                );
                comparable(serde_json::from_str(&out).unwrap(), &ns.name)
            }
        };
        assert_eq!(get(&ours).await, get(&theirs).await, "{object}");
    }
}

/// Run by `a_kill_during_an_upgrade_leaves_a_lock_the_next_run_unlocks` in a process of its
/// own, which it then kills: an upgrade whose Deployment never becomes ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the crash test in a child process"]
async fn crash_child_upgrades_until_killed() {
    let (Ok(kubeconfig), Ok(namespace)) = (
        std::env::var("CRASH_CHILD_KUBECONFIG"),
        std::env::var("CRASH_CHILD_NAMESPACE"),
    ) else {
        return;
    };
    let yaml = std::fs::read_to_string(kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&yaml).unwrap(),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let a = Actions::new(client, &namespace, "helm-controller");
    let mut opts = options();
    opts.lock_holder = "controller-0".into();
    let values = "podAnnotations:\n  helmrelease.dev/kwok-fail: \"true\"\n";
    let _ = a
        .upgrade(
            "web",
            &desired("web", &namespace, values, true),
            &opts,
            &Cancel::never(),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_an_upgrade_leaves_a_lock_the_next_run_unlocks() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("crash").await.unwrap();
    let a = actions(&ns).await;
    a.install(
        "web",
        &desired("web", &ns.name, "", false),
        &options(),
        &Cancel::never(),
    )
    .await
    .unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_upgrades_until_killed",
            "--ignored",
            "--nocapture",
        ])
        .env("CRASH_CHILD_KUBECONFIG", &ns.kubeconfig)
        .env("CRASH_CHILD_NAMESPACE", &ns.name)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Until the upgrade is stored pending and waiting on its Deployment.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let h = history(&ns, "web").await;
        if h.len() == 2 && h[1].1 == "pending-upgrade" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the child never got to pending-upgrade: {h:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    child.kill().unwrap(); // SIGKILL: no cleanup of any kind.
    child.wait().unwrap();

    // The crash left the release pending, locked by the dead controller.
    let storage = helmrelease_action::storage::SecretStorage::new(ns.client.clone(), &ns.name);
    let lock = storage
        .lock_of("web", 2)
        .await
        .unwrap()
        .expect("a lock record");
    assert_eq!(lock.holder, "controller-0");
    assert!(matches!(
        a.upgrade(
            "web",
            &desired("web", &ns.name, "", true),
            &options(),
            &Cancel::never()
        )
        .await,
        Err(helmrelease_action::Error::Pending)
    ));
    // Another controller may not take a live lock; the restarted holder may.
    assert!(!a.unlock("web", "controller-1").await.unwrap());
    assert!(a.unlock("web", "controller-0").await.unwrap());
    let h = history(&ns, "web").await;
    assert_eq!(h[1].1, "failed", "{h:?}");
    assert_eq!(
        h[1].2,
        "Release unlocked from stale 'pending-upgrade' state"
    );
    // And the next upgrade completes.
    let done = a
        .upgrade(
            "web",
            &desired("web", &ns.name, "replicaCount: 1\n", true),
            &options(),
            &Cancel::never(),
        )
        .await
        .unwrap();
    assert_eq!(done.version, 3);
    let h = history(&ns, "web").await;
    assert_eq!(h[2], (3, "deployed".into(), "Upgrade complete".into()));
    assert_eq!(replicas(&ns, "web-webapp").await, "1/1");
}

/// A stored release as JSON without what differs between two installs: times, the
/// namespace, and Helm 4's file modification times (the chart loader does not keep them).
fn comparable_release(release: &helmrelease_release::Release, namespace: &str) -> Value {
    let json = helmrelease_release::codec::release_json(release).unwrap();
    let text = String::from_utf8(json).unwrap().replace(namespace, "NS");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    for key in ["first_deployed", "last_deployed", "deleted"] {
        if let Some(info) = v["info"].as_object_mut() {
            info.remove(key);
        }
    }
    if let Some(hooks) = v["hooks"].as_array_mut() {
        for h in hooks {
            if let Some(run) = h["last_run"].as_object_mut() {
                run.remove("started_at");
                run.remove("completed_at");
            }
        }
    }
    fn strip_modtimes(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("modtime");
                m.remove("schemamodtime");
                m.values_mut().for_each(strip_modtimes);
            }
            Value::Array(a) => a.iter_mut().for_each(strip_modtimes),
            _ => {}
        }
    }
    strip_modtimes(&mut v["chart"]);
    v
}

fn deps_chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts/deps")
}

/// The release `chart_dir` with `values` makes, installed by helm and by us: decoded, the two
/// release Secrets hold the same JSON apart from times and the namespace. The stored chart is
/// the processed one: subcharts enabled or dropped by condition and tags, values imported and
/// coalesced with the subcharts' (`global` included), the lock as Helm reads it.
async fn same_release_json(prefix: &str, chart_dir: &Path, values: &str) {
    let Some(cluster) = shared().await else {
        return;
    };
    let (theirs, ours) = side_by_side(cluster, prefix, chart_dir, "web", values).await;
    let read = |ns: &TestNamespace| {
        let ns = ns.clone();
        async move {
            let storage =
                helmrelease_action::storage::SecretStorage::new(ns.client.clone(), &ns.name);
            let history = storage.history("web").await.unwrap();
            comparable_release(&history.last().unwrap().release, &ns.name)
        }
    };
    let (ours_json, theirs_json) = (read(&ours).await, read(&theirs).await);
    for key in ["metadata", "lock", "templates", "values", "schema", "files"] {
        assert_eq!(
            ours_json["chart"][key], theirs_json["chart"][key],
            "{prefix}: chart field {key}"
        );
    }
    for key in [
        "name",
        "info",
        "config",
        "manifest",
        "hooks",
        "version",
        "namespace",
        "apply_method",
        "chart",
    ] {
        assert_eq!(
            ours_json[key], theirs_json[key],
            "{prefix}: release field {key}"
        );
    }
    assert_eq!(ours_json, theirs_json, "{prefix}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_release_secret_decodes_to_helms_json() {
    same_release_json("json", &webapp(), "replicaCount: 1\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_chart_is_the_processed_one_as_helm_stores_it() {
    // The subchart off by its condition: gone from the stored metadata.
    same_release_json("json-off", &webapp(), "sub:\n  enabled: false\n").await;
    // Condition, tags, an alias, import-values (both forms) and a Chart.lock.
    same_release_json("json-deps", &deps_chart(), "").await;
    same_release_json(
        "json-tags",
        &deps_chart(),
        "tags:\n  extras: false\nsub:\n  enabled: false\n",
    )
    .await;
}

/// `deletion_propagation: Orphan` leaves what the release's objects own (a Deployment's
/// ReplicaSet), as `helm uninstall --cascade=orphan` does; the default lets the garbage
/// collector remove it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_propagation_orphan_keeps_dependents() {
    let Some(cluster) = shared().await else {
        return;
    };
    for (propagation, kept) in [
        (kube::api::PropagationPolicy::Orphan, true),
        (kube::api::PropagationPolicy::Background, false),
    ] {
        let ns = cluster.namespace("our-orphan").await.unwrap();
        let a = actions(&ns).await;
        a.install(
            "web",
            &desired("web", &ns.name, "password: x\n", false),
            &options(),
            &Cancel::never(),
        )
        .await
        .unwrap();
        let opts = Options {
            deletion_propagation: propagation.clone(),
            ..options()
        };
        a.uninstall("web", false, &opts, &Cancel::never())
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let rs = ok(
                "kubectl get rs",
                ns.kubectl(&["get", "rs", "-o", "name"], None).await,
            );
            if kept {
                // Give the garbage collector time to (wrongly) act, then check it did not.
                tokio::time::sleep(Duration::from_secs(3)).await;
                let rs = ok(
                    "kubectl get rs",
                    ns.kubectl(&["get", "rs", "-o", "name"], None).await,
                );
                assert!(!rs.trim().is_empty(), "{propagation:?}: ReplicaSet deleted");
                break;
            }
            if rs.trim().is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{propagation:?}: ReplicaSet kept: {rs}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

/// A test filter runs only the test hooks it lets through, as `helm test --filter`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_filters_choose_the_test_hooks() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("our-test-filter").await.unwrap();
    let a = actions(&ns).await;
    a.install(
        "web",
        &desired("web", &ns.name, "password: x\n", false),
        &options(),
        &Cancel::never(),
    )
    .await
    .unwrap();
    let excluded = Options {
        test_filter: helmrelease_action::TestFilter {
            include: vec![],
            exclude: vec!["web-webapp-test".into()],
        },
        ..options()
    };
    let tested = a.test("web", &excluded, &Cancel::never()).await.unwrap();
    let ran = |r: &helmrelease_release::Release| {
        r.hooks
            .iter()
            .filter(|h| h.events.iter().any(|e| e == "test"))
            .filter(|h| h.last_run.as_ref().is_some_and(|l| !l.phase.is_empty()))
            .count()
    };
    assert_eq!(ran(&tested), 0, "the excluded test ran");
    let pods = ok(
        "kubectl get",
        ns.kubectl(&["get", "pods", "-o", "name"], None).await,
    );
    assert!(!pods.contains("web-webapp-test"), "{pods}");
    let tested = a.test("web", &options(), &Cancel::never()).await.unwrap();
    assert_eq!(ran(&tested), 1);
}
