//! The chart README's Flux example passes the policy the webhook enforces (a chart README that
//! the chart's own webhook would refuse would be a poor start).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use clap::Parser;
use helmrelease_chart_tests::chart;

#[test]
fn the_flux_example_is_clean_under_check() {
    let readme = std::fs::read_to_string(chart().join("README.md")).unwrap();
    let start = readme.find("```yaml\n").expect("a YAML example") + "```yaml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let dir = std::env::temp_dir().join(format!("helmrelease-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("flux.yaml");
    std::fs::write(&file, &readme[start..end]).unwrap();
    let path = file.display().to_string();
    let cli = kubectl_helmrelease::cli::Cli::try_parse_from([
        "kubectl-helmrelease",
        "check",
        "--strict",
        "-f",
        path.as_str(),
    ])
    .unwrap();
    let outcome = kubectl_helmrelease::run(&cli).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(outcome.code, 0, "{}{}", outcome.stdout, outcome.stderr);
    assert!(
        outcome.stderr.contains("1 object checked"),
        "{}",
        outcome.stderr
    );
}
