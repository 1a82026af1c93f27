//! text/template's builtin functions, with Go's argument handling and error messages.

use crate::exec::{Ev, Funcs, ParamType};
use crate::fmt as gofmt;
use crate::value::{Type, Value};
use std::rc::Rc;

/// The builtins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Call,
    Html,
    Js,
    Urlquery,
}

impl Builtin {
    pub fn lookup(name: &str) -> Option<Builtin> {
        Some(match name {
            "and" => Builtin::And,
            "or" => Builtin::Or,
            "not" => Builtin::Not,
            "len" => Builtin::Len,
            "index" => Builtin::Index,
            "slice" => Builtin::Slice,
            "print" => Builtin::Print,
            "printf" => Builtin::Printf,
            "println" => Builtin::Println,
            "eq" => Builtin::Eq,
            "ne" => Builtin::Ne,
            "lt" => Builtin::Lt,
            "le" => Builtin::Le,
            "gt" => Builtin::Gt,
            "ge" => Builtin::Ge,
            "call" => Builtin::Call,
            "html" => Builtin::Html,
            "js" => Builtin::Js,
            "urlquery" => Builtin::Urlquery,
            _ => return None,
        })
    }

    /// Go's signatures: fixed parameters and the variadic tail.
    pub fn signature(self) -> (&'static [ParamType], Option<ParamType>) {
        use ParamType::{Go, Reflect};
        match self {
            Builtin::And
            | Builtin::Or
            | Builtin::Eq
            | Builtin::Index
            | Builtin::Slice
            | Builtin::Call => (&[Reflect], Some(Reflect)),
            Builtin::Not | Builtin::Len => (&[Reflect], None),
            Builtin::Ne | Builtin::Lt | Builtin::Le | Builtin::Gt | Builtin::Ge => {
                (&[Reflect, Reflect], None)
            }
            Builtin::Print | Builtin::Println | Builtin::Html | Builtin::Js | Builtin::Urlquery => {
                (&[], Some(Go(Type::Any)))
            }
            Builtin::Printf => (&[Go(Type::String)], Some(Go(Type::Any))),
        }
    }
}

/// Go's truth of a value as `and`, `or` and `not` see it.
pub(crate) fn truth(v: &Ev) -> bool {
    v.concrete().is_some_and(Value::truth)
}

fn concrete(v: &Ev) -> Value {
    v.concrete().cloned().unwrap_or(Value::Nil)
}

fn plain(v: Ev) -> Value {
    match v {
        Ev::Invalid => Value::Nil,
        Ev::Val(v, _) => v,
    }
}

/// Calls a builtin with evaluated arguments.
pub(crate) fn call_builtin(b: Builtin, args: Vec<Ev>, funcs: &Funcs) -> Result<Ev, String> {
    let _ = funcs;
    let val = |v: Value| Ev::Val(v, false);
    match b {
        Builtin::And | Builtin::Or => Err("unreachable".into()),
        Builtin::Not => Ok(val(Value::Bool(!args.first().is_some_and(truth)))),
        Builtin::Len => length(args.first().unwrap_or(&Ev::Invalid)).map(|n| val(Value::int(n))),
        Builtin::Index => index(&args),
        Builtin::Slice => slice(&args),
        Builtin::Print => Ok(val(Value::string(gofmt::sprint(&values(args))))),
        Builtin::Println => Ok(val(Value::string(gofmt::sprintln(&values(args))))),
        Builtin::Printf => {
            let mut it = args.into_iter();
            let format = match it.next().map(plain) {
                Some(Value::String(s)) => s,
                _ => Rc::from(""),
            };
            let rest: Vec<Value> = it.map(plain).collect();
            Ok(val(Value::string(gofmt::sprintf(&format, &rest))))
        }
        Builtin::Eq => {
            let (first, rest) = args
                .split_first()
                .ok_or("missing argument for comparison")?;
            eq(first, rest).map(|b| val(Value::Bool(b)))
        }
        Builtin::Ne => pair(&args)
            .and_then(|(a, b)| eq(a, std::slice::from_ref(b)))
            .map(|b| val(Value::Bool(!b))),
        Builtin::Lt => pair(&args)
            .and_then(|(a, b)| lt(a, b))
            .map(|b| val(Value::Bool(b))),
        Builtin::Le => pair(&args)
            .and_then(|(a, b)| le(a, b))
            .map(|b| val(Value::Bool(b))),
        Builtin::Gt => pair(&args)
            .and_then(|(a, b)| le(a, b))
            .map(|b| val(Value::Bool(!b))),
        Builtin::Ge => pair(&args)
            .and_then(|(a, b)| lt(a, b))
            .map(|b| val(Value::Bool(!b))),
        Builtin::Call => call(&args),
        Builtin::Html => Ok(val(Value::string(html_escape(&eval_args(args))))),
        Builtin::Js => Ok(val(Value::string(js_escape(&eval_args(args))))),
        Builtin::Urlquery => Ok(val(Value::string(query_escape(&eval_args(args))))),
    }
}

fn values(args: Vec<Ev>) -> Vec<Value> {
    args.into_iter().map(plain).collect()
}

fn pair(args: &[Ev]) -> Result<(&Ev, &Ev), String> {
    match args {
        [a, b] => Ok((a, b)),
        _ => Err("missing argument for comparison".into()),
    }
}

/// html, js and urlquery: one string argument as is, anything else printed with Sprint, where
/// "no value" prints as `<no value>`.
fn eval_args(args: Vec<Ev>) -> String {
    if let [Ev::Val(Value::String(s), _)] = args.as_slice() {
        return s.to_string();
    }
    let printed: Vec<Value> = args
        .into_iter()
        .map(|a| match a {
            Ev::Invalid | Ev::Val(Value::Nil, _) => Value::string("<no value>"),
            Ev::Val(v, _) => v,
        })
        .collect();
    gofmt::sprint(&printed)
}

fn length(item: &Ev) -> Result<i64, String> {
    match item {
        Ev::Invalid => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Ev::Val(Value::Nil, _) => Err("len of nil pointer".into()),
        Ev::Val(v, _) => match v {
            Value::String(s) => Ok(s.len() as i64),
            Value::List(l) => Ok(l.len() as i64),
            Value::Map(m) => Ok(m.len() as i64),
            Value::Object(o) if o.is_map() => Ok(o.keys().len() as i64),
            other => Err(format!("len of type {}", other.type_name())),
        },
    }
}

/// Go's `indexArg`: an integer index within `cap`. `index` unwraps interface values first;
/// `slice` does not, so an index taken from a map or list is of type `interface {}` there.
fn index_arg(index: &Ev, cap: usize, unwrap: bool) -> Result<usize, String> {
    if !unwrap && let Ev::Val(_, true) = index {
        return Err("cannot index slice/array with type interface {}".into());
    }
    let x: i128 = match index.concrete() {
        Some(Value::Int(i, _)) => i128::from(*i),
        Some(Value::Uint(u)) => i128::from(*u),
        None => return Err("cannot index slice/array with nil".into()),
        Some(other) => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x > cap as i128 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

/// The capacity of a list for `slice`: its length. (Go's `encoding/json` leaves a larger
/// capacity that depends on its append growth policy; the reference driver normalises it, and
/// reaching past the length of a list is never what a template means.)
fn list_cap(len: usize) -> usize {
    len
}

fn index(args: &[Ev]) -> Result<Ev, String> {
    let (item, indexes) = args.split_first().ok_or("index of untyped nil")?;
    let Some(item) = item.concrete() else {
        return Err("index of untyped nil".into());
    };
    let mut item = Ev::Val(item.clone(), false);
    for idx in indexes {
        let current = match &item {
            Ev::Val(Value::Nil, _) | Ev::Invalid => return Err("index of nil pointer".into()),
            Ev::Val(v, _) => v.clone(),
        };
        item = match &current {
            // indexArg accepts an index equal to the length; reflect then panics.
            Value::List(l) => {
                let x = index_arg(idx, l.len(), true)?;
                match l.get(x) {
                    Some(v) => Ev::Val(v.clone(), true),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::String(s) => {
                let x = index_arg(idx, s.len(), true)?;
                match s.as_bytes().get(x) {
                    Some(b) => Ev::Val(Value::Int(i64::from(*b), crate::IntType::Uint8), false),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Value::Map(m) => {
                let key = map_key(idx)?;
                match m.get(&key) {
                    Some(v) => Ev::Val(v, true),
                    None => Ev::Val(Value::Nil, true),
                }
            }
            Value::Object(o) if o.is_map() => {
                let key = map_key(idx)?;
                Ev::Val(o.field(&key).unwrap_or(Value::Nil), true)
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

/// Go's `prepareArg` for a `string` map key.
fn map_key(idx: &Ev) -> Result<String, String> {
    match idx.concrete() {
        Some(Value::String(s)) => Ok(s.to_string()),
        None => Err("value is nil; should be of type string".into()),
        Some(other) => Err(format!(
            "value has type {}; should be string",
            other.type_name()
        )),
    }
}

fn slice(args: &[Ev]) -> Result<Ev, String> {
    let (item, indexes) = args.split_first().ok_or("slice of untyped nil")?;
    let Some(item) = item.concrete() else {
        return Err("slice of untyped nil".into());
    };
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let (len, cap) = match item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            (s.len(), s.len())
        }
        Value::List(l) => (l.len(), list_cap(l.len())),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0, len, 0];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, cap, false)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(Ev::Val(
        match item {
            Value::String(s) => Value::string(String::from_utf8_lossy(
                s.as_bytes().get(idx[0]..idx[1]).unwrap_or_default(),
            )),
            Value::List(l) => Value::List(Rc::new(
                (idx[0]..idx[1])
                    .map(|i| l.get(i).cloned().unwrap_or(Value::Nil))
                    .collect(),
            )),
            _ => Value::Nil,
        },
        false,
    ))
}

fn call(args: &[Ev]) -> Result<Ev, String> {
    let (f, rest) = args.split_first().ok_or("call of nil")?;
    let func = match f.concrete() {
        None => return Err("call of nil".into()),
        Some(Value::Func(func)) => func.clone(),
        Some(other) => return Err(format!("non-function of type {}", other.type_name())),
    };
    let sig = func.signature();
    let fixed = sig.params.len();
    match sig.variadic {
        Some(_) if rest.len() < fixed => {
            return Err(format!(
                "wrong number of args: got {} want at least {fixed}",
                rest.len()
            ));
        }
        None if rest.len() != fixed => {
            return Err(format!(
                "wrong number of args: got {} want {fixed}",
                rest.len()
            ));
        }
        _ => {}
    }
    let mut argv = Vec::with_capacity(rest.len());
    for (i, arg) in rest.iter().enumerate() {
        let t = sig
            .params
            .get(i)
            .copied()
            .or(sig.variadic)
            .unwrap_or(Type::Any);
        argv.push(prepare_arg(arg, t).map_err(|e| format!("arg {i}: {e}"))?);
    }
    func.call(&argv).map(|v| {
        let boxed = matches!(v, Value::Nil);
        Ev::Val(v, boxed)
    })
}

fn prepare_arg(arg: &Ev, t: Type) -> Result<Value, String> {
    let Some(v) = arg.concrete() else {
        return match t {
            Type::Any | Type::List | Type::Map => Ok(Value::Nil),
            _ => Err(format!("value is nil; should be of type {}", t.name())),
        };
    };
    let ok = matches!(
        (t, v),
        (Type::Any, _)
            | (Type::String, Value::String(_))
            | (Type::Bool, Value::Bool(_))
            | (Type::Int, Value::Int(_, crate::IntType::Int))
            | (Type::Int64, Value::Int(_, crate::IntType::Int64))
            | (Type::Float64, Value::Float(_))
            | (Type::List, Value::List(_))
            | (Type::Map, Value::Map(_))
    );
    if ok {
        Ok(v.clone())
    } else {
        Err(format!(
            "value has type {}; should be {}",
            v.type_name(),
            t.name()
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BasicKind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
    Uint,
}

fn basic_kind(v: Option<&Value>) -> BasicKind {
    match v {
        Some(Value::Bool(_)) => BasicKind::Bool,
        Some(Value::Int(..)) => BasicKind::Int,
        Some(Value::Uint(_)) => BasicKind::Uint,
        Some(Value::Float(_)) => BasicKind::Float,
        Some(Value::String(_)) => BasicKind::String,
        _ => BasicKind::Invalid,
    }
}

fn int_of(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Int(i, _)) => *i,
        _ => 0,
    }
}

fn uint_of(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::Uint(u)) => *u,
        _ => 0,
    }
}

fn eq(arg1: &Ev, rest: &[Ev]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let a = arg1.concrete();
    let k1 = basic_kind(a);
    for arg in rest {
        let b = arg.concrete();
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (BasicKind::Int, BasicKind::Uint) => {
                    int_of(a) >= 0 && int_of(a) as u64 == uint_of(b)
                }
                (BasicKind::Uint, BasicKind::Int) => {
                    int_of(b) >= 0 && uint_of(a) == int_of(b) as u64
                }
                _ => {
                    if a.is_some() && b.is_some() {
                        return Err(incompatible(a, b));
                    }
                    false
                }
            }
        } else {
            match (a, b) {
                (Some(Value::Bool(x)), Some(Value::Bool(y))) => x == y,
                (Some(Value::Float(x)), Some(Value::Float(y))) => x == y,
                (Some(Value::Int(x, _)), Some(Value::Int(y, _))) => x == y,
                (Some(Value::String(x)), Some(Value::String(y))) => x == y,
                (Some(Value::Uint(x)), Some(Value::Uint(y))) => x == y,
                _ => {
                    // Neither is a basic kind: nil compares with nil; maps, slices and
                    // functions cannot be compared.
                    let nil1 = is_nil(a);
                    let nil2 = is_nil(b);
                    if !same_kind(a, b) && a.is_some() && b.is_some() {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            gofmt::sprintf("%s", &[concrete(arg1)]),
                            concrete(arg1).type_name(),
                            concrete(arg).type_name(),
                            gofmt::format_value(&concrete(arg))
                        ));
                    }
                    if nil1 || nil2 {
                        nil1 == nil2
                    } else {
                        match (a, b) {
                            (Some(Value::Object(x)), Some(Value::Object(y))) => Rc::ptr_eq(x, y),
                            _ => {
                                return Err(format!(
                                    "non-comparable type {}: {}",
                                    gofmt::sprintf("%s", &[concrete(arg)]),
                                    concrete(arg).type_name()
                                ));
                            }
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn same_kind(a: Option<&Value>, b: Option<&Value>) -> bool {
    std::mem::discriminant(&a.cloned().unwrap_or(Value::Nil))
        == std::mem::discriminant(&b.cloned().unwrap_or(Value::Nil))
}

fn is_nil(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Nil) => true,
        Some(Value::Object(o)) => o.is_nil(),
        _ => false,
    }
}

fn lt(arg1: &Ev, arg2: &Ev) -> Result<bool, String> {
    let a = arg1.concrete();
    let b = arg2.concrete();
    let (k1, k2) = (basic_kind(a), basic_kind(b));
    if k1 == BasicKind::Invalid || k2 == BasicKind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return match (k1, k2) {
            (BasicKind::Int, BasicKind::Uint) => {
                Ok(int_of(a) < 0 || (int_of(a) as u64) < uint_of(b))
            }
            (BasicKind::Uint, BasicKind::Int) => {
                Ok(int_of(b) >= 0 && uint_of(a) < int_of(b) as u64)
            }
            _ => Err(incompatible(a, b)),
        };
    }
    match (a, b) {
        (Some(Value::Bool(_)), _) => Err("invalid type for comparison".into()),
        (Some(Value::Float(x)), Some(Value::Float(y))) => Ok(x < y),
        (Some(Value::Int(x, _)), Some(Value::Int(y, _))) => Ok(x < y),
        (Some(Value::String(x)), Some(Value::String(y))) => Ok(x < y),
        (Some(Value::Uint(x)), Some(Value::Uint(y))) => Ok(x < y),
        _ => Err("invalid type for comparison".into()),
    }
}

/// Current Go (1.25+) names both types in this error.
fn incompatible(a: Option<&Value>, b: Option<&Value>) -> String {
    let name = |v: Option<&Value>| v.map_or_else(|| "<nil>".to_string(), Value::type_name);
    format!(
        "incompatible types for comparison: {} and {}",
        name(a),
        name(b)
    )
}

fn le(arg1: &Ev, arg2: &Ev) -> Result<bool, String> {
    if lt(arg1, arg2)? {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c if crate::strconv::is_printable(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
