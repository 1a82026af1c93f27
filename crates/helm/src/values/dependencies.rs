//! Helm's `ProcessDependencies`: dependencies enabled or disabled by `tags` and
//! `condition`, aliases applied (subcharts renamed), disabled subcharts removed, then
//! `import-values` copied from children into parents.

use super::coalesce::{self, Ctx};
use super::tree::{self, MapRef, Node};
use crate::chart::{Chart, Dependency, semver};
use crate::{Error, Result};
use helmrelease_gotmpl::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

fn cycle() -> Error {
    Error::Values("values refer to themselves (import-values make a cycle)".into())
}

/// Processes `chart`'s dependencies against the user's values, as `helm install` and
/// `helm template` do (`ProcessDependenciesWithMerge` when `merge`, which keeps nulls while
/// importing values; `ProcessDependencies` otherwise). Helm's warnings are returned.
pub fn process_dependencies(chart: &mut Chart, values: &Value, merge: bool) -> Result<Vec<String>> {
    let mut ctx = Ctx::default();
    let v = tree::map_from_value(values);
    process_dependency_enabled(&mut ctx, chart, &v, "", 0)?;
    process_dependency_import_values(&mut ctx, chart, merge, 0)?;
    chart.fix_parents();
    if ctx.too_deep {
        return Err(cycle());
    }
    Ok(ctx.warnings)
}

fn get_alias_dependency(charts: &[Chart], dep: &Dependency) -> Option<Chart> {
    let c = charts.iter().find(|c| {
        c.name() == dep.name && semver::is_compatible_range(&dep.version, &c.metadata.version)
    })?;
    let mut out = c.clone();
    if !dep.alias.is_empty() {
        out.metadata.name = dep.alias.clone();
    }
    Some(out)
}

fn coalesced(ctx: &mut Ctx, c: &Chart, v: &MapRef, merge: bool) -> Result<MapRef> {
    let dest = tree::deep_copy(v).ok_or_else(cycle)?;
    coalesce::coalesce(ctx, c, &dest, "", merge).map_err(Error::Values)?;
    Ok(dest)
}

/// `Values.PathValue` failures: `ErrNoValue` or another error.
enum PathErr {
    NoValue,
}

/// Helm's `Values.PathValue`: the non-map value at a dotted path.
fn path_value(m: &MapRef, path: &str) -> std::result::Result<Node, PathErr> {
    let parts: Vec<&str> = path.split('.').collect();
    let (last, head) = match parts.split_last() {
        Some(x) => x,
        None => return Err(PathErr::NoValue),
    };
    let t = if head.is_empty() {
        m.clone()
    } else {
        tree::table(m, &head.join(".")).map_err(|_| PathErr::NoValue)?
    };
    match tree::get(&t, last) {
        Some(n @ Node::Leaf(_)) => Ok(n),
        _ => Err(PathErr::NoValue),
    }
}

fn process_dependency_enabled(
    ctx: &mut Ctx,
    c: &mut Chart,
    v: &MapRef,
    path: &str,
    depth: usize,
) -> Result<()> {
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    if depth > crate::chart::MAX_CHART_DEPTH {
        return Err(cycle());
    }
    let mut chart_deps: Vec<Chart> = Vec::new();
    for existing in &c.dependencies {
        let listed = c.metadata.deps().any(|req| {
            existing.name() == req.name
                && semver::is_compatible_range(&req.version, &existing.metadata.version)
        });
        if !listed {
            chart_deps.push(existing.clone());
        }
    }
    let existing = std::mem::take(&mut c.dependencies);
    for req in c.metadata.dependencies.iter_mut().flatten() {
        if let Some(dep) = get_alias_dependency(&existing, req) {
            chart_deps.push(dep);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.set_dependencies(chart_deps);
    for req in c.metadata.dependencies.iter_mut().flatten() {
        req.enabled = true;
    }
    let cvals = coalesced(ctx, c, v, false)?;
    process_dependency_tags(ctx, &mut c.metadata.dependencies, &cvals);
    process_dependency_conditions(ctx, &mut c.metadata.dependencies, &cvals, path);
    let rm: BTreeSet<String> = c
        .metadata
        .deps()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    let mut cd: Vec<Chart> = std::mem::take(&mut c.dependencies)
        .into_iter()
        .filter(|d| !rm.contains(d.name()))
        .collect();
    c.metadata
        .dependencies
        .retain(|d| d.as_ref().is_none_or(|d| !rm.contains(&d.name)));
    for t in &mut cd {
        let subpath = format!("{path}{}.", t.name());
        process_dependency_enabled(ctx, t, &cvals, &subpath, depth + 1)?;
    }
    c.set_dependencies(cd);
    Ok(())
}

fn process_dependency_tags(ctx: &mut Ctx, reqs: &mut [Option<Dependency>], cvals: &MapRef) {
    let Ok(vt) = tree::table(cvals, "tags") else {
        return;
    };
    for r in reqs.iter_mut().flatten() {
        let (mut has_true, mut has_false) = (false, false);
        for k in &r.tags {
            if let Some(b) = tree::get(&vt, k) {
                match b {
                    Node::Leaf(Value::Bool(true)) => has_true = true,
                    Node::Leaf(Value::Bool(false)) => has_false = true,
                    _ => ctx.warnings.push(format!(
                        "Warning: Tag '{k}' for chart {} returned non-bool value",
                        r.name
                    )),
                }
            }
        }
        if !has_true && has_false {
            r.enabled = false;
        } else if has_true || !has_false {
            r.enabled = true;
        }
    }
}

fn process_dependency_conditions(
    ctx: &mut Ctx,
    reqs: &mut [Option<Dependency>],
    cvals: &MapRef,
    cpath: &str,
) {
    for r in reqs.iter_mut().flatten() {
        let condition = r
            .condition
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .to_string();
        for c in condition.split(',') {
            if c.is_empty() {
                continue;
            }
            if let Ok(n) = path_value(cvals, &format!("{cpath}{c}")) {
                if let Node::Leaf(Value::Bool(b)) = n {
                    r.enabled = b;
                    break;
                }
                ctx.warnings.push(format!(
                    "Warning: Condition path '{c}' for chart {} returned non-bool value",
                    r.name
                ));
            }
        }
    }
}

fn process_dependency_import_values(
    ctx: &mut Ctx,
    c: &mut Chart,
    merge: bool,
    depth: usize,
) -> Result<()> {
    if depth > crate::chart::MAX_CHART_DEPTH {
        return Err(cycle());
    }
    for d in &mut c.dependencies {
        process_dependency_import_values(ctx, d, merge, depth + 1)?;
    }
    process_import_values(ctx, c, merge)
}

/// Helm's `pathToMap`: `.` is the map itself, `a.b` nests it under `a` then `b`.
fn path_to_map(path: &str, data: MapRef) -> MapRef {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let m = tree::new_map();
        tree::set(&m, part, Node::Map(cur));
        cur = m;
    }
    cur
}

fn tables(ctx: &mut Ctx, dst: MapRef, src: &MapRef, merge: bool) -> MapRef {
    coalesce::coalesce_tables_full_key(ctx, &dst, src, "", merge, 0);
    dst
}

fn process_import_values(ctx: &mut Ctx, c: &mut Chart, merge: bool) -> Result<()> {
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let cvals = coalesced(ctx, c, &tree::new_map(), merge)?;
    let mut b = tree::new_map();
    for r in c.metadata.dependencies.iter_mut().flatten() {
        let mut outiv = Vec::new();
        for riv in &r.import_values {
            match riv {
                Value::Map(iv) => {
                    let pv = |k: &str| {
                        helmrelease_gotmpl::fmt::format_value(&iv.get(k).unwrap_or(Value::Nil))
                    };
                    let (child, parent) = (pv("child"), pv("parent"));
                    outiv.push(pair(&child, &parent));
                    match tree::table(&cvals, &format!("{}.{child}", r.name)) {
                        Ok(vv) => b = tables(ctx, b, &path_to_map(&parent, vv), merge),
                        Err(e) => ctx.warnings.push(format!(
                            "Warning: ImportValues missing table from chart {}: {e}",
                            r.name
                        )),
                    }
                }
                Value::String(iv) => {
                    let child = format!("exports.{iv}");
                    outiv.push(pair(&child, "."));
                    match tree::table(&cvals, &format!("{}.{child}", r.name)) {
                        Ok(vm) => b = tables(ctx, b, &vm, merge),
                        Err(e) => ctx
                            .warnings
                            .push(format!("Warning: ImportValues missing table: {e}")),
                    }
                }
                _ => {}
            }
        }
        r.import_values = outiv;
    }
    let base = if merge {
        tree::deep_copy(&cvals)
    } else {
        tree::trim_nil_values(&cvals)
    }
    .ok_or_else(cycle)?;
    let out = tables(ctx, base, &b, merge);
    if ctx.too_deep {
        return Err(cycle());
    }
    c.values = Node::Map(out).to_value().ok_or_else(cycle)?;
    Ok(())
}

fn pair(child: &str, parent: &str) -> Value {
    let mut m = BTreeMap::new();
    m.insert("child".to_string(), Value::string(child));
    m.insert("parent".to_string(), Value::string(parent));
    Value::Map(Map::from(m))
}
