//! `kube-cluster --kubeconfig-out PATH [--data-dir DIR]`: starts the test control plane, writes
//! the cluster-admin kubeconfig once every component is up, and serves until SIGTERM or SIGINT,
//! then stops every process it started and removes its data. `scripts/kube-cluster` builds the
//! binaries first and runs this.

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "A real Kubernetes control plane on loopback, for tests"
)]
struct Args {
    /// Where to write the cluster-admin kubeconfig.
    #[arg(long)]
    kubeconfig_out: PathBuf,
    /// Where certificates, etcd's data and logs go (removed on exit); a temporary folder if unset.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let started = std::time::Instant::now();
        let mut cluster =
            helmrelease_testcluster::Cluster::start(helmrelease_testcluster::Options {
                data_dir: args.data_dir,
            })
            .await
            .context("starting the cluster")?;
        let yaml = cluster.kubeconfig_yaml("default");
        std::fs::write(&args.kubeconfig_out, yaml)
            .with_context(|| format!("writing {}", args.kubeconfig_out.display()))?;
        eprintln!(
            "kube-cluster: {} ready in {:.1} s; kubeconfig {}; logs in {}",
            cluster.server(),
            started.elapsed().as_secs_f64(),
            args.kubeconfig_out.display(),
            cluster.data_dir().join("logs").display()
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        eprintln!("kube-cluster: stopping");
        cluster.stop();
        Ok(())
    })
}
