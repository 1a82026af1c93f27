//! The values templates work on, modelled on what Go's reflection sees in Helm: JSON-like data
//! (`map[string]interface{}`, `[]interface{}`, `float64` and `int64` numbers, strings, bools,
//! nil), typed objects with fields and methods (Helm's `.Chart`, `.Capabilities`, `.Files`),
//! and functions.

use std::collections::BTreeMap;
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
    /// `map[string]interface{}`; iteration is in sorted key order, as Go's templates do.
    Map(Rc<BTreeMap<String, Value>>),
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
            Value::Map(m) => f.debug_map().entries(m.iter()).finish(),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
            Value::Func(func) => write!(f, "Func({})", func.type_name()),
        }
    }
}

impl PartialEq for Value {
    /// Structural equality (for tests); Go's `eq` has its own rules in the executor.
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a, x), Value::Int(b, y)) => a == b && x == y,
            (Value::Uint(a), Value::Uint(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b),
            (Value::Func(a), Value::Func(b)) => Rc::ptr_eq(a, b),
            _ => false,
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
            serde_json::Value::Object(o) => Value::Map(Rc::new(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            )),
        }
    }

    /// Back to JSON (objects and functions become null; non-finite floats null).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Nil | Value::Object(_) | Value::Func(_) => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i, _) => serde_json::Value::from(*i),
            Value::Uint(u) => serde_json::Value::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
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
