//! `template --output-dir`: the files hold exactly what `template` prints, split by template,
//! and the command says each write as Helm does.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use std::path::Path;
use std::process::Command;

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-helmrelease");
const CHART: &str = "../crates/helm/tests/charts/umbrella";

fn template(extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(PLUGIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["template", "shop", CHART, "--include-crds"])
        .args(extra)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn output_dir_holds_what_template_prints() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out_arg = out_dir.to_str().unwrap();
    let (code, printed, err) = template(&[]);
    assert_eq!(code, 0, "{err}");
    let (code, said, err) = template(&["--output-dir", out_arg, "--release-name"]);
    assert_eq!(code, 0, "{err}");

    // "wrote <path>" per write, then Helm's empty manifest line.
    let wrote: Vec<&str> = said
        .lines()
        .filter_map(|l| l.strip_prefix("wrote "))
        .collect();
    assert!(said.ends_with("\n\n"), "{said}");
    assert_eq!(wrote.len() + 1, said.lines().count(), "{said}");
    assert_eq!(wrote[0], format!("{out_arg}/umbrella/crds/gadgets.yaml"));
    assert!(wrote[1].starts_with(&format!("{out_arg}/shop/umbrella/templates/")));

    // Every printed document is in its template's file, in order; nothing else is.
    let mut from_files = String::new();
    let mut done = std::collections::HashSet::new();
    for path in &wrote {
        if done.insert(*path) {
            from_files.push_str(&std::fs::read_to_string(Path::new(path)).unwrap());
        }
    }
    let blocks = |text: &str| {
        let mut b: Vec<String> = text
            .split("---\n# Source: ")
            .map(|s| s.trim_end().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        b.sort();
        b
    };
    assert_eq!(blocks(&from_files), blocks(&printed));
    // configmap.yaml renders three documents into one file.
    let configmap =
        std::fs::read_to_string(out_dir.join("shop/umbrella/templates/configmap.yaml")).unwrap();
    assert_eq!(
        configmap
            .matches("# Source: umbrella/templates/configmap.yaml")
            .count(),
        3
    );
}

#[test]
fn show_only_finds_nothing_once_manifests_went_to_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let (code, said, err) = template(&[
        "--output-dir",
        out.to_str().unwrap(),
        "-s",
        "templates/namespace.yaml",
    ]);
    assert_eq!(code, 1);
    assert!(said.contains("wrote "), "{said}");
    assert_eq!(
        err,
        "Error: could not find template templates/namespace.yaml in chart\n"
    );
}
