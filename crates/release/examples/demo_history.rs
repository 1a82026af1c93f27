//! Writes the demo cluster dump in `examples/cluster/`: release Secrets of two releases with a
//! realistic history, exactly as Helm's Secret driver stores them, as a `kubectl get secrets
//! -o yaml` List.
//!
//! `cargo run -p helmrelease-release --example demo_history > examples/cluster/release-secrets.yaml`

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use helmrelease_release::model::{Chart, File, Hook, HookExecution, Info, Metadata};
use helmrelease_release::{ObjectOptions, Release, storage};
use serde_json::{Value, json};

struct Rev {
    version: i64,
    chart_version: &'static str,
    app_version: &'static str,
    status: &'static str,
    description: &'static str,
    deployed: &'static str,
    replicas: i64,
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

fn manifest(name: &str, namespace: &str, app_version: &str, replicas: i64) -> String {
    format!(
        "---\n# Source: {name}/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  ports:\n  - port: 9898\n    targetPort: http\n  selector:\n    app: {name}\n---\n# Source: {name}/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: {name}\n        image: ghcr.io/demo/{name}:{app_version}\n"
    )
}

fn release(name: &str, namespace: &str, first: &str, rev: &Rev) -> Release {
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let podinfo = [
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
    let redis = [
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
    let mut items: Vec<Value> = Vec::new();
    for (name, namespace, revs) in [
        ("podinfo", "apps", &podinfo[..]),
        ("redis", "data", &redis[..]),
    ] {
        let first = revs[0].deployed;
        for (i, rev) in revs.iter().enumerate() {
            let created = 1_790_000_000 + 86_400 * i as i64;
            let options = ObjectOptions {
                created_at: Some(created),
                modified_at: (rev.status == "superseded").then_some(created + 3_600),
                ..ObjectOptions::default()
            };
            items.push(storage::to_secret(
                &release(name, namespace, first, rev),
                &options,
            )?);
        }
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
    print!("{}", serde_saphyr::to_string(&list)?);
    Ok(())
}
