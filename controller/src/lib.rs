//! helmrelease-controller: reconciles `helm.toolkit.fluxcd.io/v2` HelmReleases into Helm
//! releases stored exactly as Helm stores them, as Flux's helm-controller does.
//!
//! The core is pure: [`state`] classifies a release and picks the next action, [`conditions`]
//! and [`history`] keep the status as Flux keeps it. The IO around it lives in [`reconcile`].

pub mod conditions;
pub mod history;
pub mod state;
