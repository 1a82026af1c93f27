//! Patches of Kubernetes objects as the API server (and kustomize, for Flux's post-renderers)
//! applies them, over `serde_json` values:
//!
//! - [`json_patch`]: RFC 6902 (`add`, `remove`, `replace`, `move`, `copy`, `test`);
//! - [`merge_patch`]: RFC 7386 JSON merge patch (`null` deletes, everything else replaces,
//!   maps merge);
//! - [`strategic_merge`]: Kubernetes' strategic merge patch for built-in kinds. Maps merge
//!   and `null` deletes a key, as in a merge patch; lists with a merge key (containers, env,
//!   volumes and image pull secrets by `name`, volume mounts by `mountPath`, container ports by
//!   `containerPort`, Service ports by `port`, ...) merge item by item; `finalizers` merge as a
//!   set; other lists are replaced. The directives kubectl and kustomize send are honoured:
//!   `$patch: delete | replace | merge`, `$retainKeys`, `$deleteFromPrimitiveList/<field>` and
//!   `$setElementOrder/<field>`; no directive is ever stored.
//!
//! The merge keys come from the Kubernetes API types (`patchMergeKey`); custom resources have
//! none, so their lists are replaced, as the API server does for a merge patch.

use serde_json::{Map, Value};

/// A patch that cannot be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A JSON patch operation failed; the message names the operation and the path.
    #[error("{0}")]
    JsonPatch(String),
}

type Result<T> = std::result::Result<T, Error>;

fn fail(message: impl Into<String>) -> Error {
    Error::JsonPatch(message.into())
}

// ---- RFC 6902 ----------------------------------------------------------------------------

/// Applies RFC 6902 operations in order. On error the target may be partly patched, so
/// callers patch a copy (as the API server does).
pub fn json_patch(target: &mut Value, ops: &[Value]) -> Result<()> {
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| fail(format!("{kind}: operation without a path")))?;
        let value = || op.get("value").cloned().unwrap_or(Value::Null);
        let from = || {
            op.get("from")
                .and_then(Value::as_str)
                .ok_or_else(|| fail(format!("{kind}: operation without from")))
        };
        match kind {
            "add" => add(target, path, value())?,
            "remove" => {
                remove(target, path)?;
            }
            "replace" => {
                remove(target, path)?;
                add(target, path, value())?;
            }
            "move" => {
                let moved = remove(target, from()?)?;
                add(target, path, moved)?;
            }
            "copy" => {
                let from = from()?;
                let copied = target
                    .pointer(from)
                    .cloned()
                    .ok_or_else(|| fail(format!("copy: no value at {from}")))?;
                add(target, path, copied)?;
            }
            "test" => {
                if target.pointer(path) != Some(&value()) {
                    return Err(fail(format!("test failed at {path}")));
                }
            }
            other => return Err(fail(format!("unknown JSON patch operation {other:?}"))),
        }
    }
    Ok(())
}

/// `path`'s parent pointer and its last token, unescaped.
fn split(path: &str) -> Result<(&str, String)> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or_else(|| fail(format!("invalid JSON pointer {path:?}")))?;
    Ok((parent, last.replace("~1", "/").replace("~0", "~")))
}

fn add(target: &mut Value, path: &str, value: Value) -> Result<()> {
    if path.is_empty() {
        *target = value;
        return Ok(());
    }
    let (parent, last) = split(path)?;
    match target.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            let index = if last == "-" {
                items.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|i| *i <= items.len())
                    .ok_or_else(|| fail(format!("add: index {last} out of range at {path}")))?
            };
            items.insert(index, value);
            Ok(())
        }
        _ => Err(fail(format!("add: no object or list at {parent:?}"))),
    }
}

fn remove(target: &mut Value, path: &str) -> Result<Value> {
    let (parent, last) = split(path)?;
    match target.pointer_mut(parent) {
        Some(Value::Object(map)) => map
            .remove(&last)
            .ok_or_else(|| fail(format!("no value at {path}"))),
        Some(Value::Array(items)) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => Ok(items.remove(i)),
            _ => Err(fail(format!("index {last} out of range at {path}"))),
        },
        _ => Err(fail(format!("no value at {path}"))),
    }
}

// ---- RFC 7386 ----------------------------------------------------------------------------

/// Applies an RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

// ---- strategic merge ---------------------------------------------------------------------

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM: &str = "$deleteFromPrimitiveList/";
const ELEMENT_ORDER: &str = "$setElementOrder/";

/// The merge key the Kubernetes API types declare (`patchMergeKey`) for list `field`, for the
/// lists charts use. `ports` is not here: it is keyed by `containerPort` in a container and by
/// `port` in a Service, so callers decide by the items.
pub fn api_merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "ownerReferences" => "uid",
        "conditions" => "type",
        _ => return None,
    })
}

/// The merge key of list `field` given its items. `None`: the list is replaced.
fn merge_key(field: &str, items: &[&Value]) -> Option<&'static str> {
    let has = |key: &str| items.iter().any(|i| i.get(key).is_some());
    match field {
        "ports" if has("containerPort") => Some("containerPort"),
        "ports" if has("port") => Some("port"),
        field => api_merge_key(field),
    }
}

/// Lists of scalars Kubernetes merges as sets rather than replacing.
fn merges_as_set(field: &str) -> bool {
    field == "finalizers"
}

/// Applies a strategic merge patch of a built-in kind (see the crate docs).
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    merge_value(target, patch, "");
}

fn merge_value(target: &mut Value, patch: &Value, field: &str) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            if p.get(PATCH).and_then(Value::as_str) == Some("replace") {
                *t = stripped_map(p);
                return;
            }
            merge_map(t, p);
        }
        (Value::Array(t), Value::Array(p)) => merge_list(t, p, field),
        (t, p) => *t = stripped(p),
    }
}

fn merge_map(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix(DELETE_FROM) {
            if let (Some(Value::Array(items)), Value::Array(gone)) = (target.get_mut(field), value)
            {
                items.retain(|item| !gone.contains(item));
            }
            continue;
        }
        if key.starts_with('$') {
            continue;
        }
        let deleted = value
            .get(PATCH)
            .and_then(Value::as_str)
            .is_some_and(|d| d == "delete");
        if value.is_null() || deleted {
            target.remove(key);
            continue;
        }
        match target.get_mut(key) {
            Some(existing)
                if (existing.is_object() && value.is_object())
                    || (existing.is_array() && value.is_array()) =>
            {
                merge_value(existing, value, key);
            }
            _ => {
                target.insert(key.clone(), stripped(value));
            }
        }
    }
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix(ELEMENT_ORDER)
            && let (Some(Value::Array(items)), Value::Array(order)) = (target.get_mut(field), value)
        {
            reorder(items, order, field);
        }
    }
    if let Some(Value::Array(keep)) = patch.get(RETAIN_KEYS) {
        target.retain(|k, _| keep.iter().any(|want| want.as_str() == Some(k)));
    }
}

fn merge_list(target: &mut Vec<Value>, patch: &[Value], field: &str) {
    let directive = |item: &Value| item.get(PATCH).and_then(Value::as_str).map(str::to_string);
    if patch
        .iter()
        .any(|i| directive(i).as_deref() == Some("replace"))
    {
        *target = patch
            .iter()
            .filter(|i| directive(i).is_none())
            .map(stripped)
            .collect();
        return;
    }
    let items: Vec<&Value> = target.iter().chain(patch).collect();
    let all_maps = items.iter().all(|i| i.is_object());
    match merge_key(field, &items).filter(|_| all_maps) {
        Some(key) => {
            for item in patch {
                let id = item.get(key);
                let at = id.and_then(|id| target.iter().position(|t| t.get(key) == Some(id)));
                match (at, directive(item).as_deref()) {
                    (Some(i), Some("delete")) => {
                        target.remove(i);
                    }
                    (None, Some("delete")) => {}
                    (Some(i), _) => merge_value(&mut target[i], item, ""),
                    (None, _) => target.push(stripped(item)),
                }
            }
        }
        None if merges_as_set(field) => {
            for item in patch {
                if !target.contains(item) {
                    target.push(stripped(item));
                }
            }
        }
        None => *target = patch.iter().map(stripped).collect(),
    }
}

/// `$setElementOrder`: the items it names, in its order, then the others as they were.
fn reorder(items: &mut [Value], order: &[Value], field: &str) {
    let key = {
        let refs: Vec<&Value> = items.iter().chain(order).collect();
        merge_key(field, &refs)
    };
    let id = |item: &Value| -> Option<Value> {
        match key {
            Some(key) => item.get(key).cloned(),
            None => Some(item.clone()),
        }
    };
    let wanted: Vec<Option<Value>> = order.iter().map(id).collect();
    let position = |item: &Value| {
        let key = id(item);
        wanted
            .iter()
            .position(|w| w.is_some() && *w == key)
            .unwrap_or(usize::MAX)
    };
    items.sort_by_key(|item| position(item));
}

/// `value` with every directive removed, for inserting patch content as it is.
fn stripped(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(stripped_map(map)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|i| i.get(PATCH).is_none_or(|d| d != "delete"))
                .map(stripped)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn stripped_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
        .map(|(k, v)| (k.clone(), stripped(v)))
        .collect()
}

#[cfg(test)]
mod tests;
