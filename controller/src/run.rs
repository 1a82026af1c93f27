//! The running controller: leader election, the HelmRelease watch with its triggers
//! (`valuesFrom` objects labelled `reconcile.fluxcd.io/watch: Enabled`, HelmRepositories),
//! `/healthz` and `/readyz` at `--health-addr`, `/metrics` at `--metrics-addr`, and a
//! graceful shutdown that cancels running actions so releases end `failed`, not `pending`.

use crate::reconcile::{self, Context, Requeue};
use crate::{Error, Settings};
use futures::StreamExt;
use helmrelease_action::Cancel;
use helmrelease_crds::helmrelease::HelmRelease;
use helmrelease_crds::source::HelmChart;
use helmrelease_crds::source::oci_v1::OCIRepository;
use helmrelease_flux::reader::ObjectKind;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Reconciles at once.
    pub concurrent: u16,
    /// Metrics listener.
    pub metrics_addr: Option<SocketAddr>,
    /// Health listener.
    pub health_addr: Option<SocketAddr>,
    /// Take a Lease before reconciling.
    pub leader_election: bool,
    /// Namespace of the Lease, and the only namespace watched unless `all_namespaces`.
    pub namespace: String,
    /// Watch every namespace.
    pub all_namespaces: bool,
    /// Only HelmReleases matching this label selector.
    pub label_selector: Option<String>,
    /// How long running reconciles may take to finish on shutdown.
    pub graceful_shutdown_timeout: Duration,
    /// Where in-process sources keep their artifacts (`--storage-path`).
    pub storage_path: std::path::PathBuf,
    /// Where they are served (`--storage-addr`; port 0 picks one).
    pub storage_addr: SocketAddr,
    /// The `host:port` artifact URLs name (`--storage-adv-addr`); by default the host name
    /// and the port served.
    pub storage_adv_addr: Option<String>,
    /// Reconcile settings.
    pub settings: Settings,
}

/// Fails start-up clearly when Flux's HelmRelease CRD is not installed.
pub async fn check_crds(client: &Client) -> Result<(), Error> {
    let api: Api<HelmRelease> = Api::all(client.clone());
    api.list_metadata(&kube::api::ListParams::default().limit(1))
        .await
        .map_err(|e| {
            Error::Startup(format!(
                "cannot list helmreleases.helm.toolkit.fluxcd.io (is Flux's HelmRelease CRD installed? `kubectl apply -f crds/`): {e}"
            ))
        })?;
    Ok(())
}

const LEASE: &str = "helmrelease-controller-leader-election";
const LEASE_SECONDS: i32 = 15;

/// Takes the Lease and keeps renewing it; returns once held. A lost Lease ends the process,
/// as controller-runtime does, so two replicas never reconcile at once.
async fn lead(client: Client, namespace: &str, identity: &str) -> Result<(), Error> {
    let api: Api<Lease> = Api::namespaced(client, namespace);
    loop {
        match try_acquire(&api, identity).await {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => tracing::warn!("leader election: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    tracing::info!(identity, "acquired lease {namespace}/{LEASE}");
    let identity = identity.to_string();
    tokio::spawn(async move {
        let mut last_renewed = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            match try_acquire(&api, &identity).await {
                Ok(true) => last_renewed = Instant::now(),
                Ok(false) => {
                    tracing::error!("leader election lost");
                    std::process::exit(1);
                }
                Err(e) => {
                    tracing::warn!("renewing lease: {e}");
                    if last_renewed.elapsed() > Duration::from_secs(LEASE_SECONDS as u64) {
                        tracing::error!("leader election lost: lease not renewed in time");
                        std::process::exit(1);
                    }
                }
            }
        }
    });
    Ok(())
}

async fn try_acquire(api: &Api<Lease>, identity: &str) -> Result<bool, kube::Error> {
    let now = jiff::Timestamp::now();
    let spec = |transitions: i32| LeaseSpec {
        holder_identity: Some(identity.to_string()),
        lease_duration_seconds: Some(LEASE_SECONDS),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    };
    match api.get_opt(LEASE).await? {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(LEASE.into()),
                    ..ObjectMeta::default()
                },
                spec: Some(spec(0)),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
        Some(mut lease) => {
            let current = lease.spec.clone().unwrap_or_default();
            let holder = current.holder_identity.clone().unwrap_or_default();
            let expired = current.renew_time.as_ref().is_none_or(|t| {
                let secs = current.lease_duration_seconds.unwrap_or(LEASE_SECONDS) as i64;
                now.as_second() - t.0.as_second() > secs
            });
            if holder != identity && !expired {
                return Ok(false);
            }
            let transitions =
                current.lease_transitions.unwrap_or(0) + i32::from(holder != identity);
            let mut next = spec(transitions);
            if holder == identity {
                next.acquire_time = current.acquire_time.clone();
            }
            lease.spec = Some(next);
            // The resourceVersion makes this a compare-and-swap: a racing replica gets 409.
            match api.replace(LEASE, &PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}

async fn serve(addr: SocketAddr, router: axum::Router) {
    match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!("server on {addr}: {e}");
            }
        }
        Err(e) => tracing::error!("cannot listen on {addr}: {e}"),
    }
}

/// The HelmReleases in `store` for which `uses` holds.
fn matching(
    store: &Store<HelmRelease>,
    uses: impl Fn(&HelmRelease) -> bool,
) -> Vec<ObjectRef<HelmRelease>> {
    store
        .state()
        .iter()
        .filter(|hr| uses(hr))
        .map(|hr| ObjectRef::from_obj(hr.as_ref()))
        .collect()
}

/// HelmReleases that name `object` (a ConfigMap, Secret or source) in `valuesFrom` or as
/// their chart source.
fn referencing(
    store: &Store<HelmRelease>,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Vec<ObjectRef<HelmRelease>> {
    matching(store, |hr| {
        helmrelease_flux::reader::referenced_objects(hr)
            .iter()
            .any(|(k, ns, n)| k.kind() == kind && ns == namespace && n == name)
    })
}

/// What of a source matters to its HelmReleases: its artifact (and where it is served) and
/// whether it caught up.
fn artifact_revision<K: kube::Resource + serde::Serialize>(source: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let value = serde_json::to_value(source).ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for pointer in [
        "/status/artifact/revision",
        "/status/artifact/digest",
        // Another publisher took over (ours after source-controller, say).
        "/status/artifact/url",
        "/status/observedGeneration",
    ] {
        value
            .pointer(pointer)
            .map(|v| v.to_string())
            .hash(&mut hasher);
    }
    Some(hasher.finish())
}

/// HelmReleases whose chart artifact is the source `kind` `namespace/name`.
fn using_source(
    store: &Store<HelmRelease>,
    kind: ObjectKind,
    namespace: &str,
    name: &str,
) -> Vec<ObjectRef<HelmRelease>> {
    matching(store, |hr| {
        helmrelease_flux::artifact::source_of(hr)
            .is_ok_and(|(k, ns, n)| k == kind && ns == namespace && n == name)
    })
}

/// What makes a HelmRelease worth reconciling again: its generation, the reconcile-request
/// annotations, and deletion.
fn trigger(hr: &HelmRelease) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    hr.metadata.generation.hash(&mut hasher);
    hr.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    for key in [
        "reconcile.fluxcd.io/requestedAt",
        "reconcile.fluxcd.io/forceAt",
        "reconcile.fluxcd.io/resetAt",
    ] {
        hr.annotations().get(key).hash(&mut hasher);
    }
    Some(hasher.finish())
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(config: kube::Config, options: Options) -> Result<(), Error> {
    let client = Client::try_from(config.clone())
        .map_err(|e| Error::Startup(format!("making a client: {e}")))?;
    check_crds(&client).await?;
    let ready = Arc::new(AtomicBool::new(false));
    let metrics = crate::metrics::Metrics::new();
    if let Some(addr) = options.health_addr {
        let ready = ready.clone();
        let router = axum::Router::new()
            .route("/healthz", axum::routing::get(|| async { "ok" }))
            .route(
                "/readyz",
                axum::routing::get(move || {
                    let ready = ready.clone();
                    async move {
                        if ready.load(Ordering::Relaxed) {
                            (axum::http::StatusCode::OK, "ok")
                        } else {
                            (
                                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                                "not leading yet",
                            )
                        }
                    }
                }),
            );
        tokio::spawn(serve(addr, router));
    }
    if let Some(addr) = options.metrics_addr {
        let m = metrics.clone();
        let router = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let m = m.clone();
                async move { m.encode() }
            }),
        );
        tokio::spawn(serve(addr, router));
    }
    if options.leader_election {
        let identity = format!(
            "{}_{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "helmrelease-controller".into()),
            std::process::id()
        );
        lead(client.clone(), &options.namespace, &identity).await?;
    }
    ready.store(true, Ordering::Relaxed);

    // In-process sources: serve their artifacts and reconcile them next to the HelmReleases.
    let storage = if options.settings.sources == crate::Sources::InProcess {
        let listener = tokio::net::TcpListener::bind(options.storage_addr)
            .await
            .map_err(|e| {
                Error::Startup(format!(
                    "cannot serve artifacts on {}: {e}",
                    options.storage_addr
                ))
            })?;
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(options.storage_addr.port());
        let advertised = options.storage_adv_addr.clone().unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
            format!("{host}:{port}")
        });
        std::fs::create_dir_all(&options.storage_path).map_err(|e| {
            Error::Startup(format!(
                "cannot create --storage-path {}: {e}",
                options.storage_path.display()
            ))
        })?;
        let storage = crate::storage::Storage::new(&options.storage_path, advertised);
        tracing::info!(
            path = %options.storage_path.display(),
            "serving artifacts at {}",
            storage.url("")
        );
        tokio::spawn(crate::storage::serve(storage.clone(), listener));
        let sources = Arc::new(crate::source::SourceContext {
            client: client.clone(),
            storage: storage.clone(),
            field_manager: "source-controller".into(),
        });
        let namespace = (!options.all_namespaces).then(|| options.namespace.clone());
        tokio::spawn(crate::source::run(sources, namespace, options.concurrent));
        Some(storage)
    } else {
        None
    };

    let (canceller, cancel) = Cancel::new();
    let ctx = Arc::new(Context {
        client: client.clone(),
        config,
        impersonating: Default::default(),
        settings: options.settings.clone(),
        events: crate::events::Events::new(client.clone(), &options.settings.field_manager),
        storage,
        metrics,
        capabilities: Default::default(),
        cancel,
        kinds: Default::default(),
    });
    let (hrs, cms, secrets): (Api<HelmRelease>, Api<ConfigMap>, Api<Secret>) =
        if options.all_namespaces {
            (
                Api::all(client.clone()),
                Api::all(client.clone()),
                Api::all(client.clone()),
            )
        } else {
            (
                Api::namespaced(client.clone(), &options.namespace),
                Api::namespaced(client.clone(), &options.namespace),
                Api::namespaced(client.clone(), &options.namespace),
            )
        };
    let mut hr_config = watcher::Config::default();
    if let Some(selector) = &options.label_selector {
        hr_config = hr_config.labels(selector);
    }
    let watched = watcher::Config::default().labels("reconcile.fluxcd.io/watch=Enabled");
    // As Flux's predicates: a new generation or a reconcile request triggers a reconcile; our
    // own status writes do not.
    let (store, writer) = reflector::store();
    let triggers = watcher(hrs, hr_config)
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(trigger, Default::default());
    let controller = Controller::for_stream(triggers, store.clone())
        .with_config(kube::runtime::controller::Config::default().concurrency(options.concurrent));
    let (s1, s2) = (store.clone(), store.clone());
    let controller = controller
        .watches(cms, watched.clone(), move |cm: ConfigMap| {
            referencing(
                &s1,
                "ConfigMap",
                &cm.namespace().unwrap_or_default(),
                &cm.name_any(),
            )
        })
        .watches(secrets, watched, move |s: Secret| {
            referencing(
                &s2,
                "Secret",
                &s.namespace().unwrap_or_default(),
                &s.name_any(),
            )
        });
    // A source's new artifact (a chart bump, a Git commit) brings its HelmReleases back, as
    // helm-controller's watch on artifact revisions does.
    let (s3, s4) = (store.clone(), store.clone());
    let (charts, ocis): (Api<HelmChart>, Api<OCIRepository>) = if options.all_namespaces {
        (Api::all(client.clone()), Api::all(client.clone()))
    } else {
        (
            Api::namespaced(client.clone(), &options.namespace),
            Api::namespaced(client.clone(), &options.namespace),
        )
    };
    let chart_events = watcher(charts, watcher::Config::default())
        .default_backoff()
        .touched_objects()
        .predicate_filter(artifact_revision, Default::default());
    let oci_events = watcher(ocis, watcher::Config::default())
        .default_backoff()
        .touched_objects()
        .predicate_filter(artifact_revision, Default::default());
    let controller = controller
        .watches_stream(chart_events, move |c: HelmChart| {
            using_source(
                &s3,
                ObjectKind::HelmChart,
                &c.namespace().unwrap_or_default(),
                &c.name_any(),
            )
        })
        .watches_stream(oci_events, move |o: OCIRepository| {
            using_source(
                &s4,
                ObjectKind::OCIRepository,
                &o.namespace().unwrap_or_default(),
                &o.name_any(),
            )
        });
    let timeout = options.graceful_shutdown_timeout;
    let shutdown = async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("shutting down; cancelling running actions");
        canceller.cancel();
        // Give cancelled actions time to record `failed` before the process ends.
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            std::process::exit(0);
        });
    };
    controller
        .graceful_shutdown_on(shutdown)
        .run(
            |hr: Arc<HelmRelease>, ctx: Arc<Context>| async move {
                let started = Instant::now();
                let (ns, name) = (hr.namespace().unwrap_or_default(), hr.name_any());
                let result = reconcile::reconcile(hr, ctx.clone()).await;
                ctx.metrics
                    .reconciled(&ns, &name, started.elapsed().as_secs_f64(), result.is_err());
                match result {
                    Ok(Requeue::After(d)) => Ok(Action::requeue(d)),
                    Ok(Requeue::OnChange) => Ok(Action::await_change()),
                    Err(e) => Err(e),
                }
            },
            |hr: Arc<HelmRelease>, error: &Error, _ctx: Arc<Context>| {
                tracing::error!(helmrelease = %format!("{}/{}", hr.namespace().unwrap_or_default(), hr.name_any()), "reconcile failed: {error}");
                Action::requeue(Duration::from_secs(5))
            },
            ctx,
        )
        .for_each(|_| futures::future::ready(()))
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use helmrelease_crds::helmrelease::HelmReleaseSpec;

    #[test]
    fn only_generation_requests_and_deletion_trigger() {
        let mut hr = HelmRelease::new("web", HelmReleaseSpec::default());
        hr.metadata.generation = Some(1);
        let base = trigger(&hr);
        let mut status_only = hr.clone();
        status_only.status = Some(Default::default());
        status_only.metadata.resource_version = Some("42".into());
        assert_eq!(
            trigger(&status_only),
            base,
            "our status writes trigger nothing"
        );
        let mut generation = hr.clone();
        generation.metadata.generation = Some(2);
        assert_ne!(trigger(&generation), base);
        for key in [
            "reconcile.fluxcd.io/requestedAt",
            "reconcile.fluxcd.io/forceAt",
            "reconcile.fluxcd.io/resetAt",
        ] {
            let mut requested = hr.clone();
            requested.annotations_mut().insert(key.into(), "now".into());
            assert_ne!(trigger(&requested), base, "{key}");
        }
        let mut other = hr.clone();
        other.annotations_mut().insert("team".into(), "web".into());
        assert_eq!(trigger(&other), base);
    }
}
