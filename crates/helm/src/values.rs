//! Values, composed exactly as Helm composes them.
//!
//! * User values: `-f` files merged in order ([`merge_maps`]: later files win, maps merge
//!   recursively), then `--set-json`, `--set`, `--set-string`, `--set-file` and
//!   `--set-literal` ([`ValueOptions::merge_values`], parsers in [`strvals`]).
//! * Dependencies: [`process_dependencies`] enables subcharts by `tags` and `condition`,
//!   applies aliases, drops disabled subcharts and imports `import-values`.
//! * Coalescing: [`coalesce_values`] puts chart defaults under user values (Helm's
//!   `CoalesceValues`), subcharts' under their key, with `global` flowing down.
//! * Validation: [`schema`] checks each chart's `values.schema.json`.
//!
//! [`prepare`] runs the whole sequence `helm template` runs and returns `.Values`;
//! [`subchart_values`] gives the `.Values` a subchart's templates see.

pub mod schema;
pub mod strvals;

mod coalesce;
mod dependencies;
mod tree;

pub use dependencies::process_dependencies;

use crate::chart::Chart;
use crate::profile::HelmVersion;
use crate::{Error, Result};
use helmrelease_gotmpl::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

use tree::Node;

/// The key under which values are shared with every subchart.
pub const GLOBAL_KEY: &str = "global";

fn cycle() -> Error {
    Error::Values("values refer to themselves (import-values make a cycle)".into())
}

fn run_coalesce(chart: &Chart, values: &Value, merge: bool) -> Result<(Value, Vec<String>)> {
    let mut ctx = coalesce::Ctx::default();
    let dest = tree::map_from_value(values);
    coalesce::coalesce(&mut ctx, chart, &dest, "", merge).map_err(Error::Values)?;
    if ctx.too_deep {
        return Err(cycle());
    }
    let v = Node::Map(dest).to_value().ok_or_else(cycle)?;
    Ok((v, ctx.warnings))
}

/// Helm's `CoalesceValues`: the chart's defaults (and its subcharts') under `values`, a
/// user `null` deleting a default.
pub fn coalesce_values(chart: &Chart, values: &Value) -> Result<Value> {
    run_coalesce(chart, values, false).map(|(v, _)| v)
}

/// [`coalesce_values`], with the warnings Helm would log.
pub fn coalesce_values_with_warnings(
    chart: &Chart,
    values: &Value,
) -> Result<(Value, Vec<String>)> {
    run_coalesce(chart, values, false)
}

/// Helm's `MergeValues`: like [`coalesce_values`] but nulls are kept.
pub fn merge_values(chart: &Chart, values: &Value) -> Result<Value> {
    run_coalesce(chart, values, true).map(|(v, _)| v)
}

fn tables(dst: &Value, src: &Value, merge: bool) -> Result<Value> {
    let mut ctx = coalesce::Ctx::default();
    let d = tree::map_from_value(dst);
    let s = tree::map_from_value(src);
    coalesce::coalesce_tables_full_key(&mut ctx, &d, &s, "", merge, 0);
    Node::Map(d).to_value().ok_or_else(cycle)
}

/// Helm's `CoalesceTables`: `src` merged under `dst` (`dst` wins; a `null` in `dst` deletes
/// a non-null `src` value).
pub fn coalesce_tables(dst: &Value, src: &Value) -> Result<Value> {
    tables(dst, src, false)
}

/// Helm's `MergeTables`: like [`coalesce_tables`] but nulls are kept.
pub fn merge_tables(dst: &Value, src: &Value) -> Result<Value> {
    tables(dst, src, true)
}

/// Helm's `mergeMaps` (`-f` files): `b` over `a`, maps merged recursively, anything else
/// replaced (a `null` replaces too).
pub fn merge_maps(a: &Value, b: &Value) -> Value {
    let mut out: BTreeMap<String, Value> = match a {
        Value::Map(m) => m.to_btree(),
        _ => BTreeMap::new(),
    };
    if let Value::Map(bm) = b {
        for (k, v) in bm.entries() {
            if let (Value::Map(_), Some(existing @ Value::Map(_))) = (&v, out.get(&k)) {
                let merged = merge_maps(existing, &v);
                out.insert(k, merged);
                continue;
            }
            out.insert(k, v);
        }
    }
    Value::Map(Map::from(out))
}

/// Helm 4's `LoadValues`: each YAML document of `text` read as a map and merged over the ones
/// before it ([`merge_maps`]).
pub fn load_values(text: &str) -> std::result::Result<Value, String> {
    let mut out = Value::Map(Map::new());
    for doc in yaml_documents(text) {
        let v = crate::yaml::from_yaml(doc)
            .map_err(|e| format!("cannot unmarshal yaml document: {e}"))?;
        out = merge_maps(&out, &v);
    }
    Ok(out)
}

/// The documents of a YAML stream split as k8s.io's `YAMLReader` splits them: at lines that
/// start with `---` followed by nothing but spaces or a comment; empty documents dropped.
fn yaml_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let rest = line.strip_prefix("---").map(str::trim);
        if rest.is_some_and(|r| r.is_empty() || r.starts_with('#')) {
            if offset > start {
                docs.push(&text[start..offset]);
            }
            start = offset + line.len();
        }
        offset += line.len();
    }
    if text.len() > start {
        docs.push(&text[start..]);
    }
    docs
}

/// Helm's `Values.Table`: the map at a dotted path (`"x" is not a table` otherwise) — the
/// map itself, shared, not a copy.
pub fn table(values: &Value, path: &str) -> Result<Value> {
    let mut cur = values.clone();
    for part in path.split('.') {
        cur = match &cur {
            Value::Map(m) => match m.get(part) {
                Some(v @ Value::Map(_)) => v,
                _ => return Err(not_table(part)),
            },
            _ => return Err(not_table(part)),
        };
    }
    Ok(cur)
}

fn not_table(key: &str) -> Error {
    Error::Values(format!(
        "{} is not a table",
        crate::chart::metadata::quote(key)
    ))
}

/// Helm's `Values.PathValue`: the non-map value at a dotted path (`"x" is not a value`).
pub fn path_value(values: &Value, path: &str) -> Result<Value> {
    if path.is_empty() {
        return Err(Error::Values("YAML path cannot be empty".into()));
    }
    let parts: Vec<&str> = path.split('.').collect();
    let (last, head) = parts
        .split_last()
        .ok_or_else(|| Error::Values("YAML path cannot be empty".into()))?;
    let no_value = || {
        Error::Values(format!(
            "{} is not a value",
            crate::chart::metadata::quote(last)
        ))
    };
    let t = if head.is_empty() {
        values.clone()
    } else {
        table(values, &head.join(".")).map_err(|_| no_value())?
    };
    match &t {
        Value::Map(m) => match m.get(last) {
            Some(Value::Map(_)) | None => Err(no_value()),
            Some(v) => Ok(v),
        },
        _ => Err(no_value()),
    }
}

/// The `.Values` a subchart's templates see: the parent's `.Values.<name>` when it is a
/// map (the same map, so changes templates make to it show on both sides), a new empty map
/// otherwise (Helm's engine).
pub fn subchart_values(parent_values: &Value, name: &str) -> Value {
    match parent_values {
        Value::Map(m) => match m.get(name) {
            Some(v @ Value::Map(_)) => v.clone(),
            _ => Value::Map(Map::new()),
        },
        _ => Value::Map(Map::new()),
    }
}

/// The `.Values` of a render (Helm's `ToRenderValues`): coalesced values, checked against
/// the charts' schemas unless `skip_schema_validation`.
pub fn to_render_values(
    chart: &Chart,
    values: &Value,
    skip_schema_validation: bool,
) -> Result<Value> {
    let vals = coalesce_values(chart, values)?;
    if !skip_schema_validation {
        schema::validate_against_schema(chart, &vals).map_err(|e| {
            Error::Values(format!(
                "values don't meet the specifications of the schema(s) in the following chart(s):\n{e}"
            ))
        })?;
    }
    Ok(vals)
}

/// What `helm template`/`install` do before rendering: check that the chart is installable
/// and that declared dependencies are present, process them (`ProcessDependenciesWithMerge`),
/// then build `.Values`.
pub fn prepare(chart: &mut Chart, values: &Value) -> Result<Value> {
    prepare_with(chart, values, false)
}

/// [`prepare`], optionally without `values.schema.json` validation (`--skip-schema-validation`).
pub fn prepare_with(
    chart: &mut Chart,
    values: &Value,
    skip_schema_validation: bool,
) -> Result<Value> {
    chart.check_installable()?;
    if !chart.metadata.dependencies.is_empty() {
        chart.check_dependencies().map_err(|e| {
            Error::Chart(format!(
                "An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: {e}"
            ))
        })?;
    }
    process_dependencies(chart, values, true)?;
    to_render_values(chart, values, skip_schema_validation)
}

/// Helm's `ReadValues`: a values document (empty or null is an empty map).
pub fn read_values(text: &str) -> Result<Value> {
    crate::yaml::read_values(text)
}

/// The user-values flags of `helm install`/`template` (`-f`, `--set`, ...).
#[derive(Debug, Clone, Default)]
pub struct ValueOptions {
    /// `-f/--values` files, merged in order.
    pub value_files: Vec<PathBuf>,
    /// `--set-json`.
    pub json_values: Vec<String>,
    /// `--set`.
    pub values: Vec<String>,
    /// `--set-string`.
    pub string_values: Vec<String>,
    /// `--set-file`.
    pub file_values: Vec<String>,
    /// `--set-literal`.
    pub literal_values: Vec<String>,
}

/// `os.ReadFile`'s error text.
fn read_file(path: &str) -> std::result::Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
            _ => e.to_string(),
        };
        if e.kind() == std::io::ErrorKind::IsADirectory {
            format!("read {path}: {why}")
        } else {
            format!("open {path}: {why}")
        }
    })
}

impl ValueOptions {
    /// Helm's `Options.MergeValues`, with Helm's error messages (`failed to parse FILE:
    /// ...`, `failed parsing --set data: ...`, `failed parsing --set-json data VALUE`).
    pub fn merge_values(&self) -> Result<Value> {
        self.merge_values_as(HelmVersion::default())
    }

    /// [`ValueOptions::merge_values`] as the given Helm reads `-f` files: Helm 4 merges every
    /// YAML document of a file, Helm 3 reads the first.
    pub fn merge_values_as(&self, helm: HelmVersion) -> Result<Value> {
        let mut base = Value::Map(Map::new());
        for path in &self.value_files {
            let shown = path.display().to_string();
            let bytes = read_file(&shown).map_err(Error::Values)?;
            let current = match helm {
                HelmVersion::V4 => load_values(&String::from_utf8_lossy(&bytes)),
                HelmVersion::V3 => {
                    crate::chart::parse_values_map(&bytes).map_err(|e| e.to_string())
                }
            }
            .map_err(|e| Error::Values(format!("failed to parse {shown}: {e}")))?;
            base = merge_maps(&base, &current);
        }
        for value in &self.json_values {
            let trimmed = value.trim();
            let parsed = if trimmed.starts_with('{') {
                // `--set-json '{"a": 1}'` (a JSON object merged like a values file).
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(trimmed)
                    .map(|m| merge_maps(&base, &Value::from_json(&serde_json::Value::Object(m))))
                    .map_err(|_| format!("failed parsing --set-json data JSON: {value}"))
            } else {
                strvals::parse_json(value, &base)
                    .map_err(|_| format!("failed parsing --set-json data {value}"))
            };
            base = parsed.map_err(Error::Values)?;
        }
        for value in &self.values {
            base = strvals::parse_into(value, &base)
                .map_err(|e| Error::Values(format!("failed parsing --set data: {e}")))?;
        }
        for value in &self.string_values {
            base = strvals::parse_into_string(value, &base)
                .map_err(|e| Error::Values(format!("failed parsing --set-string data: {e}")))?;
        }
        for value in &self.file_values {
            let mut reader = |p: &str| -> std::result::Result<Value, String> {
                let bytes = read_file(p)?;
                Ok(Value::string(String::from_utf8_lossy(&bytes).as_ref()))
            };
            base = strvals::parse_into_file(value, &base, &mut reader)
                .map_err(|e| Error::Values(format!("failed parsing --set-file data: {e}")))?;
        }
        for value in &self.literal_values {
            base = strvals::parse_literal_into(value, &base)
                .map_err(|e| Error::Values(format!("failed parsing --set-literal data: {e}")))?;
        }
        Ok(base)
    }
}

#[cfg(test)]
mod load_values_tests {
    use super::*;

    #[test]
    fn documents_are_split_at_separator_lines_only() {
        assert_eq!(
            yaml_documents("a: 1\n---\nb: 2\n--- # c\n---\n"),
            vec!["a: 1\n", "b: 2\n"]
        );
        assert_eq!(
            yaml_documents("a: '---'\n----x: 1\n"),
            vec!["a: '---'\n----x: 1\n"]
        );
    }

    #[test]
    fn helm_4_merges_every_document() {
        let merged = load_values("a: 1\nm: {x: 1}\n---\nb: 2\nm: {z: 2}\n").unwrap_or_default();
        assert_eq!(
            merged.to_json(),
            serde_json::json!({"a": 1.0, "b": 2.0, "m": {"x": 1.0, "z": 2.0}})
        );
        let err = load_values("a: 1\n---\nb: [1\n").unwrap_err();
        assert!(err.starts_with("cannot unmarshal yaml document: "), "{err}");
    }
}
