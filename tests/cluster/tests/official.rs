//! The official Helm 4.1.4, Helm 3.19.0 and kubectl 1.35.2 binaries against the test cluster:
//! what users do every day must work here as on a real cluster, or the cluster is fiction.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_testcluster::{TestNamespace, ok, shared};
use std::path::{Path, PathBuf};

fn webapp() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/charts/webapp")
        .display()
        .to_string()
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// One field of a live object, by kubectl's jsonpath.
async fn jsonpath(ns: &TestNamespace, object: &str, path: &str) -> String {
    ok(
        "kubectl get",
        ns.kubectl(&["get", object, "-o", &format!("jsonpath={path}")], None)
            .await,
    )
}

async fn release_secrets(ns: &TestNamespace) -> String {
    ok(
        "kubectl get secrets",
        ns.kubectl(
            &[
                "get",
                "secrets",
                "-l",
                "owner=helm",
                "-o",
                "custom-columns=NAME:.metadata.name,STATUS:.metadata.labels.status",
                "--no-headers",
            ],
            None,
        )
        .await,
    )
}

/// install --wait (CRDs, a pre-install hook Job, a Deployment), upgrade --wait, test, rollback
/// and uninstall, with server-side or client-side apply.
async fn lifecycle(ns: &TestNamespace, apply: &str) {
    let chart = webapp();
    let server_side = format!("--server-side={apply}");
    let out = ok(
        "helm install",
        ns.helm(&[
            "install",
            "web",
            &chart,
            "--wait",
            "--timeout=60s",
            &server_side,
        ])
        .await,
    );
    assert!(out.contains("STATUS: deployed"), "{out}");
    // The chart's CRD is Established (Helm waits for that before templates), its hook Job ran
    // to completion and the Deployment rolled out.
    ok(
        "kubectl wait crd",
        ns.kubectl(
            &[
                "wait",
                "--for=condition=Established",
                "crd/widgets.example.com",
                "--timeout=10s",
            ],
            None,
        )
        .await,
    );
    let job = jsonpath(ns, "job/web-webapp-migrate", "{.status.succeeded}").await;
    assert_eq!(job, "1");
    let ready = jsonpath(ns, "deploy/web-webapp", "{.status.readyReplicas}").await;
    assert_eq!(ready, "2");

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
            &server_side,
        ])
        .await,
    );
    let ready = jsonpath(ns, "deploy/web-webapp", "{.status.readyReplicas}").await;
    assert_eq!(ready, "3");

    let out = ok(
        "helm test",
        ns.helm(&["test", "web", "--timeout=30s"]).await,
    );
    assert!(out.contains("Phase:          Succeeded"), "{out}");

    ok(
        "helm rollback",
        ns.helm(&["rollback", "web", "1", "--wait", "--timeout=60s"])
            .await,
    );
    let history = ok("helm history", ns.helm(&["history", "web"]).await);
    let rows: Vec<&str> = history.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{history}");
    assert!(rows[0].contains("superseded") && rows[0].contains("Install complete"));
    assert!(rows[1].contains("superseded") && rows[1].contains("Upgrade complete"));
    assert!(rows[2].contains("deployed") && rows[2].contains("Rollback to 1"));
    let replicas = jsonpath(ns, "deploy/web-webapp", "{.spec.replicas}").await;
    assert_eq!(replicas, "2");
    assert_eq!(
        release_secrets(ns).await,
        "sh.helm.release.v1.web.v1   superseded\nsh.helm.release.v1.web.v2   superseded\nsh.helm.release.v1.web.v3   deployed\n"
    );

    ok(
        "helm uninstall",
        ns.helm(&["uninstall", "web", "--wait", "--timeout=60s"])
            .await,
    );
    assert_eq!(release_secrets(ns).await, "");
    let left = ok(
        "kubectl get",
        ns.kubectl(&["get", "deploy,svc,secret,configmap", "-o", "name"], None)
            .await,
    );
    // Only what Helm never deletes: the namespace's own root CA ConfigMap.
    assert_eq!(left, "configmap/kube-root-ca.crt\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm4_installs_upgrades_tests_rolls_back_and_uninstalls_server_side() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("helm4-ssa").await.unwrap();
    lifecycle(&ns, "true").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm4_installs_upgrades_tests_rolls_back_and_uninstalls_client_side() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("helm4-csa").await.unwrap();
    lifecycle(&ns, "false").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm3_installs_upgrades_and_uninstalls() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("helm3").await.unwrap();
    let chart = webapp();
    ok(
        "helm3 install",
        ns.helm3(&["install", "web", &chart, "--wait", "--timeout=60s"])
            .await,
    );
    ok(
        "helm3 upgrade",
        ns.helm3(&[
            "upgrade",
            "web",
            &chart,
            "--wait",
            "--timeout=60s",
            "--set",
            "replicaCount=1",
        ])
        .await,
    );
    assert_eq!(
        release_secrets(&ns).await,
        "sh.helm.release.v1.web.v1   superseded\nsh.helm.release.v1.web.v2   deployed\n"
    );
    ok("helm3 uninstall", ns.helm3(&["uninstall", "web"]).await);
    assert_eq!(release_secrets(&ns).await, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_job_fails_the_install_as_helm_reports_it() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("hook-fails").await.unwrap();
    let values = ns.kubeconfig.with_extension("fail-hook.yaml");
    std::fs::write(
        &values,
        "hookAnnotations:\n  helmrelease.dev/kwok-fail: \"true\"\n",
    )
    .unwrap();
    let out = ns
        .helm(&[
            "install",
            "bad",
            &webapp(),
            "--wait",
            "--timeout=60s",
            "-f",
            values.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "Error: INSTALLATION FAILED: failed pre-install: resource Job/{}/bad-webapp-migrate \
             not ready. status: Failed, message: Job Failed. failed: 1/1\n",
            ns.name
        )
    );
    let history = ok("helm history", ns.helm(&["history", "bad"]).await);
    assert!(
        history.contains("failed") && history.contains("failed pre-install: resource Job/"),
        "{history}"
    );
    // The Deployment was never applied: the hook failed first.
    let out = ns.kubectl(&["get", "deploy", "bad-webapp"], None).await;
    assert!(!out.ok && out.stderr.contains("NotFound"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_that_never_becomes_ready_times_out_the_wait() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("never-ready").await.unwrap();
    let out = ns
        .helm(&[
            "install",
            "slow",
            &webapp(),
            "--wait",
            "--timeout=3s",
            "--set-string",
            "podAnnotations.helmrelease\\.dev/kwok-fail=true",
        ])
        .await;
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "Error: INSTALLATION FAILED: resource Deployment/{}/slow-webapp not ready. status: InProgress",
            ns.name
        )),
        "{}",
        out.stderr
    );
    let pods = ok(
        "kubectl get pods",
        ns.kubectl(
            &[
                "get",
                "pods",
                "-l",
                "app.kubernetes.io/instance=slow",
                "-o",
                "jsonpath={.items[*].status.containerStatuses[0].state.waiting.reason}",
            ],
            None,
        )
        .await,
    );
    assert_eq!(pods, "CrashLoopBackOff CrashLoopBackOff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_does_everyday_work() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("kubectl").await.unwrap();
    let name = ns.name.clone();
    let own = format!("{name}-own");
    ok(
        "kubectl create ns",
        ns.kubectl(&["create", "ns", &own], None).await,
    );
    ok(
        "kubectl create secret",
        ns.kubectl(
            &[
                "create",
                "secret",
                "generic",
                "creds",
                "--from-literal=password=hunter2",
            ],
            None,
        )
        .await,
    );
    // stringData is merged into data by the server.
    let secret = ok(
        "kubectl apply secret",
        ns.kubectl(
            &["apply", "-f", "-", "-o", "jsonpath={.data}"],
            Some("apiVersion: v1\nkind: Secret\nmetadata:\n  name: merged\nstringData:\n  a: b\n"),
        )
        .await,
    );
    assert_eq!(secret, r#"{"a":"Yg=="}"#);

    // Flux's CRDs, Established.
    let flux = repo("../shared/reference/flux/crds");
    let flux = flux.to_str().unwrap();
    ok(
        "kubectl apply flux crds",
        cluster
            .kubectl(&["apply", "--server-side", "-f", flux], None)
            .await,
    );
    ok(
        "kubectl wait",
        cluster
            .kubectl(
                &[
                    "wait",
                    "--for=condition=Established",
                    "--timeout=30s",
                    "-f",
                    flux,
                ],
                None,
            )
            .await,
    );

    ok(
        "kubectl create deployment",
        ns.kubectl(
            &[
                "create",
                "deployment",
                "web",
                "--image=nginx:1.27",
                "--replicas=2",
            ],
            None,
        )
        .await,
    );
    ok(
        "kubectl rollout status",
        ns.kubectl(
            &["rollout", "status", "deployment/web", "--timeout=30s"],
            None,
        )
        .await,
    );
    let wide = ok(
        "kubectl get -o wide",
        ns.kubectl(&["get", "pods", "-o", "wide"], None).await,
    );
    let header = wide.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("NAME") && header.contains("NODE") && header.contains("IP"),
        "{wide}"
    );
    assert_eq!(wide.matches("kwok-node-0").count(), 2, "{wide}");
    assert_eq!(wide.matches("Running").count(), 2, "{wide}");

    ok(
        "kubectl scale",
        ns.kubectl(&["scale", "deployment/web", "--replicas=4"], None)
            .await,
    );
    ok(
        "kubectl rollout status",
        ns.kubectl(
            &["rollout", "status", "deployment/web", "--timeout=30s"],
            None,
        )
        .await,
    );
    let ready = jsonpath(&ns, "deployment/web", "{.status.readyReplicas}").await;
    assert_eq!(ready, "4");

    // RBAC is on: a ServiceAccount without bindings gets a real 403.
    ok(
        "kubectl create sa",
        ns.kubectl(&["create", "serviceaccount", "nobody"], None)
            .await,
    );
    let out = ns
        .kubectl(
            &[
                "get",
                "secrets",
                &format!("--as=system:serviceaccount:{name}:nobody"),
            ],
            None,
        )
        .await;
    assert!(!out.ok);
    assert_eq!(
        out.stderr,
        format!(
            "Error from server (Forbidden): secrets is forbidden: User \
             \"system:serviceaccount:{name}:nobody\" cannot list resource \"secrets\" in API group \
             \"\" in the namespace \"{name}\"\n"
        )
    );
}
