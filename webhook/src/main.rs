//! helmrelease-webhook: admission webhook for Flux HelmReleases and their sources.
//!
//! Nothing is served yet (the policy engine and server come with the webhook issue); the binary
//! only answers `--help` and `--version`, and says so instead of pretending to run.

use clap::Parser;

/// Validating and mutating admission webhook for Flux HelmReleases (not implemented yet).
#[derive(Parser, Debug)]
#[command(name = "helmrelease-webhook", version)]
struct Cli {}

fn main() -> std::process::ExitCode {
    let Cli {} = Cli::parse();
    eprintln!("helmrelease-webhook: no commands are implemented yet; see --help");
    std::process::ExitCode::from(2)
}
