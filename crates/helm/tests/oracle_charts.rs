//! Whole charts rendered by our engine and by the Helm reference renderer
//! (`../shared/tools/gotmpl-oracle` in `render_all` mode: Go text/template, Sprig and Helm's
//! functions), template by template. The oracle models one chart (no subchart scoping), so the
//! comparison covers each chart's own templates with the values coalesced as Helm does.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_helm::render::{TemplateOptions, render_with_values};
use helmrelease_helm::values::ValueOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn oracle() -> Option<PathBuf> {
    let path = std::env::var_os("HELM_ORACLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/helm-oracle"));
    // The tests run in parallel; building the oracle twice at once breaks both builds.
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        if !path.exists() {
            let _ = Command::new(repo().join("scripts/build-helm-oracle.sh"))
                .arg(&path)
                .status();
        }
    });
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("GOTMPL_REQUIRE_ORACLE").is_none(),
        "the Helm oracle could not be built (Go and Debian's Sprig packages are needed)"
    );
    eprintln!("no Helm oracle (Go is not installed); skipping");
    None
}

fn compare(chart_dir: &str, set: &[&str]) {
    let Some(oracle) = oracle() else { return };
    let chart = helmrelease_helm::chart::load(repo().join(chart_dir)).unwrap();
    let name = chart.name().to_string();
    let metadata = chart.metadata.to_value().to_json();
    let files: serde_json::Map<String, serde_json::Value> = chart
        .files
        .iter()
        .map(|f| (f.name.clone(), String::from_utf8_lossy(&f.data).into()))
        .collect();
    let templates: serde_json::Map<String, serde_json::Value> = chart
        .templates
        .iter()
        .map(|t| {
            (
                format!("{name}/{}", t.name),
                String::from_utf8_lossy(&t.data).into(),
            )
        })
        .collect();
    let options = TemplateOptions {
        release_name: "rel".into(),
        namespace: "ns".into(),
        values: ValueOptions {
            values: set.iter().map(|s| s.to_string()).collect(),
            ..ValueOptions::default()
        },
        ..TemplateOptions::default()
    };
    let user = options.values.merge_values().unwrap();
    let ours = render_with_values(chart, &user, &options).unwrap();
    let request = serde_json::json!({
        "templates": templates,
        "values": ours.values.to_json(),
        "chart": metadata,
        "release": {"Name": "rel", "Namespace": "ns"},
        "files": files,
        "profile": "3.21",
        "tpl_mode": "3.14",
        "render_all": true,
    });
    let mut child = Command::new(oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let go: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("oracle said: {}", String::from_utf8_lossy(&out.stdout)));
    let go = go.as_object().unwrap();
    let mut compared = 0;
    for (template, want) in go {
        let have = ours.files.get(template).cloned().unwrap_or_default();
        assert_eq!(
            have,
            want.as_str().unwrap_or_default(),
            "{template} differs from Go's render"
        );
        compared += 1;
    }
    assert!(compared > 0, "the oracle rendered nothing: {go:?}");
}

#[test]
fn functions_chart_renders_as_go_does() {
    compare("crates/helm/tests/charts/functions", &[]);
}

#[test]
fn functions_chart_with_set_values_renders_as_go_does() {
    compare(
        "crates/helm/tests/charts/functions",
        &["name=other", "enabled=false", "tags={a,b}"],
    );
}

#[test]
fn example_chart_renders_as_go_does() {
    compare("examples/charts/webapp", &["password=s3cret"]);
}
