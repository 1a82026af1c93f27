//! Command line of `helmrelease-webhook`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Admission webhook for Flux HelmReleases: rejects unpinned chart versions, makes
/// cross-namespace source references explicit, and enforces HelmReleasePolicy rules.
#[derive(Parser, Debug)]
#[command(name = "helmrelease-webhook", version)]
pub struct Cli {
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve POST /validate and /mutate over TLS, and /healthz, /readyz, /metrics on the admin port.
    Serve(ServeArgs),
    /// Write a CA and a serving certificate (ca.crt, tls.crt, tls.key) for clusters without cert-manager.
    Certs(CertsArgs),
}

/// Arguments of `serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// PEM certificate chain served on the TLS port; reloaded when the file changes.
    #[arg(long, value_name = "FILE")]
    pub tls_cert_file: PathBuf,
    /// PEM private key of the certificate; reloaded with it.
    #[arg(long, value_name = "FILE")]
    pub tls_key_file: PathBuf,
    /// Address of the TLS admission server.
    #[arg(long, default_value = "0.0.0.0:9443", value_name = "ADDR")]
    pub addr: SocketAddr,
    /// Address of the plain-HTTP admin server (/healthz, /readyz, /metrics).
    #[arg(long, default_value = "0.0.0.0:8080", value_name = "ADDR")]
    pub admin_addr: SocketAddr,
    /// HelmReleasePolicy objects to apply instead of watching the cluster's. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Run without any cluster access: no lookups of sources, policies only from --policy
    /// (or the built-in defaults). For local use, tests and benchmarks.
    #[arg(long)]
    pub offline: bool,
    /// Seconds in-flight requests get to finish on SIGTERM.
    #[arg(long, default_value_t = 25, value_name = "SECONDS")]
    pub shutdown_grace_seconds: u64,
}

/// Arguments of `certs`.
#[derive(Args, Debug, Clone)]
pub struct CertsArgs {
    /// DNS name of the webhook Service, e.g. helmrelease-webhook.helmrelease-system.svc. Repeatable.
    #[arg(long = "dns-name", value_name = "NAME", required = true)]
    pub dns_names: Vec<String>,
    /// Folder to write ca.crt, tls.crt and tls.key into.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Validity in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
}

/// Logging flags.
#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    /// Log filter, e.g. `info` or `helmrelease_webhook=debug`.
    #[arg(
        long,
        env = "RUST_LOG",
        default_value = "info",
        global = true,
        value_name = "FILTER"
    )]
    pub log_level: String,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Plain, global = true)]
    pub log_format: LogFormat,
}

/// Log formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}
