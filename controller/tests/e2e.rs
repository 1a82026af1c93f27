//! The controller binary against the real control plane, checked with official helm and
//! kubectl: install, upgrades from values, a watched valuesFrom ConfigMap and a chart bump,
//! drift correction, a failing upgrade rolled back and stalled then reset, suspend,
//! dependsOn, deletion, and a kill -9 in the middle of an upgrade.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_testcluster::{TestNamespace, charts, ok, shared};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The example chart at `version`, as an archive.
fn chart(work: &Path, version: &str) -> Vec<u8> {
    named_chart(work, "webapp", version)
}

/// The example chart as `name` at `version`.
fn named_chart(work: &Path, name: &str, version: &str) -> Vec<u8> {
    let dir = work.join(format!("{name}-{version}"));
    charts::copy_dir(&root().join("examples/charts/webapp"), &dir).unwrap();
    let meta = std::fs::read_to_string(dir.join("Chart.yaml")).unwrap();
    let meta = meta
        .replace("version: 1.2.3", &format!("version: {version}"))
        .replace("name: webapp", &format!("name: {name}"));
    std::fs::write(dir.join("Chart.yaml"), meta).unwrap();
    // `lookup` sees the cluster, as under helm-controller.
    std::fs::write(
        dir.join("templates/lookup.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-lookup\ndata:\n  namespace: {{ dig \"metadata\" \"name\" \"none\" (lookup \"v1\" \"Namespace\" \"\" .Release.Namespace) | quote }}\n  repositories: {{ dig \"items\" (list) (lookup \"source.toolkit.fluxcd.io/v1\" \"HelmRepository\" .Release.Namespace \"\") | len | quote }}\n",
    )
    .unwrap();
    charts::tgz(name, &dir).unwrap()
}

struct Controller(Child);

/// SIGKILL, no chance to clean up.
fn unsafe_kill9(c: &mut Controller) {
    let _ = c.0.kill();
    let _ = c.0.wait();
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(ns: &TestNamespace, log: &Path) -> Controller {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_helmrelease-controller"))
        .args([
            "--kubeconfig",
            &ns.kubeconfig.display().to_string(),
            "--namespace",
            &ns.name,
            "--watch-all-namespaces=false",
            "--metrics-addr",
            "",
            "--health-addr",
            "",
            "--log-encoding",
            "console",
            "--interval-jitter-percentage",
            "0",
            "--requeue-dependency",
            "2s",
            "--storage-addr",
            "127.0.0.1:0",
            "--storage-path",
            &std::env::temp_dir()
                .join(format!("helmrelease-e2e-{}", ns.name))
                .display()
                .to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Controller(child)
}

async fn get(ns: &TestNamespace, what: &str, path: &str) -> String {
    let out = ns
        .kubectl(&["get", what, "-o", &format!("jsonpath={path}")], None)
        .await;
    out.stdout
}

/// Polls until `check` holds on `what`'s jsonpath, or panics with the last value and the log.
async fn wait_for(
    ns: &TestNamespace,
    what: &str,
    path: &str,
    log: &Path,
    check: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let value = get(ns, what, path).await;
        if check(&value) {
            return value;
        }
        if Instant::now() > deadline {
            let status = get(ns, what, "{.status}").await;
            panic!(
                "{what} {path}: last {value:?}\nstatus: {status}\ncontroller log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Sets annotations on hr/web (reconcile requests).
async fn annotate(ns: &TestNamespace, pairs: &[&str]) {
    let mut args = vec!["annotate", "--overwrite", "hr/web"];
    args.extend_from_slice(pairs);
    ok("kubectl annotate", ns.kubectl(&args, None).await);
}

async fn apply(ns: &TestNamespace, yaml: &str) {
    ok(
        "kubectl apply",
        ns.kubectl(&["apply", "-f", "-"], Some(yaml)).await,
    );
}

fn helmrelease(ns: &str, version: &str, extra: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  interval: 1m\n  timeout: 20s\n  chart:\n    spec:\n      chart: webapp\n      version: \"{version}\"\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  valuesFrom:\n  - kind: ConfigMap\n    name: web-values\n{extra}"
    )
}

async fn helm_history(ns: &TestNamespace) -> Vec<(i64, String, String)> {
    let out = ok(
        "helm history",
        ns.helm(&["history", "web", "-o", "json"]).await,
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    rows.iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
                r["chart"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `kubectl helmrelease ARGS -o json` through the plugin's library, in the namespace.
async fn plugin(ns: &TestNamespace, args: &[&str]) -> serde_json::Value {
    use clap::Parser;
    let mut argv: Vec<String> = vec!["kubectl-helmrelease".into()];
    argv.extend(args.iter().map(|a| a.to_string()));
    argv.extend([
        "-n".into(),
        ns.name.clone(),
        "--kubeconfig".into(),
        ns.kubeconfig.display().to_string(),
        "-o".into(),
        "json".into(),
    ]);
    // The plugin runs its own runtime, so off this one.
    let outcome = tokio::task::spawn_blocking(move || {
        let cli = kubectl_helmrelease::cli::Cli::try_parse_from(&argv).unwrap();
        kubectl_helmrelease::run(&cli)
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("kubectl helmrelease {args:?}: {e}"));
    serde_json::from_str(&outcome.stdout)
        .unwrap_or_else(|e| panic!("kubectl helmrelease {args:?}: {e}: {}", outcome.stdout))
}

fn ready_true(v: &str) -> bool {
    v == "True"
}

const READY: &str = "{.status.conditions[?(@.type==\"Ready\")].status}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciles_helmreleases_end_to_end() {
    let Some(cluster) = shared().await else {
        return;
    };
    cluster
        .install_crds(&[&root().join("../shared/reference/flux/crds")])
        .await;
    let ns = cluster.namespace("ctl").await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let url = charts::repository(&[
        ("webapp", "1.0.0", "2.0", chart(work.path(), "1.0.0")),
        ("webapp", "1.1.0", "2.0", chart(work.path(), "1.1.0")),
        (
            "webapp2",
            "1.0.0",
            "2.0",
            named_chart(work.path(), "webapp2", "1.0.0"),
        ),
    ])
    .unwrap();
    let log = work.path().join("controller.log");
    let mut controller = start(&ns, &log);
    let n = ns.name.as_str();
    apply(
        &ns,
        &format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: {n}\nspec:\n  interval: 1h\n  url: {url}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-values\n  namespace: {n}\n  labels:\n    reconcile.fluxcd.io/watch: Enabled\ndata:\n  values.yaml: |\n    labels:\n      team: blue\n"
        ),
    )
    .await;

    // Install: Ready, and official helm sees revision 1 deployed.
    apply(
        &ns,
        &helmrelease(n, "1.0.0", "  values:\n    replicaCount: 1\n"),
    )
    .await;
    wait_for(&ns, "hr/web", READY, &log, ready_true).await;
    assert_eq!(
        helm_history(&ns).await,
        [(1, "deployed".into(), "webapp-1.0.0".into())]
    );
    let reason = get(
        &ns,
        "hr/web",
        "{.status.conditions[?(@.type==\"Ready\")].reason}",
    )
    .await;
    assert_eq!(reason, "InstallSucceeded");
    let message = get(
        &ns,
        "hr/web",
        "{.status.conditions[?(@.type==\"Ready\")].message}",
    )
    .await;
    assert_eq!(
        message,
        format!("Helm install succeeded for release {n}/web.v1 with chart webapp@1.0.0")
    );
    // The HelmChart Flux generates exists, owned, and says its chart was pulled.
    let chart = format!("helmchart/{n}-web");
    assert_eq!(get(&ns, &chart, "{.spec.chart}").await, "webapp");
    assert_eq!(
        get(
            &ns,
            &chart,
            "{.metadata.labels.helm\\.toolkit\\.fluxcd\\.io/name}"
        )
        .await,
        "web"
    );
    assert_eq!(
        get(&ns, "hr/web", "{.status.helmChart}").await,
        format!("{n}/{n}-web")
    );
    wait_for(
        &ns,
        &chart,
        "{.status.conditions[?(@.type==\"Ready\")].message}",
        &log,
        |v| v == "pulled 'webapp' chart with version '1.0.0'",
    )
    .await;
    assert_eq!(get(&ns, "cm/web-lookup", "{.data.namespace}").await, n);
    assert_eq!(get(&ns, "cm/web-lookup", "{.data.repositories}").await, "1");
    // The event says it, annotated as Flux annotates it.
    let event = ok(
        "kubectl get events",
        ns.kubectl(
            &[
                "get",
                "events",
                "--field-selector",
                "reason=InstallSucceeded",
                "-o",
                "json",
            ],
            None,
        )
        .await,
    );
    let event: serde_json::Value = serde_json::from_str(&event).unwrap();
    let event = &event["items"][0];
    assert_eq!(event["type"], "Normal", "{event}");
    assert_eq!(event["source"]["component"], "helm-controller", "{event}");
    let annotations = &event["metadata"]["annotations"];
    assert_eq!(
        annotations["helm.toolkit.fluxcd.io/revision"], "1.0.0",
        "{event}"
    );
    assert_eq!(
        annotations["helm.toolkit.fluxcd.io/app-version"], "2.0",
        "{event}"
    );
    let token = get(&ns, "hr/web", "{.status.history[0].configDigest}").await;
    assert_eq!(
        annotations["helm.toolkit.fluxcd.io/token"],
        token.as_str(),
        "{event}"
    );
    let deployed = get(&ns, "hr/web", "{.status.history[0].status}").await;
    assert_eq!(deployed, "deployed");
    let labels = get(&ns, "deploy/web-webapp", "{.metadata.labels}").await;
    assert!(
        labels.contains("\"helm.toolkit.fluxcd.io/name\":\"web\""),
        "{labels}"
    );

    // A values change upgrades to revision 2.
    apply(
        &ns,
        &helmrelease(n, "1.0.0", "  values:\n    replicaCount: 2\n"),
    )
    .await;
    wait_for(&ns, "hr/web", "{.status.history[0].version}", &log, |v| {
        v == "2"
    })
    .await;
    wait_for(&ns, "hr/web", READY, &log, ready_true).await;
    assert_eq!(get(&ns, "deploy/web-webapp", "{.spec.replicas}").await, "2");

    // The watched ConfigMap changes: an upgrade follows within seconds.
    let started = Instant::now();
    apply(
        &ns,
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-values\n  namespace: {n}\n  labels:\n    reconcile.fluxcd.io/watch: Enabled\ndata:\n  values.yaml: |\n    labels:\n      team: green\n"
        ),
    )
    .await;
    wait_for(&ns, "hr/web", "{.status.history[0].version}", &log, |v| {
        v == "3"
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    // A chart bump upgrades to the new version.
    apply(
        &ns,
        &helmrelease(n, "1.1.0", "  values:\n    replicaCount: 2\n"),
    )
    .await;
    wait_for(
        &ns,
        "hr/web",
        "{.status.history[0].chartVersion}",
        &log,
        |v| v == "1.1.0",
    )
    .await;
    wait_for(&ns, "hr/web", READY, &log, ready_true).await;
    let history = helm_history(&ns).await;
    assert_eq!(
        history.last().unwrap(),
        &(4, "deployed".into(), "webapp-1.1.0".into())
    );

    // The plugin agrees with the controller and with helm.
    let listed = plugin(&ns, &["list"]).await;
    let row = listed
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == "web"))
        .cloned()
        .unwrap_or_else(|| panic!("web not listed: {listed}"));
    assert_eq!(row["revision"], 4, "{row}");
    assert_eq!(row["status"], "deployed", "{row}");
    assert_eq!(row["deployedVersion"], "1.1.0", "{row}");
    assert_eq!(row["ready"]["status"], "True", "{row}");
    let status = plugin(&ns, &["status", "web"]).await;
    let ready = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(ready["status"], "True", "{status}");
    assert_eq!(
        status["latestRevision"]["revision"], 4,
        "{}",
        status["latestRevision"]
    );
    let revisions: Vec<i64> = plugin(&ns, &["history", "web"])
        .await
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["revision"].as_i64()).collect())
        .unwrap_or_default();
    let helm: Vec<i64> = helm_history(&ns).await.iter().map(|h| h.0).collect();
    assert_eq!(revisions, helm, "plugin history against helm history");

    // Drift: a scaled Deployment is put back.
    apply(
        &ns,
        &helmrelease(
            n,
            "1.1.0",
            "  values:\n    replicaCount: 2\n  driftDetection:\n    mode: enabled\n",
        ),
    )
    .await;
    let generation = get(&ns, "hr/web", "{.metadata.generation}").await;
    wait_for(&ns, "hr/web", "{.status.observedGeneration}", &log, |v| {
        v == generation
    })
    .await;
    wait_for(
        &ns,
        "hr/web",
        "{.status.conditions[?(@.type==\"Drifted\")].reason}",
        &log,
        |v| v == "NoDriftDetected",
    )
    .await;
    ok(
        "kubectl scale",
        ns.kubectl(&["scale", "deploy/web-webapp", "--replicas=5"], None)
            .await,
    );
    annotate(&ns, &["reconcile.fluxcd.io/requestedAt=drift-1"]).await;
    wait_for(&ns, "deploy/web-webapp", "{.spec.replicas}", &log, |v| {
        v == "2"
    })
    .await;
    let drifted = ok(
        "kubectl get events",
        ns.kubectl(
            &[
                "get",
                "events",
                "--field-selector",
                "reason=DriftDetected",
                "-o",
                "jsonpath={.items[0].message}",
            ],
            None,
        )
        .await,
    );
    assert_eq!(
        drifted,
        format!(
            "Cluster state of release {n}/web.v4 has drifted from the desired state:\nDeployment/{n}/web-webapp changed (0 additions, 1 changes, 0 removals)"
        )
    );
    assert_eq!(
        helm_history(&ns).await.last().map(|h| h.0),
        Some(4),
        "drift correction makes no revision"
    );

    // In `warn` mode drift is reported (Drifted=True, an event), not corrected.
    apply(
        &ns,
        &helmrelease(
            n,
            "1.1.0",
            "  values:\n    replicaCount: 2\n  driftDetection:\n    mode: warn\n",
        ),
    )
    .await;
    let generation = get(&ns, "hr/web", "{.metadata.generation}").await;
    wait_for(&ns, "hr/web", "{.status.observedGeneration}", &log, |v| {
        v == generation
    })
    .await;
    ok(
        "kubectl scale",
        ns.kubectl(&["scale", "deploy/web-webapp", "--replicas=4"], None)
            .await,
    );
    annotate(&ns, &["reconcile.fluxcd.io/requestedAt=drift-warn"]).await;
    wait_for(
        &ns,
        "hr/web",
        "{.status.conditions[?(@.type==\"Drifted\")].status}",
        &log,
        |v| v == "True",
    )
    .await;
    assert_eq!(get(&ns, "deploy/web-webapp", "{.spec.replicas}").await, "4");
    assert_eq!(
        get(&ns, "hr/web", READY).await,
        "True",
        "drift alone is not a failure"
    );

    // A failing upgrade (its Pods never become ready) is rolled back, counted, and once the
    // retries are used up the release is Stalled; resetAt makes it try again.
    let failing = "  values:\n    replicaCount: 2\n    podAnnotations:\n      helmrelease.dev/kwok-fail: \"true\"\n  timeout: 4s\n  upgrade:\n    remediation:\n      retries: 1\n";
    apply(
        &ns,
        &helmrelease(n, "1.1.0", failing).replace("  timeout: 20s\n", ""),
    )
    .await;
    wait_for(
        &ns,
        "hr/web",
        "{.status.conditions[?(@.type==\"Stalled\")].reason}",
        &log,
        |v| v == "RetriesExceeded",
    )
    .await;
    let status = get(&ns, "hr/web", "{.status}").await;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["upgradeFailures"], 2, "{status}");
    let remediated = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Remediated")
        .cloned()
        .unwrap_or_default();
    assert_eq!(remediated["reason"], "RollbackSucceeded", "{status}");
    let stalled = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Stalled")
        .cloned()
        .unwrap();
    assert_eq!(stalled["message"], "Failed to upgrade after 2 attempt(s)");
    let history = helm_history(&ns).await;
    let statuses: Vec<&str> = history.iter().map(|h| h.1.as_str()).collect();
    assert_eq!(
        statuses.last(),
        Some(&"deployed"),
        "rolled back: {history:?}"
    );
    assert!(statuses.contains(&"failed"), "{history:?}");
    let revisions = history.last().map_or(0, |h| h.0);
    annotate(
        &ns,
        &[
            "reconcile.fluxcd.io/requestedAt=reset-1",
            "reconcile.fluxcd.io/resetAt=reset-1",
        ],
    )
    .await;
    wait_for(&ns, "hr/web", "{.status.lastHandledResetAt}", &log, |v| {
        v == "reset-1"
    })
    .await;
    let after = wait_for(&ns, "hr/web", "{.status.history[0].version}", &log, |v| {
        v.parse::<i64>().unwrap_or(0) > revisions
    })
    .await;
    assert!(!after.is_empty(), "resetAt retried");
    // Back to a working spec.
    apply(
        &ns,
        &helmrelease(n, "1.1.0", "  values:\n    replicaCount: 1\n"),
    )
    .await;
    wait_for(&ns, "hr/web", READY, &log, ready_true).await;

    // Suspended, nothing happens; dependsOn waits for its dependency.
    apply(
        &ns,
        &helmrelease(
            n,
            "1.1.0",
            "  suspend: true\n  values:\n    replicaCount: 3\n",
        ),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(get(&ns, "deploy/web-webapp", "{.spec.replicas}").await, "1");
    let dependent = format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: after\n  namespace: {n}\nspec:\n  interval: 1m\n  dependsOn:\n  - name: web\n  chart:\n    spec:\n      chart: webapp\n      version: \"1.0.0\"\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  values:\n    replicaCount: 1\n"
    );
    apply(&ns, &dependent).await;
    wait_for(
        &ns,
        "hr/after",
        "{.status.conditions[?(@.type==\"Ready\")].reason}",
        &log,
        |v| v == "DependencyNotReady",
    )
    .await;
    apply(
        &ns,
        &helmrelease(n, "1.1.0", "  values:\n    replicaCount: 3\n"),
    )
    .await;
    wait_for(&ns, "deploy/web-webapp", "{.spec.replicas}", &log, |v| {
        v == "3"
    })
    .await;
    wait_for(&ns, "hr/after", READY, &log, ready_true).await;
    ok(
        "delete",
        ns.kubectl(
            &["delete", "hr/after", "--wait=true", "--timeout=60s"],
            None,
        )
        .await,
    );

    // readyExpr: CEL over the dependency (`dep`) decides instead of its Ready condition; an
    // expression that does not compile stalls the HelmRelease.
    let gated = |name: &str, expr: &str| {
        format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: {n}\nspec:\n  interval: 1m\n  dependsOn:\n  - name: web\n    readyExpr: {expr}\n  chart:\n    spec:\n      chart: webapp\n      version: \"1.0.0\"\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  values:\n    replicaCount: 1\n"
        )
    };
    apply(
        &ns,
        &gated("gated", "\"dep.spec.values.replicaCount == 4\""),
    )
    .await;
    apply(&ns, &gated("broken", "\"dep.spec.values.(\"")).await;
    wait_for(
        &ns,
        "hr/gated",
        "{.status.conditions[?(@.type==\"Ready\")].message}",
        &log,
        |v| v == format!("dependency '{n}/web' is not ready according to readyExpr eval"),
    )
    .await;
    wait_for(
        &ns,
        "hr/broken",
        "{.status.conditions[?(@.type==\"Stalled\")].reason}",
        &log,
        |v| v == "InvalidCELExpression",
    )
    .await;
    apply(
        &ns,
        &helmrelease(n, "1.1.0", "  values:\n    replicaCount: 4\n"),
    )
    .await;
    wait_for(&ns, "hr/gated", READY, &log, ready_true).await;
    ok(
        "delete",
        ns.kubectl(
            &[
                "delete",
                "hr/gated",
                "hr/broken",
                "--wait=true",
                "--timeout=60s",
            ],
            None,
        )
        .await,
    );

    // kill -9 in the middle of an upgrade: the release stays pending-upgrade; a new
    // controller unlocks it and converges.
    apply(&ns, &helmrelease(n, "1.1.0", "  values:\n    replicaCount: 3\n    podAnnotations:\n      helmrelease.dev/kwok-fail: \"true\"\n  timeout: 60s\n").replace("  timeout: 20s\n", "")).await;
    wait_for(
        &ns,
        "secrets",
        "{.items[*].metadata.labels.status}",
        &log,
        |v| v.contains("pending-upgrade"),
    )
    .await;
    unsafe_kill9(&mut controller);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pending = get(&ns, "secrets", "{.items[*].metadata.labels.status}").await;
    assert!(pending.contains("pending-upgrade"), "{pending}");
    apply(
        &ns,
        &helmrelease(n, "1.1.0", "  values:\n    replicaCount: 2\n"),
    )
    .await;
    controller = start(&ns, &log);
    wait_for(&ns, "hr/web", READY, &log, ready_true).await;
    let history = helm_history(&ns).await;
    assert!(
        history.iter().any(|h| h.1 == "failed"),
        "the pending revision was unlocked to failed: {history:?}"
    );
    assert_eq!(
        history.last().map(|h| h.1.as_str()),
        Some("deployed"),
        "{history:?}"
    );

    // serviceAccountName: the release is made as that account, so RBAC decides. Without
    // rights nothing is installed and Ready says why; with them it installs.
    let tenant = format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: deployer\n  namespace: {n}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: tenant\n  namespace: {n}\nspec:\n  interval: 1m\n  serviceAccountName: deployer\n  chart:\n    spec:\n      chart: webapp\n      version: \"1.0.0\"\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  values:\n    replicaCount: 1\n"
    );
    apply(&ns, &tenant).await;
    let message = wait_for(
        &ns,
        "hr/tenant",
        "{.status.conditions[?(@.type==\"Ready\")].message}",
        &log,
        |v| v.contains("forbidden"),
    )
    .await;
    assert!(
        message.contains("system:serviceaccount:") && message.contains(":deployer"),
        "{message}"
    );
    assert!(
        !ns.helm(&["history", "tenant"]).await.ok,
        "installed without rights"
    );
    apply(
        &ns,
        &format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: deployer-admin\n  namespace: {n}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: admin\nsubjects:\n- kind: ServiceAccount\n  name: deployer\n  namespace: {n}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: read-sources\n  namespace: {n}\nrules:\n- apiGroups: [source.toolkit.fluxcd.io]\n  resources: [helmrepositories]\n  verbs: [get, list]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: deployer-read-sources\n  namespace: {n}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: read-sources\nsubjects:\n- kind: ServiceAccount\n  name: deployer\n  namespace: {n}\n"
        ),
    )
    .await;
    wait_for(&ns, "hr/tenant", READY, &log, ready_true).await;
    let managers = get(
        &ns,
        "deploy/tenant-webapp",
        "{.metadata.managedFields[*].manager}",
    )
    .await;
    assert!(managers.contains("helm-controller"), "{managers}");
    ok(
        "delete",
        ns.kubectl(
            &["delete", "hr/tenant", "--wait=true", "--timeout=60s"],
            None,
        )
        .await,
    );
    assert!(
        !ns.helm(&["history", "tenant"]).await.ok,
        "tenant release left behind"
    );

    // upgrade.chartNameChangeStrategy: Reinstall: another chart name uninstalls the release
    // and installs it anew (revision 1 again); by default it would be an upgrade.
    let renamed = |chart: &str| {
        format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: renamed\n  namespace: {n}\nspec:\n  interval: 1m\n  upgrade:\n    chartNameChangeStrategy: Reinstall\n  chart:\n    spec:\n      chart: {chart}\n      version: \"1.0.0\"\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  values:\n    replicaCount: 1\n"
        )
    };
    apply(&ns, &renamed("webapp")).await;
    wait_for(&ns, "hr/renamed", READY, &log, ready_true).await;
    apply(&ns, &renamed("webapp2")).await;
    wait_for(
        &ns,
        "hr/renamed",
        "{.status.history[0].chartName}",
        &log,
        |v| v == "webapp2",
    )
    .await;
    wait_for(&ns, "hr/renamed", READY, &log, ready_true).await;
    let out = ok(
        "helm history",
        ns.helm(&["history", "renamed", "-o", "json"]).await,
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let rows: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap(),
                r["chart"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(rows, [(1, "webapp2-1.0.0".to_string())], "reinstalled");
    ok(
        "delete",
        ns.kubectl(
            &["delete", "hr/renamed", "--wait=true", "--timeout=60s"],
            None,
        )
        .await,
    );

    // kubeConfig: the release goes where the Secret's kubeconfig points, as its user. Here
    // the same cluster as a service account of its own: forbidden until it is granted.
    ok(
        "create sa",
        ns.kubectl(&["create", "serviceaccount", "remote"], None)
            .await,
    );
    let token = ok(
        "create token",
        ns.kubectl(&["create", "token", "remote", "--duration=1h"], None)
            .await,
    );
    let kubeconfig = helmrelease_testcluster::kubeconfig_yaml(
        cluster.server(),
        cluster.ca_pem(),
        token.trim(),
        n,
    );
    let secret = std::env::temp_dir().join(format!("{n}-remote-kubeconfig"));
    std::fs::write(&secret, kubeconfig).unwrap();
    ok(
        "create secret",
        ns.kubectl(
            &[
                "create",
                "secret",
                "generic",
                "remote-kubeconfig",
                &format!("--from-file=value={}", secret.display()),
            ],
            None,
        )
        .await,
    );
    let _ = std::fs::remove_file(&secret);
    apply(
        &ns,
        &format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: far\n  namespace: {n}\nspec:\n  interval: 1m\n  kubeConfig:\n    secretRef:\n      name: remote-kubeconfig\n  chart:\n    spec:\n      chart: webapp\n      version: \"1.0.0\"\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  values:\n    replicaCount: 1\n"
        ),
    )
    .await;
    let message = wait_for(
        &ns,
        "hr/far",
        "{.status.conditions[?(@.type==\"Ready\")].message}",
        &log,
        |v| v.contains("forbidden"),
    )
    .await;
    assert!(
        message.contains(&format!("system:serviceaccount:{n}:remote")),
        "{message}"
    );
    apply(
        &ns,
        &format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: remote-admin\n  namespace: {n}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: admin\nsubjects:\n- kind: ServiceAccount\n  name: remote\n  namespace: {n}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: remote-read-sources\n  namespace: {n}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: read-sources\nsubjects:\n- kind: ServiceAccount\n  name: remote\n  namespace: {n}\n"
        ),
    )
    .await;
    wait_for(&ns, "hr/far", READY, &log, ready_true).await;
    ok(
        "delete",
        ns.kubectl(&["delete", "hr/far", "--wait=true", "--timeout=60s"], None)
            .await,
    );

    // targetNamespace with createNamespace: the objects go to the new namespace, the
    // release record stays in the HelmRelease's namespace, as Flux keeps it.
    let target = format!("{n}-target");
    apply(
        &ns,
        &format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: other\n  namespace: {n}\nspec:\n  interval: 1m\n  targetNamespace: {target}\n  install:\n    createNamespace: true\n  chart:\n    spec:\n      chart: webapp\n      version: \"1.0.0\"\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  values:\n    replicaCount: 1\n"
        ),
    )
    .await;
    wait_for(&ns, "hr/other", READY, &log, ready_true).await;
    let release = format!("{target}-other");
    let deployment = ok(
        "kubectl get",
        ns.kubectl(
            &[
                "get",
                "deploy",
                "-n",
                &target,
                "-o",
                "jsonpath={.items[*].metadata.name}",
            ],
            None,
        )
        .await,
    );
    assert_eq!(deployment, format!("{release}-webapp"));
    let stored = ok(
        "helm history",
        ns.helm(&["history", &release, "-n", n, "-o", "json"]).await,
    );
    assert!(stored.contains("\"deployed\""), "{stored}");
    let secrets = get(&ns, "secrets", "{.items[*].metadata.name}").await;
    assert!(
        secrets.contains(&format!("sh.helm.release.v1.{release}.v1")),
        "{secrets}"
    );
    ok(
        "delete",
        ns.kubectl(
            &["delete", "hr/other", "--wait=true", "--timeout=60s"],
            None,
        )
        .await,
    );
    let left = ok(
        "kubectl get",
        ns.kubectl(&["get", "deploy", "-n", &target, "-o", "name"], None)
            .await,
    );
    assert_eq!(left.trim(), "", "objects left in the target namespace");
    let _ = ns
        .kubectl(&["delete", "namespace", &target, "--wait=false"], None)
        .await;

    // Deleting the HelmRelease uninstalls the release.
    ok(
        "delete",
        ns.kubectl(&["delete", "hr/web", "--wait=true", "--timeout=60s"], None)
            .await,
    );
    let out = ns.helm(&["history", "web"]).await;
    assert!(!out.ok, "release still there: {}", out.stdout);
    let out = ns.kubectl(&["get", &chart], None).await;
    assert!(!out.ok, "HelmChart left behind: {}", out.stdout);
    let _ = controller.0.kill();
}
