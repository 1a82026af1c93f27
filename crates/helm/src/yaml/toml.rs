//! BurntSushi/toml's `Encoder` (v1.2) for template values: plain keys first, then tables;
//! keys sorted; nested tables indented two spaces per level; arrays of maps as `[[key]]`;
//! floats in Go's shortest 'f' format with a `.0` added when there is no point.

use std::fmt::Write as _;

use helmrelease_gotmpl::Value;

const ERR_NIL_ELEMENT: &str = "toml: cannot encode array with nil element";
const ERR_NO_KEY: &str = "toml: top-level values must be Go maps or structs";
const ERR_CYCLE: &str = "toml: unsupported value: encountered a cycle via map[string]interface {}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TomlType {
    Nil,
    Scalar,
    Array,
    Hash,
    ArrayHash,
}

/// A value with Go's interface and pointer indirections removed: `None` for nil.
fn entries(v: &Value) -> Option<Vec<(String, Value)>> {
    match v {
        Value::Map(m) => Some(m.entries()),
        Value::Object(o) if o.is_map() && !o.is_nil() => {
            let mut keys = o.keys();
            keys.sort();
            Some(
                keys.into_iter()
                    .map(|k| {
                        let v = o.field(&k).unwrap_or_default();
                        (k, v)
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

fn is_nil(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Object(o) => o.is_nil() || !o.is_map(),
        _ => false,
    }
}

fn toml_type(v: &Value) -> Result<TomlType, String> {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || toml_type_inner(v))
}

fn toml_type_inner(v: &Value) -> Result<TomlType, String> {
    if is_nil(v) {
        return Ok(TomlType::Nil);
    }
    Ok(match v {
        Value::Bool(_) | Value::Int(..) | Value::Uint(_) | Value::Float(_) | Value::String(_) => {
            TomlType::Scalar
        }
        Value::List(items) => {
            if items.is_empty() {
                TomlType::Array
            } else {
                let mut all_hash = true;
                for item in items.iter() {
                    let t = toml_type(item)?;
                    if t == TomlType::Nil {
                        return Err(ERR_NIL_ELEMENT.to_string());
                    }
                    if t != TomlType::Hash {
                        all_hash = false;
                    }
                }
                if all_hash {
                    TomlType::ArrayHash
                } else {
                    TomlType::Array
                }
            }
        }
        Value::Func(_) => return Err("unsupported type: func".to_string()),
        _ => TomlType::Hash,
    })
}

fn is_table(t: TomlType) -> bool {
    t == TomlType::Hash || t == TomlType::ArrayHash
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn maybe_quoted(k: &str) -> String {
    if k.is_empty() {
        return "\"\"".to_string();
    }
    if k.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        quote(k)
    }
}

struct Encoder {
    out: String,
}

impl Encoder {
    fn wf(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn newline(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn indent(key: &[String]) -> String {
        "  ".repeat(key.len().saturating_sub(1))
    }

    fn key_string(key: &[String]) -> String {
        key.iter()
            .map(|k| maybe_quoted(k))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn encode(&mut self, key: &[String], v: &Value) -> Result<(), String> {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.encode_inner(key, v))
    }

    fn encode_inner(&mut self, key: &[String], v: &Value) -> Result<(), String> {
        if is_nil(v) {
            return Ok(());
        }
        match v {
            Value::List(items) => {
                if toml_type(v)? == TomlType::ArrayHash {
                    if key.is_empty() {
                        return Err(ERR_NO_KEY.to_string());
                    }
                    for item in items.iter() {
                        if is_nil(item) {
                            continue;
                        }
                        self.newline();
                        let line = format!("{}[[{}]]", Self::indent(key), Self::key_string(key));
                        self.wf(&line);
                        self.newline();
                        self.table_body(key, item, false)?;
                    }
                    Ok(())
                } else {
                    self.write_key_value(key, v, false)
                }
            }
            Value::Map(_) | Value::Object(_) => {
                if key.len() == 1 {
                    self.newline();
                }
                if !key.is_empty() {
                    let line = format!("{}[{}]", Self::indent(key), Self::key_string(key));
                    self.wf(&line);
                    self.newline();
                }
                self.table_body(key, v, false)
            }
            Value::Func(_) => Err(format!(
                "unsupported type for key '{}': func",
                Self::key_string(key)
            )),
            _ => self.write_key_value(key, v, false),
        }
    }

    fn table_body(&mut self, key: &[String], v: &Value, inline: bool) -> Result<(), String> {
        let Some(items) = entries(v) else {
            return Ok(());
        };
        let mut direct = Vec::new();
        let mut sub = Vec::new();
        for (k, val) in &items {
            if is_table(toml_type(val)?) {
                sub.push(k.clone());
            } else {
                direct.push(k.clone());
            }
        }
        direct.sort();
        sub.sort();
        if inline {
            self.wf("{");
        }
        let lookup = |k: &str| {
            items
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let trail = !sub.is_empty();
        for (keys, trail_c) in [(direct, trail), (sub, false)] {
            let n = keys.len();
            for (i, k) in keys.iter().enumerate() {
                let val = lookup(k);
                if is_nil(&val) {
                    continue;
                }
                if inline {
                    self.write_key_value(std::slice::from_ref(k), &val, true)?;
                    if trail_c || i != n - 1 {
                        self.wf(", ");
                    }
                } else {
                    let mut child = key.to_vec();
                    child.push(k.clone());
                    self.encode(&child, &val)?;
                }
            }
        }
        if inline {
            self.wf("}");
        }
        Ok(())
    }

    fn write_key_value(&mut self, key: &[String], v: &Value, inline: bool) -> Result<(), String> {
        let Some(last) = key.last() else {
            return Err(ERR_NO_KEY.to_string());
        };
        let head = format!("{}{} = ", Self::indent(key), maybe_quoted(last));
        self.wf(&head);
        self.element(v)?;
        if !inline {
            self.newline();
        }
        Ok(())
    }

    fn element(&mut self, v: &Value) -> Result<(), String> {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.element_inner(v))
    }

    fn element_inner(&mut self, v: &Value) -> Result<(), String> {
        match v {
            Value::String(s) => {
                let q = quote(s);
                self.wf(&q);
            }
            Value::Bool(b) => self.wf(if *b { "true" } else { "false" }),
            Value::Int(i, _) => {
                let s = i.to_string();
                self.wf(&s);
            }
            Value::Uint(u) => {
                let s = u.to_string();
                self.wf(&s);
            }
            Value::Float(f) => {
                // toml 1.6 (Helm 3.19+ and 4): shortest 'g' form, ".0" added when it has
                // neither a point nor an exponent; signed nan and inf.
                let sign = if f.is_sign_negative() { "-" } else { "" };
                let s = if f.is_nan() {
                    format!("{sign}nan")
                } else if f.is_infinite() {
                    format!("{sign}inf")
                } else {
                    let s = helmrelease_gotmpl::fmt::format_float(*f, 'g', -1);
                    if s.contains('.') || s.contains('e') {
                        s
                    } else {
                        format!("{s}.0")
                    }
                };
                self.wf(&s);
            }
            Value::List(items) => {
                self.wf("[");
                for (i, item) in items.iter().enumerate() {
                    self.element(item)?;
                    if i + 1 != items.len() {
                        self.wf(", ");
                    }
                }
                self.wf("]");
            }
            Value::Map(_) | Value::Object(_) => self.table_body(&[], v, true)?,
            Value::Nil => {
                return Err("reflect: call of reflect.Value.Interface on zero Value".to_string());
            }
            Value::Func(f) => return Err(format!("unexpected type: {}", f.type_name())),
        }
        Ok(())
    }
}

/// BurntSushi/toml's `NewEncoder(w).Encode(v)`: the TOML text, or the encoder's error.
/// `Err(Ok(msg))` is an encoding error (Helm's `toToml` prints it); `Err(Err(msg))` is a Go
/// panic (a nil value), which fails the template.
///
/// A map that contains itself is an encoding error here (Go's encoder would recurse until
/// the stack overflows).
pub(crate) fn encode(v: &Value) -> Result<String, Result<String, String>> {
    if v.has_cycle() {
        return Err(Ok(ERR_CYCLE.to_string()));
    }
    let mut e = Encoder { out: String::new() };
    match v {
        Value::Nil => {
            return Err(Err(
                "reflect: call of reflect.Value.Type on zero Value".to_string()
            ));
        }
        Value::Map(_) | Value::Object(_) if !is_nil(v) => {
            e.table_body(&[], v, false).map_err(Ok)?;
        }
        Value::Object(_) => return Ok(String::new()),
        // Since toml 1.4 a top-level value other than a table is written as the bare value;
        // only an array of tables still needs a key.
        Value::List(_) => {
            if toml_type(v).map_err(Ok)? == TomlType::ArrayHash {
                return Err(Ok(ERR_NO_KEY.to_string()));
            }
            e.element(v).map_err(Ok)?;
        }
        Value::Func(_) => return Err(Ok("unsupported type for key '': func".to_string())),
        _ => e.element(v).map_err(Ok)?,
    }
    Ok(e.out)
}
