//! Go's `path` functions (`base`, `dir`, `clean`, `ext`, `isAbs`) and `path/filepath` on
//! Linux (`osBase`, `osDir`, `osClean`, `osExt`, `osIsAbs`), which with `/` as the only
//! separator and no volume names compute the same results.

use helmrelease_gotmpl::{Funcs, Type, Value};

use super::{add, str_arg, string};

pub(super) fn register(funcs: &mut Funcs) {
    let s1 = "func(string) string";
    for name in ["base", "osBase"] {
        add(funcs, name, &[Type::String], None, s1, |a| {
            Ok(string(base(str_arg(a, 0)?)))
        });
    }
    for name in ["dir", "osDir"] {
        add(funcs, name, &[Type::String], None, s1, |a| {
            Ok(string(dir(str_arg(a, 0)?)))
        });
    }
    for name in ["clean", "osClean"] {
        add(funcs, name, &[Type::String], None, s1, |a| {
            Ok(string(clean(str_arg(a, 0)?)))
        });
    }
    for name in ["ext", "osExt"] {
        add(funcs, name, &[Type::String], None, s1, |a| {
            Ok(string(ext(str_arg(a, 0)?)))
        });
    }
    for name in ["isAbs", "osIsAbs"] {
        add(
            funcs,
            name,
            &[Type::String],
            None,
            "func(string) bool",
            |a| Ok(Value::Bool(str_arg(a, 0)?.starts_with('/'))),
        );
    }
}

/// `path.Base`: the last element, trailing slashes dropped; "." for "", "/" for all slashes.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let p = p.trim_end_matches('/');
    let p = match p.rfind('/') {
        Some(i) => &p[i + 1..],
        None => p,
    };
    if p.is_empty() {
        "/".to_string()
    } else {
        p.to_string()
    }
}

/// `path.Dir`: everything up to the last slash, cleaned.
fn dir(p: &str) -> String {
    let d = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    clean(d)
}

/// `path.Ext`: the suffix from the last dot of the last element.
fn ext(p: &str) -> String {
    for (i, b) in p.bytes().enumerate().rev() {
        match b {
            b'/' => break,
            b'.' => return p[i..].to_string(),
            _ => {}
        }
    }
    String::new()
}

/// Go's `path.Clean`: the shortest equivalent path, by purely lexical processing.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    // How many leading ".." an unrooted path keeps.
    let mut dotdot = 0;
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." => {
                if out.len() > dotdot {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                    dotdot = out.len();
                }
            }
            e => out.push(e),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}
