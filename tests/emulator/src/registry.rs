//! Which resources the emulator serves: built-in kinds, plus every version of every CRD that
//! has been created.

use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One served resource (a group/version/plural).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// API group; empty for the core group.
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural name used in paths.
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Has a status subresource.
    pub status: bool,
    /// OpenAPI schema (CRDs), for defaulting.
    pub schema: Option<Value>,
}

impl Resource {
    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Built-in kinds: (group, version, kind, plural, namespaced, status).
const BUILTIN: &[(&str, &str, &str, &str, bool, bool)] = &[
    ("", "v1", "Namespace", "namespaces", false, true),
    ("", "v1", "Secret", "secrets", true, false),
    ("", "v1", "ConfigMap", "configmaps", true, false),
    ("", "v1", "ServiceAccount", "serviceaccounts", true, false),
    ("", "v1", "Service", "services", true, true),
    ("", "v1", "Event", "events", true, false),
    ("coordination.k8s.io", "v1", "Lease", "leases", true, false),
    ("apps", "v1", "Deployment", "deployments", true, true),
    ("apps", "v1", "StatefulSet", "statefulsets", true, true),
    ("apps", "v1", "DaemonSet", "daemonsets", true, true),
    ("batch", "v1", "Job", "jobs", true, true),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        true,
    ),
];

/// The served resources.
#[derive(Debug, Clone)]
pub struct Registry {
    resources: Vec<Resource>,
    /// CRD name -> resources it added.
    from_crds: BTreeMap<String, Vec<Resource>>,
}

impl Default for Registry {
    fn default() -> Self {
        let resources = BUILTIN
            .iter()
            .map(|(g, v, k, p, n, s)| Resource {
                group: g.to_string(),
                version: v.to_string(),
                kind: k.to_string(),
                plural: p.to_string(),
                namespaced: *n,
                status: *s,
                schema: None,
            })
            .collect();
        Registry {
            resources,
            from_crds: BTreeMap::new(),
        }
    }
}

impl Registry {
    /// The resource at `group/version/plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&Resource> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// All resources.
    pub fn all(&self) -> &[Resource] {
        &self.resources
    }

    /// Serves the versions of a CRD (replacing what it served before).
    pub fn add_crd(&mut self, crd: &Value) {
        let name = crd
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.remove_crd(&name);
        let group = crd
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = crd
            .pointer("/spec/names/kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let plural = crd
            .pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let namespaced = crd.pointer("/spec/scope").and_then(Value::as_str) == Some("Namespaced");
        let mut added = Vec::new();
        for version in crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if version.get("served").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            added.push(Resource {
                group: group.to_string(),
                version: version
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                kind: kind.to_string(),
                plural: plural.to_string(),
                namespaced,
                status: version.pointer("/subresources/status").is_some(),
                schema: version.pointer("/schema/openAPIV3Schema").cloned(),
            });
        }
        self.resources.extend(added.iter().cloned());
        self.from_crds.insert(name, added);
    }

    /// Stops serving a CRD's resources.
    pub fn remove_crd(&mut self, name: &str) {
        if let Some(old) = self.from_crds.remove(name) {
            self.resources.retain(|r| !old.contains(r));
        }
    }

    /// `/apis` group list.
    pub fn group_list(&self) -> Value {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for r in self.resources.iter().filter(|r| !r.group.is_empty()) {
            let versions = groups.entry(&r.group).or_default();
            if !versions.contains(&r.version.as_str()) {
                versions.push(&r.version);
            }
        }
        let groups: Vec<Value> = groups
            .into_iter()
            .map(|(g, vs)| {
                let versions: Vec<Value> = vs
                    .iter()
                    .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                    .collect();
                json!({"name": g, "versions": versions, "preferredVersion": versions[0]})
            })
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    /// `/api/v1` or `/apis/g/v` resource list.
    pub fn resource_list(&self, group: &str, version: &str) -> Option<Value> {
        let rs: Vec<&Resource> = self
            .resources
            .iter()
            .filter(|r| r.group == group && r.version == version)
            .collect();
        if rs.is_empty() {
            return None;
        }
        let mut list: Vec<Value> = Vec::new();
        for r in rs {
            list.push(json!({"name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced,
                "kind": r.kind, "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}));
            if r.status {
                list.push(json!({"name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced,
                    "kind": r.kind, "verbs": ["get", "patch", "update"]}));
            }
        }
        let gv = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        Some(
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}),
        )
    }
}

/// Fills `default:` values of a structural schema into `value`, as the apiserver does on read
/// and write: for absent properties with a default, recursively.
pub fn apply_defaults(schema: &Value, value: &mut Value) {
    let Some(map) = value.as_object_mut() else {
        if let (Some(items), Some(array)) = (schema.get("items"), value.as_array_mut()) {
            for item in array {
                apply_defaults(items, item);
            }
        }
        return;
    };
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, prop) in properties {
        if !map.contains_key(key)
            && let Some(default) = prop.get("default")
        {
            map.insert(key.clone(), default.clone());
        }
        if let Some(child) = map.get_mut(key) {
            apply_defaults(prop, child);
        }
    }
}
