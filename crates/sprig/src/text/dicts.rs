//! Dict functions: `dict`, `get`, `set`, `unset`, `hasKey`, `pluck`, `keys`, `pick`, `omit`,
//! `values`, `dig`, and the `merge` family with mergo 1.0's rules for
//! `map[string]interface {}`.
//!
//! As in Go, `set`, `unset` and the merges change the map they are given (maps are
//! references, [`helmrelease_gotmpl::Map`]) and return it; `dict`, `pick` and `omit` make new
//! maps; the rest only read.

use std::collections::BTreeMap;

use helmrelease_gotmpl::{Funcs, Map as GoMap, Type, Value};

use super::conv::{empty, strval};
use super::{add, arg, list, map, map_arg, str_arg, string, string_list};

pub(super) fn register(funcs: &mut Funcs) {
    use Type::{Any, Map, String};
    add(
        funcs,
        "dict",
        &[],
        Some(Any),
        "func(...interface {}) map[string]interface {}",
        |a| {
            let mut m = BTreeMap::new();
            for pair in a.chunks(2) {
                let key = strval(&pair[0]);
                let value = pair.get(1).cloned().unwrap_or_else(|| string(""));
                m.insert(key, value);
            }
            Ok(map(m))
        },
    );
    add(
        funcs,
        "get",
        &[Map, String],
        None,
        "func(map[string]interface {}, string) interface {}",
        |a| {
            let m = map_arg(a, 0)?;
            Ok(m.get(str_arg(a, 1)?).unwrap_or_else(|| string("")))
        },
    );
    add(
        funcs,
        "set",
        &[Map, String, Any],
        None,
        "func(map[string]interface {}, string, interface {}) map[string]interface {}",
        |a| {
            let m = map_arg(a, 0)?;
            m.insert(str_arg(a, 1)?, arg(a, 2).clone());
            Ok(Value::Map(m))
        },
    );
    add(
        funcs,
        "unset",
        &[Map, String],
        None,
        "func(map[string]interface {}, string) map[string]interface {}",
        |a| {
            let m = map_arg(a, 0)?;
            m.remove(str_arg(a, 1)?);
            Ok(Value::Map(m))
        },
    );
    add(
        funcs,
        "hasKey",
        &[Map, String],
        None,
        "func(map[string]interface {}, string) bool",
        |a| Ok(Value::Bool(map_arg(a, 0)?.contains_key(str_arg(a, 1)?))),
    );
    add(
        funcs,
        "pluck",
        &[String],
        Some(Map),
        "func(string, ...map[string]interface {}) []interface {}",
        |a| {
            let key = str_arg(a, 0)?;
            let mut out = Vec::new();
            for i in 1..a.len() {
                if let Some(v) = map_arg(a, i)?.get(key) {
                    out.push(v);
                }
            }
            Ok(list(out))
        },
    );
    add(
        funcs,
        "keys",
        &[],
        Some(Map),
        "func(...map[string]interface {}) []string",
        |a| {
            let mut out = Vec::new();
            for i in 0..a.len() {
                out.extend(map_arg(a, i)?.keys());
            }
            Ok(string_list(out))
        },
    );
    add(
        funcs,
        "pick",
        &[Map],
        Some(String),
        "func(map[string]interface {}, ...string) map[string]interface {}",
        |a| {
            let m = map_arg(a, 0)?;
            let mut out = BTreeMap::new();
            for i in 1..a.len() {
                let k = str_arg(a, i)?;
                if let Some(v) = m.get(k) {
                    out.insert(k.to_string(), v);
                }
            }
            Ok(map(out))
        },
    );
    add(
        funcs,
        "omit",
        &[Map],
        Some(String),
        "func(map[string]interface {}, ...string) map[string]interface {}",
        |a| {
            let out = map_arg(a, 0)?.shallow_copy();
            for i in 1..a.len() {
                out.remove(str_arg(a, i)?);
            }
            Ok(Value::Map(out))
        },
    );
    add(
        funcs,
        "values",
        &[Map],
        None,
        "func(map[string]interface {}) []interface {}",
        |a| Ok(list(map_arg(a, 0)?.values())),
    );
    add(
        funcs,
        "dig",
        &[],
        Some(Any),
        "func(...interface {}) (interface {}, error)",
        dig,
    );
    for (name, overwrite, must) in [
        ("merge", false, false),
        ("mustMerge", false, true),
        ("mergeOverwrite", true, false),
        ("mustMergeOverwrite", true, true),
    ] {
        let go = if must {
            "func(map[string]interface {}, ...map[string]interface {}) (interface {}, error)"
        } else {
            "func(map[string]interface {}, ...map[string]interface {}) interface {}"
        };
        let body: super::Body = match (overwrite, must) {
            (false, false) => |a| Ok(merge(a, false).unwrap_or_else(|_| string(""))),
            (false, true) => |a| merge(a, false),
            (true, false) => |a| Ok(merge(a, true).unwrap_or_else(|_| string(""))),
            (true, true) => |a| merge(a, true),
        };
        add(funcs, name, &[Map], Some(Map), go, body);
    }
}

/// Go's panic text for a failed `x.(T)` type assertion on an `interface {}`.
fn assertion(v: &Value, want: &str) -> String {
    let got = match v {
        Value::Nil => "nil".to_string(),
        v => v.type_name(),
    };
    format!("interface conversion: interface {{}} is {got}, not {want}")
}

const MAP_TYPE: &str = "map[string]interface {}";

/// Sprig's `dig KEY... DEFAULT DICT`.
fn dig(a: &[Value]) -> Result<Value, String> {
    if a.len() < 3 {
        return Err("dig needs at least three arguments".to_string());
    }
    let mut dict = match &a[a.len() - 1] {
        Value::Map(m) => m.clone(),
        v => return Err(assertion(v, MAP_TYPE)),
    };
    let default = &a[a.len() - 2];
    let keys = a[..a.len() - 2]
        .iter()
        .map(|k| match k {
            Value::String(s) => Ok(s.clone()),
            v => Err(assertion(v, "string")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (i, key) in keys.iter().enumerate() {
        let Some(step) = dict.get(key) else {
            return Ok(default.clone());
        };
        if i + 1 == keys.len() {
            return Ok(step);
        }
        dict = match step {
            Value::Map(m) => m,
            v => return Err(assertion(&v, MAP_TYPE)),
        };
    }
    Ok(default.clone())
}

/// `merge`/`mergeOverwrite`: each source merged into the first map, in place, with mergo
/// 1.0; the result is that map. (On an error the map keeps what was merged before it, as in
/// Go.)
fn merge(a: &[Value], overwrite: bool) -> Result<Value, String> {
    let dst = map_arg(a, 0)?;
    for i in 1..a.len() {
        merge_map(&dst, &map_arg(a, i)?, overwrite, 0)?;
    }
    Ok(Value::Map(dst))
}

/// Deep enough for any real values; Go has no limit, but recursion here needs one.
const MAX_MERGE_DEPTH: usize = 10_000;

/// mergo's `deepMerge` for two `map[string]interface {}` (mergo 1.0.1, which Sprig 3.3 uses),
/// changing `dst` in place.
///
/// Without `overwrite` a key is filled only when `dst` lacks it or holds an empty value;
/// nested maps merge recursively (in place, so a map nested in `dst` changes wherever it is
/// shared); a non-empty list in `dst` is kept. With `overwrite` every source value wins
/// (empty values and nil included) except that nested maps merge. A source value stored in
/// `dst` is stored as is: a map from `src` becomes shared by both, as in Go.
fn merge_map(dst: &GoMap, src: &GoMap, overwrite: bool, depth: usize) -> Result<(), String> {
    if depth > MAX_MERGE_DEPTH {
        return Err("maps nested too deeply to merge".to_string());
    }
    // Go walks a snapshot of the source's keys and reads each value when it gets to it
    // (`src` may be `dst`, or contain it).
    for key in src.keys() {
        let Some(s) = src.get(&key) else {
            continue;
        };
        let d = dst.get(&key);
        match &s {
            Value::Nil => {
                if overwrite {
                    dst.insert(key, Value::Nil);
                }
                continue;
            }
            Value::Map(sm) => {
                if let Some(Value::Map(dm)) = &d {
                    // The nested destination map is merged in place.
                    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || {
                        merge_map(dm, sm, overwrite, depth + 1)
                    })?;
                    if !dm.is_empty() {
                        continue;
                    }
                } else if let Some(Value::Object(o)) = &d {
                    // A pointer destination and a map source are different types.
                    if !overwrite && !o.is_nil() && o.type_name().starts_with('*') {
                        return Err("src and dst must be of same type".to_string());
                    }
                }
            }
            Value::List(_) => {
                // mergo stores a slice for the key first: the source's when overwriting or
                // when the enclosing map is empty, else the current value (or an empty
                // slice when there is none).
                let stored = if overwrite || dst.is_empty() {
                    s.clone()
                } else {
                    match &d {
                        None | Some(Value::Nil) => list(Vec::new()),
                        Some(v) => v.clone(),
                    }
                };
                dst.insert(key.clone(), stored);
            }
            _ => {}
        }
        if let Some(dv) = &d
            && !empty(dv)
        {
            if let Value::List(_) = s {
                continue;
            }
            if let (Value::Map(_), Value::Map(_)) = (&s, dv) {
                continue;
            }
        }
        if overwrite || d.as_ref().is_none_or(empty) {
            dst.insert(key, s);
        }
    }
    Ok(())
}
