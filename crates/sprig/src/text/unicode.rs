//! Go's `unicode` predicates and simple case mappings, for the functions that call them rune
//! by rune (`title`, `swapcase`, `snakecase`...).
//!
//! Rust's `char` methods differ from Go's in two ways that show in output: `to_uppercase` and
//! `to_lowercase` apply the full (multi-rune) mappings where Go applies the simple one-rune
//! mappings, and `is_uppercase`/`is_alphabetic` test derived properties where Go tests general
//! categories. Categories come from the `regex` crate's Unicode tables (one-rune matches), so
//! no other table is needed.

use std::sync::LazyLock;

use regex::Regex;

/// One regex per general category we test; `None` only if the pattern failed to build, which
/// the tests rule out (the patterns are fixed).
struct Category(LazyLock<Option<Regex>>);

impl Category {
    fn contains(&self, c: char) -> bool {
        let mut buf = [0u8; 4];
        self.0
            .as_ref()
            .is_some_and(|re| re.is_match(c.encode_utf8(&mut buf)))
    }
}

static LETTER: Category = Category(LazyLock::new(|| Regex::new(r"\p{L}").ok()));
static UPPER: Category = Category(LazyLock::new(|| Regex::new(r"\p{Lu}").ok()));
static LOWER: Category = Category(LazyLock::new(|| Regex::new(r"\p{Ll}").ok()));
static TITLE: Category = Category(LazyLock::new(|| Regex::new(r"\p{Lt}").ok()));
static DIGIT: Category = Category(LazyLock::new(|| Regex::new(r"\p{Nd}").ok()));
static NUMBER: Category = Category(LazyLock::new(|| Regex::new(r"\p{N}").ok()));
static PUNCT: Category = Category(LazyLock::new(|| Regex::new(r"\p{P}").ok()));

/// `unicode.IsLetter`: general category L.
pub(super) fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        LETTER.contains(c)
    }
}

/// `unicode.IsUpper`: category Lu (not the derived Uppercase property).
pub(super) fn is_upper(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_uppercase()
    } else {
        UPPER.contains(c)
    }
}

/// `unicode.IsLower`: category Ll.
pub(super) fn is_lower(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_lowercase()
    } else {
        LOWER.contains(c)
    }
}

/// `unicode.IsTitle`: category Lt.
pub(super) fn is_title(c: char) -> bool {
    !c.is_ascii() && TITLE.contains(c)
}

/// `unicode.IsDigit`: category Nd.
pub(super) fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        DIGIT.contains(c)
    }
}

/// `unicode.IsNumber`: category N.
pub(super) fn is_number(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        NUMBER.contains(c)
    }
}

/// `unicode.IsPunct`: category P.
pub(super) fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_punctuation()
            && !matches!(c, '$' | '+' | '<' | '=' | '>' | '^' | '`' | '|' | '~')
    } else {
        PUNCT.contains(c)
    }
}

/// `unicode.IsSpace`: the White_Space property, as Rust's `is_whitespace`.
pub(super) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// `unicode.ToUpper`: the simple uppercase mapping.
pub(super) fn to_upper(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    match c {
        // Greek with ypogegrammeni: the full mapping expands to two runes, the simple one is
        // the matching titlecase letter.
        '\u{1F80}'..='\u{1F87}' | '\u{1F90}'..='\u{1F97}' | '\u{1FA0}'..='\u{1FA7}' => {
            char::from_u32(c as u32 + 8).unwrap_or(c)
        }
        '\u{1FB3}' => '\u{1FBC}',
        '\u{1FC3}' => '\u{1FCC}',
        '\u{1FF3}' => '\u{1FFC}',
        _ => single(c.to_uppercase()).unwrap_or(c),
    }
}

/// `unicode.ToLower`: the simple lowercase mapping.
pub(super) fn to_lower(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    match c {
        // Full mapping "i̇", simple mapping "i".
        '\u{130}' => 'i',
        _ => single(c.to_lowercase()).unwrap_or(c),
    }
}

/// `unicode.ToTitle`: the simple titlecase mapping.
pub(super) fn to_title(c: char) -> char {
    match c {
        'Ǆ' | 'ǅ' | 'ǆ' => 'ǅ',
        'Ǉ' | 'ǈ' | 'ǉ' => 'ǈ',
        'Ǌ' | 'ǋ' | 'ǌ' => 'ǋ',
        'Ǳ' | 'ǲ' | 'ǳ' => 'ǲ',
        // Georgian Mkhedruli has an uppercase (Mtavruli) but is its own titlecase.
        '\u{10D0}'..='\u{10FA}' | '\u{10FD}'..='\u{10FF}' => c,
        _ => to_upper(c),
    }
}

fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    match (it.next(), it.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}
