//! kube-rs against the emulator: CRDs from `crds/`, defaulting, watch order, conflicts,
//! finalizers.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use futures::StreamExt;
use helmrelease_crds::HelmRelease;
use helmrelease_emulator::Emulator;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use std::time::Duration;

async fn client(emulator: &Emulator) -> kube::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Through the kubeconfig the emulator writes: HTTPS, trusting its CA.
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&emulator.kubeconfig()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    assert!(
        config
            .cluster_url
            .to_string()
            .starts_with("https://127.0.0.1:")
    );
    kube::Client::try_from(config).unwrap()
}

async fn install_crds(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crds");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let crd: CustomResourceDefinition = serde_saphyr_free(&text);
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
}

/// The generated CRD files hold one document after a comment and `---`.
fn serde_saphyr_free(text: &str) -> CustomResourceDefinition {
    let body = text.split_once("\n---\n").map(|(_, b)| b).unwrap_or(text);
    let value: serde_json::Value = serde_json::to_value(yaml_to_json(body)).unwrap();
    serde_json::from_value(value).unwrap()
}

fn yaml_to_json(text: &str) -> serde_json::Value {
    // The crds crate depends on serde-saphyr; reuse it through the manifest parser.
    helmrelease_manifest::parse(text, "crd")
        .unwrap()
        .remove(0)
        .value
}

async fn namespace(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &ns).await.unwrap();
}

#[tokio::test]
async fn helmreleases_get_crd_defaults_and_status() {
    let emulator = Emulator::start(0).await.unwrap();
    let client = client(&emulator).await;
    install_crds(&client).await;
    namespace(&client, "apps").await;
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), "apps");
    let hr: HelmRelease = serde_json::from_value(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": {"name": "podinfo"},
        "spec": {"interval": "5m", "chart": {"spec": {"chart": "podinfo",
                 "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}}}
    }))
    .unwrap();
    api.create(&PostParams::default(), &hr).await.unwrap();
    let back = api.get("podinfo").await.unwrap();
    let chart = back.spec.chart.unwrap().spec;
    assert_eq!(
        chart.version.as_deref(),
        Some("*"),
        "an omitted version arrives as \"*\", as in a cluster"
    );
    assert_eq!(back.status.unwrap().observed_generation, Some(-1));
    assert_eq!(back.metadata.generation, Some(1));

    // Objects in a namespace that does not exist are refused, as by the apiserver.
    let elsewhere: Api<HelmRelease> = Api::namespaced(client.clone(), "nope");
    let err = elsewhere
        .create(&PostParams::default(), &hr)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404),
        "{err:?}"
    );
}

#[tokio::test]
async fn watch_sees_create_update_delete_in_order_and_stale_updates_conflict() {
    let emulator = Emulator::start(0).await.unwrap();
    let client = client(&emulator).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    // Watchers start when polled: run them in tasks that report every event.
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let watch = watcher(api.clone(), watcher::Config::default().labels("app=demo"));
    tokio::spawn(async move {
        let mut stream = Box::pin(watch);
        while let Some(Ok(event)) = stream.next().await {
            let summary = match event {
                watcher::Event::Apply(cm) => format!("apply {}", cm.data.unwrap_or_default()["a"]),
                watcher::Event::Delete(cm) => {
                    format!("delete {}", cm.metadata.name.unwrap_or_default())
                }
                _ => continue,
            };
            if tx.send(summary).is_err() {
                break;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "demo", "labels": {"app": "demo"}}, "data": {"a": "1"}}),
    )
    .unwrap();
    let created = api.create(&PostParams::default(), &cm).await.unwrap();
    let mut changed = created.clone();
    changed.data = Some([("a".to_string(), "2".to_string())].into());
    let updated = api
        .replace("demo", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_ne!(
        created.metadata.resource_version,
        updated.metadata.resource_version
    );

    // The first write's resourceVersion is stale now.
    let err = api
        .replace("demo", &PostParams::default(), &changed)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "Conflict"),
        "{err:?}"
    );

    api.delete("demo", &DeleteParams::default()).await.unwrap();
    let seen: Vec<String> = tokio::time::timeout(Duration::from_secs(5), async {
        let mut out = Vec::new();
        while out.len() < 3 {
            out.push(events.recv().await.unwrap());
        }
        out
    })
    .await
    .unwrap();
    assert_eq!(seen, vec!["apply 1", "apply 2", "delete demo"]);
    assert!(api.get_opt("demo").await.unwrap().is_none());
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed_and_patches_apply() {
    let emulator = Emulator::start(0).await.unwrap();
    let client = client(&emulator).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}),
    )
    .unwrap();
    api.create(&PostParams::default(), &cm).await.unwrap();
    api.delete("held", &DeleteParams::default()).await.unwrap();
    let held = api.get("held").await.unwrap();
    assert!(
        held.metadata.deletion_timestamp.is_some(),
        "marked for deletion"
    );

    let merge = Patch::Merge(json!({"data": {"k": "v"}}));
    let patched = api
        .patch("held", &PatchParams::default(), &merge)
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["k"], "v");
    let remove = Patch::<()>::Json(
        serde_json::from_value(json!([{"op": "remove", "path": "/metadata/finalizers"}])).unwrap(),
    );
    api.patch("held", &PatchParams::default(), &remove)
        .await
        .unwrap();
    assert!(
        api.get_opt("held").await.unwrap().is_none(),
        "gone once the last finalizer is removed"
    );
}

#[tokio::test]
async fn server_side_apply_from_two_managers_conflicts_until_forced() {
    let emulator = Emulator::start(0).await.unwrap();
    let client = client(&emulator).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let config = |value: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"replicas": value}});
    api.patch(
        "shared",
        &PatchParams::apply("flux"),
        &Patch::Apply(config("2")),
    )
    .await
    .unwrap();
    // Same value from another manager: shared ownership, no conflict.
    api.patch(
        "shared",
        &PatchParams::apply("argo"),
        &Patch::Apply(config("2")),
    )
    .await
    .unwrap();
    let err = api
        .patch(
            "shared",
            &PatchParams::apply("helm"),
            &Patch::Apply(config("3")),
        )
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(status) => {
            assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
            assert!(
                status
                    .message
                    .contains(r#"conflict with "flux": .data.replicas"#),
                "{}",
                status.message
            );
        }
        other => panic!("{other:?}"),
    }
    let forced = api
        .patch(
            "shared",
            &PatchParams::apply("helm").force(),
            &Patch::Apply(config("3")),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["replicas"], "3");
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            m.fields_v1
                .as_ref()
                .is_some_and(|f| !f.0.as_object().is_none_or(|o| o.is_empty()))
        })
        .map(|m| m.manager.unwrap_or_default())
        .collect();
    assert_eq!(
        managers,
        vec!["helm"],
        "forcing takes the field from the others"
    );
    // An apply without a field manager is refused, as by the apiserver.
    let missing = PatchParams::default();
    assert!(
        api.patch("shared", &missing, &Patch::Apply(config("4")))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn lists_page_with_limit_and_continue() {
    let emulator = Emulator::start(0).await.unwrap();
    let client = client(&emulator).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for i in 0..5 {
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": format!("cm-{i}"), "labels": {"page": "yes"}}}),
        )
        .unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    let mut names = Vec::new();
    let mut params = kube::api::ListParams::default().labels("page=yes").limit(2);
    let mut pages = 0;
    loop {
        let page = api.list(&params).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        names.extend(page.items.into_iter().map(|c| c.metadata.name.unwrap()));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => {
                assert!(page.metadata.remaining_item_count.is_some());
                params = params.continue_token(&token);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"]);
    let bad = api
        .list(&kube::api::ListParams::default().continue_token("zz"))
        .await
        .unwrap_err();
    assert!(
        matches!(bad, kube::Error::Api(ref s) if s.code == 400),
        "{bad:?}"
    );
}

#[tokio::test]
async fn streaming_list_watchers_get_the_initial_events_end_bookmark() {
    let emulator = Emulator::start(0).await.unwrap();
    let client = client(&emulator).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "before"}})).unwrap();
    api.create(&PostParams::default(), &cm).await.unwrap();
    // kube-rs's streaming list waits for the bookmark that ends the initial events: without it
    // the watcher would never report InitDone.
    let config = watcher::Config::default().streaming_lists();
    let mut stream = Box::pin(watcher(api.clone(), config));
    let seen = tokio::time::timeout(Duration::from_secs(5), async {
        let mut out = Vec::new();
        while let Some(Ok(event)) = stream.next().await {
            match event {
                watcher::Event::InitApply(cm) => out.push(cm.metadata.name.unwrap()),
                watcher::Event::InitDone => break,
                _ => {}
            }
        }
        out
    })
    .await
    .unwrap();
    assert_eq!(seen, ["before"]);
}
