//! helmrelease-controller: reconciles Flux HelmReleases into Helm-compatible releases.
//!
//! Not implemented yet; the binary only answers `--help` and `--version`, and says so instead
//! of pretending to run.

use clap::Parser;

/// Reconciles helm.toolkit.fluxcd.io/v2 HelmReleases into Helm releases (not implemented yet).
#[derive(Parser, Debug)]
#[command(name = "helmrelease-controller", version)]
struct Cli {}

fn main() -> std::process::ExitCode {
    let Cli {} = Cli::parse();
    eprintln!("helmrelease-controller: not implemented yet; see --help");
    std::process::ExitCode::from(2)
}
