//! go-yaml v2's `Marshal` of decoded values: the encoder's choice of scalar styles and key
//! order (`encode.go`, `sorter.go`) and the emitter (libyaml's `emitter.c` as go-yaml ported
//! it): block style, two-space indent, 80-column folding of plain and quoted scalars, literal
//! block scalars with indentation and chomping indicators, double quotes with escapes for
//! anything not printable (4-byte characters included).

use super::decode::{GoVal, resolve};
use super::gosort;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

#[derive(Debug, Clone, PartialEq)]
enum Ev {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Scalar(String, Style),
    SequenceStart,
    SequenceEnd,
    MappingStart,
    MappingEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    StreamStart,
    FirstDocumentStart,
    DocumentStart,
    DocumentContent,
    DocumentEnd,
    FlowSequenceFirstItem,
    FlowSequenceItem,
    FlowMappingFirstKey,
    FlowMappingKey,
    FlowMappingSimpleValue,
    FlowMappingValue,
    BlockSequenceFirstItem,
    BlockSequenceItem,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingSimpleValue,
    BlockMappingValue,
    End,
}

// ---- events from values (encode.go) --------------------------------------------------------

fn is_base60_float(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let b = s.as_bytes();
    match b.first() {
        Some(c) if *c == b'+' || *c == b'-' || c.is_ascii_digit() => {}
        _ => return false,
    }
    if !s.contains(':') {
        return false;
    }
    let mut i = 0;
    if b[0] == b'+' || b[0] == b'-' {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        // [0-5]?[0-9]
        let d1 = b.get(i).copied();
        let d2 = b.get(i + 1).copied();
        match (d1, d2) {
            (Some(x), Some(y)) if (b'0'..=b'5').contains(&x) && y.is_ascii_digit() => i += 2,
            (Some(x), _) if x.is_ascii_digit() => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml's `stringv` style choice for an untagged string.
fn string_style(s: &str) -> Style {
    let can_use_plain = match resolve(b"", s) {
        Ok((tag, _)) => tag == b"tag:yaml.org,2002:str" && !is_base60_float(s),
        Err(_) => false,
    };
    if s.contains('\n') {
        Style::Literal
    } else if can_use_plain {
        Style::Plain
    } else {
        Style::DoubleQuoted
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_string()
    } else if f == f64::INFINITY {
        ".inf".to_string()
    } else if f == f64::NEG_INFINITY {
        "-.inf".to_string()
    } else {
        helmrelease_gotmpl::fmt::format_float(f, 'g', -1)
    }
}

/// Kinds as Go's `reflect.Kind` numbers them, for key ordering.
fn kind_rank(v: &GoVal) -> u8 {
    match v {
        GoVal::Nil => 0,
        GoVal::Bool(_) => 1,
        GoVal::Int(_) => 2,
        GoVal::Uint(_) => 11,
        GoVal::Float(_) => 14,
        GoVal::Seq(_) => 23,
        GoVal::Map(_) => 21,
        GoVal::Str(_) => 24,
    }
}

fn key_float(v: &GoVal) -> Option<f64> {
    match v {
        GoVal::Int(i) => Some(*i as f64),
        GoVal::Uint(u) => Some(*u as f64),
        GoVal::Float(f) => Some(*f),
        GoVal::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

fn num_less(a: &GoVal, b: &GoVal) -> bool {
    match (a, b) {
        (GoVal::Int(x), GoVal::Int(y)) => x < y,
        (GoVal::Uint(x), GoVal::Uint(y)) => x < y,
        (GoVal::Float(x), GoVal::Float(y)) => x < y,
        (GoVal::Bool(x), GoVal::Bool(y)) => !x && *y,
        _ => false,
    }
}

/// go-yaml's `keyList.Less`: numbers by value, strings in "natural" order (digit runs
/// compared as numbers, letters after other characters).
fn key_less(a: &GoVal, b: &GoVal) -> bool {
    if let (Some(af), Some(bf)) = (key_float(a), key_float(b)) {
        if af != bf {
            return af < bf;
        }
        let (ak, bk) = (kind_rank(a), kind_rank(b));
        if ak != bk {
            return ak < bk;
        }
        return num_less(a, b);
    }
    let (GoVal::Str(sa), GoVal::Str(sb)) = (a, b) else {
        return kind_rank(a) < kind_rank(b);
    };
    let ar: Vec<char> = sa.chars().collect();
    let br: Vec<char> = sb.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic() && is_go_letter(ar[i]);
        let bl = br[i].is_alphabetic() && is_go_letter(br[i]);
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && is_go_digit(ar[j - 1]) {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_go_digit(ar[ai]) {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u32).wrapping_sub('0' as i64));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_go_digit(br[bi]) {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u32).wrapping_sub('0' as i64));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Go's `unicode.IsLetter` (categories L*), which Rust's `is_alphabetic` widens with
/// `Other_Alphabetic` marks and letter numbers.
fn is_go_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    // Rust's alphabetic includes Nl (letter numbers) and Other_Alphabetic marks; Go's
    // IsLetter does not. Marks and numbers are rare in keys; treat the common ones right.
    !(c.is_numeric() || is_combining_mark(c))
}

fn is_combining_mark(c: char) -> bool {
    matches!(u32::from(c), 0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x0900..=0x0903 | 0x093A..=0x094F | 0x1AB0..=0x1AFF
        | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Go's `unicode.IsDigit` (category Nd).
fn is_go_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    is_decimal_digit(c)
}

fn is_decimal_digit(c: char) -> bool {
    // Nd blocks are runs of ten code points starting at a code point ending in 0 or 6 etc.;
    // the common scripts' digit ranges.
    matches!(u32::from(c), 0x0660..=0x0669 | 0x06F0..=0x06F9 | 0x07C0..=0x07C9 | 0x0966..=0x096F
        | 0x09E6..=0x09EF | 0x0A66..=0x0A6F | 0x0AE6..=0x0AEF | 0x0B66..=0x0B6F | 0x0BE6..=0x0BEF
        | 0x0C66..=0x0C6F | 0x0CE6..=0x0CEF | 0x0D66..=0x0D6F | 0x0DE6..=0x0DEF | 0x0E50..=0x0E59
        | 0x0ED0..=0x0ED9 | 0x0F20..=0x0F29 | 0x1040..=0x1049 | 0x1090..=0x1099 | 0x17E0..=0x17E9
        | 0x1810..=0x1819 | 0xFF10..=0xFF19)
}

/// How map keys are ordered in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyOrder {
    /// go-yaml's own order for a Go map (`keyList.Less`, "natural").
    Natural,
    /// Byte order of the string keys: a `yaml.MapSlice` sorted with `sort.Strings`, as
    /// fluxcd's `chartutil.SortMapSlice` does before marshalling.
    Bytes,
}

fn events(v: &GoVal, out: &mut Vec<Ev>, order: KeyOrder) {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || events_inner(v, out, order));
}

fn key_bytes_less(a: &GoVal, b: &GoVal) -> bool {
    match (a, b) {
        (GoVal::Str(x), GoVal::Str(y)) => x < y,
        _ => key_less(a, b),
    }
}

fn events_inner(v: &GoVal, out: &mut Vec<Ev>, order: KeyOrder) {
    match v {
        GoVal::Nil => out.push(Ev::Scalar("null".to_string(), Style::Plain)),
        GoVal::Bool(b) => out.push(Ev::Scalar(b.to_string(), Style::Plain)),
        GoVal::Int(i) => out.push(Ev::Scalar(i.to_string(), Style::Plain)),
        GoVal::Uint(u) => out.push(Ev::Scalar(u.to_string(), Style::Plain)),
        GoVal::Float(f) => out.push(Ev::Scalar(float_text(*f), Style::Plain)),
        GoVal::Str(s) => out.push(Ev::Scalar(s.clone(), string_style(s))),
        GoVal::Seq(items) => {
            out.push(Ev::SequenceStart);
            for item in items {
                events(item, out, order);
            }
            out.push(Ev::SequenceEnd);
        }
        GoVal::Map(m) => {
            out.push(Ev::MappingStart);
            let mut entries: Vec<&(GoVal, GoVal)> = m.entries.iter().collect();
            match order {
                KeyOrder::Natural => gosort::sort_by(&mut entries, &|a, b| key_less(&a.0, &b.0)),
                KeyOrder::Bytes => entries.sort_by(|a, b| {
                    if key_bytes_less(&a.0, &b.0) {
                        std::cmp::Ordering::Less
                    } else if key_bytes_less(&b.0, &a.0) {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Equal
                    }
                }),
            }
            for (k, v) in entries {
                events(k, out, order);
                events(v, out, order);
            }
            out.push(Ev::MappingEnd);
        }
    }
}

// ---- the emitter ---------------------------------------------------------------------------

fn is_printable(c: char) -> bool {
    let v = u32::from(c);
    v == 0x0A
        || (0x20..=0x7E).contains(&v)
        || (0xA0..=0xD7FF).contains(&v)
        || ((0xE000..=0xFFFD).contains(&v) && v != 0xFEFF)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_blankz(c: char) -> bool {
    is_blank(c) || is_break(c) || c == '\0'
}

#[derive(Debug, Default, Clone, Copy)]
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze_scalar(value: &[char]) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;
    if value.len() >= 3
        && ((value[0] == '-' && value[1] == '-' && value[2] == '-')
            || (value[0] == '.' && value[1] == '.' && value[2] == '.'))
    {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let n = value.len();
    for (i, &c) in value.iter().enumerate() {
        let followed_by_whitespace = i + 1 >= n || is_blank(value[i + 1]);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special_characters = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == n {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == n {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blankz(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

struct Emitter {
    out: String,
    events: Vec<Ev>,
    head: usize,
    state: State,
    states: Vec<State>,
    indent: isize,
    indents: Vec<isize>,
    flow_level: usize,
    root_context: bool,
    mapping_context: bool,
    simple_key_context: bool,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
    // The scalar being emitted.
    value: Vec<char>,
    analysis: Analysis,
    style: Style,
}

const BEST_INDENT: isize = 2;
const BEST_WIDTH: usize = 80;

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn write_str(&mut self, s: &str) {
        for c in s.chars() {
            self.write(c);
        }
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn pop_state(&mut self) {
        self.state = self.states.pop().unwrap_or(State::End);
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.write_str(indicator);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
        self.open_ended = false;
    }

    fn check_empty_sequence(&self) -> bool {
        self.events.get(self.head) == Some(&Ev::SequenceStart)
            && self.events.get(self.head + 1) == Some(&Ev::SequenceEnd)
    }

    fn check_empty_mapping(&self) -> bool {
        self.events.get(self.head) == Some(&Ev::MappingStart)
            && self.events.get(self.head + 1) == Some(&Ev::MappingEnd)
    }

    fn check_simple_key(&self) -> bool {
        match self.events.get(self.head) {
            Some(Ev::Scalar(..)) => !self.analysis.multiline && self.value.len_utf8() <= 128,
            Some(Ev::SequenceStart) => self.check_empty_sequence(),
            Some(Ev::MappingStart) => self.check_empty_mapping(),
            _ => false,
        }
    }

    fn run(&mut self) {
        while self.head < self.events.len() {
            let ev = self.events[self.head].clone();
            if let Ev::Scalar(value, _) = &ev {
                self.value = value.chars().collect();
                self.analysis = analyze_scalar(&self.value);
            }
            self.step(&ev);
            self.head += 1;
        }
    }

    fn step(&mut self, ev: &Ev) {
        match self.state {
            State::StreamStart => {
                self.indent = -1;
                self.column = 0;
                self.whitespace = true;
                self.indention = true;
                self.state = State::FirstDocumentStart;
            }
            State::FirstDocumentStart | State::DocumentStart => {
                if *ev == Ev::DocumentStart {
                    self.state = State::DocumentContent;
                } else {
                    // Stream end (open_ended is cleared by the encoder before it).
                    self.state = State::End;
                }
            }
            State::DocumentContent => {
                self.states.push(State::DocumentEnd);
                self.emit_node(ev, true, false, false);
            }
            State::DocumentEnd => {
                self.write_indent();
                self.state = State::DocumentStart;
            }
            State::FlowSequenceFirstItem => self.flow_sequence_item(ev, true),
            State::FlowSequenceItem => self.flow_sequence_item(ev, false),
            State::FlowMappingFirstKey => self.flow_mapping_key(ev, true),
            State::FlowMappingKey => self.flow_mapping_key(ev, false),
            State::FlowMappingSimpleValue => self.flow_mapping_value(ev, true),
            State::FlowMappingValue => self.flow_mapping_value(ev, false),
            State::BlockSequenceFirstItem => self.block_sequence_item(ev, true),
            State::BlockSequenceItem => self.block_sequence_item(ev, false),
            State::BlockMappingFirstKey => self.block_mapping_key(ev, true),
            State::BlockMappingKey => self.block_mapping_key(ev, false),
            State::BlockMappingSimpleValue => self.block_mapping_value(ev, true),
            State::BlockMappingValue => self.block_mapping_value(ev, false),
            State::End => {}
        }
    }

    fn flow_sequence_item(&mut self, ev: &Ev, first: bool) {
        if first {
            self.write_indicator("[", true, true, false);
            self.increase_indent(true, false);
            self.flow_level += 1;
        }
        if *ev == Ev::SequenceEnd {
            self.flow_level -= 1;
            self.pop_indent();
            self.write_indicator("]", false, false, false);
            self.pop_state();
            return;
        }
        if !first {
            self.write_indicator(",", false, false, false);
        }
        if self.column > BEST_WIDTH {
            self.write_indent();
        }
        self.states.push(State::FlowSequenceItem);
        self.emit_node(ev, false, false, false);
    }

    fn flow_mapping_key(&mut self, ev: &Ev, first: bool) {
        if first {
            self.write_indicator("{", true, true, false);
            self.increase_indent(true, false);
            self.flow_level += 1;
        }
        if *ev == Ev::MappingEnd {
            self.flow_level -= 1;
            self.pop_indent();
            self.write_indicator("}", false, false, false);
            self.pop_state();
            return;
        }
        if !first {
            self.write_indicator(",", false, false, false);
        }
        if self.column > BEST_WIDTH {
            self.write_indent();
        }
        if self.check_simple_key() {
            self.states.push(State::FlowMappingSimpleValue);
            self.emit_node(ev, false, true, true);
            return;
        }
        self.write_indicator("?", true, false, false);
        self.states.push(State::FlowMappingValue);
        self.emit_node(ev, false, true, false);
    }

    fn flow_mapping_value(&mut self, ev: &Ev, simple: bool) {
        if simple {
            self.write_indicator(":", false, false, false);
        } else {
            if self.column > BEST_WIDTH {
                self.write_indent();
            }
            self.write_indicator(":", true, false, false);
        }
        self.states.push(State::FlowMappingKey);
        self.emit_node(ev, false, true, false);
    }

    fn block_sequence_item(&mut self, ev: &Ev, first: bool) {
        if first {
            let indentless = self.mapping_context && !self.indention;
            self.increase_indent(false, indentless);
        }
        if *ev == Ev::SequenceEnd {
            self.pop_indent();
            self.pop_state();
            return;
        }
        self.write_indent();
        self.write_indicator("-", true, false, true);
        self.states.push(State::BlockSequenceItem);
        self.emit_node(ev, false, false, false);
    }

    fn block_mapping_key(&mut self, ev: &Ev, first: bool) {
        if first {
            self.increase_indent(false, false);
        }
        if *ev == Ev::MappingEnd {
            self.pop_indent();
            self.pop_state();
            return;
        }
        self.write_indent();
        if self.check_simple_key() {
            self.states.push(State::BlockMappingSimpleValue);
            self.emit_node(ev, false, true, true);
            return;
        }
        self.write_indicator("?", true, false, true);
        self.states.push(State::BlockMappingValue);
        self.emit_node(ev, false, true, false);
    }

    fn block_mapping_value(&mut self, ev: &Ev, simple: bool) {
        if simple {
            self.write_indicator(":", false, false, false);
        } else {
            self.write_indent();
            self.write_indicator(":", true, false, true);
        }
        self.states.push(State::BlockMappingKey);
        self.emit_node(ev, false, true, false);
    }

    /// `yaml_emitter_emit_node` with its root, mapping and simple-key contexts.
    fn emit_node(&mut self, ev: &Ev, root: bool, mapping: bool, simple_key: bool) {
        self.root_context = root;
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match ev {
            Ev::Scalar(_, style) => self.emit_scalar(*style),
            Ev::SequenceStart => {
                if self.flow_level > 0 || self.check_empty_sequence() {
                    self.state = State::FlowSequenceFirstItem;
                } else {
                    self.state = State::BlockSequenceFirstItem;
                }
            }
            Ev::MappingStart => {
                if self.flow_level > 0 || self.check_empty_mapping() {
                    self.state = State::FlowMappingFirstKey;
                } else {
                    self.state = State::BlockMappingFirstKey;
                }
            }
            _ => {}
        }
    }

    fn select_scalar_style(&mut self, requested: Style) {
        let a = self.analysis;
        let mut style = requested;
        if self.simple_key_context && a.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain {
            if (self.flow_level > 0 && !a.flow_plain_allowed)
                || (self.flow_level == 0 && !a.block_plain_allowed)
            {
                style = Style::SingleQuoted;
            }
            if self.value.is_empty() && (self.flow_level > 0 || self.simple_key_context) {
                style = Style::SingleQuoted;
            }
        }
        if style == Style::SingleQuoted && !a.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal
            && (!a.block_allowed || self.flow_level > 0 || self.simple_key_context)
        {
            style = Style::DoubleQuoted;
        }
        self.style = style;
    }

    fn emit_scalar(&mut self, requested: Style) {
        self.select_scalar_style(requested);
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match self.style {
            Style::Plain => self.write_plain_scalar(allow_breaks),
            Style::SingleQuoted => self.write_single_quoted_scalar(allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted_scalar(allow_breaks),
            Style::Literal => self.write_literal_scalar(),
        }
        self.pop_indent();
        self.pop_state();
    }

    fn write_plain_scalar(&mut self, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let value = std::mem::take(&mut self.value);
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < value.len() {
            let c = value[i];
            if c == ' ' {
                let next_space = value.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_space {
                    self.write_indent();
                } else {
                    self.write(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
            i += 1;
        }
        self.value = value;
        self.whitespace = false;
        self.indention = false;
        if self.root_context {
            self.open_ended = true;
        }
    }

    fn write_single_quoted_scalar(&mut self, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let value = std::mem::take(&mut self.value);
        let n = value.len();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in value.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i < n - 1
                    && value[i + 1] != ' '
                {
                    self.write_indent();
                } else {
                    self.write(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.write(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.value = value;
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted_scalar(&mut self, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let value = std::mem::take(&mut self.value);
        let n = value.len();
        let starts_with_bom = value.first() == Some(&'\u{feff}');
        let mut spaces = false;
        for (i, &c) in value.iter().enumerate() {
            if !is_printable(c) || starts_with_bom || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let v = u32::from(c);
                match v {
                    0x00 => self.put('0'),
                    0x07 => self.put('a'),
                    0x08 => self.put('b'),
                    0x09 => self.put('t'),
                    0x0A => self.put('n'),
                    0x0B => self.put('v'),
                    0x0C => self.put('f'),
                    0x0D => self.put('r'),
                    0x1B => self.put('e'),
                    0x22 => self.put('"'),
                    0x5C => self.put('\\'),
                    0x85 => self.put('N'),
                    0xA0 => self.put('_'),
                    0x2028 => self.put('L'),
                    0x2029 => self.put('P'),
                    _ => {
                        let (letter, width) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        for k in (0..width).rev() {
                            let digit = (v >> (k * 4)) & 0xF;
                            let ch = char::from_digit(digit, 16)
                                .unwrap_or('0')
                                .to_ascii_uppercase();
                            self.put(ch);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i < n - 1 {
                    self.write_indent();
                    if value[i + 1] == ' ' {
                        self.put('\\');
                    }
                } else {
                    self.write(c);
                }
                spaces = true;
            } else {
                self.write(c);
                spaces = false;
            }
        }
        self.value = value;
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_block_scalar_hints(&mut self) {
        let value = &self.value;
        let mut hints = String::new();
        if value.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            hints.push(char::from(b'0' + BEST_INDENT as u8));
        }
        self.open_ended = false;
        let mut chomp = None;
        match value.len() {
            0 => chomp = Some('-'),
            n => {
                if !is_break(value[n - 1]) {
                    chomp = Some('-');
                } else if n == 1 || is_break(value[n - 2]) {
                    chomp = Some('+');
                }
            }
        }
        if !hints.is_empty() {
            let h = hints.clone();
            self.write_indicator(&h, false, false, false);
        }
        if let Some(c) = chomp {
            if c == '+' {
                self.open_ended = true;
            }
            self.write_indicator(&c.to_string(), false, false, false);
        }
    }

    fn write_literal_scalar(&mut self) {
        self.write_indicator("|", true, false, false);
        self.write_block_scalar_hints();
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let value = std::mem::take(&mut self.value);
        let mut breaks = true;
        for &c in &value {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(c);
                self.indention = false;
                breaks = false;
            }
        }
        self.value = value;
    }
}

trait LenUtf8 {
    fn len_utf8(&self) -> usize;
}

impl LenUtf8 for Vec<char> {
    fn len_utf8(&self) -> usize {
        self.iter().map(|c| c.len_utf8()).sum()
    }
}

/// go-yaml v2's `Marshal(v)`: one document, block style, ending in a line break.
pub(crate) fn marshal(v: &GoVal) -> String {
    marshal_with(v, KeyOrder::Natural)
}

/// [`marshal`] with map keys in `order`.
pub(crate) fn marshal_with(v: &GoVal, order: KeyOrder) -> String {
    let mut evs = vec![Ev::StreamStart, Ev::DocumentStart];
    events(v, &mut evs, order);
    evs.push(Ev::DocumentEnd);
    evs.push(Ev::StreamEnd);
    let mut e = Emitter {
        out: String::new(),
        events: evs,
        head: 0,
        state: State::StreamStart,
        states: Vec::new(),
        indent: -1,
        indents: Vec::new(),
        flow_level: 0,
        root_context: false,
        mapping_context: false,
        simple_key_context: false,
        column: 0,
        whitespace: true,
        indention: true,
        open_ended: false,
        value: Vec::new(),
        analysis: Analysis::default(),
        style: Style::Plain,
    };
    e.run();
    e.out
}
