//! Helm 4's actions as Flux's helm-controller v1.6 runs them, against a Kubernetes API server:
//! install, upgrade, rollback, uninstall and test, with server-side apply under one field
//! manager (or Helm 4's client-side apply, when asked), hooks by weight with their delete policies, kstatus-style waits, pruning, and
//! release storage written exactly as Helm 4 writes it (so `helm` reads and upgrades what we
//! write, and we read what it writes).
//!
//! Pure decisions (readiness of an object, which revisions to prune, hook order) live apart
//! from the IO that acts on them.

pub mod actions;
pub mod apply;
pub mod csa;
pub mod error;
pub mod readiness;
pub mod storage;
pub mod wait;

pub use actions::{Actions, ApplyMethod, CrdPolicy, Desired, Options, TestFilter};
pub use error::{Error, Result};
pub use wait::{Cancel, Canceller};
