//! `kubectl helmrelease`: inspect Flux HelmReleases and the Helm releases behind them.
//!
//! The binary is a thin shell over [`run`]: commands are pure functions from an
//! [`input::Inventory`] of objects to text, so they are tested without a cluster.

pub mod audit;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod diff;
pub mod drift;
mod error;
pub mod fixtures;
pub mod get;
pub mod history;
pub mod input;
pub mod list;
pub mod output;
pub mod postrender;
pub mod preview;
pub mod source;
pub mod status;
pub mod target;
pub mod template;
pub mod values;

pub use error::{Error, Result};

use cli::{Cli, Color, Command, Output};
use std::io::IsTerminal;
use std::path::PathBuf;

/// What a command needs from the global flags, resolved once.
#[derive(Debug)]
pub struct Context {
    /// Output format.
    pub output: Output,
    /// Leave table headers out.
    pub no_headers: bool,
    /// Colour the output.
    pub color: bool,
    /// `-n`, when given (and not overridden by `-A`).
    pub namespace: Option<String>,
    /// `-A`.
    pub all_namespaces: bool,
    /// `--from-file` paths.
    pub from_file: Vec<PathBuf>,
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`.
    pub kube_context: Option<String>,
    /// `--show-secrets`.
    pub show_secrets: bool,
    /// Zone for printed times (the local zone, like Helm).
    pub time_zone: jiff::tz::TimeZone,
}

impl Context {
    /// Resolves the global flags.
    pub fn new(global: &cli::GlobalArgs) -> Context {
        let color = match global.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Context {
            output: global.output,
            no_headers: global.no_headers,
            color,
            namespace: if global.all_namespaces {
                None
            } else {
                global.namespace.clone()
            },
            all_namespaces: global.all_namespaces,
            from_file: global.from_file.clone(),
            kubeconfig: global.kubeconfig.clone(),
            kube_context: global.context.clone(),
            show_secrets: global.show_secrets,
            time_zone: jiff::tz::TimeZone::system(),
        }
    }

    /// Opens the files or the cluster to read from.
    pub fn session(&self) -> Result<source::Session> {
        source::Session::open(self)
    }
}

/// What a command produced: output for stdout and stderr, and the exit code.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output.
    pub stdout: String,
    /// Standard error (summaries, notes).
    pub stderr: String,
    /// Exit code: 0 success, 1 findings, 2 error.
    pub code: u8,
}

impl From<String> for Outcome {
    fn from(stdout: String) -> Self {
        Outcome {
            stdout,
            ..Outcome::default()
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: &Cli) -> Result<Outcome> {
    let ctx = Context::new(&cli.global);
    match &cli.command {
        Command::Check(args) => check::run(args, &ctx),
        Command::History(args) => history::run(args, &ctx),
        Command::List => list::run(&ctx),
        Command::Status(args) => status::run(args, &ctx).map(Outcome::from),
        Command::Get(args) => get::run(args, &ctx).map(Outcome::from),
        Command::Diff(args) => diff::run(args, &ctx),
        Command::Drift(args) => drift::run(args, &ctx),
        Command::Audit(args) => audit::run(args, &ctx),
        Command::Template(args) => template::run(args, &ctx),
    }
}
