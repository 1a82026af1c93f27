//! Reading chart version strings the way Flux does (Masterminds semver constraints), to tell an
//! exact SemVer 2.0 version from every spelling of a range.

/// What a `version` field holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSpec {
    /// One exact SemVer 2.0 version, optionally with a leading `v`.
    Exact,
    /// Any version: `*`, `x`, `X` or an empty string (Flux's default when the field is unset).
    Any,
    /// A range; `meaning` spells out what it matches when that is simple enough.
    Range {
        /// How the range is written.
        kind: RangeKind,
        /// What it matches, e.g. `>=20.0.0 <21.0.0`, when it is a single interval.
        meaning: Option<String>,
    },
    /// An exact version with an `=` or `v=` operator: pinned in effect, but not as written.
    EqualsOperator {
        /// The version without the operator.
        bare: String,
    },
    /// Not a version at all; `reason` says what is wrong.
    Invalid {
        /// What is wrong.
        reason: String,
    },
}

/// Spellings of ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeKind {
    /// `^1.2.3`.
    Caret,
    /// `~1.2.3` or `~>1.2.3`.
    Tilde,
    /// `1.2`, `1`: a partial version, which Masterminds reads as a range.
    Partial,
    /// `1.2.x`, `1.*`.
    Wildcard,
    /// `>=1.0.0`, `<2`, `!=1.2.3`, or several comparisons.
    Comparison,
    /// `1.0.0 - 2.0.0`.
    Hyphen,
    /// `a || b`.
    Or,
}

impl RangeKind {
    /// A short description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            RangeKind::Caret => "a caret range",
            RangeKind::Tilde => "a tilde range",
            RangeKind::Partial => "a partial version, which Flux reads as a range",
            RangeKind::Wildcard => "a wildcard range",
            RangeKind::Comparison => "a comparison range",
            RangeKind::Hyphen => "a hyphen range",
            RangeKind::Or => "a union of ranges",
        }
    }
}

/// Classifies a version string.
pub fn classify(raw: &str) -> VersionSpec {
    if raw != raw.trim() {
        return VersionSpec::Invalid {
            reason: "has leading or trailing spaces".into(),
        };
    }
    let s = raw;
    if s.is_empty() || matches!(s, "*" | "x" | "X") {
        return VersionSpec::Any;
    }
    if s.contains("||") {
        return VersionSpec::Range {
            kind: RangeKind::Or,
            meaning: None,
        };
    }
    if s.contains(" - ") {
        return VersionSpec::Range {
            kind: RangeKind::Hyphen,
            meaning: None,
        };
    }
    let terms = terms(s);
    if terms.len() > 1 {
        return VersionSpec::Range {
            kind: RangeKind::Comparison,
            meaning: Some(terms.join(" ")),
        };
    }
    let joined = terms.concat();
    let s = joined.as_str();
    if is_exact(s) {
        return VersionSpec::Exact;
    }
    for op in [">=", "=>", "<=", "=<", "!=", ">", "<"] {
        if let Some(rest) = s.strip_prefix(op) {
            if parse_partial(rest.trim_start()).is_none() {
                return invalid_after(op, rest);
            }
            return VersionSpec::Range {
                kind: RangeKind::Comparison,
                meaning: Some(s.to_string()),
            };
        }
    }
    if let Some(rest) = s.strip_prefix("~>").or_else(|| s.strip_prefix('~')) {
        return match parse_partial(rest.trim_start()) {
            Some(p) => VersionSpec::Range {
                kind: RangeKind::Tilde,
                meaning: Some(tilde_bounds(&p)),
            },
            None => invalid_after("~", rest),
        };
    }
    if let Some(rest) = s.strip_prefix('^') {
        return match parse_partial(rest.trim_start()) {
            Some(p) => VersionSpec::Range {
                kind: RangeKind::Caret,
                meaning: Some(caret_bounds(&p)),
            },
            None => invalid_after("^", rest),
        };
    }
    if let Some(rest) = s.strip_prefix('=') {
        let rest = rest.trim_start();
        if is_exact(rest) {
            return VersionSpec::EqualsOperator {
                bare: rest.to_string(),
            };
        }
        return match parse_partial(rest) {
            Some(p) => partial_range(&p),
            None => invalid_after("=", rest),
        };
    }
    match parse_partial(s) {
        // Three plain numbers that are not exact SemVer (leading zeros, bad suffix): invalid.
        Some(p) if p.written == 3 && p.parts.iter().all(Option::is_some) => VersionSpec::Invalid {
            reason: exact_error(s),
        },
        Some(p) => partial_range(&p),
        None => VersionSpec::Invalid {
            reason: exact_error(s),
        },
    }
}

/// Splits a constraint into its AND-ed terms, keeping an operator with the version after it
/// (`>= 1.2` is one term, as Masterminds reads it).
fn terms(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut pending_op = String::new();
    for token in s.split([' ', ',']).filter(|t| !t.is_empty()) {
        if token
            .chars()
            .all(|c| matches!(c, '=' | '<' | '>' | '!' | '~' | '^'))
        {
            pending_op.push_str(token);
            continue;
        }
        out.push(format!("{}{token}", std::mem::take(&mut pending_op)));
    }
    if !pending_op.is_empty() {
        out.push(pending_op);
    }
    out
}

fn invalid_after(op: &str, rest: &str) -> VersionSpec {
    VersionSpec::Invalid {
        reason: format!("{rest:?} after {op:?} is not a version"),
    }
}

/// A version with possibly missing or wildcard parts (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Partial {
    parts: [Option<u64>; 3],
    /// How many parts were written (1 to 3).
    written: usize,
    /// Pre-release or build suffix, kept for display.
    suffix: String,
}

fn parse_partial(s: &str) -> Option<Partial> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (core, suffix) = match s.find(['-', '+']) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let pieces: Vec<&str> = core.split('.').collect();
    if pieces.is_empty() || pieces.len() > 3 {
        return None;
    }
    let mut parts = [None; 3];
    let mut wildcard_seen = false;
    for (i, piece) in pieces.iter().enumerate() {
        if matches!(*piece, "x" | "X" | "*") {
            wildcard_seen = true;
            continue;
        }
        if wildcard_seen || piece.is_empty() || !piece.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parts[i] = Some(piece.parse().ok()?);
    }
    Some(Partial {
        parts,
        written: pieces.len(),
        suffix: suffix.to_string(),
    })
}

fn partial_range(p: &Partial) -> VersionSpec {
    let wildcard = p.parts.iter().take(p.written).any(Option::is_none);
    let kind = if wildcard {
        RangeKind::Wildcard
    } else {
        RangeKind::Partial
    };
    let meaning = match p.parts {
        [None, ..] => "any version".to_string(),
        [Some(major), None, _] => format!(">={major}.0.0 <{}.0.0", major + 1),
        [Some(major), Some(minor), None] => format!(">={major}.{minor}.0 <{major}.{}.0", minor + 1),
        [Some(major), Some(minor), Some(patch)] => format!("{major}.{minor}.{patch}{}", p.suffix),
    };
    VersionSpec::Range {
        kind,
        meaning: Some(meaning),
    }
}

fn lower(p: &Partial) -> String {
    let [a, b, c] = p.parts.map(|x| x.unwrap_or(0));
    format!("{a}.{b}.{c}{}", p.suffix)
}

/// `~1.2.3` is `>=1.2.3 <1.3.0`; `~1` is `>=1.0.0 <2.0.0`.
fn tilde_bounds(p: &Partial) -> String {
    match p.parts {
        [Some(major), Some(minor), _] => format!(">={} <{major}.{}.0", lower(p), minor + 1),
        [Some(major), None, _] => format!(">={} <{}.0.0", lower(p), major + 1),
        _ => "any version".to_string(),
    }
}

/// `^1.2.3` is `>=1.2.3 <2.0.0`; below 1.0.0 the first non-zero part is fixed instead.
fn caret_bounds(p: &Partial) -> String {
    let upper = match p.parts {
        [None, ..] => return "any version".to_string(),
        [Some(major), _, _] if major > 0 => format!("{}.0.0", major + 1),
        [Some(0), None, _] => "1.0.0".to_string(),
        [Some(0), Some(minor), _] if minor > 0 => format!("0.{}.0", minor + 1),
        [Some(0), Some(0), None] => "0.1.0".to_string(),
        [Some(0), Some(0), Some(patch)] => format!("0.0.{}", patch + 1),
        _ => return "any version".to_string(),
    };
    format!(">={} <{upper}", lower(p))
}

/// An example exact version built from the numbers in a range (`^20` gives `20.0.0`), for
/// messages that show the form of the fix.
pub fn example_from(raw: &str) -> Option<String> {
    let start = raw.find(|c: char| c.is_ascii_digit())?;
    let token: String = raw[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '*'))
        .collect();
    let p = parse_partial(&token)?;
    p.parts[0]?;
    Some(lower(&Partial {
        suffix: String::new(),
        ..p
    }))
}

/// True for one exact SemVer 2.0 version `MAJOR.MINOR.PATCH[-pre][+build]`, optional `v`.
pub fn is_exact(s: &str) -> bool {
    exact_problem(s).is_none()
}

fn exact_error(s: &str) -> String {
    exact_problem(s).unwrap_or_else(|| "is not a version".to_string())
}

/// Why `s` is not an exact SemVer 2.0 version, or `None` when it is one.
fn exact_problem(s: &str) -> Option<String> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (rest, build) = match s.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (s, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    if !numbers[0]
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit())
    {
        return Some("is not a version number".to_string());
    }
    if numbers.len() != 3 {
        return Some("is not MAJOR.MINOR.PATCH".to_string());
    }
    for (name, n) in ["major", "minor", "patch"].iter().zip(&numbers) {
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Some(format!("has a {name} part {n:?} that is not a number"));
        }
        if n.len() > 1 && n.starts_with('0') {
            return Some(format!("has a leading zero in the {name} part"));
        }
        if n.parse::<u64>().is_err() {
            return Some(format!("has a {name} part that is too large"));
        }
    }
    if let Some(pre) = pre {
        for id in pre.split('.') {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Some(format!("has an invalid pre-release identifier {id:?}"));
            }
            if id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()) {
                return Some(format!(
                    "has a leading zero in the pre-release identifier {id:?}"
                ));
            }
        }
    }
    if let Some(build) = build {
        for id in build.split('.') {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Some(format!("has an invalid build identifier {id:?}"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_versions() {
        for v in [
            "1.2.3",
            "v1.2.3",
            "0.0.0",
            "20.11.4",
            "1.2.3-rc.1",
            "1.2.3-0",
            "1.2.3-alpha-beta.7",
            "1.2.3+build.5",
            "1.2.3-rc.1+sha.abc",
            "1.0.0+001",
            "65.1.1",
            "10.20.30",
        ] {
            assert_eq!(classify(v), VersionSpec::Exact, "{v}");
        }
    }

    /// Ranges as they are spelled in real repositories, with what Masterminds makes of them.
    #[test]
    fn ranges() {
        let cases: &[(&str, RangeKind, Option<&str>)] = &[
            ("^20", RangeKind::Caret, Some(">=20.0.0 <21.0.0")),
            ("^1.2.3", RangeKind::Caret, Some(">=1.2.3 <2.0.0")),
            ("^0.2.3", RangeKind::Caret, Some(">=0.2.3 <0.3.0")),
            ("^0.0.3", RangeKind::Caret, Some(">=0.0.3 <0.0.4")),
            ("^0", RangeKind::Caret, Some(">=0.0.0 <1.0.0")),
            ("~20.11", RangeKind::Tilde, Some(">=20.11.0 <20.12.0")),
            ("~1.2.3", RangeKind::Tilde, Some(">=1.2.3 <1.3.0")),
            ("~>2.1", RangeKind::Tilde, Some(">=2.1.0 <2.2.0")),
            ("~1", RangeKind::Tilde, Some(">=1.0.0 <2.0.0")),
            ("20.11", RangeKind::Partial, Some(">=20.11.0 <20.12.0")),
            ("20", RangeKind::Partial, Some(">=20.0.0 <21.0.0")),
            ("v6", RangeKind::Partial, Some(">=6.0.0 <7.0.0")),
            ("1.x", RangeKind::Wildcard, Some(">=1.0.0 <2.0.0")),
            ("1.2.*", RangeKind::Wildcard, Some(">=1.2.0 <1.3.0")),
            ("6.5.*", RangeKind::Wildcard, Some(">=6.5.0 <6.6.0")),
            ("1.X", RangeKind::Wildcard, Some(">=1.0.0 <2.0.0")),
            (">=1.0.0", RangeKind::Comparison, Some(">=1.0.0")),
            (">4.0.0", RangeKind::Comparison, Some(">4.0.0")),
            ("<2", RangeKind::Comparison, Some("<2")),
            ("!=1.2.3", RangeKind::Comparison, Some("!=1.2.3")),
            (
                ">=4.0.0 <5.0.0",
                RangeKind::Comparison,
                Some(">=4.0.0 <5.0.0"),
            ),
            (
                ">=6.0.0 <6.9.0",
                RangeKind::Comparison,
                Some(">=6.0.0 <6.9.0"),
            ),
            (">=1.2, <2", RangeKind::Comparison, Some(">=1.2 <2")),
            ("=>1.0.0", RangeKind::Comparison, Some("=>1.0.0")),
            ("1.0.0 - 2.0.0", RangeKind::Hyphen, None),
            ("^1.0.0 || ^2.0.0", RangeKind::Or, None),
            ("1.2.3 || 1.2.4", RangeKind::Or, None),
        ];
        for (raw, kind, meaning) in cases {
            assert_eq!(
                classify(raw),
                VersionSpec::Range {
                    kind: *kind,
                    meaning: meaning.map(String::from)
                },
                "{raw}"
            );
        }
    }

    #[test]
    fn any_version_and_operators_and_garbage() {
        for v in ["", "*", "x", "X"] {
            assert_eq!(classify(v), VersionSpec::Any, "{v:?}");
        }
        assert_eq!(
            classify("=1.2.3"),
            VersionSpec::EqualsOperator {
                bare: "1.2.3".into()
            }
        );
        assert_eq!(
            classify("= v1.2.3"),
            VersionSpec::EqualsOperator {
                bare: "v1.2.3".into()
            }
        );
        assert_eq!(
            classify(">= 1.2, < 2"),
            VersionSpec::Range {
                kind: RangeKind::Comparison,
                meaning: Some(">=1.2 <2".into())
            }
        );
        for (v, reason) in [
            (" 1.2.3", "has leading or trailing spaces"),
            ("1.2.3 ", "has leading or trailing spaces"),
            ("01.2.3", "has a leading zero in the major part"),
            ("1.02.3", "has a leading zero in the minor part"),
            (
                "1.2.3-01",
                "has a leading zero in the pre-release identifier \"01\"",
            ),
            ("1.2.3-", "has an invalid pre-release identifier \"\""),
            ("1.2.3+", "has an invalid build identifier \"\""),
            ("latest", "is not a version number"),
            ("1.2.beta", "has a patch part \"beta\" that is not a number"),
            ("1.2.3.4", "is not MAJOR.MINOR.PATCH"),
            ("^latest", "\"latest\" after \"^\" is not a version"),
        ] {
            assert_eq!(
                classify(v),
                VersionSpec::Invalid {
                    reason: reason.into()
                },
                "{v:?}"
            );
        }
    }

    #[test]
    fn examples_take_the_numbers_of_the_range() {
        for (raw, want) in [
            ("^20", Some("20.0.0")),
            ("~20.11", Some("20.11.0")),
            (">=4.0.0 <5.0.0", Some("4.0.0")),
            ("1.2.x", Some("1.2.0")),
            ("v6", Some("6.0.0")),
            ("*", None),
            ("latest", None),
        ] {
            assert_eq!(example_from(raw).as_deref(), want, "{raw}");
        }
    }
}
