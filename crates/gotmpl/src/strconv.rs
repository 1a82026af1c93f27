//! The pieces of Go's `strconv` and `unicode` that the parser and printer need: quoting,
//! unquoting string and character literals, and what counts as printable.

/// Go's `strconv.IsPrint` (Go 1.19's Unicode tables).
pub fn is_printable(c: char) -> bool {
    crate::fmt::is_print(c)
}

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    quote_with(s, '"')
}

/// Go's `strconv.QuoteRune`.
pub fn quote_rune(c: char) -> String {
    quote_with(c.encode_utf8(&mut [0; 4]), '\'')
}

fn quote_with(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    crate::fmt::append_quoted(&mut out, s, q, false);
    out
}

/// Go's `strconv.Unquote` for `"..."` and `` `...` `` literals. Bytes that are not UTF-8
/// (from `\x` or octal escapes) become U+FFFD: Rust strings are UTF-8 (see the crate docs).
pub fn unquote(s: &str) -> Result<String, &'static str> {
    let mut chars = s.chars();
    let (Some(first), Some(last)) = (chars.next(), chars.next_back()) else {
        return Err("invalid syntax");
    };
    if first != last {
        return Err("invalid syntax");
    }
    let body = &s[1..s.len() - 1];
    match first {
        '`' => {
            if body.contains('`') {
                return Err("invalid syntax");
            }
            Ok(body.replace('\r', ""))
        }
        '"' => {
            let mut bytes = Vec::with_capacity(body.len());
            let mut rest = body;
            while !rest.is_empty() {
                if rest.starts_with('"') || rest.starts_with('\n') {
                    return Err("invalid syntax");
                }
                let (piece, tail) = unquote_char(rest, '"')?;
                bytes.extend_from_slice(&piece);
                rest = tail;
            }
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        }
        _ => Err("invalid syntax"),
    }
}

/// A character literal's value (`'a'`, `'\n'`, `'\u00e9'`).
pub fn unquote_rune(s: &str) -> Result<i64, String> {
    let body = s
        .strip_prefix('\'')
        .ok_or_else(|| "invalid syntax".to_string())?;
    let first = body.chars().next().ok_or("invalid syntax")?;
    let (value, tail) = if first == '\\' {
        let (bytes, tail) = unquote_char(body, '\'').map_err(String::from)?;
        // A one-byte escape (\x, octal) is the byte value; others are UTF-8 of a rune.
        let value = if bytes.len() == 1 {
            i64::from(bytes[0])
        } else {
            std::str::from_utf8(&bytes)
                .ok()
                .and_then(|t| t.chars().next())
                .map_or(0xFFFD, |c| c as i64)
        };
        (value, tail)
    } else if first == '\'' || first == '\n' {
        return Err("invalid syntax".into());
    } else {
        (first as i64, &body[first.len_utf8()..])
    };
    if tail != "'" {
        return Err(format!("malformed character constant: {s}"));
    }
    Ok(value)
}

/// One character or escape at the start of `s` (inside quotes `q`): its bytes and the rest.
fn unquote_char(s: &str, q: char) -> Result<(Vec<u8>, &str), &'static str> {
    let mut chars = s.chars();
    let c = chars.next().ok_or("invalid syntax")?;
    if c != '\\' {
        if c == q && (q == '\'' || q == '"') {
            return Err("invalid syntax");
        }
        return Ok((c.to_string().into_bytes(), chars.as_str()));
    }
    let e = chars.next().ok_or("invalid syntax")?;
    let rest = chars.as_str();
    let simple = |b: u8| Ok((vec![b], rest));
    match e {
        'a' => simple(7),
        'b' => simple(8),
        'f' => simple(12),
        'n' => simple(b'\n'),
        'r' => simple(b'\r'),
        't' => simple(b'\t'),
        'v' => simple(11),
        '\\' => simple(b'\\'),
        '\'' | '"' => {
            if e != q {
                return Err("invalid syntax");
            }
            simple(e as u8)
        }
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex = rest.get(..n).ok_or("invalid syntax")?;
            let v = u32::from_str_radix(hex, 16).map_err(|_| "invalid syntax")?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("invalid syntax");
            }
            let rest = &rest[n..];
            if e == 'x' {
                return Ok((vec![v as u8], rest));
            }
            let c = char::from_u32(v).ok_or("invalid syntax")?;
            Ok((c.to_string().into_bytes(), rest))
        }
        '0'..='7' => {
            let oct = s.get(1..4).ok_or("invalid syntax")?;
            if !oct.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return Err("invalid syntax");
            }
            let v = u32::from_str_radix(oct, 8).map_err(|_| "invalid syntax")?;
            if v > 255 {
                return Err("invalid syntax");
            }
            Ok((vec![v as u8], &s[4..]))
        }
        _ => Err("invalid syntax"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_go() {
        assert_eq!(
            quote("a\"b\\\n\t\u{7f}é\u{200b}"),
            "\"a\\\"b\\\\\\n\\t\\x7fé\\u200b\""
        );
        assert_eq!(quote_rune('\''), "'\\''");
    }

    #[test]
    fn unquoting_matches_go() {
        assert_eq!(unquote("\"a\\tb\\u00e9\\101\""), Ok("a\tbéA".to_string()));
        assert_eq!(unquote("`a\\n\r`"), Ok("a\\n".to_string()));
        assert_eq!(unquote("\"\\'\""), Err("invalid syntax"));
        assert_eq!(unquote_rune("'\\n'"), Ok(10));
        assert_eq!(
            unquote_rune("'ab'"),
            Err("malformed character constant: 'ab'".into())
        );
    }
}
