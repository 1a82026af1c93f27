//! [`Constraints`]: Masterminds' `NewConstraint` and `Constraints.Check` (v3.4).

use std::cmp::Ordering;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use crate::Error;
use crate::Version;
use crate::version::compare_prerelease;

/// Go's `\s` in RE2 syntax (ASCII only, no vertical tab).
const WS: &str = r"[\t\n\f\r ]";
/// Masterminds' `cvRegex`: a version in a constraint, with wildcards.
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
/// Masterminds' operators; the empty alternative is the bare version.
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct Patterns {
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

impl Patterns {
    fn compile() -> Result<Self, regex::Error> {
        Ok(Self {
            constraint: Regex::new(&format!(r"^{WS}*({OPS}){WS}*({CV}){WS}*$"))?,
            range: Regex::new(&format!(r"{WS}*({CV}){WS}+-{WS}+({CV}){WS}*"))?,
            find: Regex::new(&format!(r"({OPS}){WS}*({CV})"))?,
            valid: Regex::new(&format!(
                r"^({WS}*({OPS}){WS}*({CV}){WS}*)((?:{WS}+|,{WS}*)({OPS}){WS}*({CV}){WS}*)*$"
            ))?,
        })
    }
}

static PATTERNS: LazyLock<Result<Patterns, String>> =
    LazyLock::new(|| Patterns::compile().map_err(|e| e.to_string()));

fn patterns() -> Result<&'static Patterns, Error> {
    PATTERNS.as_ref().map_err(|e| Error::Patterns(e.clone()))
}

/// Which prerelease versions [`Constraints::check_with`] lets match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Prereleases {
    /// Masterminds' default: a prerelease matches only an AND group that has a prerelease in
    /// one of its versions (Helm, Sprig, and choosing a chart version).
    #[default]
    WhenNamed,
    /// Masterminds' `IncludePrerelease`: prereleases match like any version (to tell a user
    /// which prerelease a constraint passed over).
    Always,
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
                    if c.major() != v.major() {
                        return true;
                    }
                    if c.minor() != v.minor() && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch() != v.patch() && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if v.is_prerelease() || c.is_prerelease() {
                            return compare_prerelease(v.prerelease(), c.prerelease())
                                != Ordering::Equal;
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
                if v.major() > c.major() {
                    true
                } else if v.major() < c.major() || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor() > c.minor()
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
                !(v.major() > c.major()
                    || (v.major() == c.major() && v.minor() > c.minor() && !self.minor_dirty))
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => {
                if v < c {
                    return false;
                }
                if c.major() > 0 || self.minor_dirty {
                    return v.major() == c.major();
                }
                if v.major() > 0 {
                    return false;
                }
                if c.minor() > 0 || self.patch_dirty {
                    return v.minor() == c.minor();
                }
                if v.minor() > 0 {
                    return false;
                }
                c.patch() == v.patch()
            }
        }
    }

    /// `~1.2.3` is `>=1.2.3, <1.3.0`; `~1` is `>=1.0.0, <2.0.0`; `~0.0.0` is anything.
    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v < c {
            return false;
        }
        if c.core_is_zero() && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major() != c.major() {
            return false;
        }
        v.minor() == c.minor() || self.minor_dirty
    }
}

/// An AND group of comparisons.
#[derive(Debug, Clone)]
struct Group {
    terms: Vec<Term>,
    /// Some version in the group has a prerelease, which lets prereleases match the group.
    has_pre: bool,
}

/// An OR of AND groups of comparisons, as Masterminds' `Constraints`.
#[derive(Debug, Clone)]
pub struct Constraints {
    raw: String,
    groups: Vec<Group>,
}

impl Constraints {
    /// Parses a constraint the way Masterminds' `NewConstraint` does. The empty string is not a
    /// constraint (Helm replaces it by `*` where it means "any").
    pub fn parse(s: &str) -> Result<Constraints, Error> {
        let p = patterns()?;
        let rewritten = rewrite_range(p, s);
        let mut groups = Vec::new();
        for segment in rewritten.split("||") {
            if !p.valid.is_match(segment) {
                return Err(improper(segment));
            }
            // A segment `valid` accepts always holds a comparison, so `found` is never empty.
            let terms = p
                .find
                .find_iter(segment)
                .map(|m| parse_term(p, m.as_str()))
                .collect::<Result<Vec<Term>, Error>>()?;
            let has_pre = terms.iter().any(|t| t.con.is_prerelease());
            groups.push(Group { terms, has_pre });
        }
        Ok(Constraints {
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
    pub fn check(&self, v: &Version) -> bool {
        self.check_with(v, Prereleases::WhenNamed)
    }

    /// As [`Constraints::check`], with the prerelease rule chosen.
    pub fn check_with(&self, v: &Version, prereleases: Prereleases) -> bool {
        let always = prereleases == Prereleases::Always;
        self.groups
            .iter()
            .any(|g| g.terms.iter().all(|t| t.check(v, always || g.has_pre)))
    }

    /// True when some version in the constraint has a prerelease part.
    pub fn has_prerelease(&self) -> bool {
        self.groups.iter().any(|g| g.has_pre)
    }

    /// The version the constraint is "about": that of its first comparison, wildcards and
    /// missing parts as 0 (`^1.x` gives `1.0.0`).
    pub fn anchor(&self) -> Option<&Version> {
        self.groups
            .first()
            .and_then(|g| g.terms.first())
            .map(|t| &t.con)
    }
}

impl std::str::FromStr for Constraints {
    type Err = Error;

    fn from_str(s: &str) -> Result<Constraints, Error> {
        Constraints::parse(s)
    }
}

impl fmt::Display for Constraints {
    /// The constraint as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

fn improper(segment: &str) -> Error {
    Error::ImproperConstraint {
        segment: segment.to_string(),
    }
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
fn parse_term(p: &Patterns, text: &str) -> Result<Term, Error> {
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
    let con = Version::parse(&version).map_err(|e| Error::ConstraintVersion {
        version: group(2).to_string(),
        source: Box::new(e),
    })?;
    Ok(Term {
        op,
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    /// Helm's `IsCompatibleRange`: false when either side does not parse.
    fn compatible(constraint: &str, version: &str) -> bool {
        match (Constraints::parse(constraint), Version::parse(version)) {
            (Ok(c), Ok(v)) => c.check(&v),
            _ => false,
        }
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
            let c = Constraints::parse(constraint)
                .unwrap_or_else(|e| panic!("{constraint:?} should parse: {e}"));
            assert_eq!(
                c.check(&v(version)),
                *want,
                "{constraint:?} against {version}"
            );
        }
    }

    /// Helm's dependency and `kubeVersion` checks (`IsCompatibleRange`).
    #[test]
    fn compatible_ranges() {
        let cases = [
            ("1.2.3", "1.2.3", true),
            ("1.2.3", "1.2.4", false),
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.3.0", false),
            ("^1.2.3", "1.9.0", true),
            ("^1.2.3", "2.0.0", false),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            (">=1.0.0 <2.0.0", "1.5.0", true),
            (">=1.0.0, <2.0.0", "2.0.0", false),
            ("1.x", "1.4.0", true),
            ("1.x", "2.0.0", false),
            ("*", "3.1.4", true),
            ("1.0 - 1.4", "1.4.0", true),
            ("1.0 - 1.4", "1.5.0", false),
            ("1.x || 3.x", "3.0.1", true),
            (">1.0.0", "1.0.1-beta", false),
            (">1.0.0-alpha", "1.0.1-beta", true),
            ("", "1.0.0", false),
            ("!=1.2.3", "1.2.4", true),
            ("<=1.2", "1.2.9", true),
            ("<=1.2", "1.3.0", false),
        ];
        for (c, v, want) in cases {
            assert_eq!(compatible(c, v), want, "{c} {v}");
        }
    }

    #[test]
    fn prereleases_always_admits_them_everywhere() {
        let c = Constraints::parse(">6.6.0 || ^1").unwrap();
        assert!(!c.check(&v("7.0.0-rc.1")));
        assert!(c.check_with(&v("7.0.0-rc.1"), Prereleases::Always));
        assert!(!c.has_prerelease());
        assert_eq!(c.anchor(), Some(&v("6.6.0")));
        assert_eq!(c.to_string(), ">6.6.0 || ^1");
        assert!(">=1.0.0-0".parse::<Constraints>().unwrap().has_prerelease());
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
            assert!(Constraints::parse(bad).is_err(), "{bad:?}");
        }
        for good in [
            ">= 1.2.3 < 2.0 || => 3.0 < 4",
            "3 - 4 || => 3.0, < 4",
            "12.3.34 ~1.2.3",
        ] {
            assert!(Constraints::parse(good).is_ok(), "{good:?}");
        }
    }

    /// `Display` is Masterminds' text (Sprig compares it with Go's); `describe` is ours.
    #[test]
    fn errors_read_as_masterminds_and_describe_explains() {
        for (input, go, described) in [
            (
                "foo",
                "improper constraint: foo",
                "improper constraint: \"foo\"",
            ),
            (
                ">= 1.0.0 ||",
                "improper constraint: ",
                "improper constraint: \"\"",
            ),
            (
                ">=1|2",
                "constraint parser error",
                "\"1|2\" is not a version: not a semantic version (expected \
                 MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD])",
            ),
        ] {
            let err = Constraints::parse(input).unwrap_err();
            assert_eq!(err.to_string(), go, "{input}");
            assert_eq!(err.describe(), described, "{input}");
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
}
