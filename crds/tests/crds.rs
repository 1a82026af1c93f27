//! The generated CRDs are current, the typed structs round-trip Flux's own example manifests, and
//! our schemas accept what Flux's CRDs accept.

#![allow(clippy::expect_used, clippy::unwrap_used)] // helpers of tests: panicking is failing

mod support;

use helmrelease_crds::{HelmChart, HelmRelease, HelmRepository, OCIRepository, crdgen};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::structural::validate;
use support::yaml_docs;

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/flux")
}

fn examples() -> Vec<(String, Value)> {
    let mut paths: Vec<_> = std::fs::read_dir(reference().join("examples"))
        .expect("examples folder")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    assert!(paths.len() >= 6, "expected Flux's example manifests");
    paths
        .iter()
        .flat_map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            yaml_docs(p).into_iter().map(move |d| (name.clone(), d))
        })
        .collect()
}

/// Schema of `kind`/`version` from a CRD document.
fn schema_of(crd: &Value, version: &str) -> Value {
    crd["spec"]["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .find(|v| v["name"] == version)
        .map(|v| v["schema"]["openAPIV3Schema"].clone())
        .unwrap_or_else(|| panic!("no version {version}"))
}

fn flux_crd(kind: &str) -> Value {
    let file = match kind {
        "HelmRelease" => "helm.toolkit.fluxcd.io_helmreleases.yaml",
        "HelmRepository" => "source.toolkit.fluxcd.io_helmrepositories.yaml",
        "HelmChart" => "source.toolkit.fluxcd.io_helmcharts.yaml",
        "OCIRepository" => "source.toolkit.fluxcd.io_ocirepositories.yaml",
        other => panic!("no Flux CRD for {other}"),
    };
    yaml_docs(&reference().join("crds").join(file)).remove(0)
}

fn our_crd(kind: &str) -> Value {
    let crd = crdgen::all()
        .expect("generate")
        .into_iter()
        .find(|g| g.crd.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    serde_json::to_value(crd.crd).expect("CRD to JSON")
}

#[test]
fn committed_crd_yaml_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for generated in crdgen::all().expect("generate") {
        let path = dir.join(&generated.file_name);
        let want = crdgen::to_yaml(&generated.crd).expect("yaml");
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            want == have,
            "{} is stale: run `cargo run -p helmrelease-crds --bin crdgen` and commit the result",
            path.display()
        );
    }
}

#[test]
fn generated_yaml_parses_back_to_the_same_crd() {
    for generated in crdgen::all().expect("generate") {
        let yaml = crdgen::to_yaml(&generated.crd).expect("yaml");
        let back: Value = serde_saphyr::from_str(&yaml).expect("parse generated YAML");
        assert_eq!(back, serde_json::to_value(&generated.crd).expect("json"));
    }
}

fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(doc: &Value) -> Value {
    let typed: T = serde_json::from_value(doc.clone()).expect("parse typed");
    serde_json::to_value(&typed).expect("serialise typed")
}

#[test]
fn flux_examples_round_trip_through_the_typed_structs() {
    let mut seen = 0;
    for (file, doc) in examples() {
        let back = match (doc["apiVersion"].as_str(), doc["kind"].as_str()) {
            (Some("helm.toolkit.fluxcd.io/v2"), Some("HelmRelease")) => {
                roundtrip::<HelmRelease>(&doc)
            }
            (Some("source.toolkit.fluxcd.io/v1"), Some("HelmRepository")) => {
                roundtrip::<HelmRepository>(&doc)
            }
            (Some("source.toolkit.fluxcd.io/v1"), Some("HelmChart")) => {
                roundtrip::<HelmChart>(&doc)
            }
            (Some("source.toolkit.fluxcd.io/v1"), Some("OCIRepository")) => {
                roundtrip::<OCIRepository>(&doc)
            }
            _ => continue,
        };
        seen += 1;
        assert_eq!(back, doc, "{file}: a field was lost or changed");
    }
    assert!(seen >= 10, "only {seen} Flux objects in the examples");
}

#[test]
fn unknown_fields_do_not_fail_parsing() {
    let doc = json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {"interval": "1m", "someFutureField": {"a": 1},
                 "chart": {"spec": {"chart": "c", "sourceRef": {"kind": "HelmRepository", "name": "r"}, "newThing": true}}},
        "status": {"brandNewStatus": 3}
    });
    let hr: HelmRelease = serde_json::from_value(doc).expect("unknown fields are ignored");
    assert_eq!(hr.spec.interval, "1m");
}

#[test]
fn our_schemas_accept_everything_flux_accepts_in_the_examples() {
    let mut checked = 0;
    for (file, doc) in examples() {
        let (Some(api_version), Some(kind)) = (doc["apiVersion"].as_str(), doc["kind"].as_str())
        else {
            continue;
        };
        if !api_version.contains(".fluxcd.io/") {
            continue;
        }
        let version = api_version.rsplit('/').next().unwrap_or_default();
        let flux_errors = validate(&schema_of(&flux_crd(kind), version), &doc);
        assert!(
            flux_errors.is_empty(),
            "{file}: Flux's schema rejects its own example: {flux_errors:?}"
        );
        let ours = validate(&schema_of(&our_crd(kind), version), &doc);
        assert!(
            ours.is_empty(),
            "{file} {kind}: our schema rejects what Flux accepts: {ours:?}"
        );
        checked += 1;
    }
    assert!(checked >= 10);
}

/// Mutations of a valid HelmRelease that Flux's schema rejects must be rejected by ours too, and
/// the valid ones accepted by both: the two schemas agree on both sides of the line.
#[test]
fn our_helmrelease_schema_agrees_with_flux_on_edge_cases() {
    let base = json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": "default"},
        "spec": {"interval": "10m", "chart": {"spec": {"chart": "podinfo", "version": "6.5.4",
                 "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}}}
    });
    let cases: Vec<(&str, Value, bool)> = vec![
        ("/spec/interval", json!("5 minutes"), false),
        ("/spec/interval", json!("1h30m"), true),
        ("/spec/interval", json!("1.5h"), true),
        ("/spec/timeout", json!("300"), false),
        (
            "/spec/chart/spec/sourceRef/kind",
            json!("OCIRepository"),
            false,
        ),
        (
            "/spec/chart/spec/sourceRef/kind",
            json!("GitRepository"),
            true,
        ),
        ("/spec/chart/spec/sourceRef/namespace", json!(""), false),
        ("/spec/chart/spec/chart", json!(""), false),
        ("/spec/releaseName", json!("x".repeat(54)), false),
        ("/spec/releaseName", json!("x".repeat(53)), true),
        ("/spec/maxHistory", json!("5"), false),
        ("/spec/maxHistory", json!(0), true),
        ("/spec/driftDetection", json!({"mode": "on"}), false),
        (
            "/spec/driftDetection",
            json!({"mode": "warn", "ignore": [{"paths": ["/spec/replicas"]}]}),
            true,
        ),
        (
            "/spec/upgrade",
            json!({"remediation": {"strategy": "rollback", "retries": 3}}),
            true,
        ),
        (
            "/spec/upgrade",
            json!({"remediation": {"strategy": "Rollback"}}),
            false,
        ),
        (
            "/spec/upgrade",
            json!({"strategy": {"retryInterval": "1m"}}),
            false,
        ),
        (
            "/spec/install",
            json!({"crds": "CreateReplace", "serverSideApply": false}),
            true,
        ),
        ("/spec/install", json!({"crds": "Replace"}), false),
        (
            "/spec/valuesFrom",
            json!([{"kind": "Secret", "name": "s", "valuesKey": "a b"}]),
            false,
        ),
        (
            "/spec/valuesFrom",
            json!([{"kind": "Secret", "name": "s", "targetPath": "a.b[0]"}]),
            true,
        ),
        (
            "/spec/valuesFrom",
            json!([{"kind": "Service", "name": "s"}]),
            false,
        ),
        (
            "/spec/values",
            json!({"anything": [1, {"goes": null}]}),
            true,
        ),
        ("/spec/unknownField", json!(1), false),
        (
            "/spec/uninstall",
            json!({"deletionPropagation": "orphan"}),
            true,
        ),
        ("/spec/waitStrategy", json!({"name": "kstatus"}), false),
        ("/spec/postRenderStrategy", json!("separate"), true),
    ];
    let flux = schema_of(&flux_crd("HelmRelease"), "v2");
    let ours = schema_of(&our_crd("HelmRelease"), "v2");
    for (pointer, value, valid) in cases {
        let mut doc = base.clone();
        set_pointer(&mut doc, pointer, value.clone());
        let flux_ok = validate(&flux, &doc).is_empty();
        let ours_ok = validate(&ours, &doc).is_empty();
        assert_eq!(
            flux_ok, valid,
            "Flux's schema on {pointer}={value}: fixture expectation wrong"
        );
        assert_eq!(
            ours_ok, flux_ok,
            "{pointer}={value}: ours {ours_ok}, Flux {flux_ok}"
        );
    }
}

fn set_pointer(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    let target = doc.pointer_mut(parent).expect("parent exists");
    target[key] = value;
}

#[test]
fn both_oci_repository_versions_are_served_and_v1_is_stored() {
    let crd = our_crd("OCIRepository");
    let versions: Vec<(String, bool, bool)> = crd["spec"]["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap_or_default().to_string(),
                v["served"].as_bool().unwrap_or_default(),
                v["storage"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        versions.contains(&("v1".into(), true, true)),
        "{versions:?}"
    );
    assert!(
        versions.contains(&("v1beta2".into(), true, false)),
        "{versions:?}"
    );
}

#[test]
fn exactly_one_of_chart_and_chart_ref_is_a_cel_rule_on_the_spec() {
    let crd = our_crd("HelmRelease");
    let rules = &schema_of(&crd, "v2")["properties"]["spec"]["x-kubernetes-validations"];
    assert_eq!(rules[0]["message"], "either chart or chartRef must be set");
    let flux = flux_crd("HelmRelease");
    assert_eq!(
        rules[0]["rule"],
        schema_of(&flux, "v2")["properties"]["spec"]["x-kubernetes-validations"][0]["rule"]
    );
}

/// Every field of Flux's schemas exists in ours with the same type, enum, pattern, length
/// limits and required list: the two CRDs can stand in for each other.
#[test]
fn our_schemas_match_fluxs_field_for_field() {
    fn walk(flux: &Value, ours: &Value, path: &str, diffs: &mut Vec<String>) {
        for key in [
            "type",
            "enum",
            "pattern",
            "minLength",
            "maxLength",
            "x-kubernetes-preserve-unknown-fields",
        ] {
            if flux.get(key) != ours.get(key) {
                diffs.push(format!(
                    "{path}: {key} flux={:?} ours={:?}",
                    flux.get(key),
                    ours.get(key)
                ));
            }
        }
        let sorted = |v: Option<&Value>| {
            let mut items: Vec<String> = v
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            items.sort();
            items
        };
        if sorted(flux.get("required")) != sorted(ours.get("required")) {
            diffs.push(format!(
                "{path}: required flux={:?} ours={:?}",
                flux.get("required"),
                ours.get("required")
            ));
        }
        if let Some(props) = flux.get("properties").and_then(Value::as_object) {
            for (key, child) in props {
                if path.is_empty() && key == "metadata" {
                    continue;
                }
                match ours.pointer(&format!("/properties/{key}")) {
                    Some(ours_child) => walk(child, ours_child, &format!("{path}.{key}"), diffs),
                    None => diffs.push(format!("{path}.{key}: missing in ours")),
                }
            }
        }
        if let Some(props) = ours.get("properties").and_then(Value::as_object) {
            for key in props.keys() {
                if flux.pointer(&format!("/properties/{key}")).is_none() {
                    diffs.push(format!("{path}.{key}: not in Flux's schema"));
                }
            }
        }
        for key in ["items", "additionalProperties"] {
            if let (Some(f @ Value::Object(_)), Some(o)) = (flux.get(key), ours.get(key)) {
                walk(f, o, &format!("{path}[{key}]"), diffs);
            }
        }
    }
    let mut diffs = Vec::new();
    for kind in [
        "HelmRelease",
        "HelmRepository",
        "HelmChart",
        "OCIRepository",
    ] {
        let flux = flux_crd(kind);
        let version = flux["spec"]["versions"][0]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        walk(
            &schema_of(&flux, &version),
            &schema_of(&our_crd(kind), &version),
            kind,
            &mut diffs,
        );
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
