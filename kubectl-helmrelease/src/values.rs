//! Release values: Helm's coalescing for `get values --all`, and hiding what came from
//! Secrets (`valuesFrom` of kind Secret) unless `--show-secrets`. Both live in
//! `helmrelease-flux`, which composes the values in the first place.

pub use helmrelease_flux::values::{SecretValues, coalesce};
