//! Conversions (`toString`, `atoi`, `int`, `int64`, `float64`, `toDecimal`), defaults
//! (`default`, `empty`, `coalesce`, `all`, `any`, `ternary`), reflection (`typeOf`, `typeIs`,
//! `typeIsLike`, `kindOf`, `kindIs`, `deepEqual`) and `deepCopy`, with the helpers other
//! modules share: Sprig's `strval`, Go's `reflect.Kind` names, Sprig's `empty`,
//! `reflect.DeepEqual`, spf13/cast's `ToInt64`/`ToFloat64` and Go's `strconv` parsers.

use helmrelease_gotmpl::fmt::format_value;
use helmrelease_gotmpl::{Funcs, IntType, Type, Value};

use super::{NIL_DEREF, add, arg, bool_arg, str_arg, string};

pub(super) fn register(funcs: &mut Funcs) {
    use Type::{Any, Bool, String};
    add(funcs, "hello", &[], None, "func() string", |_| {
        Ok(string("Hello!"))
    });
    add(
        funcs,
        "toString",
        &[Any],
        None,
        "func(interface {}) string",
        |a| Ok(string(strval(arg(a, 0)))),
    );
    add(funcs, "atoi", &[String], None, "func(string) int", |a| {
        let n = match parse_int(str_arg(a, 0)?, 10) {
            Ok(n) | Err(NumError::Range(n)) => n,
            Err(NumError::Syntax) => 0,
        };
        Ok(Value::Int(n, IntType::Int))
    });
    add(funcs, "int", &[Any], None, "func(interface {}) int", |a| {
        Ok(Value::Int(to_int64(arg(a, 0)), IntType::Int))
    });
    add(
        funcs,
        "int64",
        &[Any],
        None,
        "func(interface {}) int64",
        |a| Ok(Value::Int(to_int64(arg(a, 0)), IntType::Int64)),
    );
    add(
        funcs,
        "float64",
        &[Any],
        None,
        "func(interface {}) float64",
        |a| Ok(Value::Float(to_float64(arg(a, 0)))),
    );
    add(
        funcs,
        "toDecimal",
        &[Any],
        None,
        "func(interface {}) int64",
        |a| {
            // strconv.ParseInt(fmt.Sprint(v), 8, 64), 0 on any error.
            let n = parse_int(&format_value(arg(a, 0)), 8).unwrap_or(0);
            Ok(Value::Int(n, IntType::Int64))
        },
    );

    add(
        funcs,
        "default",
        &[Any],
        Some(Any),
        "func(interface {}, ...interface {}) interface {}",
        |a| match a.get(1) {
            Some(given) if !empty(given) => Ok(given.clone()),
            _ => Ok(arg(a, 0).clone()),
        },
    );
    add(
        funcs,
        "empty",
        &[Any],
        None,
        "func(interface {}) bool",
        |a| Ok(Value::Bool(empty(arg(a, 0)))),
    );
    add(
        funcs,
        "coalesce",
        &[],
        Some(Any),
        "func(...interface {}) interface {}",
        |a| Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil)),
    );
    add(
        funcs,
        "all",
        &[],
        Some(Any),
        "func(...interface {}) bool",
        |a| Ok(Value::Bool(a.iter().all(|v| !empty(v)))),
    );
    add(
        funcs,
        "any",
        &[],
        Some(Any),
        "func(...interface {}) bool",
        |a| Ok(Value::Bool(a.iter().any(|v| !empty(v)))),
    );
    add(
        funcs,
        "ternary",
        &[Any, Any, Bool],
        None,
        "func(interface {}, interface {}, bool) interface {}",
        |a| {
            Ok(if bool_arg(a, 2)? {
                arg(a, 0).clone()
            } else {
                arg(a, 1).clone()
            })
        },
    );

    add(
        funcs,
        "typeOf",
        &[Any],
        None,
        "func(interface {}) string",
        |a| Ok(string(type_of(arg(a, 0)))),
    );
    add(
        funcs,
        "typeIs",
        &[String, Any],
        None,
        "func(string, interface {}) bool",
        |a| Ok(Value::Bool(str_arg(a, 0)? == type_of(arg(a, 1)))),
    );
    add(
        funcs,
        "typeIsLike",
        &[String, Any],
        None,
        "func(string, interface {}) bool",
        |a| {
            let target = str_arg(a, 0)?;
            let t = type_of(arg(a, 1));
            Ok(Value::Bool(
                t == target || t.strip_prefix('*') == Some(target),
            ))
        },
    );
    add(
        funcs,
        "kindOf",
        &[Any],
        None,
        "func(interface {}) string",
        |a| Ok(string(kind_of(arg(a, 0)))),
    );
    add(
        funcs,
        "kindIs",
        &[String, Any],
        None,
        "func(string, interface {}) bool",
        |a| Ok(Value::Bool(str_arg(a, 0)? == kind_of(arg(a, 1)))),
    );
    add(
        funcs,
        "deepEqual",
        &[Any, Any],
        None,
        "func(interface {}, interface {}) bool",
        |a| Ok(Value::Bool(deep_equal(arg(a, 0), arg(a, 1)))),
    );
    // Maps (and the lists holding them) are copied, the rest is immutable and shared;
    // copystructure refuses nil (with a reflect panic, so deepCopy's own "deepCopy error: "
    // is not added).
    add(
        funcs,
        "deepCopy",
        &[Any],
        None,
        "func(interface {}) interface {}",
        |a| deep_copy(arg(a, 0)),
    );
    add(
        funcs,
        "mustDeepCopy",
        &[Any],
        None,
        "func(interface {}) (interface {}, error)",
        |a| deep_copy(arg(a, 0)),
    );
}

fn deep_copy(v: &Value) -> Result<Value, String> {
    match v {
        Value::Nil => Err("reflect: call of reflect.Value.Type on zero Value".to_string()),
        v => Ok(v.deep_copy()),
    }
}

/// Sprig's `strval`: strings as themselves, everything else as `%v` prints it (objects print
/// their `String()`-like text).
pub(super) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        v => format_value(v),
    }
}

/// `fmt.Sprintf("%T", v)`.
pub(super) fn type_of(v: &Value) -> String {
    v.type_name()
}

/// `reflect.ValueOf(v).Kind().String()`; `invalid` for nil.
pub(super) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_, t) => t.name(),
        Value::Uint(_) => "uint64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Object(o) => {
            if o.type_name().starts_with('*') {
                "ptr"
            } else if o.is_map() {
                "map"
            } else {
                "struct"
            }
        }
        Value::Func(_) => "func",
    }
}

/// The kind for Sprig's "Cannot ... on type KIND" errors, where `reflect.TypeOf(nil).Kind()`
/// is a nil dereference in Go.
pub(super) fn kind_or_nil_panic(v: &Value) -> Result<&'static str, String> {
    match v {
        Value::Nil => Err(NIL_DEREF.to_string()),
        v => Ok(kind_of(v)),
    }
}

/// Sprig's `empty`: zero numbers, false, empty strings and collections, nil.
pub(super) fn empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i, _) => *i == 0,
        Value::Uint(u) => *u == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        // Pointers are empty when nil, maps when they have no entries; structs never are.
        Value::Object(o) => o.is_nil() || (o.is_map() && o.keys().is_empty()),
        Value::Func(_) => false,
    }
}

/// `reflect.DeepEqual`, without recursion (values nest as deep as a template builds them).
/// As in Go, a pair of maps met again while it is being compared (maps that contain
/// themselves) counts as equal.
pub(super) fn deep_equal(a: &Value, b: &Value) -> bool {
    let mut seen = std::collections::HashSet::new();
    let mut work = vec![(a.clone(), b.clone())];
    while let Some((a, b)) = work.pop() {
        let same = match (&a, &b) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x, s), Value::Int(y, t)) => s == t && x == y,
            (Value::Uint(x), Value::Uint(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => x == y,
            (Value::String(x), Value::String(y)) => x == y,
            (Value::List(x), Value::List(y)) => {
                if std::rc::Rc::ptr_eq(x, y) {
                    true
                } else if x.len() != y.len() {
                    false
                } else {
                    work.extend(x.iter().cloned().zip(y.iter().cloned()));
                    true
                }
            }
            (Value::Map(x), Value::Map(y)) => {
                if x.ptr_eq(y) || !seen.insert((x.addr(), y.addr())) {
                    true
                } else if x.len() != y.len() {
                    false
                } else {
                    let mut ok = true;
                    for (k, v) in x.entries() {
                        match y.get(&k) {
                            Some(w) => work.push((v, w)),
                            None => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    ok
                }
            }
            // Pointers are equal when the same, or when they point to equal values; the
            // printed form stands in for the fields.
            (Value::Object(x), Value::Object(y)) => {
                std::rc::Rc::ptr_eq(x, y)
                    || (x.type_name() == y.type_name() && x.format() == y.format())
            }
            // Functions are only deeply equal when both are nil.
            _ => false,
        };
        if !same {
            return false;
        }
    }
    true
}

/// spf13/cast's `ToInt64` (and `ToInt`, the same on 64-bit): numbers converted, strings
/// parsed as Go integer literals after dropping a zero fraction, bools 1 or 0, anything
/// else (and any error) 0.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Bool(b) => i64::from(*b),
        Value::Int(i, _) => *i,
        Value::Uint(u) => *u as i64,
        Value::Float(f) => float_to_int(*f),
        Value::String(s) => parse_int(trim_zero_decimal(s), 0).unwrap_or(0),
        _ => 0,
    }
}

/// spf13/cast's `ToFloat64`: numbers converted, strings parsed by `strconv.ParseFloat`,
/// bools 1 or 0, anything else (and any error) 0.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Int(i, _) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Float(f) => *f,
        Value::String(s) => parse_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Go's `int64(f)` on amd64: truncation, and the "integer indefinite" value for NaN and
/// out-of-range floats.
pub(super) fn float_to_int(f: f64) -> i64 {
    if f.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// cast's `trimZeroDecimal`: "12.00" becomes "12"; anything else is unchanged.
fn trim_zero_decimal(s: &str) -> &str {
    let b = s.as_bytes();
    let mut found_zero = false;
    for i in (1..=b.len()).rev() {
        match b[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Why a Go `strconv` parse failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumError {
    /// Not a number.
    Syntax,
    /// Out of range; Go returns the clamped value with the error.
    Range(i64),
}

/// `strconv.ParseInt(s, base, 64)`; base 0 takes Go's prefixes (`0x`, `0o`, `0b`, `0`) and
/// underscores between digits.
pub(super) fn parse_int(s: &str, base: u32) -> Result<i64, NumError> {
    let (neg, digits) = match s.as_bytes().first() {
        None => return Err(NumError::Syntax),
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        Some(_) => (false, s),
    };
    let cutoff = 1u64 << 63;
    match parse_uint(digits, base) {
        Err(UintError::Syntax) => Err(NumError::Syntax),
        Err(UintError::Range) => Err(NumError::Range(if neg { i64::MIN } else { i64::MAX })),
        Ok(u) => {
            if !neg && u >= cutoff {
                Err(NumError::Range(i64::MAX))
            } else if neg && u > cutoff {
                Err(NumError::Range(i64::MIN))
            } else if neg {
                Ok((u as i64).wrapping_neg())
            } else {
                Ok(u as i64)
            }
        }
    }
}

enum UintError {
    Syntax,
    Range,
}

/// `strconv.ParseUint(s, base, 64)`.
fn parse_uint(s: &str, base: u32) -> Result<u64, UintError> {
    if s.is_empty() {
        return Err(UintError::Syntax);
    }
    let base0 = base == 0;
    let s0 = s;
    let b = s.as_bytes();
    let (base, digits) = if base0 {
        if b[0] == b'0' {
            match b.get(1).map(u8::to_ascii_lowercase) {
                Some(b'b') if b.len() >= 3 => (2, &b[2..]),
                Some(b'o') if b.len() >= 3 => (8, &b[2..]),
                Some(b'x') if b.len() >= 3 => (16, &b[2..]),
                _ => (8, &b[1..]),
            }
        } else {
            (10, b)
        }
    } else {
        (base, b)
    };
    let base64 = u64::from(base);
    let cutoff = u64::MAX / base64 + 1;
    let mut underscores = false;
    let mut n: u64 = 0;
    for &c in digits {
        let d = match c {
            b'_' if base0 => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => c - b'0',
            _ if c.is_ascii_alphabetic() => c.to_ascii_lowercase() - b'a' + 10,
            _ => return Err(UintError::Syntax),
        };
        if u32::from(d) >= base {
            return Err(UintError::Syntax);
        }
        if n >= cutoff {
            return Err(UintError::Range);
        }
        n *= base64;
        match n.checked_add(u64::from(d)) {
            Some(n1) => n = n1,
            None => return Err(UintError::Range),
        }
    }
    if underscores && !underscore_ok(s0) {
        return Err(UintError::Syntax);
    }
    Ok(n)
}

/// Go's `underscoreOK`: underscores only between digits, or between a base prefix and a
/// digit.
fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if let Some(b'+' | b'-') = b.first() {
        b = &b[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// `strconv.ParseFloat(s, 64)`: decimal and hexadecimal literals with underscores, `inf`,
/// `infinity` and `nan` in any case. `None` on syntax and range errors.
pub(super) fn parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    // Specials: [+-]inf, [+-]infinity, nan.
    let (sign, rest) = match b[0] {
        b'+' => (1.0, &s[1..]),
        b'-' => (-1.0, &s[1..]),
        _ => (1.0, s),
    };
    let lower = rest.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(sign * f64::INFINITY);
    }
    if lower == "nan" && rest.len() == s.len() {
        return Some(f64::NAN);
    }
    let rb = rest.as_bytes();
    let hex = rb.len() > 2 && rb[0] == b'0' && rb[1].eq_ignore_ascii_case(&b'x');
    let body = if hex { &rb[2..] } else { rb };
    // Mantissa digits with at most one '.', then the exponent.
    let exp_char = if hex { b'p' } else { b'e' };
    let mut mant = String::new();
    let mut saw_dot = false;
    let mut saw_digit = false;
    let mut underscores = false;
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c == b'_' {
            underscores = true;
        } else if c == b'.' {
            if saw_dot {
                break;
            }
            saw_dot = true;
            mant.push('.');
        } else if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw_digit = true;
            mant.push(char::from(c));
        } else {
            break;
        }
        i += 1;
    }
    if !saw_digit {
        return None;
    }
    let mut exp: i64 = 0;
    let mut has_exp = false;
    if i < body.len() && body[i].to_ascii_lowercase() == exp_char {
        i += 1;
        let mut esign = 1;
        if let Some(&c @ (b'+' | b'-')) = body.get(i) {
            if c == b'-' {
                esign = -1;
            }
            i += 1;
        }
        let start = i;
        while i < body.len() && (body[i].is_ascii_digit() || body[i] == b'_') {
            if body[i] == b'_' {
                underscores = true;
            } else if exp < 100_000 {
                exp = exp * 10 + i64::from(body[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        exp *= esign;
        has_exp = true;
    }
    if i != body.len() || (hex && !has_exp) {
        return None;
    }
    if underscores && !underscore_ok(rest) {
        return None;
    }
    let value = if hex {
        hex_float(&mant, exp)?
    } else {
        let text = if has_exp {
            format!("{mant}e{exp}")
        } else {
            mant
        };
        text.parse::<f64>().ok()?
    };
    if value.is_infinite() {
        return None; // ErrRange
    }
    Some(sign * value)
}

/// A hexadecimal mantissa ("1.8") times 2^exp.
fn hex_float(mant: &str, exp: i64) -> Option<f64> {
    let mut value: f64 = 0.0;
    let mut scale: i64 = 0;
    let mut after_dot = false;
    for c in mant.chars() {
        if c == '.' {
            after_dot = true;
            continue;
        }
        let d = f64::from(c.to_digit(16)?);
        value = value * 16.0 + d;
        if after_dot {
            scale -= 4;
        }
    }
    let e = i32::try_from((exp + scale).clamp(-2000, 2000)).ok()?;
    Some(value * 2f64.powi(e))
}
