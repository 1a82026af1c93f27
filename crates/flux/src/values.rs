//! Values as Flux composes them (fluxcd/pkg `chartutil.ChartValuesFromReferences`):
//! `valuesFrom` in order, whole documents deep-merged at the root or one value written at
//! `targetPath`, then `spec.values` on top. Also what of them came from Secrets, so that
//! every printed form can hide it ([`SecretValues`]).
//!
//! Secret contents pass through here as data only: nothing in this module prints or logs
//! them, and errors name the Secret and key, never the value.

use crate::reader::{ObjectKind, ObjectReader, decode_base64};
use crate::{Error, Result};
use helmrelease_crds::helmrelease::{HelmRelease, ValuesKind, ValuesReference};
use helmrelease_diff::objects::{MASK, mask_secret_pair};
use helmrelease_gotmpl::Value as TValue;
use helmrelease_helm::values::{merge_maps, strvals};
use serde_json::{Map, Value};

/// Flux's default `valuesKey`.
pub const DEFAULT_VALUES_KEY: &str = "values.yaml";

/// One `valuesFrom` entry with what its object held at its key; `None` when the object or
/// the key is missing.
#[derive(Debug, Clone)]
pub struct FetchedValues<'a> {
    /// The reference.
    pub reference: &'a ValuesReference,
    /// The text at `valuesKey` (decoded from base64 for a Secret). `Err` holds why it is
    /// missing: the object, or only the key.
    pub data: std::result::Result<String, Missing>,
}

/// Why a `valuesFrom` entry has no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The ConfigMap or Secret does not exist.
    Object,
    /// It exists but lacks the key.
    Key,
}

/// Reads every `valuesFrom` entry of `hr` (in its namespace) and composes the values.
pub fn compose_values(reader: &dyn ObjectReader, hr: &HelmRelease) -> Result<TValue> {
    let namespace = hr.metadata.namespace.clone().unwrap_or_default();
    let refs = hr.spec.values_from.as_deref().unwrap_or_default();
    let mut fetched = Vec::with_capacity(refs.len());
    for r in refs {
        fetched.push(FetchedValues {
            reference: r,
            data: read_reference(reader, r, &namespace)?,
        });
    }
    compose(&fetched, hr.spec.values.as_ref(), &namespace)
}

fn read_reference(
    reader: &dyn ObjectReader,
    r: &ValuesReference,
    namespace: &str,
) -> Result<std::result::Result<String, Missing>> {
    let kind = ObjectKind::from(r.kind);
    let Some(object) = reader.get(kind, namespace, &r.name)? else {
        return Ok(Err(Missing::Object));
    };
    let key = values_key(r);
    let escaped = key.replace('~', "~0").replace('/', "~1");
    let Some(raw) = object
        .pointer(&format!("/data/{escaped}"))
        .and_then(Value::as_str)
    else {
        return Ok(Err(Missing::Key));
    };
    if r.kind == ValuesKind::Secret {
        let bytes = decode_base64(raw).ok_or_else(|| Error::Parse {
            origin: format!("Secret {namespace}/{}", r.name),
            message: format!("data.{key} is not base64"),
        })?;
        Ok(Ok(String::from_utf8_lossy(&bytes).into_owned()))
    } else {
        Ok(Ok(raw.to_string()))
    }
}

/// The key an entry reads: `valuesKey`, else `values.yaml`.
pub fn values_key(r: &ValuesReference) -> &str {
    r.values_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .unwrap_or(DEFAULT_VALUES_KEY)
}

fn kind_name(kind: ValuesKind) -> &'static str {
    ObjectKind::from(kind).kind()
}

/// The composition itself, pure: entries in order, then `values` merged on top.
///
/// Precedence is explicit: a later entry wins over an earlier one, and inline `values` win
/// over every entry (maps merge recursively, anything else replaces), as Flux's final
/// `MergeMaps(result, values)` does. A missing object or key is skipped for an `optional`
/// entry and an error otherwise.
pub fn compose(
    fetched: &[FetchedValues<'_>],
    inline: Option<&Value>,
    namespace: &str,
) -> Result<TValue> {
    let mut result = TValue::from_json(&serde_json::json!({}));
    for entry in fetched {
        let r = entry.reference;
        let kind = kind_name(r.kind);
        let name = &r.name;
        let key = values_key(r);
        let data = match &entry.data {
            Ok(data) => data,
            Err(_) if r.optional == Some(true) => continue,
            Err(Missing::Object) => {
                return Err(Error::NotFound(format!(
                    "could not find {kind} '{namespace}/{name}' (spec.valuesFrom)"
                )));
            }
            Err(Missing::Key) => {
                return Err(Error::NotFound(format!(
                    "missing key '{key}' in {kind} '{namespace}/{name}' (spec.valuesFrom)"
                )));
            }
        };
        let target = r.target_path.as_deref().unwrap_or_default();
        if target.is_empty() {
            let parsed = helmrelease_helm::values::read_values(data).map_err(|e| Error::Parse {
                origin: format!("{kind} {namespace}/{name} key {key}"),
                message: e.to_string(),
            })?;
            result = merge_maps(&result, &parsed);
            continue;
        }
        let literal = r.literal == Some(true);
        let set = if literal {
            strvals::parse_literal_into(&format!("{target}={data}"), &result)
        } else {
            // Flux escapes commas so a value holding them stays one value.
            strvals::parse_into(&format!("{target}={}", data.replace(',', "\\,")), &result)
        };
        result = set.map_err(|e| Error::Parse {
            origin: format!("{kind} {namespace}/{name} targetPath {target}"),
            // strvals errors quote the assignment; never echo a Secret's value.
            message: if r.kind == ValuesKind::Secret {
                e.replace(data.as_str(), MASK)
            } else {
                e
            },
        })?;
    }
    if let Some(values) = inline {
        result = merge_maps(&result, &TValue::from_json(values));
    }
    Ok(result)
}

/// Numbers as Go's encoding/json writes them, which is how Helm stores values: an integral
/// float64 without a fraction (2, not 2.0), so composed and stored values compare equal.
pub fn go_json(value: Value) -> Value {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => {
                Value::from(f as i64)
            }
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(go_json).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, go_json(v))).collect()),
        other => other,
    }
}

/// The composed values as the release's `config` stores them: a JSON object (empty when
/// nothing was set), numbers as Go writes them.
pub fn to_config(values: &TValue) -> Map<String, Value> {
    match go_json(values.to_json()) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// What of a release's values came from Secrets, per its HelmRelease's `valuesFrom`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SecretValues {
    /// Secrets merged at the top level (no `targetPath`): which keys they set is unknown
    /// without reading them, so all values count as secret.
    pub whole: Vec<String>,
    /// `targetPath`s written from Secrets, split into keys.
    pub paths: Vec<Vec<String>>,
}

impl SecretValues {
    /// Reads `spec.valuesFrom` of a HelmRelease given as JSON (which may not decode as a
    /// typed HelmRelease: masking must work for anything that names Secrets).
    pub fn of(helmrelease: Option<&Value>) -> SecretValues {
        let refs: Vec<ValuesReference> = helmrelease
            .and_then(|hr| hr.pointer("/spec/valuesFrom"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| serde_json::from_value(r.clone()).ok())
            .collect();
        SecretValues::from_refs(&refs)
    }

    /// Reads the `valuesFrom` of a typed HelmRelease.
    pub fn of_typed(hr: &HelmRelease) -> SecretValues {
        SecretValues::from_refs(hr.spec.values_from.as_deref().unwrap_or_default())
    }

    /// From `valuesFrom` entries.
    pub fn from_refs(refs: &[ValuesReference]) -> SecretValues {
        let mut out = SecretValues::default();
        for r in refs.iter().filter(|r| r.kind == ValuesKind::Secret) {
            match r.target_path.as_deref() {
                Some(path) if !path.is_empty() => out.paths.push(split_path(path)),
                _ => out.whole.push(r.name.clone()),
            }
        }
        out
    }

    /// Whether anything is hidden.
    pub fn any(&self) -> bool {
        !self.whole.is_empty() || !self.paths.is_empty()
    }

    /// Masks values in place: every `targetPath` value becomes `***`. With a whole-Secret
    /// merge the whole document is replaced, since any key may have come from it.
    pub fn mask(&self, values: &mut Value) {
        if !self.whole.is_empty() {
            *values = Value::String(format!(
                "{MASK} (values merged from Secret {}; --show-secrets prints them)",
                self.whole.join(", ")
            ));
            return;
        }
        for path in &self.paths {
            if let Some(slot) = lookup_mut(values, path) {
                *slot = Value::String(MASK.to_string());
            }
        }
    }

    /// Masks two versions of the values so that a changed secret value still shows as changed.
    pub fn mask_pair(&self, old: &mut Value, new: &mut Value) {
        if !self.whole.is_empty() {
            let changed = old != new;
            self.mask(old);
            self.mask(new);
            if changed {
                // Equal masks would hide that something changed.
                *old = Value::String(format!("{} (before)", old.as_str().unwrap_or(MASK)));
                *new = Value::String(format!("{} (after)", new.as_str().unwrap_or(MASK)));
            }
            return;
        }
        for path in &self.paths {
            let (o, n) = mask_secret_pair(
                lookup_mut(old, path).map(|v| &*v),
                lookup_mut(new, path).map(|v| &*v),
            );
            if let (Some(slot), Some(v)) = (lookup_mut(old, path), o) {
                *slot = v;
            }
            if let (Some(slot), Some(v)) = (lookup_mut(new, path), n) {
                *slot = v;
            }
        }
    }
}

/// Splits a `--set`-style path on unescaped dots (`a.b\.c` is `a`, `b.c`); list indices
/// (`a[0]`) stay part of the key, which then simply does not match a map key.
fn split_path(path: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    parts.last_mut().into_iter().for_each(|p| p.push(next));
                }
            }
            '.' => parts.push(String::new()),
            c => parts.last_mut().into_iter().for_each(|p| p.push(c)),
        }
    }
    parts
}

fn lookup_mut<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter()
        .try_fold(value, |v, key| v.as_object_mut()?.get_mut(key))
}

/// Helm's coalescing of user values over chart defaults: maps merge recursively, user values
/// win, and a user `null` deletes the default.
pub fn coalesce(defaults: &Map<String, Value>, user: &Map<String, Value>) -> Map<String, Value> {
    let mut out = defaults.clone();
    for (key, value) in user {
        match (out.get_mut(key), value) {
            (_, Value::Null) => {
                out.remove(key);
            }
            (Some(Value::Object(base)), Value::Object(over)) => {
                *base = coalesce(base, over);
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out
}
