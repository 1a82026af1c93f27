//! Charts read from the artifact source-controller publishes: a Git-sourced chart through its
//! generated HelmChart, an OCIRepository's with its digest in the version, and the errors for
//! a source that is not ready or an archive whose digest does not match.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_crds::helmrelease::HelmRelease;
use helmrelease_flux::{ChartOptions, MemoryReader, load_chart};
use helmrelease_testcluster::charts;
use serde_json::{Value, json};
use std::path::Path;

fn archive() -> Vec<u8> {
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/charts/webapp");
    charts::tgz("webapp", &chart).unwrap()
}

fn hr(spec: Value) -> HelmRelease {
    serde_json::from_value(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": spec,
    }))
    .unwrap()
}

fn source(kind: &str, name: &str, ready: &str, url: &str, digest: &str, revision: &str) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": kind,
        "metadata": {"name": name, "namespace": "flux", "generation": 1},
        "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": ready, "message": "building"}],
            "artifact": {"url": url, "digest": digest, "revision": revision},
        },
    })
}

fn git_hr() -> HelmRelease {
    hr(json!({"interval": "5m", "chart": {"spec": {
        "chart": "./charts/webapp",
        "sourceRef": {"kind": "GitRepository", "name": "repo", "namespace": "flux"},
    }}}))
}

#[test]
fn a_git_sourced_chart_comes_from_its_helmchart_artifact() {
    let data = archive();
    let digest = format!("sha256:{}", charts::sha256_hex(&data));
    let url = charts::serve(vec![("/webapp.tgz".into(), data)]).unwrap();
    let url = format!("{url}/webapp.tgz");
    let reader = MemoryReader::new(vec![source(
        "HelmChart",
        "apps-web",
        "True",
        &url,
        &digest,
        "1.2.3",
    )]);
    let loaded = load_chart(&reader, &git_hr(), &ChartOptions::default()).unwrap();
    assert_eq!(loaded.chart.metadata.name, "webapp");
    assert_eq!(loaded.chart.metadata.version, "1.2.3");

    let wrong = MemoryReader::new(vec![source(
        "HelmChart",
        "apps-web",
        "True",
        &url,
        "sha256:00",
        "1.2.3",
    )]);
    let err = load_chart(&wrong, &git_hr(), &ChartOptions::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("computed digest doesn't match 'sha256:00'"),
        "{err}"
    );

    let pending = MemoryReader::new(vec![source("HelmChart", "apps-web", "False", "", "", "")]);
    let err = load_chart(&pending, &git_hr(), &ChartOptions::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("HelmChart 'flux/apps-web' is not ready: building") && err.contains("--chart"),
        "{err}"
    );
}

#[test]
fn an_oci_artifact_puts_its_digest_in_the_chart_version() {
    let data = archive();
    let url = charts::serve(vec![("/oci.tgz".into(), data)]).unwrap();
    let published = helmrelease_flux::artifact::Published {
        url: format!("{url}/oci.tgz"),
        digest: String::new(),
        oci_digest: Some("sha256:0123456789abcdef0123".into()),
    };
    let artifact = helmrelease_flux::artifact::download(&published).unwrap();
    let loaded = artifact.chart().unwrap();
    assert_eq!(loaded.chart.metadata.version, "1.2.3+0123456789ab");
    assert_eq!(
        loaded.oci_digest.as_deref(),
        Some("sha256:0123456789abcdef0123")
    );
}
