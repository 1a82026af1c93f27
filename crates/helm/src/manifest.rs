//! Rendered templates to what Helm installs and prints: documents split on `---`, hooks
//! (`helm.sh/hook`) apart from resources, resources in Helm's install order by kind, and the
//! `helm template` text (`---\n# Source: <path>\n<document>`).

use crate::{Error, Result, yaml};
use helmrelease_gotmpl::Value;
use std::collections::BTreeMap;

/// Helm's install order by kind; unknown kinds go last, alphabetically.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Hook events Helm knows (`test-success` is the Helm 2 name of `test`).
const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// A resource document of a template.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Template path (`mychart/templates/deployment.yaml`).
    pub name: String,
    /// The document, trimmed.
    pub content: String,
    /// Its kind.
    pub kind: String,
}

/// A hook document.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    /// `metadata.name`.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Template path.
    pub path: String,
    /// The document.
    pub manifest: String,
    /// Events, lower-cased (`test-success` becomes `test`).
    pub events: Vec<String>,
    /// `helm.sh/hook-weight`, 0 when absent or not a number.
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` values.
    pub delete_policies: Vec<String>,
}

impl Hook {
    /// Whether it is a test hook (skipped by `--skip-tests`).
    pub fn is_test(&self) -> bool {
        self.events.iter().any(|e| e == "test")
    }
}

/// Helm's `SplitManifests`: documents separated by `---` lines, trimmed, empty ones dropped.
pub fn split_manifests(text: &str) -> Vec<String> {
    // Go's `(?:^|\s*\n)---\s*`, where \s is ASCII whitespace.
    static SEPARATOR: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let text = text.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let Some(sep) = SEPARATOR
        .get_or_init(|| regex::Regex::new(r"(?:^|[\t\n\x0c\r ]*\n)---[\t\n\x0c\r ]*").ok())
    else {
        return vec![text.to_string()];
    };
    sep.split(text)
        .map(|d| d.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']))
        .filter(|d| !d.is_empty())
        .map(String::from)
        .collect()
}

fn str_at(v: &Value, path: &[&str]) -> Option<Value> {
    let mut cur = v.clone();
    for key in path {
        cur = match &cur {
            Value::Map(m) => m.get(key)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.to_string(),
        Some(Value::Nil) | None => String::new(),
        Some(other) => helmrelease_gotmpl::fmt::format_value(other),
    }
}

/// Helm's `SortManifests`: files (template path → rendered text) in path order, partials and
/// blank files skipped, documents split; hooks and resources each sorted by install order,
/// keeping the order of equal kinds. Hooks with an unknown event are dropped, as Helm does.
pub fn sort_manifests(files: &BTreeMap<String, String>) -> Result<(Vec<Hook>, Vec<Manifest>)> {
    let mut docs = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            docs.push((path.clone(), doc));
        }
    }
    // Parsing every document is most of the work; it is independent per document.
    let heads = parse_heads(&docs);
    let mut hooks = Vec::new();
    let mut manifests = Vec::new();
    for ((path, doc), head) in docs.into_iter().zip(heads) {
        let head = head.map_err(|e| Error::Render(format!("YAML parse error on {path}: {e}")))?;
        let Some(hook_types) = head.annotations.get("helm.sh/hook").cloned() else {
            manifests.push(Manifest {
                name: path,
                content: doc,
                kind: head.kind,
            });
            continue;
        };
        let list = |key: &str| -> Vec<String> {
            head.annotations
                .get(key)
                .map(|v| v.split(',').map(|p| p.trim().to_lowercase()).collect())
                .unwrap_or_default()
        };
        let mut events = Vec::new();
        let mut unknown = false;
        for t in hook_types.split(',') {
            let t = t.trim().to_lowercase();
            if !HOOK_EVENTS.contains(&t.as_str()) {
                unknown = true;
                break;
            }
            events.push(if t == "test-success" {
                "test".into()
            } else {
                t
            });
        }
        if unknown {
            continue;
        }
        let weight = head
            .annotations
            .get("helm.sh/hook-weight")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        let delete_policies = list("helm.sh/hook-delete-policy");
        hooks.push(Hook {
            name: head.name,
            kind: head.kind,
            path,
            manifest: doc,
            events,
            weight,
            delete_policies,
        });
    }
    hooks.sort_by(|a, b| kind_order(&a.kind, &b.kind));
    manifests.sort_by(|a, b| kind_order(&a.kind, &b.kind));
    Ok((hooks, manifests))
}

/// What sorting needs of a document: its kind, name and annotations (as text).
struct Head {
    kind: String,
    name: String,
    annotations: BTreeMap<String, String>,
}

fn head_of(doc: &str) -> std::result::Result<Head, String> {
    let value = yaml::from_yaml(doc).map_err(|e| e.to_string())?;
    let annotations = match str_at(&value, &["metadata", "annotations"]) {
        Some(Value::Map(m)) => m
            .entries()
            .into_iter()
            .map(|(k, v)| (k, text(Some(&v))))
            .collect(),
        _ => BTreeMap::new(),
    };
    Ok(Head {
        kind: text(str_at(&value, &["kind"]).as_ref()),
        name: text(str_at(&value, &["metadata", "name"]).as_ref()),
        annotations,
    })
}

/// Heads of all documents, parsed on every core, in order.
fn parse_heads(docs: &[(String, String)]) -> Vec<std::result::Result<Head, String>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(docs.len().max(1));
    if threads <= 1 || docs.len() < 8 {
        return docs.iter().map(|(_, d)| head_of(d)).collect();
    }
    let chunk = docs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = docs
            .chunks(chunk)
            .map(|part| {
                (
                    part.len(),
                    scope.spawn(move || part.iter().map(|(_, d)| head_of(d)).collect::<Vec<_>>()),
                )
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(len, h)| {
                h.join().unwrap_or_else(|_| {
                    (0..len)
                        .map(|_| Err("the YAML parser failed".to_string()))
                        .collect()
                })
            })
            .collect()
    })
}

/// Helm's `lessByKind` as an ordering (used with a stable sort).
fn kind_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let pos = |k: &str| INSTALL_ORDER.iter().position(|x| *x == k);
    match (pos(a), pos(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// One `---\n# Source: <path>\n<content>\n` block, as Helm writes manifests.
pub fn source_block(path: &str, content: &str) -> String {
    format!("---\n# Source: {path}\n{content}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_split_like_helm() {
        assert_eq!(
            split_manifests("a: 1\n---\nb: 2\n  \n---   \n\n---\nc: 3\n"),
            // The separator swallows the whitespace after it, so the third --- is no longer
            // at a line start: Go's regexp gives the same.
            vec!["a: 1", "b: 2", "---\nc: 3"]
        );
        assert_eq!(split_manifests("---\na: 1"), vec!["a: 1"]);
        assert_eq!(
            split_manifests("a: '---'\nb: x---y"),
            vec!["a: '---'\nb: x---y"]
        );
        assert!(split_manifests("  \n---\n ").is_empty());
    }

    #[test]
    fn kinds_sort_in_install_order_and_unknown_last() {
        let mut kinds = vec![
            "Zed",
            "Deployment",
            "Alpha",
            "Namespace",
            "Service",
            "ConfigMap",
        ];
        kinds.sort_by(|a, b| kind_order(a, b));
        assert_eq!(
            kinds,
            vec![
                "Namespace",
                "ConfigMap",
                "Service",
                "Deployment",
                "Alpha",
                "Zed"
            ]
        );
    }
}
