//! Semantic versions and version constraints read exactly as Helm reads them (Masterminds semver
//! v3.4: `NewVersion`, `NewConstraint`, `Constraints.Check`), and the choice of a chart version
//! from a repository index as `helm pull --version` and `helm template --repo --version` make it.
//!
//! The rules, in short:
//!
//! - Versions are coerced: `1`, `1.2`, `v1.2.3` and leading zeros (`1.02.3`) parse; numeric
//!   prerelease identifiers must not have leading zeros; build metadata is ignored when comparing.
//! - Constraints: `1.2.3` (exact), `=`, `!=`, `>`, `<`, `>=`/`=>`, `<=`/`=<`, `~`/`~>`, `^`,
//!   wildcards `x`/`X`/`*` and partial versions (`1.2` means `~1.2`), hyphen ranges
//!   (`1 - 2` means `>= 1, <= 2`), AND by space or comma, OR by `||`.
//! - Prereleases match only an AND group that has a prerelease in one of its versions.
//! - Resolution: an entry whose version string equals the constraint wins outright; otherwise the
//!   highest matching version wins (ties, which differ only in build metadata, go to the entry
//!   created last, as in Flux). The empty constraint means `*`: the latest stable version.
//!
//! ```
//! use helmrelease_sources::version::{Constraint, Version};
//! let c = Constraint::parse(">=1.0 <2.0")?;
//! assert!(c.matches(&Version::parse("1.9.3")?));
//! assert!(!c.matches(&Version::parse("2.0.0")?));
//! assert!(!c.matches(&Version::parse("1.9.4-rc.1")?));
//! # Ok::<(), helmrelease_sources::Error>(())
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use crate::error::{Error, Result};
use crate::index::ChartVersion;

/// Go's `\s` in RE2 syntax (ASCII only, no vertical tab).
const WS: &str = r"[\t\n\f\r ]";
/// Masterminds' `cvRegex`: a version in a constraint, with wildcards.
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
/// Masterminds' operators; the empty alternative is the bare version.
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";
/// Masterminds' `looseSemVerRegex`, which `NewVersion` uses (with `CoerceNewVersion`).
const LOOSE_VERSION: &str = r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$";

struct Patterns {
    version: Regex,
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

impl Patterns {
    fn compile() -> std::result::Result<Self, regex::Error> {
        Ok(Self {
            version: Regex::new(LOOSE_VERSION)?,
            constraint: Regex::new(&format!(r"^{WS}*({OPS}){WS}*({CV}){WS}*$"))?,
            range: Regex::new(&format!(r"{WS}*({CV}){WS}+-{WS}+({CV}){WS}*"))?,
            find: Regex::new(&format!(r"({OPS}){WS}*({CV})"))?,
            valid: Regex::new(&format!(
                r"^({WS}*({OPS}){WS}*({CV}){WS}*)((?:{WS}+|,{WS}*)({OPS}){WS}*({CV}){WS}*)*$"
            ))?,
        })
    }
}

static PATTERNS: LazyLock<std::result::Result<Patterns, String>> =
    LazyLock::new(|| Patterns::compile().map_err(|e| e.to_string()));

fn patterns() -> std::result::Result<&'static Patterns, String> {
    PATTERNS
        .as_ref()
        .map_err(|e| format!("internal error compiling version patterns: {e}"))
}

/// A semantic version as Masterminds semver v3 reads it.
///
/// Equality and ordering follow SemVer precedence: build metadata is ignored, so `1.2.3+a` and
/// `1.2.3+b` are equal. [`Version::original`] keeps the string as written.
#[derive(Debug, Clone)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    build: String,
    original: String,
}

impl Version {
    /// Parses a version the way Masterminds' `NewVersion` does: an optional `v`, one to three
    /// numbers (missing ones are 0, leading zeros allowed), an optional `-prerelease` and
    /// `+build`.
    pub fn parse(s: &str) -> Result<Version> {
        let invalid = |reason: String| Error::InvalidVersion {
            version: s.to_string(),
            reason,
        };
        let p = patterns().map_err(invalid)?;
        let Some(m) = p.version.captures(s) else {
            return Err(invalid(
                "not a semantic version (expected MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD])"
                    .to_string(),
            ));
        };
        let number = |i: usize| -> Result<u64> {
            match m.get(i) {
                None => Ok(0),
                Some(g) => {
                    let digits = g.as_str().trim_start_matches('.');
                    digits
                        .parse::<u64>()
                        .map_err(|_| invalid(format!("version segment {digits:?} is too large")))
                }
            }
        };
        let version = Version {
            major: number(1)?,
            minor: number(2)?,
            patch: number(3)?,
            pre: m.get(5).map_or("", |g| g.as_str()).to_string(),
            build: m.get(8).map_or("", |g| g.as_str()).to_string(),
            original: s.to_string(),
        };
        for id in version.pre.split('.').filter(|_| !version.pre.is_empty()) {
            if id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(format!(
                    "numeric prerelease identifier {id:?} has a leading zero"
                )));
            }
        }
        Ok(version)
    }

    /// The major number.
    pub fn major(&self) -> u64 {
        self.major
    }

    /// The minor number.
    pub fn minor(&self) -> u64 {
        self.minor
    }

    /// The patch number.
    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// The prerelease part without its `-`, empty when there is none.
    pub fn prerelease(&self) -> &str {
        &self.pre
    }

    /// The build metadata without its `+`, empty when there is none.
    pub fn build(&self) -> &str {
        &self.build
    }

    /// True when the version has a prerelease part.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The string the version was parsed from.
    pub fn original(&self) -> &str {
        &self.original
    }

    fn core_is_zero(&self) -> bool {
        self.major == 0 && self.minor == 0 && self.patch == 0
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
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &other.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// Masterminds' `comparePrerelease`: identifier by identifier; a missing identifier sorts first,
/// numbers before words, numbers numerically, words bytewise.
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let left: Vec<&str> = a.split('.').collect();
    let right: Vec<&str> = b.split('.').collect();
    for i in 0..left.len().max(right.len()) {
        let s = left.get(i).copied().unwrap_or("");
        let o = right.get(i).copied().unwrap_or("");
        let d = compare_pre_part(s, o);
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (numeric(s), numeric(o)) {
        (Some(x), Some(y)) => {
            if x > y {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

/// Go's `strconv.ParseUint(s, 10, 64)`: digits only, fits in 64 bits.
fn numeric(s: &str) -> Option<u64> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

impl Op {
    fn from_token(op: &str) -> Option<Op> {
        Some(match op {
            "" | "=" => Op::TildeOrEqual,
            "!=" => Op::NotEqual,
            ">" => Op::Greater,
            "<" => Op::Less,
            ">=" | "=>" => Op::GreaterEqual,
            "<=" | "=<" => Op::LessEqual,
            "~" | "~>" => Op::Tilde,
            "^" => Op::Caret,
            _ => return None,
        })
    }
}

/// One comparison, e.g. `>= 1.2`.
#[derive(Debug, Clone)]
struct Term {
    op: Op,
    /// The version compared against, with wildcards and missing parts as 0.
    con: Version,
    /// Some part was a wildcard or missing.
    dirty: bool,
    /// The minor part (and so the patch) was a wildcard or missing.
    minor_dirty: bool,
    /// The patch part was a wildcard or missing.
    patch_dirty: bool,
}

impl Term {
    /// Masterminds' constraint functions, one per operator.
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if v.is_prerelease() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op {
            Op::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v == c
                }
            }
            Op::NotEqual => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if v.is_prerelease() || c.is_prerelease() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v != c
            }
            Op::Greater => {
                if !self.dirty {
                    return v > c;
                }
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    v > c
                }
            }
            Op::Less => v < c,
            Op::GreaterEqual => v >= c,
            Op::LessEqual => {
                if !self.dirty {
                    return v <= c;
                }
                if v.major > c.major {
                    false
                } else {
                    !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
                }
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => {
                if v < c {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if c.major == 0 && v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if c.minor == 0 && v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v < c {
            return false;
        }
        if c.core_is_zero() && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// An OR of AND groups of comparisons, as Masterminds' `Constraints`.
#[derive(Debug, Clone)]
pub struct Constraint {
    raw: String,
    groups: Vec<Group>,
}

#[derive(Debug, Clone)]
struct Group {
    terms: Vec<Term>,
    /// Some version in the group has a prerelease, which lets prereleases match the group.
    has_pre: bool,
}

impl Constraint {
    /// Parses a constraint the way Masterminds' `NewConstraint` does. The empty string is not a
    /// constraint (Helm replaces it by `*` before parsing; [`resolve`] does the same).
    pub fn parse(s: &str) -> Result<Constraint> {
        let invalid = |reason: String| Error::InvalidConstraint {
            constraint: s.to_string(),
            reason,
        };
        let p = patterns().map_err(invalid)?;
        let rewritten = rewrite_range(p, s);
        let mut groups = Vec::new();
        for segment in rewritten.split("||") {
            if !p.valid.is_match(segment) {
                return Err(invalid(improper(segment)));
            }
            let mut found: Vec<&str> = p.find.find_iter(segment).map(|m| m.as_str()).collect();
            if found.is_empty() {
                found.push(segment);
            }
            let mut terms = Vec::with_capacity(found.len());
            for text in found {
                terms.push(parse_term(p, text).map_err(invalid)?);
            }
            let has_pre = terms.iter().any(|t| t.con.is_prerelease());
            groups.push(Group { terms, has_pre });
        }
        Ok(Constraint {
            raw: s.to_string(),
            groups,
        })
    }

    /// The constraint as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Masterminds' `Check`: some OR group has all its comparisons satisfied. A prerelease
    /// version only satisfies a group that mentions a prerelease.
    pub fn matches(&self, v: &Version) -> bool {
        self.check(v, false)
    }

    /// As [`Constraint::matches`], but with prereleases admitted everywhere (Masterminds'
    /// `IncludePrerelease`).
    pub fn matches_including_prereleases(&self, v: &Version) -> bool {
        self.check(v, true)
    }

    /// True when some version in the constraint has a prerelease part.
    pub fn has_prerelease(&self) -> bool {
        self.groups.iter().any(|g| g.has_pre)
    }

    fn check(&self, v: &Version, include_pre: bool) -> bool {
        self.groups
            .iter()
            .any(|g| g.terms.iter().all(|t| t.check(v, include_pre || g.has_pre)))
    }

    /// The version the constraint is "about": that of its first comparison. Used to find the
    /// nearest versions when nothing matches.
    fn anchor(&self) -> Option<&Version> {
        self.groups
            .first()
            .and_then(|g| g.terms.first())
            .map(|t| &t.con)
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
        f.write_str(&self.raw)
    }
}

fn improper(segment: &str) -> String {
    format!("improper constraint: {segment:?}")
}

/// Masterminds' `rewriteRange`: `A - B` becomes `>= A, <= B `.
fn rewrite_range(p: &Patterns, s: &str) -> String {
    let mut out = s.to_string();
    for m in p.range.captures_iter(s) {
        let (Some(whole), Some(from), Some(to)) = (m.get(0), m.get(1), m.get(11)) else {
            continue;
        };
        let replacement = format!(">= {}, <= {} ", from.as_str(), to.as_str());
        out = out.replacen(whole.as_str(), &replacement, 1);
    }
    out
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

/// Masterminds' `parseConstraint`.
fn parse_term(p: &Patterns, text: &str) -> std::result::Result<Term, String> {
    if text.is_empty() {
        return Ok(Term {
            op: Op::TildeOrEqual,
            con: Version::parse("0.0.0").map_err(|e| e.to_string())?,
            dirty: true,
            minor_dirty: false,
            patch_dirty: false,
        });
    }
    let m = p.constraint.captures(text).ok_or_else(|| improper(text))?;
    let group = |i: usize| m.get(i).map_or("", |g| g.as_str());
    let op = Op::from_token(group(1)).ok_or_else(|| improper(text))?;
    let (major, minor, patch, pre) = (group(3), group(4), group(5), group(6));
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let version = if is_x(major) || major.is_empty() {
        dirty = true;
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        dirty = true;
        minor_dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        group(2).to_string()
    };
    let con = Version::parse(&version).map_err(|e| match e {
        Error::InvalidVersion { reason, .. } => {
            format!("{:?} is not a version: {reason}", group(2))
        }
        other => other.to_string(),
    })?;
    Ok(Term {
        op,
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
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
            let v = Version::parse(&e.version).ok()?;
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
        let below = pool.iter().find(|(v, _)| v < anchor);
        let above = pool.iter().rev().find(|(v, _)| v > anchor);
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

    #[test]
    fn versions_parse_like_masterminds_new_version() {
        for (input, canonical) in [
            ("1.2.3", "1.2.3"),
            ("v1.2.3", "1.2.3"),
            ("1.2", "1.2.0"),
            ("1", "1.0.0"),
            ("v2", "2.0.0"),
            ("1.02.3", "1.2.3"),
            ("1.2.3-rc.1+build.5", "1.2.3-rc.1+build.5"),
            ("1.2-beta", "1.2.0-beta"),
            ("1.2.3-alpha-beta", "1.2.3-alpha-beta"),
            ("1.0.0+001", "1.0.0+001"),
            ("0.0.0", "0.0.0"),
        ] {
            assert_eq!(v(input).to_string(), canonical, "{input}");
        }
        for bad in [
            "",
            "latest",
            "1.2.3.4",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "V1.2.3",
            " 1.2.3",
            "1.2.x",
            "99999999999999999999.0.0",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn precedence_follows_semver() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
            "10.0.0",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.2.3+a"), v("1.2.3+b"));
        assert_eq!(v("v1.2"), v("1.2.0"));
    }

    /// Masterminds' own `TestConstraintsCheck` table (v3.4), plus prerelease group cases.
    #[test]
    fn constraint_checks_match_masterminds() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "1.2.3", true),
            ("*", "1.2.3-alpha.1", false),
            ("*-0", "1.2.3-alpha.1", true),
            ("~0.0.0", "1.2.3", true),
            ("0.x.x", "1.2.3", false),
            ("0.0.x", "1.2.3", false),
            ("0.0.0", "1.2.3", false),
            ("^0.0.0", "1.2.3", false),
            ("= 2.0", "1.2.3", false),
            ("= 2.0", "2.0.0", true),
            ("=2.0", "2.0.1", true),
            ("4.1", "4.1.0", true),
            ("4.1.x", "4.1.3", true),
            ("1.x", "1.4", true),
            ("!=4.1", "4.1.0", false),
            ("!=4.1-alpha", "4.1.0-alpha", false),
            ("!=4.1-alpha", "4.1.1-alpha", false),
            ("!=4.1-alpha", "4.1.0", true),
            ("!=4.1", "5.1.0", true),
            ("!=4.x", "5.1.0", true),
            ("!=4.x", "4.1.0", false),
            ("!=4.1.x", "4.2.0", true),
            ("!=4.2.x", "4.2.3", false),
            (">1.1", "4.1.0", true),
            (">1.1", "1.1.0", false),
            (">11", "11.1.0", false),
            (">11.1", "11.1.1", false),
            (">11.1", "11.2.1", true),
            (">0", "0.0.1-alpha", false),
            (">0.0.0-0", "0.0.0-alpha", true),
            ("<1.1", "0.1.0", true),
            ("<1.1", "1.1.0", false),
            ("<1.x", "1.1.1", false),
            ("<1.x", "0.1.1", true),
            ("<1.1.x", "1.1.500", false),
            ("<1.2.x", "1.1.1", true),
            ("<0-z", "0.0.0-alpha", true),
            (">=1.1", "4.1.0-beta", false),
            (">=0-0", "0.0.1-alpha", true),
            (">=0.0.0-0", "3.4.5-beta.1", true),
            ("<=1.1", "0.1.0-alpha", false),
            ("<=1.1-a", "0.1.0-alpha", true),
            ("<=1.x", "1.1.0", true),
            ("<=2.x", "3.0.0", false),
            ("<=1.1", "1.1.1", true),
            ("<=1.1.x", "1.2.500", false),
            ("<=4.5", "4.6.3", false),
            (">1.1, <2", "1.1.1", false),
            (">1.1, <2", "1.2.1", true),
            (">=1.1, <2, !=1.2.3", "1.2.3", false),
            (">=1.1    <2    !=1.2.3", "1.2.3", false),
            (">=1.1, <2, !=1.2.3 || > 3", "4.1.2", true),
            (">=1.1, <2, !=1.2.3 || > 3", "3.1.2", false),
            (">=1.1, <2, !=1.2.3 || >= 3", "3.0.0", true),
            ("> 1.1, <     2", "1.1.1", false),
            ("1.1 - 2", "1.1.1", true),
            ("1.5.0 - 4.5", "3.7.0", true),
            ("1.1-3", "4.3.2", false),
            ("^1.1", "1.1.1", true),
            ("^1.1", "4.3.2", false),
            ("^1.x", "1.1.1", true),
            ("^2.x", "1.1.1", false),
            ("^1.x", "1.1.1-beta1", false),
            ("^1.1.2-alpha", "1.2.1-beta1", true),
            ("^1.2.x-alpha", "1.1.1-beta1", false),
            ("^0.0.1", "0.0.1", true),
            ("^0.0.1", "0.3.1", false),
            ("^0.2.3", "0.2.5", true),
            ("^0.2.3", "0.5.6", false),
            ("^0.0", "0.0.3", true),
            ("^0.0", "0.1.4", false),
            ("^0", "0.2.3", true),
            ("^0", "1.1.4", false),
            ("~*", "2.1.1", true),
            ("~1", "2.1.1", false),
            ("~1", "1.3.5", true),
            ("~1.x", "1.3.5", true),
            ("~1.1", "1.1.1-alpha", false),
            ("~1.1-alpha", "1.1.1-beta", true),
            ("~1.1.1-beta", "1.1.1-alpha", false),
            ("~1.1.1-beta", "1.1.1", true),
            ("~1.2.3", "1.2.2", false),
            ("~1.2.3", "1.3.2", false),
            ("~1.2.3-beta.2", "1.2.4-beta.2", true),
            ("~1.2.3-beta.2", "1.3.4-beta.2", false),
            ("v1.2.3", "1.2.3", true),
            ("=v1.2.3", "1.2.3+build", true),
            // A prerelease anywhere in an AND group admits prereleases for the whole group.
            (">=1.0.0-0 <2.0.0", "1.5.0-rc.1", true),
            (">=1.0.0 <2.0.0-0", "1.5.0-rc.1", true),
            (">=1.0.0 <2.0.0 || >=3.0.0-0", "1.5.0-rc.1", false),
            (">=1.0.0 <2.0.0 || >=3.0.0-0", "3.1.0-rc.1", true),
        ];
        for (constraint, version, want) in cases {
            let c = Constraint::parse(constraint)
                .unwrap_or_else(|e| panic!("{constraint:?} should parse: {e}"));
            assert_eq!(
                c.matches(&v(version)),
                *want,
                "{constraint:?} against {version}"
            );
        }
    }

    #[test]
    fn malformed_constraints_are_errors() {
        for bad in [
            "",
            " ",
            "foo",
            ">= bar",
            "BAR >= 1.2.3",
            "12.3.4.1234",
            "12.3.34~ 1.2.3",
            "1.2.3 ||",
            "^latest",
            ">=1.0 <",
            "1.2.3-01",
            "1|2",
        ] {
            let err = Constraint::parse(bad).expect_err(bad);
            assert!(
                err.to_string().starts_with("invalid version constraint"),
                "{bad:?}: {err}"
            );
        }
        for good in [
            ">= 1.2.3 < 2.0 || => 3.0 < 4",
            "3 - 4 || => 3.0, < 4",
            "12.3.34 ~1.2.3",
        ] {
            assert!(Constraint::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn rewrite_range_matches_masterminds() {
        let p = patterns().unwrap();
        for (input, want) in [
            ("2 - 3", ">= 2, <= 3 "),
            ("2 - 3, 2 - 3", ">= 2, <= 3 ,>= 2, <= 3 "),
            ("2 - 3, 4.0.0 - 5.1", ">= 2, <= 3 ,>= 4.0.0, <= 5.1 "),
        ] {
            assert_eq!(rewrite_range(p, input), want, "{input}");
        }
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
