//! helm-controller's digests against goldens computed by Flux's and Helm's own Go code.
//!
//! `digest_cases.json` holds the inputs; `digest_goldens.json` what `oracle/main.go` printed
//! for them (fluxcd/pkg/chartutil `DigestValues`; helm-controller's `Observation` encoded with
//! `json.NewEncoder` over Helm 4's release types; the same encoder over the API types of
//! `postRenderers` and `commonMetadata`). Regenerate with
//! `cd crates/flux/tests/oracle && GOFLAGS=-mod=mod go run . < ../digest_cases.json > ../digest_goldens.json`
//! (Go and the module proxy needed; CI only reads the goldens).

use helmrelease_crds::helmrelease::PostRenderer;
use helmrelease_crds::meta::Metadata;
use helmrelease_flux::digest;
use helmrelease_release::Release;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn pairs(section: &str) -> Vec<(Value, String)> {
    let (cases, goldens) = (load("digest_cases.json"), load("digest_goldens.json"));
    let inputs = cases[section].as_array().cloned().unwrap_or_default();
    let wanted = goldens[section].as_array().cloned().unwrap_or_default();
    assert_eq!(
        inputs.len(),
        wanted.len(),
        "{section}: regenerate the goldens"
    );
    inputs
        .into_iter()
        .zip(
            wanted
                .into_iter()
                .map(|g| g.as_str().unwrap_or_default().to_string()),
        )
        .collect()
}

#[test]
fn config_digests_are_fluxs() {
    let mut checked = 0;
    for (i, (values, want)) in pairs("values").into_iter().enumerate() {
        let map = values.as_object().cloned().unwrap_or_default();
        let got = digest::config_digest(&map);
        assert_eq!(got, want, "values case {i}: {values}");
        checked += 1;
    }
    assert!(checked >= 5, "{checked}");
}

#[test]
fn release_digests_are_helm_controllers() {
    for (i, (case, want)) in pairs("releases").into_iter().enumerate() {
        let release: Release = serde_json::from_value(case["release"].clone())
            .unwrap_or_else(|e| panic!("case {i}: {e}"));
        let oci = case["ociDigest"].as_str().filter(|s| !s.is_empty());
        assert_eq!(
            digest::release_digest(&release, oci),
            want,
            "release case {i}"
        );
    }
}

#[test]
fn post_renderers_and_common_metadata_digests_are_helm_controllers() {
    for (i, (case, want)) in pairs("postRenderers").into_iter().enumerate() {
        let renderers: Vec<PostRenderer> =
            serde_json::from_value(case).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(
            digest::post_renderers_digest(&renderers),
            want,
            "postRenderers case {i}"
        );
    }
    for (i, (case, want)) in pairs("commonMetadata").into_iter().enumerate() {
        let common: Metadata =
            serde_json::from_value(case).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(
            digest::common_metadata_digest(&common),
            want,
            "commonMetadata case {i}"
        );
    }
}

#[test]
fn empty_values_hash_as_nothing() {
    assert_eq!(
        digest::config_digest(&serde_json::Map::new()),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
