//! `spf13/cast`'s `ToInt64` and `ToFloat64` (v1.7, as Sprig 3.3 pins it), which Sprig's math
//! functions apply to every `interface{}` argument, and the pieces of Go's `strconv` they
//! rest on.

use helmrelease_gotmpl::Value;

/// `cast.ToInt64`: integers as they are, floats truncated, strings parsed as Go integer
/// literals (`0x1F`, `0o17`, `017`, `1_000`; a `.0` tail is dropped), bools as 0/1, and
/// anything else (nil, lists, unparsable strings) as 0.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i, _) => *i,
        // Go's int64(uint64) conversion wraps.
        Value::Uint(u) => *u as i64,
        Value::Float(f) => float_to_int64(*f),
        Value::String(s) => parse_int(trim_zero_decimal(s)).unwrap_or(0),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// `cast.ToFloat64`: numbers converted, strings parsed with `strconv.ParseFloat` (0 when that
/// fails, out of range included), bools as 0/1, anything else 0.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i, _) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Float(f) => *f,
        Value::String(s) => parse_float(s).unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// Go's `int64(f)` on amd64: truncation, and the "integer indefinite" value (the minimum)
/// for NaN and out-of-range values, where Rust's `as` would saturate.
pub(crate) fn float_to_int64(f: f64) -> i64 {
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    if f.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// cast's `trimZeroDecimal`: "12.000" → "12", so integral float text parses as an integer.
fn trim_zero_decimal(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut found_zero = false;
    for i in (1..=bytes.len()).rev() {
        match bytes[i - 1] {
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

/// `strconv.ParseInt(s, 0, 64)`: optional sign, base prefix (`0x`, `0o`, `0b`, or a leading
/// `0` for octal), and underscores between digits.
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint_base0(digits)?;
    if neg {
        if u > 1u64 << 63 {
            return None;
        }
        Some((u as i64).wrapping_neg())
    } else {
        i64::try_from(u).ok()
    }
}

/// `strconv.ParseUint(s, 0, 64)`.
fn parse_uint_base0(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let (base, body) = if b[0] == b'0' {
        match b.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if b.len() >= 3 => (2, &s[2..]),
            Some(b'o') if b.len() >= 3 => (8, &s[2..]),
            Some(b'x') if b.len() >= 3 => (16, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else {
        (10, s)
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    for c in body.bytes() {
        let d = match c {
            b'_' => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            b'A'..=b'Z' => c - b'A' + 10,
            _ => return None,
        };
        if u32::from(d) >= base {
            return None;
        }
        n = n.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
    }
    if underscores && !underscore_ok(s) {
        return None;
    }
    Some(n)
}

/// strconv's `underscoreOK`: underscores only between digits (a base prefix counts as one).
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let b = match b.first() {
        Some(b'+' | b'-') => &b[1..],
        _ => b,
    };
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
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

/// `strconv.ParseFloat(s, 64)` where it succeeds: decimal and hexadecimal (`0x1p-2`) forms,
/// underscores as Go allows them, `inf`/`infinity`/`nan` in any case. Out-of-range values
/// fail, as Go reports them as errors.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let value = match lower.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        // Go accepts a sign on NaN too.
        "nan" => return Some(f64::NAN),
        _ => {
            if let Some(hex) = lower.strip_prefix("0x") {
                parse_hex_float(hex)?
            } else {
                parse_decimal_float(&lower)?
            }
        }
    };
    Some(if neg { -value } else { value })
}

/// A decimal float body (no sign) in Go's syntax; `None` on a syntax or range error.
fn parse_decimal_float(s: &str) -> Option<f64> {
    let mut digits = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    let mut mantissa_digits = 0;
    let mut underscores = false;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        if b[i] == b'_' {
            underscores = true;
        } else {
            digits.push(b[i] as char);
            mantissa_digits += 1;
        }
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        digits.push('.');
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            if b[i] == b'_' {
                underscores = true;
            } else {
                digits.push(b[i] as char);
                mantissa_digits += 1;
            }
            i += 1;
        }
    }
    if mantissa_digits == 0 {
        return None;
    }
    if i < b.len() && b[i] == b'e' {
        digits.push('e');
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            digits.push(b[i] as char);
            i += 1;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            if b[i] == b'_' {
                underscores = true;
            } else {
                digits.push(b[i] as char);
            }
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    // Underscores are only allowed with a base prefix.
    if i != b.len() || underscores {
        return None;
    }
    let f: f64 = digits.parse().ok()?;
    if f.is_infinite() {
        return None;
    }
    Some(f)
}

/// A hexadecimal float body after `0x`: hex mantissa with optional point, mandatory `p`
/// exponent.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = s.split_once('p')?;
    let mut value: f64 = 0.0;
    let mut scale: i64 = 0;
    let mut seen_point = false;
    let mut ndigits = 0;
    let mut saw = b'0';
    for c in mant.bytes() {
        match c {
            b'_' => {
                if saw != b'0' {
                    return None;
                }
                saw = b'_';
                continue;
            }
            b'.' if !seen_point => {
                seen_point = true;
                saw = b'!';
                continue;
            }
            _ => {}
        }
        let d = (c as char).to_digit(16)?;
        saw = b'0';
        ndigits += 1;
        value = value * 16.0 + f64::from(d);
        if seen_point {
            scale -= 4;
        }
    }
    if ndigits == 0 || saw == b'_' {
        return None;
    }
    let (eneg, edigits) = match exp.as_bytes().first() {
        Some(b'+') => (false, &exp[1..]),
        Some(b'-') => (true, &exp[1..]),
        _ => (false, exp),
    };
    if edigits.is_empty() || !edigits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let e: i64 = edigits.parse::<i64>().unwrap_or(i64::MAX / 4).min(100_000);
    let e = if eneg { -e } else { e } + scale;
    let f = value * 2f64.powi(e.clamp(-2000, 2000) as i32);
    if f.is_infinite() {
        return None;
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_integer_literals() {
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int("017"), Some(15));
        assert_eq!(parse_int("0o17"), Some(15));
        assert_eq!(parse_int("0b101"), Some(5));
        assert_eq!(parse_int("1_000"), Some(1000));
        assert_eq!(parse_int("_1"), None);
        assert_eq!(parse_int("08"), None);
        assert_eq!(parse_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int("9223372036854775808"), None);
        assert_eq!(parse_int("0"), Some(0));
        assert_eq!(parse_int("0x"), None);
        assert_eq!(trim_zero_decimal("12.00"), "12");
        assert_eq!(trim_zero_decimal("12.50"), "12.50");
    }

    #[test]
    fn go_float_literals() {
        assert_eq!(parse_float("1.5"), Some(1.5));
        assert_eq!(parse_float(".5e1"), Some(5.0));
        assert_eq!(parse_float("1e400"), None);
        assert_eq!(parse_float("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("0x1p-2"), Some(0.25));
        assert_eq!(parse_float("1_0"), None);
        assert_eq!(parse_float("abc"), None);
        assert_eq!(float_to_int64(f64::NAN), i64::MIN);
        assert_eq!(float_to_int64(-2.9), -2);
    }
}
