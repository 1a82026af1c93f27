//! Manifests compared object by object: objects are matched by [`ObjectKey`], so moving an
//! object within the manifest is not a change, and each differing object gets its own unified
//! diff of its YAML. Secret values are masked unless asked for.
//!
//! # JSON
//!
//! [`ManifestDiff`] serialises (for `-o json`) as:
//!
//! ```json
//! {
//!   "changes": [
//!     {
//!       "key": { "apiVersion": "apps/v1", "kind": "Deployment", "namespace": "apps", "name": "web" },
//!       "change": "changed",
//!       "diff": "--- Deployment apps/web (apps/v1) (revision 3)\n+++ ...\n@@ -1,3 +1,3 @@\n..."
//!     }
//!   ],
//!   "unchanged": 4
//! }
//! ```
//!
//! `changes` is sorted by key (apiVersion, kind, namespace, name); `change` is `"changed"`,
//! `"added"` or `"removed"`; `namespace` is left out when empty; `diff` is the uncoloured
//! unified diff, all `+` lines for an added object and all `-` lines for a removed one.

use crate::unified::unified;
use crate::{ObjectKey, to_yaml};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// How to compare manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Lines of context around each change in the diffs.
    pub context: usize,
    /// Show Secret values instead of masking them.
    pub show_secrets: bool,
}

impl Default for Options {
    /// Three lines of context, as `diff -u` and git; Secrets masked.
    fn default() -> Self {
        Options {
            context: 3,
            show_secrets: false,
        }
    }
}

/// How an object differs between the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    /// On both sides, with different content.
    Changed,
    /// Only on the new side.
    Added,
    /// Only on the old side.
    Removed,
}

/// One object that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectChange {
    /// The object, with its namespace defaulted to the release namespace.
    pub key: ObjectKey,
    /// Changed, added or removed.
    pub change: Change,
    /// Unified diff of the object's YAML (uncoloured, Secret values masked unless shown).
    pub diff: String,
}

/// The object-by-object difference of two manifests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestDiff {
    /// Objects that differ, sorted by key.
    pub changes: Vec<ObjectChange>,
    /// How many objects are the same on both sides.
    pub unchanged: usize,
}

impl ManifestDiff {
    /// True when the manifests hold the same objects with the same content.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The keys of the objects with this kind of change, in key order.
    pub fn keys(&self, change: Change) -> impl Iterator<Item = &ObjectKey> {
        self.changes
            .iter()
            .filter(move |c| c.change == change)
            .map(|c| &c.key)
    }

    /// How many objects have this kind of change.
    pub fn count(&self, change: Change) -> usize {
        self.keys(change).count()
    }

    /// `3 changed, 1 added, 0 removed`.
    pub fn summary(&self) -> String {
        format!(
            "{} changed, {} added, {} removed",
            self.count(Change::Changed),
            self.count(Change::Added),
            self.count(Change::Removed)
        )
    }
}

/// Compares two manifests' objects (as from [`crate::parse_manifest`]).
///
/// Objects without a namespace are keyed in `namespace` (the release namespace). When a side
/// names the same object twice, the last one counts, as it would when applied. Diff headers
/// name the object and the side: `--- Deployment apps/web (apps/v1) (revision 3)` for
/// `old_label = "revision 3"`; an added object's old side and a removed object's new side are
/// `/dev/null`, as in git.
pub fn diff_manifests(
    old: &[Value],
    new: &[Value],
    namespace: &str,
    old_label: &str,
    new_label: &str,
    options: Options,
) -> ManifestDiff {
    let (old, new) = (index(old, namespace), index(new, namespace));
    let keys: BTreeSet<&ObjectKey> = old.keys().chain(new.keys()).collect();
    let mut result = ManifestDiff::default();
    for key in keys {
        let (before, after) = (old.get(key).copied(), new.get(key).copied());
        if before == after {
            result.unchanged += 1;
            continue;
        }
        let (mut before, mut after) = (before.cloned(), after.cloned());
        if !options.show_secrets {
            mask_secret_objects(before.as_mut(), after.as_mut());
        }
        let (change, old_header, new_header) = match (&before, &after) {
            (Some(_), Some(_)) => (
                Change::Changed,
                header(key, old_label),
                header(key, new_label),
            ),
            (None, _) => (Change::Added, "/dev/null".into(), header(key, new_label)),
            (_, None) => (Change::Removed, header(key, old_label), "/dev/null".into()),
        };
        let yaml = |object: Option<&Value>| object.map(to_yaml).unwrap_or_default();
        let diff = unified(
            &yaml(before.as_ref()),
            &yaml(after.as_ref()),
            &old_header,
            &new_header,
            options.context,
        );
        // Masking keeps every difference visible, so an empty diff means the YAML writer made
        // two different values look alike; with nothing to show, count it as unchanged.
        if diff.is_empty() {
            result.unchanged += 1;
        } else {
            result.changes.push(ObjectChange {
                key: key.clone(),
                change,
                diff,
            });
        }
    }
    result
}

/// The objects by key; a later duplicate replaces an earlier one. Namespaced objects without a
/// namespace belong to the release namespace; built-in cluster-scoped kinds keep none.
fn index<'a>(objects: &'a [Value], namespace: &str) -> BTreeMap<ObjectKey, &'a Value> {
    objects
        .iter()
        .map(|o| {
            let key = ObjectKey::of(o);
            let key = if crate::drift::is_cluster_scoped(&key.api_version, &key.kind) {
                key
            } else {
                key.in_namespace(namespace)
            };
            (key, o)
        })
        .collect()
}

/// `Kind namespace/name (apiVersion) (label)`, or without the label when it is empty.
fn header(key: &ObjectKey, label: &str) -> String {
    if label.is_empty() {
        key.to_string()
    } else {
        format!("{key} ({label})")
    }
}

/// Unified diff of two values documents rendered as YAML; `null` and `{}` both render as `{}`,
/// so "no values" and "empty values" are the same. Empty when equal.
pub fn values_diff(
    old: &Value,
    new: &Value,
    old_label: &str,
    new_label: &str,
    context: usize,
) -> String {
    let yaml = |values: &Value| match values {
        Value::Null => "{}\n".to_string(),
        Value::Object(map) if map.is_empty() => "{}\n".to_string(),
        other => to_yaml(other),
    };
    unified(&yaml(old), &yaml(new), old_label, new_label, context)
}

/// Shown for a Secret value that is the same on both sides, or on one side only.
pub const MASK: &str = "***";
/// Shown on the old side for a Secret value that changed.
pub const MASK_BEFORE: &str = "*** (before)";
/// Shown on the new side for a Secret value that changed.
pub const MASK_AFTER: &str = "*** (after)";

/// Masks one Secret value seen on two sides, keeping only whether it changed: equal values
/// both become [`MASK`], different ones [`MASK_BEFORE`] and [`MASK_AFTER`], a value on one side
/// only [`MASK`]. Absent stays absent.
pub fn mask_secret_pair(
    old: Option<&Value>,
    new: Option<&Value>,
) -> (Option<Value>, Option<Value>) {
    let mask = |text: &str| Some(Value::String(text.to_string()));
    match (old, new) {
        (None, None) => (None, None),
        (Some(_), None) => (mask(MASK), None),
        (None, Some(_)) => (None, mask(MASK)),
        (Some(a), Some(b)) if a == b => (mask(MASK), mask(MASK)),
        (Some(_), Some(_)) => (mask(MASK_BEFORE), mask(MASK_AFTER)),
    }
}

/// Where a v1 Secret holds values: every entry of these maps is masked.
const SECRET_MAPS: [&str; 2] = ["data", "stringData"];
/// `kubectl apply` copies the whole object, values included, into this annotation of live
/// objects.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Masks the values of two versions of an object with [`mask_secret_pair`], in place, when
/// either is a v1 Secret: every entry of `data` and `stringData`, and the `kubectl apply`
/// annotation that copies them. Other objects are left alone. Either side may be absent.
pub fn mask_secret_objects(mut old: Option<&mut Value>, mut new: Option<&mut Value>) {
    let secret = |o: &Option<&mut Value>| o.as_deref().is_some_and(is_secret);
    if !secret(&old) && !secret(&new) {
        return;
    }
    for field in SECRET_MAPS {
        let old_map = old.as_deref_mut().and_then(|o| o.get_mut(field));
        let new_map = new.as_deref_mut().and_then(|o| o.get_mut(field));
        mask_maps(old_map, new_map);
    }
    mask_values(last_applied(old), last_applied(new));
}

/// The `kubectl apply` annotation of an object, if it has one.
fn last_applied(object: Option<&mut Value>) -> Option<&mut Value> {
    object?
        .get_mut("metadata")?
        .get_mut("annotations")?
        .get_mut(LAST_APPLIED)
}

fn is_secret(object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Secret")
        && object.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// Masks each entry of two maps of Secret values; a side that is absent or `null` counts as
/// empty, and anything that is not a map is masked whole.
fn mask_maps(old: Option<&mut Value>, new: Option<&mut Value>) {
    let (old, new) = (old.filter(|v| !v.is_null()), new.filter(|v| !v.is_null()));
    let as_map = |v: &Option<&mut Value>| v.as_ref().is_none_or(|v| v.is_object());
    if !as_map(&old) || !as_map(&new) {
        mask_values(old, new);
        return;
    }
    let mut old = old.and_then(Value::as_object_mut);
    let mut new = new.and_then(Value::as_object_mut);
    let keys: BTreeSet<String> = old
        .iter()
        .chain(new.iter())
        .flat_map(|m| m.keys())
        .cloned()
        .collect();
    for key in keys {
        let old_entry = old.as_deref_mut().and_then(|m| m.get_mut(&key));
        let new_entry = new.as_deref_mut().and_then(|m| m.get_mut(&key));
        mask_values(old_entry, new_entry);
    }
}

/// Replaces two values, in place, by their masks from [`mask_secret_pair`].
fn mask_values(old: Option<&mut Value>, new: Option<&mut Value>) {
    let (old_mask, new_mask) = mask_secret_pair(old.as_deref(), new.as_deref());
    if let (Some(slot), Some(mask)) = (old, old_mask) {
        *slot = mask;
    }
    if let (Some(slot), Some(mask)) = (new, new_mask) {
        *slot = mask;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_manifest;
    use serde_json::json;

    fn manifest(text: &str) -> Vec<Value> {
        parse_manifest(text, "test").unwrap()
    }

    fn diff(old: &str, new: &str, options: Options) -> ManifestDiff {
        diff_manifests(
            &manifest(old),
            &manifest(new),
            "apps",
            "revision 1",
            "revision 2",
            options,
        )
    }

    const CM_A: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"1\"\n";
    const CM_B: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  k: \"2\"\n";

    #[test]
    fn reordering_is_not_a_change() {
        let d = diff(
            &format!("{CM_A}---\n{CM_B}"),
            &format!("{CM_B}---\n{CM_A}"),
            Options::default(),
        );
        assert!(d.is_empty());
        assert_eq!(d.unchanged, 2);
        assert_eq!(d.summary(), "0 changed, 0 added, 0 removed");
    }

    #[test]
    fn empty_manifests() {
        let d = diff("", "", Options::default());
        assert!(d.is_empty());
        assert_eq!(d.unchanged, 0);
        let d = diff("", CM_A, Options::default());
        assert_eq!(d.summary(), "0 changed, 1 added, 0 removed");
        let d = diff(CM_A, "", Options::default());
        assert_eq!(d.summary(), "0 changed, 0 added, 1 removed");
    }

    #[test]
    fn changed_added_and_removed() {
        let cm_a2 = CM_A.replace("x: \"1\"", "x: \"one\"");
        let cm_c = CM_B.replace("name: b", "name: c");
        let d = diff(
            &format!("{CM_A}---\n{CM_B}"),
            &format!("{cm_a2}---\n{cm_c}"),
            Options::default(),
        );
        assert_eq!(d.summary(), "1 changed, 1 added, 1 removed");
        assert!(!d.is_empty());
        let names: Vec<_> = d
            .changes
            .iter()
            .map(|c| (c.key.name.as_str(), c.change))
            .collect();
        assert_eq!(
            names,
            [
                ("a", Change::Changed),
                ("b", Change::Removed),
                ("c", Change::Added)
            ]
        );
        assert_eq!(
            d.changes[0].diff,
            "--- ConfigMap apps/a (v1) (revision 1)\n+++ ConfigMap apps/a (v1) (revision 2)\n\
             @@ -1,6 +1,6 @@\n apiVersion: v1\n data:\n-  x: \"1\"\n+  x: one\n kind: ConfigMap\n \
             metadata:\n   name: a\n"
        );
        let removed = &d.changes[1].diff;
        assert!(removed.starts_with(
            "--- ConfigMap apps/b (v1) (revision 1)\n+++ /dev/null\n@@ -1,6 +0,0 @@\n"
        ));
        assert!(removed.lines().skip(3).all(|l| l.starts_with('-')));
        let added = &d.changes[2].diff;
        assert!(added.starts_with(
            "--- /dev/null\n+++ ConfigMap apps/c (v1) (revision 2)\n@@ -0,0 +1,6 @@\n"
        ));
        assert!(added.lines().skip(3).all(|l| l.starts_with('+')));
        assert_eq!(
            d.keys(Change::Added)
                .map(|k| k.name.as_str())
                .collect::<Vec<_>>(),
            ["c"]
        );
    }

    #[test]
    fn namespace_defaults_to_release_namespace() {
        let explicit = CM_A.replace("  name: a\n", "  name: a\n  namespace: apps\n");
        // Same object whether the namespace is written or defaulted, so only its text changed.
        let d = diff(CM_A, &explicit, Options::default());
        assert_eq!(d.summary(), "1 changed, 0 added, 0 removed");
        assert_eq!(d.changes[0].key.namespace, "apps");
        // Another namespace is another object.
        let other = CM_A.replace("  name: a\n", "  name: a\n  namespace: other\n");
        let d = diff(CM_A, &other, Options::default());
        assert_eq!(d.summary(), "0 changed, 1 added, 1 removed");
    }

    #[test]
    fn duplicate_keys_keep_the_last() {
        let cm_a2 = CM_A.replace("x: \"1\"", "x: \"2\"");
        let d = diff(CM_A, &format!("{cm_a2}---\n{CM_A}"), Options::default());
        assert!(d.is_empty());
        let d = diff(CM_A, &format!("{CM_A}---\n{cm_a2}"), Options::default());
        assert_eq!(d.summary(), "1 changed, 0 added, 0 removed");
    }

    #[test]
    fn context_parameter() {
        let big = |v: &str| {
            let lines: String = (0..20).map(|i| format!("  k{i:02}: v\n")).collect();
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n{lines}  zz: {v}\n"
            )
        };
        let lines_of = |context| {
            let d = diff(
                &big("1"),
                &big("2"),
                Options {
                    context,
                    ..Options::default()
                },
            );
            d.changes[0].diff.lines().count()
        };
        // Headers, hunk header, the change (2 lines), then context before and after ("kind",
        // "metadata", "name" follow "zz").
        assert_eq!(lines_of(0), 5);
        assert_eq!(lines_of(1), 7);
        assert_eq!(lines_of(3), 11);
    }

    const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n    \
        kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"password\":\"c3VwZXJzZWNyZXQ=\"}}'\n\
        data:\n  password: c3VwZXJzZWNyZXQ=\n  same: c2FtZXZhbHVl\n  gone: Z29uZXZhbHVl\n\
        stringData:\n  token: hunter2-token\n";

    fn changed_secret() -> String {
        SECRET
            .replace("password: c3VwZXJzZWNyZXQ=", "password: bmV3c2VjcmV0")
            .replace("  gone: Z29uZXZhbHVl\n", "  fresh: ZnJlc2h2YWx1ZQ==\n")
            .replace("hunter2-token", "hunter3-token")
    }

    #[test]
    fn secret_values_are_masked_everywhere() {
        let d = diff(SECRET, &changed_secret(), Options::default());
        assert_eq!(d.summary(), "1 changed, 0 added, 0 removed");
        let lines: Vec<&str> = d.changes[0].diff.lines().collect();
        for line in [
            "-  password: \"*** (before)\"",
            "+  password: \"*** (after)\"",
            "   same: \"***\"",
            "-  gone: \"***\"",
            "+  fresh: \"***\"",
            "-  token: \"*** (before)\"",
            "+  token: \"*** (after)\"",
            "     kubectl.kubernetes.io/last-applied-configuration: \"***\"",
        ] {
            assert!(lines.contains(&line), "{line} not in {lines:#?}");
        }

        // Added and removed Secrets, and the JSON and debug output, are masked too.
        let added = diff("", SECRET, Options::default());
        let removed = diff(&changed_secret(), "", Options::default());
        let outputs = [d, added, removed]
            .map(|d| format!("{}{d:?}{}", serde_json::to_string(&d).unwrap(), d.summary()));
        for output in outputs {
            for secret in [
                "c3VwZXJzZWNyZXQ",
                "bmV3c2VjcmV0",
                "c2FtZXZhbHVl",
                "Z29uZXZhbHVl",
                "ZnJlc2h2YWx1ZQ",
                "hunter",
            ] {
                assert!(!output.contains(secret), "{secret} leaked in {output}");
            }
        }
    }

    #[test]
    fn show_secrets_reveals_values() {
        let options = Options {
            show_secrets: true,
            ..Options::default()
        };
        let d = diff(SECRET, &changed_secret(), options);
        let text = &d.changes[0].diff;
        assert!(text.contains("+  password: bmV3c2VjcmV0\n"), "{text}");
        assert!(!text.contains("***"));
    }

    #[test]
    fn unchanged_secret_is_unchanged() {
        assert!(diff(SECRET, SECRET, Options::default()).is_empty());
    }

    #[test]
    fn mask_pairs() {
        let (a, b) = (json!("a"), json!("b"));
        assert_eq!(
            mask_secret_pair(Some(&a), Some(&a)),
            (Some(json!("***")), Some(json!("***")))
        );
        assert_eq!(
            mask_secret_pair(Some(&a), Some(&b)),
            (Some(json!("*** (before)")), Some(json!("*** (after)")))
        );
        assert_eq!(mask_secret_pair(Some(&a), None), (Some(json!("***")), None));
        assert_eq!(mask_secret_pair(None, Some(&b)), (None, Some(json!("***"))));
        assert_eq!(mask_secret_pair(None, None), (None, None));
    }

    #[test]
    fn malformed_secret_data_is_masked_whole() {
        let mut old = json!({"apiVersion": "v1", "kind": "Secret", "data": "plain-old"});
        let mut new = json!({"apiVersion": "v1", "kind": "Secret", "data": ["plain-new"], "stringData": null});
        mask_secret_objects(Some(&mut old), Some(&mut new));
        assert_eq!(old["data"], json!("*** (before)"));
        assert_eq!(new["data"], json!("*** (after)"));
        assert_eq!(new["stringData"], Value::Null);
        // Not a Secret: untouched.
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}});
        mask_secret_objects(Some(&mut cm), None);
        assert_eq!(cm["data"]["k"], json!("v"));
    }

    #[test]
    fn json_shape() {
        let cm_a2 = CM_A.replace("x: \"1\"", "x: \"2\"");
        let d = diff(
            &format!("{CM_A}---\n{CM_B}"),
            &cm_a2,
            Options {
                context: 0,
                ..Options::default()
            },
        );
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            json!({
                "changes": [
                    {
                        "key": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "apps", "name": "a"},
                        "change": "changed",
                        "diff": "--- ConfigMap apps/a (v1) (revision 1)\n+++ ConfigMap apps/a (v1) (revision 2)\n@@ -3 +3 @@\n-  x: \"1\"\n+  x: \"2\"\n"
                    },
                    {
                        "key": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "apps", "name": "b"},
                        "change": "removed",
                        "diff": "--- ConfigMap apps/b (v1) (revision 1)\n+++ /dev/null\n@@ -1,6 +0,0 @@\n-apiVersion: v1\n-data:\n-  k: \"2\"\n-kind: ConfigMap\n-metadata:\n-  name: b\n"
                    }
                ],
                "unchanged": 0
            })
        );
    }

    #[test]
    fn empty_labels_and_namespace() {
        let cm_a2 = CM_A.replace("x: \"1\"", "x: \"2\"");
        let d = diff_manifests(
            &manifest(CM_A),
            &manifest(&cm_a2),
            "",
            "",
            "",
            Options::default(),
        );
        assert!(
            d.changes[0]
                .diff
                .starts_with("--- ConfigMap a (v1)\n+++ ConfigMap a (v1)\n")
        );
        let json = serde_json::to_value(&d).unwrap();
        assert!(json["changes"][0]["key"].get("namespace").is_none());
    }

    #[test]
    fn odd_documents_do_not_panic() {
        let odd = [
            json!("scalar"),
            json!([1, 2]),
            json!({}),
            json!({"kind": 3}),
        ];
        let d = diff_manifests(&odd, &[], "ns", "a", "b", Options::default());
        // All key to the same empty identity: the last wins.
        assert_eq!(d.summary(), "0 changed, 0 added, 1 removed");
    }

    #[test]
    fn values_diffs() {
        assert_eq!(values_diff(&Value::Null, &json!({}), "a", "b", 3), "");
        assert_eq!(
            values_diff(
                &Value::Null,
                &json!({"replicas": 2}),
                "revision 1",
                "revision 2",
                3
            ),
            "--- revision 1\n+++ revision 2\n@@ -1 +1 @@\n-{}\n+replicas: 2\n"
        );
        assert_eq!(
            values_diff(
                &json!({"a": 1, "b": 2}),
                &json!({"b": 2, "a": 1}),
                "x",
                "y",
                3
            ),
            ""
        );
    }
}
