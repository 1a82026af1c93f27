//! The parts of Masterminds `semver/v3` that chart loading uses, from [`helmrelease_semver`]:
//! `NewVersion` (the coercing parser Chart.yaml versions are validated with) and constraint
//! checks (Helm's `IsCompatibleRange`, which decides whether a subchart satisfies a dependency's
//! version, and whether the cluster satisfies `kubeVersion`).

use std::ops::Deref;

pub use helmrelease_semver::Constraints;

/// A parsed version: a [`helmrelease_semver::Version`] whose [`Version::parse`] answers
/// `Option`, as chart loading only asks whether a version parses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(helmrelease_semver::Version);

impl Version {
    /// `semver.NewVersion`; `None` where it returns an error.
    pub fn parse(v: &str) -> Option<Version> {
        helmrelease_semver::Version::parse(v).ok().map(Version)
    }
}

impl Deref for Version {
    type Target = helmrelease_semver::Version;

    fn deref(&self) -> &helmrelease_semver::Version {
        &self.0
    }
}

/// Helm's `chartutil.IsCompatibleRange`: whether `version` satisfies `constraint`; false
/// when either does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (
        helmrelease_semver::Version::parse(version),
        Constraints::parse(constraint),
    ) {
        (Ok(v), Ok(c)) => c.check(&v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The semantics are tested in helmrelease-semver; here, that parse errors mean false.
    #[test]
    fn unparsable_sides_are_incompatible() {
        assert!(is_compatible_range("^1.2.3", "1.9.0"));
        assert!(!is_compatible_range("", "1.0.0"));
        assert!(!is_compatible_range("*", "x"));
        assert!(Version::parse("v1.2").is_some_and(|v| v.minor() == 2));
        assert!(Version::parse("1.2.3-01").is_none());
    }
}
