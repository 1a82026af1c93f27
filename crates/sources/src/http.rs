//! A small HTTP(S) GET client, blocking from the caller's view: hyper 1 with hyper-util's pooled
//! client and rustls (ring) inside a current-thread tokio runtime that the [`Client`] owns.
//!
//! What it does, as Helm's HTTP getter (Go's `net/http`) does: follows up to 10 redirects
//! (`Authorization` kept only while the host stays the first request's host or a subdomain of
//! it); sends basic auth or a bearer token; trusts the system's CA store plus optional extra CA
//! certificates; asks for gzip and inflates it; accepts only `200 OK` (and `304 Not Modified`
//! for conditional requests), unless the request lists other statuses to hand back as data (an
//! OCI registry's `401` with its `WWW-Authenticate` challenge). In addition it bounds the whole
//! exchange with a timeout and caps the body size (compressed and inflated). `file://` URLs are
//! read from disk with the same cap.
//!
//! The client may be called from inside an async runtime too (it then runs the request on a
//! scoped helper thread instead of panicking), though async callers had better use
//! `spawn_blocking`.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as LegacyClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::error::{Error, Result};
use crate::url;

/// Credentials for a repository.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// HTTP basic authentication.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

impl fmt::Debug for Auth {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Auth::Bearer(_) => f.debug_tuple("Bearer").field(&"<redacted>").finish(),
        }
    }
}

impl Auth {
    fn header_value(&self) -> Option<HeaderValue> {
        let text = match self {
            Auth::Basic { username, password } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            ),
            Auth::Bearer(token) => format!("Bearer {token}"),
        };
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

/// How a [`Client`] connects.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Extra CA certificates (PEM), trusted in addition to the system store.
    pub ca_pem: Option<Vec<u8>>,
    /// Limit for one whole request: connecting, redirects, headers and body.
    pub timeout: Duration,
    /// Limit for establishing a TCP connection.
    pub connect_timeout: Duration,
    /// Redirects followed before giving up (Go's and so Helm's limit is 10).
    pub max_redirects: usize,
    /// `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            ca_pem: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(30),
            max_redirects: 10,
            user_agent: concat!("helmrelease/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field(
                "ca_pem",
                &self.ca_pem.as_ref().map(|p| format!("{} bytes", p.len())),
            )
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_redirects", &self.max_redirects)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

/// One GET request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `http://`, `https://` or `file://` URL. User information in it becomes basic auth when
    /// `auth` is `None`.
    pub url: &'a str,
    /// Credentials to send.
    pub auth: Option<&'a Auth>,
    /// Largest body accepted.
    pub max_bytes: u64,
    /// `If-None-Match` value (an ETag from an earlier response).
    pub if_none_match: Option<&'a str>,
    /// `If-Modified-Since` value (a `Last-Modified` from an earlier response).
    pub if_modified_since: Option<&'a str>,
    /// `Accept` value (OCI registries choose the manifest format by it).
    pub accept: Option<&'a str>,
    /// Statuses besides 200 (and 304) returned as a [`Response`], with headers and body,
    /// instead of [`Error::Status`]; e.g. `401`, whose `WWW-Authenticate` header starts a
    /// registry's token flow. Redirects are followed before this applies.
    pub return_statuses: &'a [u16],
}

impl<'a> Request<'a> {
    /// A plain GET of `url` with a body cap.
    pub fn get(url: &'a str, max_bytes: u64) -> Self {
        Self {
            url,
            auth: None,
            max_bytes,
            if_none_match: None,
            if_modified_since: None,
            accept: None,
            return_statuses: &[],
        }
    }
}

/// A successful response (or one with a status the request asked to see).
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// 200, or 304 for a conditional request whose cached copy is current, or one of the
    /// request's [`Request::return_statuses`].
    pub status: u16,
    /// The URL that answered, after redirects.
    pub url: String,
    /// The body (empty for 304).
    pub body: Vec<u8>,
    /// `ETag` header.
    pub etag: Option<String>,
    /// `Last-Modified` header.
    pub last_modified: Option<String>,
    /// All response headers that are valid text, names lowercased, in the order received
    /// (a name may repeat, as `WWW-Authenticate` does). Empty for `file://`.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// True for `304 Not Modified`.
    pub fn not_modified(&self) -> bool {
        self.status == 304
    }

    /// The first value of a header (name case-insensitive).
    pub fn header<'s>(&'s self, name: &'s str) -> Option<&'s str> {
        self.header_values(name).next()
    }

    /// Every value of a header (name case-insensitive), in the order received.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("url", &url::redact(&self.url))
            .field("body", &format_args!("{} bytes", self.body.len()))
            .field("etag", &self.etag)
            .field("last_modified", &self.last_modified)
            // Names only: values may carry cookies or other secrets.
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

type Connector = HttpsConnector<HttpConnector>;

/// A pooled HTTP(S) client with its own runtime. Create once, use for many requests.
pub struct Client {
    /// Always `Some` until dropped; taken in `Drop` to shut down without blocking.
    runtime: Option<tokio::runtime::Runtime>,
    http: LegacyClient<Connector, Empty<Bytes>>,
    options: ClientOptions,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.options)
            .finish()
    }
}

/// System trust anchors, loaded once per process.
fn native_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

fn tls_config(ca_pem: Option<&[u8]>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    // Unparseable system certificates are skipped, as Go's system pool skips them.
    let _ = roots.add_parsable_certificates(native_roots().iter().cloned());
    if let Some(pem) = ca_pem {
        let mut added = 0usize;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::Tls(format!("CA PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::Tls("CA PEM holds no CERTIFICATE block".to_string()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl Client {
    /// Builds a client: runtime, TLS roots (system store plus `ca_pem`), connection pool.
    pub fn new(options: ClientOptions) -> Result<Client> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Runtime(e.to_string()))?;
        let tls = tls_config(options.ca_pem.as_deref())?;
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(options.connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http = LegacyClient::builder(TokioExecutor::new()).build(https);
        Ok(Client {
            runtime: Some(runtime),
            http,
            options,
        })
    }

    /// The options the client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Performs a GET. Errors: [`Error::Status`] for any status but 200 (and 304 when the
    /// request is conditional, and the request's [`Request::return_statuses`]),
    /// [`Error::TooLarge`], [`Error::Timeout`],
    /// [`Error::TooManyRedirects`], [`Error::Transport`], [`Error::InvalidUrl`],
    /// [`Error::Unsupported`] for other schemes.
    pub fn get(&self, request: &Request<'_>) -> Result<Response> {
        match url::scheme(request.url).as_deref() {
            Some("file") => return read_file(request),
            Some("http" | "https") => {}
            Some(other) => {
                return Err(Error::Unsupported(format!(
                    "{}: the {other}:// scheme is not supported (use http, https or file)",
                    url::redact(request.url)
                )));
            }
            None => {
                return Err(Error::InvalidUrl {
                    url: url::redact(request.url),
                    reason: "not an absolute URL".to_string(),
                });
            }
        }
        let limit = self.options.timeout;
        let Some(runtime) = &self.runtime else {
            return Err(Error::Runtime("client runtime is gone".to_string()));
        };
        let run = || {
            runtime.block_on(async {
                match tokio::time::timeout(limit, self.fetch(request)).await {
                    Ok(result) => result,
                    Err(_) => Err(Error::Timeout {
                        url: url::redact(request.url),
                        after: limit,
                    }),
                }
            })
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Blocking on a runtime from inside another one panics; a helper thread does not.
            std::thread::scope(|s| s.spawn(run).join())
                .map_err(|_| Error::Runtime("HTTP request thread panicked".to_string()))?
        } else {
            run()
        }
    }

    async fn fetch(&self, request: &Request<'_>) -> Result<Response> {
        let first = request.url.to_string();
        let first_host = url::host_name(&first);
        let mut current = first.clone();
        let mut redirects = 0usize;
        let conditional = request.if_none_match.is_some() || request.if_modified_since.is_some();
        loop {
            let (target, userinfo) = match url::split_userinfo(&current) {
                Some((without, (user, password))) => (
                    without,
                    Some(Auth::Basic {
                        username: user,
                        password,
                    }),
                ),
                None => (current.clone(), None),
            };
            let shown = url::redact(&current);
            let target = target.split('#').next().unwrap_or_default();
            let uri: hyper::Uri = target.parse().map_err(|e| Error::InvalidUrl {
                url: shown.clone(),
                reason: format!("{e}"),
            })?;
            // Go's transport asks for gzip and inflates transparently; so do we.
            let mut builder = hyper::Request::get(uri)
                .header(header::USER_AGENT, self.options.user_agent.as_str())
                .header(header::ACCEPT_ENCODING, "gzip");
            let keep_auth = match (&first_host, url::host_name(&current)) {
                (Some(a), Some(b)) => url::is_domain_or_subdomain(&b, a),
                _ => false,
            };
            let auth = if keep_auth { request.auth } else { None }.or(userinfo.as_ref());
            if let Some(value) = auth.and_then(Auth::header_value) {
                builder = builder.header(header::AUTHORIZATION, value);
            }
            if let Some(etag) = request.if_none_match {
                builder = builder.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(since) = request.if_modified_since {
                builder = builder.header(header::IF_MODIFIED_SINCE, since);
            }
            if let Some(accept) = request.accept {
                builder = builder.header(header::ACCEPT, accept);
            }
            let req = builder.body(Empty::new()).map_err(|e| Error::InvalidUrl {
                url: shown.clone(),
                reason: format!("cannot build request: {e}"),
            })?;
            let response = self
                .http
                .request(req)
                .await
                .map_err(|e| transport(&shown, &e))?;
            let status = response.status().as_u16();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let Some(location) = location else {
                    return Err(Error::Status { url: shown, status });
                };
                if redirects >= self.options.max_redirects {
                    return Err(Error::TooManyRedirects {
                        url: url::redact(&first),
                        limit: self.options.max_redirects,
                    });
                }
                redirects += 1;
                current = url::resolve_reference(&current, &location)?;
                match url::scheme(&current).as_deref() {
                    Some("http" | "https") => continue,
                    _ => {
                        return Err(Error::InvalidUrl {
                            url: url::redact(&current),
                            reason: "redirect to a scheme other than http or https".to_string(),
                        });
                    }
                }
            }
            let as_data = request.return_statuses.contains(&status);
            if !(status == 200 || (status == 304 && conditional) || as_data) {
                return Err(Error::Status { url: shown, status });
            }
            let header_text = |name: header::HeaderName| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let etag = header_text(header::ETAG);
            let last_modified = header_text(header::LAST_MODIFIED);
            let headers = response
                .headers()
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
                })
                .collect();
            let gzipped = header_text(header::CONTENT_ENCODING).is_some_and(|v| {
                matches!(v.trim().to_ascii_lowercase().as_str(), "gzip" | "x-gzip")
            });
            let declared = header_text(header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > request.max_bytes) {
                return Err(Error::TooLarge {
                    url: shown,
                    limit: request.max_bytes,
                });
            }
            let mut body = Vec::with_capacity(
                usize::try_from(declared.unwrap_or(0).min(request.max_bytes)).unwrap_or(0),
            );
            if status == 200 || (as_data && status != 304) {
                let mut incoming = response.into_body();
                while let Some(frame) = incoming.frame().await {
                    let frame = frame.map_err(|e| transport(&shown, &e))?;
                    if let Ok(data) = frame.into_data() {
                        if body.len() as u64 + data.len() as u64 > request.max_bytes {
                            return Err(Error::TooLarge {
                                url: shown,
                                limit: request.max_bytes,
                            });
                        }
                        body.extend_from_slice(&data);
                    }
                }
            }
            if gzipped && !body.is_empty() {
                body = gunzip(&body, request.max_bytes, &shown)?;
            }
            return Ok(Response {
                status,
                url: current,
                body,
                etag,
                last_modified,
                headers,
            });
        }
    }
}

impl Drop for Client {
    /// Shuts the runtime down without waiting, so that a client may also be dropped inside an
    /// async context (where a blocking shutdown panics).
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Flattens an error and its sources into one line (hyper's top-level messages alone, such as
/// "client error (Connect)", say too little).
fn transport(url: &str, error: &(dyn std::error::Error + 'static)) -> Error {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    if message.contains("UnknownIssuer") && native_roots().is_empty() {
        message.push_str(" (no system CA certificates were found; pass the CA as ca_pem)");
    }
    Error::Transport {
        url: url.to_string(),
        message,
    }
}

/// Inflates a `Content-Encoding: gzip` body (all members, as Go's reader), capped at `max`.
fn gunzip(compressed: &[u8], max: u64, url: &str) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(compressed)
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::Transport {
            url: url.to_string(),
            message: format!("gzip response body does not inflate: {e}"),
        })?;
    if out.len() as u64 > max {
        return Err(Error::TooLarge {
            url: url.to_string(),
            limit: max,
        });
    }
    Ok(out)
}

fn read_file(request: &Request<'_>) -> Result<Response> {
    let path = url::file_path(request.url)?;
    let io = |source| Error::Io {
        action: "reading",
        path: path.clone(),
        source,
    };
    let len = std::fs::metadata(&path).map_err(io)?.len();
    if len > request.max_bytes {
        return Err(Error::TooLarge {
            url: request.url.to_string(),
            limit: request.max_bytes,
        });
    }
    let body = std::fs::read(&path).map_err(io)?;
    if body.len() as u64 > request.max_bytes {
        return Err(Error::TooLarge {
            url: request.url.to_string(),
            limit: request.max_bytes,
        });
    }
    Ok(Response {
        status: 200,
        url: request.url.to_string(),
        body,
        etag: None,
        last_modified: None,
        headers: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_never_prints_secrets() {
        let basic = Auth::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{basic:?}").contains("hunter2"));
        assert!(!format!("{:?}", Auth::Bearer("tok3n".into())).contains("tok3n"));
        assert_eq!(
            basic.header_value().unwrap().to_str().unwrap(),
            "Basic dTpodW50ZXIy"
        );
    }

    #[test]
    fn response_headers_by_name() {
        let response = Response {
            status: 401,
            url: "https://r.test/v2/".into(),
            body: Vec::new(),
            etag: None,
            last_modified: None,
            headers: vec![
                ("www-authenticate".into(), "Basic realm=\"a\"".into()),
                ("link".into(), "<x>; rel=next".into()),
                ("www-authenticate".into(), "Bearer realm=\"b\"".into()),
            ],
        };
        assert_eq!(response.header("Link"), Some("<x>; rel=next"));
        assert_eq!(response.header("etag"), None);
        assert_eq!(
            response
                .header_values("WWW-Authenticate")
                .collect::<Vec<_>>(),
            ["Basic realm=\"a\"", "Bearer realm=\"b\""]
        );
        // Names only in Debug output.
        assert!(!format!("{response:?}").contains("realm"));
    }

    #[test]
    fn bad_ca_pem_is_an_error() {
        let err = Client::new(ClientOptions {
            ca_pem: Some(b"not a pem".to_vec()),
            ..ClientOptions::default()
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "TLS configuration: CA PEM holds no CERTIFICATE block"
        );
        let err = Client::new(ClientOptions {
            ca_pem: Some(
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec(),
            ),
            ..ClientOptions::default()
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TLS configuration: CA certificate"),
            "{err}"
        );
    }

    #[test]
    fn other_schemes_are_rejected() {
        let client = Client::new(ClientOptions::default()).unwrap();
        let err = client
            .get(&Request::get("ftp://x/index.yaml", 10))
            .unwrap_err();
        assert_eq!(err.metric_label(), "unsupported");
        let err = client.get(&Request::get("index.yaml", 10)).unwrap_err();
        assert_eq!(err.metric_label(), "invalid_url");
    }

    #[test]
    fn file_urls_are_read_with_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.yaml");
        std::fs::write(&path, b"apiVersion: v1\n").unwrap();
        let client = Client::new(ClientOptions::default()).unwrap();
        let url = format!("file://{}", path.display());
        assert_eq!(
            client.get(&Request::get(&url, 100)).unwrap().body,
            b"apiVersion: v1\n"
        );
        let err = client.get(&Request::get(&url, 3)).unwrap_err();
        assert_eq!(err.metric_label(), "too_large");
        let missing = format!("file://{}/nope", dir.path().display());
        assert_eq!(
            client
                .get(&Request::get(&missing, 3))
                .unwrap_err()
                .metric_label(),
            "io"
        );
    }
}
