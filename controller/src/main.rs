//! helmrelease-controller: reconciles Flux HelmReleases into Helm-compatible releases.

use anyhow::Context as _;
use clap::Parser;
use helmrelease_controller::{Settings, run, spec::parse_duration};
use std::net::SocketAddr;

/// Reconciles helm.toolkit.fluxcd.io/v2 HelmReleases as Flux's helm-controller does.
#[derive(Parser, Debug)]
#[command(name = "helmrelease-controller", version)]
struct Cli {
    /// HelmReleases reconciled at once.
    #[arg(long, default_value_t = 4)]
    concurrent: u16,
    /// Address of /metrics (empty: off).
    #[arg(long, default_value = ":8080")]
    metrics_addr: String,
    /// Address of /healthz and /readyz (empty: off).
    #[arg(long, default_value = ":9440")]
    health_addr: String,
    /// Take a Lease before reconciling, so one replica acts at a time.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    enable_leader_election: bool,
    /// Watch HelmReleases in every namespace (else only in the runtime namespace).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    watch_all_namespaces: bool,
    /// Only reconcile HelmReleases matching this label selector.
    #[arg(long)]
    watch_label_selector: Option<String>,
    /// Refuse sources in other namespaces than the HelmRelease's.
    #[arg(long)]
    no_cross_namespace_refs: bool,
    /// Service account to impersonate when a HelmRelease names none.
    #[arg(long)]
    default_service_account: Option<String>,
    /// How long to wait for a dependency before trying again.
    #[arg(long, default_value = "30s")]
    requeue_dependency: String,
    /// Spread of requeue intervals, in percent.
    #[arg(long, default_value_t = 5)]
    interval_jitter_percentage: u32,
    /// How long running actions may take to stop on shutdown.
    #[arg(long, default_value = "600s")]
    graceful_shutdown_timeout: String,
    /// Log level: error, warn, info, debug, trace.
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Log format: json or console.
    #[arg(long, default_value = "json")]
    log_encoding: String,
    /// Kubeconfig file (else in-cluster or KUBECONFIG, as kubectl finds it).
    #[arg(long)]
    kubeconfig: Option<std::path::PathBuf>,
    /// Namespace of the Lease and, without --watch-all-namespaces, the one watched.
    #[arg(long, env = "RUNTIME_NAMESPACE", default_value = "flux-system")]
    namespace: String,
    /// Field manager for applies and status writes.
    #[arg(long, default_value = "helm-controller")]
    field_manager: String,
    /// Where charts come from: `in-process` fetches them from the HelmRepository or
    /// OCIRepository; `source-controller` downloads the artifact Flux's source-controller
    /// publishes (every source kind, Git and Bucket included).
    #[arg(long, value_enum, default_value_t = SourcesFlag::InProcess)]
    sources: SourcesFlag,
    /// Feature gates, `Name=true|false,...`: AdditiveCELDependencyCheck (a dependsOn
    /// readyExpr adds to the Ready check instead of replacing it). Flux's other gates are
    /// accepted and have no effect here.
    #[arg(long, default_value = "")]
    feature_gates: String,
    /// In-process sources: where artifacts (indexes, charts) are stored.
    #[arg(long, default_value_os_t = std::env::temp_dir().join("helmrelease-controller"))]
    storage_path: std::path::PathBuf,
    /// In-process sources: where artifacts are served over HTTP (port 0 picks a free one).
    #[arg(long, default_value = ":9090")]
    storage_addr: String,
    /// In-process sources: the `host:port` artifact URLs name (default: the host name and
    /// the port served).
    #[arg(long)]
    storage_adv_addr: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SourcesFlag {
    InProcess,
    SourceController,
}

fn addr(text: &str) -> anyhow::Result<Option<SocketAddr>> {
    if text.is_empty() || text == "0" {
        return Ok(None);
    }
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_string()
    };
    Ok(Some(
        full.parse()
            .with_context(|| format!("bad address {text:?}"))?,
    ))
}

/// `--feature-gates`: `Name=bool` pairs, comma-separated.
fn feature_gates(text: &str) -> anyhow::Result<std::collections::BTreeMap<String, bool>> {
    let mut gates = std::collections::BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("--feature-gates: {pair:?} is not Name=true|false"))?;
        let value: bool = value
            .trim()
            .parse()
            .with_context(|| format!("--feature-gates: {pair:?} is not Name=true|false"))?;
        gates.insert(name.trim().to_string(), value);
    }
    Ok(gates)
}

fn duration(flag: &str, text: &str) -> anyhow::Result<std::time::Duration> {
    parse_duration(text)
        .with_context(|| format!("--{flag}: {text:?} is not a duration like 30s or 5m"))
}

async fn config(kubeconfig: Option<&std::path::Path>) -> anyhow::Result<kube::Config> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?
        }
        None => kube::Config::infer()
            .await
            .context("finding a kubeconfig")?,
    };
    Ok(config)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log_level)
        .with_context(|| format!("--log-level {:?}", cli.log_level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_encoding.as_str() {
        "json" => builder.json().init(),
        "console" => builder.init(),
        other => anyhow::bail!("--log-encoding {other:?}: use json or console"),
    }
    let gates = feature_gates(&cli.feature_gates)?;
    let options = run::Options {
        concurrent: cli.concurrent.max(1),
        metrics_addr: addr(&cli.metrics_addr)?,
        health_addr: addr(&cli.health_addr)?,
        leader_election: cli.enable_leader_election,
        namespace: cli.namespace.clone(),
        all_namespaces: cli.watch_all_namespaces,
        label_selector: cli.watch_label_selector.clone(),
        graceful_shutdown_timeout: duration(
            "graceful-shutdown-timeout",
            &cli.graceful_shutdown_timeout,
        )?,
        storage_path: cli.storage_path.clone(),
        storage_addr: addr(&cli.storage_addr)?.context("--storage-addr must be an address")?,
        storage_adv_addr: cli.storage_adv_addr.clone(),
        settings: Settings {
            field_manager: cli.field_manager.clone(),
            requeue_dependency: duration("requeue-dependency", &cli.requeue_dependency)?,
            interval_jitter_percentage: cli.interval_jitter_percentage,
            no_cross_namespace_refs: cli.no_cross_namespace_refs,
            default_service_account: cli.default_service_account.clone(),
            sources: match cli.sources {
                SourcesFlag::InProcess => helmrelease_controller::Sources::InProcess,
                SourcesFlag::SourceController => helmrelease_controller::Sources::SourceController,
            },
            additive_cel_dependency_check: gates
                .get("AdditiveCELDependencyCheck")
                .copied()
                .unwrap_or(false),
            ..Settings::default()
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let config = config(cli.kubeconfig.as_deref()).await?;
        run::run(config, options).await?;
        Ok(())
    })
}
