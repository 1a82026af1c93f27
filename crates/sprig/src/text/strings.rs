//! String functions: Go's `strings` package, goutils 1.1.1 (`abbrev`, `initials`, `wrap`,
//! `nospace`, `swapcase`, `untitle`), xstrings 1.5 (`snakecase`, `camelcase`, `kebabcase`,
//! `shuffle`) and Sprig's own (`quote`, `cat`, `indent`, `substr`, `trunc`, `split`...).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use helmrelease_gotmpl::fmt::format_value;
use helmrelease_gotmpl::strconv::quote;
use helmrelease_gotmpl::{Funcs, Type, Value};

use super::conv::strval;
use super::unicode::{
    is_letter, is_lower, is_number, is_punct, is_space, is_title, is_upper, to_lower, to_title,
    to_upper,
};
use super::{
    add, arg, byte_slice, check_bytes, from_bytes, int_arg, map, str_arg, string, string_list,
};

pub(super) fn register(funcs: &mut Funcs) {
    use Type::{Any, Int, String};
    let s1 = "func(string) string";
    let s2 = "func(string, string) string";
    add(funcs, "trim", &[String], None, s1, |a| {
        Ok(string(str_arg(a, 0)?.trim()))
    });
    for name in ["trimAll", "trimall"] {
        add(funcs, name, &[String, String], None, s2, |a| {
            let cutset = str_arg(a, 0)?;
            Ok(string(str_arg(a, 1)?.trim_matches(|c| cutset.contains(c))))
        });
    }
    add(funcs, "trimPrefix", &[String, String], None, s2, |a| {
        let s = str_arg(a, 1)?;
        Ok(string(s.strip_prefix(str_arg(a, 0)?).unwrap_or(s)))
    });
    add(funcs, "trimSuffix", &[String, String], None, s2, |a| {
        let s = str_arg(a, 1)?;
        Ok(string(s.strip_suffix(str_arg(a, 0)?).unwrap_or(s)))
    });
    add(funcs, "upper", &[String], None, s1, |a| {
        Ok(string(
            str_arg(a, 0)?
                .chars()
                .map(to_upper)
                .collect::<std::string::String>(),
        ))
    });
    add(funcs, "lower", &[String], None, s1, |a| {
        Ok(string(
            str_arg(a, 0)?
                .chars()
                .map(to_lower)
                .collect::<std::string::String>(),
        ))
    });
    add(funcs, "title", &[String], None, s1, |a| {
        Ok(string(title(str_arg(a, 0)?)))
    });
    add(funcs, "untitle", &[String], None, s1, |a| {
        Ok(string(untitle(str_arg(a, 0)?)))
    });
    add(funcs, "swapcase", &[String], None, s1, |a| {
        Ok(string(swapcase(str_arg(a, 0)?)))
    });
    add(funcs, "nospace", &[String], None, s1, |a| {
        Ok(string(nospace(str_arg(a, 0)?)))
    });
    add(funcs, "initials", &[String], None, s1, |a| {
        Ok(string(initials(str_arg(a, 0)?)))
    });
    add(funcs, "snakecase", &[String], None, s1, |a| {
        Ok(string(to_lower_case_words(str_arg(a, 0)?, '_')))
    });
    add(funcs, "kebabcase", &[String], None, s1, |a| {
        Ok(string(to_lower_case_words(str_arg(a, 0)?, '-')))
    });
    // Sprig 3.3 maps camelcase to xstrings.ToPascalCase (xstrings 1.5 made ToCamelCase
    // lower camel case).
    add(funcs, "camelcase", &[String], None, s1, |a| {
        Ok(string(pascal_case(str_arg(a, 0)?)))
    });
    add(funcs, "shuffle", &[String], None, s1, |a| {
        Ok(string(shuffle(str_arg(a, 0)?)))
    });

    add(
        funcs,
        "repeat",
        &[Int, String],
        None,
        "func(int, string) string",
        |a| Ok(string(repeat(str_arg(a, 1)?, int_arg(a, 0)?)?)),
    );
    add(
        funcs,
        "substr",
        &[Int, Int, String],
        None,
        "func(int, int, string) string",
        |a| {
            Ok(string(substr(
                int_arg(a, 0)?,
                int_arg(a, 1)?,
                str_arg(a, 2)?,
            )?))
        },
    );
    add(
        funcs,
        "trunc",
        &[Int, String],
        None,
        "func(int, string) string",
        |a| Ok(string(trunc(int_arg(a, 0)?, str_arg(a, 1)?))),
    );
    add(
        funcs,
        "abbrev",
        &[Int, String],
        None,
        "func(int, string) string",
        |a| {
            let (width, s) = (int_arg(a, 0)?, str_arg(a, 1)?);
            if width < 4 {
                return Ok(string(s));
            }
            Ok(string(abbreviate_full(s, 0, width).unwrap_or_default()))
        },
    );
    add(
        funcs,
        "abbrevboth",
        &[Int, Int, String],
        None,
        "func(int, int, string) string",
        |a| {
            let (left, right, s) = (int_arg(a, 0)?, int_arg(a, 1)?, str_arg(a, 2)?);
            if right < 4 || (left > 0 && right < 7) {
                return Ok(string(s));
            }
            Ok(string(abbreviate_full(s, left, right).unwrap_or_default()))
        },
    );
    add(
        funcs,
        "wrap",
        &[Int, String],
        None,
        "func(int, string) string",
        |a| {
            Ok(string(wrap_custom(
                str_arg(a, 1)?,
                int_arg(a, 0)?,
                "",
                false,
            )?))
        },
    );
    add(
        funcs,
        "wrapWith",
        &[Int, String, String],
        None,
        "func(int, string, string) string",
        |a| {
            Ok(string(wrap_custom(
                str_arg(a, 2)?,
                int_arg(a, 0)?,
                str_arg(a, 1)?,
                true,
            )?))
        },
    );
    let pred = "func(string, string) bool";
    add(funcs, "contains", &[String, String], None, pred, |a| {
        Ok(Value::Bool(str_arg(a, 1)?.contains(str_arg(a, 0)?)))
    });
    add(funcs, "hasPrefix", &[String, String], None, pred, |a| {
        Ok(Value::Bool(str_arg(a, 1)?.starts_with(str_arg(a, 0)?)))
    });
    add(funcs, "hasSuffix", &[String, String], None, pred, |a| {
        Ok(Value::Bool(str_arg(a, 1)?.ends_with(str_arg(a, 0)?)))
    });
    add(
        funcs,
        "quote",
        &[],
        Some(Any),
        "func(...interface {}) string",
        |a| {
            let parts: Vec<_> = a
                .iter()
                .filter(|v| !matches!(v, Value::Nil))
                .map(|v| quote(&strval(v)))
                .collect();
            Ok(string(parts.join(" ")))
        },
    );
    add(
        funcs,
        "squote",
        &[],
        Some(Any),
        "func(...interface {}) string",
        |a| {
            let parts: Vec<_> = a
                .iter()
                .filter(|v| !matches!(v, Value::Nil))
                .map(|v| format!("'{}'", format_value(v)))
                .collect();
            Ok(string(parts.join(" ")))
        },
    );
    add(
        funcs,
        "cat",
        &[],
        Some(Any),
        "func(...interface {}) string",
        |a| {
            let parts: Vec<_> = a
                .iter()
                .filter(|v| !matches!(v, Value::Nil))
                .map(format_value)
                .collect();
            Ok(string(parts.join(" ")))
        },
    );
    add(
        funcs,
        "indent",
        &[Int, String],
        None,
        "func(int, string) string",
        |a| Ok(string(indent(int_arg(a, 0)?, str_arg(a, 1)?)?)),
    );
    add(
        funcs,
        "nindent",
        &[Int, String],
        None,
        "func(int, string) string",
        |a| {
            Ok(string(format!(
                "\n{}",
                indent(int_arg(a, 0)?, str_arg(a, 1)?)?
            )))
        },
    );
    add(
        funcs,
        "replace",
        &[String, String, String],
        None,
        "func(string, string, string) string",
        |a| {
            let (old, new, src) = (str_arg(a, 0)?, str_arg(a, 1)?, str_arg(a, 2)?);
            let count = if old.is_empty() {
                src.chars().count() + 1
            } else {
                src.matches(old).count()
            };
            check_bytes(src.len().saturating_add(count.saturating_mul(new.len())))?;
            Ok(string(src.replace(old, new)))
        },
    );
    add(
        funcs,
        "plural",
        &[String, String, Int],
        None,
        "func(string, string, int) string",
        |a| {
            let (one, many) = (str_arg(a, 0)?, str_arg(a, 1)?);
            Ok(string(if int_arg(a, 2)? == 1 { one } else { many }))
        },
    );

    add(
        funcs,
        "split",
        &[String, String],
        None,
        "func(string, string) map[string]string",
        |a| Ok(numbered(split_n(str_arg(a, 1)?, str_arg(a, 0)?, -1))),
    );
    add(
        funcs,
        "splitn",
        &[String, Int, String],
        None,
        "func(string, int, string) map[string]string",
        |a| {
            Ok(numbered(split_n(
                str_arg(a, 2)?,
                str_arg(a, 0)?,
                int_arg(a, 1)?,
            )))
        },
    );
    add(
        funcs,
        "splitList",
        &[String, String],
        None,
        "func(string, string) []string",
        |a| Ok(string_list(split_n(str_arg(a, 1)?, str_arg(a, 0)?, -1))),
    );
    add(
        funcs,
        "toStrings",
        &[Any],
        None,
        "func(interface {}) []string",
        |a| Ok(string_list(strslice(arg(a, 0)))),
    );
    add(
        funcs,
        "join",
        &[String, Any],
        None,
        "func(string, interface {}) string",
        |a| {
            let sep = str_arg(a, 0)?;
            let parts = strslice(arg(a, 1));
            let total: usize = parts.iter().map(|p| p.len() + sep.len()).sum();
            check_bytes(total)?;
            Ok(string(parts.join(sep)))
        },
    );
    add(
        funcs,
        "sortAlpha",
        &[Any],
        None,
        "func(interface {}) []string",
        |a| {
            let v = arg(a, 0);
            let mut items = match v {
                Value::List(_) => strslice(v),
                v => vec![strval(v)],
            };
            items.sort();
            Ok(string_list(items))
        },
    );
}

/// Sprig's `strslice`: list elements as strings (nil elements dropped), nil as no strings,
/// anything else as one string.
pub(super) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        v => vec![strval(v)],
    }
}

/// `strings.SplitN(s, sep, n)` (`n < 0`: all).
fn split_n(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        // Explode into runes, the last piece holding the rest.
        let chars: Vec<(usize, char)> = s.char_indices().collect();
        let limit = if n < 0 {
            chars.len()
        } else {
            chars.len().min(usize::try_from(n).unwrap_or(usize::MAX))
        };
        let mut out = Vec::with_capacity(limit);
        for (i, &(pos, c)) in chars.iter().enumerate().take(limit) {
            if i + 1 == limit {
                out.push(s[pos..].to_string());
            } else {
                out.push(c.to_string());
            }
        }
        return out;
    }
    if n < 0 {
        s.split(sep).map(str::to_string).collect()
    } else {
        s.splitn(usize::try_from(n).unwrap_or(usize::MAX), sep)
            .map(str::to_string)
            .collect()
    }
}

/// Sprig's `split` result: pieces under keys `_0`, `_1`...
fn numbered(parts: Vec<String>) -> Value {
    let m: BTreeMap<_, _> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), string(p)))
        .collect();
    map(m)
}

/// `strings.Repeat`, with Go's panics.
pub(super) fn repeat(s: &str, count: i64) -> Result<String, String> {
    if count < 0 {
        return Err("strings: negative Repeat count".to_string());
    }
    let count = usize::try_from(count).map_err(|_| "strings: Repeat output length overflow")?;
    let len = s
        .len()
        .checked_mul(count)
        .ok_or("strings: Repeat output length overflow")?;
    check_bytes(len)?;
    Ok(s.repeat(count))
}

fn indent(spaces: i64, v: &str) -> Result<String, String> {
    let pad = repeat(" ", spaces)?;
    let lines = v.matches('\n').count() + 1;
    check_bytes(v.len().saturating_add(lines.saturating_mul(pad.len())))?;
    Ok(format!("{pad}{}", v.replace('\n', &format!("\n{pad}"))))
}

/// Go's runtime message for a string slice out of range, as Sprig's `substr` panics with.
fn slice_panic(lo: Option<i64>, hi: i64, len: usize) -> String {
    match lo {
        None if hi < 0 => format!("runtime error: slice bounds out of range [:{hi}]"),
        None => format!("runtime error: slice bounds out of range [:{hi}] with length {len}"),
        Some(lo) => format!("runtime error: slice bounds out of range [{lo}:{hi}]"),
    }
}

/// Sprig's `substring`: `s[:end]` for a negative start, `s[start:]` for a negative or
/// too large end, `s[start:end]` otherwise; out-of-range indexes panic as in Go.
fn substr(start: i64, end: i64, s: &str) -> Result<String, String> {
    let len = s.len();
    let ilen = i64::try_from(len).unwrap_or(i64::MAX);
    let (lo, hi) = if start < 0 {
        if end < 0 || end > ilen {
            return Err(slice_panic(None, end, len));
        }
        (0, end)
    } else if end < 0 || end > ilen {
        // s[start:] is s[start:len].
        if start > ilen {
            return Err(slice_panic(Some(start), ilen, len));
        }
        (start, ilen)
    } else {
        if start > end {
            return Err(slice_panic(Some(start), end, len));
        }
        (start, end)
    };
    Ok(byte_slice(
        s,
        usize::try_from(lo).unwrap_or(0),
        usize::try_from(hi).unwrap_or(0),
    ))
}

/// Sprig's `trunc`: the first `c` bytes, or the last `-c` bytes for a negative `c`.
fn trunc(c: i64, s: &str) -> String {
    let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
    if c < 0 && len + c > 0 {
        return byte_slice(s, usize::try_from(len + c).unwrap_or(0), s.len());
    }
    if c >= 0 && len > c {
        return byte_slice(s, 0, usize::try_from(c).unwrap_or(0));
    }
    s.to_string()
}

/// goutils `AbbreviateFull` on bytes, as Go's (a cut may fall inside a rune); `None` for
/// its errors, which Sprig turns into "".
fn abbreviate_full(s: &str, offset: i64, max_width: i64) -> Option<String> {
    abbreviate_bytes(s.as_bytes(), offset, max_width).map(from_bytes)
}

fn abbreviate_bytes(s: &[u8], offset: i64, max_width: i64) -> Option<Vec<u8>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    if max_width < 4 {
        return None;
    }
    let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
    if len <= max_width {
        return Some(s.to_vec());
    }
    let mut offset = offset.min(len);
    // Go's int arithmetic wraps.
    if len.wrapping_sub(offset) < max_width - 3 {
        offset = len - (max_width - 3);
    }
    let to = |i: i64| usize::try_from(i).unwrap_or(0);
    let dots = b"...";
    if offset <= 4 {
        return Some([&s[..to(max_width - 3)], dots].concat());
    }
    if max_width < 7 {
        return None;
    }
    if offset + max_width - 3 < len {
        let inner = abbreviate_bytes(&s[to(offset)..], 0, max_width - 3).unwrap_or_default();
        return Some([dots.as_slice(), &inner].concat());
    }
    Some([dots.as_slice(), &s[to(len - (max_width - 3))..]].concat())
}

/// goutils `WrapCustom`: wraps at spaces (bytes, as Go's).
fn wrap_custom(
    s: &str,
    wrap_length: i64,
    new_line: &str,
    wrap_long_words: bool,
) -> Result<String, String> {
    if s.is_empty() {
        return Ok(String::new());
    }
    let new_line = if new_line.is_empty() { "\n" } else { new_line };
    let wrap = usize::try_from(wrap_length.max(1)).unwrap_or(usize::MAX);
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0;
    let mut out: Vec<u8> = Vec::with_capacity(len);
    while len - offset > wrap {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = wrap + offset + 1;
        let window = &b[offset..end];
        if let Some(space) = window.iter().rposition(|&c| c == b' ') {
            out.extend_from_slice(&b[offset..offset + space]);
            out.extend_from_slice(new_line.as_bytes());
            offset += space + 1;
        } else if wrap_long_words {
            out.extend_from_slice(&b[offset..offset + wrap]);
            out.extend_from_slice(new_line.as_bytes());
            offset += wrap;
        } else {
            let end = wrap + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(i) => {
                    out.extend_from_slice(&b[offset..end + i]);
                    out.extend_from_slice(new_line.as_bytes());
                    offset = end + i + 1;
                }
            }
        }
        check_bytes(out.len())?;
    }
    out.extend_from_slice(&b[offset..]);
    Ok(from_bytes(out))
}

/// goutils `DeleteWhiteSpace`: works on bytes, so when any whitespace is found every other
/// non-ASCII byte is written back as the Latin-1 rune of that byte.
fn nospace(s: &str) -> String {
    let latin1_space =
        |b: u8| matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ' | 0x85 | 0xA0);
    if !s.bytes().any(latin1_space) {
        return s.to_string();
    }
    s.bytes()
        .filter(|&b| !latin1_space(b))
        .map(char::from)
        .collect()
}

/// goutils `Initials`: the first byte of each whitespace-separated word, as a Latin-1 rune.
fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut last_was_gap = true;
    for b in s.bytes() {
        let c = char::from(b);
        if is_space(c) {
            last_was_gap = true;
        } else if last_was_gap {
            out.push(c);
            last_was_gap = false;
        }
    }
    out
}

/// `strings.Title`: titlecases the first letter of each word.
fn title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if is_letter(c) || super::unicode::is_digit(c) {
            false
        } else {
            is_space(c)
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { to_title(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// goutils `Uncapitalize`: lowercases the first rune of each whitespace-separated word.
fn untitle(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if is_space(c) {
                next = true;
                c
            } else if next {
                next = false;
                to_lower(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils `SwapCase`: upper and title to lower; lower to title after whitespace or at the
/// start, to upper elsewhere.
fn swapcase(s: &str) -> String {
    let mut whitespace = true;
    s.chars()
        .map(|c| {
            if is_upper(c) || is_title(c) {
                whitespace = false;
                to_lower(c)
            } else if is_lower(c) {
                if whitespace {
                    whitespace = false;
                    to_title(c)
                } else {
                    to_upper(c)
                }
            } else {
                whitespace = is_space(c);
                c
            }
        })
        .collect()
}

/// xstrings `Shuffle`: a random permutation of the runes.
fn shuffle(s: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut runes: Vec<char> = s.chars().collect();
    let mut state = {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(runes.len());
        h.finish() | 1
    };
    let mut next = || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    for i in (1..runes.len()).rev() {
        let j = usize::try_from(next() % (i as u64 + 1)).unwrap_or(0);
        runes.swap(i, j);
    }
    runes.into_iter().collect()
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || is_space(c)
}

/// xstrings `isAlphabet`: a letter that is not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    if !is_letter(c) {
        return false;
    }
    !matches!(c, '\u{4E00}'..='\u{9FCC}' | '\u{3400}'..='\u{4D85}' | '\u{20000}'..='\u{2B81D}')
}

/// Go decodes invalid UTF-8 to U+FFFD; xstrings treats that rune as "invalid".
const RUNE_ERROR: char = '\u{FFFD}';

/// xstrings 1.5 `ToPascalCase`.
fn pascal_case(s: &str) -> String {
    let mut chars = s.chars().peekable();
    let mut out = String::with_capacity(s.len());
    let mut first_upper = false;
    let mut r0 = None;
    // Leading connectors appear in the output.
    for c in chars.by_ref() {
        if !is_connector(c) {
            first_upper = is_upper(c);
            r0 = Some(to_upper(c));
            break;
        }
        out.push(c);
    }
    let Some(mut r0) = r0 else {
        // Only connectors: Go writes the last one a second time.
        if let Some(last) = s.chars().last() {
            out.push(last);
        }
        return out;
    };
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = is_upper(r0);
            r0 = to_upper(r0);
        } else {
            if first_upper {
                if is_upper(r0) {
                    r0 = to_lower(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// xstrings `nextValidRune`: the next rune that is not U+FFFD (and the bytes it and the
/// skipped ones take), or `prev` at the end.
fn next_valid_rune(s: &str, prev: char) -> (char, usize) {
    let mut size = 0;
    for c in s.chars() {
        size += c.len_utf8();
        if c != RUNE_ERROR {
            return (c, size);
        }
    }
    (prev, size)
}

/// xstrings `nextWord`: the type and text of the next word, and the rest.
fn next_word(s: &str) -> (Word, &str, &str) {
    if s.is_empty() {
        return (Word::Invalid, "", "");
    }
    let (mut r, size) = next_valid_rune(s, RUNE_ERROR);
    let mut offset = size;
    if r == RUNE_ERROR {
        return (Word::Invalid, &s[..offset], &s[offset..]);
    }
    let mut remaining = &s[size..];
    // Extends the word while `keep` holds for the next valid rune.
    let run =
        |remaining: &mut &str, offset: &mut usize, r: &mut char, keep: &dyn Fn(char) -> bool| {
            while !remaining.is_empty() {
                let (c, size) = next_valid_rune(remaining, *r);
                *r = c;
                if !keep(c) {
                    break;
                }
                *offset += size;
                *remaining = &remaining[size..];
            }
        };
    let wt;
    if is_connector(r) {
        wt = Word::Connector;
        run(&mut remaining, &mut offset, &mut r, &is_connector);
    } else if is_punct(r) {
        wt = Word::Punct;
        run(&mut remaining, &mut offset, &mut r, &is_punct);
    } else if is_upper(r) {
        wt = Word::Upper;
        if !remaining.is_empty() {
            let (c, size) = next_valid_rune(remaining, r);
            r = c;
            if is_upper(r) {
                let mut prev_size = size;
                offset += size;
                remaining = &remaining[size..];
                while !remaining.is_empty() {
                    let (c, size) = next_valid_rune(remaining, r);
                    r = c;
                    if !is_upper(r) {
                        break;
                    }
                    prev_size = size;
                    offset += size;
                    remaining = &remaining[size..];
                }
                // "HTTPStatus" splits as "HTTP" and "Status".
                if !remaining.is_empty() && is_alphabet(r) {
                    offset -= prev_size;
                    remaining = &s[offset..];
                }
            } else if is_alphabet(r) {
                offset += size;
                remaining = &remaining[size..];
                run(&mut remaining, &mut offset, &mut r, &|c| {
                    is_alphabet(c) && !is_upper(c)
                });
            }
        }
    } else if is_alphabet(r) {
        wt = Word::Alphabet;
        run(&mut remaining, &mut offset, &mut r, &|c| {
            is_alphabet(c) && !is_upper(c)
        });
    } else if is_number(r) {
        wt = Word::Number;
        run(&mut remaining, &mut offset, &mut r, &is_number);
    } else {
        wt = Word::Other;
        while !remaining.is_empty() {
            let (c, size) = next_valid_rune(remaining, r);
            r = c;
            if size == 0 || is_connector(c) || is_alphabet(c) || is_number(c) || is_punct(c) {
                break;
            }
            offset += size;
            remaining = &remaining[size..];
        }
    }
    (wt, &s[..offset], remaining)
}

/// xstrings `toLower`: upper-case words and connectors lowered, connectors replaced.
fn push_lower(out: &mut String, wt: Word, word: &str, connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else if is_upper(c) {
            out.push(to_lower(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings 1.5 `camelCaseToLowerCase` (`ToSnakeCase`, `ToKebabCase`).
fn to_lower_case_words(s: &str, connector: char) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(s.len() + 8);
    let (mut wt, mut word, mut remaining) = next_word(s);
    while !remaining.is_empty() {
        if wt != Word::Connector {
            push_lower(&mut out, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, remaining) = next_word(remaining);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Punct && wt != Word::Connector {
                    out.push(connector);
                }
            }
            Word::Connector => push_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if remaining.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, remaining) = next_word(remaining);
                // A number is part of the previous word ("Bld4Floor" is "bld4_floor")...
                if wt != Word::Alphabet {
                    push_lower(&mut out, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                // ...unless lower-case letters follow it ("HTTP2xx" is "http_2xx").
                out.push(connector);
                push_lower(&mut out, Word::Number, last, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Connector && wt != Word::Punct {
                    out.push(connector);
                }
            }
        }
    }
    push_lower(&mut out, wt, word, connector);
    out
}

/// Formats `items` joined by `sep`, for `seq`.
pub(super) fn join_ints(items: &[i64], sep: &str) -> String {
    let mut out = String::new();
    for (i, n) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        let _ = write!(out, "{n}");
    }
    out
}
