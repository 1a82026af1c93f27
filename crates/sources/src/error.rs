//! Errors of chart fetching. Each names what it is about (URL, chart, version, file) and what is
//! wrong, and where it helps, what to do about it.

use std::path::PathBuf;
use std::time::Duration;

/// Fetching a chart failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A repository index that does not parse or lacks required fields.
    #[error("invalid repository index {origin}: {reason}")]
    Index {
        /// Where the index came from (its URL or file).
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// A version string that is not a (Masterminds) semantic version.
    #[error("invalid version {version:?}: {reason}")]
    InvalidVersion {
        /// The version as written.
        version: String,
        /// What is wrong.
        reason: String,
    },
    /// A version constraint that does not parse.
    #[error("invalid version constraint {constraint:?}: {reason}")]
    InvalidConstraint {
        /// The constraint as written.
        constraint: String,
        /// What is wrong.
        reason: String,
    },
    /// The repository has no chart of that name.
    #[error("chart {chart:?} not found in {repo}{}", list_suffix("charts with similar names", .suggestions))]
    ChartNotFound {
        /// The chart asked for.
        chart: String,
        /// The repository URL.
        repo: String,
        /// Charts in the repository with similar names, closest first.
        suggestions: Vec<String>,
    },
    /// The chart exists but no version satisfies the constraint.
    #[error(
        "{}{}{}",
        not_found_head(.chart, .constraint, .repo),
        nearest_suffix(.nearest),
        prerelease_suffix(.prerelease)
    )]
    VersionNotFound {
        /// The chart asked for.
        chart: String,
        /// The constraint as written (empty for "latest stable").
        constraint: String,
        /// The repository URL.
        repo: String,
        /// The available versions nearest to what was asked for, highest first.
        nearest: Vec<String>,
        /// The highest prerelease the constraint would match if it admitted prereleases.
        prerelease: Option<String>,
    },
    /// The index entry has no download URL.
    #[error("chart {chart:?} version {version} in {repo} has no download URL in the index")]
    NoChartUrl {
        /// The chart.
        chart: String,
        /// The resolved version.
        version: String,
        /// The repository URL.
        repo: String,
    },
    /// A chart name that cannot be a chart in a repository (or a file in the cache).
    #[error("invalid chart name {name:?}: {reason}")]
    InvalidChartName {
        /// The name as given.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A URL that does not parse or cannot be fetched from.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL (credentials removed).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Something this crate does not do (yet), such as a `:tag` in an OCI chart reference.
    #[error("{0}")]
    Unsupported(String),
    /// The server answered with an unexpected HTTP status.
    #[error("GET {url}: HTTP {status}{}", status_hint(*.status))]
    Status {
        /// The URL (credentials removed).
        url: String,
        /// The status code.
        status: u16,
    },
    /// Connecting, TLS or the HTTP exchange failed.
    #[error("GET {url}: {message}")]
    Transport {
        /// The URL (credentials removed).
        url: String,
        /// The whole error chain, flattened.
        message: String,
    },
    /// The request did not complete in time.
    #[error("GET {url}: timed out after {}", fmt_duration(*.after))]
    Timeout {
        /// The URL (credentials removed).
        url: String,
        /// The time limit.
        after: Duration,
    },
    /// The response (or file) is larger than allowed.
    #[error("GET {url}: response is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The URL (credentials removed).
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// Redirects went on for too long.
    #[error("GET {url}: stopped after {limit} redirects")]
    TooManyRedirects {
        /// The URL first asked for (credentials removed).
        url: String,
        /// The redirect limit.
        limit: usize,
    },
    /// The downloaded chart is not the one the index describes.
    #[error(
        "digest mismatch for {url}: the index says sha256:{expected} but the downloaded chart is sha256:{actual}"
    )]
    DigestMismatch {
        /// The chart URL (credentials removed).
        url: String,
        /// The digest in the index.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// The index gives a digest that is not a SHA-256 hex digest.
    #[error(
        "chart {chart:?} version {version}: index digest {digest:?} is not a sha256 hex digest"
    )]
    InvalidDigest {
        /// The chart.
        chart: String,
        /// The version.
        version: String,
        /// The digest as written.
        digest: String,
    },
    /// A blob or manifest from an OCI registry is not the one its descriptor names.
    #[error(
        "digest mismatch for {url}: {expected_from} says sha256:{expected} but the downloaded \
         bytes are sha256:{actual}"
    )]
    BlobDigestMismatch {
        /// The blob or manifest URL (credentials removed).
        url: String,
        /// Where the expected digest comes from, e.g. `the manifest`.
        expected_from: &'static str,
        /// The digest expected.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// An OCI registry (or its token service) refused access with `401` or `403`, after the
    /// token flow or basic authentication it asked for.
    #[error("{status} from registry {registry} ({step}): {}", registry_auth_hint(*.status))]
    RegistryAuth {
        /// The registry, `host[:port]`.
        registry: String,
        /// The step that was refused, e.g. `listing tags of charts/podinfo`.
        step: String,
        /// The status code.
        status: u16,
    },
    /// An OCI registry answered something that does not follow the distribution spec (an
    /// unusable auth challenge, token response, tag list or manifest).
    #[error("registry {registry} ({step}): {reason}")]
    Registry {
        /// The registry, `host[:port]`.
        registry: String,
        /// What was being done.
        step: String,
        /// What is wrong.
        reason: String,
    },
    /// The OCI artifact is not a Helm chart (wrong config or layer media types).
    #[error("{reference} is not a Helm chart: {reason}")]
    NotAHelmChart {
        /// The artifact, `oci://host/repository:tag`.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// The extra CA certificates or the TLS set-up are unusable.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// Reading or writing a local file (cache, `file://` repository) failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        /// What was being done, e.g. `reading`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The internal async runtime could not be started.
    #[error("HTTP client runtime: {0}")]
    Runtime(String),
}

impl Error {
    /// A fixed label per variant, for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Index { .. } => "index",
            Error::InvalidVersion { .. } => "invalid_version",
            Error::InvalidConstraint { .. } => "invalid_constraint",
            Error::ChartNotFound { .. } => "chart_not_found",
            Error::VersionNotFound { .. } => "version_not_found",
            Error::NoChartUrl { .. } => "no_chart_url",
            Error::InvalidChartName { .. } => "invalid_chart_name",
            Error::InvalidUrl { .. } => "invalid_url",
            Error::Unsupported(_) => "unsupported",
            Error::Status { .. } => "http_status",
            Error::Transport { .. } => "transport",
            Error::Timeout { .. } => "timeout",
            Error::TooLarge { .. } => "too_large",
            Error::TooManyRedirects { .. } => "too_many_redirects",
            Error::DigestMismatch { .. } => "digest_mismatch",
            Error::InvalidDigest { .. } => "invalid_digest",
            Error::BlobDigestMismatch { .. } => "blob_digest_mismatch",
            Error::RegistryAuth { .. } => "registry_auth",
            Error::Registry { .. } => "registry",
            Error::NotAHelmChart { .. } => "not_a_helm_chart",
            Error::Tls(_) => "tls",
            Error::Io { .. } => "io",
            Error::Runtime(_) => "runtime",
        }
    }

    /// True when the server refused the credentials (`401` or `403`).
    pub fn is_auth(&self) -> bool {
        match self {
            Error::Status { status, .. } | Error::RegistryAuth { status, .. } => {
                matches!(status, 401 | 403)
            }
            _ => false,
        }
    }

    /// True when retrying later may succeed without anyone changing anything: network
    /// trouble, timeouts, server errors (5xx), rate limits (429) and local I/O. Everything else
    /// (a missing version, a bad constraint, a digest mismatch, 4xx) needs a change first.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Timeout { .. } | Error::Io { .. } => true,
            Error::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn list_suffix(what: &str, items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!("; {what}: {}", items.join(", "))
    }
}

fn not_found_head(chart: &str, constraint: &str, repo: &str) -> String {
    if constraint.is_empty() {
        format!("chart {chart:?} has no stable version in {repo}")
    } else {
        format!("chart {chart:?} version {constraint:?} not found in {repo}")
    }
}

fn nearest_suffix(nearest: &[String]) -> String {
    if nearest.is_empty() {
        "; the chart has no valid versions".to_string()
    } else {
        format!("; nearest: {}", nearest.join(", "))
    }
}

fn prerelease_suffix(prerelease: &Option<String>) -> String {
    match prerelease {
        Some(v) => format!(
            "; prerelease {v} would match, but a constraint only admits prereleases when it has a \
             prerelease part itself (e.g. \">=1.0.0-0\")"
        ),
        None => String::new(),
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        401 => " Unauthorized (credentials missing or rejected)",
        403 => " Forbidden (the credentials lack access)",
        404 => " Not Found",
        429 => " Too Many Requests",
        500..=599 => " (server error)",
        _ => "",
    }
}

fn registry_auth_hint(status: u16) -> &'static str {
    match status {
        403 => "the credentials lack access",
        _ => "credentials required or refused",
    }
}

fn fmt_duration(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs())
    }
}
