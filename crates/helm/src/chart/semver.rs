//! The parts of Masterminds `semver/v3` that chart loading uses: `NewVersion` (the
//! coercing parser Chart.yaml versions are validated with) and constraint checks (Helm's
//! `IsCompatibleRange`, which decides whether a subchart satisfies a dependency's version).

use regex::Regex;
use std::cmp::Ordering;
use std::sync::OnceLock;

/// A parsed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
    /// Prerelease (without `-`).
    pub pre: String,
    /// Build metadata (without `+`).
    pub metadata: String,
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn valid_idents(s: &str) -> bool {
    s.split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

impl Version {
    /// `semver.NewVersion`: `v` prefix allowed, minor and patch optional, leading zeros in
    /// the numbers allowed, numeric prerelease identifiers without leading zeros.
    pub fn parse(v: &str) -> Option<Version> {
        let s = v.strip_prefix('v').unwrap_or(v);
        let (s, metadata) = match s.split_once('+') {
            Some((a, m)) => (a, Some(m)),
            None => (s, None),
        };
        let (nums, pre) = match s.split_once('-') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        if let Some(m) = metadata
            && !valid_idents(m)
        {
            return None;
        }
        if let Some(p) = pre {
            if !valid_idents(p) {
                return None;
            }
            for part in p.split('.') {
                if all_digits(part) && part.len() > 1 && part.starts_with('0') {
                    return None;
                }
            }
        }
        let segs: Vec<&str> = nums.split('.').collect();
        if segs.is_empty() || segs.len() > 3 || !segs.iter().all(|s| all_digits(s)) {
            return None;
        }
        let num = |i: usize| -> Option<u64> {
            match segs.get(i) {
                Some(s) => s.parse().ok(),
                None => Some(0),
            }
        };
        Some(Version {
            major: num(0)?,
            minor: num(1)?,
            patch: num(2)?,
            pre: pre.unwrap_or("").to_string(),
            metadata: metadata.unwrap_or("").to_string(),
        })
    }

    /// Semver precedence (build metadata ignored).
    pub fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }
}

fn compare_prerelease(v: &str, o: &str) -> Ordering {
    let s: Vec<&str> = v.split('.').collect();
    let t: Vec<&str> = o.split('.').collect();
    for i in 0..s.len().max(t.len()) {
        let a = s.get(i).copied().unwrap_or("");
        let b = t.get(i).copied().unwrap_or("");
        let d = compare_pre_part(a, b);
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
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(a), Ok(b)) => {
            if a > b {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct Regexes {
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

fn regexes() -> Option<&'static Regexes> {
    static R: OnceLock<Option<Regexes>> = OnceLock::new();
    R.get_or_init(|| {
        // Go's \s is ASCII: [\t\n\f\r ].
        let ws = r"[\t\n\x0C\r ]";
        Some(Regexes {
            constraint: Regex::new(&format!(r"^{ws}*({OPS}){ws}*({CV}){ws}*$")).ok()?,
            range: Regex::new(&format!(r"{ws}*({CV}){ws}+-{ws}+({CV}){ws}*")).ok()?,
            find: Regex::new(&format!(r"({OPS}){ws}*({CV})")).ok()?,
            valid: Regex::new(&format!(
                r"^({ws}*({OPS}){ws}*({CV}){ws}*)((?:{ws}+|,{ws}*)({OPS}){ws}*({CV}){ws}*)*$"
            ))
            .ok()?,
        })
    })
    .as_ref()
}

#[derive(Debug, Clone)]
struct Constraint {
    op: String,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

/// A parsed constraint (`>=1.2.0 <2`, `~1.2`, `^1`, `1.x || 2.x`, `1.0 - 1.4`).
#[derive(Debug, Clone)]
pub struct Constraints {
    ors: Vec<Vec<Constraint>>,
    has_pre: Vec<bool>,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraints {
    /// `semver.NewConstraint`; `None` where it returns an error (an empty string included).
    pub fn parse(c: &str) -> Option<Constraints> {
        let re = regexes()?;
        // Rewrite `a - b` ranges.
        let mut c = c.to_string();
        let ranges: Vec<(String, String, String)> = re
            .range
            .captures_iter(&c)
            .map(|m| {
                let g = |i: usize| m.get(i).map_or("", |x| x.as_str()).to_string();
                (g(0), g(1), g(11))
            })
            .collect();
        for (whole, lo, hi) in ranges {
            c = c.replacen(&whole, &format!(">= {lo}, <= {hi} "), 1);
        }
        let mut ors = Vec::new();
        let mut has_pre = Vec::new();
        for part in c.split("||") {
            if !re.valid.is_match(part) {
                return None;
            }
            let mut found: Vec<&str> = re.find.find_iter(part).map(|m| m.as_str()).collect();
            if found.is_empty() {
                found.push(part);
            }
            let mut group = Vec::new();
            let mut pre = false;
            for s in found {
                let pc = parse_constraint(re, s)?;
                if !pc.con.pre.is_empty() {
                    pre = true;
                }
                group.push(pc);
            }
            ors.push(group);
            has_pre.push(pre);
        }
        Some(Constraints { ors, has_pre })
    }

    /// `Constraints.Check`.
    pub fn check(&self, v: &Version) -> bool {
        self.ors
            .iter()
            .zip(&self.has_pre)
            .any(|(group, pre)| group.iter().all(|c| c.check(v, *pre)))
    }
}

fn parse_constraint(re: &Regexes, c: &str) -> Option<Constraint> {
    if c.is_empty() {
        return Some(Constraint {
            op: String::new(),
            con: Version::parse("0.0.0")?,
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let m = re.constraint.captures(c)?;
    let g = |i: usize| m.get(i).map_or("", |x| x.as_str());
    let (op, whole, major, minor, patch, pre) = (g(1), g(2), g(3), g(4), g(5), g(6));
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver = if is_x(major) || major.is_empty() {
        dirty = true;
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        whole.to_string()
    };
    Some(Constraint {
        op: op.to_string(),
        con: Version::parse(&ver)?,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op.as_str() {
            "" | "=" => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == Ordering::Equal
                }
            }
            "!=" => {
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
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            ">" => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    v.compare(c) == Ordering::Greater
                }
            }
            "<" => v.compare(c) == Ordering::Less,
            ">=" | "=>" => v.compare(c) != Ordering::Less,
            "<=" | "=<" => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            "~" | "~>" => self.tilde(v),
            "^" => {
                if v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
            _ => false,
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// Helm's `chartutil.IsCompatibleRange`: whether `version` satisfies `constraint`; false
/// when either does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (Version::parse(version), Constraints::parse(constraint)) {
        (Some(v), Some(c)) => c.check(&v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        for ok in [
            "1.2.3",
            "v1.2.3",
            "1",
            "1.2",
            "01.2.3",
            "1.2.3-alpha.1+build.5",
            "1.2.3-0",
        ] {
            assert!(Version::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "x",
            "1.2.3.4",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "1..2",
            "1.2.3-a..b",
        ] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ranges() {
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
            assert_eq!(is_compatible_range(c, v), want, "{c} {v}");
        }
    }
}
