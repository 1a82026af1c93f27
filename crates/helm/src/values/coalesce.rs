//! Helm's `chartutil` coalescing (`CoalesceValues`, `MergeValues`, `CoalesceTables`,
//! `MergeTables`), as of Helm 3.20/3.21: user values win over chart defaults, maps merge
//! recursively, a user `null` deletes a non-null default (coalescing) or stays (merging),
//! subchart values come from the parent's `<subchart>` key (merged with `null`s kept, so
//! the subchart's own pass can delete its defaults), and `global` flows from parent to
//! subcharts.

use super::tree::{self, MAX_DEPTH, MapRef, Node};
use crate::chart::Chart;
use helmrelease_gotmpl::Value;

/// What coalescing noticed: Helm logs these warnings; `too_deep` marks a cycle.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub(crate) warnings: Vec<String>,
    pub(crate) too_deep: bool,
    steps: u64,
}

fn concat(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn v(n: &Node) -> String {
    match n {
        Node::Leaf(v) => helmrelease_gotmpl::fmt::format_value(v),
        Node::Map(_) => n.to_value().map_or_else(
            || "map[...]".to_string(),
            |v| helmrelease_gotmpl::fmt::format_value(&v),
        ),
    }
}

/// `coalesce`: this chart's defaults, then its subcharts'.
pub(crate) fn coalesce(
    ctx: &mut Ctx,
    ch: &Chart,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
) -> Result<(), String> {
    coalesce_values(ctx, ch, dest, prefix, merge);
    coalesce_deps(ctx, ch, dest, prefix, merge)
}

fn coalesce_deps(
    ctx: &mut Ctx,
    ch: &Chart,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
) -> Result<(), String> {
    for sub in &ch.dependencies {
        let name = sub.name();
        match tree::get(dest, name) {
            None => tree::set(dest, name, Node::Map(tree::new_map())),
            Some(Node::Map(_)) => {}
            Some(Node::Leaf(c)) => {
                return Err(helmrelease_gotmpl::fmt::sprintf(
                    "type mismatch on %s: %t",
                    &[Value::string(name), c],
                ));
            }
        }
        if let Some(Node::Map(dvmap)) = tree::get(dest, name) {
            let sub_prefix = concat(prefix, ch.name());
            coalesce_globals(ctx, &dvmap, dest, &sub_prefix);
            coalesce(ctx, sub, &dvmap, &sub_prefix, merge)?;
            tree::set(dest, name, Node::Map(dvmap));
        }
    }
    Ok(())
}

/// `coalesceGlobals`: the parent's `global` (src) merged into the subchart's (dest), the
/// parent winning.
fn coalesce_globals(ctx: &mut Ctx, dest: &MapRef, src: &MapRef, prefix: &str) {
    let dg = match tree::get(dest, "global") {
        None => tree::new_map(),
        Some(Node::Map(m)) => m,
        Some(Node::Leaf(_)) => {
            ctx.warnings.push(
                "warning: skipping globals because destination global is not a table.".into(),
            );
            return;
        }
    };
    let sg = match tree::get(src, "global") {
        None => tree::new_map(),
        Some(Node::Map(m)) => m,
        Some(Node::Leaf(_)) => {
            ctx.warnings
                .push("warning: skipping globals because source global is not a table.".into());
            return;
        }
    };
    for (key, val) in tree::entries(&sg) {
        match &val {
            Node::Map(vm) => {
                let vv = tree::shallow_copy(vm);
                match tree::get(&dg, &key) {
                    None => tree::set(&dg, &key, Node::Map(vv)),
                    Some(Node::Leaf(_)) => ctx.warnings.push(format!(
                        "Conflict: cannot merge map onto non-map for {}. Skipping.",
                        crate::chart::metadata::quote(&key)
                    )),
                    Some(Node::Map(destvmap)) => {
                        // Top-down: the parent's copy is authoritative; nulls kept.
                        coalesce_tables_full_key(
                            ctx,
                            &vv,
                            &destvmap,
                            &concat(prefix, &key),
                            true,
                            0,
                        );
                        tree::set(&dg, &key, Node::Map(vv));
                    }
                }
            }
            Node::Leaf(_) => {
                if let Some(Node::Map(_)) = tree::get(&dg, &key) {
                    ctx.warnings.push(format!("key {key} is table. Skipping"));
                } else {
                    tree::set(&dg, &key, val.clone());
                }
            }
        }
    }
    tree::set(dest, "global", Node::Map(dg));
}

fn child_chart_merge_true(ch: &Chart, key: &str, merge: bool) -> bool {
    ch.dependencies.iter().any(|d| d.name() == key) || merge
}

/// `coalesceValues`: the chart's defaults (a deep copy) under the values in `v`.
fn coalesce_values(ctx: &mut Ctx, c: &Chart, v: &MapRef, prefix: &str, merge: bool) {
    let sub_prefix = concat(prefix, c.name());
    let vc = tree::map_from_value(&c.values);
    for (key, val) in tree::entries(&vc) {
        match tree::get(v, &key) {
            Some(value) => {
                if value.is_nil() && !merge {
                    tree::remove(v, &key);
                } else if let Node::Map(dest) = &value {
                    match &val {
                        Node::Map(src) => {
                            let merge = child_chart_merge_true(c, &key, merge);
                            coalesce_tables_full_key(
                                ctx,
                                dest,
                                src,
                                &concat(&sub_prefix, &key),
                                merge,
                                0,
                            );
                        }
                        Node::Leaf(Value::Nil) => {}
                        Node::Leaf(_) => ctx.warnings.push(format!(
                            "warning: skipped value for {sub_prefix}.{key}: Not a table."
                        )),
                    }
                }
            }
            None => tree::set(v, &key, val),
        }
    }
}

/// `coalesceTablesFullKey`: `src` merged into `dst`, `dst` winning. With `merge` false a
/// `null` in `dst` deletes a non-null `src` value; nulls in `dst` over null or absent `src`
/// values stay.
pub(crate) fn coalesce_tables_full_key(
    ctx: &mut Ctx,
    dst: &MapRef,
    src: &MapRef,
    prefix: &str,
    merge: bool,
    depth: usize,
) {
    ctx.steps += 1;
    if depth > MAX_DEPTH || ctx.steps > tree::MAX_NODES {
        ctx.too_deep = true;
        return;
    }
    if std::rc::Rc::ptr_eq(dst, src) {
        return;
    }
    ctx.steps += src.borrow().len() as u64;
    let src_non_nil: std::collections::BTreeSet<String> = tree::entries(src)
        .into_iter()
        .filter(|(_, n)| !n.is_nil())
        .map(|(k, _)| k)
        .collect();
    for (key, val) in tree::entries(dst) {
        if val.is_nil() {
            tree::set(src, &key, Node::Leaf(Value::Nil));
        }
    }
    for (key, val) in tree::entries(src) {
        let fullkey = concat(prefix, &key);
        let dv = tree::get(dst, &key);
        match dv {
            Some(dv) if !merge && dv.is_nil() && src_non_nil.contains(&key) => {
                tree::remove(dst, &key);
            }
            None => tree::set(dst, &key, val),
            Some(dv) => match (&val, &dv) {
                (Node::Map(s), Node::Map(d)) => {
                    coalesce_tables_full_key(ctx, d, s, &fullkey, merge, depth + 1);
                }
                (Node::Map(_), Node::Leaf(_)) => ctx.warnings.push(format!(
                    "warning: cannot overwrite table with non table for {fullkey} ({})",
                    v(&val)
                )),
                (Node::Leaf(l), Node::Map(_)) if !matches!(l, Value::Nil) => {
                    ctx.warnings.push(format!(
                        "warning: destination for {fullkey} is a table. Ignoring non-table value ({})",
                        v(&val)
                    ))
                }
                _ => {}
            },
        }
    }
}
