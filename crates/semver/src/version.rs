//! [`Version`]: Masterminds' `NewVersion` (with the coercion v3.4 does by default), precedence,
//! and the `Inc*`/`Set*` methods.

use std::cmp::Ordering;
use std::fmt;

use crate::Error;

/// A semantic version as Masterminds semver v3.4 reads it.
///
/// Equality and ordering follow SemVer precedence: build metadata is ignored, so `1.2.3+a` and
/// `1.2.3+b` are equal. [`Version::original`] keeps the string as written.
#[derive(Debug, Clone)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

/// Dot-separated non-empty identifiers of `[0-9A-Za-z-]`.
fn valid_identifiers(s: &str) -> bool {
    s.split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

fn parse_segment(digits: &str) -> Result<u64, Error> {
    digits.parse().map_err(|_| Error::SegmentOutOfRange {
        segment: digits.to_string(),
    })
}

/// Masterminds' `validatePrerelease`.
fn validate_prerelease(pre: &str) -> Result<(), Error> {
    for id in pre.split('.') {
        if id.is_empty() {
            return Err(Error::InvalidPrerelease);
        }
        if id.bytes().all(|b| b.is_ascii_digit()) {
            if id.len() > 1 && id.starts_with('0') {
                return Err(Error::SegmentStartsZero {
                    identifier: id.to_string(),
                });
            }
        } else if !valid_identifiers(id) {
            return Err(Error::InvalidPrerelease);
        }
    }
    Ok(())
}

impl Version {
    /// Parses a version the way Masterminds' `NewVersion` does: an optional `v`, one to three
    /// numbers (missing ones are 0, leading zeros allowed), an optional `-prerelease` and
    /// `+metadata`, each dot-separated `[0-9A-Za-z-]` identifiers; numeric prerelease
    /// identifiers must not have leading zeros.
    pub fn parse(s: &str) -> Result<Version, Error> {
        // Splitting at the first `+`, then the first `-`, accepts what Masterminds'
        // `looseSemVerRegex` accepts, as identifiers cannot contain `+`.
        let body = s.strip_prefix('v').unwrap_or(s);
        let (body, metadata) = body
            .split_once('+')
            .map_or((body, None), |(b, m)| (b, Some(m)));
        let (core, pre) = body
            .split_once('-')
            .map_or((body, None), |(c, p)| (c, Some(p)));
        let nums: Vec<&str> = core.split('.').collect();
        let shape_ok = nums.len() <= 3
            && nums
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            && pre.is_none_or(valid_identifiers)
            && metadata.is_none_or(valid_identifiers);
        if !shape_ok {
            return Err(Error::InvalidSemVer);
        }
        let segment = |i: usize| nums.get(i).map_or(Ok(0), |n| parse_segment(n));
        let version = Version {
            major: segment(0)?,
            minor: segment(1)?,
            patch: segment(2)?,
            pre: pre.unwrap_or_default().to_string(),
            metadata: metadata.unwrap_or_default().to_string(),
            original: s.to_string(),
        };
        if !version.pre.is_empty() {
            validate_prerelease(&version.pre)?;
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
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    /// True when the version has a prerelease part.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The string the version was parsed from (for derived versions, see [`Version::inc_patch`]).
    pub fn original(&self) -> &str {
        &self.original
    }

    pub(crate) fn core_is_zero(&self) -> bool {
        self.major == 0 && self.minor == 0 && self.patch == 0
    }

    /// A changed copy whose original text is its new canonical form, with the old `v` prefix
    /// (Masterminds' `originalVPrefix() + String()`).
    fn derived(&self, change: impl FnOnce(&mut Version)) -> Version {
        let mut next = self.clone();
        change(&mut next);
        let v = if self.original.starts_with('v') {
            "v"
        } else {
            ""
        };
        next.original = format!("{v}{next}");
        next
    }

    /// `IncPatch`: a prerelease loses its prerelease part (`1.2.3-rc` becomes `1.2.3`),
    /// otherwise the patch number goes up; metadata is dropped.
    pub fn inc_patch(&self) -> Version {
        self.derived(|n| {
            if n.pre.is_empty() {
                // Go's uint64 addition wraps.
                n.patch = n.patch.wrapping_add(1);
            }
            n.pre.clear();
            n.metadata.clear();
        })
    }

    /// `IncMinor`: the next minor version, patch 0, no prerelease or metadata.
    pub fn inc_minor(&self) -> Version {
        self.derived(|n| {
            n.minor = n.minor.wrapping_add(1);
            n.patch = 0;
            n.pre.clear();
            n.metadata.clear();
        })
    }

    /// `IncMajor`: the next major version, minor and patch 0, no prerelease or metadata.
    pub fn inc_major(&self) -> Version {
        self.derived(|n| {
            n.major = n.major.wrapping_add(1);
            n.minor = 0;
            n.patch = 0;
            n.pre.clear();
            n.metadata.clear();
        })
    }

    /// `SetPrerelease`: a copy with that prerelease part (empty removes it).
    pub fn set_prerelease(&self, pre: &str) -> Result<Version, Error> {
        if !pre.is_empty() {
            validate_prerelease(pre)?;
        }
        Ok(self.derived(|n| n.pre = pre.to_string()))
    }

    /// `SetMetadata`: a copy with that build metadata (empty removes it).
    pub fn set_metadata(&self, metadata: &str) -> Result<Version, Error> {
        if !metadata.is_empty() && !valid_identifiers(metadata) {
            return Err(Error::InvalidMetadata);
        }
        Ok(self.derived(|n| n.metadata = metadata.to_string()))
    }
}

impl std::str::FromStr for Version {
    type Err = Error;

    fn from_str(s: &str) -> Result<Version, Error> {
        Version::parse(s)
    }
}

impl fmt::Display for Version {
    /// Masterminds' `String()`: `MAJOR.MINOR.PATCH[-PRE][+METADATA]`, without a `v`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

impl Ord for Version {
    /// Masterminds' `Compare`: SemVer precedence, metadata ignored.
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
pub(crate) fn compare_prerelease(a: &str, b: &str) -> Ordering {
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
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => s.cmp(o),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
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
            ("01.2.3", "1.2.3"),
            ("1.2.3-rc.1+build.5", "1.2.3-rc.1+build.5"),
            ("1.2.3-alpha.1+build.5", "1.2.3-alpha.1+build.5"),
            ("1.2-beta", "1.2.0-beta"),
            ("1.2.3-alpha-beta", "1.2.3-alpha-beta"),
            ("1.2.3-0", "1.2.3-0"),
            ("1.0.0+001", "1.0.0+001"),
            ("1+2-3", "1.0.0+2-3"),
            ("1.2.3-a-", "1.2.3-a-"),
            ("0.0.0", "0.0.0"),
        ] {
            assert_eq!(v(input).to_string(), canonical, "{input}");
            assert_eq!(v(input).original(), input);
        }
        for bad in [
            "",
            "x",
            "latest",
            "1.2.3.4",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-+b",
            "1..2",
            "1.2.3-a..b",
            "1.2.3+a+b",
            "V1.2.3",
            "vv1",
            " 1.2.3",
            "1.2.3\n",
            "1.2.x",
            "99999999999999999999.0.0",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    /// `Display` is Masterminds' text (Sprig compares it with Go's); `describe` is ours.
    #[test]
    fn errors_read_as_masterminds_and_describe_explains() {
        for (input, go, described) in [
            (
                "abc",
                "invalid semantic version",
                "not a semantic version (expected MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD])",
            ),
            (
                "99999999999999999999.0.0",
                "error parsing version segment: strconv.ParseUint: parsing \
                 \"99999999999999999999\": value out of range",
                "version segment \"99999999999999999999\" is too large",
            ),
            (
                "1.2.3-01",
                "version segment starts with 0",
                "numeric prerelease identifier \"01\" has a leading zero",
            ),
        ] {
            let err = Version::parse(input).unwrap_err();
            assert_eq!(err.to_string(), go, "{input}");
            assert_eq!(err.describe(), described, "{input}");
        }
    }

    #[test]
    fn precedence_follows_semver() {
        let ordered = [
            "1.0.0-1",
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
        // A number too large for 64 bits compares as a word, so after every number.
        assert!(v("1.0.0-99999999999999999999") > v("1.0.0-5"));
    }

    #[test]
    fn derived_versions_keep_the_v_prefix() {
        let x = v("v1.2.3-rc+m");
        assert_eq!(x.inc_patch().original(), "v1.2.3");
        assert_eq!(v("1.2.3+m").inc_patch().original(), "1.2.4");
        assert_eq!(x.inc_minor().to_string(), "1.3.0");
        assert_eq!(x.inc_major().to_string(), "2.0.0");
        assert_eq!(x.set_prerelease("").unwrap().original(), "v1.2.3+m");
        assert_eq!(x.set_metadata("b.7").unwrap().to_string(), "1.2.3-rc+b.7");
        assert_eq!(
            x.set_prerelease("01").unwrap_err(),
            Error::SegmentStartsZero {
                identifier: "01".into()
            }
        );
        assert_eq!(
            x.set_prerelease("a..b").unwrap_err(),
            Error::InvalidPrerelease
        );
        assert_eq!(
            x.set_prerelease("a_b").unwrap_err(),
            Error::InvalidPrerelease
        );
        assert_eq!(x.set_metadata("a+b").unwrap_err(), Error::InvalidMetadata);
    }
}
