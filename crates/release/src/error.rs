//! Errors of the release codec. Each names the object it is about and what is wrong with it.

/// A release could not be decoded or encoded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Base64 that does not decode.
    #[error("{object}: {what} is not valid base64: {source}")]
    Base64 {
        /// The object.
        object: String,
        /// Which layer: the Kubernetes data field or Helm's payload.
        what: &'static str,
        /// The decoder's error.
        #[source]
        source: base64::DecodeError,
    },
    /// A gzip stream that does not inflate.
    #[error("{object}: release payload is not valid gzip: {source}")]
    Gzip {
        /// The object.
        object: String,
        /// The inflater's error.
        #[source]
        source: std::io::Error,
    },
    /// A payload that inflates beyond the safety limit.
    #[error("{object}: release payload inflates beyond {limit} bytes; refusing to decode it")]
    TooLarge {
        /// The object.
        object: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// Release JSON that does not parse.
    #[error("{object}: release JSON is invalid at line {line}, column {column}: {message}")]
    Json {
        /// The object.
        object: String,
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A required field is missing.
    #[error("{object}: missing {field}")]
    MissingField {
        /// The object.
        object: String,
        /// The field, e.g. `data.release`.
        field: &'static str,
    },
    /// The object's name or labels disagree with the release inside it.
    #[error("{object}: {what} says {found:?} but the release inside says {expected:?}")]
    Mismatch {
        /// The object.
        object: String,
        /// Which part disagrees, e.g. `the revision label`.
        what: &'static str,
        /// What the object says.
        found: String,
        /// What the payload says.
        expected: String,
    },
    /// Not a Helm release object.
    #[error("{object}: not a Helm release: {reason}")]
    NotARelease {
        /// The object.
        object: String,
        /// Why.
        reason: String,
    },
    /// Encoding failed.
    #[error("encoding release {name}: {message}")]
    Encode {
        /// Release name.
        name: String,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// A fixed label per variant, for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Base64 { .. } => "base64",
            Error::Gzip { .. } => "gzip",
            Error::TooLarge { .. } => "too_large",
            Error::Json { .. } => "json",
            Error::MissingField { .. } => "missing_field",
            Error::Mismatch { .. } => "mismatch",
            Error::NotARelease { .. } => "not_a_release",
            Error::Encode { .. } => "encode",
        }
    }
}

/// Result with the codec's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
