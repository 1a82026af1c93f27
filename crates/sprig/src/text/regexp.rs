//! The regular-expression functions, with Go's `regexp` semantics.
//!
//! Patterns are parsed with Go's `regexp/syntax` rules (Perl flags: `(?imsU)`, named groups
//! `(?P<name>)` and `(?<name>)`, `\Q...\E`, octal and `\x{...}` escapes, POSIX and Unicode
//! classes, repeat counts up to 1000) and Go's error messages, then written out as an
//! equivalent pattern for the `regex` crate: ASCII-only `\d \w \s \b` (Rust's are Unicode),
//! unnamed groups (Go allows duplicate and digit-leading names, which Rust does not),
//! explicit greediness. Both engines are leftmost-first, so matches agree. The iteration
//! (`FindAll`, `ReplaceAll`, `Split`), `$name` expansion and error texts follow Go's code.
//!
//! Go's parse-tree height limit (1000) is checked on this parser's own tree, which is close
//! to but not exactly Go's (Go merges literal runs and factors alternations), and a pattern
//! too large for the `regex` crate reports Go's "expression too large".

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use helmrelease_gotmpl::{Funcs, Type, Value};

use super::unicode::{is_digit, is_letter};
use super::{add, check_bytes, check_items, int_arg, str_arg, string, string_list};

pub(super) fn register(funcs: &mut Funcs) {
    use Type::{Int, String};
    add(
        funcs,
        "regexMatch",
        &[String, String],
        None,
        "func(string, string) bool",
        |a| {
            let matched =
                compile(str_arg(a, 0)?).is_ok_and(|re| re.re.is_match(str_arg(a, 1).unwrap_or("")));
            Ok(Value::Bool(matched))
        },
    );
    add(
        funcs,
        "mustRegexMatch",
        &[String, String],
        None,
        "func(string, string) (bool, error)",
        |a| {
            Ok(Value::Bool(
                compile(str_arg(a, 0)?)?.re.is_match(str_arg(a, 1)?),
            ))
        },
    );
    add(
        funcs,
        "regexFindAll",
        &[String, String, Int],
        None,
        "func(string, string, int) []string",
        |a| {
            find_all(
                &*must_compile(str_arg(a, 0)?)?,
                str_arg(a, 1)?,
                int_arg(a, 2)?,
            )
        },
    );
    add(
        funcs,
        "mustRegexFindAll",
        &[String, String, Int],
        None,
        "func(string, string, int) ([]string, error)",
        |a| find_all(&*compile(str_arg(a, 0)?)?, str_arg(a, 1)?, int_arg(a, 2)?),
    );
    add(
        funcs,
        "regexFind",
        &[String, String],
        None,
        "func(string, string) string",
        |a| find(&*must_compile(str_arg(a, 0)?)?, str_arg(a, 1)?),
    );
    add(
        funcs,
        "mustRegexFind",
        &[String, String],
        None,
        "func(string, string) (string, error)",
        |a| find(&*compile(str_arg(a, 0)?)?, str_arg(a, 1)?),
    );
    let s3 = "func(string, string, string) string";
    let must_s3 = "func(string, string, string) (string, error)";
    add(
        funcs,
        "regexReplaceAll",
        &[String, String, String],
        None,
        s3,
        |a| {
            replace_all(
                &*must_compile(str_arg(a, 0)?)?,
                str_arg(a, 1)?,
                str_arg(a, 2)?,
                false,
            )
        },
    );
    add(
        funcs,
        "mustRegexReplaceAll",
        &[String, String, String],
        None,
        must_s3,
        |a| {
            replace_all(
                &*compile(str_arg(a, 0)?)?,
                str_arg(a, 1)?,
                str_arg(a, 2)?,
                false,
            )
        },
    );
    add(
        funcs,
        "regexReplaceAllLiteral",
        &[String, String, String],
        None,
        s3,
        |a| {
            replace_all(
                &*must_compile(str_arg(a, 0)?)?,
                str_arg(a, 1)?,
                str_arg(a, 2)?,
                true,
            )
        },
    );
    add(
        funcs,
        "mustRegexReplaceAllLiteral",
        &[String, String, String],
        None,
        must_s3,
        |a| {
            replace_all(
                &*compile(str_arg(a, 0)?)?,
                str_arg(a, 1)?,
                str_arg(a, 2)?,
                true,
            )
        },
    );
    add(
        funcs,
        "regexSplit",
        &[String, String, Int],
        None,
        "func(string, string, int) []string",
        |a| {
            split(
                &*must_compile(str_arg(a, 0)?)?,
                str_arg(a, 1)?,
                int_arg(a, 2)?,
            )
        },
    );
    add(
        funcs,
        "mustRegexSplit",
        &[String, String, Int],
        None,
        "func(string, string, int) ([]string, error)",
        |a| split(&*compile(str_arg(a, 0)?)?, str_arg(a, 1)?, int_arg(a, 2)?),
    );
    add(
        funcs,
        "regexQuoteMeta",
        &[String],
        None,
        "func(string) string",
        |a| {
            let mut out = std::string::String::new();
            for c in str_arg(a, 0)?.chars() {
                if r"\.+*?()|[]{}^$".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            Ok(string(out))
        },
    );
}

/// A compiled pattern and its capture-group names (index 0 is the whole match).
#[derive(Debug)]
struct GoRegex {
    re: regex::Regex,
    names: Vec<Option<String>>,
    /// Whether the Go pattern was empty (`Split` treats that specially).
    empty: bool,
}

thread_local! {
    /// Charts call the same few patterns over and over.
    static CACHE: RefCell<HashMap<String, Result<Rc<GoRegex>, String>>> = RefCell::new(HashMap::new());
}

const CACHE_SIZE: usize = 256;

/// `regexp.Compile`, with Go's error text.
fn compile(pattern: &str) -> Result<Rc<GoRegex>, String> {
    if let Some(hit) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return hit;
    }
    let result = compile_uncached(pattern).map(Rc::new);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_SIZE {
            c.clear();
        }
        c.insert(pattern.to_string(), result.clone());
    });
    result
}

/// `regexp.MustCompile`: its panic text names the pattern.
fn must_compile(pattern: &str) -> Result<Rc<GoRegex>, String> {
    compile(pattern).map_err(|e| format!("regexp: Compile({}): {e}", quote_pattern(pattern)))
}

/// `regexp`'s `quote`: backquoted when Go's `strconv.CanBackquote` allows it.
fn quote_pattern(s: &str) -> std::string::String {
    let can_backquote = s
        .chars()
        .all(|c| !((c < ' ' && c != '\t') || c == '`' || c == '\u{7f}' || c == '\u{feff}'));
    if can_backquote {
        format!("`{s}`")
    } else {
        helmrelease_gotmpl::strconv::quote(s)
    }
}

fn compile_uncached(pattern: &str) -> Result<GoRegex, String> {
    let (rust, names) = Parser::new(pattern).parse()?;
    let re = regex::RegexBuilder::new(&rust)
        .nest_limit(10_000)
        .size_limit(1 << 28)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => syntax_error("expression too large", pattern),
            e => syntax_error(
                &format!("invalid or unsupported Perl syntax ({e})"),
                pattern,
            ),
        })?;
    Ok(GoRegex {
        re,
        names,
        empty: pattern.is_empty(),
    })
}

fn syntax_error(code: &str, expr: &str) -> std::string::String {
    format!("error parsing regexp: {code}: `{expr}`")
}

/// The width of the rune at `pos` (0 at the end), for Go's "advance one rune".
fn rune_width(s: &str, pos: usize) -> usize {
    s.get(pos..)
        .and_then(|t| t.chars().next())
        .map_or(0, char::len_utf8)
}

/// `Regexp.FindAllStringIndex(s, n)`: Go skips an empty match right after a match.
fn all_matches(re: &GoRegex, s: &str, n: i64) -> Vec<(usize, usize)> {
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut pos = 0;
    let mut prev_end = None;
    while out.len() < limit && pos <= s.len() {
        let Some(m) = re.re.find_at(s, pos) else {
            break;
        };
        let mut accept = true;
        if m.end() == pos {
            if Some(m.start()) == prev_end {
                accept = false;
            }
            pos += rune_width(s, pos).max(1);
        } else {
            pos = m.end();
        }
        prev_end = Some(m.end());
        if accept {
            out.push((m.start(), m.end()));
        }
    }
    out
}

fn find_all(re: &GoRegex, s: &str, n: i64) -> Result<Value, String> {
    let matches = all_matches(re, s, n);
    check_items(matches.len())?;
    Ok(string_list(matches.iter().map(|&(a, b)| &s[a..b])))
}

fn find(re: &GoRegex, s: &str) -> Result<Value, String> {
    Ok(string(re.re.find(s).map_or("", |m| m.as_str())))
}

/// `Regexp.ReplaceAllString` (`$1`, `${name}` expanded) or `ReplaceAllLiteralString`.
fn replace_all(re: &GoRegex, src: &str, repl: &str, literal: bool) -> Result<Value, String> {
    let mut buf = std::string::String::new();
    let mut last_match_end = 0;
    let mut search_pos = 0;
    while search_pos <= src.len() {
        let Some(caps) = re.re.captures_at(src, search_pos) else {
            break;
        };
        let Some(whole) = caps.get(0) else {
            break;
        };
        let (a0, a1) = (whole.start(), whole.end());
        buf.push_str(src.get(last_match_end..a0).unwrap_or_default());
        // No replacement for an empty match right after the previous match.
        if a1 > last_match_end || a0 == 0 {
            if literal {
                buf.push_str(repl);
            } else {
                expand(&mut buf, repl, re, &caps);
            }
            check_bytes(buf.len())?;
        }
        last_match_end = a1;
        let width = rune_width(src, search_pos);
        if search_pos + width > a1 {
            search_pos += width;
        } else if search_pos + 1 > a1 {
            search_pos += 1;
        } else {
            search_pos = a1;
        }
    }
    buf.push_str(src.get(last_match_end..).unwrap_or_default());
    Ok(string(buf))
}

/// `Regexp.Expand` for a string template.
fn expand(out: &mut std::string::String, template: &str, re: &GoRegex, caps: &regex::Captures<'_>) {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let Some((name, num, r)) = extract(rest) else {
            // Malformed: the '$' is text.
            out.push('$');
            continue;
        };
        rest = r;
        let group = match num {
            Some(n) => caps.get(n),
            None => re
                .names
                .iter()
                .enumerate()
                .filter(|(_, n)| n.as_deref() == Some(name))
                .find_map(|(i, _)| caps.get(i)),
        };
        if let Some(g) = group {
            out.push_str(g.as_str());
        }
    }
    out.push_str(rest);
}

/// Go's `extract`: a `$` reference's name (and number, when it is one) and the rest.
fn extract(s: &str) -> Option<(&str, Option<usize>, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !(is_letter(c) || is_digit(c) || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    let rest = if brace {
        body[end..].strip_prefix('}')?
    } else {
        &body[end..]
    };
    let mut num: Option<usize> = Some(0);
    for b in name.bytes() {
        num = match num {
            Some(n) if b.is_ascii_digit() && n < 100_000_000 => {
                Some(n * 10 + usize::from(b - b'0'))
            }
            _ => None,
        };
    }
    if name.starts_with('0') && name.len() > 1 {
        num = None;
    }
    Some((name, num, rest))
}

/// `Regexp.Split(s, n)`.
fn split(re: &GoRegex, s: &str, n: i64) -> Result<Value, String> {
    if n == 0 {
        return Ok(string_list(Vec::<std::string::String>::new()));
    }
    if !re.empty && s.is_empty() {
        return Ok(string_list([""]));
    }
    let matches = all_matches(re, s, n);
    let mut out: Vec<&str> = Vec::new();
    let (mut beg, mut end) = (0, 0);
    let limit = usize::try_from(n).ok();
    for (a, b) in matches {
        if limit.is_some_and(|l| out.len() + 1 == l) {
            break;
        }
        end = a;
        if b != 0 {
            out.push(&s[beg..end]);
        }
        beg = b;
    }
    if end != s.len() {
        out.push(&s[beg..]);
    }
    check_items(out.len())?;
    Ok(string_list(out))
}

// ---------------------------------------------------------------------------------------
// Go regexp/syntax parsing.

const ERR_INVALID_CHAR_RANGE: &str = "invalid character class range";
const ERR_INVALID_ESCAPE: &str = "invalid escape sequence";
const ERR_INVALID_NAMED_CAPTURE: &str = "invalid named capture";
const ERR_INVALID_PERL_OP: &str = "invalid or unsupported Perl syntax";
const ERR_INVALID_REPEAT_OP: &str = "invalid nested repetition operator";
const ERR_INVALID_REPEAT_SIZE: &str = "invalid repeat count";
const ERR_MISSING_BRACKET: &str = "missing closing ]";
const ERR_MISSING_PAREN: &str = "missing closing )";
const ERR_MISSING_REPEAT_ARGUMENT: &str = "missing argument to repetition operator";
const ERR_TRAILING_BACKSLASH: &str = "trailing backslash at end of expression";
const ERR_UNEXPECTED_PAREN: &str = "unexpected )";
const ERR_NESTING_DEPTH: &str = "expression nests too deeply";

const MAX_HEIGHT: u32 = 1000;

#[derive(Clone, Copy, Debug)]
struct Flags {
    fold: bool,
    dot_nl: bool,
    /// `^`/`$` match only at the text's ends (Go's `OneLine`, on unless `(?m)`).
    one_line: bool,
    non_greedy: bool,
}

#[derive(Debug)]
enum Node {
    Empty,
    /// A literal rune (`None`: a code point Rust cannot hold, which never matches).
    Lit(Option<char>, bool),
    Any(bool),
    Class(std::string::String, bool),
    Assert(&'static str),
    Capture(Box<Node>, u32),
    Repeat {
        sub: Box<Node>,
        min: u32,
        max: Option<u32>,
        counted: bool,
        greedy: bool,
        height: u32,
    },
    Concat(Vec<Node>, u32),
    Alt(Vec<Node>, u32),
}

impl Node {
    fn height(&self) -> u32 {
        match self {
            Node::Capture(_, h) | Node::Concat(_, h) | Node::Alt(_, h) => *h,
            Node::Repeat { height, .. } => *height,
            _ => 1,
        }
    }

    /// Writes the node as a Rust pattern that is one atom.
    fn emit(&self, out: &mut std::string::String) {
        match self {
            Node::Empty => out.push_str("(?:)"),
            Node::Lit(None, _) => out.push_str(r"(?-u:\b)(?-u:\B)"),
            Node::Lit(Some(c), fold) => {
                let lit = literal(*c);
                if *fold {
                    out.push_str(&format!("(?i:{lit})"));
                } else {
                    out.push_str(&lit);
                }
            }
            Node::Any(nl) => out.push_str(if *nl { "(?s:.)" } else { r"[^\n]" }),
            Node::Class(text, fold) => {
                if *fold {
                    out.push_str(&format!("(?i:{text})"));
                } else {
                    out.push_str(text);
                }
            }
            Node::Assert(text) => out.push_str(text),
            Node::Capture(sub, _) => {
                out.push('(');
                sub.emit(out);
                out.push(')');
            }
            Node::Repeat {
                sub,
                min,
                max,
                counted,
                greedy,
                ..
            } => {
                out.push_str("(?:");
                sub.emit(out);
                out.push(')');
                match (counted, min, max) {
                    (false, 0, None) => out.push('*'),
                    (false, 1, None) => out.push('+'),
                    (false, _, _) => out.push('?'),
                    (true, m, None) => out.push_str(&format!("{{{m},}}")),
                    (true, m, Some(n)) => out.push_str(&format!("{{{m},{n}}}")),
                }
                if !greedy {
                    out.push('?');
                }
            }
            Node::Concat(subs, _) => {
                out.push_str("(?:");
                for s in subs {
                    s.emit(out);
                }
                out.push(')');
            }
            Node::Alt(subs, _) => {
                out.push_str("(?:");
                for (i, s) in subs.iter().enumerate() {
                    if i > 0 {
                        out.push('|');
                    }
                    s.emit(out);
                }
                out.push(')');
            }
        }
    }
}

fn literal(c: char) -> std::string::String {
    if c.is_ascii_alphanumeric() || !c.is_ascii() && !c.is_whitespace() && !c.is_control() {
        c.to_string()
    } else {
        format!("\\x{{{:X}}}", u32::from(c))
    }
}

fn class_range(lo: u32, hi: u32) -> std::string::String {
    if lo == hi {
        format!("\\x{{{lo:X}}}")
    } else {
        format!("\\x{{{lo:X}}}-\\x{{{hi:X}}}")
    }
}

/// Go's `isValidCaptureName`: `[A-Za-z0-9_]+`.
fn valid_capture_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// One open group: finished alternatives and the concatenation being read.
struct Frame {
    alts: Vec<Node>,
    cur: Vec<Node>,
    /// The capture index of a capturing group; `None` for the top level and `(?:`.
    cap: Option<u32>,
    /// Flags to restore when the group closes.
    saved: Flags,
}

struct Parser<'a> {
    whole: &'a str,
    pos: usize,
    flags: Flags,
    frames: Vec<Frame>,
    names: Vec<Option<std::string::String>>,
}

/// The ASCII sets of Go's `\d \s \w` and POSIX classes, as Rust class items.
fn perl_class(c: char) -> Option<(&'static str, bool)> {
    Some(match c {
        'd' => (r"0-9", false),
        'D' => (r"0-9", true),
        's' => (r"\t\n\x0C\r ", false),
        'S' => (r"\t\n\x0C\r ", true),
        'w' => (r"0-9A-Z_a-z", false),
        'W' => (r"0-9A-Z_a-z", true),
        _ => return None,
    })
}

fn posix_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "alnum" => r"0-9A-Za-z",
        "alpha" => r"A-Za-z",
        "ascii" => r"\x00-\x7F",
        "blank" => r"\t ",
        "cntrl" => r"\x00-\x1F\x7F",
        "digit" => r"0-9",
        "graph" => r"\x21-\x7E",
        "lower" => r"a-z",
        "print" => r"\x20-\x7E",
        "punct" => r"\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E",
        "space" => r"\t\n\x0B\x0C\r ",
        "upper" => r"A-Z",
        "word" => r"0-9A-Za-z_",
        "xdigit" => r"0-9A-Fa-f",
        _ => return None,
    })
}

/// Go's Unicode class names: "Any", the general categories and the scripts.
fn unicode_name_ok(name: &str) -> bool {
    #[rustfmt::skip]
    const CATEGORIES: &[&str] = &[
        "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn",
        "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk",
        "Sm", "So", "Z", "Zl", "Zp", "Zs",
    ];
    // Go 1.21+ (Unicode 15) script names.
    #[rustfmt::skip]
    const SCRIPTS: &[&str] = &[
        "Adlam", "Ahom", "Anatolian_Hieroglyphs", "Arabic", "Armenian", "Avestan", "Balinese",
        "Bamum", "Bassa_Vah", "Batak", "Bengali", "Bhaiksuki", "Bopomofo", "Brahmi", "Braille",
        "Buginese", "Buhid", "Canadian_Aboriginal", "Carian", "Caucasian_Albanian", "Chakma",
        "Cham", "Cherokee", "Chorasmian", "Common", "Coptic", "Cuneiform", "Cypriot",
        "Cypro_Minoan", "Cyrillic", "Deseret", "Devanagari", "Dives_Akuru", "Dogra",
        "Duployan", "Egyptian_Hieroglyphs", "Elbasan", "Elymaic", "Ethiopic", "Georgian",
        "Glagolitic", "Gothic", "Grantha", "Greek", "Gujarati", "Gunjala_Gondi", "Gurmukhi",
        "Han", "Hangul", "Hanifi_Rohingya", "Hanunoo", "Hatran", "Hebrew", "Hiragana",
        "Imperial_Aramaic", "Inherited", "Inscriptional_Pahlavi", "Inscriptional_Parthian",
        "Javanese", "Kaithi", "Kannada", "Katakana", "Kawi", "Kayah_Li", "Kharoshthi",
        "Khitan_Small_Script", "Khmer", "Khojki", "Khudawadi", "Lao", "Latin", "Lepcha",
        "Limbu", "Linear_A", "Linear_B", "Lisu", "Lycian", "Lydian", "Mahajani", "Makasar",
        "Malayalam", "Mandaic", "Manichaean", "Marchen", "Masaram_Gondi", "Medefaidrin",
        "Meetei_Mayek", "Mende_Kikakui", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao",
        "Modi", "Mongolian", "Mro", "Multani", "Myanmar", "Nabataean", "Nag_Mundari",
        "Nandinagari", "New_Tai_Lue", "Newa", "Nko", "Nushu", "Nyiakeng_Puachue_Hmong",
        "Ogham", "Ol_Chiki", "Old_Hungarian", "Old_Italic", "Old_North_Arabian", "Old_Permic",
        "Old_Persian", "Old_Sogdian", "Old_South_Arabian", "Old_Turkic", "Old_Uyghur", "Oriya",
        "Osage", "Osmanya", "Pahawh_Hmong", "Palmyrene", "Pau_Cin_Hau", "Phags_Pa",
        "Phoenician", "Psalter_Pahlavi", "Rejang", "Runic", "Samaritan", "Saurashtra",
        "Sharada", "Shavian", "Siddham", "SignWriting", "Sinhala", "Sogdian", "Sora_Sompeng",
        "Soyombo", "Sundanese", "Syloti_Nagri", "Syriac", "Tagalog", "Tagbanwa", "Tai_Le",
        "Tai_Tham", "Tai_Viet", "Takri", "Tamil", "Tangsa", "Tangut", "Telugu", "Thaana",
        "Thai", "Tibetan", "Tifinagh", "Tirhuta", "Toto", "Ugaritic", "Vai", "Vithkuqi",
        "Wancho", "Warang_Citi", "Yezidi", "Yi", "Zanabazar_Square",
    ];
    name == "Any" || CATEGORIES.contains(&name) || SCRIPTS.contains(&name)
}

fn unhex(c: char) -> Option<u32> {
    c.to_digit(16)
}

impl<'a> Parser<'a> {
    fn new(whole: &'a str) -> Parser<'a> {
        let flags = Flags {
            fold: false,
            dot_nl: false,
            one_line: true,
            non_greedy: false,
        };
        Parser {
            whole,
            pos: 0,
            flags,
            frames: vec![Frame {
                alts: Vec::new(),
                cur: Vec::new(),
                cap: None,
                saved: flags,
            }],
            // Index 0 stands for the whole match.
            names: vec![None],
        }
    }

    fn rest(&self) -> &'a str {
        &self.whole[self.pos..]
    }

    fn err(&self, code: &str, expr: &str) -> std::string::String {
        syntax_error(code, expr)
    }

    fn push(&mut self, node: Node) -> Result<(), std::string::String> {
        if node.height() > MAX_HEIGHT {
            return Err(self.err(ERR_NESTING_DEPTH, self.whole));
        }
        if let Some(f) = self.frames.last_mut() {
            f.cur.push(node);
        }
        Ok(())
    }

    fn literal(&mut self, c: u32) -> Result<(), std::string::String> {
        let fold = self.flags.fold;
        self.push(Node::Lit(char::from_u32(c), fold))
    }

    /// The concatenation of `nodes` (one node as itself, none as the empty match).
    fn concat(nodes: Vec<Node>) -> Node {
        match nodes.len() {
            0 => Node::Empty,
            1 => nodes.into_iter().next().unwrap_or(Node::Empty),
            _ => {
                let h = 1 + nodes.iter().map(Node::height).max().unwrap_or(0);
                Node::Concat(nodes, h)
            }
        }
    }

    /// Closes the current frame's alternation.
    fn finish(frame: Frame) -> Node {
        let mut alts = frame.alts;
        alts.push(Self::concat(frame.cur));
        if alts.len() == 1 {
            return alts.pop().unwrap_or(Node::Empty);
        }
        let h = 1 + alts.iter().map(Node::height).max().unwrap_or(0);
        Node::Alt(alts, h)
    }

    fn parse(
        mut self,
    ) -> Result<(std::string::String, Vec<Option<std::string::String>>), std::string::String> {
        // The text starting at the previous token when it was a repetition operator.
        let mut last_repeat: Option<usize> = None;
        while self.pos < self.whole.len() {
            let start = self.pos;
            let mut repeat = None;
            let t = self.rest();
            let c = t.chars().next().unwrap_or('\0');
            match c {
                '(' => {
                    if t.as_bytes().get(1) == Some(&b'?') {
                        self.parse_perl_flags()?;
                    } else {
                        self.open(None);
                        self.pos += 1;
                    }
                }
                '|' => {
                    self.pos += 1;
                    if let Some(f) = self.frames.last_mut() {
                        let cur = std::mem::take(&mut f.cur);
                        f.alts.push(Self::concat(cur));
                    }
                }
                ')' => {
                    if self.frames.len() < 2 {
                        return Err(self.err(ERR_UNEXPECTED_PAREN, self.whole));
                    }
                    self.pos += 1;
                    let Some(frame) = self.frames.pop() else {
                        return Err(self.err(ERR_UNEXPECTED_PAREN, self.whole));
                    };
                    self.flags = frame.saved;
                    let cap = frame.cap;
                    let node = Self::finish(frame);
                    let node = match cap {
                        Some(_) => {
                            let h = node.height() + 1;
                            Node::Capture(Box::new(node), h)
                        }
                        None => node,
                    };
                    self.push(node)?;
                }
                '^' => {
                    self.pos += 1;
                    let a = if self.flags.one_line { r"\A" } else { "(?m:^)" };
                    self.push(Node::Assert(a))?;
                }
                '$' => {
                    self.pos += 1;
                    let a = if self.flags.one_line { r"\z" } else { "(?m:$)" };
                    self.push(Node::Assert(a))?;
                }
                '.' => {
                    self.pos += 1;
                    let nl = self.flags.dot_nl;
                    self.push(Node::Any(nl))?;
                }
                '[' => self.parse_class()?,
                '*' | '+' | '?' => {
                    let (min, max) = match c {
                        '*' => (0, None),
                        '+' => (1, None),
                        _ => (0, Some(1)),
                    };
                    self.pos += 1;
                    self.repeat(min, max, false, start, last_repeat)?;
                    repeat = Some(start);
                }
                '{' => match parse_repeat(t) {
                    None => {
                        self.pos += 1;
                        self.literal(u32::from('{'))?;
                    }
                    Some((min, max, len)) => {
                        let text = &t[..len];
                        if !(0..=1000).contains(&min) || max > 1000 || (max >= 0 && min > max) {
                            return Err(self.err(ERR_INVALID_REPEAT_SIZE, text));
                        }
                        self.pos += len;
                        let min = u32::try_from(min).unwrap_or(0);
                        let max = u32::try_from(max).ok();
                        self.repeat(min, max, true, start, last_repeat)?;
                        repeat = Some(start);
                    }
                },
                '\\' => self.parse_backslash()?,
                _ => {
                    self.pos += c.len_utf8();
                    self.literal(u32::from(c))?;
                }
            }
            last_repeat = repeat;
        }
        if self.frames.len() != 1 {
            return Err(self.err(ERR_MISSING_PAREN, self.whole));
        }
        let Some(top) = self.frames.pop() else {
            return Err(self.err(ERR_MISSING_PAREN, self.whole));
        };
        let node = Self::finish(top);
        let mut out = std::string::String::new();
        node.emit(&mut out);
        Ok((out, self.names))
    }

    fn open(&mut self, name: Option<std::string::String>) {
        let index = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name);
        self.frames.push(Frame {
            alts: Vec::new(),
            cur: Vec::new(),
            cap: Some(index),
            saved: self.flags,
        });
    }

    /// Applies a repetition operator that ended at `self.pos` to the last node.
    fn repeat(
        &mut self,
        min: u32,
        max: Option<u32>,
        counted: bool,
        before: usize,
        last_repeat: Option<usize>,
    ) -> Result<(), std::string::String> {
        let mut greedy = !self.flags.non_greedy;
        if self.rest().starts_with('?') {
            self.pos += 1;
            greedy = !greedy;
        }
        if let Some(lr) = last_repeat {
            return Err(self.err(ERR_INVALID_REPEAT_OP, &self.whole[lr..self.pos]));
        }
        let text = &self.whole[before..self.pos];
        let Some(sub) = self.frames.last_mut().and_then(|f| f.cur.pop()) else {
            return Err(self.err(ERR_MISSING_REPEAT_ARGUMENT, text));
        };
        let height = sub.height() + 1;
        let node = Node::Repeat {
            sub: Box::new(sub),
            min,
            max,
            counted,
            greedy,
            height,
        };
        if counted && (min >= 2 || max.is_some_and(|m| m >= 2)) && !repeat_is_valid(&node, 1000) {
            return Err(self.err(ERR_INVALID_REPEAT_SIZE, text));
        }
        self.push(node)
    }

    /// `(?flags)`, `(?flags:`, `(?P<name>` and `(?<name>`.
    fn parse_perl_flags(&mut self) -> Result<(), std::string::String> {
        let s = self.rest();
        let b = s.as_bytes();
        let named = (b.len() > 4 && b[2] == b'P' && b[3] == b'<') || (b.len() > 3 && b[2] == b'<');
        if named {
            let begin = if b[2] == b'<' { 3 } else { 4 };
            let Some(end) = s.find('>') else {
                return Err(self.err(ERR_INVALID_NAMED_CAPTURE, s));
            };
            let capture = &s[..=end];
            let name = &s[begin..end];
            if !valid_capture_name(name) {
                return Err(self.err(ERR_INVALID_NAMED_CAPTURE, capture));
            }
            self.pos += end + 1;
            self.open(Some(name.to_string()));
            return Ok(());
        }
        let mut flags = self.flags;
        let mut negated = false;
        let mut saw_flag = false;
        let mut consumed = 2;
        for c in s[2..].chars() {
            consumed += c.len_utf8();
            let set = !negated;
            match c {
                'i' => flags.fold = set,
                'm' => flags.one_line = !set,
                's' => flags.dot_nl = set,
                'U' => flags.non_greedy = set,
                '-' => {
                    if negated {
                        break;
                    }
                    negated = true;
                    saw_flag = false;
                    continue;
                }
                ':' | ')' => {
                    if negated && !saw_flag {
                        break;
                    }
                    self.pos += consumed;
                    if c == ':' {
                        // A non-capturing group restores the flags from before it.
                        self.frames.push(Frame {
                            alts: Vec::new(),
                            cur: Vec::new(),
                            cap: None,
                            saved: self.flags,
                        });
                    }
                    self.flags = flags;
                    return Ok(());
                }
                _ => break,
            }
            saw_flag = true;
        }
        Err(self.err(ERR_INVALID_PERL_OP, &s[..consumed]))
    }

    /// `\A \b \B \z \Q..\E`, `\p{..}`, `\d`, and single-rune escapes.
    fn parse_backslash(&mut self) -> Result<(), std::string::String> {
        let t = self.rest();
        match t.as_bytes().get(1) {
            Some(b'A') => {
                self.pos += 2;
                return self.push(Node::Assert(r"\A"));
            }
            Some(b'b') => {
                self.pos += 2;
                return self.push(Node::Assert(r"(?-u:\b)"));
            }
            Some(b'B') => {
                self.pos += 2;
                return self.push(Node::Assert(r"(?-u:\B)"));
            }
            Some(b'C') => return Err(self.err(ERR_INVALID_ESCAPE, &t[..2])),
            Some(b'Q') => {
                let body = &t[2..];
                let (lit, consumed) = match body.find(r"\E") {
                    Some(i) => (&body[..i], 2 + i + 2),
                    None => (body, t.len()),
                };
                self.pos += consumed;
                for c in lit.chars() {
                    self.literal(u32::from(c))?;
                }
                return Ok(());
            }
            Some(b'z') => {
                self.pos += 2;
                return self.push(Node::Assert(r"\z"));
            }
            Some(b'p' | b'P') => {
                let (item, len) = self.parse_unicode_class(t)?;
                self.pos += len;
                let fold = self.flags.fold;
                return self.push(Node::Class(format!("[{item}]"), fold));
            }
            _ => {}
        }
        if let Some((set, negated)) = t.chars().nth(1).and_then(perl_class) {
            self.pos += 2;
            let fold = self.flags.fold;
            let neg = if negated { "^" } else { "" };
            return self.push(Node::Class(format!("[{neg}{set}]"), fold));
        }
        let (c, len) = parse_escape(t)?;
        self.pos += len;
        self.literal(c)
    }

    /// `\pL`, `\p{Greek}`, `\P{^Lu}`...: a Rust class item and the bytes used.
    fn parse_unicode_class(
        &self,
        s: &str,
    ) -> Result<(std::string::String, usize), std::string::String> {
        let mut negated = s.as_bytes().get(1) == Some(&b'P');
        let after = &s[2..];
        let (seq, mut name) = match after.chars().next() {
            Some('{') => {
                let Some(end) = s.find('}') else {
                    return Err(self.err(ERR_INVALID_CHAR_RANGE, s));
                };
                (&s[..=end], &s[3..end])
            }
            Some(c) => {
                let seq = &s[..2 + c.len_utf8()];
                (seq, &seq[2..])
            }
            None => (&s[..2], ""),
        };
        if let Some(n) = name.strip_prefix('^') {
            negated = !negated;
            name = n;
        }
        if !unicode_name_ok(name) {
            return Err(self.err(ERR_INVALID_CHAR_RANGE, seq));
        }
        let p = if negated { 'P' } else { 'p' };
        Ok((format!("\\{p}{{{name}}}"), seq.len()))
    }

    /// A bracketed class, pushed as one node.
    fn parse_class(&mut self) -> Result<(), std::string::String> {
        let whole_class = self.rest();
        let mut t = &whole_class[1..];
        let mut negated = false;
        if let Some(r) = t.strip_prefix('^') {
            negated = true;
            t = r;
        }
        let mut items = std::string::String::new();
        let mut first = true;
        while t.is_empty() || !t.starts_with(']') || first {
            first = false;
            // POSIX [:alpha:].
            if t.len() > 2
                && t.starts_with("[:")
                && let Some(i) = t[2..].find(":]")
            {
                let name = &t[..i + 4];
                let inner = &t[2..i + 2];
                let (neg, inner) = match inner.strip_prefix('^') {
                    Some(n) => (true, n),
                    None => (false, inner),
                };
                let Some(set) = posix_class(inner) else {
                    return Err(self.err(ERR_INVALID_CHAR_RANGE, name));
                };
                items.push_str(&format!("[{}{set}]", if neg { "^" } else { "" }));
                t = &t[i + 4..];
                continue;
            }
            if t.len() >= 2 && t.starts_with('\\') {
                let b1 = t.as_bytes()[1];
                if b1 == b'p' || b1 == b'P' {
                    let (item, len) = self.parse_unicode_class(t)?;
                    items.push('[');
                    items.push_str(&item);
                    items.push(']');
                    t = &t[len..];
                    continue;
                }
                if let Some((set, neg)) = t.chars().nth(1).and_then(perl_class) {
                    items.push_str(&format!("[{}{set}]", if neg { "^" } else { "" }));
                    t = &t[2..];
                    continue;
                }
            }
            // A rune or a range.
            let rng = t;
            let (lo, len) = self.parse_class_char(t, whole_class)?;
            t = &t[len..];
            let mut hi = lo;
            if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
                t = &t[1..];
                let (h, len) = self.parse_class_char(t, whole_class)?;
                t = &t[len..];
                hi = h;
                if hi < lo {
                    return Err(self.err(ERR_INVALID_CHAR_RANGE, &rng[..rng.len() - t.len()]));
                }
            }
            // Surrogates are not scalar values; they match nothing.
            let lo = if (0xD800..0xE000).contains(&lo) {
                0xE000
            } else {
                lo
            };
            let hi = if (0xD800..0xE000).contains(&hi) {
                0xD7FF
            } else {
                hi
            };
            if lo <= hi {
                items.push_str(&class_range(lo, hi));
            }
        }
        t = &t[1..];
        self.pos = self.whole.len() - t.len();
        let text = if items.is_empty() {
            // Only surrogates: nothing (or, negated, anything).
            if negated {
                r"(?s:.)".to_string()
            } else {
                r"(?-u:\b)(?-u:\B)".to_string()
            }
        } else {
            format!("[{}{items}]", if negated { "^" } else { "" })
        };
        let fold = self.flags.fold;
        self.push(Node::Class(text, fold))
    }

    fn parse_class_char(
        &self,
        s: &str,
        whole_class: &str,
    ) -> Result<(u32, usize), std::string::String> {
        let Some(c) = s.chars().next() else {
            return Err(self.err(ERR_MISSING_BRACKET, whole_class));
        };
        if c == '\\' {
            return parse_escape(s);
        }
        Ok((u32::from(c), c.len_utf8()))
    }
}

/// A single-rune escape at the start of `s` (which begins with `\`): the rune and the
/// bytes used.
fn parse_escape(s: &str) -> Result<(u32, usize), std::string::String> {
    let t = &s[1..];
    let mut chars = t.char_indices().peekable();
    let Some((_, c)) = chars.next() else {
        return Err(syntax_error(ERR_TRAILING_BACKSLASH, ""));
    };
    // The bytes consumed so far, for the error text.
    let mut used = 1 + c.len_utf8();
    let invalid = |used: usize| syntax_error(ERR_INVALID_ESCAPE, &s[..used.min(s.len())]);
    let is_octal = |c: Option<&(usize, char)>| matches!(c, Some((_, '0'..='7')));
    match c {
        '1'..='7' if !is_octal(chars.peek()) => Err(invalid(used)),
        '0'..='7' => {
            let mut r = c.to_digit(8).unwrap_or(0);
            for _ in 1..3 {
                match chars.peek() {
                    Some(&(_, d @ '0'..='7')) => {
                        r = r * 8 + d.to_digit(8).unwrap_or(0);
                        used += 1;
                        chars.next();
                    }
                    _ => break,
                }
            }
            Ok((r, used))
        }
        'x' => {
            let Some((_, c)) = chars.next() else {
                return Err(invalid(used));
            };
            used += c.len_utf8();
            if c == '{' {
                let mut r: u32 = 0;
                let mut nhex = 0;
                loop {
                    let Some((_, c)) = chars.next() else {
                        return Err(invalid(used));
                    };
                    used += c.len_utf8();
                    if c == '}' {
                        break;
                    }
                    let Some(v) = unhex(c) else {
                        return Err(invalid(used));
                    };
                    r = r * 16 + v;
                    if r > 0x10FFFF {
                        return Err(invalid(used));
                    }
                    nhex += 1;
                }
                if nhex == 0 {
                    return Err(invalid(used));
                }
                return Ok((r, used));
            }
            let x = unhex(c);
            let y = match chars.next() {
                Some((_, d)) => {
                    used += d.len_utf8();
                    unhex(d)
                }
                None => None,
            };
            match (x, y) {
                (Some(x), Some(y)) => Ok((x * 16 + y, used)),
                _ => Err(invalid(used)),
            }
        }
        'a' => Ok((0x07, used)),
        'f' => Ok((0x0C, used)),
        'n' => Ok((u32::from('\n'), used)),
        'r' => Ok((u32::from('\r'), used)),
        't' => Ok((u32::from('\t'), used)),
        'v' => Ok((0x0B, used)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((u32::from(c), used)),
        _ => Err(invalid(used)),
    }
}

/// Go's `parseRepeat` on text starting with `{`: `(min, max, length)`, `max` -1 for
/// `{n,}`, numbers too large as -1; `None` when it is not a repeat (then `{` is literal).
fn parse_repeat(s: &str) -> Option<(i64, i64, usize)> {
    let b = s.as_bytes();
    let mut i = 1;
    let parse_int = |i: &mut usize| -> Option<i64> {
        let start = *i;
        if !b.get(*i)?.is_ascii_digit() {
            return None;
        }
        // No leading zeros.
        if b[*i] == b'0' && b.get(*i + 1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let mut n: i64 = 0;
        while let Some(&d) = b.get(*i) {
            if !d.is_ascii_digit() {
                break;
            }
            if n >= 100_000_000 {
                n = -1;
            } else if n >= 0 {
                n = n * 10 + i64::from(d - b'0');
            }
            *i += 1;
        }
        let _ = start;
        Some(n)
    };
    let mut min = parse_int(&mut i)?;
    let max;
    match b.get(i)? {
        b',' => {
            i += 1;
            match b.get(i)? {
                b'}' => max = -1,
                _ => {
                    max = parse_int(&mut i)?;
                    if max < 0 {
                        min = -1;
                    }
                }
            }
        }
        _ => max = min,
    }
    if b.get(i) != Some(&b'}') {
        return None;
    }
    Some((min, max, i + 1))
}

/// Go's `repeatIsValid`: nested counted repetitions multiply to at most `n` copies.
fn repeat_is_valid(node: &Node, n: u32) -> bool {
    let mut n = n;
    match node {
        Node::Repeat {
            sub,
            min,
            max,
            counted,
            ..
        } => {
            if *counted {
                let m = match max {
                    Some(0) => return true,
                    Some(m) => *m,
                    None => *min,
                };
                if m > n {
                    return false;
                }
                n = n.checked_div(m).unwrap_or(n);
            }
            repeat_is_valid(sub, n)
        }
        Node::Capture(sub, _) => repeat_is_valid(sub, n),
        Node::Concat(subs, _) | Node::Alt(subs, _) => subs.iter().all(|s| repeat_is_valid(s, n)),
        _ => true,
    }
}
