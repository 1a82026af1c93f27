//! Client-side apply as Helm 4 does it with `--server-side=false` (Flux's
//! `serverSideApply: false` / `disabled`): the patch sent for an object that exists, computed
//! here from three versions of it: the original (the object in the previous revision's
//! manifest), the target (the new manifest's) and the live object.
//!
//! - Built-in kinds get Kubernetes' three-way strategic merge patch
//!   (`strategicpatch.CreateThreeWayMergePatch` with `overwrite`): fields the original had
//!   and the target lacks are deleted (`null`, `$patch: delete` for list items with a merge
//!   key, `$deleteFromPrimitiveList` for `finalizers`); fields the target sets differently from
//!   the live object are set; what others added to the live object is left alone. Lists with a
//!   merge key get `$setElementOrder`; a Deployment's `strategy` and each volume get
//!   `$retainKeys`, as the API types declare.
//! - Other kinds (custom resources) get the two-way JSON merge patch of original and target
//!   (`jsonpatch.CreateMergePatch`), which is what Helm 4 sends on an upgrade or rollback:
//!   the live object is not consulted.
//!
//! Merge keys come from field names ([`helmrelease_patch::api_merge_key`], `ports` by its
//! items), not from an OpenAPI schema, so a custom field named like a built-in list is never
//! involved (custom kinds do not use strategic merge). Not reproduced: the `$retainKeys` of
//! fields other than those two, and merge keys of lists charts rarely set.

use serde_json::{Map, Value};

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM: &str = "$deleteFromPrimitiveList/";
const ELEMENT_ORDER: &str = "$setElementOrder/";

/// How a patch is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/merge-patch+json`.
    Merge,
}

/// API groups of Kubernetes' client-go scheme: their kinds get a strategic merge patch.
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apps",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "extensions",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
];

/// The patch type Helm uses for `obj`: strategic for kinds client-go knows, merge for the
/// rest (custom resources, and CRDs of `apiextensions.k8s.io/v1beta1`).
pub fn patch_type(obj: &Value) -> PatchType {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let group = api_version.split_once('/').map_or("", |(g, _)| g);
    if api_version == "apiextensions.k8s.io/v1beta1" || !BUILT_IN_GROUPS.contains(&group) {
        PatchType::Merge
    } else {
        PatchType::Strategic
    }
}

/// The patch Helm 4 sends to bring `live` to `target` when the previous revision had
/// `original`, and its type; an empty object when nothing is to change.
pub fn patch(original: &Value, target: &Value, live: &Value) -> (Value, PatchType) {
    match patch_type(target) {
        PatchType::Merge => (merge_patch(original, target), PatchType::Merge),
        PatchType::Strategic => (three_way(original, target, live), PatchType::Strategic),
    }
}

/// RFC 7386 merge patch from `original` to `target` (`jsonpatch.CreateMergePatch`).
pub fn merge_patch(original: &Value, target: &Value) -> Value {
    match (original, target) {
        (Value::Object(o), Value::Object(t)) => {
            let mut out = Map::new();
            for (k, tv) in t {
                match o.get(k) {
                    Some(ov) if ov == tv => {}
                    Some(ov @ Value::Object(_)) if tv.is_object() => {
                        out.insert(k.clone(), merge_patch(ov, tv));
                    }
                    _ => {
                        out.insert(k.clone(), tv.clone());
                    }
                }
            }
            for k in o.keys() {
                if !t.contains_key(k) {
                    out.insert(k.clone(), Value::Null);
                }
            }
            Value::Object(out)
        }
        (_, t) => t.clone(),
    }
}

/// Kubernetes' three-way strategic merge patch with `overwrite`: deletions from
/// `original` → `target`, changes and additions from `live` → `target`.
pub fn three_way(original: &Value, target: &Value, live: &Value) -> Value {
    let empty = Map::new();
    let as_map = |v: &Value| v.as_object().cloned().unwrap_or_else(|| empty.clone());
    let (original, target, live) = (as_map(original), as_map(target), as_map(live));
    let deletions = diff_maps(&original, &target, "", Mode::Deletions);
    let delta = diff_maps(&live, &target, "", Mode::Changes);
    Value::Object(merge_patches(deletions, delta))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Only what `from` has and `to` lacks.
    Deletions,
    /// Only what `to` sets differently from `from`.
    Changes,
}

/// The merge key of list `field` given its items; `None`: the list is replaced.
fn merge_key(field: &str, items: &[&Value]) -> Option<&'static str> {
    let has = |key: &str| items.iter().any(|i| i.get(key).is_some());
    match field {
        "ports" if has("containerPort") => Some("containerPort"),
        "ports" if has("port") => Some("port"),
        field => helmrelease_patch::api_merge_key(field),
    }
}

/// Maps whose patches name the keys to keep (`patchStrategy: retainKeys`).
fn retains_keys(field: &str) -> bool {
    matches!(field, "strategy" | "volumes")
}

fn diff_maps(
    from: &Map<String, Value>,
    to: &Map<String, Value>,
    field: &str,
    mode: Mode,
) -> Map<String, Value> {
    let mut patch = Map::new();
    for (k, tv) in to {
        match from.get(k) {
            None => {
                if mode == Mode::Changes {
                    patch.insert(k.clone(), tv.clone());
                }
            }
            Some(Value::Object(f)) if tv.is_object() => {
                let t = tv.as_object().cloned().unwrap_or_default();
                let sub = diff_maps(f, &t, k, mode);
                if !sub.is_empty() {
                    patch.insert(k.clone(), Value::Object(sub));
                }
            }
            Some(Value::Array(f)) if tv.is_array() => {
                let t = tv.as_array().cloned().unwrap_or_default();
                diff_lists(&mut patch, k, f, &t, mode);
            }
            Some(fv) => {
                if mode == Mode::Changes && fv != tv {
                    patch.insert(k.clone(), tv.clone());
                }
            }
        }
    }
    if mode == Mode::Deletions {
        for k in from.keys() {
            if !to.contains_key(k) {
                patch.insert(k.clone(), Value::Null);
            }
        }
    }
    if mode == Mode::Changes && retains_keys(field) && !patch.is_empty() {
        let mut keys: Vec<&String> = to.keys().collect();
        keys.sort();
        patch.insert(
            RETAIN_KEYS.into(),
            Value::Array(keys.into_iter().map(|k| Value::String(k.clone())).collect()),
        );
    }
    patch
}

fn diff_lists(
    patch: &mut Map<String, Value>,
    field: &str,
    from: &[Value],
    to: &[Value],
    mode: Mode,
) {
    let items: Vec<&Value> = from.iter().chain(to).collect();
    let all_maps = items.iter().all(|i| i.is_object());
    match merge_key(field, &items).filter(|_| all_maps) {
        Some(key) => {
            let mut list = Vec::new();
            for t in to {
                let id = t.get(key);
                match from.iter().find(|f| id.is_some() && f.get(key) == id) {
                    Some(f) => {
                        let (f, tm) = (
                            f.as_object().cloned().unwrap_or_default(),
                            t.as_object().cloned().unwrap_or_default(),
                        );
                        // List items are diffed as maps of the list's element type.
                        let item_field = if field == "volumes" { "volumes" } else { "" };
                        let mut sub = diff_maps(&f, &tm, item_field, mode);
                        if !sub.is_empty() {
                            if let Some(id) = id {
                                sub.insert(key.into(), id.clone());
                            }
                            list.push(Value::Object(sub));
                        }
                    }
                    None => {
                        if mode == Mode::Changes {
                            list.push(t.clone());
                        }
                    }
                }
            }
            if mode == Mode::Deletions {
                for f in from {
                    let id = f.get(key);
                    if !to.iter().any(|t| id.is_some() && t.get(key) == id) {
                        let mut gone = Map::new();
                        if let Some(id) = id {
                            gone.insert(key.into(), id.clone());
                        }
                        gone.insert(PATCH.into(), "delete".into());
                        list.push(Value::Object(gone));
                    }
                }
            }
            if !list.is_empty() {
                patch.insert(field.into(), Value::Array(list));
                let order = to
                    .iter()
                    .filter_map(|t| t.get(key).map(|id| serde_json::json!({ key: id })))
                    .collect();
                patch.insert(format!("{ELEMENT_ORDER}{field}"), Value::Array(order));
            }
        }
        None if field == "finalizers" => {
            let (added, gone): (Vec<Value>, Vec<Value>) = match mode {
                Mode::Changes => (
                    to.iter().filter(|t| !from.contains(t)).cloned().collect(),
                    Vec::new(),
                ),
                Mode::Deletions => (
                    Vec::new(),
                    from.iter().filter(|f| !to.contains(f)).cloned().collect(),
                ),
            };
            if !added.is_empty() {
                patch.insert(field.into(), Value::Array(added));
            }
            if !gone.is_empty() {
                patch.insert(format!("{DELETE_FROM}{field}"), Value::Array(gone));
            }
            if !patch.is_empty()
                && (patch.contains_key(field)
                    || patch.contains_key(&format!("{DELETE_FROM}{field}")))
            {
                patch.insert(format!("{ELEMENT_ORDER}{field}"), Value::Array(to.to_vec()));
            }
        }
        None => {
            if mode == Mode::Changes && from != to {
                patch.insert(field.into(), Value::Array(to.to_vec()));
            }
        }
    }
}

/// The deletions patch and the changes patch as one (`mergeMap` of the two).
fn merge_patches(
    mut deletions: Map<String, Value>,
    changes: Map<String, Value>,
) -> Map<String, Value> {
    for (k, cv) in changes {
        let merged = match (deletions.remove(&k), cv) {
            (Some(Value::Object(d)), Value::Object(c)) => Value::Object(merge_patches(d, c)),
            (Some(Value::Array(d)), Value::Array(c)) => {
                let items: Vec<&Value> = d.iter().chain(&c).collect();
                match merge_key(&k, &items) {
                    Some(key) => Value::Array(merge_lists(d, c, key)),
                    None => Value::Array(c),
                }
            }
            (_, c) => c,
        };
        deletions.insert(k, merged);
    }
    deletions
}

fn merge_lists(mut deletions: Vec<Value>, changes: Vec<Value>, key: &str) -> Vec<Value> {
    for c in changes {
        let id = c.get(key).cloned();
        let at = deletions
            .iter()
            .position(|d| id.is_some() && d.get(key) == id.as_ref());
        match (at, c) {
            (Some(i), Value::Object(c)) => {
                if let Value::Object(d) = deletions.remove(i) {
                    deletions.insert(i, Value::Object(merge_patches(d, c)));
                }
            }
            (_, c) => deletions.push(c),
        }
    }
    deletions
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(containers: Value, extra: Value) -> Value {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"a": "1"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": containers}}}});
        helmrelease_patch::merge_patch(&mut d, &extra);
        d
    }

    /// The patch applied to `live` gives what the API server would store.
    fn applied(live: &Value, patch: &Value) -> Value {
        let mut out = live.clone();
        helmrelease_patch::strategic_merge(&mut out, patch);
        out
    }

    #[test]
    fn a_field_the_new_revision_drops_is_deleted_and_others_changes_survive() {
        let c = json!([{"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]);
        let original = deployment(c.clone(), json!({"metadata": {"labels": {"old": "x"}}}));
        let target = deployment(
            json!([{"name": "web", "image": "nginx:2", "env": [{"name": "A", "value": "1"}]}]),
            json!({}),
        );
        // Someone else added an annotation and a sidecar's field; the server defaulted others.
        let live = deployment(
            json!([{"name": "web", "image": "nginx:1", "imagePullPolicy": "IfNotPresent",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]),
            json!({"metadata": {"labels": {"old": "x"}, "annotations": {"theirs": "y"}},
                "status": {"replicas": 2}}),
        );
        let (p, t) = patch(&original, &target, &live);
        assert_eq!(t, PatchType::Strategic);
        assert_eq!(
            p,
            json!({"metadata": {"labels": {"old": null}},
                "spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "web"}],
                    "containers": [{"name": "web", "image": "nginx:2",
                        "$setElementOrder/env": [{"name": "A"}],
                        "env": [{"name": "B", "$patch": "delete"}]}]}}}})
        );
        let out = applied(&live, &p);
        assert_eq!(out["metadata"]["labels"], json!({"a": "1"}));
        assert_eq!(out["metadata"]["annotations"], json!({"theirs": "y"}));
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "web", "image": "nginx:2", "imagePullPolicy": "IfNotPresent",
                "env": [{"name": "A", "value": "1"}]}])
        );
    }

    #[test]
    fn nothing_to_change_is_an_empty_patch() {
        let d = deployment(json!([{"name": "web", "image": "nginx"}]), json!({}));
        let mut live = d.clone();
        live["metadata"]["uid"] = "u".into();
        assert_eq!(three_way(&d, &d, &live), json!({}));
    }

    #[test]
    fn a_value_changed_live_is_set_back() {
        let d = deployment(json!([{"name": "web", "image": "nginx"}]), json!({}));
        let mut live = d.clone();
        live["spec"]["replicas"] = 5.into();
        assert_eq!(three_way(&d, &d, &live), json!({"spec": {"replicas": 2}}));
    }

    #[test]
    fn custom_resources_get_a_two_way_merge_patch() {
        let original = json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w"}, "spec": {"size": 1, "old": true, "list": [1, 2]}});
        let target = json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w"}, "spec": {"size": 2, "list": [1, 2]}});
        let (p, t) = patch(&original, &target, &json!({}));
        assert_eq!(t, PatchType::Merge);
        assert_eq!(p, json!({"spec": {"size": 2, "old": null}}));
    }

    #[test]
    fn built_in_groups_are_strategic() {
        let of = |v: &str| patch_type(&json!({"apiVersion": v}));
        assert_eq!(of("v1"), PatchType::Strategic);
        assert_eq!(of("apps/v1"), PatchType::Strategic);
        assert_eq!(of("networking.k8s.io/v1"), PatchType::Strategic);
        assert_eq!(of("gateway.networking.k8s.io/v1"), PatchType::Merge);
        assert_eq!(of("apiextensions.k8s.io/v1beta1"), PatchType::Merge);
    }

    #[test]
    fn strategy_and_finalizers_follow_their_patch_strategies() {
        let original = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "finalizers": ["a", "b"]},
            "spec": {"strategy": {"type": "RollingUpdate"}}});
        let target = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "finalizers": ["a"]},
            "spec": {"strategy": {"type": "Recreate"}}});
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "finalizers": ["a", "b"]},
            "spec": {"strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%"}}}});
        let p = three_way(&original, &target, &live);
        assert_eq!(
            p,
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"],
                    "$setElementOrder/finalizers": ["a"]},
                "spec": {"strategy": {"type": "Recreate", "$retainKeys": ["type"]}}})
        );
        let out = applied(&live, &p);
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(out["metadata"]["finalizers"], json!(["a"]));
    }
}
