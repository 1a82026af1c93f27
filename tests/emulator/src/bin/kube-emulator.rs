//! `kube-emulator [--port N] --kubeconfig-out PATH`: serves until SIGTERM or Ctrl-C.

use helmrelease_emulator::Emulator;
use std::path::PathBuf;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut port = 0u16;
    let mut out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                port = args
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--port needs a value"))?
                    .parse()?
            }
            "--kubeconfig-out" => out = args.next().map(PathBuf::from),
            "-h" | "--help" => {
                println!("usage: kube-emulator [--port N] --kubeconfig-out PATH");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other}; see --help"),
        }
    }
    let out = out.ok_or_else(|| anyhow::anyhow!("--kubeconfig-out PATH is required"))?;
    let emulator = Emulator::start(port).await?;
    emulator.write_kubeconfig(&out)?;
    eprintln!(
        "kube-emulator serving on {}; kubeconfig in {}",
        emulator.url(),
        out.display()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    Ok(())
}
