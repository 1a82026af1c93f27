//! Release storage against the real control plane, side by side with the official Helm 4.1.4:
//! Helm reads what we store, we read what Helm stores, and our Secrets are Helm's (type, data
//! key, labels, payload JSON) apart from our lock annotations.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_action::Error;
use helmrelease_action::storage::{
    LOCK_EXPIRES_ANNOTATION, LOCK_HOLDER_ANNOTATION, Lock, SecretStorage,
};
use helmrelease_release::model::{Chart, Info, Metadata};
use helmrelease_release::{Release, Status, StoredRelease, codec};
use helmrelease_testcluster::{TestNamespace, ok, shared};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n";

/// A one-ConfigMap chart in a fresh folder.
fn tiny_chart(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("helmrelease-storage-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: tiny\nversion: 0.1.0\nappVersion: \"1.0\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("values.yaml"), "greeting: hello\n").unwrap();
    std::fs::write(dir.join("templates/configmap.yaml"), CONFIGMAP).unwrap();
    dir
}

/// A revision as our engine would store it (enough of it for `helm history` and `helm get`).
fn our_release(namespace: &str, name: &str, revision: i64, status: &str) -> Release {
    Release {
        name: name.into(),
        info: Some(Info {
            first_deployed: Some("2026-11-01T10:00:00Z".into()),
            last_deployed: Some(format!("2026-11-01T10:{revision:02}:00Z")),
            description: format!("revision {revision}"),
            status: status.into(),
            ..Info::default()
        }),
        chart: Some(Chart {
            metadata: Some(Metadata {
                api_version: Some("v2".into()),
                name: Some("tiny".into()),
                version: Some("0.1.0".into()),
                app_version: Some("1.0".into()),
                ..Metadata::default()
            }),
            ..Chart::default()
        }),
        manifest: format!(
            "---\n# Source: tiny/templates/configmap.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-cm\ndata:\n  revision: \"{revision}\"\n"
        ),
        version: revision,
        namespace: namespace.into(),
        apply_method: "ssa".into(),
        ..Release::default()
    }
}

fn with_status(release: &Release, status: Status) -> Release {
    let mut release = release.clone();
    if let Some(info) = release.info.as_mut() {
        info.status = status.as_str().into();
    }
    release
}

fn lock(holder: &str, minutes: i64) -> Lock {
    Lock {
        holder: holder.into(),
        until: jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_mins(minutes))
            .unwrap(),
    }
}

async fn secret(ns: &TestNamespace, name: &str) -> Secret {
    Api::<Secret>::namespaced(ns.client.clone(), &ns.name)
        .get(name)
        .await
        .unwrap()
}

/// `helm history -o json` as (revision, status, chart, description).
async fn helm_history(ns: &TestNamespace, name: &str) -> Vec<(i64, String, String, String)> {
    let history = json(&ok(
        "helm history",
        ns.helm(&["history", name, "-o", "json"]).await,
    ));
    history
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
        .collect()
}

fn labels(secret: &Secret) -> BTreeMap<String, String> {
    secret.metadata.labels.clone().unwrap_or_default()
}

fn keys(map: &BTreeMap<String, String>) -> BTreeSet<&str> {
    map.keys().map(String::as_str).collect()
}

fn payload_json(secret: &Secret) -> Value {
    let data = secret.data.as_ref().unwrap();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["release"],
        "one data key, as Helm"
    );
    let release = codec::decode_payload(&data["release"].0, "test").unwrap();
    serde_json::from_slice(&codec::release_json(&release).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_helm_reads_a_revision_we_create_and_update() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("store-we-wrote").await.unwrap();
    let storage = SecretStorage::new(ns.client.clone(), &ns.name);
    let pending = our_release(&ns.name, "web", 1, "pending-install");
    let team = BTreeMap::from([("team".to_string(), "a".to_string())]);
    storage
        .create_with_labels(&pending, &team, 10, Some(&lock("replica-a", 5)))
        .await
        .unwrap();

    // While pending: Helm sees the lock status, the Secret has Helm's labels plus our lock.
    assert_eq!(
        helm_history(&ns, "web").await,
        [(
            1,
            "pending-install".into(),
            "tiny-0.1.0".into(),
            "revision 1".into()
        )]
    );
    let created = secret(&ns, "sh.helm.release.v1.web.v1").await;
    assert_eq!(created.type_.as_deref(), Some("helm.sh/release.v1"));
    assert_eq!(
        keys(&labels(&created)),
        BTreeSet::from(["name", "owner", "status", "version", "createdAt", "team"])
    );
    assert_eq!(
        created
            .metadata
            .annotations
            .as_ref()
            .map(|a| a.keys().cloned().collect::<BTreeSet<_>>()),
        Some(BTreeSet::from([
            LOCK_EXPIRES_ANNOTATION.to_string(),
            LOCK_HOLDER_ANNOTATION.to_string()
        ]))
    );

    storage
        .update(&with_status(&pending, Status::Deployed), None)
        .await
        .unwrap();
    assert_eq!(
        helm_history(&ns, "web").await,
        [(
            1,
            "deployed".into(),
            "tiny-0.1.0".into(),
            "revision 1".into()
        )]
    );
    let manifest = ok(
        "helm get manifest",
        ns.helm(&["get", "manifest", "web"]).await,
    );
    assert_eq!(manifest.trim_end(), pending.manifest.trim_end());
    let updated = secret(&ns, "sh.helm.release.v1.web.v1").await;
    let updated_labels = labels(&updated);
    assert_eq!(updated_labels["status"], "deployed");
    assert_eq!(updated_labels["team"], "a", "custom labels survive updates");
    assert_eq!(
        keys(&updated_labels),
        BTreeSet::from(["name", "owner", "status", "version", "modifiedAt", "team"])
    );
    assert_eq!(updated.metadata.annotations, None, "lock removed");

    // Official Helm upgrades on top of what we stored, and keeps our custom label.
    let chart = tiny_chart("we-wrote");
    ok(
        "helm upgrade",
        ns.helm(&["upgrade", "web", chart.to_str().unwrap()]).await,
    );
    let history = helm_history(&ns, "web").await;
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0].1, "superseded");
    assert_eq!(history[1].1, "deployed");
    assert_eq!(
        labels(&secret(&ns, "sh.helm.release.v1.web.v2").await)["team"],
        "a"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_read_what_helm_installs_and_write_the_same_secret() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("store-helm-wrote").await.unwrap();
    let chart = tiny_chart("helm-wrote");
    let chart = chart.to_str().unwrap();
    ok(
        "helm install",
        ns.helm(&["install", "demo", chart, "--labels", "team=a,tier=web"])
            .await,
    );
    let storage = SecretStorage::new(ns.client.clone(), &ns.name);
    let history = storage.history("demo").await.unwrap();
    assert_eq!(history.len(), 1);
    let v1 = &history[0];
    assert_eq!(v1.release.version, 1);
    assert_eq!(v1.release.status(), Status::Deployed);
    assert_eq!(
        v1.custom_labels(),
        BTreeMap::from([
            ("team".to_string(), "a".to_string()),
            ("tier".to_string(), "web".to_string())
        ])
    );
    let manifest = ok(
        "helm get manifest",
        ns.helm(&["get", "manifest", "demo"]).await,
    );
    assert_eq!(v1.release.manifest.trim_end(), manifest.trim_end());
    assert!(storage.history("absent").await.unwrap().is_empty());

    // The same release written by us (pending-install, then deployed, as Helm's install does)
    // into another namespace: the same Secret as Helm's but for timestamps and compression.
    let other = cluster.namespace("store-we-copy").await.unwrap();
    let ours = SecretStorage::new(other.client.clone(), &other.name);
    ours.create_with_labels(
        &with_status(&v1.release, Status::PendingInstall),
        &v1.custom_labels(),
        10,
        Some(&lock("replica-a", 5)),
    )
    .await
    .unwrap();
    ours.update(&v1.release, None).await.unwrap();
    let theirs = secret(&ns, "sh.helm.release.v1.demo.v1").await;
    let mine = secret(&other, "sh.helm.release.v1.demo.v1").await;
    assert_eq!(mine.type_, theirs.type_);
    assert_eq!(mine.metadata.annotations, theirs.metadata.annotations);
    let (mut a, mut b) = (labels(&mine), labels(&theirs));
    assert_eq!(
        keys(&a),
        keys(&b),
        "the same labels as Helm after an install"
    );
    a.remove("modifiedAt");
    b.remove("modifiedAt");
    assert_eq!(a, b);
    assert_eq!(payload_json(&mine), payload_json(&theirs));

    // After Helm's upgrade we see both revisions, oldest first, with Helm's statuses.
    ok(
        "helm upgrade",
        ns.helm(&["upgrade", "demo", chart, "--set", "greeting=hi"])
            .await,
    );
    let history = storage.history("demo").await.unwrap();
    let summary: Vec<(i64, Status)> = history
        .iter()
        .map(|r| (r.release.version, r.release.status()))
        .collect();
    assert_eq!(summary, [(1, Status::Superseded), (2, Status::Deployed)]);
    assert!(history[1].release.manifest.contains("greeting: \"hi\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superseding_helms_revision_is_what_helm_expects() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("store-supersede").await.unwrap();
    let chart = tiny_chart("supersede");
    let chart = chart.to_str().unwrap();
    ok(
        "helm install",
        ns.helm(&["install", "app", chart, "--labels", "team=a"])
            .await,
    );
    let storage = SecretStorage::new(ns.client.clone(), &ns.name);
    let current = storage.history("app").await.unwrap().remove(0);

    // Our upgrade: v2 pending (custom labels carried, as Helm's upgrade does), v1 superseded,
    // v2 deployed.
    let next = our_release(&ns.name, "app", 2, "pending-upgrade");
    storage
        .create_with_labels(&next, &current.custom_labels(), 5, Some(&lock("r", 5)))
        .await
        .unwrap();
    storage
        .update(&with_status(&current.release, Status::Superseded), None)
        .await
        .unwrap();
    storage
        .update(&with_status(&next, Status::Deployed), None)
        .await
        .unwrap();

    let v1 = labels(&secret(&ns, "sh.helm.release.v1.app.v1").await);
    assert_eq!(v1["status"], "superseded");
    assert_eq!(v1["team"], "a");
    let deployed = ok(
        "kubectl get secrets",
        ns.kubectl(
            &[
                "get",
                "secrets",
                "-l",
                "owner=helm,status=deployed",
                "-o",
                "name",
            ],
            None,
        )
        .await,
    );
    assert_eq!(deployed.trim(), "secret/sh.helm.release.v1.app.v2");
    let history = helm_history(&ns, "app").await;
    let statuses: Vec<&str> = history.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(statuses, ["superseded", "deployed"]);
    let status = ok(
        "helm status",
        ns.helm(&["status", "app", "-o", "json"]).await,
    );
    assert_eq!(json(&status)["version"], 2);

    // Official Helm rolls back and upgrades on top of it.
    ok("helm rollback", ns.helm(&["rollback", "app", "1"]).await);
    let statuses: Vec<String> = helm_history(&ns, "app")
        .await
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(statuses, ["superseded", "superseded", "deployed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_keeps_the_newest_deployed_revision() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("store-prune").await.unwrap();
    let storage = SecretStorage::new(ns.client.clone(), &ns.name);
    // v1 deployed, v2..v4 failed upgrades, written without a limit.
    storage
        .create(&our_release(&ns.name, "p", 1, "deployed"), 0, None)
        .await
        .unwrap();
    for revision in 2..=4 {
        storage
            .create(&our_release(&ns.name, "p", revision, "failed"), 0, None)
            .await
            .unwrap();
    }
    // Another release in the namespace is left alone.
    storage
        .create(&our_release(&ns.name, "other", 1, "superseded"), 0, None)
        .await
        .unwrap();

    // max_history 2: room for one more, but v1 is the deployed one and stays.
    storage
        .create(&our_release(&ns.name, "p", 5, "pending-upgrade"), 2, None)
        .await
        .unwrap();
    let revisions: Vec<i64> = storage
        .history("p")
        .await
        .unwrap()
        .iter()
        .map(|r| r.release.version)
        .collect();
    assert_eq!(revisions, [1, 5]);
    let history: Vec<i64> = helm_history(&ns, "p").await.iter().map(|r| r.0).collect();
    assert_eq!(history, [1, 5]);
    assert_eq!(storage.history("other").await.unwrap().len(), 1);

    // max_history 3 with v5 now deployed: v1 goes, v5 and v6 stay, then v7 makes three.
    storage
        .update(&our_release(&ns.name, "p", 5, "deployed"), None)
        .await
        .unwrap();
    storage
        .update(&our_release(&ns.name, "p", 1, "superseded"), None)
        .await
        .unwrap();
    storage
        .create(&our_release(&ns.name, "p", 6, "failed"), 3, None)
        .await
        .unwrap();
    storage
        .create(&our_release(&ns.name, "p", 7, "pending-upgrade"), 3, None)
        .await
        .unwrap();
    let revisions: Vec<i64> = storage
        .history("p")
        .await
        .unwrap()
        .iter()
        .map(|r| r.release.version)
        .collect();
    assert_eq!(revisions, [5, 6, 7]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_round_trips_and_missing_revisions_are_not_found() {
    let Some(cluster) = shared().await else {
        return;
    };
    let ns = cluster.namespace("store-lock").await.unwrap();
    let storage = SecretStorage::new(ns.client.clone(), &ns.name);
    let release = our_release(&ns.name, "locked", 1, "pending-install");
    let first = lock("controller-0", 5);
    storage.create(&release, 10, Some(&first)).await.unwrap();
    assert_eq!(storage.lock_of("locked", 1).await.unwrap(), Some(first));

    // Renewed by another holder (an unlock-and-retake), then released.
    let second = lock("controller-1", 10);
    storage.update(&release, Some(&second)).await.unwrap();
    assert_eq!(storage.lock_of("locked", 1).await.unwrap(), Some(second));
    let annotations = secret(&ns, "sh.helm.release.v1.locked.v1")
        .await
        .metadata
        .annotations
        .unwrap();
    assert_eq!(annotations[LOCK_HOLDER_ANNOTATION], "controller-1");
    assert!(
        annotations[LOCK_EXPIRES_ANNOTATION]
            .parse::<jiff::Timestamp>()
            .is_ok()
    );

    // Compare-and-swap: a replica that judged the first lock stale loses to the renewal and
    // writes nothing; judging the current record, it wins.
    let failed = with_status(&release, Status::Failed);
    let stale = lock("controller-0", 5);
    assert!(
        !storage
            .update_if_lock(&failed, Some(&stale), None)
            .await
            .unwrap()
    );
    assert!(!storage.update_if_lock(&failed, None, None).await.unwrap());
    assert_eq!(
        storage.history("locked").await.unwrap()[0].release.status(),
        Status::PendingInstall
    );
    let seen = storage.lock_of("locked", 1).await.unwrap();
    assert!(
        storage
            .update_if_lock(&failed, seen.as_ref(), None)
            .await
            .unwrap()
    );
    assert_eq!(storage.lock_of("locked", 1).await.unwrap(), None);
    assert_eq!(
        storage.history("locked").await.unwrap()[0].release.status(),
        Status::Failed
    );

    // A revision that exists cannot be created again; missing ones are NotFound.
    assert!(matches!(
        storage.create(&release, 0, None).await,
        Err(Error::Kube { .. })
    ));
    assert!(matches!(
        storage.lock_of("locked", 2).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        storage
            .update(&our_release(&ns.name, "locked", 2, "deployed"), None)
            .await,
        Err(Error::NotFound(_))
    ));
    storage.delete("locked", 1).await.unwrap();
    assert!(matches!(
        storage.delete("locked", 1).await,
        Err(Error::NotFound(_))
    ));
    assert!(storage.history("locked").await.unwrap().is_empty());
    assert!(matches!(
        storage.history("bad,name").await,
        Err(Error::Invalid(_))
    ));
}

/// Not a test of storage, but of the fixture: the stored release our test helper builds must
/// decode through the same path as Helm's.
#[test]
fn the_fixture_round_trips() {
    let release = our_release("ns", "web", 3, "deployed");
    let secret = helmrelease_release::storage::to_secret(
        &release,
        &helmrelease_release::ObjectOptions::default(),
    )
    .unwrap();
    let stored = StoredRelease::from_object(&secret, "").unwrap();
    assert_eq!(stored.release, release);
}
