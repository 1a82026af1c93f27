//! Errors of the plugin's library.

use std::path::PathBuf;

/// Something the user gave could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A file's content could not be parsed.
    #[error("{origin}: {message}")]
    Parse {
        /// File (and document) the problem is in.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A manifest file could not be parsed.
    #[error(transparent)]
    Manifest(#[from] helmrelease_manifest::Error),
    /// A release object is corrupt.
    #[error(transparent)]
    Release(#[from] helmrelease_release::Error),
    /// The release does not exist in the given input.
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be served as given.
    #[error("{0}")]
    Usage(String),
    /// The cluster could not be read.
    #[error("{0}")]
    Cluster(String),
    /// The cluster does not serve what was asked for.
    #[error("not found: {0}")]
    ClusterNotFound(String),
    /// Writing output failed.
    #[error("writing output: {0}")]
    Output(#[source] std::io::Error),
}

impl Error {
    /// A fixed label per variant, for metrics and tests.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Read { .. } => "read",
            Error::Parse { .. } => "parse",
            Error::Manifest(_) => "manifest",
            Error::Release(_) => "release",
            Error::NotFound(_) => "not_found",
            Error::Usage(_) => "usage",
            Error::Cluster(_) => "cluster",
            Error::ClusterNotFound(_) => "cluster_not_found",
            Error::Output(_) => "output",
        }
    }
}

/// Result with the plugin's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
