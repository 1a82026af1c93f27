//! Entry point: crypto provider, logging, parse, dispatch.

use clap::Parser;
use helmrelease_webhook::cli::{Cli, Command, LogFormat};
use std::process::ExitCode;

// glibc malloc was a fifth of the CPU under load (lock contention between the runtime's
// threads); mimalloc's per-thread heaps remove that (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for people: logs collected from a pipe stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match cli.log.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Plain => builder.init(),
    }
    // One process-wide provider, so every rustls user (kube's client included) agrees.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let result = match cli.command {
        Command::Certs(args) => {
            helmrelease_webhook::certs::generate(&args.dns_names, &args.out_dir, args.days)
                .map(|w| {
                    println!(
                        "wrote {}, {} and {}",
                        w.ca_cert.display(),
                        w.cert.display(),
                        w.key.display()
                    );
                })
                .map_err(anyhow::Error::from)
        }
        Command::Serve(args) => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(helmrelease_webhook::serve(args)),
            Err(e) => Err(anyhow::Error::from(e).context("starting the runtime")),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
