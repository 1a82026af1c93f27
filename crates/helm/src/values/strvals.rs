//! Helm's `--set` family parser (`pkg/strvals`): `name=value` pairs separated by commas,
//! dotted names for maps, `[i]` indexes for lists, `{a,b}` list values, `\` escapes; with
//! typed values (`--set`), strings (`--set-string`), JSON (`--set-json`), file contents
//! (`--set-file`) or the literal rest of the line (`--set-literal`). Errors carry Helm's
//! wording, including the ones Go produces when a type assertion panics and Helm recovers
//! (`unable to parse key: interface conversion: ...`).

use helmrelease_gotmpl::{IntType, Value};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Largest list index accepted (`MaxIndex`).
pub const MAX_INDEX: i64 = 65536;
/// Deepest dotted name accepted (`MaxNestedNameLevel`).
pub const MAX_NESTED_NAME_LEVEL: usize = 30;
/// Deepest `[i][j]...` list nesting accepted (not a Helm limit; keeps the stack bounded).
pub const MAX_NESTED_LIST_LEVEL: usize = 100;

/// A mutable value under construction.
#[derive(Debug, Clone)]
enum Sv {
    Map(BTreeMap<String, Sv>),
    List(Vec<Sv>),
    Val(Value),
}

impl Sv {
    fn from_value(v: &Value) -> Sv {
        match v {
            Value::Map(m) => Sv::Map(
                m.entries()
                    .into_iter()
                    .map(|(k, v)| (k, Sv::from_value(&v)))
                    .collect(),
            ),
            Value::List(l) => Sv::List(l.iter().map(Sv::from_value).collect()),
            other => Sv::Val(other.clone()),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Sv::Map(m) => Value::map(m.into_iter().map(|(k, v)| (k, v.into_value()))),
            Sv::List(l) => Value::List(Rc::new(l.into_iter().map(Sv::into_value).collect())),
            Sv::Val(v) => v,
        }
    }

    /// The Go dynamic type, as a failed type assertion names it.
    fn go_type(&self) -> String {
        match self {
            Sv::Map(_) => "map[string]interface {}".into(),
            Sv::List(_) => "[]interface {}".into(),
            Sv::Val(Value::Nil) => "nil".into(),
            Sv::Val(v) => v.type_name(),
        }
    }

    fn is_nil(&self) -> bool {
        matches!(self, Sv::Val(Value::Nil))
    }
}

/// A parse error; `eof` marks Go's `io.EOF` (which ends parsing without an error, even
/// when wrapped).
#[derive(Debug)]
struct PErr {
    msg: String,
    eof: bool,
}

impl PErr {
    fn eof() -> PErr {
        PErr {
            msg: "EOF".into(),
            eof: true,
        }
    }
    fn msg(m: impl Into<String>) -> PErr {
        PErr {
            msg: m.into(),
            eof: false,
        }
    }
    /// `fmt.Errorf("...: %w", err)`.
    fn wrap(self, prefix: &str) -> PErr {
        PErr {
            msg: format!("{prefix}: {}", self.msg),
            eof: self.eof,
        }
    }
}

fn assertion(got: &Sv, want: &str) -> PErr {
    PErr::msg(format!(
        "unable to parse key: interface conversion: interface {{}} is {}, not {want}",
        got.go_type()
    ))
}

/// How values are read.
enum Mode<'r> {
    /// `--set` (typed) or `--set-string` (strings).
    Typed { strings: bool },
    /// `--set-json`.
    Json,
    /// `--set-file`: the value is a path; the reader gives the content.
    File(&'r mut dyn FnMut(&str) -> Result<Value, String>),
}

struct Parser<'s, 'r> {
    chars: Vec<char>,
    pos: usize,
    src: &'s str,
    mode: Mode<'r>,
}

fn quote(s: &str) -> String {
    helmrelease_gotmpl::strconv::quote(s)
}

/// `strings.EqualFold` against an ASCII word (Go folds `ſ` with `s` too).
fn equal_fold(s: &str, word: &str) -> bool {
    let mut a = s.chars();
    let mut b = word.chars();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) => {
                let same = x.eq_ignore_ascii_case(&y) || (x == 'ſ' && y == 's');
                if !same {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// `typedVal`: `true`/`false`/`null` in any case, `0`, and integers not starting with `0`
/// become bools, nil and `int64`s; everything else stays a string.
fn typed_val(s: &str, strings: bool) -> Value {
    if strings {
        return Value::string(s);
    }
    if equal_fold(s, "true") {
        return Value::Bool(true);
    }
    if equal_fold(s, "false") {
        return Value::Bool(false);
    }
    if equal_fold(s, "null") {
        return Value::Nil;
    }
    if s == "0" {
        return Value::Int(0, IntType::Int64);
    }
    if !s.is_empty()
        && !s.starts_with('0')
        && let Ok(i) = s.parse::<i64>()
    {
        return Value::Int(i, IntType::Int64);
    }
    Value::string(s)
}

/// `strconv.Atoi` with Go's error text.
fn atoi(s: &str) -> Result<i64, PErr> {
    s.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        PErr::msg(format!("strconv.Atoi: parsing {}: {why}", quote(s)))
    })
}

fn set(data: &mut BTreeMap<String, Sv>, key: &str, val: Sv) {
    if !key.is_empty() {
        data.insert(key.to_string(), val);
    }
}

fn set_index(mut list: Vec<Sv>, index: i64, val: Sv) -> (Vec<Sv>, Result<(), PErr>) {
    if index < 0 {
        return (
            list,
            Err(PErr::msg(format!("negative {index} index not allowed"))),
        );
    }
    if index > MAX_INDEX {
        return (
            list,
            Err(PErr::msg(format!(
                "index of {index} is greater than maximum supported index of {MAX_INDEX}"
            ))),
        );
    }
    let i = index as usize;
    if list.len() <= i {
        list.resize(i + 1, Sv::Val(Value::Nil));
    }
    list[i] = val;
    (list, Ok(()))
}

impl Parser<'_, '_> {
    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    /// `runesUntil`: characters up to a stop character (`\` escapes the next one).
    fn runes_until(&mut self, stop: &[char]) -> (String, Option<char>, bool) {
        let mut v = String::new();
        loop {
            match self.read() {
                None => return (v, None, true),
                Some(c) if stop.contains(&c) => return (v, Some(c), false),
                Some('\\') => match self.read() {
                    None => return (v, None, true),
                    Some(n) => v.push(n),
                },
                Some(c) => v.push(c),
            }
        }
    }

    fn parse(&mut self, data: &mut BTreeMap<String, Sv>) -> Result<(), String> {
        loop {
            match self.key(data, 0) {
                Ok(()) => continue,
                Err(e) if e.eof => return Ok(()),
                Err(e) => return Err(e.msg),
            }
        }
    }

    fn reader(&mut self, rs: &str) -> Result<Sv, PErr> {
        match &mut self.mode {
            Mode::Typed { strings } => Ok(Sv::Val(typed_val(rs, *strings))),
            Mode::File(f) => f(rs).map(|v| Sv::from_value(&v)).map_err(PErr::msg),
            Mode::Json => Ok(Sv::Val(Value::string(rs))),
        }
    }

    fn key(&mut self, data: &mut BTreeMap<String, Sv>, nested: usize) -> Result<(), PErr> {
        let (k, last, eof) = self.runes_until(&['=', '[', ',', '.']);
        if eof {
            if k.is_empty() {
                return Err(PErr::eof());
            }
            return Err(PErr::msg(format!("key {} has no value", quote(&k))));
        }
        match last {
            Some('[') => {
                let i = self
                    .key_index()
                    .map_err(|e| e.wrap("error parsing index"))?;
                let list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Sv::List(l)) => l.clone(),
                    Some(other) => return Err(assertion(other, "[]interface {}")),
                };
                let (list, res) = self.list_item(list, i, nested, 0)?;
                set(data, &k, Sv::List(list));
                res
            }
            Some('=') => {
                if matches!(self.mode, Mode::Json) {
                    if self.empty_val() {
                        set(data, &k, Sv::Val(Value::Nil));
                        return Ok(());
                    }
                    let v = self.json_value()?;
                    set(data, &k, v);
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    Ok(vl) => {
                        set(data, &k, Sv::List(vl));
                        Ok(())
                    }
                    Err(ListErr::Eof) => {
                        set(data, &k, Sv::Val(Value::string("")));
                        Err(PErr::eof())
                    }
                    Err(ListErr::NotList) => {
                        let rs = self.val();
                        let v = self.reader(&rs);
                        match v {
                            Ok(v) => {
                                set(data, &k, v);
                                Ok(())
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Err(ListErr::Other(e)) => Err(e),
                }
            }
            Some(',') => {
                set(data, &k, Sv::Val(Value::string("")));
                Err(PErr::msg(format!(
                    "key {} has no value (cannot end with ,)",
                    quote(&k)
                )))
            }
            _ => {
                // '.'
                let nested = nested + 1;
                if nested > MAX_NESTED_NAME_LEVEL {
                    return Err(PErr::msg(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let mut inner = match data.get(&k) {
                    None => BTreeMap::new(),
                    Some(Sv::Map(m)) => m.clone(),
                    Some(other) => return Err(assertion(other, "map[string]interface {}")),
                };
                let e = self.key(&mut inner, nested);
                if e.is_ok() && inner.is_empty() {
                    return Err(PErr::msg(format!("key map {} has no value", quote(&k))));
                }
                if !inner.is_empty() {
                    set(data, &k, Sv::Map(inner));
                }
                e
            }
        }
    }

    fn key_index(&mut self) -> Result<i64, PErr> {
        let (v, _, eof) = self.runes_until(&[']']);
        if eof {
            return Err(PErr::eof());
        }
        atoi(&v)
    }

    /// Returns the list and the error to report after storing it (Helm stores the list
    /// even when parsing what follows the index fails); `Err` is for errors that leave the
    /// list alone.
    fn list_item(
        &mut self,
        list: Vec<Sv>,
        i: i64,
        nested: usize,
        depth: usize,
    ) -> Result<(Vec<Sv>, Result<(), PErr>), PErr> {
        if i < 0 {
            return Ok((
                list,
                Err(PErr::msg(format!("negative {i} index not allowed"))),
            ));
        }
        if depth > MAX_NESTED_LIST_LEVEL {
            return Ok((
                list,
                Err(PErr::msg(format!(
                    "list nested level is greater than maximum supported nested level of {MAX_NESTED_LIST_LEVEL}"
                ))),
            ));
        }
        let (k, last, eof) = self.runes_until(&['[', '.', '=']);
        if !k.is_empty() {
            return Ok((
                list,
                Err(PErr::msg(format!(
                    "unexpected data at end of array index: {}",
                    quote(&k)
                ))),
            ));
        }
        if eof {
            return Ok((list, Err(PErr::eof())));
        }
        match last {
            Some('=') => {
                if matches!(self.mode, Mode::Json) {
                    if self.empty_val() {
                        return Ok(set_index(list, i, Sv::Val(Value::Nil)));
                    }
                    let v = match self.json_value() {
                        Ok(v) => v,
                        Err(e) => return Ok((list, Err(e))),
                    };
                    let (list, res) = set_index(list, i, v);
                    if res.is_err() {
                        return Ok((list, res));
                    }
                    self.empty_val();
                    return Ok((list, Ok(())));
                }
                match self.val_list() {
                    Ok(vl) => Ok(set_index(list, i, Sv::List(vl))),
                    Err(ListErr::Eof) => Ok(set_index(list, i, Sv::Val(Value::string("")))),
                    Err(ListErr::NotList) => {
                        let rs = self.val();
                        match self.reader(&rs) {
                            Ok(v) => Ok(set_index(list, i, v)),
                            Err(e) => Ok((list, Err(e))),
                        }
                    }
                    Err(ListErr::Other(e)) => Ok((list, Err(e))),
                }
            }
            Some('[') => {
                let next_i = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return Ok((list, Err(e.wrap("error parsing index")))),
                };
                let mut crt = Vec::new();
                if let Some(existed) = list.get(i as usize) {
                    match existed {
                        Sv::List(l) => crt = l.clone(),
                        e if e.is_nil() => {}
                        other => return Err(assertion(other, "[]interface {}")),
                    }
                }
                let (list2, res) = self.list_item(crt, next_i, nested, depth + 1)?;
                if res.is_err() {
                    return Ok((list, res));
                }
                Ok(set_index(list, i, Sv::List(list2)))
            }
            _ => {
                // '.'
                let mut list = list;
                let mut inner = BTreeMap::new();
                if let Some(existing) = list.get_mut(i as usize) {
                    match existing {
                        Sv::Map(m) => inner = m.clone(),
                        other => *other = Sv::Map(BTreeMap::new()),
                    }
                }
                if let Err(e) = self.key(&mut inner, nested) {
                    // In Go the element is that very map: what was set before the error stays.
                    if let Some(slot) = list.get_mut(i as usize) {
                        *slot = Sv::Map(inner);
                    }
                    return Ok((list, Err(e)));
                }
                Ok(set_index(list, i, Sv::Map(inner)))
            }
        }
    }

    /// `emptyVal`: skips spaces; true at a comma (consumed) or the end.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.read() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => {}
                Some(_) => {
                    self.unread();
                    return false;
                }
            }
        }
    }

    /// One JSON value from the rest of the input (Go's `json.Decoder`).
    fn json_value(&mut self) -> Result<Sv, PErr> {
        let byte_pos: usize = self.chars[..self.pos].iter().map(|c| c.len_utf8()).sum();
        let rest = &self.src[byte_pos.min(self.src.len())..];
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
        match stream.next() {
            Some(Ok(v)) => {
                let used = stream.byte_offset();
                let consumed = rest[..used.min(rest.len())].chars().count();
                self.pos += consumed;
                Ok(Sv::from_value(&Value::from_json(&v)))
            }
            Some(Err(e)) => Err(PErr::msg(e.to_string())),
            None => Err(PErr::eof()),
        }
    }

    fn val(&mut self) -> String {
        self.runes_until(&[',']).0
    }

    fn val_list(&mut self) -> Result<Vec<Sv>, ListErr> {
        match self.read() {
            None => return Err(ListErr::Eof),
            Some('{') => {}
            Some(_) => {
                self.unread();
                return Err(ListErr::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (rs, last, eof) = self.runes_until(&[',', '}']);
            if eof {
                return Err(ListErr::Other(PErr::msg("list must terminate with '}'")));
            }
            if last == Some('}') {
                if let Some(c) = self.read()
                    && c != ','
                {
                    self.unread();
                }
                let v = self.reader(&rs).map_err(ListErr::Other)?;
                list.push(v);
                return Ok(list);
            }
            let v = self.reader(&rs).map_err(ListErr::Other)?;
            list.push(v);
        }
    }
}

enum ListErr {
    Eof,
    NotList,
    Other(PErr),
}

fn run(s: &str, dest: &Value, mode: Mode<'_>) -> Result<Value, String> {
    let mut data = match Sv::from_value(dest) {
        Sv::Map(m) => m,
        _ => BTreeMap::new(),
    };
    let mut p = Parser {
        chars: s.chars().collect(),
        pos: 0,
        src: s,
        mode,
    };
    p.parse(&mut data)?;
    Ok(Sv::Map(data).into_value())
}

/// `strvals.ParseInto` (`--set`): parses `s` into a copy of `dest` (a map).
pub fn parse_into(s: &str, dest: &Value) -> Result<Value, String> {
    run(s, dest, Mode::Typed { strings: false })
}

/// `strvals.Parse`: parses `s` into a new map.
pub fn parse(s: &str) -> Result<Value, String> {
    parse_into(s, &Value::Nil)
}

/// `strvals.ParseIntoString` (`--set-string`): every value a string.
pub fn parse_into_string(s: &str, dest: &Value) -> Result<Value, String> {
    run(s, dest, Mode::Typed { strings: true })
}

/// `strvals.ParseJSON` (`--set-json`): values are JSON (an empty value is null).
pub fn parse_json(s: &str, dest: &Value) -> Result<Value, String> {
    run(s, dest, Mode::Json)
}

/// `strvals.ParseIntoFile` (`--set-file`): each value is a path whose content `reader`
/// returns.
pub fn parse_into_file(
    s: &str,
    dest: &Value,
    reader: &mut dyn FnMut(&str) -> Result<Value, String>,
) -> Result<Value, String> {
    run(s, dest, Mode::File(reader))
}

/// `strvals.ParseLiteralInto` (`--set-literal`): the value is the rest of the line, as is.
pub fn parse_literal_into(s: &str, dest: &Value) -> Result<Value, String> {
    let mut data = match Sv::from_value(dest) {
        Sv::Map(m) => m,
        _ => BTreeMap::new(),
    };
    let mut p = Literal {
        chars: s.chars().collect(),
        pos: 0,
    };
    loop {
        match p.key(&mut data, 0, 0) {
            Ok(()) => continue,
            Err(e) if e.eof => break,
            Err(e) => return Err(e.msg),
        }
    }
    Ok(Sv::Map(data).into_value())
}

struct Literal {
    chars: Vec<char>,
    pos: usize,
}

impl Literal {
    fn until(&mut self, stop: &[char]) -> (String, Option<char>, bool) {
        let mut v = String::new();
        while let Some(&c) = self.chars.get(self.pos) {
            self.pos += 1;
            if stop.contains(&c) {
                return (v, Some(c), false);
            }
            v.push(c);
        }
        (v, None, true)
    }

    fn key(
        &mut self,
        data: &mut BTreeMap<String, Sv>,
        nested: usize,
        depth: usize,
    ) -> Result<(), PErr> {
        let (key, last, eof) = self.until(&['=', '[', '.']);
        if eof {
            if key.is_empty() {
                return Err(PErr::eof());
            }
            return Err(PErr::msg(format!("key {} has no value", quote(&key))));
        }
        match last {
            Some('=') => {
                let (value, _, _) = self.until(&[]);
                set(data, &key, Sv::Val(Value::string(value)));
                Ok(())
            }
            Some('.') => {
                let nested = nested + 1;
                if nested > MAX_NESTED_NAME_LEVEL {
                    return Err(PErr::msg(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let mut inner = match data.get(&key) {
                    None => BTreeMap::new(),
                    Some(Sv::Map(m)) => m.clone(),
                    Some(other) => return Err(assertion(other, "map[string]interface {}")),
                };
                let e = self.key(&mut inner, nested, depth);
                if e.is_ok() && inner.is_empty() {
                    return Err(PErr::msg(format!("key map {} has no value", quote(&key))));
                }
                if !inner.is_empty() {
                    set(data, &key, Sv::Map(inner));
                }
                e
            }
            _ => {
                let i = self
                    .key_index()
                    .map_err(|e| e.wrap("error parsing index"))?;
                let list = match data.get(&key) {
                    None => Vec::new(),
                    Some(Sv::List(l)) => l.clone(),
                    Some(other) => return Err(assertion(other, "[]interface {}")),
                };
                let (list, res) = self.list_item(list, i, nested, depth)?;
                set(data, &key, Sv::List(list));
                res
            }
        }
    }

    fn key_index(&mut self) -> Result<i64, PErr> {
        let (v, _, eof) = self.until(&[']']);
        if eof {
            return Err(PErr::eof());
        }
        atoi(&v)
    }

    fn list_item(
        &mut self,
        list: Vec<Sv>,
        i: i64,
        nested: usize,
        depth: usize,
    ) -> Result<(Vec<Sv>, Result<(), PErr>), PErr> {
        if i < 0 {
            return Ok((
                list,
                Err(PErr::msg(format!("negative {i} index not allowed"))),
            ));
        }
        if depth > MAX_NESTED_LIST_LEVEL {
            return Ok((
                list,
                Err(PErr::msg(format!(
                    "list nested level is greater than maximum supported nested level of {MAX_NESTED_LIST_LEVEL}"
                ))),
            ));
        }
        let (key, last, eof) = self.until(&['[', '.', '=']);
        if !key.is_empty() {
            return Ok((
                list,
                Err(PErr::msg(format!(
                    "unexpected data at end of array index: {}",
                    quote(&key)
                ))),
            ));
        }
        if eof {
            return Ok((list, Err(PErr::eof())));
        }
        match last {
            Some('=') => {
                let (value, _, _) = self.until(&[]);
                Ok(set_index(list, i, Sv::Val(Value::string(value))))
            }
            Some('.') => {
                let mut list = list;
                let mut inner = BTreeMap::new();
                if let Some(existing) = list.get_mut(i as usize) {
                    match existing {
                        Sv::Map(m) => inner = m.clone(),
                        other => *other = Sv::Map(BTreeMap::new()),
                    }
                }
                if let Err(e) = self.key(&mut inner, nested, depth) {
                    if let Some(slot) = list.get_mut(i as usize) {
                        *slot = Sv::Map(inner);
                    }
                    return Ok((list, Err(e)));
                }
                Ok(set_index(list, i, Sv::Map(inner)))
            }
            _ => {
                let next_i = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return Ok((list, Err(e.wrap("error parsing index")))),
                };
                let mut crt = Vec::new();
                if let Some(existed) = list.get(i as usize) {
                    match existed {
                        Sv::List(l) => crt = l.clone(),
                        e if e.is_nil() => {}
                        other => return Err(assertion(other, "[]interface {}")),
                    }
                }
                let (list2, res) = self.list_item(crt, next_i, nested, depth + 1)?;
                if res.is_err() {
                    return Ok((list, res));
                }
                Ok(set_index(list, i, Sv::List(list2)))
            }
        }
    }
}
