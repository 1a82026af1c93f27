//! The krew plugin manifest (krew/helmrelease.yaml) and what scripts/release.sh writes: both
//! pass krew's manifest validation (the rules of krew's `internal/index/validation`, restated
//! here: apiVersion and kind, a safe name equal to the file's, a one-line short description, a
//! `v`-prefixed semantic version, and per platform a uri, a lowercase sha256, a bin, well-formed
//! files and an os/arch selector), plus what krew-index's CI adds: no two platforms for one
//! os/arch, the archive holds every file the manifest copies, and its sha256 is the one named.
//! release.sh runs on small stand-in executables, so the test stays cheap.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_chart_tests::repo;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `v` then MAJOR.MINOR.PATCH with optional pre-release and build, as krew's semver requires.
fn is_krew_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let (core, _build) = rest.split_once('+').unwrap_or((rest, ""));
    let (core, pre) = core.split_once('-').unwrap_or((core, ""));
    let numbers: Vec<&str> = core.split('.').collect();
    let numeric = |n: &&str| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
            && (n.len() == 1 || !n.starts_with('0'))
    };
    numbers.len() == 3
        && numbers.iter().all(numeric)
        && pre.split('.').all(|p| {
            pre.is_empty()
                || (!p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        })
}

/// Krew's checks for the plugin named `name`; the list of what is wrong.
fn krew_errors(name: &str, plugin: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let mut fail = |m: String| errors.push(m);
    if plugin["apiVersion"] != "krew.googlecontainertools.github.com/v1alpha2" {
        fail(format!("apiVersion {}", plugin["apiVersion"]));
    }
    if plugin["kind"] != "Plugin" {
        fail(format!("kind {}", plugin["kind"]));
    }
    let safe = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    let reserved = ["CON", "PRN", "AUX", "NUL"]
        .iter()
        .map(|s| s.to_string())
        .chain((1..=9).flat_map(|i| [format!("COM{i}"), format!("LPT{i}")]))
        .any(|r| r.eq_ignore_ascii_case(name));
    if !safe || reserved {
        fail(format!("unsafe plugin name {name:?}"));
    }
    if plugin["metadata"]["name"] != name {
        fail(format!(
            "metadata.name {} is not the file's name {name}",
            plugin["metadata"]["name"]
        ));
    }
    let spec = &plugin["spec"];
    let short = spec["shortDescription"].as_str().unwrap_or("");
    if short.is_empty() || short.contains(['\r', '\n']) {
        fail(format!("shortDescription {short:?}"));
    }
    if !spec["version"].as_str().is_some_and(is_krew_version) {
        fail(format!("version {}", spec["version"]));
    }
    let platforms = spec["platforms"].as_array().cloned().unwrap_or_default();
    if platforms.is_empty() {
        fail("no platform".to_string());
    }
    let mut seen = BTreeSet::new();
    for p in &platforms {
        if p["uri"].as_str().is_none_or(str::is_empty) {
            fail(format!("platform without uri: {p}"));
        }
        let sha = p["sha256"].as_str().unwrap_or("");
        if sha.len() != 64 || !sha.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
            fail(format!("sha256 {sha:?}"));
        }
        if p["bin"].as_str().is_none_or(str::is_empty) {
            fail(format!("platform without bin: {p}"));
        }
        match &p["files"] {
            Value::Null => {}
            Value::Array(files) if !files.is_empty() => {
                for f in files {
                    if f["from"].as_str().is_none_or(str::is_empty)
                        || f["to"].as_str().is_none_or(str::is_empty)
                    {
                        fail(format!("file operation {f}"));
                    }
                }
            }
            other => fail(format!("files {other}")),
        }
        let selector = &p["selector"];
        let labels = selector["matchLabels"].as_object();
        let expressions = selector["matchExpressions"].as_array();
        if selector.is_null() || (labels.is_none() && expressions.is_none_or(Vec::is_empty)) {
            fail("empty selector".to_string());
        }
        if labels.is_some_and(|l| l.is_empty()) || expressions.is_some_and(Vec::is_empty) {
            fail("matchLabels or matchExpressions given but empty".to_string());
        }
        for key in labels.into_iter().flat_map(|l| l.keys().cloned()).chain(
            expressions
                .into_iter()
                .flatten()
                .map(|e| e["key"].as_str().unwrap_or("").to_string()),
        ) {
            if key != "os" && key != "arch" {
                fail(format!("selector key {key:?}"));
            }
        }
        // krew-index: one platform per os/arch.
        let os_arch = (
            labels.map(|l| l.get("os").cloned()),
            labels.map(|l| l.get("arch").cloned()),
        );
        if !seen.insert(format!("{os_arch:?}")) {
            fail(format!("two platforms for {os_arch:?}"));
        }
    }
    errors
}

#[test]
fn the_committed_manifest_passes_krews_rules() {
    let path = repo().join("krew/helmrelease.yaml");
    let plugin = load(&path);
    assert_eq!(krew_errors("helmrelease", &plugin), Vec::<String>::new());
    // The version is the workspace's, the archive named after it.
    let cargo = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let version = cargo
        .lines()
        .skip_while(|l| *l != "[workspace.package]")
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap();
    let tag = format!("v{version}");
    assert_eq!(plugin["spec"]["version"], tag.as_str());
    for p in plugin["spec"]["platforms"].as_array().unwrap() {
        let uri = p["uri"].as_str().unwrap();
        assert!(uri.starts_with("https://"), "{uri}");
        assert!(
            uri.contains(&format!("/download/{tag}/")) && uri.contains(&format!("_{tag}_")),
            "{uri}"
        );
        // The bin is installed, and so is the completion helper kubectl looks for.
        let froms: Vec<&str> = p["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["from"].as_str().unwrap())
            .collect();
        assert!(froms.contains(&p["bin"].as_str().unwrap()), "{froms:?}");
        assert!(froms.contains(&"kubectl_complete-helmrelease"), "{froms:?}");
    }
    // A broken manifest is caught: the checks are not vacuous.
    let mut broken = plugin.clone();
    broken["spec"]["version"] = "0.1.0".into();
    broken["spec"]["shortDescription"] = "two\nlines".into();
    broken["spec"]["platforms"][0]["sha256"] = "ABC".into();
    broken["spec"]["platforms"][0]["selector"]["matchLabels"]["distro"] = "debian".into();
    assert_eq!(
        krew_errors("helmrelease", &broken).len(),
        4,
        "{:?}",
        krew_errors("helmrelease", &broken)
    );
    assert_eq!(krew_errors("helm/release", &plugin).len(), 2);
}

/// The files of a .tar.gz: name -> (mode, bytes).
fn untar(path: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mode = entry.header().mode().unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        out.insert(name, (mode, bytes));
    }
    out
}

#[test]
fn release_sh_writes_the_archives_the_manifest_names_with_their_sums() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("helmrelease-krew");
    let _ = std::fs::remove_dir_all(&work);
    let bins = work.join("bin");
    let out = work.join("out");
    std::fs::create_dir_all(&bins).unwrap();
    for bin in ["kubectl-helmrelease", "kubectl_complete-helmrelease"] {
        std::fs::write(bins.join(bin), format!("#!/bin/sh\necho {bin}\n")).unwrap();
    }
    let run = Command::new(repo().join("scripts/release.sh"))
        .arg("--bin-dir")
        .arg(&bins)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let plugin = load(&out.join("helmrelease.yaml"));
    assert_eq!(krew_errors("helmrelease", &plugin), Vec::<String>::new());
    // Only the sums differ from the committed manifest.
    let strip = |text: String| {
        text.lines()
            .filter(|l| !l.trim_start().starts_with("sha256:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(std::fs::read_to_string(out.join("helmrelease.yaml")).unwrap()),
        strip(std::fs::read_to_string(repo().join("krew/helmrelease.yaml")).unwrap())
    );
    for p in plugin["spec"]["platforms"].as_array().unwrap() {
        let name = p["uri"].as_str().unwrap().rsplit('/').next().unwrap();
        let archive = out.join(name);
        let bytes = std::fs::read(&archive).unwrap_or_else(|e| panic!("{name}: {e}"));
        let sum: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(p["sha256"], sum.as_str(), "{name}");
        assert_eq!(
            std::fs::read_to_string(out.join(format!("{name}.sha256"))).unwrap(),
            format!("{sum}  {name}\n")
        );
        let files = untar(&archive);
        for f in p["files"].as_array().unwrap() {
            let from = f["from"].as_str().unwrap();
            assert!(
                files.contains_key(from),
                "{name} lacks {from}: {:?}",
                files.keys()
            );
        }
        let (mode, content) = &files[p["bin"].as_str().unwrap()];
        assert_eq!(mode & 0o111, 0o111, "the bin is executable");
        assert_eq!(
            content,
            &std::fs::read(bins.join("kubectl-helmrelease")).unwrap()
        );
    }
    let _ = std::fs::remove_dir_all(&work);
}
