//! Sprig's string, list, dict, default, conversion and reflection, regular-expression, semver,
//! path and URL functions, with Sprig v3.3's behaviour as Helm 3.21 ships it (goutils 1.1.1,
//! xstrings 1.5, mergo 1.0, cast 1.7, Masterminds/semver 3.4, Go's `regexp`, `path`,
//! `path/filepath` on Linux and `net/url`).
//!
//! Every function declares its Go signature, so the executor rejects wrong argument counts
//! and types with Go's messages; a Go panic inside a function becomes an `Err` with the panic
//! text, as text/template's `safeCall` turns it into "error calling NAME: ...".
//!
//! Where Helm 3.21's libraries changed from Sprig 3.2.3 (the version Debian packages), the
//! newer behaviour is the one implemented: `camelcase` is xstrings 1.5's `ToPascalCase`;
//! `mergeOverwrite` replaces a non-map value with a source map (mergo 1.0); semver errors are
//! lower case, `Equal(nil)` is false, and an AND group that names a prerelease matches
//! prereleases with all its constraints (semver 3.4); `(?<name>re)` groups parse (Go 1.22).
//!
//! Known divergences from Go (by design or by the value model); the test
//! `known_divergences_from_go` keeps Go's answers for each:
//!
//! - **Nil maps.** An untyped `nil` for a `map[string]interface {}` parameter arrives as an
//!   empty map, so `set nil "k" "v"` returns a map where Go panics with "assignment to entry
//!   in nil map".
//! - **Maps that contain themselves** (`set $d "self" $d`): Go's `fmt`, `deepCopy`,
//!   `merge` of such a map into itself and the encoders recurse until the stack overflows.
//!   Here `%v` prints the inner occurrence as `map[...]`, `deepCopy` makes a copy that
//!   contains itself, `merge` stops with "maps nested too deeply to merge", `deepEqual`
//!   compares as Go's `reflect.DeepEqual` does, and `toJson`/`toYaml` fail with
//!   `encoding/json`'s cycle error.
//! - **Typed slices and maps.** `splitList`, `keys`, `sortAlpha`, `toStrings`,
//!   `regexFindAll`, `regexSplit` return `[]string`, `until`/`untilStep` `[]int`,
//!   `split`/`splitn` `map[string]string`, `chunk` `[][]interface {}`; here they are
//!   `[]interface {}` lists and `map[string]interface {}` maps of the right element values,
//!   so `typeOf`/`printf "%T"` name the generic types, and passing them where Go requires
//!   `[]interface {}` succeeds where Go would fail.
//! - **Slice capacity.** Go's `slice` may reach past a list's length up to its capacity
//!   (which JSON decoding leaves larger), yielding nils; here the length is the limit.
//! - **Map order.** Go iterates maps in random order, so `keys` and `values` list entries
//!   in an unspecified order there; here it is sorted by key.
//! - **Invalid UTF-8.** Go strings can hold any bytes. Where Sprig cuts a string at a byte
//!   offset inside a multi-byte rune (`substr`, `trunc`, `abbrev`, `wrapWith`) or decodes
//!   `%xx` escapes that are not UTF-8 (`urlParse`), the invalid bytes become U+FFFD.
//! - **`semver` objects.** Methods taking a `*semver.Version` check their argument
//!   themselves (the error reads "error calling LessThan: wrong type for value..." where Go's
//!   executor says "can't handle ... for arg of type *semver.Version"); the JSON, text and SQL
//!   (un)marshalling methods are left out; `.major` reports a missing field where Go says it
//!   is unexported.
//! - **Regular expressions.** Go's nesting limit (1000) is checked on this parser's tree,
//!   which is close to Go's but not identical, and a pattern the `regex` crate compiles too
//!   large (256 MiB) fails as "expression too large" where Go might accept it.
//! - **Resource limits.** Results longer than [`MAX_ITEMS`] items or [`MAX_BYTES`] bytes
//!   are refused with an error, where Go would try to allocate them (and a `untilStep` that
//!   overflows `int` stops where Go wraps around).

pub(crate) mod conv;
mod dicts;
mod lists;
mod paths;
pub use paths::clean;
mod regexp;
mod semver;
mod strings;
mod unicode;
mod url;

use std::collections::BTreeMap;
use std::rc::Rc;

use helmrelease_gotmpl::{Funcs, IntType, Map, Signature, Type, Value, native};

/// The most items a list-building function returns.
pub(crate) const MAX_ITEMS: usize = 1 << 22;
/// The most bytes a string-building function returns.
pub(crate) const MAX_BYTES: usize = 1 << 28;

/// Go's message for a nil pointer dereference, which Sprig's `reflect.TypeOf(nil).Kind()`
/// calls produce for nil arguments.
const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

/// Adds this module's functions.
pub(crate) fn register(funcs: &mut Funcs) {
    strings::register(funcs);
    conv::register(funcs);
    lists::register(funcs);
    dicts::register(funcs);
    regexp::register(funcs);
    semver::register(funcs);
    paths::register(funcs);
    url::register(funcs);
}

/// A function body: arguments already checked against the signature.
type Body = fn(&[Value]) -> Result<Value, String>;

/// Registers `name` with Go parameter types `params` (and a variadic tail), `%T` text
/// `go_type` and body `f`.
fn add(
    funcs: &mut Funcs,
    name: &'static str,
    params: &[Type],
    variadic: Option<Type>,
    go_type: &'static str,
    f: Body,
) {
    let signature = Signature {
        params: params.to_vec(),
        variadic,
    };
    funcs.insert(name.to_string(), native(name, signature, go_type, f));
}

// Argument access. The executor has checked types and counts against the signature, but a
// function value can also be called directly, so a mismatch is an error, never a panic.

fn arg(args: &[Value], i: usize) -> &Value {
    const NIL: &Value = &Value::Nil;
    args.get(i).unwrap_or(NIL)
}

fn wrong_type(want: &str, got: &Value) -> String {
    let got = match got {
        Value::Nil => "interface {}".to_string(),
        v => v.type_name(),
    };
    format!("wrong type for value; expected {want}; got {got}")
}

fn str_arg(args: &[Value], i: usize) -> Result<&str, String> {
    match arg(args, i) {
        Value::String(s) => Ok(s),
        v => Err(wrong_type("string", v)),
    }
}

fn int_arg(args: &[Value], i: usize) -> Result<i64, String> {
    match arg(args, i) {
        Value::Int(n, _) => Ok(*n),
        v => Err(wrong_type("int", v)),
    }
}

fn bool_arg(args: &[Value], i: usize) -> Result<bool, String> {
    match arg(args, i) {
        Value::Bool(b) => Ok(*b),
        v => Err(wrong_type("bool", v)),
    }
}

/// A `map[string]interface {}` argument (the caller's map, shared); untyped nil is a new
/// empty map.
fn map_arg(args: &[Value], i: usize) -> Result<Map, String> {
    match arg(args, i) {
        Value::Map(m) => Ok(m.clone()),
        Value::Nil => Ok(Map::new()),
        v => Err(wrong_type("map[string]interface {}", v)),
    }
}

// Result construction.

fn string(s: impl Into<Rc<str>>) -> Value {
    Value::String(s.into())
}

fn list(items: Vec<Value>) -> Value {
    Value::List(Rc::new(items))
}

fn map(m: BTreeMap<String, Value>) -> Value {
    Value::Map(Map::from(m))
}

fn go_int(i: i64) -> Value {
    Value::Int(i, IntType::Int)
}

fn string_list<S: Into<Rc<str>>>(items: impl IntoIterator<Item = S>) -> Value {
    list(items.into_iter().map(string).collect())
}

/// Refuses a result of `n` items past [`MAX_ITEMS`].
fn check_items(n: usize) -> Result<(), String> {
    if n > MAX_ITEMS {
        Err(format!(
            "result of {n} items exceeds the limit of {MAX_ITEMS} items"
        ))
    } else {
        Ok(())
    }
}

/// Refuses a result of `n` bytes past [`MAX_BYTES`].
fn check_bytes(n: usize) -> Result<(), String> {
    if n > MAX_BYTES {
        Err(format!(
            "result of {n} bytes exceeds the limit of {MAX_BYTES} bytes"
        ))
    } else {
        Ok(())
    }
}

/// Bytes to a string, as Go would print them (invalid UTF-8 becomes U+FFFD).
fn from_bytes(b: Vec<u8>) -> String {
    match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// `s[lo..hi]` by bytes, as Go slices strings (possibly inside a rune).
fn byte_slice(s: &str, lo: usize, hi: usize) -> String {
    match s.get(lo..hi) {
        Some(t) => t.to_string(),
        None => String::from_utf8_lossy(s.as_bytes().get(lo..hi).unwrap_or_default()).into_owned(),
    }
}
