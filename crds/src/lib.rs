//! Kubernetes API types of helmrelease: Flux's `helm.toolkit.fluxcd.io/v2` HelmRelease, the
//! `source.toolkit.fluxcd.io` Helm sources, and our `policy.helmrelease.dev/v1alpha1`
//! HelmReleasePolicy. Types only: no IO. Unknown fields are ignored when parsing, so manifests
//! written for newer Flux versions still load.

// kube-derive's repeated `printcolumn(..., type_ = ...)` arguments read as duplicates to clippy.
#![allow(clippy::duplicated_attributes)]

pub mod conditions;
pub mod crdgen;
pub mod helmrelease;
pub mod meta;
pub mod naming;
pub mod policy;
pub mod source;

pub use helmrelease::{HelmRelease, HelmReleaseSpec, HelmReleaseStatus};
pub use policy::{HelmReleasePolicy, HelmReleasePolicySpec};
pub use source::oci_v1::OCIRepository;
pub use source::{HelmChart, HelmRepository};
