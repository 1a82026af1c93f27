//! The Helm release as Helm serialises it (`helm.sh/helm/v4/pkg/release/v1.Release`, Helm 3's
//! `pkg/release.Release` is a subset). Field order is Go's declaration order and optional fields
//! are skipped when absent, so encoding a decoded release reproduces Helm's JSON. Fields this
//! model does not know are kept in `extra` and written back.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Free-form JSON object (values, annotations of unknown shape).
pub type Object = Map<String, Value>;

/// A Helm release revision.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Release {
    /// Release name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Status, times and notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Info>,
    /// The whole chart, templates and files included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
    /// User-supplied values (not merged with the chart's defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Object>,
    /// Rendered manifest, hooks excluded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// Hooks of the release.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Hook>,
    /// Revision number.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: i64,
    /// Release namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Helm 4: `ssa` or `csa` (empty means client-side apply).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub apply_method: String,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Object,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// Release information.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Info {
    /// RFC 3339 time of the first deployment (`""` in Helm 3 when zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_deployed: Option<String>,
    /// RFC 3339 time of this revision's deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deployed: Option<String>,
    /// RFC 3339 deletion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
    /// Human-readable log entry, e.g. "Install complete".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Status, e.g. `deployed` (see [`crate::Status`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Revision rolled back to (newer Helm 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_revision: Option<i64>,
    /// Rendered NOTES.txt.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Deployed resources by kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// A chart as stored in a release. Helm always writes the first six fields, `null` when empty.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Chart {
    /// Chart.yaml.
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// Chart.lock.
    #[serde(default)]
    pub lock: Option<Lock>,
    /// Templates, data base64-encoded.
    #[serde(default)]
    pub templates: Option<Vec<File>>,
    /// values.yaml of the chart.
    #[serde(default)]
    pub values: Option<Object>,
    /// values.schema.json, base64-encoded.
    #[serde(default)]
    pub schema: Option<String>,
    /// Helm 4: modification time of the schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemamodtime: Option<String>,
    /// Other files (README, crds/, ...), data base64-encoded.
    #[serde(default)]
    pub files: Option<Vec<File>>,
    /// Helm 4: modification time of the chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modtime: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// A file of a chart.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct File {
    /// Path inside the chart.
    #[serde(default)]
    pub name: String,
    /// Helm 4: modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modtime: Option<String>,
    /// Content, base64-encoded (Go `[]byte`).
    #[serde(default)]
    pub data: Option<String>,
}

/// Chart.yaml.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Chart name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    /// Source addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<String>>,
    /// Chart version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Keywords.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keywords: Option<Vec<String>>,
    /// Maintainers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintainers: Option<Vec<Maintainer>>,
    /// Icon address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Chart API version (`v1` or `v2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Condition enabling the chart as a dependency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Tags enabling the chart as a dependency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// Version of the packaged application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Deprecated chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<bool>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
    /// Supported Kubernetes versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// Dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<Dependency>>,
    /// `application` or `library`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub type_: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// A chart maintainer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Maintainer {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Web address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// A chart dependency (Chart.yaml `dependencies`, Chart.lock `dependencies`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Dependency {
    /// Chart name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Version or range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Repository address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Values path enabling the dependency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Tags enabling the dependency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Whether the dependency is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Values imported from the dependency.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "import-values"
    )]
    pub import_values: Option<Vec<Value>>,
    /// Alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// Chart.lock.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Lock {
    /// Generation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    /// Digest of the dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Locked dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<Dependency>>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// A hook of a release.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Hook {
    /// Object name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Object kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Template path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Rendered manifest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// Events the hook runs on (`pre-install`, `test`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Last execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<HookExecution>,
    /// Execution order among hooks of an event.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight: i64,
    /// When to delete the hook object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_policies: Vec<String>,
    /// Helm 4: whether to copy hook logs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_log_policies: Vec<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// The last run of a hook.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct HookExecution {
    /// Start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// `Unknown`, `Running`, `Succeeded` or `Failed`.
    #[serde(default)]
    pub phase: String,
}

impl Release {
    /// The status of this revision.
    pub fn status(&self) -> crate::Status {
        crate::Status::parse(self.info.as_ref().map(|i| i.status.as_str()).unwrap_or(""))
    }

    /// Chart metadata, when the release carries a chart.
    pub fn metadata(&self) -> Option<&Metadata> {
        self.chart.as_ref().and_then(|c| c.metadata.as_ref())
    }

    /// `<chart>-<version>` as `helm history` prints it.
    pub fn chart_label(&self) -> String {
        match self.metadata() {
            Some(m) => format!(
                "{}-{}",
                m.name.as_deref().unwrap_or_default(),
                m.version.as_deref().unwrap_or_default()
            ),
            None => String::new(),
        }
    }

    /// The chart's appVersion.
    pub fn app_version(&self) -> &str {
        self.metadata()
            .and_then(|m| m.app_version.as_deref())
            .unwrap_or_default()
    }

    /// The description of this revision.
    pub fn description(&self) -> &str {
        self.info
            .as_ref()
            .map(|i| i.description.as_str())
            .unwrap_or_default()
    }

    /// RFC 3339 time of this revision's deployment.
    pub fn last_deployed(&self) -> Option<&str> {
        self.info
            .as_ref()
            .and_then(|i| i.last_deployed.as_deref())
            .filter(|s| !s.is_empty())
    }
}
