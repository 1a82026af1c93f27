//! The composition rules, one test each, over in-memory objects.

use helmrelease_crds::helmrelease::HelmRelease;
use helmrelease_flux::chart::{
    Credentials, ValuesFiles, apply_values_files, docker_config_auth, repository_auth,
    repository_ca,
};
use helmrelease_flux::{MemoryReader, ReleaseLocation, SecretValues, compose_values, desired};
use serde_json::{Value, json};

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn hr(spec: Value) -> HelmRelease {
    let mut spec = spec;
    spec["interval"] = json!("5m");
    helmrelease_flux::helmrelease_from_value(
        &json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": "apps"}, "spec": spec}),
        "default",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn configmap(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "apps"}, "data": data})
}

fn secret(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "apps"}, "data": data})
}

fn compose(reader: &MemoryReader, spec: Value) -> Result<Value, String> {
    compose_values(reader, &hr(spec))
        .map(|v| v.to_json())
        .map_err(|e| e.to_string())
}

#[test]
fn later_values_from_entries_win_and_inline_values_win_over_all() {
    let reader = MemoryReader::new(vec![
        configmap(
            "one",
            json!({"values.yaml": "a: 1\nm: {x: 1, z: 1}\nlist: [1, 2]\n"}),
        ),
        configmap(
            "two",
            json!({"values.yaml": "a: 2\nm: {z: 2}\nlist: [3]\n"}),
        ),
    ]);
    let spec = json!({"valuesFrom": [{"kind": "ConfigMap", "name": "one"}, {"kind": "ConfigMap", "name": "two"}],
        "values": {"m": {"x": "inline"}}});
    assert_eq!(
        compose(&reader, spec),
        Ok(json!({"a": 2.0, "m": {"x": "inline", "z": 2.0}, "list": [3.0]}))
    );
}

#[test]
fn target_paths_follow_set_syntax_with_escaped_dots_and_indices() {
    let reader = MemoryReader::new(vec![secret(
        "creds",
        json!({"pw": b64("a,b"), "host": b64("db.local")}),
    )]);
    let spec = json!({"valuesFrom": [
        {"kind": "Secret", "name": "creds", "valuesKey": "pw", "targetPath": "db.password"},
        {"kind": "Secret", "name": "creds", "valuesKey": "host", "targetPath": "annotations.app\\.io/host"},
        {"kind": "Secret", "name": "creds", "valuesKey": "host", "targetPath": "hosts[1]"}
    ]});
    assert_eq!(
        compose(&reader, spec),
        Ok(
            json!({"db": {"password": "a,b"}, "annotations": {"app.io/host": "db.local"},
            "hosts": [null, "db.local"]})
        )
    );
}

#[test]
fn literal_target_paths_keep_the_value_as_written() {
    let reader = MemoryReader::new(vec![configmap("c", json!({"v": "true"}))]);
    let set = |literal: bool| {
        compose(
            &reader,
            json!({"valuesFrom": [{"kind": "ConfigMap", "name": "c", "valuesKey": "v", "targetPath": "x", "literal": literal}]}),
        )
    };
    assert_eq!(set(false), Ok(json!({"x": true})));
    assert_eq!(set(true), Ok(json!({"x": "true"})));
}

#[test]
fn optional_entries_may_miss_their_object_or_key_others_may_not() {
    let reader = MemoryReader::new(vec![configmap("base", json!({"values.yaml": "a: 1\n"}))]);
    assert_eq!(
        compose(
            &reader,
            json!({"valuesFrom": [
                {"kind": "ConfigMap", "name": "absent", "optional": true},
                {"kind": "ConfigMap", "name": "base", "valuesKey": "other", "optional": true},
                {"kind": "ConfigMap", "name": "base"}]})
        ),
        Ok(json!({"a": 1.0}))
    );
    assert_eq!(
        compose(
            &reader,
            json!({"valuesFrom": [{"kind": "Secret", "name": "nope"}]})
        ),
        Err("could not find Secret 'apps/nope' (spec.valuesFrom)".into())
    );
    assert_eq!(
        compose(
            &reader,
            json!({"valuesFrom": [{"kind": "ConfigMap", "name": "base", "valuesKey": "other"}]})
        ),
        Err("missing key 'other' in ConfigMap 'apps/base' (spec.valuesFrom)".into())
    );
}

#[test]
fn the_values_key_defaults_to_values_yaml() {
    let reader = MemoryReader::new(vec![configmap(
        "c",
        json!({"values.yaml": "from: default\n", "other.yaml": "from: other\n"}),
    )]);
    assert_eq!(
        compose(
            &reader,
            json!({"valuesFrom": [{"kind": "ConfigMap", "name": "c"}]})
        ),
        Ok(json!({"from": "default"}))
    );
}

#[test]
fn secret_values_are_masked_and_never_in_errors() {
    let reader = MemoryReader::new(vec![secret("s", json!({"v": b64("hunter2")}))]);
    // A malformed assignment: the error names the Secret, not its value.
    let err = compose(
        &reader,
        json!({"valuesFrom": [{"kind": "Secret", "name": "s", "valuesKey": "v", "targetPath": "a[x]"}]}),
    );
    assert!(
        err.as_ref().is_err_and(|e| !e.contains("hunter2")),
        "{err:?}"
    );
    let hr = hr(
        json!({"valuesFrom": [{"kind": "Secret", "name": "s", "valuesKey": "v", "targetPath": "db.pw"}]}),
    );
    let secrets = SecretValues::of_typed(&hr);
    let mut v = json!({"db": {"pw": "hunter2", "user": "app"}});
    secrets.mask(&mut v);
    assert_eq!(v, json!({"db": {"pw": "***", "user": "app"}}));
}

#[test]
fn release_names_compose_and_shorten_past_53_characters() {
    let plain = hr(json!({}));
    assert_eq!(
        ReleaseLocation::of(&plain),
        ReleaseLocation {
            name: "web".into(),
            namespace: "apps".into(),
            storage_namespace: "apps".into()
        }
    );
    let long_ns = "n".repeat(50);
    let long = hr(json!({"targetNamespace": long_ns, "storageNamespace": "store"}));
    let location = ReleaseLocation::of(&long);
    assert_eq!(location.name.len(), 53);
    assert!(location.name.starts_with(&format!("{}-", "n".repeat(40))));
    assert_eq!(location.namespace, long_ns);
    assert_eq!(location.storage_namespace, "store");
    assert_eq!(
        ReleaseLocation::of(&hr(json!({"releaseName": "x", "targetNamespace": "t"}))).name,
        "x"
    );
}

fn deployment() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"a": "1"}},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [
            {"name": "app", "image": "nginx:1.25"},
            {"name": "side", "image": "registry:5000/tools/side"}]}}}})
}

#[test]
fn post_renderers_apply_in_order_then_origin_labels_then_common_metadata() {
    // The second renderer sees the first's result; commonMetadata overrides an origin label.
    let hr = hr(json!({
        "postRenderers": [
            {"kustomize": {"patches": [{"target": {"kind": "Deployment"},
                "patch": "- op: replace\n  path: /spec/replicas\n  value: 3\n"}],
                "images": [{"name": "nginx", "newName": "mirror/nginx"}]}},
            {"kustomize": {"patches": [{"target": {"kind": "Deployment"},
                "patch": "- op: copy\n  from: /spec/replicas\n  path: /metadata/labels/replicas\n"}],
                "images": [{"name": "mirror/nginx", "newTag": "1.27"}, {"name": "registry:5000/tools/side", "digest": "sha256:abc"}]}}
        ],
        "commonMetadata": {"labels": {"team": "a", "helm.toolkit.fluxcd.io/name": "override"}, "annotations": {"x": "y"}}
    }));
    let mut objects = vec![deployment()];
    assert!(desired::post_render(&hr, &mut objects, "apps").is_ok());
    let o = &objects[0];
    assert_eq!(o["spec"]["replicas"], 3);
    assert_eq!(o["metadata"]["labels"]["replicas"], 3);
    let containers = &o["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["image"], "mirror/nginx:1.27");
    assert_eq!(
        containers[1]["image"],
        "registry:5000/tools/side@sha256:abc"
    );
    assert_eq!(
        o["metadata"]["labels"]["helm.toolkit.fluxcd.io/namespace"],
        "apps"
    );
    assert_eq!(
        o["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"],
        "override"
    );
    assert_eq!(o["metadata"]["labels"]["team"], "a");
    assert_eq!(o["metadata"]["annotations"], json!({"x": "y"}));
}

#[test]
fn strategic_merge_patches_and_their_errors() {
    let hr_ok = hr(json!({"postRenderers": [{"kustomize": {"patches": [{
        "patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: side\n        $patch: delete\n"}]}}]}));
    let mut objects = vec![deployment()];
    assert!(desired::post_render(&hr_ok, &mut objects, "apps").is_ok());
    assert_eq!(
        objects[0]["spec"]["template"]["spec"]["containers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let bad = hr(
        json!({"postRenderers": [{"kustomize": {"patches": [{"patch": "- op: add\n  path: /x\n  value: 1\n"}]}}]}),
    );
    assert_eq!(
        desired::post_render(&bad, &mut objects, "apps").map_err(|e| e.to_string()),
        Err("spec.postRenderers: a JSON 6902 patch needs a target".into())
    );
}

#[test]
fn values_files_replace_the_chart_defaults_as_source_controller_merges_them() {
    use helmrelease_helm::chart::{File, load_files};
    let file = |name: &str, data: &str| File {
        name: name.into(),
        data: data.as_bytes().to_vec(),
    };
    let chart = || {
        load_files(vec![
            file("Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
            file(
                "values.yaml",
                "replicas: 1\nimage: {repo: web, tag: '1'}\nkeep: yes\n",
            ),
            file(
                "values-prod.yaml",
                "replicas: 3\nimage: {tag: '2'}\nkeep: null\n",
            ),
            file("bad.yaml", "a: [\n"),
        ])
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let values = |paths: &[&str], ignore_missing: bool| {
        let mut c = chart();
        let files = ValuesFiles {
            paths: paths.iter().map(|p| p.to_string()).collect(),
            ignore_missing,
        };
        apply_values_files(&mut c, &files)
            .map(|()| c.values.to_json())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        values(&["values.yaml", "./values-prod.yaml"], false),
        Ok(json!({"replicas": 3.0, "image": {"repo": "web", "tag": "2"}, "keep": null}))
    );
    assert_eq!(
        values(&["values-prod.yaml"], false),
        Ok(json!({"replicas": 3.0, "image": {"tag": "2"}, "keep": null}))
    );
    assert_eq!(
        values(&["values-dev.yaml"], false),
        Err("no values file found at path 'values-dev.yaml'".into())
    );
    assert!(
        values(&["bad.yaml"], false)
            .is_err_and(|e| e.starts_with("unmarshaling values from 'bad.yaml' failed: "))
    );
    assert_eq!(
        values(&["values-dev.yaml"], true),
        Ok(json!({"replicas": 1.0, "image": {"repo": "web", "tag": "1"}, "keep": true}))
    );
}

#[test]
fn docker_config_secrets_give_the_registry_host_credentials() {
    let config = json!({"auths": {
        "https://index.docker.io/v1/": {"username": "hub", "password": "x"},
        "ghcr.io": {"auth": b64("bob:token")},
        "registry.example.com:5000": {"username": "ann", "password": "pw"},
    }})
    .to_string();
    let user = |url: &str| match docker_config_auth(config.as_bytes(), url) {
        Some(helmrelease_sources::Auth::Basic { username, password }) => {
            Some(format!("{username}:{password}"))
        }
        _ => None,
    };
    assert_eq!(
        user("oci://ghcr.io/org/charts").as_deref(),
        Some("bob:token")
    );
    assert_eq!(
        user("oci://registry.example.com:5000/charts").as_deref(),
        Some("ann:pw")
    );
    assert_eq!(
        user("oci://index.docker.io/library").as_deref(),
        Some("hub:x")
    );
    assert_eq!(user("oci://quay.io/x"), None);
    assert!(docker_config_auth(b"not json", "oci://ghcr.io/x").is_none());
}

#[test]
fn repository_credentials_come_from_its_secrets() {
    use helmrelease_crds::meta::LocalObjectReference;
    let reader = MemoryReader::new(vec![secret(
        "repo-auth",
        json!({"username": b64("bot"), "password": b64("pw"), "ca.crt": b64("PEM")}),
    )]);
    let auth = LocalObjectReference {
        name: "repo-auth".into(),
    };
    let credentials = Credentials {
        secret_ref: Some(&auth),
        cert_secret_ref: Some(&auth),
    };
    match repository_auth(&reader, &credentials, "apps", None) {
        Ok(Some(helmrelease_sources::Auth::Basic { username, password })) => {
            assert_eq!((username.as_str(), password.as_str()), ("bot", "pw"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        repository_ca(&reader, &credentials, "apps").ok().flatten(),
        Some(b"PEM".to_vec())
    );
    let gone = LocalObjectReference {
        name: "gone".into(),
    };
    let missing = Credentials {
        secret_ref: Some(&gone),
        cert_secret_ref: None,
    };
    assert!(repository_auth(&reader, &missing, "apps", None).is_err());
    assert!(matches!(
        repository_auth(&reader, &Credentials::default(), "apps", None),
        Ok(None)
    ));
}

#[test]
fn a_missing_repository_points_at_the_namespace_that_has_it() {
    let reader = MemoryReader::new(vec![json!({"apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository", "metadata": {"name": "charts", "namespace": "flux-system"},
        "spec": {"url": "https://charts.example"}})]);
    let hr = hr(
        json!({"chart": {"spec": {"chart": "web", "sourceRef": {"kind": "HelmRepository", "name": "charts"}}}}),
    );
    let err = helmrelease_flux::load_chart(&reader, &hr, &Default::default()).map(|_| ());
    assert_eq!(
        err.map_err(|e| e.to_string()),
        Err("HelmRepository apps/charts not found (the HelmRelease's spec.chart.spec.sourceRef); one exists in namespace flux-system; set spec.chart.spec.sourceRef.namespace".into())
    );
}
