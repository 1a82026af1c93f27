//! The library's one error type. Messages name the object and field at fault, because they
//! end up in a HelmRelease's status or a command's stderr, where that is all a user sees.

/// Why the desired state of a HelmRelease could not be composed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An object the HelmRelease references does not exist (a missing key of a non-optional
    /// `valuesFrom` entry counts too).
    #[error("{0}")]
    NotFound(String),
    /// The chart source is of a kind or shape this library cannot fetch from.
    #[error("{0}")]
    Unsupported(String),
    /// The chart could not be fetched, loaded, or its `valuesFiles` applied.
    #[error("{0}")]
    Chart(String),
    /// A value source or an object could not be parsed.
    #[error("{origin}: {message}")]
    Parse {
        /// Which object (and key) the problem is in.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// `spec.postRenderers` could not be applied.
    #[error("spec.postRenderers: {0}")]
    PostRender(String),
    /// Helm rendering failed.
    #[error("{0}")]
    Render(String),
    /// The [`crate::ObjectReader`] failed (cluster unreachable, forbidden, ...). Kept as the
    /// reader's own error so a caller can recover its type with `downcast`.
    #[error("{0}")]
    Read(Box<dyn std::error::Error + Send + Sync>),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
