//! List functions: `list`, `append`, `first`, `slice`, `chunk`, `uniq`..., `compact`, and the
//! integer sequences `until`, `untilStep` and `seq`.
//!
//! Sprig works on any slice through reflection; the non-`must` forms panic where the `must`
//! forms return the error, and both messages are the same, so each pair shares one body.

use helmrelease_gotmpl::{Funcs, Type, Value};

use super::conv::{deep_equal, empty, float_to_int, kind_or_nil_panic, to_int64};
use super::strings::join_ints;
use super::{add, arg, check_items, go_int, int_arg, list, string};

pub(super) fn register(funcs: &mut Funcs) {
    use Type::{Any, Int};
    for name in ["list", "tuple"] {
        add(
            funcs,
            name,
            &[],
            Some(Any),
            "func(...interface {}) []interface {}",
            |a| Ok(list(a.to_vec())),
        );
    }
    for (name, go) in [
        ("append", "func(interface {}, interface {}) []interface {}"),
        ("push", "func(interface {}, interface {}) []interface {}"),
        (
            "mustAppend",
            "func(interface {}, interface {}) ([]interface {}, error)",
        ),
        (
            "mustPush",
            "func(interface {}, interface {}) ([]interface {}, error)",
        ),
    ] {
        add(funcs, name, &[Any, Any], None, go, |a| {
            let items = items(arg(a, 0), |k| format!("Cannot push on type {k}"))?;
            check_items(items.len() + 1)?;
            let mut out = items.to_vec();
            out.push(arg(a, 1).clone());
            Ok(list(out))
        });
    }
    for (name, go) in [
        ("prepend", "func(interface {}, interface {}) []interface {}"),
        (
            "mustPrepend",
            "func(interface {}, interface {}) ([]interface {}, error)",
        ),
    ] {
        add(funcs, name, &[Any, Any], None, go, |a| {
            let items = items(arg(a, 0), |k| format!("Cannot prepend on type {k}"))?;
            check_items(items.len() + 1)?;
            let mut out = Vec::with_capacity(items.len() + 1);
            out.push(arg(a, 1).clone());
            out.extend_from_slice(items);
            Ok(list(out))
        });
    }
    let one = "func(interface {}) interface {}";
    let must_one = "func(interface {}) (interface {}, error)";
    let many = "func(interface {}) []interface {}";
    let must_many = "func(interface {}) ([]interface {}, error)";
    for (name, go) in [("first", one), ("mustFirst", must_one)] {
        add(funcs, name, &[Any], None, go, |a| {
            let items = items(arg(a, 0), |k| format!("Cannot find first on type {k}"))?;
            Ok(items.first().cloned().unwrap_or(Value::Nil))
        });
    }
    for (name, go) in [("last", one), ("mustLast", must_one)] {
        add(funcs, name, &[Any], None, go, |a| {
            let items = items(arg(a, 0), |k| format!("Cannot find last on type {k}"))?;
            Ok(items.last().cloned().unwrap_or(Value::Nil))
        });
    }
    for (name, go) in [("rest", many), ("mustRest", must_many)] {
        add(funcs, name, &[Any], None, go, |a| {
            let items = items(arg(a, 0), |k| format!("Cannot find rest on type {k}"))?;
            Ok(list(items.get(1..).unwrap_or_default().to_vec()))
        });
    }
    for (name, go) in [("initial", many), ("mustInitial", must_many)] {
        add(funcs, name, &[Any], None, go, |a| {
            let items = items(arg(a, 0), |k| format!("Cannot find initial on type {k}"))?;
            let n = items.len().saturating_sub(1);
            Ok(list(items[..n].to_vec()))
        });
    }
    for (name, go) in [("reverse", many), ("mustReverse", must_many)] {
        add(funcs, name, &[Any], None, go, |a| {
            let items = items(arg(a, 0), |k| format!("Cannot find reverse on type {k}"))?;
            Ok(list(items.iter().rev().cloned().collect()))
        });
    }
    for (name, go) in [("uniq", many), ("mustUniq", must_many)] {
        add(funcs, name, &[Any], None, go, |a| {
            let items = items(arg(a, 0), |k| format!("Cannot find uniq on type {k}"))?;
            let mut out: Vec<Value> = Vec::new();
            for item in items {
                if !out.iter().any(|o| deep_equal(item, o)) {
                    out.push(item.clone());
                }
            }
            Ok(list(out))
        });
    }
    for (name, go) in [("compact", many), ("mustCompact", must_many)] {
        add(funcs, name, &[Any], None, go, |a| {
            let items = items(arg(a, 0), |k| format!("Cannot compact on type {k}"))?;
            Ok(list(items.iter().filter(|v| !empty(v)).cloned().collect()))
        });
    }
    for (name, go) in [
        (
            "without",
            "func(interface {}, ...interface {}) []interface {}",
        ),
        (
            "mustWithout",
            "func(interface {}, ...interface {}) ([]interface {}, error)",
        ),
    ] {
        add(funcs, name, &[Any], Some(Any), go, |a| {
            let items = items(arg(a, 0), |k| format!("Cannot find without on type {k}"))?;
            let omit = a.get(1..).unwrap_or_default();
            Ok(list(
                items
                    .iter()
                    .filter(|v| !omit.iter().any(|o| deep_equal(v, o)))
                    .cloned()
                    .collect(),
            ))
        });
    }
    for (name, go) in [
        ("has", "func(interface {}, interface {}) bool"),
        ("mustHas", "func(interface {}, interface {}) (bool, error)"),
    ] {
        add(funcs, name, &[Any, Any], None, go, |a| {
            let haystack = arg(a, 1);
            if let Value::Nil = haystack {
                return Ok(Value::Bool(false));
            }
            let items = items(haystack, |k| format!("Cannot find has on type {k}"))?;
            let needle = arg(a, 0);
            Ok(Value::Bool(items.iter().any(|v| deep_equal(needle, v))))
        });
    }
    for (name, go) in [
        ("slice", "func(interface {}, ...interface {}) interface {}"),
        (
            "mustSlice",
            "func(interface {}, ...interface {}) (interface {}, error)",
        ),
    ] {
        add(funcs, name, &[Any], Some(Any), go, |a| {
            let items = items(arg(a, 0), |k| {
                format!("list should be type of slice or array but {k}")
            })?;
            if items.is_empty() {
                return Ok(Value::Nil);
            }
            let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
            let start = a.get(1).map_or(0, to_int64);
            let end = a.get(2).map_or(len, to_int64);
            if start < 0 || end < start || end > len {
                return Err("reflect.Value.Slice: slice index out of bounds".to_string());
            }
            let (start, end) = (
                usize::try_from(start).unwrap_or(0),
                usize::try_from(end).unwrap_or(0),
            );
            Ok(list(items[start..end].to_vec()))
        });
    }
    add(
        funcs,
        "concat",
        &[],
        Some(Any),
        "func(...interface {}) interface {}",
        |a| {
            let mut out = Vec::new();
            for l in a {
                let items = items(l, |k| format!("Cannot concat type {k} as list"))?;
                check_items(out.len() + items.len())?;
                out.extend_from_slice(items);
            }
            Ok(list(out))
        },
    );
    for (name, go) in [
        ("chunk", "func(int, interface {}) [][]interface {}"),
        (
            "mustChunk",
            "func(int, interface {}) ([][]interface {}, error)",
        ),
    ] {
        add(funcs, name, &[Int, Any], None, go, |a| {
            let size = int_arg(a, 0)?;
            let items = items(arg(a, 1), |k| format!("Cannot chunk type {k}"))?;
            chunk(size, items)
        });
    }

    add(funcs, "until", &[Int], None, "func(int) []int", |a| {
        let count = int_arg(a, 0)?;
        let step = if count < 0 { -1 } else { 1 };
        Ok(int_list(&until_step(0, count, step)?))
    });
    add(
        funcs,
        "untilStep",
        &[Int, Int, Int],
        None,
        "func(int, int, int) []int",
        |a| {
            Ok(int_list(&until_step(
                int_arg(a, 0)?,
                int_arg(a, 1)?,
                int_arg(a, 2)?,
            )?))
        },
    );
    add(funcs, "seq", &[], Some(Int), "func(...int) string", |a| {
        let p: Vec<i64> = a
            .iter()
            .map(|v| match v {
                Value::Int(n, _) => *n,
                _ => 0,
            })
            .collect();
        let nums = match p.as_slice() {
            [end] => {
                let inc = if *end < 1 { -1 } else { 1 };
                until_step(1, end.wrapping_add(inc), inc)?
            }
            [start, end] => {
                let step = if end < start { -1 } else { 1 };
                until_step(*start, end.wrapping_add(step), step)?
            }
            [start, step, end] => {
                let mut inc = 1;
                if end < start {
                    inc = -1;
                    if *step > 0 {
                        return Ok(string(""));
                    }
                }
                until_step(*start, end.wrapping_add(inc), *step)?
            }
            _ => Vec::new(),
        };
        Ok(string(join_ints(&nums, " ")))
    });
}

/// The elements of a list argument, or Sprig's error for other kinds (a nil dereference
/// for nil).
fn items(v: &Value, err: impl Fn(&str) -> String) -> Result<&[Value], String> {
    match v {
        Value::List(l) => Ok(l),
        v => Err(err(kind_or_nil_panic(v)?)),
    }
}

fn int_list(items: &[i64]) -> Value {
    list(items.iter().map(|&n| go_int(n)).collect())
}

/// Sprig's `untilStep`: `start, start+step, ...` up to `stop` (exclusive), counting down when
/// `stop < start` and `step` is negative; empty when `step` points away from `stop`.
fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, String> {
    let (start128, stop128, step128) = (i128::from(start), i128::from(stop), i128::from(step));
    let n: i128 = if stop < start {
        if step >= 0 {
            return Ok(Vec::new());
        }
        (start128 - stop128 + (-step128) - 1) / (-step128)
    } else {
        if step <= 0 {
            return Ok(Vec::new());
        }
        (stop128 - start128 + step128 - 1) / step128
    };
    check_items(usize::try_from(n).unwrap_or(usize::MAX))?;
    let n = usize::try_from(n).unwrap_or(0);
    Ok((0..n)
        .map(|i| {
            let v = start128 + step128 * i128::try_from(i).unwrap_or(0);
            i64::try_from(v).unwrap_or(0)
        })
        .collect())
}

/// Sprig's `mustChunk`, float arithmetic and Go's panics included.
fn chunk(size: i64, items: &[Value]) -> Result<Value, String> {
    const MAKESLICE: &str = "runtime error: makeslice: len out of range";
    let l = items.len() as f64;
    let cs = float_to_int(((l - 1.0) / size as f64).floor() + 1.0);
    if cs < 0 {
        return Err(MAKESLICE.to_string());
    }
    check_items(usize::try_from(cs).unwrap_or(usize::MAX))?;
    let mut out = Vec::new();
    for i in 0..cs {
        let mut clen = size;
        if i == cs - 1 {
            // math.Mod keeps the sign of the dividend, as Rust's `%` on floats does.
            clen = float_to_int((l % size as f64).floor());
            if clen == 0 {
                clen = size;
            }
        }
        if clen < 0 {
            return Err(MAKESLICE.to_string());
        }
        check_items(usize::try_from(clen).unwrap_or(usize::MAX))?;
        let mut part = Vec::new();
        for j in 0..clen {
            let ix = i.saturating_mul(size).saturating_add(j);
            match usize::try_from(ix).ok().and_then(|ix| items.get(ix)) {
                Some(v) => part.push(v.clone()),
                None => return Err("reflect: slice index out of range".to_string()),
            }
        }
        out.push(list(part));
    }
    Ok(list(out))
}
