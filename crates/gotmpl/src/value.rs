//! The values templates work on, modelled on what Go's reflection sees in Helm: JSON-like data
//! (`map[string]interface{}`, `[]interface{}`, `float64` and `int64` numbers, strings, bools,
//! nil), typed objects with fields and methods (Helm's `.Chart`, `.Capabilities`, `.Files`),
//! and functions.
//!
//! Maps are Go maps: a [`Map`] is a handle to one shared, mutable map, so a change made
//! through one copy of the handle (Sprig's `set`, `unset`, `merge`) is seen through every
//! other, as Helm charts expect. Lists, strings and the rest are immutable and shared.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::rc::Rc;

/// A Go value as a template sees it.
#[derive(Clone, Default)]
pub enum Value {
    /// No value: a missing map key, an untyped `nil`, or Go's invalid `reflect.Value`.
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// A signed integer, with the Go type it has (`int`, `int64`, ...).
    Int(i64, IntType),
    /// `uint64` and friends (rare in templates; Sprig's `uint` helpers).
    Uint(u64),
    /// `float64`: every number decoded from JSON or Helm values is one.
    Float(f64),
    /// `string`.
    String(Rc<str>),
    /// `[]interface{}` (or another slice type, named by `type_name`).
    List(Rc<Vec<Value>>),
    /// `map[string]interface{}`: a shared, mutable [`Map`]; iteration is in sorted key
    /// order, as Go's templates do.
    Map(Map),
    /// A typed Go object: a struct or named map with fields and methods.
    Object(Rc<dyn Object>),
    /// A function value (for `call`).
    Func(Rc<dyn Function>),
}

/// Go's signed integer types, kept so `printf "%T"` and comparisons print and behave as in Go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntType {
    /// `int`: template literals, `len`, Helm's `.Release.Revision`.
    Int,
    /// `int64`: most of Sprig's arithmetic.
    Int64,
    /// `int32` (also `rune`: character literals are runes, which print as `int32`).
    Int32,
    /// `uint8`, the bytes `index` takes from a string (unsigned, but never above 255).
    Uint8,
}

impl IntType {
    /// The Go type name.
    pub fn name(self) -> &'static str {
        match self {
            IntType::Int => "int",
            IntType::Int64 => "int64",
            IntType::Int32 => "int32",
            IntType::Uint8 => "uint8",
        }
    }
}

/// A typed object: fields (struct fields or map keys) and methods, looked up by name.
pub trait Object {
    /// The Go type as `%T` prints it (`chart.Metadata`, `*chartutil.Capabilities`).
    fn type_name(&self) -> String;
    /// A field (or map entry), or `None` when there is no such field (key).
    fn field(&self, name: &str) -> Option<Value>;
    /// A method bound to this object, or `None` when the type has no such method. Methods
    /// are looked up before fields, as Go does.
    fn method(&self, name: &str) -> Option<Rc<dyn Function>> {
        let _ = name;
        None
    }
    /// Whether the object is a map type (missing keys follow `missingkey`) rather than a
    /// struct (missing fields are errors).
    fn is_map(&self) -> bool {
        false
    }
    /// Map keys in iteration order (sorted), for `range`; empty for structs.
    fn keys(&self) -> Vec<String> {
        Vec::new()
    }
    /// How `%v` prints it (`{...}` for structs, `map[...]` for maps).
    fn format(&self) -> String;
    /// Whether it is a nil pointer or nil map (Go truth and `<nil>` printing).
    fn is_nil(&self) -> bool {
        false
    }
    /// What `encoding/json` makes of it, when it is not a map; `None` encodes as `null`.
    fn json_form(&self) -> Option<JsonForm> {
        None
    }
}

/// How `encoding/json` marshals a typed object that is not a map.
#[derive(Debug, Clone)]
pub enum JsonForm {
    /// A type with a `MarshalJSON` method, encoding as this value (`time.Time` as its
    /// RFC 3339 string).
    Value(Value),
    /// A struct: its exported fields, in declaration order (not sorted, unlike maps).
    Fields(Vec<(String, Value)>),
}

/// What a function can ask of the template set it runs in: Helm's `include` and `tpl`.
pub trait Engine {
    /// Executes the named template of the set on `data` (Go's `ExecuteTemplate`).
    fn execute_template(&self, name: &str, data: &Value) -> Result<String, crate::Error>;
    /// Parses `text` as template `name` in a copy of the set, then executes it on `data`;
    /// the set itself is unchanged (Helm 3.14+ `tpl`).
    fn execute_text(&self, name: &str, text: &str, data: &Value) -> Result<String, crate::Error>;
}

/// A function callable from templates (by name from the function map, or with `call`).
pub trait Function {
    /// Calls it with arguments already checked against [`Function::signature`]. An `Err` is
    /// the error a Go function returns (`error calling NAME: ...`).
    fn call(&self, args: &[Value]) -> Result<Value, String>;
    /// Calls it with access to the template set it runs in. Functions such as `include`
    /// override this; the default ignores the engine.
    fn call_in(&self, engine: &dyn Engine, args: &[Value]) -> Result<Value, String> {
        let _ = engine;
        self.call(args)
    }
    /// Parameter types, which the executor checks and converts arguments against exactly as
    /// Go's reflection-based calls do. The default is `func(...interface{})`.
    fn signature(&self) -> Signature {
        Signature {
            params: Vec::new(),
            variadic: Some(Type::Any),
        }
    }
    /// Go signature shown by `%T` (`func(string) string`).
    fn type_name(&self) -> String {
        "func(...interface {}) (interface {}, error)".to_string()
    }
}

/// Parameter types of a [`Function`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Fixed parameters.
    pub params: Vec<Type>,
    /// Type of the variadic tail, if any.
    pub variadic: Option<Type>,
}

/// Go parameter types the executor knows how to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// `interface{}`: anything.
    Any,
    /// `string`.
    String,
    /// `bool`.
    Bool,
    /// `int`.
    Int,
    /// `int64`.
    Int64,
    /// `float64`.
    Float64,
    /// `[]interface{}`.
    List,
    /// `map[string]interface{}`.
    Map,
}

impl Type {
    /// The Go spelling, as error messages print it.
    pub fn name(self) -> &'static str {
        match self {
            Type::Any => "interface {}",
            Type::String => "string",
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Int64 => "int64",
            Type::Float64 => "float64",
            Type::List => "[]interface {}",
            Type::Map => "map[string]interface {}",
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i, t) => write!(f, "Int({i}, {})", t.name()),
            Value::Uint(u) => write!(f, "Uint({u})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::List(l) => f.debug_list().entries(l.iter()).finish(),
            Value::Map(m) => m.fmt(f),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
            Value::Func(func) => write!(f, "Func({})", func.type_name()),
        }
    }
}

impl PartialEq for Value {
    /// Structural equality (for tests); Go's `eq` has its own rules in the executor. Maps
    /// compare by contents; a pair of maps met again inside itself (a cycle) counts as equal,
    /// as in Go's `reflect.DeepEqual`. Objects and functions compare by identity.
    fn eq(&self, other: &Value) -> bool {
        structural_eq(self, other)
    }
}

/// [`Value`]'s `PartialEq`, with a work list instead of recursion and a set of the map pairs
/// already compared, so deep or self-containing values terminate.
fn structural_eq(a: &Value, b: &Value) -> bool {
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    let mut work = vec![(a.clone(), b.clone())];
    while let Some((a, b)) = work.pop() {
        let same = match (&a, &b) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a, x), Value::Int(b, y)) => a == b && x == y,
            (Value::Uint(a), Value::Uint(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                if a.len() != b.len() {
                    false
                } else {
                    if !Rc::ptr_eq(a, b) {
                        work.extend(a.iter().cloned().zip(b.iter().cloned()));
                    }
                    true
                }
            }
            (Value::Map(a), Value::Map(b)) => {
                if a.ptr_eq(b) || !seen.insert((a.addr(), b.addr())) {
                    true
                } else {
                    let (x, y) = (a.entries(), b.entries());
                    if x.len() != y.len() {
                        false
                    } else {
                        let mut keys_match = true;
                        for ((kx, vx), (ky, vy)) in x.into_iter().zip(y) {
                            if kx != ky {
                                keys_match = false;
                                break;
                            }
                            work.push((vx, vy));
                        }
                        keys_match
                    }
                }
            }
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b),
            (Value::Func(a), Value::Func(b)) => Rc::ptr_eq(a, b),
            _ => false,
        };
        if !same {
            return false;
        }
    }
    true
}

/// A Go `map[string]interface{}`: a handle to a map that every clone of the handle shares.
/// A change made through one handle ([`Map::insert`], [`Map::remove`]) is seen through all
/// of them, as with Go maps; [`Map::deep_copy`] makes an independent copy. Keys are kept
/// sorted, the order in which Go's templates and `fmt` visit them.
///
/// The entries live in a `RefCell`, and no method lends them out: values come out as clones
/// (cheap: strings, lists and maps are reference counted) and [`Map::entries`] is a snapshot,
/// so code that runs templates or functions while walking a map can never meet a map that is
/// borrowed.
///
/// A map can contain itself (`{{ $_ := set $d "self" $d }}`). Equality, [`fmt::Debug`],
/// [`Map::deep_copy`] and [`Value::has_cycle`] detect that; code that walks values must
/// too (by [`Map::addr`]). Reference counting cannot free such a cycle: its maps stay
/// allocated (a leak bounded by what the templates build) unless something removes the
/// entry that closes it.
#[derive(Clone, Default)]
pub struct Map(Rc<Entries>);

impl Map {
    /// A new, empty map.
    pub fn new() -> Map {
        Map::default()
    }

    /// The value under `key`, cloned out of the map.
    #[inline]
    pub fn get(&self, key: &str) -> Option<Value> {
        self.0.borrow().get(key).cloned()
    }

    /// Sets `key` to `value` (Go's `m[key] = value`), returning the value it replaces.
    #[inline]
    pub fn insert(&self, key: impl Into<String>, value: Value) -> Option<Value> {
        self.0.borrow_mut().insert(key.into(), value)
    }

    /// Removes `key` (Go's `delete(m, key)`), returning its value.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.0.borrow_mut().remove(key)
    }

    /// Whether `key` is present.
    #[inline]
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.borrow().contains_key(key)
    }

    /// The number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// Whether the map has no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    /// The keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.0.borrow().keys().cloned().collect()
    }

    /// The values, in key order.
    pub fn values(&self) -> Vec<Value> {
        self.0.borrow().values().cloned().collect()
    }

    /// A snapshot of the entries in key order: later changes to the map do not show in it.
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.0
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Runs `f` on the entries, borrowed: for this crate's snapshots, so `f` must neither
    /// change this map nor run templates or functions (which could).
    #[inline]
    pub(crate) fn read<T>(&self, f: impl FnOnce(&BTreeMap<String, Value>) -> T) -> T {
        f(&self.0.borrow())
    }

    /// A snapshot of the entries as a `BTreeMap` (nested maps still shared).
    pub fn to_btree(&self) -> BTreeMap<String, Value> {
        self.0.borrow().clone()
    }

    /// A new map with the same entries (Go's loop copying a map): nested maps are shared.
    pub fn shallow_copy(&self) -> Map {
        Map::from(self.to_btree())
    }

    /// Whether both handles refer to the same map.
    #[inline]
    pub fn ptr_eq(&self, other: &Map) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// The map's identity, for code that tracks the maps it has visited (to detect cycles):
    /// equal for handles to the same map while it is alive.
    #[inline]
    pub fn addr(&self) -> usize {
        Rc::as_ptr(&self.0) as *const () as usize
    }

    /// An independent copy (`copystructure.Copy`, Sprig's `deepCopy`): nested maps and lists
    /// are copied too, so changes to either side never show in the other. A map that contains
    /// itself is copied into a copy that contains itself.
    pub fn deep_copy(&self) -> Map {
        let mut path = Vec::new();
        deep_copy_map(self, &mut path)
    }
}

/// Copies `m`; `path` holds the maps being copied (originals and their copies), so a map met
/// again inside itself becomes a reference to its copy.
fn deep_copy_map(m: &Map, path: &mut Vec<(usize, Map)>) -> Map {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || {
        let copy = Map::new();
        path.push((m.addr(), copy.clone()));
        for (k, v) in m.entries() {
            let v = deep_copy_value(&v, path);
            copy.insert(k, v);
        }
        path.pop();
        copy
    })
}

fn deep_copy_value(v: &Value, path: &mut Vec<(usize, Map)>) -> Value {
    match v {
        Value::Map(m) => match path.iter().find(|(addr, _)| *addr == m.addr()) {
            Some((_, copy)) => Value::Map(copy.clone()),
            None => Value::Map(deep_copy_map(m, path)),
        },
        Value::List(items)
            if items
                .iter()
                .any(|i| matches!(i, Value::Map(_) | Value::List(_))) =>
        {
            stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || {
                Value::List(Rc::new(
                    items.iter().map(|i| deep_copy_value(i, path)).collect(),
                ))
            })
        }
        // Everything else is immutable: sharing it is copying it.
        other => other.clone(),
    }
}

impl From<BTreeMap<String, Value>> for Map {
    fn from(m: BTreeMap<String, Value>) -> Map {
        Map(Rc::new(Entries(RefCell::new(m))))
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Map {
        Map::from(iter.into_iter().collect::<BTreeMap<_, _>>())
    }
}

impl PartialEq for Map {
    /// Structural equality, as for [`Value`].
    fn eq(&self, other: &Map) -> bool {
        structural_eq(&Value::Map(self.clone()), &Value::Map(other.clone()))
    }
}

thread_local! {
    /// Maps whose `Debug` output is being written, to cut cycles short.
    static DEBUGGING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

impl fmt::Debug for Map {
    /// The entries, as `{"k": v}`; a map met again inside itself prints as `{...}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = self.addr();
        if DEBUGGING.with(|d| d.borrow().contains(&addr)) {
            return write!(f, "{{...}}");
        }
        DEBUGGING.with(|d| d.borrow_mut().push(addr));
        let result = f.debug_map().entries(self.entries()).finish();
        DEBUGGING.with(|d| d.borrow_mut().pop());
        result
    }
}

/// The entries behind a [`Map`] handle.
#[derive(Default)]
struct Entries(RefCell<BTreeMap<String, Value>>);

impl std::ops::Deref for Entries {
    type Target = RefCell<BTreeMap<String, Value>>;

    #[inline]
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Drop for Entries {
    /// Runs when the last handle goes: frees the entries without recursion. Nested maps and
    /// lists that die with this map are emptied one at a time from a work list, so dropping
    /// deeply nested data cannot overflow the stack.
    fn drop(&mut self) {
        let entries = std::mem::take(self.0.get_mut());
        if entries.is_empty() {
            return;
        }
        let mut work = Vec::new();
        let keep = |v: Value, work: &mut Vec<Value>| match v {
            Value::Map(m) if Rc::strong_count(&m.0) == 1 => work.push(Value::Map(m)),
            Value::List(l) if Rc::strong_count(&l) == 1 => work.push(Value::List(l)),
            _ => {}
        };
        for v in entries.into_values() {
            keep(v, &mut work);
        }
        while let Some(v) = work.pop() {
            match v {
                Value::Map(m) => {
                    let taken = m.0.try_borrow_mut().map(|mut e| std::mem::take(&mut *e));
                    if let Ok(taken) = taken {
                        for v in taken.into_values() {
                            keep(v, &mut work);
                        }
                    }
                }
                Value::List(l) => {
                    if let Ok(items) = Rc::try_unwrap(l) {
                        for v in items {
                            keep(v, &mut work);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<Rc<str>>) -> Value {
        Value::String(s.into())
    }

    /// A Go `int`.
    pub fn int(i: i64) -> Value {
        Value::Int(i, IntType::Int)
    }

    /// JSON as Go's `encoding/json` decodes it into `interface{}`: every number a `float64`.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::string(s.as_str()),
            serde_json::Value::Array(a) => {
                Value::List(Rc::new(a.iter().map(Value::from_json).collect()))
            }
            serde_json::Value::Object(o) => Value::Map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// A map value from entries.
    pub fn map(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
        Value::Map(entries.into_iter().collect())
    }

    /// Back to JSON (objects and functions become null; non-finite floats null; a map met
    /// again inside itself null).
    pub fn to_json(&self) -> serde_json::Value {
        self.to_json_in(&mut Vec::new())
    }

    fn to_json_in(&self, path: &mut Vec<usize>) -> serde_json::Value {
        match self {
            Value::Nil | Value::Object(_) | Value::Func(_) => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i, _) => serde_json::Value::from(*i),
            Value::Uint(u) => serde_json::Value::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => {
                serde_json::Value::Array(l.iter().map(|v| v.to_json_in(path)).collect())
            }
            Value::Map(m) => {
                if path.contains(&m.addr()) {
                    return serde_json::Value::Null;
                }
                path.push(m.addr());
                let out = m
                    .entries()
                    .into_iter()
                    .map(|(k, v)| (k, v.to_json_in(path)))
                    .collect();
                path.pop();
                serde_json::Value::Object(out)
            }
        }
    }

    /// Whether a map contains itself, directly or through other maps and lists (which Go's
    /// encoders and `fmt` would follow forever). Encoders check this to fail as Go's
    /// `encoding/json` does (`encountered a cycle`).
    pub fn has_cycle(&self) -> bool {
        // Depth-first, with an explicit stack: `Some(v)` to visit, `None` to leave the map on
        // top of `path`.
        let mut path: Vec<usize> = Vec::new();
        let mut work: Vec<Option<Value>> = vec![Some(self.clone())];
        while let Some(item) = work.pop() {
            match item {
                None => {
                    path.pop();
                }
                Some(Value::Map(m)) => {
                    if path.contains(&m.addr()) {
                        return true;
                    }
                    path.push(m.addr());
                    work.push(None);
                    work.extend(
                        m.values()
                            .into_iter()
                            .filter(|v| matches!(v, Value::Map(_) | Value::List(_)))
                            .map(Some),
                    );
                }
                Some(Value::List(items)) => work.extend(
                    items
                        .iter()
                        .filter(|v| matches!(v, Value::Map(_) | Value::List(_)))
                        .cloned()
                        .map(Some),
                ),
                Some(_) => {}
            }
        }
        false
    }

    /// An independent copy (Sprig's `deepCopy`): maps and the lists holding them are copied
    /// ([`Map::deep_copy`]); everything else is immutable and shared.
    pub fn deep_copy(&self) -> Value {
        deep_copy_value(self, &mut Vec::new())
    }

    /// The Go type name `%T` prints: `<nil>` for no value.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".to_string(),
            Value::Bool(_) => "bool".to_string(),
            Value::Int(_, t) => t.name().to_string(),
            Value::Uint(_) => "uint64".to_string(),
            Value::Float(_) => "float64".to_string(),
            Value::String(_) => "string".to_string(),
            Value::List(_) => "[]interface {}".to_string(),
            Value::Map(_) => "map[string]interface {}".to_string(),
            Value::Object(o) => o.type_name(),
            Value::Func(f) => f.type_name(),
        }
    }

    /// Go's truth for `if`, `and`, `or`, `not`, `with`: false for zero values, empty
    /// collections, nil.
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i, _) => *i != 0,
            Value::Uint(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(o) => !o.is_nil() && (!o.is_map() || !o.keys().is_empty()),
            Value::Func(_) => true,
        }
    }
}

/// A function from a plain Rust function and its Go signature: the usual way to add
/// functions (Sprig's, Helm's) to a template set.
pub struct NativeFn {
    name: &'static str,
    signature: Signature,
    go_type: &'static str,
    f: fn(&[Value]) -> Result<Value, String>,
}

/// A function `name` with the given parameter types and Go type (for `%T`), from a plain
/// Rust function.
pub fn native(
    name: &'static str,
    signature: Signature,
    go_type: &'static str,
    f: fn(&[Value]) -> Result<Value, String>,
) -> Rc<dyn Function> {
    Rc::new(NativeFn {
        name,
        signature,
        go_type,
        f,
    })
}

impl fmt::Debug for NativeFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NativeFn({})", self.name)
    }
}

impl Function for NativeFn {
    fn call(&self, args: &[Value]) -> Result<Value, String> {
        (self.f)(args)
    }

    fn signature(&self) -> Signature {
        self.signature.clone()
    }

    fn type_name(&self) -> String {
        self.go_type.to_string()
    }
}

impl Signature {
    /// Fixed parameters only.
    pub fn fixed(params: &[Type]) -> Signature {
        Signature {
            params: params.to_vec(),
            variadic: None,
        }
    }

    /// Fixed parameters and a variadic tail.
    pub fn variadic(params: &[Type], tail: Type) -> Signature {
        Signature {
            params: params.to_vec(),
            variadic: Some(tail),
        }
    }
}

/// A Go struct value: named fields in declaration order and methods, with the Go type name
/// `%T` prints. `%v` prints `{field1 field2 ...}` as Go does.
#[derive(Default)]
pub struct Struct {
    /// Go type name (`chart.Metadata`).
    pub type_name: String,
    /// Fields in declaration order.
    pub fields: Vec<(String, Value)>,
    /// Methods by name.
    pub methods: Vec<(String, Rc<dyn Function>)>,
    /// How `%v` prints it, when not Go's default `{...}` (types with a `String` method).
    pub display: Option<String>,
}

impl fmt::Debug for Struct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Struct")
            .field("type_name", &self.type_name)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

impl Object for Struct {
    fn type_name(&self) -> String {
        self.type_name.clone()
    }

    fn field(&self, name: &str) -> Option<Value> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn method(&self, name: &str) -> Option<Rc<dyn Function>> {
        self.methods
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.clone())
    }

    fn format(&self) -> String {
        if let Some(d) = &self.display {
            return d.clone();
        }
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|(_, v)| crate::fmt::format_value(v))
            .collect();
        format!("{{{}}}", parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::string(x)
    }

    #[test]
    fn map_handles_share_one_map() {
        let m = Map::new();
        assert!(m.is_empty());
        let other = m.clone();
        assert_eq!(other.insert("b", Value::int(2)), None);
        assert_eq!(m.insert("a", Value::int(1)), None);
        assert_eq!(m.insert("a", Value::int(3)), Some(Value::int(1)));
        assert!(m.ptr_eq(&other) && m.addr() == other.addr());
        assert_eq!(m.len(), 2);
        assert_eq!(m.keys(), ["a", "b"]);
        assert_eq!(m.values(), [Value::int(3), Value::int(2)]);
        assert_eq!(other.get("a"), Some(Value::int(3)));
        assert!(other.contains_key("b") && !other.contains_key("c"));
        assert_eq!(other.remove("b"), Some(Value::int(2)));
        assert_eq!(m.entries(), [("a".to_string(), Value::int(3))]);
        assert_eq!(m.to_btree().len(), 1);
        let copy = m.shallow_copy();
        copy.insert("c", s("x"));
        assert!(!m.contains_key("c") && !copy.ptr_eq(&m));
        // A snapshot does not change with the map.
        let snapshot = m.entries();
        m.insert("z", Value::Nil);
        assert_eq!(snapshot.len(), 1);
    }

    #[test]
    fn deep_copies_are_independent() {
        let inner = Map::from(BTreeMap::from([("x".to_string(), Value::int(1))]));
        let m = Map::new();
        m.insert("inner", Value::Map(inner.clone()));
        m.insert(
            "list",
            Value::List(Rc::new(vec![Value::Map(inner.clone())])),
        );
        let copy = m.deep_copy();
        assert_eq!(copy, m);
        inner.insert("y", Value::int(2));
        assert_ne!(copy, m);
        assert_eq!(
            crate::fmt::format_value(&Value::Map(copy)),
            "map[inner:map[x:1] list:[map[x:1]]]"
        );
        assert_eq!(Value::int(7).deep_copy(), Value::int(7));
    }

    #[test]
    fn maps_that_contain_themselves_are_handled() {
        let m = Map::new();
        m.insert("a", Value::int(1));
        m.insert("self", Value::Map(m.clone()));
        m.insert("l", Value::List(Rc::new(vec![Value::Map(m.clone())])));
        let v = Value::Map(m.clone());
        assert!(v.has_cycle());
        assert_eq!(
            crate::fmt::format_value(&v),
            "map[a:1 l:[map[...]] self:map[...]]"
        );
        assert_eq!(
            format!("{v:?}"),
            r#"{"a": Int(1, int), "l": [{...}], "self": {...}}"#
        );
        assert_eq!(
            v.to_json(),
            serde_json::json!({"a": 1, "l": [null], "self": null})
        );
        // A deep copy is a new map that contains itself.
        let Value::Map(copy) = v.deep_copy() else {
            panic!("a map copies to a map")
        };
        assert!(!copy.ptr_eq(&m));
        let Some(Value::Map(inner)) = copy.get("self") else {
            panic!("self is a map")
        };
        assert!(inner.ptr_eq(&copy));
        // Equal structures compare equal (Go's DeepEqual treats a revisited pair as equal).
        assert_eq!(Value::Map(copy.clone()), v);
        copy.insert("a", Value::int(2));
        assert_ne!(Value::Map(copy.clone()), v);
        // Shared maps that are not cycles are not cycles.
        let leaf = Value::map([("x".to_string(), Value::Nil)]);
        let dag = Value::map([("a".to_string(), leaf.clone()), ("b".to_string(), leaf)]);
        assert!(!dag.has_cycle());
        // Break the cycles so the test does not leak them.
        for map in [&m, &copy] {
            map.remove("self");
            map.remove("l");
        }
    }

    #[test]
    fn dropping_deeply_nested_maps_does_not_overflow_the_stack() {
        let mut v = Value::Nil;
        for i in 0..200_000 {
            v = if i % 2 == 0 {
                Value::map([("next".to_string(), v)])
            } else {
                Value::List(Rc::new(vec![v]))
            };
        }
        drop(v);
    }
}
