//! Semantic versions and version constraints read exactly as Helm reads them (Masterminds semver
//! v3.4, implemented in [`helmrelease_semver`]), and the choice of a chart version from a
//! repository index as `helm pull --version` and `helm template --repo --version` make it.
//!
//! Resolution: an entry whose version string equals the constraint wins outright; otherwise the
//! highest matching version wins (ties, which differ only in build metadata, go to the entry
//! created last, as in Flux). The empty constraint means `*`: the latest stable version.
//! Prereleases match only an AND group that has a prerelease in one of its versions.
//!
//! ```
//! use helmrelease_sources::version::{Constraint, Version};
//! let c = Constraint::parse(">=1.0 <2.0")?;
//! assert!(c.matches(&Version::parse("1.9.3")?));
//! assert!(!c.matches(&Version::parse("2.0.0")?));
//! assert!(!c.matches(&Version::parse("1.9.4-rc.1")?));
//! # Ok::<(), helmrelease_sources::Error>(())
//! ```

use std::fmt;
use std::ops::Deref;

use helmrelease_semver as semver;

use crate::error::{Error, Result};
use crate::index::ChartVersion;

/// A semantic version as Masterminds semver v3 reads it: a [`helmrelease_semver::Version`]
/// whose parse errors are this crate's [`Error`], worded with
/// [`helmrelease_semver::Error::describe`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(semver::Version);

impl Version {
    /// Parses a version the way Masterminds' `NewVersion` does (see
    /// [`helmrelease_semver::Version::parse`]).
    pub fn parse(s: &str) -> Result<Version> {
        semver::Version::parse(s)
            .map(Version)
            .map_err(|e| Error::InvalidVersion {
                version: s.to_string(),
                reason: e.describe(),
            })
    }
}

impl Deref for Version {
    type Target = semver::Version;

    fn deref(&self) -> &semver::Version {
        &self.0
    }
}

impl std::str::FromStr for Version {
    type Err = Error;

    fn from_str(s: &str) -> Result<Version> {
        Version::parse(s)
    }
}

impl fmt::Display for Version {
    /// The canonical form `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, without a `v`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An OR of AND groups of comparisons, as Masterminds' `Constraints`: a
/// [`helmrelease_semver::Constraints`] whose parse errors are this crate's [`Error`].
#[derive(Debug, Clone)]
pub struct Constraint(semver::Constraints);

impl Constraint {
    /// Parses a constraint the way Masterminds' `NewConstraint` does. The empty string is not a
    /// constraint (Helm replaces it by `*` before parsing; [`resolve`] does the same).
    pub fn parse(s: &str) -> Result<Constraint> {
        semver::Constraints::parse(s)
            .map(Constraint)
            .map_err(|e| Error::InvalidConstraint {
                constraint: s.to_string(),
                reason: e.describe(),
            })
    }

    /// Masterminds' `Check`: some OR group has all its comparisons satisfied. A prerelease
    /// version only satisfies a group that mentions a prerelease.
    pub fn matches(&self, v: &Version) -> bool {
        self.0.check(&v.0)
    }

    /// As [`Constraint::matches`], but with prereleases admitted everywhere (Masterminds'
    /// `IncludePrerelease`).
    pub fn matches_including_prereleases(&self, v: &Version) -> bool {
        self.0.check_with(&v.0, semver::Prereleases::Always)
    }
}

impl Deref for Constraint {
    type Target = semver::Constraints;

    fn deref(&self) -> &semver::Constraints {
        &self.0
    }
}

impl std::str::FromStr for Constraint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Constraint> {
        Constraint::parse(s)
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How many of the highest versions a "not found" error lists.
const NEAREST_HIGHEST: usize = 5;

/// Picks the chart version `constraint` selects among `versions` (one chart's index entries),
/// as Helm's `IndexFile.Get` does:
///
/// 1. a non-empty constraint equal to an entry's version string selects that entry;
/// 2. otherwise the highest version the constraint matches (`""` means `*`, the latest stable
///    version); entries whose version is not semver are skipped.
///
/// `chart` and `repo` only serve the error, which lists the nearest available versions.
pub fn resolve<'a>(
    chart: &str,
    versions: &'a [ChartVersion],
    constraint: &str,
    repo: &str,
) -> Result<&'a ChartVersion> {
    let parsed = sorted_versions(versions);
    if !constraint.is_empty()
        && let Some((_, entry)) = parsed.iter().find(|(_, e)| e.version == constraint)
    {
        return Ok(entry);
    }
    let c = Constraint::parse(if constraint.is_empty() {
        "*"
    } else {
        constraint
    })?;
    if let Some((_, entry)) = parsed.iter().find(|(v, _)| c.matches(v)) {
        return Ok(entry);
    }
    let prerelease = parsed
        .iter()
        .find(|(v, _)| v.is_prerelease() && c.matches_including_prereleases(v))
        .map(|(_, e)| e.version.clone());
    Err(Error::VersionNotFound {
        chart: chart.to_string(),
        constraint: constraint.to_string(),
        repo: repo.to_string(),
        nearest: nearest(&parsed, &c),
        prerelease,
    })
}

/// The entries with a valid version, highest first; equal versions newest first, then in index
/// order.
fn sorted_versions(versions: &[ChartVersion]) -> Vec<(Version, &ChartVersion)> {
    let mut parsed: Vec<(Version, &ChartVersion, Option<jiff::Timestamp>)> = versions
        .iter()
        .filter_map(|e| {
            // Not `Version::parse`: the skipped entries' errors are never shown.
            let v = Version(semver::Version::parse(&e.version).ok()?);
            Some((v, e, e.created_at()))
        })
        .collect();
    // A stable sort keeps index order among entries that compare equal.
    parsed.sort_by(|(a, _, ta), (b, _, tb)| b.cmp(a).then(tb.cmp(ta)));
    parsed.into_iter().map(|(v, e, _)| (v, e)).collect()
}

/// The versions to show when nothing matched: the highest few, and the closest below and above
/// the constraint's own version; stable ones unless the constraint has a prerelease (or there
/// are only prereleases). Highest first, each once.
fn nearest(sorted: &[(Version, &ChartVersion)], c: &Constraint) -> Vec<String> {
    let stable_only = !c.has_prerelease() && sorted.iter().any(|(v, _)| !v.is_prerelease());
    let pool: Vec<&(Version, &ChartVersion)> = sorted
        .iter()
        .filter(|(v, _)| !stable_only || !v.is_prerelease())
        .collect();
    let mut picked: Vec<&(Version, &ChartVersion)> =
        pool.iter().take(NEAREST_HIGHEST).copied().collect();
    if let Some(anchor) = c.anchor() {
        // `pool` is sorted highest first.
        let below = pool.iter().find(|(v, _)| v.0 < *anchor);
        let above = pool.iter().rev().find(|(v, _)| v.0 > *anchor);
        picked.extend(below.into_iter().chain(above).copied());
    }
    picked.sort_by(|(a, _), (b, _)| b.cmp(a));
    let mut out: Vec<String> = Vec::with_capacity(picked.len());
    for (_, e) in picked {
        if !out.contains(&e.version) {
            out.push(e.version.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn entries(versions: &[&str]) -> Vec<ChartVersion> {
        versions
            .iter()
            .map(|s| ChartVersion {
                name: "demo".into(),
                version: (*s).to_string(),
                ..ChartVersion::default()
            })
            .collect()
    }

    /// The version semantics are tested in helmrelease-semver; here, this crate's wording.
    #[test]
    fn errors_are_worded_for_chart_users() {
        assert_eq!(
            Version::parse("1.2.3-01").unwrap_err().to_string(),
            "invalid version \"1.2.3-01\": numeric prerelease identifier \"01\" has a leading \
             zero"
        );
        for bad in ["", "foo", "1|2"] {
            let err = Constraint::parse(bad).expect_err(bad);
            assert!(
                err.to_string().starts_with("invalid version constraint"),
                "{bad:?}: {err}"
            );
        }
        assert_eq!(
            Constraint::parse(">=1|2").unwrap_err().to_string(),
            "invalid version constraint \">=1|2\": \"1|2\" is not a version: not a semantic \
             version (expected MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD])"
        );
        assert_eq!(v("v1.2").major(), 1);
        assert_eq!(v("1.0.0+a"), v("1.0.0+b"));
    }

    const PODINFO: &[&str] = &[
        "6.6.0",
        "6.5.4",
        "6.5.3",
        "6.5.2",
        "6.5.1",
        "6.5.0",
        "6.4.1",
        "6.4.0",
        "6.0.0",
        "5.2.1",
        "5.2.0",
        "5.0.0",
        "7.0.0-rc.1",
        "6.6.1-beta.1",
        "1.0.0",
        "0.9.0",
        "0.2.1",
        "0.0.3",
        "not-a-version",
        "v4.0.0",
        "4.1.0+build.1",
    ];

    /// Constraint, expected resolution against [`PODINFO`] (order shuffled on purpose).
    #[test]
    fn resolution_table() {
        let list = entries(PODINFO);
        let cases: &[(&str, &str)] = &[
            ("", "6.6.0"),
            ("*", "6.6.0"),
            ("x", "6.6.0"),
            ("6.5.3", "6.5.3"),
            ("=6.5.3", "6.5.3"),
            ("v6.5.3", "6.5.3"),
            ("6.5", "6.5.4"),
            ("6.5.x", "6.5.4"),
            ("6.5.*", "6.5.4"),
            ("6", "6.6.0"),
            ("6.x", "6.6.0"),
            ("~6.5", "6.5.4"),
            ("~6.5.1", "6.5.4"),
            ("~>6.4", "6.4.1"),
            ("~6", "6.6.0"),
            ("^6", "6.6.0"),
            ("^6.4", "6.6.0"),
            ("^5", "5.2.1"),
            ("^0.2", "0.2.1"),
            ("^0.0.3", "0.0.3"),
            ("^0", "0.9.0"),
            (">=5.0 <6.0", "5.2.1"),
            (">=5.0, <6.0", "5.2.1"),
            (">= 5.0.0, < 6.0.0", "5.2.1"),
            ("<6", "5.2.1"),
            ("<=6.5.2", "6.5.2"),
            (">6.5.0 <6.5.3", "6.5.2"),
            ("!=6.6.0", "6.5.4"),
            ("!=6.6.0 !=6.5.4", "6.5.3"),
            ("5.0.0 - 6.4.0", "6.4.0"),
            ("5 - 6.4", "6.4.1"),
            ("^5 || ^6", "6.6.0"),
            ("^1 || ^5", "5.2.1"),
            ("4.x", "4.1.0+build.1"),
            ("v4", "4.1.0+build.1"),
            ("4.0.0", "v4.0.0"),
            ("v4.0.0", "v4.0.0"),
            ("4.1.0", "4.1.0+build.1"),
            ("7.0.0-rc.1", "7.0.0-rc.1"),
            (">=7.0.0-0", "7.0.0-rc.1"),
            (">=6.6.0-0", "7.0.0-rc.1"),
            ("^7.0.0-0", "7.0.0-rc.1"),
            ("~6.6.1-0", "6.6.1-beta.1"),
            (">6.5.4 <7.0.0-0", "6.6.1-beta.1"),
            ("*-0", "7.0.0-rc.1"),
            (">0.0.0-0", "7.0.0-rc.1"),
            ("1", "1.0.0"),
            ("1.0", "1.0.0"),
        ];
        assert!(cases.len() >= 40);
        for (constraint, want) in cases {
            let got = resolve("podinfo", &list, constraint, "https://example.test/")
                .unwrap_or_else(|e| panic!("{constraint:?}: {e}"));
            assert_eq!(got.version, *want, "{constraint:?}");
        }
    }

    #[test]
    fn not_found_lists_nearest_versions() {
        let list = entries(PODINFO);
        let cases: &[(&str, &str)] = &[
            (
                "9.9.9",
                "chart \"podinfo\" version \"9.9.9\" not found in https://example.test/; \
                 nearest: 6.6.0, 6.5.4, 6.5.3, 6.5.2, 6.5.1",
            ),
            (
                "5.1.0",
                "chart \"podinfo\" version \"5.1.0\" not found in https://example.test/; \
                 nearest: 6.6.0, 6.5.4, 6.5.3, 6.5.2, 6.5.1, 5.2.0, 5.0.0",
            ),
            (
                "^3",
                "chart \"podinfo\" version \"^3\" not found in https://example.test/; \
                 nearest: 6.6.0, 6.5.4, 6.5.3, 6.5.2, 6.5.1, v4.0.0, 1.0.0",
            ),
            (
                ">6.6.0",
                "chart \"podinfo\" version \">6.6.0\" not found in https://example.test/; \
                 nearest: 6.6.0, 6.5.4, 6.5.3, 6.5.2, 6.5.1; prerelease 7.0.0-rc.1 would \
                 match, but a constraint only admits prereleases when it has a prerelease part \
                 itself (e.g. \">=1.0.0-0\")",
            ),
            (
                "<0.0.1",
                "chart \"podinfo\" version \"<0.0.1\" not found in https://example.test/; \
                 nearest: 6.6.0, 6.5.4, 6.5.3, 6.5.2, 6.5.1, 0.0.3",
            ),
        ];
        for (constraint, want) in cases {
            let err = resolve("podinfo", &list, constraint, "https://example.test/")
                .expect_err(constraint);
            assert_eq!(err.to_string(), *want);
            assert_eq!(err.metric_label(), "version_not_found");
        }
        let err = resolve("empty", &[], "1.0.0", "https://example.test/").unwrap_err();
        assert_eq!(
            err.to_string(),
            "chart \"empty\" version \"1.0.0\" not found in https://example.test/; the chart \
             has no valid versions"
        );
        let only_pre = entries(&["1.0.0-rc.1", "1.0.0-rc.2"]);
        let err = resolve("pre", &only_pre, "", "r").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "chart \"pre\" has no stable version in r; nearest: 1.0.0-rc.2, 1.0.0-rc.1; \
                 prerelease 1.0.0-rc.2 would match"
            ),
            "{err}"
        );
        assert_eq!("v1.2".parse::<Version>().unwrap().to_string(), "1.2.0");
        assert!("^1".parse::<Constraint>().unwrap().matches(&v("1.9.9")));
    }

    #[test]
    fn bad_constraint_is_reported_not_panicked() {
        let list = entries(PODINFO);
        let err = resolve("podinfo", &list, ">= latest", "r").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid version constraint \">= latest\": improper constraint: \">= latest\""
        );
        // An exact match on the version string wins over an equal version earlier in the index.
        let odd = entries(&["1.2.3", "1.2.3+weird"]);
        assert_eq!(
            resolve("x", &odd, "1.2.3+weird", "r").unwrap().version,
            "1.2.3+weird"
        );
    }

    #[test]
    fn equal_versions_prefer_the_newest_entry() {
        let mut list = entries(&["1.0.0+a", "1.0.0+b", "1.0.0+c"]);
        list[0].created = Some("2024-01-01T00:00:00Z".into());
        list[1].created = Some("2024-03-01T00:00:00+02:00".into());
        list[2].created = Some("2024-02-01T00:00:00.123456789Z".into());
        assert_eq!(
            resolve("x", &list, "1.0.0", "r").unwrap().version,
            "1.0.0+b"
        );
        // Without timestamps, index order decides.
        let list = entries(&["1.0.0+a", "1.0.0+b"]);
        assert_eq!(resolve("x", &list, "^1", "r").unwrap().version, "1.0.0+a");
    }
}
