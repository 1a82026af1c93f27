//! Which resources the emulator serves: built-in kinds, plus every version of every CRD that
//! has been created.

use serde_json::{Map, Value, json};
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
    /// Short names (`hr`, `ns`, ...).
    pub short_names: Vec<String>,
    /// Categories (`all`, `fluxcd`, ...).
    pub categories: Vec<String>,
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

/// Built-in kinds: (group, version, kind, plural, namespaced, status, short names).
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
    &'static [&'static str],
);

const BUILTIN: &[Builtin] = &[
    ("", "v1", "Namespace", "namespaces", false, true, &["ns"]),
    ("", "v1", "Secret", "secrets", true, false, &[]),
    ("", "v1", "ConfigMap", "configmaps", true, false, &["cm"]),
    (
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
        false,
        &["sa"],
    ),
    ("", "v1", "Service", "services", true, true, &["svc"]),
    ("", "v1", "Event", "events", true, false, &["ev"]),
    (
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        true,
        false,
        &[],
    ),
    (
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        true,
        &["deploy"],
    ),
    (
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
        true,
        &["sts"],
    ),
    ("apps", "v1", "DaemonSet", "daemonsets", true, true, &["ds"]),
    ("batch", "v1", "Job", "jobs", true, true, &[]),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        false,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        false,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        false,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        false,
        &[],
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
        false,
        &[],
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
        false,
        &[],
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        true,
        &["crd", "crds"],
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
            .map(|(g, v, k, p, n, s, short)| Resource {
                group: g.to_string(),
                version: v.to_string(),
                kind: k.to_string(),
                plural: p.to_string(),
                namespaced: *n,
                status: *s,
                schema: None,
                short_names: short.iter().map(|s| s.to_string()).collect(),
                categories: Vec::new(),
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
        let strings = |pointer: &str| -> Vec<String> {
            crd.pointer(pointer)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let short_names = strings("/spec/names/shortNames");
        let categories = strings("/spec/names/categories");
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
                short_names: short_names.clone(),
                categories: categories.clone(),
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
                "kind": r.kind, "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                "shortNames": r.short_names, "categories": r.categories}));
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

impl Registry {
    /// `/openapi/v3`: one document per group version.
    pub fn openapi_index(&self) -> Value {
        let mut paths = Map::new();
        for r in &self.resources {
            let path = if r.group.is_empty() {
                format!("api/{}", r.version)
            } else {
                format!("apis/{}/{}", r.group, r.version)
            };
            // kubectl caches documents by this URL: the hash must change with the content, or
            // it keeps validating against schemas from before a CRD changed.
            let hash = self
                .openapi_document(&r.group, &r.version)
                .map(|doc| {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    doc.to_string().hash(&mut h);
                    format!("{:016X}", h.finish())
                })
                .unwrap_or_default();
            paths.insert(
                path.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}),
            );
        }
        json!({"paths": paths})
    }

    /// `/openapi/v3/<group version>`: a schema per kind, tagged with its GVK. CRDs publish their
    /// own schema; built-in kinds a permissive one (validation of built-ins is not emulated).
    pub fn openapi_document(&self, group: &str, version: &str) -> Option<Value> {
        let mut schemas = Map::new();
        let mut paths = Map::new();
        for r in self
            .resources
            .iter()
            .filter(|r| r.group == group && r.version == version)
        {
            // kubectl checks a kind's PATCH and POST operations for `fieldValidation` support.
            let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
            let params = json!([{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}}]);
            let op = json!({"x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": {}});
            let base = if r.group.is_empty() {
                format!("/api/{}", r.version)
            } else {
                format!("/apis/{}/{}", r.group, r.version)
            };
            let scope = if r.namespaced {
                "/namespaces/{namespace}"
            } else {
                ""
            };
            paths.insert(format!("{base}{scope}/{}", r.plural), json!({"post": op}));
            paths.insert(
                format!("{base}{scope}/{}/{{name}}", r.plural),
                json!({"patch": op, "put": op}),
            );
            let mut schema = r.schema.clone().unwrap_or_else(
                || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            );
            schema["x-kubernetes-group-version-kind"] =
                json!([{"group": r.group, "version": r.version, "kind": r.kind}]);
            let prefix = if r.group.is_empty() {
                "io.k8s.api.core".to_string()
            } else {
                r.group.split('.').rev().collect::<Vec<_>>().join(".")
            };
            schemas.insert(format!("{prefix}.{}.{}", r.version, r.kind), schema);
        }
        if schemas.is_empty() {
            return None;
        }
        if group.is_empty() && version == "v1" {
            // The apiserver publishes core/v1 List too; kubectl validates `kind: List` files
            // against it, and falls back to the protobuf-only /openapi/v2 without it.
            schemas.insert(
                "io.k8s.api.core.v1.List".to_string(),
                json!({"type": "object", "required": ["items"],
                       "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                      "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                                      "items": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
                       "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "List"}]}),
            );
        }
        Some(
            json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.34.0"}, "paths": paths,
                    "components": {"schemas": schemas}}),
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
