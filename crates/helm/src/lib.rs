//! Helm chart rendering, byte for byte as Helm 4 (or, on request, Helm 3) renders: YAML and JSON as Helm writes and reads them, chart
//! loading, values coalescing, the template engine with Sprig and Helm's own functions, and
//! manifests sorted and printed as `helm template` prints them.

pub mod chart;
pub mod engine;
pub mod manifest;
pub mod objects;
pub mod profile;
pub mod render;
pub mod values;
pub mod yaml;

/// What went wrong loading or rendering a chart; messages follow Helm's.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// YAML or JSON that does not parse (Helm's wording, e.g. `error converting YAML to JSON: ...`).
    #[error("{0}")]
    Yaml(String),
    /// A chart that cannot be loaded.
    #[error("{0}")]
    Chart(String),
    /// Values that cannot be used (`--set` syntax, schema validation).
    #[error("{0}")]
    Values(String),
    /// Rendering failed where Helm's `renderResources` fails: a template error, rendered YAML
    /// that does not parse, a chart's `kubeVersion` the cluster does not meet. `helm template`
    /// adds a hint about `--debug` to these only.
    #[error("{0}")]
    Render(String),
    /// Rendered documents that are not valid YAML (`YAML parse error on <template>: ...`),
    /// with what every template rendered, for `helm template --debug` to show.
    #[error("{message}")]
    InvalidManifest {
        /// Helm's message.
        message: String,
        /// Template name to rendered text, notes left out.
        files: std::collections::BTreeMap<String, String>,
    },
    /// Options that cannot be used: an invalid release name, a `--show-only` template the
    /// chart does not have.
    #[error("{0}")]
    Options(String),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
