//! Fetching a chart from a Helm chart repository, as `helm template --repo URL --version V`
//! (Helm's `repo.FindChartInAuthAndTLSAndPassRepoURL` plus the chart downloader) and Flux's
//! source-controller do it:
//!
//! 1. GET `<repo>/index.yaml` (always; with a cache directory, conditionally by `ETag` /
//!    `Last-Modified`, reusing the cached copy on `304`);
//! 2. resolve the version constraint ([`crate::version::resolve`]);
//! 3. resolve the entry's first URL against the repository URL;
//! 4. serve the archive from the cache when the index gives a digest and a file with that
//!    digest is cached; otherwise GET it (credentials only to the repository's own scheme and
//!    host, unless [`Options::pass_credentials`]), check it against the index digest, and store
//!    it under `<cache>/charts/<name>-<version>-<digest12>.tgz`.
//!
//! An index entry without a digest cannot be looked up in the cache (nothing says which bytes
//! are right), so it is downloaded every time; it is still stored under the digest of what was
//! received.
//!
//! An `oci://` repository URL is handed to [`crate::oci::fetch_oci_chart`] by [`fetch_chart`]
//! and [`fetch_chart_with`]; [`fetch_index`] refuses it, as OCI registries have no index.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cache::{self, IndexCache};
use crate::error::{Error, Result};
use crate::http::{Auth, Client, ClientOptions, Request};
use crate::index::Index;
use crate::{oci, url};

/// Default cap on an index download. Flux's source-controller defaults to 50 MiB
/// (`--helm-index-max-size`); Helm itself has no cap.
pub const DEFAULT_MAX_INDEX_BYTES: u64 = 64 << 20;

/// Default cap on a chart archive download. Flux's source-controller defaults to 10 MiB
/// (`--helm-chart-max-size`); Helm caps a chart at 100 MiB decompressed when loading it.
pub const DEFAULT_MAX_CHART_BYTES: u64 = 64 << 20;

/// How to fetch.
#[derive(Clone)]
pub struct Options {
    /// Cache directory; `None` disables caching (charts and indexes are downloaded every time).
    pub cache_dir: Option<PathBuf>,
    /// Repository credentials. For an OCI registry, basic credentials answer its challenge
    /// (directly, or at its token service); a bearer token is sent to the registry as is.
    pub auth: Option<Auth>,
    /// Extra CA certificates (PEM) trusted besides the system store.
    pub ca_pem: Option<Vec<u8>>,
    /// Send the credentials to chart URLs on other hosts too (Helm's `--pass-credentials`,
    /// Flux's `passCredentials`).
    pub pass_credentials: bool,
    /// Limit for each request, redirects and body included.
    pub timeout: Duration,
    /// Largest index accepted (for an OCI registry: each page of a tag list).
    pub max_index_bytes: u64,
    /// Largest chart archive accepted.
    pub max_chart_bytes: u64,
    /// Talk plain HTTP to an `oci://` registry instead of HTTPS (Flux's HelmRepository
    /// `spec.insecure`, Helm's `--plain-http`). Also allows the registry's token service to be
    /// plain HTTP. Default `false`. HTTP(S) chart repositories take the scheme from their URL
    /// and ignore this.
    pub insecure_http: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            cache_dir: None,
            auth: None,
            ca_pem: None,
            pass_credentials: false,
            timeout: ClientOptions::default().timeout,
            max_index_bytes: DEFAULT_MAX_INDEX_BYTES,
            max_chart_bytes: DEFAULT_MAX_CHART_BYTES,
            insecure_http: false,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("cache_dir", &self.cache_dir)
            .field("auth", &self.auth)
            .field(
                "ca_pem",
                &self.ca_pem.as_ref().map(|p| format!("{} bytes", p.len())),
            )
            .field("pass_credentials", &self.pass_credentials)
            .field("timeout", &self.timeout)
            .field("max_index_bytes", &self.max_index_bytes)
            .field("max_chart_bytes", &self.max_chart_bytes)
            .field("insecure_http", &self.insecure_http)
            .finish()
    }
}

impl Options {
    /// The HTTP client settings these options imply.
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            ca_pem: self.ca_pem.clone(),
            timeout: self.timeout,
            ..ClientOptions::default()
        }
    }
}

/// A fetched chart archive.
#[derive(Clone, PartialEq, Eq)]
pub struct FetchedChart {
    /// Chart name.
    pub name: String,
    /// The resolved version, as written in the index (OCI: the tag, with `_` read as `+`).
    pub version: String,
    /// `appVersion` from the index (OCI: from the chart's config blob).
    pub app_version: Option<String>,
    /// SHA-256 (hex) of [`FetchedChart::bytes`]; equal to the index digest when it has one
    /// (OCI: the chart layer's digest).
    pub digest: String,
    /// The `.tgz` archive.
    pub bytes: Vec<u8>,
    /// Where the archive is cached; `None` without a cache directory.
    pub path_in_cache: Option<PathBuf>,
    /// The chart URL (resolved against the repository URL, credentials removed); for OCI,
    /// `oci://host/repository:tag`.
    pub url: String,
    /// True when the archive came from the cache and was not downloaded.
    pub from_cache: bool,
    /// The index (OCI: the chart's config blob) marks this version deprecated.
    pub deprecated: bool,
    /// OCI only: SHA-256 (hex) of the image manifest, the digest Flux's OCIRepository revision
    /// (`<tag>@sha256:<digest>`) names.
    pub manifest_digest: Option<String>,
    /// OCI only: the manifest's annotations (`org.opencontainers.image.*`), which Flux records
    /// as the artifact's metadata.
    pub annotations: std::collections::BTreeMap<String, String>,
}

impl fmt::Debug for FetchedChart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchedChart")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("app_version", &self.app_version)
            .field("digest", &self.digest)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("path_in_cache", &self.path_in_cache)
            .field("url", &self.url)
            .field("from_cache", &self.from_cache)
            .field("deprecated", &self.deprecated)
            .field("manifest_digest", &self.manifest_digest)
            .field("annotations", &self.annotations)
            .finish()
    }
}

/// Fetches `chart_name` at `version_constraint` (empty: latest stable) from the repository at
/// `repo_url`, with a client built for this call. Reuse a [`Client`] with [`fetch_chart_with`]
/// when fetching several charts. An `oci://` URL is fetched by
/// [`crate::oci::fetch_oci_chart`].
///
/// ```no_run
/// use helmrelease_sources::{Options, fetch_chart};
/// let chart = fetch_chart(
///     "https://stefanprodan.github.io/podinfo",
///     "podinfo",
///     "6.5.*",
///     &Options { cache_dir: Some("/tmp/charts".into()), ..Options::default() },
/// )?;
/// println!("{} {} ({} bytes)", chart.name, chart.version, chart.bytes.len());
/// # Ok::<(), helmrelease_sources::Error>(())
/// ```
pub fn fetch_chart(
    repo_url: &str,
    chart_name: &str,
    version_constraint: &str,
    options: &Options,
) -> Result<FetchedChart> {
    if is_oci(repo_url) {
        return oci::fetch_oci_chart(repo_url, chart_name, version_constraint, options);
    }
    check_repo_url(repo_url)?;
    let client = Client::new(options.client_options())?;
    fetch_chart_with(&client, repo_url, chart_name, version_constraint, options)
}

/// As [`fetch_chart`], with a given client (its TLS and timeout settings apply, not those in
/// `options`).
pub fn fetch_chart_with(
    client: &Client,
    repo_url: &str,
    chart_name: &str,
    version_constraint: &str,
    options: &Options,
) -> Result<FetchedChart> {
    if is_oci(repo_url) {
        return oci::fetch_oci_chart_with(
            client,
            repo_url,
            chart_name,
            version_constraint,
            options,
        );
    }
    check_repo_url(repo_url)?;
    check_chart_name(chart_name)?;
    let index = fetch_index_with(client, repo_url, options)?;
    fetch_chart_from_index(
        client,
        repo_url,
        &index,
        chart_name,
        version_constraint,
        options,
    )
}

/// As [`fetch_chart_with`], resolving the version in an index already at hand (the one a
/// HelmRepository's artifact holds, as source-controller reads it), so only the archive is
/// downloaded.
pub fn fetch_chart_from_index(
    client: &Client,
    repo_url: &str,
    index: &Index,
    chart_name: &str,
    version_constraint: &str,
    options: &Options,
) -> Result<FetchedChart> {
    check_repo_url(repo_url)?;
    check_chart_name(chart_name)?;
    let entry = index.resolve(chart_name, version_constraint)?;
    let repo_shown = url::redact(repo_url);
    let reference = entry
        .urls
        .iter()
        .find(|u| !u.is_empty())
        .ok_or_else(|| Error::NoChartUrl {
            chart: chart_name.to_string(),
            version: entry.version.clone(),
            repo: repo_shown.clone(),
        })?;
    let chart_url = url::resolve_chart_url(repo_url, reference)?;
    let expected = match entry.digest.as_deref().filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(
            cache::normalize_digest(d).ok_or_else(|| Error::InvalidDigest {
                chart: chart_name.to_string(),
                version: entry.version.clone(),
                digest: d.to_string(),
            })?,
        ),
    };
    let found =
        |bytes: Vec<u8>, digest: String, path: Option<PathBuf>, from_cache: bool| FetchedChart {
            name: chart_name.to_string(),
            version: entry.version.clone(),
            app_version: entry.app_version.clone(),
            digest,
            bytes,
            path_in_cache: path,
            url: url::redact(&chart_url),
            from_cache,
            deprecated: entry.deprecated,
            manifest_digest: None,
            annotations: Default::default(),
        };

    if let (Some(dir), Some(digest)) = (&options.cache_dir, &expected) {
        let path = cache::chart_path(dir, chart_name, &entry.version, digest);
        if let Some(bytes) = cache::read_verified(&path, digest)? {
            return Ok(found(bytes, digest.clone(), Some(path), true));
        }
    }

    let auth = if options.pass_credentials || url::same_origin(repo_url, &chart_url) {
        options.auth.as_ref()
    } else {
        None
    };
    let response = client.get(&Request {
        auth,
        ..Request::get(&chart_url, options.max_chart_bytes)
    })?;
    let actual = cache::sha256_hex(&response.body);
    if let Some(expected) = expected
        && expected != actual
    {
        return Err(Error::DigestMismatch {
            url: url::redact(&chart_url),
            expected,
            actual,
        });
    }
    let path = match &options.cache_dir {
        Some(dir) => {
            let path = cache::chart_path(dir, chart_name, &entry.version, &actual);
            cache::write_atomic(&path, &response.body)?;
            Some(path)
        }
        None => None,
    };
    Ok(found(response.body, actual, path, false))
}

/// Downloads and parses a repository's index, with a client built for this call.
pub fn fetch_index(repo_url: &str, options: &Options) -> Result<Index> {
    check_repo_url(repo_url)?;
    let client = Client::new(options.client_options())?;
    fetch_index_with(&client, repo_url, options)
}

/// Downloads and parses a repository's index. With a cache directory, the request is
/// conditional on the cached copy's `ETag` / `Last-Modified`, and a `304` reuses the copy.
pub fn fetch_index_with(client: &Client, repo_url: &str, options: &Options) -> Result<Index> {
    check_repo_url(repo_url)?;
    let bytes = download_index(client, repo_url, options)?;
    Index::parse(&bytes, &url::redact(repo_url))
}

/// The bytes of a repository's `index.yaml`, as served. With a cache directory, the request is
/// conditional on the cached copy's `ETag` / `Last-Modified`, and a `304` reuses the copy.
pub fn download_index(client: &Client, repo_url: &str, options: &Options) -> Result<Vec<u8>> {
    check_repo_url(repo_url)?;
    let index_url = url::index_url(repo_url)?;
    let index_url = index_url.as_str();
    let request = Request {
        auth: options.auth.as_ref(),
        ..Request::get(index_url, options.max_index_bytes)
    };
    let Some(dir) = &options.cache_dir else {
        return Ok(client.get(&request)?.body);
    };
    if url::scheme(index_url).as_deref() == Some("file") {
        return Ok(client.get(&request)?.body);
    }
    let slot = IndexCache::new(dir, index_url);
    if let Some(meta) = slot.meta() {
        let response = client.get(&Request {
            if_none_match: meta.etag.as_deref(),
            if_modified_since: meta.last_modified.as_deref(),
            ..request
        })?;
        if !response.not_modified() {
            store_index(&slot, &response)?;
            return Ok(response.body);
        }
        if let Some(body) = slot.body() {
            return Ok(body);
        }
        // The copy vanished between the check and the read: fetch unconditionally.
    }
    let response = client.get(&request)?;
    store_index(&slot, &response)?;
    Ok(response.body)
}

fn store_index(slot: &IndexCache, response: &crate::http::Response) -> Result<()> {
    if response.etag.is_none() && response.last_modified.is_none() {
        return Ok(());
    }
    slot.store(
        &response.body,
        response.etag.as_deref(),
        response.last_modified.as_deref(),
    )
}

/// Rejects what this crate cannot fetch from, before any I/O.
fn check_repo_url(repo_url: &str) -> Result<()> {
    match url::scheme(repo_url).as_deref() {
        Some("http" | "https" | "file") => Ok(()),
        Some("oci") => Err(Error::Unsupported(format!(
            "OCI registries have no repository index: {} (fetch charts from it with \
             `fetch_chart` or `oci::fetch_oci_chart`)",
            url::redact(repo_url)
        ))),
        Some(other) => Err(Error::Unsupported(format!(
            "{}: the {other}:// scheme is not supported (use http, https or file)",
            url::redact(repo_url)
        ))),
        None => Err(Error::InvalidUrl {
            url: url::redact(repo_url),
            reason: "a repository URL must be absolute, e.g. https://charts.example.com"
                .to_string(),
        }),
    }
}

fn is_oci(repo_url: &str) -> bool {
    url::scheme(repo_url).as_deref() == Some("oci")
}

/// A chart name must be usable as an index key and as part of a file name.
pub(crate) fn check_chart_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "is empty"
    } else if name.contains(['/', '\\']) {
        "contains a path separator (give the repository URL and the chart name separately)"
    } else if name == "." || name == ".." {
        "is not a name"
    } else if name.chars().any(char::is_control) {
        "contains control characters"
    } else {
        return Ok(());
    };
    Err(Error::InvalidChartName {
        name: name.to_string(),
        reason: reason.to_string(),
    })
}

/// Where [`fetch_chart`] caches a chart with the given digest, for callers that look first.
pub fn cached_chart_path(cache_dir: &Path, name: &str, version: &str, digest: &str) -> PathBuf {
    cache::chart_path(cache_dir, name, version, digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_goes_to_the_registry_client_and_other_schemes_are_unsupported() {
        // Checked before any I/O: the reference is invalid.
        let err = fetch_chart(
            "oci://ghcr.io/stefanprodan/charts",
            "pod/info",
            "",
            &Options::default(),
        )
        .unwrap_err();
        assert_eq!(err.metric_label(), "invalid_chart_name");
        let err =
            fetch_index("oci://ghcr.io/stefanprodan/charts", &Options::default()).unwrap_err();
        assert_eq!(err.metric_label(), "unsupported");
        assert!(
            err.to_string()
                .starts_with("OCI registries have no repository index: oci://ghcr.io"),
            "{err}"
        );
        let err = fetch_chart("s3://bucket/charts", "x", "", &Options::default()).unwrap_err();
        assert_eq!(err.metric_label(), "unsupported");
        let err = fetch_chart("charts.example.com", "x", "", &Options::default()).unwrap_err();
        assert_eq!(err.metric_label(), "invalid_url");
    }

    #[test]
    fn chart_names_are_checked() {
        for bad in ["", "a/b", "..", "a\\b", "a\nb"] {
            assert!(check_chart_name(bad).is_err(), "{bad:?}");
        }
        for good in ["podinfo", "kube-prometheus-stack", "my_chart.v2"] {
            assert!(check_chart_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn options_debug_hides_credentials() {
        let options = Options {
            auth: Some(Auth::Basic {
                username: "me".into(),
                password: "s3cret".into(),
            }),
            ..Options::default()
        };
        assert!(!format!("{options:?}").contains("s3cret"));
    }
}
