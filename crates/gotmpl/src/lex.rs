//! The lexer: template text to items, on demand (the parser pulls them, so a lexical error
//! after a parse error is never reported, as in Go). Positions are byte offsets; lines count
//! from 1.

/// Kinds of lexical items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Error,
    Bool,
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Kind {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Kind::Block
                | Kind::Break
                | Kind::Continue
                | Kind::Dot
                | Kind::Define
                | Kind::Else
                | Kind::End
                | Kind::If
                | Kind::Nil
                | Kind::Range
                | Kind::Template
                | Kind::With
        )
    }
}

/// A lexical item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item<'a> {
    pub kind: Kind,
    pub pos: usize,
    /// The item's text: a slice of the input, or the message of an error item.
    pub val: std::borrow::Cow<'a, str>,
    pub line: usize,
}

impl std::fmt::Display for Item<'_> {
    /// How Go's parser names an item in "unexpected ..." messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            Kind::Eof => write!(f, "EOF"),
            Kind::Error => write!(f, "{}", self.val),
            k if k.is_keyword() => write!(f, "<{}>", self.val),
            _ if self.val.len() > 10 => {
                // Go's %.10q: the first ten runes, quoted, then "...".
                let head: String = self.val.chars().take(10).collect();
                write!(f, "{}...", crate::strconv::quote(&head))
            }
            _ => write!(f, "{}", crate::strconv::quote(&self.val)),
        }
    }
}

fn keyword(word: &str) -> Option<Kind> {
    Some(match word {
        "." => Kind::Dot,
        "block" => Kind::Block,
        "break" => Kind::Break,
        "continue" => Kind::Continue,
        "define" => Kind::Define,
        "else" => Kind::Else,
        "end" => Kind::End,
        "if" => Kind::If,
        "range" => Kind::Range,
        "nil" => Kind::Nil,
        "template" => Kind::Template,
        "with" => Kind::With,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Done,
}

/// The lexer over one template text.
#[derive(Debug)]
pub(crate) struct Lexer<'a> {
    input: &'a str,
    left: &'a str,
    right: &'a str,
    pos: usize,
    start: usize,
    at_eof: bool,
    paren_depth: usize,
    line: usize,
    start_line: usize,
    state: State,
    pending: std::collections::VecDeque<Item<'a>>,
    /// `break` and `continue` are keywords unless functions of those names exist.
    pub break_ok: bool,
    pub continue_ok: bool,
}

const TRIM_MARKER: u8 = b'-';
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric() && is_unicode_digit(c)
}

/// Go's unicode.IsDigit: decimal digits (Nd) only; Rust's is_numeric also takes Nl and No.
fn is_unicode_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.to_digit(10).is_none() && is_nd(c))
}

/// Decimal-digit characters beyond ASCII (Unicode category Nd), approximated by the blocks of
/// ten consecutive digits Unicode defines; templates practically never use them.
fn is_nd(c: char) -> bool {
    const ZEROS: &[u32] = &[
        0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6,
        0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
        0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
        0xFF10,
    ];
    let u = c as u32;
    ZEROS.iter().any(|z| u >= *z && u < z + 10)
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == TRIM_MARKER && is_space(b[1] as char)
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == TRIM_MARKER
}

fn trim_right_len(s: &str) -> usize {
    s.len() - s.trim_end_matches(is_space).len()
}

fn trim_left_len(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_space).len()
}

impl<'a> Lexer<'a> {
    pub fn new(input: &'a str, left: &'a str, right: &'a str) -> Lexer<'a> {
        Lexer {
            input,
            left: if left.is_empty() { "{{" } else { left },
            right: if right.is_empty() { "}}" } else { right },
            pos: 0,
            start: 0,
            at_eof: false,
            paren_depth: 0,
            line: 1,
            start_line: 1,
            state: State::Text,
            pending: std::collections::VecDeque::new(),
            break_ok: true,
            continue_ok: true,
        }
    }

    /// The next item; after an error or EOF, EOF forever.
    pub fn next_item(&mut self) -> Item<'a> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return item;
            }
            if self.state == State::Done {
                return Item {
                    kind: Kind::Eof,
                    pos: self.pos,
                    val: std::borrow::Cow::Borrowed(""),
                    line: self.line,
                };
            }
            self.state = match self.state {
                State::Text => self.lex_text(),
                State::LeftDelim => self.lex_left_delim(),
                State::Comment => self.lex_comment(),
                State::RightDelim => self.lex_right_delim(),
                State::InsideAction => self.lex_inside_action(),
                State::Done => State::Done,
            };
        }
    }

    fn rest(&self) -> &'a str {
        self.input.get(self.pos..).unwrap_or_default()
    }

    fn next(&mut self) -> Option<char> {
        match self.rest().chars().next() {
            None => {
                self.at_eof = true;
                None
            }
            Some(c) => {
                self.pos += c.len_utf8();
                if c == '\n' {
                    self.line += 1;
                }
                Some(c)
            }
        }
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn backup(&mut self) {
        if !self.at_eof
            && self.pos > 0
            && let Some(c) = self
                .input
                .get(..self.pos)
                .and_then(|s| s.chars().next_back())
        {
            self.pos -= c.len_utf8();
            if c == '\n' {
                self.line -= 1;
            }
        }
    }

    fn emit(&mut self, kind: Kind) {
        let val = self.input.get(self.start..self.pos).unwrap_or_default();
        self.pending.push_back(Item {
            kind,
            pos: self.start,
            val: std::borrow::Cow::Borrowed(val),
            line: self.start_line,
        });
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn ignore(&mut self) {
        self.line += self
            .input
            .get(self.start..self.pos)
            .unwrap_or_default()
            .matches('\n')
            .count();
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(c) if valid.contains(c) => true,
            _ => {
                self.backup();
                false
            }
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while let Some(c) = self.next() {
            if !valid.contains(c) {
                self.backup();
                return;
            }
        }
        self.backup();
    }

    fn errorf(&mut self, message: String) -> State {
        self.pending.push_back(Item {
            kind: Kind::Error,
            pos: self.start,
            val: std::borrow::Cow::Owned(message),
            line: self.start_line,
        });
        State::Done
    }

    fn lex_text(&mut self) -> State {
        if let Some(x) = self.rest().find(self.left) {
            let ldn = self.left.len();
            self.pos += x;
            let mut trim = 0;
            if has_left_trim_marker(self.input.get(self.pos + ldn..).unwrap_or_default()) {
                trim = trim_right_len(self.input.get(self.start..self.pos).unwrap_or_default());
            }
            self.pos -= trim;
            if self.pos > self.start {
                self.line += self
                    .input
                    .get(self.start..self.pos)
                    .unwrap_or_default()
                    .matches('\n')
                    .count();
                self.emit(Kind::Text);
            }
            self.pos += trim;
            self.ignore();
            return State::LeftDelim;
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.line += self
                .input
                .get(self.start..self.pos)
                .unwrap_or_default()
                .matches('\n')
                .count();
            self.emit(Kind::Text);
        }
        self.emit(Kind::Eof);
        State::Done
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest.get(2..).is_some_and(|r| r.starts_with(self.right)) {
            return (true, true);
        }
        (rest.starts_with(self.right), false)
    }

    fn lex_left_delim(&mut self) -> State {
        self.pos += self.left.len();
        let trim = has_left_trim_marker(self.rest());
        let after = if trim { 2 } else { 0 };
        if self
            .input
            .get(self.pos + after..)
            .is_some_and(|r| r.starts_with(LEFT_COMMENT))
        {
            self.pos += after;
            self.ignore();
            return State::Comment;
        }
        self.emit(Kind::LeftDelim);
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        State::InsideAction
    }

    fn lex_comment(&mut self) -> State {
        self.pos += LEFT_COMMENT.len();
        let Some(i) = self.rest().find(RIGHT_COMMENT) else {
            return self.errorf("unclosed comment".into());
        };
        self.pos += i + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.errorf("comment ends before closing delimiter".into());
        }
        if trim {
            self.pos += 2;
        }
        self.pos += self.right.len();
        if trim {
            self.pos += trim_left_len(self.rest());
        }
        self.ignore();
        State::Text
    }

    fn lex_right_delim(&mut self) -> State {
        let trim = has_right_trim_marker(self.rest());
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += self.right.len();
        self.emit(Kind::RightDelim);
        if trim {
            self.pos += trim_left_len(self.rest());
            self.ignore();
        }
        State::Text
    }

    fn lex_inside_action(&mut self) -> State {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return State::RightDelim;
            }
            return self.errorf("unclosed left paren".into());
        }
        let Some(r) = self.next() else {
            return self.errorf("unclosed action".into());
        };
        match r {
            c if is_space(c) => {
                self.backup();
                return self.lex_space();
            }
            '=' => self.emit(Kind::Assign),
            ':' => {
                if self.next() != Some('=') {
                    return self.errorf("expected :=".into());
                }
                self.emit(Kind::Declare);
            }
            '|' => self.emit(Kind::Pipe),
            '"' => return self.lex_quote(),
            '`' => return self.lex_raw_quote(),
            '$' => return self.lex_variable(),
            '\'' => return self.lex_char(),
            '.' => {
                // ".field" unless a digit follows ('.5' is a number).
                match self.input.as_bytes().get(self.pos) {
                    Some(b) if b.is_ascii_digit() => {
                        self.backup();
                        return self.lex_number();
                    }
                    Some(_) => return self.lex_field_or_variable(Kind::Field),
                    // At the end of input Go falls through to scanning a number.
                    None => {
                        self.backup();
                        return self.lex_number();
                    }
                }
            }
            '+' | '-' | '0'..='9' => {
                self.backup();
                return self.lex_number();
            }
            c if is_alphanumeric(c) => {
                self.backup();
                return self.lex_identifier();
            }
            '(' => {
                self.emit(Kind::LeftParen);
                self.paren_depth += 1;
            }
            ')' => {
                // Current Go (the Go Helm 3.19+ and 4 are built with) fails before emitting the
                // paren, so the parser never sees it; Go 1.19 emitted it first.
                if self.paren_depth == 0 {
                    return self.errorf("unexpected right paren".into());
                }
                self.emit(Kind::RightParen);
                self.paren_depth -= 1;
            }
            c if c.is_ascii() && !c.is_ascii_control() => self.emit(Kind::Char),
            c => {
                return self.errorf(format!(
                    "unrecognized character in action: {}",
                    unicode_plus(c)
                ));
            }
        }
        State::InsideAction
    }

    fn lex_space(&mut self) -> State {
        let mut spaces = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.next();
            spaces += 1;
        }
        let before = self.input.get(self.pos - 1..).unwrap_or_default();
        if has_right_trim_marker(before)
            && before.get(2..).is_some_and(|r| r.starts_with(self.right))
        {
            self.backup();
            if spaces == 1 {
                return State::RightDelim;
            }
        }
        self.emit(Kind::Space);
        State::InsideAction
    }

    fn lex_identifier(&mut self) -> State {
        loop {
            match self.next() {
                Some(c) if is_alphanumeric(c) => {}
                r => {
                    if r.is_some() {
                        self.backup();
                    }
                    let word = self.input.get(self.start..self.pos).unwrap_or_default();
                    if !self.at_terminator() {
                        return self.errorf(format!("bad character {}", unicode_plus_opt(r)));
                    }
                    let kind = match keyword(word) {
                        Some(Kind::Break) if !self.break_ok => Kind::Identifier,
                        Some(Kind::Continue) if !self.continue_ok => Kind::Identifier,
                        Some(k) if k != Kind::Dot => k,
                        _ if word == "true" || word == "false" => Kind::Bool,
                        _ => Kind::Identifier,
                    };
                    self.emit(kind);
                    return State::InsideAction;
                }
            }
        }
    }

    fn lex_variable(&mut self) -> State {
        if self.at_terminator() {
            self.emit(Kind::Variable);
            return State::InsideAction;
        }
        self.lex_field_or_variable(Kind::Variable)
    }

    fn lex_field_or_variable(&mut self, kind: Kind) -> State {
        if self.at_terminator() {
            self.emit(if kind == Kind::Variable {
                Kind::Variable
            } else {
                Kind::Dot
            });
            return State::InsideAction;
        }
        let last = loop {
            let r = self.next();
            match r {
                Some(c) if is_alphanumeric(c) => {}
                _ => {
                    if r.is_some() {
                        self.backup();
                    }
                    break r;
                }
            }
        };
        if !self.at_terminator() {
            return self.errorf(format!("bad character {}", unicode_plus_opt(last)));
        }
        self.emit(kind);
        State::InsideAction
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(self.right),
        }
    }

    fn lex_char(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => continue,
                    _ => return self.errorf("unterminated character constant".into()),
                },
                None | Some('\n') => return self.errorf("unterminated character constant".into()),
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(Kind::CharConstant);
        State::InsideAction
    }

    fn lex_number(&mut self) -> State {
        if !self.scan_number() {
            return self.bad_number();
        }
        if matches!(self.peek(), Some('+' | '-')) {
            if !self.scan_number() || !self.input.get(..self.pos).is_some_and(|s| s.ends_with('i'))
            {
                return self.bad_number();
            }
            self.emit(Kind::Complex);
        } else {
            self.emit(Kind::Number);
        }
        State::InsideAction
    }

    fn bad_number(&mut self) -> State {
        let text = self
            .input
            .get(self.start..self.pos)
            .unwrap_or_default()
            .to_string();
        self.errorf(format!(
            "bad number syntax: {}",
            crate::strconv::quote(&text)
        ))
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alphanumeric) {
            self.next();
            return false;
        }
        true
    }

    fn lex_quote(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => continue,
                    _ => return self.errorf("unterminated quoted string".into()),
                },
                None | Some('\n') => return self.errorf("unterminated quoted string".into()),
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(Kind::String);
        State::InsideAction
    }

    fn lex_raw_quote(&mut self) -> State {
        loop {
            match self.next() {
                None => return self.errorf("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(Kind::RawString);
        State::InsideAction
    }
}

/// Go's `%#U`: `U+0041 'A'` (the quoted form only for printable characters).
pub(crate) fn unicode_plus(c: char) -> String {
    if crate::strconv::is_printable(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// `%#U` of the rune Go's lexer would report at EOF (`-1`, printed as `U+FFFFFFFFFFFFFFFF`).
fn unicode_plus_opt(c: Option<char>) -> String {
    match c {
        Some(c) => unicode_plus(c),
        None => "U+FFFFFFFFFFFFFFFF".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<(Kind, String)> {
        let mut lexer = Lexer::new(input, "", "");
        let mut out = Vec::new();
        loop {
            let item = lexer.next_item();
            let done = matches!(item.kind, Kind::Eof | Kind::Error);
            out.push((item.kind, item.val.to_string()));
            if done {
                return out;
            }
        }
    }

    #[test]
    fn actions_and_text() {
        assert_eq!(
            kinds("a {{- .x | f 1 -}} b"),
            vec![
                (Kind::Text, "a".into()),
                (Kind::LeftDelim, "{{".into()),
                (Kind::Field, ".x".into()),
                (Kind::Space, " ".into()),
                (Kind::Pipe, "|".into()),
                (Kind::Space, " ".into()),
                (Kind::Identifier, "f".into()),
                (Kind::Space, " ".into()),
                (Kind::Number, "1".into()),
                (Kind::RightDelim, "}}".into()),
                (Kind::Text, "b".into()),
                (Kind::Eof, "".into()),
            ]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            kinds("{{ \"abc }}").last().map(|k| k.1.clone()),
            Some("unterminated quoted string".into())
        );
        assert_eq!(
            kinds("{{ 3k }}").last().map(|k| k.1.clone()),
            Some("bad number syntax: \"3k\"".into())
        );
        assert_eq!(
            kinds("{{/* x */ }}").last().map(|k| k.1.clone()),
            Some("comment ends before closing delimiter".into())
        );
    }
}
