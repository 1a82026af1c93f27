//! How the library reads the objects a HelmRelease references. IO stays behind
//! [`ObjectReader`], so the composition itself is a pure function over what it returns and
//! the same code serves the plugin (files or a cluster) and a controller (its informer
//! caches).
//!
//! The trait is synchronous: the plugin is synchronous, and a controller reads from
//! in-memory caches, which need no `await`. An async caller that must go to the API server
//! fetches first (the references are known from the spec: [`referenced_objects`]) and hands
//! the result over in a [`MemoryReader`].

use crate::{Error, Result};
use helmrelease_crds::helmrelease::{HelmRelease, ValuesKind};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The kinds of objects a HelmRelease's desired state depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// `v1` ConfigMap (`valuesFrom`).
    ConfigMap,
    /// `v1` Secret (`valuesFrom`, repository credentials and CAs).
    Secret,
    /// `source.toolkit.fluxcd.io/v1` HelmRepository.
    HelmRepository,
    /// `source.toolkit.fluxcd.io/v1` HelmChart.
    HelmChart,
    /// `source.toolkit.fluxcd.io/v1` OCIRepository.
    OCIRepository,
}

impl ObjectKind {
    /// The Kubernetes kind.
    pub fn kind(self) -> &'static str {
        match self {
            ObjectKind::ConfigMap => "ConfigMap",
            ObjectKind::Secret => "Secret",
            ObjectKind::HelmRepository => "HelmRepository",
            ObjectKind::HelmChart => "HelmChart",
            ObjectKind::OCIRepository => "OCIRepository",
        }
    }

    /// The apiVersion the library reads the kind at.
    pub fn api_version(self) -> &'static str {
        match self {
            ObjectKind::ConfigMap | ObjectKind::Secret => "v1",
            _ => "source.toolkit.fluxcd.io/v1",
        }
    }
}

impl From<ValuesKind> for ObjectKind {
    fn from(kind: ValuesKind) -> Self {
        match kind {
            ValuesKind::ConfigMap => ObjectKind::ConfigMap,
            ValuesKind::Secret => ObjectKind::Secret,
        }
    }
}

/// Reads namespaced objects by kind, namespace and name.
pub trait ObjectReader {
    /// The object as JSON, `None` when it does not exist. Other failures are errors
    /// ([`Error::Read`] keeps the reader's own).
    fn get(&self, kind: ObjectKind, namespace: &str, name: &str) -> Result<Option<Value>>;

    /// Namespaces where an object of this kind and name exists, for a hint when a reference
    /// names the wrong namespace. Readers that cannot list cheaply return nothing.
    fn namespaces_of(&self, kind: ObjectKind, name: &str) -> Vec<String> {
        let _ = (kind, name);
        Vec::new()
    }
}

/// Objects held in memory: tests, files, or what an async caller fetched beforehand.
#[derive(Debug, Default, Clone)]
pub struct MemoryReader {
    /// The objects.
    pub objects: Vec<Value>,
}

impl MemoryReader {
    /// A reader over these objects.
    pub fn new(objects: Vec<Value>) -> MemoryReader {
        MemoryReader { objects }
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl ObjectReader for MemoryReader {
    fn get(&self, kind: ObjectKind, namespace: &str, name: &str) -> Result<Option<Value>> {
        Ok(self
            .objects
            .iter()
            .find(|o| {
                str_at(o, "/kind") == kind.kind()
                    && str_at(o, "/metadata/name") == name
                    && str_at(o, "/metadata/namespace") == namespace
            })
            .cloned())
    }

    fn namespaces_of(&self, kind: ObjectKind, name: &str) -> Vec<String> {
        self.objects
            .iter()
            .filter(|o| str_at(o, "/kind") == kind.kind() && str_at(o, "/metadata/name") == name)
            .map(|o| str_at(o, "/metadata/namespace").to_string())
            .collect()
    }
}

/// The objects a HelmRelease's spec names directly: `valuesFrom` entries and the chart
/// source (`chart.spec.sourceRef` or `chartRef`), as (kind, namespace, name). Secrets the
/// sources reference are found only once the sources are read.
pub fn referenced_objects(hr: &HelmRelease) -> Vec<(ObjectKind, String, String)> {
    let own = hr.metadata.namespace.clone().unwrap_or_default();
    let mut out: Vec<(ObjectKind, String, String)> = hr
        .spec
        .values_from
        .iter()
        .flatten()
        .map(|r| (r.kind.into(), own.clone(), r.name.clone()))
        .collect();
    if let Some(chart_ref) = &hr.spec.chart_ref {
        let ns = chart_ref.namespace.clone().unwrap_or_else(|| own.clone());
        let kind = match chart_ref.kind {
            helmrelease_crds::helmrelease::ChartRefKind::HelmChart => Some(ObjectKind::HelmChart),
            helmrelease_crds::helmrelease::ChartRefKind::OCIRepository => {
                Some(ObjectKind::OCIRepository)
            }
            helmrelease_crds::helmrelease::ChartRefKind::ExternalArtifact => None,
        };
        if let Some(kind) = kind {
            out.push((kind, ns, chart_ref.name.clone()));
        }
    } else if let Some(chart) = &hr.spec.chart {
        let source = &chart.spec.source_ref;
        if source.kind == helmrelease_crds::helmrelease::ChartSourceKind::HelmRepository {
            let ns = source.namespace.clone().unwrap_or(own);
            out.push((ObjectKind::HelmRepository, ns, source.name.clone()));
        }
    }
    out
}

/// Decodes an object into its typed form. A missing `spec.interval` (required by the API,
/// but only a polling period) is read as empty, so a hand-written or trimmed object still
/// says what it deploys.
pub fn typed<T: DeserializeOwned>(object: &Value, origin: &str) -> Result<T> {
    let mut object = object.clone();
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
        spec.entry("interval")
            .or_insert_with(|| Value::String(String::new()));
    }
    serde_json::from_value(object).map_err(|e| Error::Parse {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// A HelmRelease from JSON, its namespace defaulted to `default_namespace` when it has none
/// (a file without `metadata.namespace` is applied to the current namespace).
pub fn helmrelease_from_value(object: &Value, default_namespace: &str) -> Result<HelmRelease> {
    let mut hr: HelmRelease = typed(
        object,
        &format!("HelmRelease {}", str_at(object, "/metadata/name")),
    )?;
    if hr
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        hr.metadata.namespace = Some(default_namespace.to_string());
    }
    Ok(hr)
}

/// A key of a Secret's `data`, base64-decoded; `None` when absent or not base64.
pub fn secret_data(secret: &Value, key: &str) -> Option<Vec<u8>> {
    let escaped = key.replace('~', "~0").replace('/', "~1");
    secret
        .pointer(&format!("/data/{escaped}"))
        .and_then(Value::as_str)
        .and_then(decode_base64)
}

pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim().as_bytes())
        .ok()
}
