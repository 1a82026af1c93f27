//! helmrelease-controller: reconciles `helm.toolkit.fluxcd.io/v2` HelmReleases into Helm
//! releases stored exactly as Helm stores them, as Flux's helm-controller does.
//!
//! The core is pure: [`state`] classifies a release and picks the next action, [`conditions`]
//! and [`history`] keep the status as Flux keeps it, [`spec`] reads the spec and annotations. The IO around it: [`reconcile`] (one
//! object), [`actions`] (Helm actions and their outcome), [`compose`] (chart and values),
//! [`drift`], [`events`], and [`run`] (the watch loop, leader election, health and metrics).

pub mod actions;
pub mod capabilities;
pub mod compose;
pub mod conditions;
pub mod dependency;
pub mod drift;
pub mod events;
pub mod helmchart;
pub mod history;
pub mod metrics;
pub mod observe;
pub mod reconcile;
pub mod run;
pub mod source;
pub mod spec;
pub mod state;
pub mod storage;

use std::time::Duration;

/// What went wrong in a reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or failed a request.
    #[error("{0}")]
    Kube(String),
    /// The reconcile failed; it is retried with backoff.
    #[error("{0}")]
    Reconcile(String),
    /// Start-up could not complete (a missing CRD, a bad flag).
    #[error("{0}")]
    Startup(String),
}

/// Where charts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sources {
    /// Fetched by this controller from the HelmRepository or OCIRepository (standalone).
    #[default]
    InProcess,
    /// The artifact Flux's source-controller publishes in the HelmChart's or
    /// OCIRepository's status (alongside Flux: every source kind, Git and Bucket included).
    SourceController,
}

/// Settings from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Field manager for applies and status patches (Flux's is `helm-controller`).
    pub field_manager: String,
    /// Who we are, for lock records on pending releases.
    pub holder: String,
    /// `--requeue-dependency`.
    pub requeue_dependency: Duration,
    /// `--interval-jitter-percentage`.
    pub interval_jitter_percentage: u32,
    /// `--no-cross-namespace-refs`.
    pub no_cross_namespace_refs: bool,
    /// `--default-service-account`.
    pub default_service_account: Option<String>,
    /// `--sources`.
    pub sources: Sources,
    /// `--feature-gates=AdditiveCELDependencyCheck=true`: a `readyExpr` adds to the built-in
    /// readiness check instead of replacing it.
    pub additive_cel_dependency_check: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            field_manager: "helm-controller".into(),
            holder: "helmrelease-controller".into(),
            requeue_dependency: Duration::from_secs(30),
            interval_jitter_percentage: 5,
            no_cross_namespace_refs: false,
            default_service_account: None,
            sources: Sources::InProcess,
            additive_cel_dependency_check: false,
        }
    }
}
