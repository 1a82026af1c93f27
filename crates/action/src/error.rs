//! The one error type of this crate.

/// What went wrong running an action.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or failed a request.
    #[error("{context}: {source}")]
    Kube {
        /// What was being done.
        context: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// A release object could not be encoded or decoded.
    #[error("{0}")]
    Release(#[from] helmrelease_release::Error),
    /// A release is locked by a pending operation.
    #[error("another operation (install/upgrade/rollback) is in progress")]
    Pending,
    /// The release, revision or object asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Something is not valid to act on (a manifest without a kind, an unknown resource).
    #[error("{0}")]
    Invalid(String),
    /// A wait ran out of time; the message names the object and its status, as Helm does.
    #[error("{0}")]
    Timeout(String),
    /// An object failed (a Job failed, a Pod crashed).
    #[error("{0}")]
    Failed(String),
    /// The action was cancelled.
    #[error("cancelled: {0}")]
    Cancelled(String),
}

impl Error {
    /// A [`Error::Kube`] with what was being done.
    pub fn kube(context: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
        let context = context.into();
        move |source| Error::Kube { context, source }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
