//! The command lines the chart gives its containers are accepted by the real programs: every
//! container running helmrelease-webhook or helmrelease-controller, in every values set, is run
//! with its arguments and `--help` appended (clap refuses an unknown flag or a bad value before
//! it prints help). This catches a flag renamed in the program but not in the chart. The
//! binaries are the workspace's debug builds next to this test (`cargo test --workspace`
//! builds them first); without them it skips, unless HELMRELEASE_REQUIRE_CLUSTER is set.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_chart_tests::{VALUE_SETS, bin_dir, documents, ours};
use serde_json::Value;
use std::process::Command;

#[test]
fn the_programs_accept_the_arguments_the_chart_gives_them() {
    let dir = bin_dir();
    let programs = ["helmrelease-webhook", "helmrelease-controller"];
    if !programs.iter().all(|p| dir.join(p).is_file()) {
        assert!(
            std::env::var_os("HELMRELEASE_REQUIRE_CLUSTER").is_none(),
            "HELMRELEASE_REQUIRE_CLUSTER is set but {} lacks the programs",
            dir.display()
        );
        eprintln!("skipping: build the workspace first");
        return;
    }
    let mut checked = std::collections::BTreeSet::new();
    for (name, args) in VALUE_SETS {
        let run = ours(args);
        if run.code != 0 {
            continue; // the refusals
        }
        for (source, body) in documents(&run.stdout) {
            let object: Value = serde_saphyr::from_str(&body).unwrap();
            let pod = &object["spec"]["template"]["spec"];
            let containers = pod["initContainers"]
                .as_array()
                .into_iter()
                .chain(pod["containers"].as_array())
                .flatten();
            for container in containers {
                let image = container["image"].as_str().unwrap_or("");
                let repository = image.split(['@', ':']).next().unwrap_or("");
                let Some(program) = programs
                    .iter()
                    .find(|p| repository.ends_with(&format!("/{p}")))
                else {
                    continue;
                };
                let args: Vec<String> = container["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect();
                let out = Command::new(dir.join(program))
                    .args(&args)
                    .arg("--help")
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{name}: {source}: {program} {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                );
                checked.insert(format!(
                    "{program} {}",
                    args.first().map_or("", |a| a.as_str())
                ));
            }
        }
    }
    // serve, certs (the hook), and the controller alongside Flux and standalone.
    assert_eq!(checked.len(), 4, "{checked:?}");
}
