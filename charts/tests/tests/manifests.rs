//! `manifests/` is generated from the chart: each folder's YAML is our `template` of the chart
//! (byte-identical to official Helm's, see template.rs) with the values below, one file per
//! template. `HELMRELEASE_BLESS=1 cargo test -p helmrelease-chart-tests --test manifests`
//! rewrites them; otherwise any difference fails. The chart's CRD copies are checked against
//! their sources the same way.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_chart_tests::{chart, documents, ours, repo};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const HEADER: &str = "# Generated from charts/helmrelease by\n\
# `HELMRELEASE_BLESS=1 cargo test -p helmrelease-chart-tests --test manifests`; do not edit.\n";

/// (folder of manifests/, `--set` arguments, the chart's template folder it comes from).
const PROFILES: &[(&str, &[&str], &str)] = &[
    (
        "webhook",
        &["--set", "webhook.certificates.mode=secret"],
        "templates/webhook/",
    ),
    (
        "cert-manager",
        &["--set", "webhook.certificates.mode=certManager"],
        "templates/cert-manager/",
    ),
    (
        "controller",
        &[
            "--set",
            "webhook.enabled=false",
            "--set",
            "controller.enabled=true",
        ],
        "templates/controller/",
    ),
];

fn bless() -> bool {
    std::env::var_os("HELMRELEASE_BLESS").is_some()
}

/// The rendering of one profile, as file name -> content.
fn generate(args: &[&str], from: &str) -> BTreeMap<String, String> {
    let run = ours(args);
    assert_eq!(run.code, 0, "template {args:?}: {}", run.stderr);
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (source, body) in documents(&run.stdout) {
        let Some(name) = source.strip_prefix(&format!("helmrelease/{from}")) else {
            continue;
        };
        files.entry(name.to_string()).or_default().push(body);
    }
    files
        .into_iter()
        .map(|(name, docs)| (name, format!("{HEADER}{}", docs.join("---\n"))))
        .collect()
}

/// Compares `want` with the file at `path`, or writes it when blessing; returns a complaint.
fn check(path: &Path, want: &str) -> Option<String> {
    let have = std::fs::read_to_string(path).unwrap_or_default();
    if have == want {
        return None;
    }
    if bless() {
        std::fs::write(path, want).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return None;
    }
    Some(format!("{} is stale", path.display()))
}

#[test]
fn manifests_are_the_chart_rendered() {
    let mut stale = Vec::new();
    for (folder, args, from) in PROFILES {
        let dir = repo().join("manifests").join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        let files = generate(args, from);
        assert!(!files.is_empty(), "{folder}: nothing rendered");
        for (name, content) in &files {
            stale.extend(check(&dir.join(name), content));
        }
        // A generated file the chart no longer renders.
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.starts_with(HEADER) && !files.contains_key(&name) {
                if bless() {
                    std::fs::remove_file(&path).unwrap();
                } else {
                    stale.push(format!("{}: no longer rendered", path.display()));
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nrun: HELMRELEASE_BLESS=1 cargo test -p helmrelease-chart-tests --test manifests",
        stale.join("\n")
    );
}

fn objects(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap()
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

/// The cert-manager overlay (manifests/cert-manager/kustomization.yaml) patches only the
/// annotation the chart adds in certManager mode: the webhook configurations are otherwise
/// those of manifests/webhook.
#[test]
fn the_cert_manager_overlay_patches_what_the_chart_changes() {
    let plain = generate(PROFILES[0].1, "templates/webhook/");
    let run = ours(PROFILES[1].1);
    let with_cert_manager: BTreeMap<String, String> = documents(&run.stdout)
        .into_iter()
        .filter_map(|(s, body)| {
            s.strip_prefix("helmrelease/templates/webhook/")
                .map(|n| (n.to_string(), body))
        })
        .collect();
    let overlay =
        std::fs::read_to_string(repo().join("manifests/cert-manager/kustomization.yaml")).unwrap();
    let overlay = &objects(&overlay)[0];
    let mut patches = BTreeMap::new();
    for patch in overlay["patches"].as_array().unwrap() {
        let doc = &objects(patch["patch"].as_str().unwrap())[0];
        patches.insert(
            doc["kind"].as_str().unwrap().to_string(),
            doc["metadata"]["annotations"].clone(),
        );
    }
    assert_eq!(plain.len(), with_cert_manager.len());
    for (name, text) in &plain {
        let before = &objects(text)[0];
        let mut after = objects(&with_cert_manager[name])[0].clone();
        let kind = before["kind"].as_str().unwrap();
        if let Some(annotations) = patches.get(kind) {
            assert_eq!(&after["metadata"]["annotations"], annotations, "{kind}");
            after["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("annotations");
        }
        assert_eq!(
            before, &after,
            "{name}: certManager mode changes more than the overlay patches"
        );
    }
}

#[test]
fn the_charts_crds_are_copies_of_their_sources() {
    let files = chart().join("files/crds");
    let mut pairs = vec![(
        repo().join("crds/policy.helmrelease.dev_helmreleasepolicies.yaml"),
        files.join("policy.helmrelease.dev_helmreleasepolicies.yaml"),
    )];
    // Flux's published CRDs (the versions our controller is checked against), where present.
    let flux = repo().join("../shared/reference/flux/crds");
    if flux.is_dir() {
        for entry in std::fs::read_dir(&flux).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_os_string();
            pairs.push((path, files.join("flux").join(name)));
        }
    }
    let mut stale = Vec::new();
    for (source, copy) in pairs {
        let want = std::fs::read_to_string(&source).unwrap();
        stale.extend(check(&copy, &want));
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
    assert_eq!(std::fs::read_dir(files.join("flux")).unwrap().count(), 4);
}
