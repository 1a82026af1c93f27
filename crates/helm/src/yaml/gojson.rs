//! Go's `encoding/json`, the parts Helm's template functions and sigs.k8s.io/yaml use:
//! `Marshal` (sorted keys, HTML-safe escaping, Go's float format), `MarshalIndent`, an
//! `Encoder` without HTML escaping, and `Unmarshal` into `interface{}`, a map or a slice, with
//! Go's syntax-error and type-error messages.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use helmrelease_gotmpl::{JsonForm, Map, Value};

// ---- encoding ------------------------------------------------------------------------------

/// Go's `encoding/json` float text: `strconv` 'f' format, or 'e' below 1e-6 and from 1e21,
/// with a two-digit negative exponent cleaned up (`1e-07` becomes `1e-7`).
pub(crate) fn format_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            helmrelease_gotmpl::fmt::format_float(f, 'g', -1)
        ));
    }
    let abs = f.abs();
    let use_e = abs != 0.0 && !(1e-6..1e21).contains(&abs);
    let mut s = helmrelease_gotmpl::fmt::format_float(f, if use_e { 'e' } else { 'f' }, -1);
    if use_e {
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            s.remove(n - 2);
        }
    }
    Ok(s)
}

/// Appends `s` as a JSON string the way Go (1.22 and later) writes it.
pub(crate) fn write_string(out: &mut String, s: &str, escape_html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xF)] as char);
            }
            c if (c as u32) < 0x20 => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xF)] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// How to lay out JSON.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style<'a> {
    pub escape_html: bool,
    /// `MarshalIndent`'s indent string; `None` for compact output.
    pub indent: Option<&'a str>,
}

/// `json.Marshal` (or `MarshalIndent`) of a template value. A map that contains itself is
/// an error, as in Go: `json: unsupported value: encountered a cycle via map[string]interface
/// {}`.
pub(crate) fn marshal(v: &Value, style: Style<'_>) -> Result<String, String> {
    let mut out = String::new();
    encode(&mut out, v, style, 0, &mut Vec::new())?;
    Ok(out)
}

fn newline(out: &mut String, indent: Option<&str>, depth: usize) {
    if let Some(ind) = indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(ind);
        }
    }
}

/// `path` holds the maps being encoded (by [`helmrelease_gotmpl::Map::addr`]), to find cycles.
fn encode(
    out: &mut String,
    v: &Value,
    style: Style<'_>,
    depth: usize,
    path: &mut Vec<usize>,
) -> Result<(), String> {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || {
        encode_inner(out, v, style, depth, path)
    })
}

fn encode_entries<'v>(
    out: &mut String,
    entries: impl Iterator<Item = (&'v str, Value)>,
    style: Style<'_>,
    depth: usize,
    path: &mut Vec<usize>,
) -> Result<(), String> {
    out.push('{');
    let mut any = false;
    for (k, val) in entries {
        if any {
            out.push(',');
        }
        any = true;
        newline(out, style.indent, depth + 1);
        write_string(out, k, style.escape_html);
        out.push(':');
        if style.indent.is_some() {
            out.push(' ');
        }
        encode(out, &val, style, depth + 1, path)?;
    }
    if any {
        newline(out, style.indent, depth);
    }
    out.push('}');
    Ok(())
}

fn encode_inner(
    out: &mut String,
    v: &Value,
    style: Style<'_>,
    depth: usize,
    path: &mut Vec<usize>,
) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i, _) => {
            let _ = write!(out, "{i}");
        }
        Value::Uint(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(f) => out.push_str(&format_float(*f)?),
        Value::String(s) => write_string(out, s, style.escape_html),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style.indent, depth + 1);
                encode(out, item, style, depth + 1, path)?;
            }
            if !items.is_empty() {
                newline(out, style.indent, depth);
            }
            out.push(']');
        }
        Value::Map(m) => {
            if path.contains(&m.addr()) {
                return Err(format!(
                    "json: unsupported value: encountered a cycle via {}",
                    v.type_name()
                ));
            }
            path.push(m.addr());
            let entries = m.entries();
            encode_entries(
                out,
                entries.iter().map(|(k, v)| (k.as_str(), v.clone())),
                style,
                depth,
                path,
            )?;
            path.pop();
        }
        Value::Object(o) => {
            if o.is_nil() {
                out.push_str("null");
            } else if !o.is_map() {
                match o.json_form() {
                    Some(JsonForm::Value(v)) => encode(out, &v, style, depth, path)?,
                    Some(JsonForm::Fields(fields)) => encode_entries(
                        out,
                        fields.iter().map(|(k, v)| (k.as_str(), v.clone())),
                        style,
                        depth,
                        path,
                    )?,
                    None => out.push_str("null"),
                }
            } else {
                let mut keys = o.keys();
                keys.sort();
                let entries: Vec<(String, Value)> = keys
                    .into_iter()
                    .map(|k| {
                        let v = o.field(&k).unwrap_or_default();
                        (k, v)
                    })
                    .collect();
                encode_entries(
                    out,
                    entries.iter().map(|(k, v)| (k.as_str(), v.clone())),
                    style,
                    depth,
                    path,
                )?;
            }
        }
        Value::Func(f) => return Err(format!("json: unsupported type: {}", f.type_name())),
    }
    Ok(())
}

// ---- syntax check (Go's scanner) -----------------------------------------------------------

fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        _ => {
            let q = helmrelease_gotmpl::strconv::quote(&char::from(c).to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    BeginValueOrEmpty,
    BeginValue,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    InStringEscU(u8),
    Neg,
    One,
    Zero,
    Dot,
    Dot0,
    E,
    ESign,
    E0,
    Lit(&'static [u8], usize, &'static str),
    Error,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Parse {
    ObjectKey,
    ObjectValue,
    ArrayValue,
}

struct JsonScanner {
    step: Step,
    parse: Vec<Parse>,
    end_top: bool,
    err: Option<String>,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

impl JsonScanner {
    fn error(&mut self, c: u8, context: &str) {
        self.step = Step::Error;
        self.err = Some(format!("invalid character {} {}", quote_char(c), context));
    }

    fn push(&mut self, c: u8, p: Parse) {
        self.parse.push(p);
        if self.parse.len() > 10000 {
            self.error(c, "exceeded max depth");
        }
    }

    fn pop(&mut self) {
        self.parse.pop();
        if self.parse.is_empty() {
            self.step = Step::EndTop;
            self.end_top = true;
        } else {
            self.step = Step::EndValue;
        }
    }

    fn begin_value(&mut self, c: u8) {
        if is_space(c) {
            return;
        }
        match c {
            b'{' => {
                self.step = Step::BeginStringOrEmpty;
                self.push(c, Parse::ObjectKey);
            }
            b'[' => {
                self.step = Step::BeginValueOrEmpty;
                self.push(c, Parse::ArrayValue);
            }
            b'"' => self.step = Step::InString,
            b'-' => self.step = Step::Neg,
            b'0' => self.step = Step::Zero,
            b't' => self.step = Step::Lit(b"rue", 0, "true"),
            b'f' => self.step = Step::Lit(b"alse", 0, "false"),
            b'n' => self.step = Step::Lit(b"ull", 0, "null"),
            b'1'..=b'9' => self.step = Step::One,
            _ => self.error(c, "looking for beginning of value"),
        }
    }

    fn end_value(&mut self, c: u8) {
        let Some(&ps) = self.parse.last() else {
            self.step = Step::EndTop;
            self.end_top = true;
            self.end_top_step(c);
            return;
        };
        if is_space(c) {
            self.step = Step::EndValue;
            return;
        }
        match ps {
            Parse::ObjectKey => {
                if c == b':' {
                    if let Some(last) = self.parse.last_mut() {
                        *last = Parse::ObjectValue;
                    }
                    self.step = Step::BeginValue;
                } else {
                    self.error(c, "after object key");
                }
            }
            Parse::ObjectValue => {
                if c == b',' {
                    if let Some(last) = self.parse.last_mut() {
                        *last = Parse::ObjectKey;
                    }
                    self.step = Step::BeginString;
                } else if c == b'}' {
                    self.pop();
                } else {
                    self.error(c, "after object key:value pair");
                }
            }
            Parse::ArrayValue => {
                if c == b',' {
                    self.step = Step::BeginValue;
                } else if c == b']' {
                    self.pop();
                } else {
                    self.error(c, "after array element");
                }
            }
        }
    }

    fn end_top_step(&mut self, c: u8) {
        if !is_space(c) {
            self.error(c, "after top-level value");
        }
    }

    fn feed(&mut self, c: u8) {
        match self.step {
            Step::Error => {}
            Step::BeginValueOrEmpty => {
                if is_space(c) {
                } else if c == b']' {
                    self.end_value(c);
                } else {
                    self.begin_value(c);
                }
            }
            Step::BeginValue => self.begin_value(c),
            Step::BeginStringOrEmpty => {
                if is_space(c) {
                } else if c == b'}' {
                    if let Some(last) = self.parse.last_mut() {
                        *last = Parse::ObjectValue;
                    }
                    self.end_value(c);
                } else {
                    self.begin_string(c);
                }
            }
            Step::BeginString => self.begin_string(c),
            Step::EndValue => self.end_value(c),
            Step::EndTop => self.end_top_step(c),
            Step::InString => {
                if c == b'"' {
                    self.step = Step::EndValue;
                } else if c == b'\\' {
                    self.step = Step::InStringEsc;
                } else if c < 0x20 {
                    self.error(c, "in string literal");
                }
            }
            Step::InStringEsc => match c {
                b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => {
                    self.step = Step::InString
                }
                b'u' => self.step = Step::InStringEscU(0),
                _ => self.error(c, "in string escape code"),
            },
            Step::InStringEscU(n) => {
                if c.is_ascii_hexdigit() {
                    self.step = if n == 3 {
                        Step::InString
                    } else {
                        Step::InStringEscU(n + 1)
                    };
                } else {
                    self.error(c, "in \\u hexadecimal character escape");
                }
            }
            Step::Neg => match c {
                b'0' => self.step = Step::Zero,
                b'1'..=b'9' => self.step = Step::One,
                _ => self.error(c, "in numeric literal"),
            },
            Step::One => {
                if c.is_ascii_digit() {
                } else {
                    self.zero(c);
                }
            }
            Step::Zero => self.zero(c),
            Step::Dot => {
                if c.is_ascii_digit() {
                    self.step = Step::Dot0;
                } else {
                    self.error(c, "after decimal point in numeric literal");
                }
            }
            Step::Dot0 => {
                if c.is_ascii_digit() {
                } else if c == b'e' || c == b'E' {
                    self.step = Step::E;
                } else {
                    self.end_value(c);
                }
            }
            Step::E => {
                if c == b'+' || c == b'-' {
                    self.step = Step::ESign;
                } else {
                    self.e_sign(c);
                }
            }
            Step::ESign => self.e_sign(c),
            Step::E0 => {
                if !c.is_ascii_digit() {
                    self.end_value(c);
                }
            }
            Step::Lit(rest, i, name) => {
                if rest.get(i) == Some(&c) {
                    self.step = if i + 1 == rest.len() {
                        Step::EndValue
                    } else {
                        Step::Lit(rest, i + 1, name)
                    };
                } else {
                    let want = rest.get(i).copied().unwrap_or(b'?') as char;
                    self.error(c, &format!("in literal {name} (expecting '{want}')"));
                }
            }
        }
    }

    fn begin_string(&mut self, c: u8) {
        if is_space(c) {
            return;
        }
        if c == b'"' {
            self.step = Step::InString;
        } else {
            self.error(c, "looking for beginning of object key string");
        }
    }

    fn zero(&mut self, c: u8) {
        if c == b'.' {
            self.step = Step::Dot;
        } else if c == b'e' || c == b'E' {
            self.step = Step::E;
        } else {
            self.end_value(c);
        }
    }

    fn e_sign(&mut self, c: u8) {
        if c.is_ascii_digit() {
            self.step = Step::E0;
        } else {
            self.error(c, "in exponent of numeric literal");
        }
    }
}

/// Go's `checkValid`: the first syntax error, worded as Go words it.
pub(crate) fn check_valid(data: &[u8]) -> Result<(), String> {
    let mut s = JsonScanner {
        step: Step::BeginValue,
        parse: Vec::new(),
        end_top: false,
        err: None,
    };
    for &c in data {
        s.feed(c);
        if let Some(e) = s.err.take() {
            return Err(e);
        }
    }
    if s.end_top {
        return Ok(());
    }
    s.feed(b' ');
    if let Some(e) = s.err.take() {
        return Err(e);
    }
    if s.end_top {
        return Ok(());
    }
    Err("unexpected end of JSON input".to_string())
}

// ---- decoding ------------------------------------------------------------------------------

/// What Go value `Unmarshal` decodes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// `interface{}`.
    Any,
    /// A map with string keys and `interface{}` values, named as `%T` prints it.
    Map(&'static str),
    /// A slice of `interface{}`, named as `%T` prints it.
    List(&'static str),
}

/// The result of `Unmarshal`: the value (possibly partial) and the first error.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub value: Value,
    pub error: Option<String>,
}

struct JsonDecoder<'a> {
    data: &'a [u8],
    pos: usize,
    error: Option<String>,
}

impl JsonDecoder<'_> {
    fn save_error(&mut self, e: String) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.data.len() && is_space(self.data[self.pos]) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> u8 {
        self.data.get(self.pos).copied().unwrap_or(0)
    }

    fn value(&mut self) -> Value {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.value_inner())
    }

    fn value_inner(&mut self) -> Value {
        self.skip_ws();
        match self.peek() {
            b'{' => {
                self.pos += 1;
                let mut map = BTreeMap::new();
                loop {
                    self.skip_ws();
                    if self.peek() == b'}' {
                        self.pos += 1;
                        break;
                    }
                    let key = self.string();
                    self.skip_ws();
                    self.pos += 1; // ':'
                    let v = self.value();
                    map.insert(key, v);
                    self.skip_ws();
                    if self.peek() == b',' {
                        self.pos += 1;
                    }
                }
                Value::Map(Map::from(map))
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == b']' {
                        self.pos += 1;
                        break;
                    }
                    items.push(self.value());
                    self.skip_ws();
                    if self.peek() == b',' {
                        self.pos += 1;
                    }
                }
                Value::List(Rc::new(items))
            }
            b'"' => Value::string(self.string()),
            b't' => {
                self.pos += 4;
                Value::Bool(true)
            }
            b'f' => {
                self.pos += 5;
                Value::Bool(false)
            }
            b'n' => {
                self.pos += 4;
                Value::Nil
            }
            _ => {
                let start = self.pos;
                while self.pos < self.data.len()
                    && matches!(
                        self.data[self.pos],
                        b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
                    )
                {
                    self.pos += 1;
                }
                let text = std::str::from_utf8(&self.data[start..self.pos]).unwrap_or("0");
                match text.parse::<f64>() {
                    Ok(f) if f.is_finite() => Value::Float(f),
                    _ => {
                        self.save_error(format!(
                            "json: cannot unmarshal number {text} into Go value of type float64"
                        ));
                        Value::Nil
                    }
                }
            }
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        if self.data.get(at) != Some(&b'\\') || self.data.get(at + 1) != Some(&b'u') {
            return None;
        }
        let digits = self.data.get(at + 2..at + 6)?;
        let s = std::str::from_utf8(digits).ok()?;
        u32::from_str_radix(s, 16).ok()
    }

    /// A string literal (the input is already known to be valid JSON).
    fn string(&mut self) -> String {
        self.pos += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        while self.pos < self.data.len() {
            let c = self.data[self.pos];
            match c {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    let e = self.data.get(self.pos + 1).copied().unwrap_or(b'"');
                    let simple = match e {
                        b'b' => Some(8u8),
                        b'f' => Some(12),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'"' => Some(b'"'),
                        _ => None,
                    };
                    if let Some(b) = simple {
                        out.push(b);
                        self.pos += 2;
                        continue;
                    }
                    let Some(r) = self.hex4(self.pos) else {
                        self.pos += 2;
                        continue;
                    };
                    self.pos += 6;
                    let mut ch = char::from_u32(r);
                    if (0xD800..0xE000).contains(&r) {
                        ch = None;
                        if (0xD800..0xDC00).contains(&r)
                            && let Some(r2) = self.hex4(self.pos)
                            && (0xDC00..0xE000).contains(&r2)
                        {
                            ch = char::from_u32(0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00));
                            self.pos += 6;
                        }
                    }
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(
                        ch.unwrap_or('\u{fffd}').encode_utf8(&mut buf).as_bytes(),
                    );
                }
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        super::decode::go_lossy_utf8(&out)
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        Value::List(_) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    }
}

/// `json.Unmarshal(data, &target)`: syntax errors first (nothing decoded), then the value
/// with type errors recorded as Go records them (the first one wins).
pub(crate) fn unmarshal(data: &str, target: Target) -> Decoded {
    if let Err(e) = check_valid(data.as_bytes()) {
        return Decoded {
            value: Value::Nil,
            error: Some(e),
        };
    }
    let mut d = JsonDecoder {
        data: data.as_bytes(),
        pos: 0,
        error: None,
    };
    d.skip_ws();
    let is_null = d.peek() == b'n';
    let first = d.peek();
    let value = d.value();
    let mut error = d.error;
    let value = match target {
        Target::Any => value,
        Target::Map(type_name) => match value {
            Value::Map(_) => value,
            Value::Nil if is_null => value,
            other => {
                // A number that failed to convert is still a number to the type check.
                let kind = if first == b'-' || first.is_ascii_digit() {
                    "number"
                } else {
                    kind_name(&other)
                };
                error = Some(format!(
                    "json: cannot unmarshal {kind} into Go value of type {type_name}"
                ));
                super::dispose(other);
                Value::Nil
            }
        },
        Target::List(type_name) => match value {
            Value::List(_) => value,
            Value::Nil if is_null => value,
            other => {
                let kind = if first == b'-' || first.is_ascii_digit() {
                    "number"
                } else {
                    kind_name(&other)
                };
                error = Some(format!(
                    "json: cannot unmarshal {kind} into Go value of type {type_name}"
                ));
                super::dispose(other);
                Value::Nil
            }
        },
    };
    Decoded { value, error }
}
