//! helmrelease-webhook: the policy engine of `helmrelease-policy` behind an admission webhook.
//!
//! [`review::handle`] is the whole decision for one AdmissionReview and is tested without a
//! server; [`router`] and [`server`] only move bytes; [`state`] supplies policies and source
//! knowledge from watch caches or fixed files.

pub mod certs;
pub mod cli;
pub mod metrics;
pub mod review;
pub mod router;
pub mod server;
pub mod state;
pub mod tls;
pub mod warnings;

use anyhow::Context as _;
use helmrelease_policy::PolicySet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Reads HelmReleasePolicy objects from files.
pub fn load_policies(files: &[PathBuf]) -> anyhow::Result<PolicySet> {
    let mut policies = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("--policy {}", file.display()))?;
        for doc in helmrelease_manifest::parse(&text, &file.display().to_string())? {
            if doc.value.get("kind").and_then(|k| k.as_str()) != Some("HelmReleasePolicy") {
                continue;
            }
            let policy: helmrelease_crds::HelmReleasePolicy = serde_json::from_value(doc.value)
                .with_context(|| {
                    format!(
                        "--policy {}:{}: invalid HelmReleasePolicy",
                        file.display(),
                        doc.line
                    )
                })?;
            policies.push(policy);
        }
    }
    if !files.is_empty() && policies.is_empty() {
        anyhow::bail!(
            "--policy: no HelmReleasePolicy objects in {}",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(PolicySet::new(policies))
}

/// Runs `serve` until SIGTERM or SIGINT.
pub async fn serve(args: cli::ServeArgs) -> anyhow::Result<()> {
    // Signal handlers first: a SIGTERM that arrives during start-up must still shut down cleanly.
    let shutdown = shutdown_signal().context("installing signal handlers")?;
    // Fail fast, naming the flag, before binding anything.
    let resolver = Arc::new(tls::ReloadingResolver::new(
        &args.tls_cert_file,
        &args.tls_key_file,
    )?);
    let fixed = if args.policy.is_empty() {
        None
    } else {
        Some(load_policies(&args.policy)?)
    };

    let (decider, ready): (Arc<dyn review::Decider>, Arc<AtomicBool>) = if args.offline {
        tracing::info!(
            policies = fixed.as_ref().map_or(0, PolicySet::len),
            "offline: lookups of sources, OCIRepositories and namespaces are off; rules use their offline form"
        );
        let decider = state::OfflineDecider::new(fixed.unwrap_or_default());
        (Arc::new(decider), Arc::new(AtomicBool::new(true)))
    } else {
        let client = kube::Client::try_default()
            .await
            .context("connecting to the cluster (use --offline to run without one)")?;
        let (decider, ready) = state::cluster(client, fixed).await;
        (Arc::new(decider), ready)
    };

    let app_state = router::AppState {
        decider,
        metrics: metrics::Metrics::new(),
        ready,
    };
    let tls_listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("--addr {}", args.addr))?;
    let admin_listener = tokio::net::TcpListener::bind(args.admin_addr)
        .await
        .with_context(|| format!("--admin-addr {}", args.admin_addr))?;
    tracing::info!(addr = %tls_listener.local_addr()?, admin = %admin_listener.local_addr()?, "serving");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let admin_stop = {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    let admin = tokio::spawn(server::serve_admin(
        admin_listener,
        router::admin(app_state.clone()),
        admin_stop,
    ));
    let limits = server::Limits {
        shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace_seconds),
        ..server::Limits::default()
    };
    let mut tls_stop = stop_rx;
    let tls = server::serve_tls(
        tls_listener,
        resolver,
        router::admission(app_state),
        limits,
        async move {
            let _ = tls_stop.wait_for(|stop| *stop).await;
        },
    );
    let signals = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop_tx.send(true);
    };
    let (served, ()) = tokio::join!(tls, signals);
    served?;
    admin
        .await
        .context("admin server task")?
        .context("admin server")?;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT; the handlers are installed when this is called.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
    })
}
