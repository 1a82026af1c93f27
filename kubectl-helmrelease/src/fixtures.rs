//! Generated cluster dumps: the demo in `examples/cluster/` and large fleets for benchmarks.
//! Release Secrets are written with our own encoder, exactly as Helm's Secret driver stores
//! them; everything else is what `kubectl get -o yaml` prints.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use helmrelease_release::model::{Chart, File, Hook, HookExecution, Info, Metadata};
use helmrelease_release::{ObjectOptions, Release, storage};
use serde_json::{Value, json};

/// One revision of a demo release.
#[derive(Debug, Clone)]
pub struct Rev {
    /// Revision number.
    pub version: i64,
    /// Chart version.
    pub chart_version: &'static str,
    /// App version.
    pub app_version: &'static str,
    /// Helm status.
    pub status: &'static str,
    /// Description.
    pub description: &'static str,
    /// Deployment time.
    pub deployed: &'static str,
    /// `replicaCount` value.
    pub replicas: i64,
}

fn chart(name: &str, version: &str, app_version: &str) -> Chart {
    let template = |path: &str, body: &str| File {
        name: path.to_string(),
        modtime: None,
        data: Some(STANDARD.encode(body)),
    };
    Chart {
        metadata: Some(Metadata {
            name: Some(name.into()),
            version: Some(version.into()),
            app_version: Some(app_version.into()),
            api_version: Some("v2".into()),
            description: Some(format!("A demo {name} chart")),
            type_: Some("application".into()),
            ..Metadata::default()
        }),
        lock: None,
        templates: Some(vec![
            template("templates/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n"),
            template("templates/service.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n"),
        ]),
        values: json!({"replicaCount": 1, "image": {"repository": format!("ghcr.io/demo/{name}"), "tag": ""}})
            .as_object()
            .cloned(),
        schema: None,
        files: Some(vec![]),
        ..Chart::default()
    }
}

/// The manifest a demo chart renders: a Service and a Deployment.
pub fn manifest(name: &str, namespace: &str, app_version: &str, replicas: i64) -> String {
    format!(
        "---\n# Source: {name}/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  ports:\n  - port: 9898\n    targetPort: http\n  selector:\n    app: {name}\n---\n# Source: {name}/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: {name}\n        image: ghcr.io/demo/{name}:{app_version}\n"
    )
}

/// A demo release revision.
pub fn release(name: &str, namespace: &str, first: &str, rev: &Rev) -> Release {
    Release {
        name: name.into(),
        info: Some(Info {
            first_deployed: Some(first.into()),
            last_deployed: Some(rev.deployed.into()),
            deleted: Some(String::new()),
            description: rev.description.into(),
            status: rev.status.into(),
            notes: format!("{name} is listening on port 9898.\n"),
            ..Info::default()
        }),
        chart: Some(chart(name, rev.chart_version, rev.app_version)),
        config: json!({"replicaCount": rev.replicas}).as_object().cloned(),
        manifest: manifest(name, namespace, rev.app_version, rev.replicas),
        hooks: vec![Hook {
            name: format!("{name}-test"),
            kind: "Pod".into(),
            path: format!("{name}/templates/tests/connection.yaml"),
            manifest: format!(
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}-test\n  annotations:\n    helm.sh/hook: test\n"
            ),
            events: vec!["test".into()],
            last_run: Some(HookExecution {
                started_at: Some(String::new()),
                completed_at: Some(String::new()),
                phase: String::new(),
            }),
            delete_policies: vec!["before-hook-creation".into()],
            ..Hook::default()
        }],
        version: rev.version,
        namespace: namespace.into(),
        ..Release::default()
    }
}

/// Release Secrets of one release, with deterministic timestamps.
pub fn release_secrets(
    name: &str,
    namespace: &str,
    revs: &[Rev],
) -> helmrelease_release::Result<Vec<Value>> {
    let first = revs.first().map(|r| r.deployed).unwrap_or_default();
    revs.iter()
        .enumerate()
        .map(|(i, rev)| {
            let created = 1_790_000_000 + 86_400 * i as i64;
            let options = ObjectOptions {
                created_at: Some(created),
                modified_at: (rev.status == "superseded").then_some(created + 3_600),
                ..ObjectOptions::default()
            };
            storage::to_secret(&release(name, namespace, first, rev), &options)
        })
        .collect()
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items})
}

const PODINFO: [Rev; 4] = [
    Rev {
        version: 1,
        chart_version: "6.5.3",
        app_version: "6.5.3",
        status: "superseded",
        description: "Install complete",
        deployed: "2026-10-01T09:00:00.123456789Z",
        replicas: 1,
    },
    Rev {
        version: 2,
        chart_version: "6.5.4",
        app_version: "6.5.4",
        status: "superseded",
        description: "Upgrade complete",
        deployed: "2026-10-08T09:30:00.5Z",
        replicas: 2,
    },
    Rev {
        version: 3,
        chart_version: "6.6.0",
        app_version: "6.6.0",
        status: "failed",
        description: "Upgrade \"podinfo\" failed: context deadline exceeded",
        deployed: "2026-10-15T10:00:00Z",
        replicas: 2,
    },
    Rev {
        version: 4,
        chart_version: "6.5.4",
        app_version: "6.5.4",
        status: "deployed",
        description: "Rollback to 2",
        deployed: "2026-10-15T10:05:00Z",
        replicas: 2,
    },
];

const REDIS: [Rev; 2] = [
    Rev {
        version: 1,
        chart_version: "18.1.0",
        app_version: "7.2.1",
        status: "deployed",
        description: "Install complete",
        deployed: "2026-09-20T12:00:00Z",
        replicas: 1,
    },
    Rev {
        version: 2,
        chart_version: "18.2.0",
        app_version: "7.2.3",
        status: "pending-upgrade",
        description: "Preparing upgrade",
        deployed: "2026-10-20T12:00:00Z",
        replicas: 3,
    },
];

const LEGACY: [Rev; 1] = [Rev {
    version: 1,
    chart_version: "1.0.2",
    app_version: "1.0.2",
    status: "deployed",
    description: "Install complete",
    deployed: "2026-03-02T08:00:00Z",
    replicas: 1,
}];

fn condition(type_: &str, status: &str, reason: &str, message: &str, time: &str) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": time, "observedGeneration": 2})
}

fn snapshot(name: &str, namespace: &str, rev: &Rev, first: &str, digest: &str) -> Value {
    json!({"name": name, "namespace": namespace, "version": rev.version, "status": rev.status,
           "chartName": name, "chartVersion": rev.chart_version, "appVersion": rev.app_version,
           "configDigest": format!("sha256:{digest}"), "digest": format!("sha256:{digest}{digest}"),
           "firstDeployed": first, "lastDeployed": rev.deployed})
}

fn helmreleases() -> Vec<Value> {
    vec![
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "podinfo", "namespace": "apps", "generation": 2},
            "spec": {"interval": "10m", "chart": {"spec": {"chart": "podinfo", "version": "6.6.0",
                "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}},
                "install": {"remediation": {"retries": 3}},
                "upgrade": {"cleanupOnFail": true, "remediation": {"retries": 1, "remediateLastFailure": true}},
                "driftDetection": {"mode": "warn", "ignore": [{"paths": ["/spec/template/metadata/annotations"], "target": {"kind": "Deployment"}}]},
                "maxHistory": 5, "values": {"replicaCount": 2}},
            "status": {"observedGeneration": 2, "lastAttemptedGeneration": 2,
                "lastAttemptedRevision": "6.6.0", "lastAttemptedConfigDigest": "sha256:4f1c",
                "lastAttemptedReleaseAction": "upgrade", "failures": 1, "upgradeFailures": 1,
                "storageNamespace": "apps",
                "conditions": [
                    condition("Ready", "True", "RollbackSucceeded", "Helm rollback to previous release apps/podinfo.v2 with chart podinfo@6.5.4 succeeded", "2026-10-15T10:05:03Z"),
                    condition("Released", "False", "UpgradeFailed", "Helm upgrade failed for release apps/podinfo with chart podinfo@6.6.0: context deadline exceeded", "2026-10-15T10:05:00Z"),
                    condition("Remediated", "True", "RollbackSucceeded", "Helm rollback to previous release apps/podinfo.v2 with chart podinfo@6.5.4 succeeded", "2026-10-15T10:05:03Z"),
                ],
                "history": [snapshot("podinfo", "apps", &PODINFO[3], PODINFO[0].deployed, "9c2e"),
                            snapshot("podinfo", "apps", &PODINFO[2], PODINFO[0].deployed, "4f1c")]}}),
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "redis", "namespace": "data", "generation": 3},
            "spec": {"interval": "10m", "chart": {"spec": {"chart": "redis", "version": "18.x",
                "sourceRef": {"kind": "HelmRepository", "name": "bitnami"}}},
                "values": {"replicaCount": 3}},
            "status": {"observedGeneration": 2, "lastAttemptedGeneration": 3,
                "lastAttemptedRevision": "18.2.0", "lastAttemptedReleaseAction": "upgrade",
                "storageNamespace": "data",
                "conditions": [
                    condition("Ready", "Unknown", "Progressing", "Running 'upgrade' action with timeout of 5m0s", "2026-10-20T12:00:00Z"),
                ],
                "history": [snapshot("redis", "data", &REDIS[1], REDIS[0].deployed, "77aa"),
                            snapshot("redis", "data", &REDIS[0], REDIS[0].deployed, "1b0d")]}}),
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "grafana", "namespace": "apps", "generation": 1},
        "spec": {"interval": "10m", "chart": {"spec": {"chart": "grafana", "version": "8.5.1",
            "sourceRef": {"kind": "HelmRepository", "name": "grafana", "namespace": "flux-system"}}},
            "install": {"remediation": {"retries": 3}},
            "upgrade": {"cleanupOnFail": true, "remediation": {"retries": 3}}, "maxHistory": 5},
        "status": {"observedGeneration": 1,
            "conditions": [
                condition("Ready", "False", "ArtifactFailed", "HelmChart 'flux-system/apps-grafana' is not ready: chart \"grafana\" version \"8.5.1\" not found in https://grafana.github.io/helm-charts index", "2026-10-21T08:00:00Z"),
            ]}}),
    ]
}

fn sources() -> Vec<Value> {
    vec![
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": "podinfo", "namespace": "flux-system"},
            "spec": {"interval": "1h", "url": "https://stefanprodan.github.io/podinfo"}}),
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": "grafana", "namespace": "flux-system"},
            "spec": {"interval": "1h", "url": "https://grafana.github.io/helm-charts"}}),
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": "bitnami", "namespace": "data"},
            "spec": {"interval": "1h", "type": "oci", "url": "oci://registry-1.docker.io/bitnamicharts"}}),
    ]
}

/// A live Deployment as the apiserver returns it: the manifest's fields plus Helm's ownership
/// metadata, defaults and status.
fn live_deployment(name: &str, namespace: &str, image: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "generation": 3, "resourceVersion": "48213",
            "uid": format!("00000000-0000-4000-8000-{:012x}", name.len()),
            "creationTimestamp": "2026-10-01T09:00:01Z",
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": namespace,
                "deployment.kubernetes.io/revision": "3"}},
        "spec": {"replicas": replicas, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": {"app": name}, "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-10-16T07:00:00Z"}},
                "spec": {"containers": [{"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
                    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                    "resources": {}}],
                    "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                    "securityContext": {}, "terminationGracePeriodSeconds": 30}}},
        "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas, "observedGeneration": 3}})
}

fn live_service(name: &str, namespace: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1200",
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": namespace}},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.12.7", "clusterIPs": ["10.96.12.7"],
            "ports": [{"port": 9898, "targetPort": "http", "protocol": "TCP"}],
            "selector": {"app": name}, "sessionAffinity": "None"},
        "status": {"loadBalancer": {}}})
}

fn live_objects() -> Vec<Value> {
    vec![
        live_service("podinfo", "apps"),
        // Someone ran `kubectl scale deployment podinfo --replicas 3`: the one drifted field.
        live_deployment("podinfo", "apps", "ghcr.io/demo/podinfo:6.5.4", 3),
        live_service("redis", "data"),
        live_deployment("redis", "data", "ghcr.io/demo/redis:7.2.1", 1),
        live_service("legacy-cron", "ops"),
        live_deployment("legacy-cron", "ops", "ghcr.io/demo/legacy-cron:1.0.2", 1),
    ]
}

fn event(
    namespace: &str,
    name: &str,
    type_: &str,
    reason: &str,
    message: &str,
    time: &str,
) -> Value {
    json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{name}.{}", time.replace([':', '-'], "").to_lowercase()), "namespace": namespace},
        "involvedObject": {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": name, "namespace": namespace},
        "type": type_, "reason": reason, "message": message, "count": 1,
        "firstTimestamp": time, "lastTimestamp": time,
        "source": {"component": "helm-controller"}, "reportingComponent": "helm-controller"})
}

fn events() -> Vec<Value> {
    vec![
        event(
            "apps",
            "podinfo",
            "Warning",
            "UpgradeFailed",
            "Helm upgrade failed for release apps/podinfo with chart podinfo@6.6.0: context deadline exceeded",
            "2026-10-15T10:05:00Z",
        ),
        event(
            "apps",
            "podinfo",
            "Normal",
            "RollbackSucceeded",
            "Helm rollback to previous release apps/podinfo.v2 with chart podinfo@6.5.4 succeeded",
            "2026-10-15T10:05:03Z",
        ),
        event(
            "apps",
            "grafana",
            "Warning",
            "ArtifactFailed",
            "HelmChart 'flux-system/apps-grafana' is not ready: chart \"grafana\" version \"8.5.1\" not found",
            "2026-10-21T08:00:00Z",
        ),
    ]
}

/// The demo cluster dump, as (file name, `kind: List`) pairs for `examples/cluster/`: three
/// HelmReleases (one rolled back after a failed upgrade and since drifted, one unpinned and
/// stuck in `pending-upgrade`, one whose chart never arrived), their sources, release Secrets
/// (plus an orphaned, hand-installed release), live objects and Events.
pub fn demo_cluster() -> helmrelease_release::Result<Vec<(&'static str, Value)>> {
    let mut secrets = release_secrets("podinfo", "apps", &PODINFO)?;
    secrets.extend(release_secrets("redis", "data", &REDIS)?);
    secrets.extend(release_secrets("legacy-cron", "ops", &LEGACY)?);
    Ok(vec![
        ("helmreleases.yaml", list(helmreleases())),
        ("sources.yaml", list(sources())),
        ("release-secrets.yaml", list(secrets)),
        ("live-objects.yaml", list(live_objects())),
        ("events.yaml", list(events())),
    ])
}

/// A fleet for scale tests: `releases` pinned HelmReleases in ten namespaces, each with
/// `revisions` release Secrets (the latest deployed, the rest superseded). One `kind: List`
/// of everything.
pub fn fleet(releases: usize, revisions: usize) -> helmrelease_release::Result<Value> {
    let mut items = Vec::with_capacity(releases * (revisions + 1));
    for i in 0..releases {
        let name = format!("app-{i:04}");
        let namespace = format!("team-{}", i % 10);
        items.push(json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"interval": "10m", "chart": {"spec": {"chart": "podinfo", "version": "6.5.4",
                "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}},
                "install": {"remediation": {"retries": 3}},
                "upgrade": {"cleanupOnFail": true, "remediation": {"retries": 3}}, "maxHistory": 10}}));
        for v in 1..=revisions as i64 {
            let rev = Rev {
                version: v,
                chart_version: "6.5.4",
                app_version: "6.5.4",
                status: if v == revisions as i64 {
                    "deployed"
                } else {
                    "superseded"
                },
                description: if v == 1 {
                    "Install complete"
                } else {
                    "Upgrade complete"
                },
                deployed: "2026-10-01T09:00:00Z",
                replicas: v,
            };
            let release = release(&name, &namespace, "2026-10-01T09:00:00Z", &rev);
            items.push(storage::to_secret(&release, &ObjectOptions::default())?);
        }
    }
    items.push(sources().remove(0));
    Ok(list(items))
}
