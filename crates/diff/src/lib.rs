//! Diffs for Helm releases: manifests compared object by object (revision against revision, or
//! desired against deployed), values compared as YAML, and drift of live objects against the
//! manifest that created them. Everything here is pure: objects in, findings out.

pub mod drift;
pub mod objects;
pub mod unified;

use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// What went wrong reading the inputs of a diff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A manifest did not parse.
    #[error(transparent)]
    Manifest(#[from] helmrelease_manifest::Error),
    /// An ignore rule's JSON pointer is not valid.
    #[error("invalid JSON pointer {pointer:?} in ignore rule: {reason}")]
    Pointer {
        /// The pointer as given.
        pointer: String,
        /// Why it is invalid.
        reason: String,
    },
    /// An ignore rule's target has an invalid name/namespace regex or label/annotation selector.
    #[error("invalid selector {selector:?} in ignore rule: {reason}")]
    Selector {
        /// The regex or selector as given.
        selector: String,
        /// Why it is invalid.
        reason: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Identity of an object in a manifest: objects with the same key are the same object across
/// revisions, whatever their position in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectKey {
    /// `apiVersion` as written (`apps/v1`).
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`, empty when the manifest leaves it to the release namespace.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectKey {
    /// The key of an object; missing fields are empty strings.
    pub fn of(object: &Value) -> ObjectKey {
        let text = |p: &str| {
            object
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        ObjectKey {
            api_version: text("/apiVersion"),
            kind: text("/kind"),
            namespace: text("/metadata/namespace"),
            name: text("/metadata/name"),
        }
    }

    /// The API group (`apps`, or empty for the core group).
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    /// The key with `namespace` filled in when the object does not name one.
    pub fn in_namespace(mut self, namespace: &str) -> ObjectKey {
        if self.namespace.is_empty() {
            self.namespace = namespace.to_string();
        }
        self
    }
}

impl fmt::Display for ObjectKey {
    /// `apps/v1, Kind=Deployment, Namespace=apps, Name=web`-like, but shorter:
    /// `Deployment apps/web (apps/v1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.kind)?;
        if !self.namespace.is_empty() {
            write!(f, "{}/", self.namespace)?;
        }
        write!(f, "{} ({})", self.name, self.api_version)
    }
}

/// The objects of a Helm manifest (the `---`-separated YAML Helm stores), in order, skipping
/// empty documents. `origin` names the manifest in errors.
pub fn parse_manifest(text: &str, origin: &str) -> Result<Vec<Value>> {
    Ok(helmrelease_manifest::parse(text, origin)?
        .into_iter()
        .map(|d| d.value)
        .filter(|v| !v.is_null())
        .collect())
}

/// Renders a value as YAML for display; falls back to JSON if YAML serialisation fails.
pub fn to_yaml(value: &Value) -> String {
    serde_saphyr::to_string(value)
        .unwrap_or_else(|_| serde_json::to_string_pretty(value).unwrap_or_default() + "\n")
}
