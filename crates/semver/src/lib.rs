//! Semantic versions and version constraints exactly as Masterminds semver v3.4 reads them
//! (`NewVersion`, `NewConstraint`, `Constraints.Check`, the `Version` methods): the library
//! Helm 3.21 links, for chart versions, dependency ranges and `kubeVersion`, and under Sprig's
//! `semver` and `semverCompare`.
//!
//! The rules, in short:
//!
//! - Versions are coerced: `1`, `1.2`, `v1.2.3` and leading zeros (`1.02.3`) parse; numeric
//!   prerelease identifiers must not have leading zeros; build metadata is ignored when comparing.
//! - Constraints: `1.2.3` (exact), `=`, `!=`, `>`, `<`, `>=`/`=>`, `<=`/`=<`, `~`/`~>`, `^`,
//!   wildcards `x`/`X`/`*` and partial versions (`1.2` means `~1.2`), hyphen ranges
//!   (`1 - 2` means `>= 1, <= 2`), AND by space or comma, OR by `||`.
//! - Prereleases match only an AND group that has a prerelease in one of its versions.
//!
//! Where the users differ, the difference is an explicit choice here:
//!
//! - [`Error`] displays Masterminds' own text (Sprig's errors are compared with Go's byte for
//!   byte); [`Error::describe`] words it for people choosing a chart version.
//! - [`Constraints::check_with`] takes [`Prereleases`]: Masterminds' default, or its
//!   `IncludePrerelease` (to tell a user which prerelease a constraint passed over).
//!
//! ```
//! use helmrelease_semver::{Constraints, Version};
//! let c = Constraints::parse(">=1.0 <2.0")?;
//! assert!(c.check(&Version::parse("1.9.3")?));
//! assert!(!c.check(&Version::parse("2.0.0")?));
//! assert!(!c.check(&Version::parse("1.9.4-rc.1")?));
//! # Ok::<(), helmrelease_semver::Error>(())
//! ```

mod constraint;
mod error;
mod version;

pub use constraint::{Constraints, Prereleases};
pub use error::Error;
pub use version::Version;
