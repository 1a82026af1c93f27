//! The one error type: Masterminds' texts for display, a more helpful wording on request.

/// A version or constraint that Masterminds semver rejects.
///
/// `Display` is Masterminds v3.4's error text, byte for byte (Sprig's template errors must read
/// as Helm's); [`Error::describe`] says what was expected instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not `v?MAJOR[.MINOR[.PATCH]][-PRERELEASE][+METADATA]` (`ErrInvalidSemVer`).
    #[error("invalid semantic version")]
    InvalidSemVer,
    /// A version number does not fit in 64 bits (the `strconv.ParseUint` error).
    // The segment is all digits, so Go's `%q` of it is just the digits in quotes.
    #[error(
        "error parsing version segment: strconv.ParseUint: parsing \"{segment}\": value out of range"
    )]
    SegmentOutOfRange {
        /// The digits as written.
        segment: String,
    },
    /// A numeric prerelease identifier with a leading zero (`ErrSegmentStartsZero`).
    #[error("version segment starts with 0")]
    SegmentStartsZero {
        /// The identifier as written.
        identifier: String,
    },
    /// A prerelease that is not dot-separated `[0-9A-Za-z-]+` identifiers
    /// (`ErrInvalidPrerelease`; only [`crate::Version::set_prerelease`] can meet it).
    #[error("invalid prerelease string")]
    InvalidPrerelease,
    /// Build metadata that is not dot-separated `[0-9A-Za-z-]+` identifiers
    /// (`ErrInvalidMetadata`; only [`crate::Version::set_metadata`] can meet it).
    #[error("invalid metadata string")]
    InvalidMetadata,
    /// A constraint, or one `||` alternative of it, that is not a list of comparisons.
    #[error("improper constraint: {segment}")]
    ImproperConstraint {
        /// The offending part, after hyphen ranges were rewritten.
        segment: String,
    },
    /// A comparison whose version passed the constraint pattern but is not a version
    /// (`1|2`: the pattern allows `|` in numbers).
    #[error("constraint parser error")]
    ConstraintVersion {
        /// The version as written in the constraint.
        version: String,
        /// Why it is not a version.
        #[source]
        source: Box<Error>,
    },
    /// The built-in patterns failed to compile (a bug, never the input's fault).
    #[error("internal error compiling version patterns: {0}")]
    Patterns(String),
}

impl Error {
    /// The error worded for someone choosing a chart version: what was expected, and the
    /// offending part quoted. helmrelease-sources shows this; Go's texts are terse.
    pub fn describe(&self) -> String {
        match self {
            Error::InvalidSemVer => {
                "not a semantic version (expected MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD])"
                    .to_string()
            }
            Error::SegmentOutOfRange { segment } => {
                format!("version segment {segment:?} is too large")
            }
            Error::SegmentStartsZero { identifier } => {
                format!("numeric prerelease identifier {identifier:?} has a leading zero")
            }
            Error::ImproperConstraint { segment } => format!("improper constraint: {segment:?}"),
            Error::ConstraintVersion { version, source } => {
                format!("{version:?} is not a version: {}", source.describe())
            }
            other => other.to_string(),
        }
    }
}
