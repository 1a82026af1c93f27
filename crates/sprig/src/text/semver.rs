//! `semver` and `semverCompare`: Masterminds/semver 3.4 (`NewVersion` with its default
//! coercion, `NewConstraint`, `Constraints.Check`), as Helm 3.21 links it.
//!
//! `semver` returns a `*semver.Version` object with the version's methods (`Major`, `Minor`,
//! `Patch`, `Prerelease`, `Metadata`, `Original`, `String`, `IncMajor`/`IncMinor`/`IncPatch`,
//! `SetPrerelease`/`SetMetadata`, `Compare`, `Equal`, `LessThan`, `LessThanEqual`,
//! `GreaterThan`, `GreaterThanEqual`); the JSON, text and SQL (un)marshalling methods are left
//! out. Methods taking a `*semver.Version` accept any value and report a non-version argument
//! as their own error, where Go's executor would reject the argument before the call.

use std::fmt;
use std::rc::Rc;
use std::sync::LazyLock;

use helmrelease_gotmpl::{Funcs, Function, Object, Signature, Type, Value};
use regex::Regex;

use super::{NIL_DEREF, add, go_int, str_arg, string};

pub(super) fn register(funcs: &mut Funcs) {
    add(
        funcs,
        "semver",
        &[Type::String],
        None,
        "func(string) (*semver.Version, error)",
        |a| {
            let v = Version::parse(str_arg(a, 0)?)?;
            Ok(v.into_value(true))
        },
    );
    add(
        funcs,
        "semverCompare",
        &[Type::String, Type::String],
        None,
        "func(string, string) (bool, error)",
        |a| {
            let c = Constraints::parse(str_arg(a, 0)?)?;
            let v = Version::parse(str_arg(a, 1)?)?;
            Ok(Value::Bool(c.check(&v)))
        },
    );
}

/// A parsed version; `original` is the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

const ERR_INVALID: &str = "invalid semantic version";
const ERR_SEGMENT_ZERO: &str = "version segment starts with 0";
const ERR_PRERELEASE: &str = "invalid prerelease string";
const ERR_METADATA: &str = "invalid metadata string";

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

/// Dot-separated non-empty identifiers of `[0-9A-Za-z-]`.
fn valid_idents(s: &str) -> bool {
    s.split('.')
        .all(|p| !p.is_empty() && p.chars().all(is_ident_char))
}

fn parse_segment(s: &str) -> Result<u64, String> {
    s.parse::<u64>().map_err(|_| {
        format!(
            "error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
            helmrelease_gotmpl::strconv::quote(s)
        )
    })
}

fn validate_prerelease(p: &str) -> Result<(), String> {
    for part in p.split('.') {
        if part.is_empty() {
            return Err(ERR_PRERELEASE.to_string());
        }
        if part.bytes().all(|b| b.is_ascii_digit()) {
            if part.len() > 1 && part.starts_with('0') {
                return Err(ERR_SEGMENT_ZERO.to_string());
            }
        } else if !part.chars().all(is_ident_char) {
            return Err(ERR_PRERELEASE.to_string());
        }
    }
    Ok(())
}

fn validate_metadata(m: &str) -> Result<(), String> {
    if valid_idents(m) {
        Ok(())
    } else {
        Err(ERR_METADATA.to_string())
    }
}

impl Version {
    /// `semver.NewVersion` with coercion (the 3.4 default): `v?X(.Y(.Z)?)?(-pre)?(+meta)?`,
    /// leading zeros allowed in X, Y and Z, missing parts zero.
    fn parse(s: &str) -> Result<Version, String> {
        let body = s.strip_prefix('v').unwrap_or(s);
        let (body, metadata) = match body.split_once('+') {
            Some((b, m)) => (b, Some(m)),
            None => (body, None),
        };
        let (core, pre) = match body.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (body, None),
        };
        let nums: Vec<&str> = core.split('.').collect();
        let shape_ok = !nums.is_empty()
            && nums.len() <= 3
            && nums
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            && pre.is_none_or(valid_idents)
            && metadata.is_none_or(valid_idents);
        if !shape_ok {
            return Err(ERR_INVALID.to_string());
        }
        let mut v = Version {
            major: parse_segment(nums[0])?,
            minor: 0,
            patch: 0,
            pre: pre.unwrap_or_default().to_string(),
            metadata: metadata.unwrap_or_default().to_string(),
            original: s.to_string(),
        };
        if let Some(n) = nums.get(1) {
            v.minor = parse_segment(n)?;
        }
        if let Some(n) = nums.get(2) {
            v.patch = parse_segment(n)?;
        }
        if !v.pre.is_empty() {
            validate_prerelease(&v.pre)?;
        }
        if !v.metadata.is_empty() {
            validate_metadata(&v.metadata)?;
        }
        Ok(v)
    }

    fn compare(&self, o: &Version) -> i64 {
        for (a, b) in [
            (self.major, o.major),
            (self.minor, o.minor),
            (self.patch, o.patch),
        ] {
            if a != b {
                return if a < b { -1 } else { 1 };
            }
        }
        match (self.pre.is_empty(), o.pre.is_empty()) {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) => -1,
            (false, false) => compare_prerelease(&self.pre, &o.pre),
        }
    }

    fn less_than(&self, o: &Version) -> bool {
        self.compare(o) < 0
    }

    fn v_prefix(&self) -> &'static str {
        if self.original.starts_with('v') {
            "v"
        } else {
            ""
        }
    }

    /// A changed copy whose `original` is its new text (with the old `v` prefix).
    fn derived(&self, f: impl FnOnce(&mut Version)) -> Version {
        let mut next = self.clone();
        f(&mut next);
        next.original = format!("{}{}", self.v_prefix(), next);
        next
    }

    fn into_value(self, pointer: bool) -> Value {
        Value::Object(Rc::new(VersionObject { v: self, pointer }))
    }
}

impl fmt::Display for Version {
    /// `Version.String()`: without the `v` prefix.
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

fn compare_prerelease(a: &str, b: &str) -> i64 {
    let (sa, sb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..sa.len().max(sb.len()) {
        let d = compare_pre_part(
            sa.get(i).copied().unwrap_or(""),
            sb.get(i).copied().unwrap_or(""),
        );
        if d != 0 {
            return d;
        }
    }
    0
}

fn compare_pre_part(s: &str, o: &str) -> i64 {
    if s == o {
        return 0;
    }
    if s.is_empty() {
        return -1;
    }
    if o.is_empty() {
        return 1;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                1
            } else {
                -1
            }
        }
        // Numbers sort before identifiers.
        (Ok(_), Err(_)) => -1,
        (Err(_), Ok(_)) => 1,
        (Ok(x), Ok(y)) => {
            if x > y {
                1
            } else {
                -1
            }
        }
    }
}

/// `*semver.Version` (or, from `IncPatch` and friends, `semver.Version`).
#[derive(Debug)]
struct VersionObject {
    v: Version,
    pointer: bool,
}

#[derive(Debug, Clone, Copy)]
enum Method {
    String,
    Major,
    Minor,
    Patch,
    Prerelease,
    Metadata,
    Original,
    IncPatch,
    IncMinor,
    IncMajor,
    SetPrerelease,
    SetMetadata,
    Compare,
    Equal,
    LessThan,
    LessThanEqual,
    GreaterThan,
    GreaterThanEqual,
}

impl Object for VersionObject {
    fn type_name(&self) -> String {
        if self.pointer {
            "*semver.Version".to_string()
        } else {
            "semver.Version".to_string()
        }
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn method(&self, name: &str) -> Option<Rc<dyn Function>> {
        let method = match name {
            "String" => Method::String,
            "Major" => Method::Major,
            "Minor" => Method::Minor,
            "Patch" => Method::Patch,
            "Prerelease" => Method::Prerelease,
            "Metadata" => Method::Metadata,
            "IncPatch" => Method::IncPatch,
            "IncMinor" => Method::IncMinor,
            "IncMajor" => Method::IncMajor,
            "SetPrerelease" => Method::SetPrerelease,
            "SetMetadata" => Method::SetMetadata,
            // Pointer-receiver methods: a `semver.Version` returned by a method is not
            // addressable, so templates cannot call them on it.
            _ if !self.pointer => return None,
            "Original" => Method::Original,
            "Compare" => Method::Compare,
            "Equal" => Method::Equal,
            "LessThan" => Method::LessThan,
            "LessThanEqual" => Method::LessThanEqual,
            "GreaterThan" => Method::GreaterThan,
            "GreaterThanEqual" => Method::GreaterThanEqual,
            _ => return None,
        };
        Some(Rc::new(BoundMethod {
            v: self.v.clone(),
            method,
        }))
    }

    fn format(&self) -> String {
        self.v.to_string()
    }
}

/// A version method bound to its receiver.
struct BoundMethod {
    v: Version,
    method: Method,
}

/// The version a `*semver.Version` argument holds.
fn version_arg(args: &[Value]) -> Result<Version, String> {
    match args.first() {
        Some(Value::Object(o)) if o.type_name() == "*semver.Version" => Version::parse(&o.format()),
        Some(Value::Nil) | None => Err(NIL_DEREF.to_string()),
        Some(v) => Err(format!(
            "wrong type for value; expected *semver.Version; got {}",
            v.type_name()
        )),
    }
}

impl Function for BoundMethod {
    fn call(&self, args: &[Value]) -> Result<Value, String> {
        let v = &self.v;
        let set = |pre: bool| -> Result<Value, String> {
            let s = str_arg(args, 0)?;
            if !s.is_empty() {
                if pre {
                    validate_prerelease(s)?;
                } else {
                    validate_metadata(s)?;
                }
            }
            Ok(v.derived(|n| {
                if pre {
                    n.pre = s.to_string();
                } else {
                    n.metadata = s.to_string();
                }
            })
            .into_value(false))
        };
        Ok(match self.method {
            Method::String => string(v.to_string()),
            Method::Major => Value::Uint(v.major),
            Method::Minor => Value::Uint(v.minor),
            Method::Patch => Value::Uint(v.patch),
            Method::Prerelease => string(v.pre.as_str()),
            Method::Metadata => string(v.metadata.as_str()),
            Method::Original => string(v.original.as_str()),
            Method::IncPatch => v
                .derived(|n| {
                    if n.pre.is_empty() {
                        n.patch = n.patch.wrapping_add(1);
                    }
                    n.pre.clear();
                    n.metadata.clear();
                })
                .into_value(false),
            Method::IncMinor => v
                .derived(|n| {
                    n.minor = n.minor.wrapping_add(1);
                    n.patch = 0;
                    n.pre.clear();
                    n.metadata.clear();
                })
                .into_value(false),
            Method::IncMajor => v
                .derived(|n| {
                    n.major = n.major.wrapping_add(1);
                    n.minor = 0;
                    n.patch = 0;
                    n.pre.clear();
                    n.metadata.clear();
                })
                .into_value(false),
            Method::SetPrerelease => set(true)?,
            Method::SetMetadata => set(false)?,
            Method::Compare => go_int(v.compare(&version_arg(args)?)),
            Method::Equal => match args.first() {
                // Equal checks for nil before comparing.
                Some(Value::Nil) | None => Value::Bool(false),
                _ => Value::Bool(v.compare(&version_arg(args)?) == 0),
            },
            Method::LessThan => Value::Bool(v.compare(&version_arg(args)?) < 0),
            Method::LessThanEqual => Value::Bool(v.compare(&version_arg(args)?) <= 0),
            Method::GreaterThan => Value::Bool(v.compare(&version_arg(args)?) > 0),
            Method::GreaterThanEqual => Value::Bool(v.compare(&version_arg(args)?) >= 0),
        })
    }

    fn signature(&self) -> Signature {
        match self.method {
            Method::SetPrerelease | Method::SetMetadata => Signature::fixed(&[Type::String]),
            Method::Compare
            | Method::Equal
            | Method::LessThan
            | Method::LessThanEqual
            | Method::GreaterThan
            | Method::GreaterThanEqual => Signature::fixed(&[Type::Any]),
            _ => Signature::fixed(&[]),
        }
    }

    fn type_name(&self) -> String {
        match self.method {
            Method::String | Method::Prerelease | Method::Metadata | Method::Original => {
                "func() string"
            }
            Method::Major | Method::Minor | Method::Patch => "func() uint64",
            Method::IncPatch | Method::IncMinor | Method::IncMajor => "func() semver.Version",
            Method::SetPrerelease | Method::SetMetadata => "func(string) (semver.Version, error)",
            Method::Compare => "func(*semver.Version) int",
            _ => "func(*semver.Version) bool",
        }
        .to_string()
    }
}

/// One comparison of a constraint: `>= 1.2.x` and the like.
#[derive(Debug)]
struct Constraint {
    con: Version,
    /// The operator as written (`>=`, `~>`, or empty).
    op: String,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

/// OR groups of AND-ed constraints; `has_pre[i]` when a constraint of group `i` names a
/// prerelease (semver 3.4 then lets that whole group match prereleases).
#[derive(Debug)]
struct Constraints {
    groups: Vec<Vec<Constraint>>,
    has_pre: Vec<bool>,
}

/// Go's `\s` is ASCII-only.
const WS: &str = r"[\t\n\f\r ]";
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct ConstraintRegexes {
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

static REGEXES: LazyLock<Option<ConstraintRegexes>> = LazyLock::new(|| {
    Some(ConstraintRegexes {
        constraint: Regex::new(&format!("^{WS}*({OPS}){WS}*({CV}){WS}*$")).ok()?,
        range: Regex::new(&format!("{WS}*({CV}){WS}+-{WS}+({CV}){WS}*")).ok()?,
        find: Regex::new(&format!("({OPS}){WS}*({CV})")).ok()?,
        valid: Regex::new(&format!(
            "^({WS}*({OPS}){WS}*({CV}){WS}*)((?:{WS}+|,{WS}*)({OPS}){WS}*({CV}){WS}*)*$"
        ))
        .ok()?,
    })
});

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraints {
    /// `semver.NewConstraint`.
    fn parse(c: &str) -> Result<Constraints, String> {
        let re = REGEXES
            .as_ref()
            .ok_or_else(|| "constraint parser error".to_string())?;
        // Hyphen ranges become ">= a, <= b".
        let mut c = c.to_string();
        let ranges: Vec<(String, String, String)> = re
            .range
            .captures_iter(&c)
            .map(|m| {
                let g = |i| m.get(i).map_or("", |g| g.as_str()).to_string();
                (g(0), g(1), g(11))
            })
            .collect();
        for (whole, lo, hi) in ranges {
            c = c.replacen(&whole, &format!(">= {lo}, <= {hi} "), 1);
        }
        let mut groups = Vec::new();
        let mut has_pre = Vec::new();
        for or in c.split("||") {
            if !re.valid.is_match(or) {
                return Err(format!("improper constraint: {or}"));
            }
            let mut parts: Vec<&str> = re.find.find_iter(or).map(|m| m.as_str()).collect();
            if parts.is_empty() {
                parts.push(or);
            }
            let mut group = Vec::new();
            let mut pre = false;
            for p in parts {
                let con = parse_constraint(re, p)?;
                pre |= !con.con.pre.is_empty();
                group.push(con);
            }
            groups.push(group);
            has_pre.push(pre);
        }
        Ok(Constraints { groups, has_pre })
    }

    /// `Constraints.Check`: some group whose constraints all pass.
    fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .zip(&self.has_pre)
            .any(|(group, &pre)| group.iter().all(|c| c.check(v, pre)))
    }
}

fn parse_constraint(re: &ConstraintRegexes, c: &str) -> Result<Constraint, String> {
    let m = re
        .constraint
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {c}"))?;
    let g = |i| m.get(i).map_or("", |g| g.as_str());
    let (op, orig) = (g(1), g(2));
    let (major, minor, patch, pre) = (g(3), g(4), g(5), g(6));
    let mut ver = orig.to_string();
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    if is_x(major) || major.is_empty() {
        ver = format!("0.0.0{pre}");
        dirty = true;
    } else if minor.is_empty() || is_x(minor.trim_start_matches('.')) {
        minor_dirty = true;
        dirty = true;
        ver = format!("{major}.0.0{pre}");
    } else if patch.is_empty() || is_x(patch.trim_start_matches('.')) {
        dirty = true;
        patch_dirty = true;
        ver = format!("{major}{minor}.0{pre}");
    }
    let con = Version::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        con,
        op: op.to_string(),
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        // A prerelease matches only groups that ask for prereleases.
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op.as_str() {
            "" | "=" => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == 0
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
                            return compare_prerelease(&v.pre, &c.pre) != 0;
                        }
                        return false;
                    }
                }
                v.compare(c) != 0
            }
            ">" => {
                if !self.dirty {
                    return v.compare(c) == 1;
                }
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    v.compare(c) == 1
                }
            }
            "<" => v.compare(c) < 0,
            ">=" | "=>" => v.compare(c) >= 0,
            "<=" | "=<" => {
                if !self.dirty {
                    return v.compare(c) <= 0;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            "~" | "~>" => self.tilde(v),
            "^" => self.caret(v),
            _ => false,
        }
    }

    /// `~1.2.3` is `>=1.2.3, <1.3.0`; `~1` is `>=1.0.0, <2.0.0`; `~0.0.0` is anything.
    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.less_than(c) {
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

    /// `^1.2.3` is `>=1.2.3, <2.0.0`; `^0.2.3` is `>=0.2.3, <0.3.0`; `^0.0.3` is `=0.0.3`.
    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.less_than(c) {
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
}
