//! What the rules may know about other objects: sources, OCIRepositories, generated HelmCharts
//! and namespace labels. The webhook answers from its watch caches, `check` from the files it
//! was given.

use serde_json::Value;
use std::collections::BTreeMap;

/// How much a view knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookups {
    /// Nothing: no cluster and no files (webhook `--offline`).
    Off,
    /// Some objects (files given to `check`): absence proves nothing.
    Partial,
    /// Every object of the watched kinds (a synced cluster cache): absence is a fact.
    Complete,
}

/// `spec.ref` of an OCIRepository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OciRef {
    /// `ref.digest`.
    pub digest: Option<String>,
    /// `ref.semver`.
    pub semver: Option<String>,
    /// `ref.tag`.
    pub tag: Option<String>,
}

impl OciRef {
    /// Reads `spec.ref` of an OCIRepository object.
    pub fn of(object: &Value) -> OciRef {
        let field = |name: &str| {
            object
                .pointer(&format!("/spec/ref/{name}"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        OciRef {
            digest: field("digest"),
            semver: field("semver"),
            tag: field("tag"),
        }
    }

    /// Why this reference floats, or `None` when it pins one artifact. Flux's precedence is
    /// digest, then semver, then tag (default `latest`).
    pub fn floating(&self) -> Option<String> {
        if self.digest.is_some() {
            return None;
        }
        if let Some(semver) = &self.semver {
            return Some(format!(
                "follows the SemVer range {semver:?} (spec.ref.semver)"
            ));
        }
        match self.tag.as_deref() {
            None => Some("sets no spec.ref, so it follows the \"latest\" tag".to_string()),
            Some("latest") => Some("follows the \"latest\" tag".to_string()),
            Some(_) => None,
        }
    }
}

/// Read-only knowledge about other objects.
pub trait SourceView {
    /// How much this view knows.
    fn lookups(&self) -> Lookups;
    /// Namespaces holding an object of `kind` named `name`.
    fn namespaces_with(&self, kind: &str, name: &str) -> Vec<String>;
    /// `spec.ref` of OCIRepository `namespace/name`, when known.
    fn oci_ref(&self, namespace: &str, name: &str) -> Option<OciRef>;
    /// `status.artifact.revision` of HelmChart `namespace/name`, when known.
    fn chart_revision(&self, namespace: &str, name: &str) -> Option<String>;
    /// Labels of a namespace, when known.
    fn namespace_labels(&self, namespace: &str) -> Option<BTreeMap<String, String>>;
}

/// A view that knows nothing (webhook `--offline`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLookups;

impl SourceView for NoLookups {
    fn lookups(&self) -> Lookups {
        Lookups::Off
    }
    fn namespaces_with(&self, _: &str, _: &str) -> Vec<String> {
        Vec::new()
    }
    fn oci_ref(&self, _: &str, _: &str) -> Option<OciRef> {
        None
    }
    fn chart_revision(&self, _: &str, _: &str) -> Option<String> {
        None
    }
    fn namespace_labels(&self, _: &str) -> Option<BTreeMap<String, String>> {
        None
    }
}

/// A view over a list of objects (files given to `check`, or a test fixture).
#[derive(Debug, Clone)]
pub struct ObjectIndex {
    objects: BTreeMap<(String, String, String), Value>,
    lookups: Lookups,
    default_namespace: String,
}

impl ObjectIndex {
    /// Indexes objects by kind, namespace and name; objects without a namespace are placed in
    /// `default_namespace`. `lookups` says whether the list is everything there is.
    pub fn new<'a>(
        objects: impl IntoIterator<Item = &'a Value>,
        lookups: Lookups,
        default_namespace: &str,
    ) -> Self {
        let mut index = BTreeMap::new();
        for object in objects {
            let kind = object
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if kind.is_empty() || name.is_empty() {
                continue;
            }
            let namespace = if kind == "Namespace" {
                String::new()
            } else {
                object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or(default_namespace)
                    .to_string()
            };
            index.insert(
                (kind.to_string(), namespace, name.to_string()),
                object.clone(),
            );
        }
        ObjectIndex {
            objects: index,
            lookups,
            default_namespace: default_namespace.to_string(),
        }
    }

    /// The namespace objects without one are placed in.
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))
    }
}

impl SourceView for ObjectIndex {
    fn lookups(&self) -> Lookups {
        self.lookups
    }

    fn namespaces_with(&self, kind: &str, name: &str) -> Vec<String> {
        self.objects
            .keys()
            .filter(|(k, _, n)| k == kind && n == name)
            .map(|(_, ns, _)| ns.clone())
            .collect()
    }

    fn oci_ref(&self, namespace: &str, name: &str) -> Option<OciRef> {
        self.get("OCIRepository", namespace, name).map(OciRef::of)
    }

    fn chart_revision(&self, namespace: &str, name: &str) -> Option<String> {
        self.get("HelmChart", namespace, name)?
            .pointer("/status/artifact/revision")
            .and_then(Value::as_str)
            .map(String::from)
    }

    fn namespace_labels(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        let labels = self
            .get("Namespace", "", namespace)?
            .pointer("/metadata/labels");
        Some(
            labels
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
        )
    }
}
