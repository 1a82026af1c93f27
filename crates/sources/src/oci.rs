//! Helm charts in OCI registries, fetched as Helm's registry client (`helm pull oci://…`,
//! `helm template oci://… --version V`) and Flux's source-controller (HelmRepository
//! `type: oci` with a HelmChart) fetch them, over the OCI distribution API:
//!
//! 1. `oci://host[:port]/path` plus chart name `chart` is repository `path/chart` on registry
//!    `host[:port]` (`docker.io` is served by `registry-1.docker.io`). A full chart reference
//!    `oci://host/path/chart` with an empty chart name works too; a `:tag` or `@digest` in it
//!    does not (give the version as the constraint). HTTPS unless [`Options::insecure_http`].
//! 2. Version: an exact SemVer version (`1.2.3`, `1.2.3-rc.1+build.5`, or with a leading `v` as
//!    Flux allows) is fetched directly by tag, with `+` written `_` as Helm pushes it (OCI tags
//!    have no `+`). Anything else (a constraint; empty for the latest stable version) lists the
//!    tags (`GET /v2/<repo>/tags/list`, following `Link: <…>; rel="next"` for up to
//!    [`MAX_TAG_PAGES`] pages), reads each tag with `_` as `+`, ignores tags that are not
//!    strict SemVer (`latest`, `v1.0.0`, `1.0`), and resolves as [`crate::version::resolve`]
//!    does. When an exact version's tag is missing, the tag list is consulted for the error
//!    (the nearest versions) or for an equal version tagged differently (`v1.2.3` → `1.2.3`).
//! 3. Manifest: `GET /v2/<repo>/manifests/<tag>`; its config must have media type
//!    [`CONFIG_MEDIA_TYPE`] and one layer [`CHART_LAYER_MEDIA_TYPE`] (or Helm's legacy
//!    [`LEGACY_CHART_LAYER_MEDIA_TYPE`]). A `Docker-Content-Digest` header is checked.
//! 4. Config blob (the chart's metadata: `appVersion`, `deprecated`), then the chart blob:
//!    `GET /v2/<repo>/blobs/<digest>`, redirects followed (credentials only to the registry's
//!    own host or its subdomains), capped at [`Options::max_chart_bytes`], SHA-256 checked,
//!    and cached by digest as [`crate::repo`] caches charts: a cached archive is not
//!    downloaded again (tag resolution, the manifest and the small config blob still are).
//! 5. Auth, the Docker registry token flow: a `401` with `WWW-Authenticate: Bearer realm=…,
//!    service=…, scope=…` gets a token from the realm (with [`Options::auth`]'s basic
//!    credentials, or anonymously) and retries with `Authorization: Bearer`; a `Basic`
//!    challenge retries with the basic credentials. An [`Auth::Bearer`] in the options is sent
//!    to the registry as it is, without the token flow. Credentials and tokens never appear in
//!    errors.
//!
//! Not done: signature verification (cosign, notation), provenance layers, docker credential
//! files and helpers, image indexes (a Helm chart is never one), digests other than SHA-256.
//!
//! ```no_run
//! use helmrelease_sources::{Options, oci::fetch_oci_chart};
//! let chart = fetch_oci_chart("oci://ghcr.io/stefanprodan/charts", "podinfo", "6.5.*",
//!     &Options::default())?;
//! println!("{} {} sha256:{}", chart.name, chart.version, chart.digest);
//! # Ok::<(), helmrelease_sources::Error>(())
//! ```

use serde::Deserialize;

use crate::cache;
use crate::error::{Error, Result};
use crate::http::{Auth, Client, Request, Response};
use crate::index::ChartVersion;
use crate::repo::{FetchedChart, Options, check_chart_name};
use crate::url;
use crate::version::{self, Version};

/// Media type of an OCI image manifest, the form Helm pushes charts in.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of the config blob of a Helm chart: the chart's metadata as JSON.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// Media type of the layer holding the chart archive (`.tgz`).
pub const CHART_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// The chart layer media type of Helm's experimental OCI support, still accepted by Helm.
pub const LEGACY_CHART_LAYER_MEDIA_TYPE: &str = "application/tar+gzip";
/// Most pages of a tag list followed before giving up.
pub const MAX_TAG_PAGES: usize = 100;

/// Docker's schema 2 manifest has the OCI manifest's shape; registries may convert to it.
const DOCKER_MANIFEST_MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
const INDEX_MEDIA_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
/// Index types are accepted too, so that an image index gets a clear error, not a 404.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json";
/// Registries must accept manifests of 4 MiB (distribution spec); Helm's are a few hundred bytes.
const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// A chart's metadata; Chart.yaml is far smaller.
const MAX_CONFIG_BYTES: u64 = 4 << 20;
const MAX_TOKEN_BYTES: u64 = 1 << 20;

/// Fetches `chart_name` at `version_constraint` (empty: latest stable) from the OCI registry
/// repository `repo_url` (`oci://host[:port]/path`), with a client built for this call. With an
/// empty `chart_name`, `repo_url` is the chart itself (`oci://host/path/chart`).
///
/// Errors: [`Error::VersionNotFound`] (with the nearest tags) or [`Error::ChartNotFound`] when
/// the registry lacks the version or the repository; [`Error::RegistryAuth`] when access is
/// refused; [`Error::NotAHelmChart`] for other artifacts; [`Error::BlobDigestMismatch`];
/// [`Error::Registry`] for answers outside the distribution spec; and the HTTP errors of
/// [`Client::get`].
pub fn fetch_oci_chart(
    repo_url: &str,
    chart_name: &str,
    version_constraint: &str,
    options: &Options,
) -> Result<FetchedChart> {
    // Before building a client: a bad reference needs no network.
    Reference::parse(repo_url, chart_name, options.insecure_http)?;
    let client = Client::new(options.client_options())?;
    fetch_oci_chart_with(&client, repo_url, chart_name, version_constraint, options)
}

/// As [`fetch_oci_chart`], with a given client (its TLS and timeout settings apply, not those
/// in `options`).
pub fn fetch_oci_chart_with(
    client: &Client,
    repo_url: &str,
    chart_name: &str,
    version_constraint: &str,
    options: &Options,
) -> Result<FetchedChart> {
    let reference = Reference::parse(repo_url, chart_name, options.insecure_http)?;
    let mut session = Session::new(client, options, &reference);
    let (version, tag, manifest) = resolve(&mut session, version_constraint)?;
    let shown = format!("{}:{tag}", reference.shown());
    let descriptors = manifest.chart_descriptors(&shown)?;

    let config = session.blob(&descriptors.config, MAX_CONFIG_BYTES, "config")?;
    let meta: ChartMeta = serde_json::from_slice(&config).map_err(|e| Error::NotAHelmChart {
        reference: shown.clone(),
        reason: format!("its config is not chart metadata JSON: {e}"),
    })?;

    let digest = blob_digest(&descriptors.chart.digest, &reference, "chart layer")?;
    let found = |bytes: Vec<u8>, path, from_cache| FetchedChart {
        name: reference.chart.clone(),
        version: version.clone(),
        app_version: meta.app_version.clone(),
        digest: digest.clone(),
        bytes,
        path_in_cache: path,
        url: shown.clone(),
        from_cache,
        deprecated: meta.deprecated,
        manifest_digest: Some(manifest.digest.clone()),
        annotations: manifest.json.annotations.clone(),
    };
    let cache_path = options
        .cache_dir
        .as_ref()
        .map(|dir| cache::chart_path(dir, &reference.chart, &version, &digest));
    if let Some(path) = &cache_path
        && let Some(bytes) = cache::read_verified(path, &digest)?
    {
        return Ok(found(bytes, cache_path, true));
    }
    let bytes = session.blob(&descriptors.chart, options.max_chart_bytes, "chart layer")?;
    if let Some(path) = &cache_path {
        cache::write_atomic(path, &bytes)?;
    }
    Ok(found(bytes, cache_path, false))
}

/// Where a chart lives: registry, repository, chart name, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    /// `https` or `http`.
    scheme: &'static str,
    /// `host[:port]` as written (host lowercased), for messages.
    registry: String,
    /// `host[:port]` connected to.
    endpoint: String,
    /// `path/chart`.
    repository: String,
    /// The last path segment.
    chart: String,
}

impl Reference {
    fn parse(repo_url: &str, chart_name: &str, insecure_http: bool) -> Result<Reference> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: url::redact(repo_url),
            reason: reason.to_string(),
        };
        let rest = match repo_url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("oci") => rest,
            _ => return Err(invalid("an OCI registry URL starts with oci://")),
        };
        if rest.contains(['?', '#']) {
            return Err(invalid("an OCI reference has no query or fragment"));
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.contains('@') {
            return Err(invalid(
                "credentials in an oci:// URL are not supported; pass them as Options::auth",
            ));
        }
        if authority.is_empty() || authority.contains(char::is_whitespace) {
            return Err(invalid("no registry host"));
        }
        let path = path.trim_matches('/');
        let (repository, chart) = if chart_name.is_empty() {
            let chart = path.rsplit('/').next().unwrap_or_default();
            if chart.is_empty() {
                return Err(invalid(
                    "no chart: give a chart name, or a reference oci://host/path/chart",
                ));
            }
            if chart.contains([':', '@']) {
                return Err(Error::Unsupported(format!(
                    "{}: a tag or digest in the chart reference is not supported; give the \
                     version as the version constraint",
                    url::redact(repo_url)
                )));
            }
            (path.to_string(), chart.to_string())
        } else {
            check_chart_name(chart_name)?;
            let repository = if path.is_empty() {
                chart_name.to_string()
            } else {
                format!("{path}/{chart_name}")
            };
            (repository, chart_name.to_string())
        };
        if !is_oci_name_component(&chart) {
            return Err(Error::InvalidChartName {
                name: chart,
                reason: OCI_NAME_RULE.to_string(),
            });
        }
        if !repository.split('/').all(is_oci_name_component) {
            return Err(invalid(OCI_NAME_RULE));
        }
        let registry = authority.to_ascii_lowercase();
        // Docker Hub's API is not served at its name, as every OCI client knows.
        let endpoint = match registry.as_str() {
            "docker.io" | "index.docker.io" => "registry-1.docker.io".to_string(),
            _ => registry.clone(),
        };
        Ok(Reference {
            scheme: if insecure_http { "http" } else { "https" },
            registry,
            endpoint,
            repository,
            chart,
        })
    }

    /// `oci://registry/repository`.
    fn shown(&self) -> String {
        format!("oci://{}/{}", self.registry, self.repository)
    }

    /// `oci://registry/path`, the repository URL without the chart, for "not found" errors.
    fn parent(&self) -> String {
        match self.repository.rsplit_once('/') {
            Some((path, _)) => format!("oci://{}/{path}", self.registry),
            None => format!("oci://{}", self.registry),
        }
    }

    fn api_url(&self, tail: &str) -> String {
        format!(
            "{}://{}/v2/{}/{tail}",
            self.scheme, self.endpoint, self.repository
        )
    }
}

const OCI_NAME_RULE: &str = "OCI repository names are lowercase letters and digits, with single \
                             separators (., _, __ or dashes) between them";

/// A path component of an OCI repository name: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_oci_name_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
            return false;
        }
    }
    true
}

/// Strict SemVer 2.0 (Masterminds' `StrictNewVersion`, which Helm applies to tags): the
/// canonical form exactly, no `v`, no missing parts.
fn is_strict_semver(s: &str) -> bool {
    Version::parse(s).is_ok_and(|v| v.to_string() == s)
}

/// An exact version Flux fetches without listing tags: strict SemVer, optionally after `v`.
fn is_exact_version(s: &str) -> bool {
    is_strict_semver(s.strip_prefix('v').unwrap_or(s))
}

/// Helm pushes version `1.0.0+build` as tag `1.0.0_build` (OCI tags have no `+`).
fn tag_for_version(version: &str) -> String {
    version.replace('+', "_")
}

/// The chart version a tag stands for, when it is one.
fn version_for_tag(tag: &str) -> Option<String> {
    let version = tag.replace('_', "+");
    is_strict_semver(&version).then_some(version)
}

/// The version, its tag and its manifest.
fn resolve(session: &mut Session<'_>, constraint: &str) -> Result<(String, String, Manifest)> {
    let reference = session.reference;
    let chart = reference.chart.as_str();
    if is_exact_version(constraint) {
        let tag = tag_for_version(constraint);
        match session.manifest(&tag) {
            Ok(manifest) => return Ok((constraint.to_string(), tag, manifest)),
            Err(missing @ Error::Status { status: 404, .. }) => {
                // The tag list says what there is instead; when it cannot be read, the 404
                // stands.
                let Ok(listed) = session.tags() else {
                    return Err(missing);
                };
                let versions = listed.ok_or_else(|| chart_not_found(reference))?;
                let entry = version::resolve(chart, &versions, constraint, &reference.parent())?;
                let other = tag_for_version(&entry.version);
                if other == tag {
                    // Listed, yet its manifest is missing: the registry's 404 is the answer.
                    return Err(missing);
                }
                let manifest = session.manifest(&other)?;
                return Ok((entry.version.clone(), other, manifest));
            }
            Err(e) => return Err(e),
        }
    }
    let versions = session.tags()?.ok_or_else(|| chart_not_found(reference))?;
    let entry = version::resolve(chart, &versions, constraint, &reference.parent())?;
    let tag = tag_for_version(&entry.version);
    // A listed tag without a manifest (deleted in between) stays the registry's plain 404.
    let manifest = session.manifest(&tag)?;
    Ok((entry.version.clone(), tag, manifest))
}

fn chart_not_found(reference: &Reference) -> Error {
    Error::ChartNotFound {
        chart: reference.chart.clone(),
        repo: reference.parent(),
        suggestions: Vec::new(),
    }
}

/// The digest of a descriptor as 64 lowercase hex digits; only SHA-256 is supported.
fn blob_digest(digest: &str, reference: &Reference, what: &str) -> Result<String> {
    digest
        .strip_prefix("sha256:")
        .and_then(cache::normalize_digest)
        .ok_or_else(|| Error::Registry {
            registry: reference.registry.clone(),
            step: format!("reading the manifest of {}", reference.shown()),
            reason: format!("{what} digest {digest:?} is not a sha256 digest"),
        })
}

/// A content descriptor of a manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    size: Option<u64>,
}

/// An image manifest (or, to be refused, an index), as far as this module reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestJson {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Manifest {
    json: ManifestJson,
    /// SHA-256 (hex) of the manifest as served.
    digest: String,
    /// The `Content-Type` the registry gave, without parameters.
    content_type: Option<String>,
}

/// The two blobs of a Helm chart.
#[derive(Debug, Clone)]
struct ChartDescriptors {
    config: Descriptor,
    chart: Descriptor,
}

impl Manifest {
    fn chart_descriptors(&self, shown: &str) -> Result<ChartDescriptors> {
        let not_chart = |reason: String| Error::NotAHelmChart {
            reference: shown.to_string(),
            reason,
        };
        let media_type = self
            .json
            .media_type
            .as_deref()
            .or(self.content_type.as_deref())
            .unwrap_or(MANIFEST_MEDIA_TYPE);
        if INDEX_MEDIA_TYPES.contains(&media_type) || self.json.manifests.is_some() {
            return Err(not_chart(format!(
                "it is an image index ({media_type}), as multi-platform container images are; \
                 a chart is a single manifest"
            )));
        }
        if media_type != MANIFEST_MEDIA_TYPE && media_type != DOCKER_MANIFEST_MEDIA_TYPE {
            return Err(not_chart(format!(
                "manifest media type is {media_type:?}, not {MANIFEST_MEDIA_TYPE}"
            )));
        }
        let Some(config) = self.json.config.clone() else {
            return Err(not_chart("the manifest has no config".to_string()));
        };
        if config.media_type != CONFIG_MEDIA_TYPE {
            return Err(not_chart(format!(
                "config media type is {:?}, not {CONFIG_MEDIA_TYPE} (a container image or \
                 another kind of artifact?)",
                config.media_type
            )));
        }
        let layer = |media_type: &str| {
            self.json
                .layers
                .iter()
                .find(|l| l.media_type == media_type)
                .cloned()
        };
        let Some(chart) =
            layer(CHART_LAYER_MEDIA_TYPE).or_else(|| layer(LEGACY_CHART_LAYER_MEDIA_TYPE))
        else {
            let types: Vec<&str> = self
                .json
                .layers
                .iter()
                .map(|l| l.media_type.as_str())
                .collect();
            return Err(not_chart(format!(
                "no layer has media type {CHART_LAYER_MEDIA_TYPE} (layers: {})",
                if types.is_empty() {
                    "none".to_string()
                } else {
                    types.join(", ")
                }
            )));
        };
        Ok(ChartDescriptors { config, chart })
    }
}

/// The fields of the config blob (Helm's `chart.Metadata` as JSON) a [`FetchedChart`] carries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChartMeta {
    #[serde(default)]
    app_version: Option<String>,
    #[serde(default)]
    deprecated: bool,
}

#[derive(Debug, Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// A `WWW-Authenticate` challenge this client can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Challenge {
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    Basic,
}

impl Challenge {
    /// The Bearer challenge if there is one (it is what registries prefer), else Basic.
    fn pick<'h>(values: impl Iterator<Item = &'h str>) -> Option<Challenge> {
        let mut basic = false;
        for value in values {
            let value = value.trim();
            let (scheme, params) = value.split_once(' ').unwrap_or((value, ""));
            if scheme.eq_ignore_ascii_case("bearer") {
                let params = auth_params(params);
                let get = |key: &str| {
                    params
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(key))
                        .map(|(_, v)| v.clone())
                };
                if let Some(realm) = get("realm").filter(|r| !r.is_empty()) {
                    return Some(Challenge::Bearer {
                        realm,
                        service: get("service"),
                        scope: get("scope"),
                    });
                }
            } else if scheme.eq_ignore_ascii_case("basic") {
                basic = true;
            }
        }
        basic.then_some(Challenge::Basic)
    }
}

/// `key="quoted, value", key=token` pairs of a challenge (RFC 7235 auth-params).
fn auth_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ','))
            .collect::<String>()
            .trim()
            .to_string();
        if key.is_empty() && chars.peek().is_none() {
            return out;
        }
        if chars.next_if_eq(&'=').is_none() {
            // A bare token (token68 or garbage): nothing to read from it.
            if chars.peek().is_none() {
                return out;
            }
            continue;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_string();
        }
        out.push((key, value));
    }
}

/// The `rel="next"` target of `Link` headers (RFC 8288), as written.
fn next_link<'h>(values: impl Iterator<Item = &'h str>) -> Option<String> {
    for value in values {
        let mut rest = value;
        while let Some(open) = rest.find('<') {
            let after = &rest[open + 1..];
            let close = after.find('>')?;
            let target = &after[..close];
            let params_end = after[close..].find('<').map_or(after.len(), |i| close + i);
            let params = &after[close + 1..params_end];
            let is_next = params.split(';').any(|p| {
                let Some((k, v)) = p.split_once('=') else {
                    return false;
                };
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return Some(target.to_string());
            }
            rest = &after[params_end..];
        }
    }
    None
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The requests of one fetch, with what the registry asked to be sent.
struct Session<'a> {
    client: &'a Client,
    options: &'a Options,
    reference: &'a Reference,
    /// Sent with every registry request: the configured bearer token, or what a challenge
    /// asked for (a token from the realm, or the basic credentials).
    authorization: Option<Auth>,
}

impl<'a> Session<'a> {
    fn new(client: &'a Client, options: &'a Options, reference: &'a Reference) -> Self {
        // A bearer token is a registry token already; basic credentials wait for a challenge,
        // as Docker clients do, so that anonymous pulls never carry them.
        let authorization = match &options.auth {
            Some(token @ Auth::Bearer(_)) => Some(token.clone()),
            _ => None,
        };
        Session {
            client,
            options,
            reference,
            authorization,
        }
    }

    fn registry(&self) -> String {
        self.reference.registry.clone()
    }

    /// A GET to the registry, answering one auth challenge. `step` names the request in errors.
    fn get(&mut self, url: &str, accept: &str, max_bytes: u64, step: &str) -> Result<Response> {
        let registry = self.registry();
        let refused = |status| Error::RegistryAuth {
            registry: registry.clone(),
            step: step.to_string(),
            status,
        };
        let mut answered = false;
        loop {
            let response = self
                .client
                .get(&Request {
                    auth: self.authorization.as_ref(),
                    accept: Some(accept),
                    return_statuses: &[401],
                    ..Request::get(url, max_bytes)
                })
                .map_err(|e| match e {
                    Error::Status { status: 403, .. } => refused(403),
                    e => self.plain_http_hint(e),
                })?;
            if response.status != 401 {
                return Ok(response);
            }
            if answered || matches!(self.options.auth, Some(Auth::Bearer(_))) {
                return Err(refused(401));
            }
            answered = true;
            match Challenge::pick(response.header_values("www-authenticate")) {
                Some(Challenge::Bearer {
                    realm,
                    service,
                    scope,
                }) => {
                    let token = self.token(&realm, service.as_deref(), scope.as_deref(), step)?;
                    self.authorization = Some(Auth::Bearer(token));
                }
                Some(Challenge::Basic) => match &self.options.auth {
                    Some(basic @ Auth::Basic { .. }) if self.authorization.is_none() => {
                        self.authorization = Some(basic.clone());
                    }
                    _ => return Err(refused(401)),
                },
                None => return Err(refused(401)),
            }
        }
    }

    /// Asks the realm for a pull token (Docker's token authentication specification).
    fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: Option<&str>,
        step: &str,
    ) -> Result<String> {
        let token_step = format!("token request to {} for {step}", url::redact(realm));
        let failed = |reason: String| Error::Registry {
            registry: self.registry(),
            step: token_step.clone(),
            reason,
        };
        match url::scheme(realm).as_deref() {
            Some("https") => {}
            Some("http") if self.options.insecure_http => {}
            _ => {
                return Err(failed(format!(
                    "the token service {realm:?} is not an https URL (plain HTTP only with \
                     insecure_http)"
                )));
            }
        }
        let default_scope = format!("repository:{}:pull", self.reference.repository);
        let mut query = Vec::new();
        if let Some(service) = service.filter(|s| !s.is_empty()) {
            query.push(format!("service={}", query_escape(service)));
        }
        let scope = scope.filter(|s| !s.is_empty()).unwrap_or(&default_scope);
        query.push(format!("scope={}", query_escape(scope)));
        let separator = if realm.contains('?') { '&' } else { '?' };
        let token_url = format!("{realm}{separator}{}", query.join("&"));
        let credentials = match &self.options.auth {
            Some(basic @ Auth::Basic { .. }) => Some(basic),
            _ => None,
        };
        let response = self
            .client
            .get(&Request {
                auth: credentials,
                accept: Some("application/json"),
                ..Request::get(&token_url, MAX_TOKEN_BYTES)
            })
            .map_err(|e| match e {
                Error::Status {
                    status: status @ (401 | 403),
                    ..
                } => Error::RegistryAuth {
                    registry: self.registry(),
                    step: token_step.clone(),
                    status,
                },
                e => self.plain_http_hint(e),
            })?;
        let parsed: TokenResponse = serde_json::from_slice(&response.body)
            .map_err(|e| failed(format!("the answer is not a token response: {e}")))?;
        parsed
            .token
            .filter(|t| !t.is_empty())
            .or(parsed.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| failed("the answer has no token".to_string()))
    }

    /// The repository's versions, from its tags; `None` when the repository does not exist.
    fn tags(&mut self) -> Result<Option<Vec<ChartVersion>>> {
        let step = format!("listing the tags of {}", self.reference.shown());
        let mut page_url = self.reference.api_url("tags/list");
        let mut versions = Vec::new();
        for page in 0..MAX_TAG_PAGES {
            let max = self.options.max_index_bytes;
            let response = match self.get(&page_url, "application/json", max, &step) {
                Err(Error::Status { status: 404, .. }) if page == 0 => return Ok(None),
                other => other?,
            };
            let list: TagList =
                serde_json::from_slice(&response.body).map_err(|e| Error::Registry {
                    registry: self.registry(),
                    step: step.clone(),
                    reason: format!("the tag list is not valid JSON: {e}"),
                })?;
            versions.extend(
                list.tags
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|tag| version_for_tag(tag))
                    .map(|version| ChartVersion {
                        name: self.reference.chart.clone(),
                        version,
                        ..ChartVersion::default()
                    }),
            );
            let Some(next) = next_link(response.header_values("link")) else {
                return Ok(Some(versions));
            };
            let next = url::resolve_reference(&response.url, &next)?;
            // The credentials go with the next request: it must stay on the registry.
            if !url::same_origin(&next, &page_url) {
                return Err(Error::Registry {
                    registry: self.registry(),
                    step,
                    reason: format!(
                        "the next page of the tag list is on another host: {}",
                        url::redact(&next)
                    ),
                });
            }
            page_url = next;
        }
        Err(Error::Registry {
            registry: self.registry(),
            step,
            reason: format!("the tag list goes on for more than {MAX_TAG_PAGES} pages"),
        })
    }

    fn manifest(&mut self, tag: &str) -> Result<Manifest> {
        let shown = format!("{}:{tag}", self.reference.shown());
        let step = format!("fetching the manifest of {shown}");
        let manifest_url = self.reference.api_url(&format!("manifests/{tag}"));
        let response = self.get(&manifest_url, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, &step)?;
        if let Some(header) = response.header("docker-content-digest")
            && let Some(expected) = header.strip_prefix("sha256:")
        {
            let actual = cache::sha256_hex(&response.body);
            if !expected.eq_ignore_ascii_case(&actual) {
                return Err(Error::BlobDigestMismatch {
                    url: url::redact(&manifest_url),
                    expected_from: "the Docker-Content-Digest header",
                    expected: expected.to_ascii_lowercase(),
                    actual,
                });
            }
        }
        let digest = cache::sha256_hex(&response.body);
        let json: ManifestJson =
            serde_json::from_slice(&response.body).map_err(|e| Error::Registry {
                registry: self.registry(),
                step,
                reason: format!("the manifest is not valid JSON: {e}"),
            })?;
        let content_type = response
            .header("content-type")
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        Ok(Manifest {
            json,
            digest,
            content_type,
        })
    }

    /// Downloads a blob and checks its digest.
    fn blob(&mut self, descriptor: &Descriptor, max_bytes: u64, what: &str) -> Result<Vec<u8>> {
        let digest = blob_digest(&descriptor.digest, self.reference, what)?;
        let blob_url = self.reference.api_url(&format!("blobs/sha256:{digest}"));
        // The manifest gives the size: refuse early what the cap would cut off anyway.
        if descriptor.size.is_some_and(|size| size > max_bytes) {
            return Err(Error::TooLarge {
                url: url::redact(&blob_url),
                limit: max_bytes,
            });
        }
        let step = format!("fetching the {what} of {}", self.reference.shown());
        let response = self.get(&blob_url, "*/*", max_bytes, &step)?;
        let actual = cache::sha256_hex(&response.body);
        if actual != digest {
            return Err(Error::BlobDigestMismatch {
                url: url::redact(&blob_url),
                expected_from: "the manifest",
                expected: digest,
                actual,
            });
        }
        Ok(response.body)
    }

    /// A TLS handshake answered in plain text means a plain-HTTP registry: say how to allow it.
    fn plain_http_hint(&self, e: Error) -> Error {
        match e {
            Error::Transport { url, mut message }
                if self.reference.scheme == "https"
                    && (message.contains("InvalidContentType")
                        || message.contains("corrupt message")) =>
            {
                message.push_str(
                    " (the registry may speak plain HTTP; allow it with insecure_http, Flux's \
                     spec.insecure)",
                );
                Error::Transport { url, message }
            }
            e => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_parsed() {
        let r = Reference::parse("oci://ghcr.io/stefanprodan/charts", "podinfo", false).unwrap();
        assert_eq!(r.repository, "stefanprodan/charts/podinfo");
        assert_eq!(
            r.api_url("tags/list"),
            "https://ghcr.io/v2/stefanprodan/charts/podinfo/tags/list"
        );
        assert_eq!(r.parent(), "oci://ghcr.io/stefanprodan/charts");
        let full =
            Reference::parse("oci://ghcr.io/stefanprodan/charts/podinfo/", "", false).unwrap();
        assert_eq!(full, r);
        let r = Reference::parse("OCI://Localhost:5000", "demo", true).unwrap();
        assert_eq!(r.api_url("x"), "http://localhost:5000/v2/demo/x");
        assert_eq!(r.parent(), "oci://localhost:5000");
        let hub = Reference::parse("oci://docker.io/bitnamicharts", "nginx", false).unwrap();
        assert_eq!(
            hub.api_url("x"),
            "https://registry-1.docker.io/v2/bitnamicharts/nginx/x"
        );
        assert_eq!(hub.shown(), "oci://docker.io/bitnamicharts/nginx");

        for (url, chart, label) in [
            ("https://ghcr.io/x", "a", "invalid_url"),
            ("oci:///x", "a", "invalid_url"),
            ("oci://u:p@ghcr.io/x", "a", "invalid_url"),
            ("oci://ghcr.io/x?y", "a", "invalid_url"),
            ("oci://ghcr.io/X", "a", "invalid_url"),
            ("oci://ghcr.io", "", "invalid_url"),
            ("oci://ghcr.io/x", "a/b", "invalid_chart_name"),
            ("oci://ghcr.io/x", "My-Chart", "invalid_chart_name"),
            ("oci://ghcr.io/x/a:1.0.0", "", "unsupported"),
        ] {
            let err = Reference::parse(url, chart, false).unwrap_err();
            assert_eq!(err.metric_label(), label, "{url} {chart}: {err}");
            assert!(!err.to_string().contains(":p@"), "{err}");
        }
    }

    #[test]
    fn oci_name_components() {
        for good in [
            "a",
            "podinfo",
            "kube-prometheus-stack",
            "a__b",
            "a.b_c--d",
            "0",
        ] {
            assert!(is_oci_name_component(good), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a..b", "a___b", "a_-b", "a b", "a:b"] {
            assert!(!is_oci_name_component(bad), "{bad}");
        }
    }

    #[test]
    fn versions_and_tags() {
        for exact in ["1.2.3", "v1.2.3", "1.2.3-rc.1", "1.2.3+build.5", "0.0.0"] {
            assert!(is_exact_version(exact), "{exact}");
        }
        for not in [
            "", "1.2", "1", "^1.2.3", "1.2.x", ">=1.0.0", "latest", "01.2.3",
        ] {
            assert!(!is_exact_version(not), "{not}");
        }
        assert_eq!(tag_for_version("1.2.3+build.5"), "1.2.3_build.5");
        assert_eq!(
            version_for_tag("1.2.3_build.5").as_deref(),
            Some("1.2.3+build.5")
        );
        assert_eq!(version_for_tag("1.2.3").as_deref(), Some("1.2.3"));
        for ignored in ["latest", "v1.2.3", "1.2", "sha256-abc.sig", "1.2.3_a_b"] {
            assert_eq!(version_for_tag(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn challenges_are_parsed() {
        let bearer = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/a:pull,push""#;
        assert_eq!(
            Challenge::pick([bearer].into_iter()),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/a:pull,push".into()),
            })
        );
        assert_eq!(
            Challenge::pick(["Basic realm=\"x\"", "bearer realm=r, scope=\"a\\\"b\""].into_iter()),
            Some(Challenge::Bearer {
                realm: "r".into(),
                service: None,
                scope: Some("a\"b".into()),
            })
        );
        assert_eq!(
            Challenge::pick(["Basic realm=\"Registry\""].into_iter()),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::pick(["Bearer service=x"].into_iter()), None);
        assert_eq!(Challenge::pick(["Negotiate abc=="].into_iter()), None);
        assert_eq!(Challenge::pick(std::iter::empty()), None);
    }

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(["</v2/a/tags/list?last=b&n=2>; rel=\"next\""].into_iter()).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(["<https://x/p1>; rel=\"prev\", <https://x/p3>; rel=next"].into_iter())
                .as_deref(),
            Some("https://x/p3")
        );
        assert_eq!(
            next_link(["<https://x/p1>; rel=\"prev\""].into_iter()),
            None
        );
        assert_eq!(next_link(std::iter::empty()), None);
    }

    #[test]
    fn query_escaping() {
        assert_eq!(
            query_escape("repository:a/b:pull push"),
            "repository%3Aa%2Fb%3Apull+push"
        );
    }

    #[test]
    fn manifests_are_checked() {
        let manifest = |json: &str| Manifest {
            json: serde_json::from_str(json).unwrap(),
            digest: String::new(),
            content_type: None,
        };
        let digest = format!("sha256:{}", "a".repeat(64));
        let chart = manifest(&format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{CONFIG_MEDIA_TYPE}","digest":"{digest}","size":2}},
               "layers":[{{"mediaType":"{LEGACY_CHART_LAYER_MEDIA_TYPE}","digest":"{digest}","size":3}}]}}"#
        ));
        let d = chart.chart_descriptors("oci://r/c:1.0.0").unwrap();
        assert_eq!(d.chart.media_type, LEGACY_CHART_LAYER_MEDIA_TYPE);
        let index = manifest(r#"{"schemaVersion":2,"manifests":[]}"#);
        let err = index.chart_descriptors("oci://r/c:1.0.0").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("oci://r/c:1.0.0 is not a Helm chart: it is an image index"),
            "{err}"
        );
        let no_config = manifest(r#"{"schemaVersion":2,"layers":[]}"#);
        assert_eq!(
            no_config
                .chart_descriptors("oci://r/c:1")
                .unwrap_err()
                .metric_label(),
            "not_a_helm_chart"
        );
    }
}
