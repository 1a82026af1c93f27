//! The chart under the official binaries: `helm lint --strict` passes with Helm 4.1.4 and
//! 3.19.0 for every values combination that should render, and our `template` prints exactly
//! what `helm template` prints (stdout, stderr, exit code) for all of them, refusals included.
//! Skips without the binaries unless HELMRELEASE_REQUIRE_CLUSTER is set.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_chart_tests::{NAMESPACE, RELEASE, VALUE_SETS, chart, official, ours};
use std::path::PathBuf;

/// Helm 4 and Helm 3, or `None` (skip) when they are not installed.
fn binaries() -> Option<(PathBuf, PathBuf)> {
    let (helm4, helm3) = (
        helmrelease_testcluster::helm4(),
        helmrelease_testcluster::helm3(),
    );
    if helm4.is_file() && helm3.is_file() {
        return Some((helm4, helm3));
    }
    assert!(
        std::env::var_os("HELMRELEASE_REQUIRE_CLUSTER").is_none(),
        "HELMRELEASE_REQUIRE_CLUSTER is set but helm is missing: run scripts/install-test-binaries.sh"
    );
    eprintln!("skipping: no official helm (run scripts/install-test-binaries.sh)");
    None
}

fn home() -> tempfile_dir::Dir {
    tempfile_dir::Dir::new()
}

/// A private folder for Helm's cache, config and data, removed on drop.
mod tempfile_dir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new() -> Dir {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "helmrelease-chart-tests-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn template_is_byte_identical_to_official_helm_4_and_3() {
    let Some((helm4, helm3)) = binaries() else {
        return;
    };
    let home = home();
    let chart = chart().display().to_string();
    let mut failures = Vec::new();
    for (name, args) in VALUE_SETS {
        for (bin, flavour) in [(&helm4, None), (&helm3, Some("3"))] {
            let mut theirs_args = vec![
                "template",
                RELEASE,
                chart.as_str(),
                "--namespace",
                NAMESPACE,
            ];
            theirs_args.extend_from_slice(args);
            let theirs = official(bin, &theirs_args, home.path()).unwrap();
            let mut our_args = args.to_vec();
            if let Some(version) = flavour {
                our_args.extend(["--helm", version]);
            }
            let mine = ours(&our_args);
            let shown = format!("{name} (helm {})", flavour.unwrap_or("4"));
            if theirs != mine {
                failures.push(format!(
                    "{shown}: official exit {} vs ours {}\n--- official stdout\n{}\n--- ours stdout\n{}\n--- official stderr\n{}\n--- ours stderr\n{}",
                    theirs.code, mine.code, theirs.stdout, mine.stdout, theirs.stderr, mine.stderr
                ));
            }
            // The refusals are refusals, the rest render.
            let refused = matches!(
                *name,
                "standalone-without-controller" | "nothing" | "schema-typo" | "schema-enum"
            );
            assert_eq!(theirs.code != 0, refused, "{shown}: {}", theirs.stderr);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn helm_lint_strict_passes_with_helm_4_and_3() {
    let Some((helm4, helm3)) = binaries() else {
        return;
    };
    let home = home();
    let chart = chart().display().to_string();
    for (name, args) in VALUE_SETS
        .iter()
        .take_while(|(n, _)| *n != "standalone-without-controller")
    {
        for bin in [&helm4, &helm3] {
            let mut lint = vec!["lint", "--strict", chart.as_str(), "--namespace", NAMESPACE];
            lint.extend_from_slice(args);
            let out = official(bin, &lint, home.path()).unwrap();
            assert_eq!(
                out.code,
                0,
                "{} lint {name}:\n{}{}",
                bin.display(),
                out.stdout,
                out.stderr
            );
            assert!(
                out.stdout.contains("0 chart(s) failed"),
                "{name}: {}",
                out.stdout
            );
        }
    }
    // values.schema.json catches a misspelt key.
    for bin in [&helm4, &helm3] {
        let lint = ["lint", chart.as_str(), "--set", "webhook.replica=3"];
        let out = official(bin, &lint, home.path()).unwrap();
        assert_ne!(out.code, 0, "{}: {}", bin.display(), out.stdout);
        assert!(out.stdout.contains("replica"), "{}", out.stdout);
    }
}

#[test]
fn the_packaged_chart_renders_like_the_folder() {
    let Some((helm4, _)) = binaries() else {
        return;
    };
    let home = home();
    let chart = chart().display().to_string();
    let dest = home.path().join("pkg").display().to_string();
    let out = official(
        &helm4,
        &["package", chart.as_str(), "-d", dest.as_str()],
        home.path(),
    )
    .unwrap();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tgz = format!("{dest}/helmrelease-0.1.0.tgz");
    let args = [
        "template",
        RELEASE,
        tgz.as_str(),
        "--namespace",
        NAMESPACE,
        "--set",
        "controller.enabled=true,standalone=true",
    ];
    let packaged = official(&helm4, &args, home.path()).unwrap();
    let folder = ours(&["--set", "controller.enabled=true,standalone=true"]);
    assert_eq!(packaged.code, 0, "{}", packaged.stderr);
    assert_eq!(
        packaged.stdout, folder.stdout,
        "files/ must be packaged (.helmignore)"
    );
}
