//! YAML, JSON and TOML exactly as Helm 3 reads and writes them, byte for byte.
//!
//! Helm goes through three Go libraries, and so does this module, reimplemented rather than
//! approximated:
//!
//! * **sigs.k8s.io/yaml** (Helm's `toYaml`, `fromYaml`, values files): a value is written by
//!   marshalling it to JSON with `encoding/json`, parsing that JSON *as YAML* with go-yaml v2,
//!   and marshalling the result with go-yaml v2's emitter. YAML is read by go-yaml v2 (YAML
//!   1.1: `yes`/`on`/`y` are booleans, `0o17` and `017` octal, `<<` merge keys), converted
//!   to JSON (non-string keys become strings) and decoded by `encoding/json`, so every number
//!   becomes a `float64` ([`Value::Float`]).
//! * **encoding/json** (`toJson`, `toPrettyJson`, `toRawJson`, `fromJson`, `fromJsonArray`).
//! * **BurntSushi/toml** (`toToml`).
//!
//! The go-yaml v2 scanner, parser, decoder and emitter are ported step by step (`yaml/`
//! submodules), so results, quoting, line folding at 80 columns and error messages (`yaml:
//! line 3: mapping values are not allowed in this context`) are Go's. Functions named
//! `helm_*` are Helm's template functions with their error conventions (`toYaml` returns ""
//! on error, `fromYaml` returns `{"Error": message}`); the others return the underlying
//! library's result.
//!
//! Deliberate choices where Go cannot be matched: a nil Go map (`fromJson "null"`) is an empty
//! [`Value::Map`]; typed objects that are not maps encode as their
//! [`helmrelease_gotmpl::JsonForm`] says (`time.Time` as RFC 3339, Sprig's certificate as its
//! fields), or as `null` when they have none; JSON escapes `\b` and
//! `\f` as Go 1.22 and later do.

mod decode;
mod emitter;
mod fastmap;
mod gojson;
mod gosort;
mod parser;
mod scanner;
mod toml;

use std::collections::BTreeMap;
use std::rc::Rc;

use helmrelease_gotmpl::{Map, Value};

use crate::Error;
use decode::GoVal;
use gojson::{Style, Target};

/// Go's type name for `map[string]interface{}` in `encoding/json` messages.
const MAP_TYPE: &str = "map[string]interface {}";
/// Go's type name for `[]interface{}`.
const LIST_TYPE: &str = "[]interface {}";
/// The Go type Helm's `chartutil.ReadValues` decodes values files into.
const VALUES_TYPE: &str = "chartutil.Values";

fn yaml_err(msg: impl Into<String>) -> Error {
    Error::Yaml(msg.into())
}

// ---- writing YAML --------------------------------------------------------------------------

/// `sigs.k8s.io/yaml.Marshal(v)`: YAML ending in a line break (`"a: 1\n"`, `"null\n"`).
///
/// Helm's `toYaml` is this with the final line break trimmed and errors turned into "" (see
/// [`helm_to_yaml`]). Errors carry Go's text: `error marshaling into JSON: json: unsupported
/// value: NaN`, or `error converting JSON to YAML: yaml: control characters are not allowed`
/// for strings with characters go-yaml refuses (DEL, C1 controls, U+FFFE, U+FFFF).
pub fn to_yaml(value: &Value) -> crate::Result<String> {
    match direct_go_value(value, &mut Vec::new()) {
        Some(v) => Ok(emitter::marshal(&v)),
        None => to_yaml_via_json(value),
    }
}

/// go-yaml v2's `Marshal` of the value as nested `yaml.MapSlice`s with their keys sorted by
/// byte order: what fluxcd's `chartutil.DigestValues` hashes (`JSONObjectToYAMLObject`,
/// `SortMapSlice`, `yaml.Marshal`). Only the key order differs from [`to_yaml`], which
/// sorts keys the way go-yaml sorts a Go map (`a9` before `a10`). Values the direct route
/// cannot take (typed objects, characters go-yaml refuses, very deep nesting) go through
/// JSON as [`to_yaml`] does, in its key order; composed values never hold those.
pub fn to_yaml_byte_sorted(value: &Value) -> crate::Result<String> {
    match direct_go_value(value, &mut Vec::new()) {
        Some(v) => Ok(emitter::marshal_with(&v, emitter::KeyOrder::Bytes)),
        None => to_yaml_via_json(value),
    }
}

/// [`to_yaml`] the way sigs.k8s.io/yaml does it: JSON text, read back as YAML, written out.
fn to_yaml_via_json(value: &Value) -> crate::Result<String> {
    let json = gojson::marshal(
        value,
        Style {
            escape_html: true,
            indent: None,
        },
    )
    .map_err(|e| yaml_err(format!("error marshaling into JSON: {e}")))?;
    json_to_yaml(&json).map_err(|e| yaml_err(format!("error converting JSON to YAML: {e}")))
}

/// Deeper values take the JSON route, which reports cycles and go-yaml's flow depth limit.
const DIRECT_MAX_DEPTH: usize = 1000;
/// go-yaml gives up on a flow key more than 1024 characters long; a key this short stays
/// under that even with every byte JSON-escaped (`\u003c` is 6 characters for 1 byte).
const DIRECT_MAX_KEY: usize = 160;

/// What reading `value`'s JSON back with go-yaml would give, built directly (that round trip
/// was most of `toYaml`'s time). `None` for anything where the round trip could do more than
/// copy: non-finite floats, typed objects, functions, characters go-yaml's reader refuses,
/// long keys and deep nesting. Those take [`to_yaml_via_json`], so results and errors stay
/// Go's (a test compares both routes). `path` holds the maps being converted.
fn direct_go_value(value: &Value, path: &mut Vec<usize>) -> Option<GoVal> {
    if path.len() > DIRECT_MAX_DEPTH {
        return None;
    }
    // encoding/json escapes the C0 controls; anything else go-yaml refuses arrives raw, NEL
    // is folded as a line break, and a BOM's meaning depends on where go-yaml's buffer starts.
    let plain_text = |s: &str| {
        s.chars()
            .all(|c| c < ' ' || (scanner::allowed_char(c) && c != '\u{85}' && c != '\u{feff}'))
    };
    Some(match value {
        Value::Nil => GoVal::Nil,
        Value::Bool(b) => GoVal::Bool(*b),
        Value::Int(i, _) => GoVal::Int(*i),
        Value::Uint(u) => i64::try_from(*u).map_or(GoVal::Uint(*u), GoVal::Int),
        Value::Float(f) => {
            // go-yaml resolves the JSON number text: integral values become ints.
            let text = gojson::format_float(*f).ok()?;
            match decode::resolve(b"", &text).ok()?.1 {
                v @ (GoVal::Int(_) | GoVal::Uint(_) | GoVal::Float(_)) => v,
                _ => return None,
            }
        }
        Value::String(s) if plain_text(s) => GoVal::Str(s.to_string()),
        Value::List(items) => GoVal::Seq(
            items
                .iter()
                .map(|v| {
                    path.push(0);
                    let v = direct_go_value(v, path);
                    path.pop();
                    v
                })
                .collect::<Option<Vec<_>>>()?,
        ),
        Value::Map(m) => {
            if path.contains(&m.addr()) {
                return None;
            }
            let entries = m.entries();
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                if k.len() > DIRECT_MAX_KEY || !plain_text(&k) {
                    return None;
                }
                path.push(m.addr());
                let v = direct_go_value(&v, path);
                path.pop();
                out.push((GoVal::Str(k), v?));
            }
            GoVal::Map(decode::GoMap::from_distinct(out))
        }
        Value::String(_) | Value::Object(_) | Value::Func(_) => return None,
    })
}

/// `sigs.k8s.io/yaml.JSONToYAML`: JSON (or any YAML) text read by go-yaml v2, which picks
/// `int` or `float64` for numbers, and written back as block YAML. Errors are go-yaml's
/// (`yaml: line 1: did not find expected ',' or '}'`).
pub fn json_to_yaml(json: &str) -> crate::Result<String> {
    let v = decode::unmarshal(json)
        .map_err(yaml_err)?
        .unwrap_or(GoVal::Nil);
    Ok(emitter::marshal(&v))
}

/// Helm's `toYaml`: [`to_yaml`] without the final line break, and "" on any error.
pub fn helm_to_yaml(value: &Value) -> String {
    match to_yaml(value) {
        Ok(s) => s.strip_suffix('\n').map(str::to_string).unwrap_or(s),
        Err(_) => String::new(),
    }
}

/// Helm's `mustToYaml`: [`to_yaml`] without the final line break; errors are returned (the
/// template function panics with them).
pub fn must_to_yaml(value: &Value) -> crate::Result<String> {
    let s = to_yaml(value)?;
    Ok(s.strip_suffix('\n').map(str::to_string).unwrap_or(s))
}

// ---- reading YAML --------------------------------------------------------------------------

/// `sigs.k8s.io/yaml.Unmarshal` into `interface{}`: the first YAML document as JSON data
/// (`null` for an empty document). Later documents in the stream are ignored, as in Go.
pub fn from_yaml_value(text: &str) -> crate::Result<Value> {
    unmarshal_yaml(text, Target::Any)
}

/// Parses YAML the way Helm's `fromYaml` does: `sigs.k8s.io/yaml.Unmarshal` into a
/// `map[string]interface{}` (go-yaml v2 reading YAML 1.1, then `encoding/json`: every number
/// a [`Value::Float`]). Only the first document of a stream counts; an empty document is an
/// empty map. Errors carry Go's text, for example `error converting YAML to JSON: yaml: line
/// 2: mapping values are not allowed in this context`, or `error unmarshaling JSON: while
/// decoding JSON: json: cannot unmarshal string into Go value of type map[string]interface
/// {}` for a document that is not a mapping. Helm's template function puts the message under
/// an `Error` key instead of failing: see [`helm_from_yaml`].
pub fn from_yaml(text: &str) -> crate::Result<Value> {
    map_or_empty(unmarshal_yaml(text, Target::Map(MAP_TYPE))?)
}

/// Like [`from_yaml`] with Helm's values type (`chartutil.ReadValues`): the same parsing,
/// the error naming `chartutil.Values`.
pub fn read_values(text: &str) -> crate::Result<Value> {
    map_or_empty(unmarshal_yaml(text, Target::Map(VALUES_TYPE))?)
}

/// `sigs.k8s.io/yaml.Unmarshal` into `[]interface{}` (Helm's `fromYamlArray`); an empty
/// document is an empty list. See [`helm_from_yaml_array`] for the template function.
pub fn from_yaml_array(text: &str) -> crate::Result<Value> {
    let v = unmarshal_yaml(text, Target::List(LIST_TYPE))?;
    Ok(match v {
        Value::Nil => Value::List(Rc::new(Vec::new())),
        v => v,
    })
}

/// Helm's `fromYaml` template function: the map, or `{"Error": message}`.
pub fn helm_from_yaml(text: &str) -> Value {
    match from_yaml(text) {
        Ok(v) => v,
        Err(e) => error_map(e.to_string()),
    }
}

/// Helm's `fromYamlArray` template function: the list, or `[message]`.
pub fn helm_from_yaml_array(text: &str) -> Value {
    match from_yaml_array(text) {
        Ok(v) => v,
        Err(e) => Value::List(Rc::new(vec![Value::string(e.to_string())])),
    }
}

fn error_map(msg: String) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Error".to_string(), Value::string(msg));
    Value::Map(Map::from(m))
}

fn map_or_empty(v: Value) -> crate::Result<Value> {
    Ok(match v {
        Value::Nil => Value::Map(Map::new()),
        v => v,
    })
}

/// sigs.k8s.io/yaml's first half: go-yaml's value made JSON-compatible (string keys), and
/// refused where `encoding/json` would refuse it.
fn unmarshal_jsonable(text: &str) -> crate::Result<GoVal> {
    let converted = decode::unmarshal(text)
        .and_then(|v| to_jsonable(v.unwrap_or(GoVal::Nil)))
        .map_err(|e| yaml_err(format!("error converting YAML to JSON: {e}")))?;
    if let Some(bad) = first_non_finite(&converted) {
        return Err(yaml_err(format!(
            "error converting YAML to JSON: json: unsupported value: {}",
            helmrelease_gotmpl::fmt::format_float(bad, 'g', -1)
        )));
    }
    Ok(converted)
}

fn mismatch(kind: &str, type_name: &str) -> Error {
    yaml_err(format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go value of type {type_name}"
    ))
}

/// [`from_yaml`] for a caller that needs only a few fields of a document (sorting manifests
/// reads kind, name and annotations): the same parsing and errors, but only the values at
/// `paths` become template values (`Nil` where absent), which saves converting the rest.
pub(crate) fn from_yaml_fields<const N: usize>(
    text: &str,
    paths: [&[&str]; N],
) -> crate::Result<[Value; N]> {
    let mut doc = unmarshal_jsonable(text)?;
    match &doc {
        GoVal::Map(_) | GoVal::Nil => {}
        GoVal::Seq(_) => return Err(mismatch("array", MAP_TYPE)),
        GoVal::Str(_) => return Err(mismatch("string", MAP_TYPE)),
        GoVal::Bool(_) => return Err(mismatch("bool", MAP_TYPE)),
        _ => return Err(mismatch("number", MAP_TYPE)),
    }
    Ok(paths.map(|path| {
        let mut cur = &mut doc;
        for key in path {
            let GoVal::Map(m) = cur else {
                return Value::Nil;
            };
            let Some((_, v)) = m
                .entries
                .iter_mut()
                .find(|(k, _)| matches!(k, GoVal::Str(s) if s == key))
            else {
                return Value::Nil;
            };
            cur = v;
        }
        json_value(std::mem::replace(cur, GoVal::Nil))
    }))
}

fn unmarshal_yaml(text: &str, target: Target) -> crate::Result<Value> {
    let value = json_value(unmarshal_jsonable(text)?);
    match (target, &value) {
        (Target::Any, _) | (_, Value::Nil) => Ok(value),
        (Target::Map(_), Value::Map(_)) | (Target::List(_), Value::List(_)) => Ok(value),
        (Target::Map(t) | Target::List(t), v) => {
            let err = mismatch(json_kind(v), t);
            dispose(value);
            Err(err)
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        Value::List(_) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    }
}

/// What sigs.k8s.io/yaml's `convertToJSONableObject` makes of a go-yaml value: maps with
/// string keys. Kept as `GoVal` (with `Map` keys all strings) until JSON is checked.
fn to_jsonable(v: GoVal) -> Result<GoVal, String> {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || to_jsonable_inner(v))
}

fn to_jsonable_inner(mut v: GoVal) -> Result<GoVal, String> {
    Ok(match &mut v {
        // Keys that are all strings are distinct already: convert the values in place.
        GoVal::Map(m) if m.entries.iter().all(|(k, _)| matches!(k, GoVal::Str(_))) => {
            let entries = std::mem::take(&mut m.entries)
                .into_iter()
                .map(|(k, v)| Ok((k, to_jsonable(v)?)))
                .collect::<Result<Vec<_>, String>>()?;
            GoVal::Map(decode::GoMap::from_distinct(entries))
        }
        GoVal::Map(m) => {
            let mut out = decode::GoMap::default();
            for (k, v) in std::mem::take(&mut m.entries) {
                let key = match &k {
                    GoVal::Str(s) => s.clone(),
                    GoVal::Int(i) => i.to_string(),
                    GoVal::Float(f) => float32_g(*f),
                    GoVal::Bool(b) => b.to_string(),
                    other => {
                        let type_name = match other {
                            GoVal::Uint(_) => "uint64",
                            GoVal::Nil => "%!s(<nil>)",
                            GoVal::Seq(_) => "[]interface {}",
                            _ => "map[interface {}]interface {}",
                        };
                        return Err(format!(
                            "Unsupported map key of type: {type_name}, key: {}, value: {}",
                            go_syntax_arg(other),
                            go_syntax_arg(&v)
                        ));
                    }
                };
                out.set(GoVal::Str(key), to_jsonable(v)?);
            }
            GoVal::Map(out)
        }
        GoVal::Seq(items) => GoVal::Seq(
            std::mem::take(items)
                .into_iter()
                .map(to_jsonable)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        _ => v,
    })
}

/// `%+#v` of a top-level argument (nil prints as `<nil>`).
fn go_syntax_arg(v: &GoVal) -> String {
    match v {
        GoVal::Nil => "<nil>".to_string(),
        v => decode::go_syntax(v),
    }
}

/// The first NaN or infinity `encoding/json` would meet (maps in sorted key order).
fn first_non_finite(v: &GoVal) -> Option<f64> {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || match v {
        GoVal::Float(f) if !f.is_finite() => Some(*f),
        GoVal::Seq(items) => items.iter().find_map(first_non_finite),
        GoVal::Map(m) => {
            let mut entries: Vec<&(GoVal, GoVal)> = m.entries.iter().collect();
            entries.sort_by(|a, b| match (&a.0, &b.0) {
                (GoVal::Str(x), GoVal::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
                _ => std::cmp::Ordering::Equal,
            });
            entries.iter().find_map(|(_, v)| first_non_finite(v))
        }
        _ => None,
    })
}

/// JSON data as `encoding/json` decodes it into `interface{}`: numbers are `float64`.
fn json_value(mut v: GoVal) -> Value {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || match &mut v {
        GoVal::Nil => Value::Nil,
        GoVal::Bool(b) => Value::Bool(*b),
        GoVal::Int(i) => Value::Float(*i as f64),
        GoVal::Uint(u) => Value::Float(*u as f64),
        GoVal::Float(f) => Value::Float(*f),
        GoVal::Str(s) => Value::string(std::mem::take(s)),
        GoVal::Seq(items) => Value::List(Rc::new(
            std::mem::take(items).into_iter().map(json_value).collect(),
        )),
        GoVal::Map(m) => {
            let mut out = BTreeMap::new();
            for (k, v) in std::mem::take(&mut m.entries) {
                if let GoVal::Str(k) = &k {
                    out.insert(k.clone(), json_value(v));
                }
            }
            Value::Map(Map::from(out))
        }
    })
}

/// Drops a value without recursion: deeply nested lists would otherwise overflow the stack
/// (maps free their contents without recursion themselves).
fn dispose(v: Value) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        if let Value::List(l) = v
            && let Ok(items) = Rc::try_unwrap(l)
        {
            stack.extend(items);
        }
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 32)` with go-yaml's names for the special values: how
/// sigs.k8s.io/yaml turns a float map key into a string.
fn float32_g(f: f64) -> String {
    let x = f as f32;
    if x.is_nan() {
        return ".nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Shortest digits that identify the float32, from Rust's formatter.
    let sci = format!("{:e}", x.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let nd = digits.len() as i32;
    let sign = if x < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let mut s = format!("{sign}{}", &digits[..1]);
        if nd > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let (es, ev) = if exp < 0 { ('-', -exp) } else { ('+', exp) };
        s.push('e');
        s.push(es);
        if ev < 10 {
            s.push('0');
        }
        s.push_str(&ev.to_string());
        s
    } else {
        let dp = exp + 1;
        let mut s = sign.to_string();
        if dp <= 0 {
            s.push_str("0.");
            for _ in 0..-dp {
                s.push('0');
            }
            s.push_str(&digits);
        } else if dp >= nd {
            s.push_str(&digits);
            for _ in 0..dp - nd {
                s.push('0');
            }
        } else {
            s.push_str(&digits[..dp as usize]);
            s.push('.');
            s.push_str(&digits[dp as usize..]);
        }
        s
    }
}

// ---- JSON ----------------------------------------------------------------------------------

/// `toJson`: Go's `encoding/json` Marshal (sorted keys, `<`, `>`, `&`, U+2028 and U+2029
/// escaped, Go's float format). Errors are Go's (`json: unsupported value: NaN`); Helm's
/// template function prints "" instead (see [`helm_to_json`]).
pub fn to_json(value: &Value) -> crate::Result<String> {
    gojson::marshal(
        value,
        Style {
            escape_html: true,
            indent: None,
        },
    )
    .map_err(yaml_err)
}

/// Helm's `toJson` template function: [`to_json`], or "" on error.
pub fn helm_to_json(value: &Value) -> String {
    to_json(value).unwrap_or_default()
}

/// Sprig's `toPrettyJson`: `json.MarshalIndent(v, "", "  ")`. The template function prints
/// "" on error.
pub fn to_pretty_json(value: &Value) -> crate::Result<String> {
    gojson::marshal(
        value,
        Style {
            escape_html: true,
            indent: Some("  "),
        },
    )
    .map_err(yaml_err)
}

/// Sprig's `toRawJson`: a `json.Encoder` without HTML escaping (U+2028 and U+2029 are still
/// escaped), without the final line break. The template function prints "" on error.
pub fn to_raw_json(value: &Value) -> crate::Result<String> {
    gojson::marshal(
        value,
        Style {
            escape_html: false,
            indent: None,
        },
    )
    .map_err(yaml_err)
}

/// `json.Unmarshal` into `map[string]interface{}` (Helm's `fromJson`): numbers are
/// [`Value::Float`]; `null` is an empty map. Errors are Go's (`invalid character 'x' looking
/// for beginning of value`, `unexpected end of JSON input`, `json: cannot unmarshal array
/// into Go value of type map[string]interface {}`). See [`helm_from_json`] for the template
/// function, which keeps what was decoded and adds an `Error` key.
pub fn from_json(text: &str) -> crate::Result<Value> {
    let d = gojson::unmarshal(text, Target::Map(MAP_TYPE));
    match d.error {
        Some(e) => Err(yaml_err(e)),
        None => map_or_empty(d.value),
    }
}

/// `json.Unmarshal` into `[]interface{}` (Helm's `fromJsonArray`); `null` is an empty list.
pub fn from_json_array(text: &str) -> crate::Result<Value> {
    let d = gojson::unmarshal(text, Target::List(LIST_TYPE));
    match d.error {
        Some(e) => Err(yaml_err(e)),
        None => Ok(match d.value {
            Value::Nil => Value::List(Rc::new(Vec::new())),
            v => v,
        }),
    }
}

/// `json.Unmarshal` into `interface{}`.
pub fn from_json_value(text: &str) -> crate::Result<Value> {
    let d = gojson::unmarshal(text, Target::Any);
    match d.error {
        Some(e) => Err(yaml_err(e)),
        None => Ok(d.value),
    }
}

/// Helm's `fromJson` template function: the decoded map (what Go decoded before a type
/// error is kept, as Go keeps it) with the error message under `Error`.
pub fn helm_from_json(text: &str) -> Value {
    let d = gojson::unmarshal(text, Target::Map(MAP_TYPE));
    let map = match d.value {
        Value::Map(m) => m,
        _ => Map::new(),
    };
    if let Some(e) = d.error {
        map.insert("Error", Value::string(e));
    }
    Value::Map(map)
}

/// Helm's `fromJsonArray` template function: the list, or `[message]`.
pub fn helm_from_json_array(text: &str) -> Value {
    match from_json_array(text) {
        Ok(v) => v,
        Err(e) => Value::List(Rc::new(vec![Value::string(e.to_string())])),
    }
}

// ---- TOML ----------------------------------------------------------------------------------

/// BurntSushi/toml's encoder (Helm's `toToml`): `key = "value"` lines, then `[table]`
/// sections (nested ones indented), `[[array]]` for lists of maps. Encoding errors are the
/// encoder's (`toml: top-level values must be Go maps or structs`), which Helm's template
/// function prints as its result (see [`helm_to_toml`]).
pub fn to_toml(value: &Value) -> crate::Result<String> {
    toml::encode(value).map_err(|e| match e {
        Ok(msg) | Err(msg) => yaml_err(msg),
    })
}

/// Helm's `toToml` template function: the TOML, or the encoder's error message as the
/// result. `Err` only where Go panics (a nil value), which fails the template.
pub fn helm_to_toml(value: &Value) -> crate::Result<String> {
    match toml::encode(value) {
        Ok(s) => Ok(s),
        Err(Ok(msg)) => Ok(msg),
        Err(Err(panic)) => Err(yaml_err(panic)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<T: Clone>(&mut self, items: &[T]) -> T {
            items[(self.next() % items.len() as u64) as usize].clone()
        }
    }

    const TEXTS: &[&str] = &[
        "",
        "a",
        "yes",
        "on",
        "n",
        "~",
        "null",
        "true",
        "1",
        "0x1F",
        "1e3",
        "0o17",
        "017",
        "2001-12-14",
        "-",
        "- a",
        ": b",
        "#c",
        "a: b",
        "multi\nline\n",
        "trailing ",
        " lead",
        "tab\there",
        "quote\"s",
        "'single'",
        "\u{7f}del",
        "c1\u{85}",
        "c1\u{90}",
        "\u{fffe}",
        "\u{feff}bom",
        "nul\u{0}",
        "esc\u{1b}",
        "<&>",
        "\u{2028}sep",
        "日本語",
        "emoji 🎉",
        "=",
        "<<",
        ".inf",
        "-.5",
        "+1",
        "1_000",
        "0b101",
        "@at",
        "`tick",
        "{flow}",
        "[x]",
        "*a",
        "&anchor",
        "!tag",
        "%pct",
        "|",
        ">",
    ];

    fn gen_value(g: &mut Gen, depth: usize) -> Value {
        let choice = g.next() % if depth > 4 { 6 } else { 9 };
        match choice {
            0 => Value::Nil,
            1 => Value::Bool(g.next().is_multiple_of(2)),
            2 => Value::Int(
                g.pick(&[0, 1, -1, 42, i64::MAX, i64::MIN, 1_000_000, -7]),
                helmrelease_gotmpl::IntType::Int,
            ),
            3 => Value::Float(g.pick(&[
                0.0,
                -0.0,
                1.0,
                0.5,
                1e6,
                1e21,
                1e20,
                1e-6,
                1e-7,
                123456789.125,
                -3.25,
                f64::MAX,
                f64::MIN_POSITIVE,
                9007199254740993.0,
                1.5e300,
                f64::NAN,
                f64::INFINITY,
            ])),
            4 => Value::Uint(g.pick(&[0, 7, u64::MAX, 1 << 63, (1 << 63) - 1])),
            5 => {
                let mut s = g.pick(TEXTS).to_string();
                if g.next().is_multiple_of(8) {
                    s = s.repeat(40);
                }
                Value::string(s)
            }
            6 | 7 => {
                let m = Map::new();
                for _ in 0..g.next() % 5 {
                    let mut k = g.pick(TEXTS).to_string();
                    if g.next().is_multiple_of(10) {
                        k = k.repeat(60);
                    }
                    m.insert(k, gen_value(g, depth + 1));
                }
                if depth > 0 && g.next().is_multiple_of(20) {
                    m.insert("self", Value::Map(m.clone()));
                }
                Value::Map(m)
            }
            _ => Value::List(Rc::new(
                (0..g.next() % 4).map(|_| gen_value(g, depth + 1)).collect(),
            )),
        }
    }

    #[test]
    fn to_yaml_direct_route_matches_the_json_round_trip() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        let mut direct = 0;
        for _ in 0..20_000 {
            let v = gen_value(&mut g, 0);
            let fast = direct_go_value(&v, &mut Vec::new()).map(|g| emitter::marshal(&g));
            let slow = to_yaml_via_json(&v).map_err(|e| e.to_string());
            match fast {
                Some(fast) => {
                    direct += 1;
                    assert_eq!(Ok(fast), slow, "value {v:?}");
                }
                None => assert_eq!(to_yaml(&v).map_err(|e| e.to_string()), slow),
            }
        }
        // Most values must take the direct route, or the test proves nothing.
        assert!(direct > 10_000, "only {direct} values converted directly");
    }

    #[test]
    fn float32_keys_print_as_go_does() {
        assert_eq!(float32_g(1.5), "1.5");
        assert_eq!(float32_g(0.1), "0.1");
        assert_eq!(float32_g(1e6), "1e+06");
        assert_eq!(float32_g(123456.0), "123456");
        assert_eq!(float32_g(1.2345678901234), "1.2345679");
        assert_eq!(float32_g(1e-5), "1e-05");
        assert_eq!(float32_g(0.0001), "0.0001");
        assert_eq!(float32_g(1e40), ".inf");
        assert_eq!(float32_g(-0.0), "-0");
    }

    #[test]
    fn round_trip_basics() {
        let v = from_yaml("a: 1\nb: [x, yes]\n").unwrap();
        assert_eq!(to_json(&v).unwrap(), r#"{"a":1,"b":["x",true]}"#);
        assert_eq!(to_yaml(&v).unwrap(), "a: 1\nb:\n- x\n- true\n");
    }

    #[test]
    fn maps_that_contain_themselves_are_encoding_errors() {
        let m = Map::new();
        m.insert("a", Value::Float(1.0));
        m.insert("self", Value::List(Rc::new(vec![Value::Map(m.clone())])));
        let v = Value::Map(m.clone());
        let cycle = "json: unsupported value: encountered a cycle via map[string]interface {}";
        assert_eq!(to_json(&v).unwrap_err().to_string(), cycle);
        assert_eq!(to_pretty_json(&v).unwrap_err().to_string(), cycle);
        assert_eq!(to_raw_json(&v).unwrap_err().to_string(), cycle);
        assert_eq!(helm_to_json(&v), "");
        assert_eq!(
            to_yaml(&v).unwrap_err().to_string(),
            format!("error marshaling into JSON: {cycle}")
        );
        assert_eq!(
            helm_to_toml(&v).unwrap(),
            "toml: unsupported value: encountered a cycle via map[string]interface {}"
        );
        // The same map twice, without a cycle, is fine.
        let shared = Value::map([("x".to_string(), Value::Float(1.0))]);
        let twice = Value::map([("a".to_string(), shared.clone()), ("b".to_string(), shared)]);
        assert_eq!(to_json(&twice).unwrap(), r#"{"a":{"x":1},"b":{"x":1}}"#);
        assert_eq!(
            helm_to_toml(&twice).unwrap(),
            "[a]\n  x = 1.0\n\n[b]\n  x = 1.0\n"
        );
        // Break the cycle so the test does not leak it.
        m.remove("self");
    }
}
