//! Field ownership: `metadata.managedFields` kept per manager, server-side apply with conflicts
//! between managers, and `force` to take fields over. Simplified: lists are owned as a whole
//! (the apiserver tracks list items by key), which is what our tests need.

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Fields a manager owns, as `/spec/replicas`-style pointers to leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    /// Manager name (`kubectl`, `helmrelease-controller`, ...).
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// Owned leaves.
    pub fields: BTreeSet<String>,
}

/// A conflict: another manager owns a field the apply changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The owner.
    pub manager: String,
    /// The field, as `.spec.replicas`.
    pub field: String,
    /// The field as a JSON pointer.
    pub pointer: String,
}

const IGNORED: [&str; 4] = [
    "/apiVersion",
    "/kind",
    "/metadata/name",
    "/metadata/namespace",
];

fn is_ignored(path: &str) -> bool {
    IGNORED.contains(&path)
        || path.starts_with("/metadata/managedFields")
        || path.starts_with("/metadata/resourceVersion")
        || path.starts_with("/metadata/uid")
        || path.starts_with("/metadata/creationTimestamp")
        || path.starts_with("/metadata/generation")
        || path.starts_with("/status")
}

/// Leaf pointers of a value: scalars and lists are leaves, objects are walked.
pub fn leaves(value: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, prefix: String, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    walk(
                        v,
                        format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            _ => {
                if !prefix.is_empty() && !is_ignored(&prefix) {
                    out.insert(prefix);
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(value, String::new(), &mut out);
    out
}

/// Reads `metadata.managedFields` (FieldsV1) back into ownership sets.
pub fn read(object: &Value) -> Vec<Ownership> {
    fn walk(fields: &Value, prefix: String, out: &mut BTreeSet<String>) {
        let Some(map) = fields.as_object() else {
            return;
        };
        if map.is_empty() {
            out.insert(prefix);
            return;
        }
        for (k, v) in map {
            if let Some(key) = k.strip_prefix("f:") {
                walk(
                    v,
                    format!("{prefix}/{}", key.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            } else if k == "." {
                out.insert(prefix.clone());
            }
        }
    }
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|entry| {
            let mut fields = BTreeSet::new();
            if let Some(f) = entry.get("fieldsV1") {
                walk(f, String::new(), &mut fields);
            }
            Ownership {
                manager: entry
                    .get("manager")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                operation: entry
                    .get("operation")
                    .and_then(Value::as_str)
                    .unwrap_or("Update")
                    .to_string(),
                fields,
            }
        })
        .collect()
}

/// Writes ownership sets as `metadata.managedFields`.
pub fn write(object: &mut Value, owners: &[Ownership], api_version: &str, time: &str) {
    let entries: Vec<Value> = owners
        .iter()
        .filter(|o| !o.fields.is_empty())
        .map(|o| {
            let mut root = Map::new();
            for field in &o.fields {
                let parts: Vec<String> = field
                    .trim_start_matches('/')
                    .split('/')
                    .map(|p| format!("f:{}", p.replace("~1", "/").replace("~0", "~")))
                    .collect();
                insert_path(&mut root, &parts);
            }
            json!({"manager": o.manager, "operation": o.operation, "apiVersion": api_version, "time": time,
                   "fieldsType": "FieldsV1", "fieldsV1": Value::Object(root)})
        })
        .collect();
    object["metadata"]["managedFields"] = Value::Array(entries);
}

fn insert_path(node: &mut Map<String, Value>, parts: &[String]) {
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    let child = node
        .entry(first.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(map) = child.as_object_mut() {
        insert_path(map, rest);
    }
}

fn get<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    value.pointer(pointer)
}

/// Records a non-apply write by `manager`: it owns every leaf it changed or added.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    time: &str,
) {
    let mut owners = old.map(read).unwrap_or_default();
    let changed: BTreeSet<String> = leaves(new)
        .into_iter()
        .filter(|p| old.and_then(|o| get(o, p)) != get(new, p))
        .collect();
    let present = leaves(new);
    for owner in &mut owners {
        owner
            .fields
            .retain(|f| present.contains(f) && !changed.contains(f));
    }
    if !changed.is_empty() {
        match owners
            .iter_mut()
            .find(|o| o.manager == manager && o.operation == "Update")
        {
            Some(o) => o.fields.extend(changed),
            None => owners.push(Ownership {
                manager: manager.to_string(),
                operation: "Update".into(),
                fields: changed,
            }),
        }
    }
    write(new, &owners, api_version, time);
}

/// Server-side apply of `config` by `manager` onto `current` (absent: create). Fields the
/// manager applied before and leaves out now are removed unless another manager owns them.
pub fn apply(
    current: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
    time: &str,
) -> Result<Value, Vec<Conflict>> {
    let mut owners = current.map(read).unwrap_or_default();
    let applied = leaves(config);
    let mut conflicts = Vec::new();
    for owner in owners.iter().filter(|o| o.manager != manager) {
        for field in owner.fields.intersection(&applied) {
            let differs = current.and_then(|c| get(c, field)) != get(config, field);
            if differs {
                conflicts.push(Conflict {
                    manager: owner.manager.clone(),
                    field: field.replace('/', "."),
                    pointer: field.clone(),
                });
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    let mut result = current.cloned().unwrap_or_else(|| json!({}));
    let previously: BTreeSet<String> = owners
        .iter()
        .filter(|o| o.manager == manager && o.operation == "Apply")
        .flat_map(|o| o.fields.iter().cloned())
        .collect();
    let owned_by_others: BTreeSet<String> = owners
        .iter()
        .filter(|o| o.manager != manager)
        .flat_map(|o| o.fields.iter().cloned())
        .collect();
    for dropped in previously.difference(&applied) {
        if owned_by_others.contains(dropped) {
            continue;
        }
        if let Some((parent, key)) = dropped.rsplit_once('/')
            && let Some(map) = result.pointer_mut(parent).and_then(Value::as_object_mut)
        {
            map.remove(&key.replace("~1", "/").replace("~0", "~"));
        }
    }
    for field in &applied {
        let Some(value) = get(config, field) else {
            continue;
        };
        set(&mut result, field, value.clone());
    }
    // Forced fields move to the applier; equal values stay shared.
    let taken: BTreeSet<String> = conflicts.iter().map(|c| c.pointer.clone()).collect();
    for owner in &mut owners {
        if owner.manager != manager {
            owner.fields.retain(|f| !taken.contains(f));
        }
    }
    owners.retain(|o| !(o.manager == manager && o.operation == "Apply"));
    owners.push(Ownership {
        manager: manager.to_string(),
        operation: "Apply".into(),
        fields: applied,
    });
    for key in ["apiVersion", "kind"] {
        if let Some(v) = config.get(key) {
            result[key] = v.clone();
        }
    }
    write(&mut result, &owners, api_version, time);
    Ok(result)
}

fn set(target: &mut Value, pointer: &str, value: Value) {
    let mut node = target;
    let parts: Vec<String> = pointer
        .trim_start_matches('/')
        .split('/')
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    for part in &parts[..parts.len() - 1] {
        if !node.get(part).is_some_and(Value::is_object) {
            node[part.as_str()] = json!({});
        }
        node = &mut node[part.as_str()];
    }
    if let Some(last) = parts.last() {
        node[last.as_str()] = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_managers_conflict_and_force_takes_over() {
        let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "a", "only-a": "1"}});
        let first = apply(None, &a, "alice", false, "v1", "t").unwrap_or_default();
        let b = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "b"}});
        let conflicts = apply(Some(&first), &b, "bob", false, "v1", "t")
            .err()
            .unwrap_or_default();
        assert_eq!(
            conflicts,
            vec![Conflict {
                manager: "alice".into(),
                field: ".data.k".into(),
                pointer: "/data/k".into()
            }]
        );
        let forced = apply(Some(&first), &b, "bob", true, "v1", "t").unwrap_or_default();
        assert_eq!(forced["data"], json!({"k": "b", "only-a": "1"}));
        let owners = read(&forced);
        let alice = owners
            .iter()
            .find(|o| o.manager == "alice")
            .map(|o| o.fields.clone())
            .unwrap_or_default();
        assert_eq!(
            alice.into_iter().collect::<Vec<_>>(),
            vec!["/data/only-a".to_string()]
        );
        // Same value is no conflict.
        let same = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"only-a": "1"}});
        assert!(apply(Some(&forced), &same, "carol", false, "v1", "t").is_ok());
    }

    #[test]
    fn fields_dropped_from_an_apply_are_removed() {
        let v1 = json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "2"}});
        let first = apply(None, &v1, "m", false, "v1", "t").unwrap_or_default();
        let v2 = json!({"metadata": {"name": "x"}, "data": {"a": "1"}});
        let second = apply(Some(&first), &v2, "m", false, "v1", "t").unwrap_or_default();
        assert_eq!(second["data"], json!({"a": "1"}));
    }
}
