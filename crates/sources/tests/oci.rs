//! `fetch_oci_chart` against a fake OCI registry served in-process (tokio + hyper on
//! 127.0.0.1:0): tags with pagination, manifests, blobs (optionally redirected to "storage" on
//! another host name), and open, basic or token (Docker token flow) access.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use helmrelease_sources::oci::{CHART_LAYER_MEDIA_TYPE, CONFIG_MEDIA_TYPE, MANIFEST_MEDIA_TYPE};
use helmrelease_sources::{Auth, Error, Options, fetch_chart, fetch_oci_chart};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

const USER: &str = "reader";
const PASSWORD: &str = "s3cret";
const USER_TOKEN: &str = "tok-for-reader";
const ANON_TOKEN: &str = "tok-anonymous";

/// Who may read the registry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Access {
    Open,
    /// `WWW-Authenticate: Basic`; the reader's basic credentials.
    Basic,
    /// `WWW-Authenticate: Bearer` pointing at `/token`; with `credentials`, the token service
    /// wants the reader's basic credentials, otherwise it hands out anonymous tokens.
    Token {
        credentials: bool,
    },
}

/// The registry's content and behaviour.
#[derive(Clone)]
struct Content {
    access: Access,
    /// Repository to tags, in list order.
    tags: HashMap<String, Vec<String>>,
    /// (repository, tag) to manifest JSON.
    manifests: HashMap<(String, String), Vec<u8>>,
    /// `sha256:<hex>` to bytes.
    blobs: HashMap<String, Vec<u8>>,
    /// Tags per page of the tag list; `None` for one page.
    page_size: Option<usize>,
    /// Blobs answer with a redirect to `/storage/<digest>` on `localhost` (another host name).
    redirect_blobs: bool,
}

impl Content {
    fn new(access: Access) -> Content {
        Content {
            access,
            tags: HashMap::new(),
            manifests: HashMap::new(),
            blobs: HashMap::new(),
            page_size: None,
            redirect_blobs: false,
        }
    }

    /// Pushes a chart as Helm does: config blob, chart layer, manifest under `tag`.
    fn push_chart(&mut self, repo: &str, tag: &str, archive: &[u8], app_version: &str) {
        let chart = repo.rsplit('/').next().unwrap();
        let version = tag.replace('_', "+");
        let config = serde_json::to_vec(&serde_json::json!({
            "apiVersion": "v2",
            "name": chart,
            "version": version,
            "appVersion": app_version,
        }))
        .unwrap();
        let manifest = manifest_json(
            CONFIG_MEDIA_TYPE,
            &self.add_blob(&config),
            CHART_LAYER_MEDIA_TYPE,
            &self.add_blob(archive),
            archive.len(),
        );
        self.push_manifest(repo, tag, manifest);
    }

    fn push_manifest(&mut self, repo: &str, tag: &str, manifest: Vec<u8>) {
        self.manifests
            .insert((repo.to_string(), tag.to_string()), manifest);
        self.tag(repo, tag);
    }

    /// Lists a tag (that may have no manifest).
    fn tag(&mut self, repo: &str, tag: &str) {
        let tags = self.tags.entry(repo.to_string()).or_default();
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }

    fn add_blob(&mut self, bytes: &[u8]) -> String {
        let digest = format!("sha256:{}", sha256(bytes));
        self.blobs.insert(digest.clone(), bytes.to_vec());
        digest
    }
}

fn manifest_json(
    config_type: &str,
    config_digest: &str,
    layer_type: &str,
    layer_digest: &str,
    layer_size: usize,
) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": config_type, "digest": config_digest, "size": 100},
        "layers": [{"mediaType": layer_type, "digest": layer_digest, "size": layer_size}],
        "annotations": {"org.opencontainers.image.title": "podinfo"},
    }))
    .unwrap()
}

/// What the server saw.
#[derive(Default)]
struct Log {
    /// Path (without query) to number of requests.
    hits: HashMap<String, usize>,
    /// Path to the `Authorization` headers received, in order (`None` when absent).
    authorizations: HashMap<String, Vec<Option<String>>>,
    /// Path to the `Accept` headers received.
    accepts: HashMap<String, Vec<Option<String>>>,
    /// Query strings of token requests.
    token_queries: Vec<String>,
}

mod common;

use common::sha256;

struct Server {
    addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    _listener: common::Listener,
}

impl Server {
    fn start(content: Content) -> Server {
        Server::start_with(content, None)
    }

    /// With `tls`, the server speaks HTTPS.
    fn start_with(content: Content, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let log = Arc::new(Mutex::new(Log::default()));
        let content = Arc::new(content);
        let server_log = log.clone();
        let listener = common::Listener::start(tls, move |addr| {
            move |req| handle(req, addr, content.clone(), server_log.clone())
        });
        Server {
            addr: listener.addr,
            log,
            _listener: listener,
        }
    }

    /// `oci://127.0.0.1:<port>{path}`.
    fn oci(&self, path: &str) -> String {
        format!("oci://{}{path}", self.addr)
    }

    fn hits(&self, path: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    fn authorizations(&self, path: &str) -> Vec<Option<String>> {
        let log = self.log.lock().unwrap();
        log.authorizations.get(path).cloned().unwrap_or_default()
    }
}

fn reply(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn with_header(
    mut response: Response<Full<Bytes>>,
    name: &'static str,
    value: &str,
) -> Response<Full<Bytes>> {
    response.headers_mut().append(name, value.parse().unwrap());
    response
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn oci_error(status: StatusCode, code: &str) -> Response<Full<Bytes>> {
    let body = format!(r#"{{"errors":[{{"code":"{code}","message":"{code}"}}]}}"#);
    with_header(
        reply(status, body.into_bytes()),
        "content-type",
        "application/json",
    )
}

async fn handle(
    req: Request<Incoming>,
    addr: SocketAddr,
    content: Arc<Content>,
    log: Arc<Mutex<Log>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let authorization = header("authorization");
    {
        let mut log = log.lock().unwrap();
        *log.hits.entry(path.clone()).or_default() += 1;
        log.authorizations
            .entry(path.clone())
            .or_default()
            .push(authorization.clone());
        log.accepts
            .entry(path.clone())
            .or_default()
            .push(header("accept"));
    }

    if path == "/token" {
        log.lock().unwrap().token_queries.push(query.clone());
        let params: HashMap<&str, &str> =
            query.split('&').filter_map(|p| p.split_once('=')).collect();
        if params.get("service") != Some(&"fake-registry")
            || !params.get("scope").is_some_and(|s| s.ends_with("%3Apull"))
        {
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                b"service and scope".to_vec(),
            ));
        }
        let body = match content.access {
            Access::Token { credentials: true } => {
                if authorization.as_deref() != Some(&basic(USER, PASSWORD)) {
                    return Ok(reply(StatusCode::UNAUTHORIZED, b"bad credentials".to_vec()));
                }
                format!(r#"{{"token":"{USER_TOKEN}","expires_in":300}}"#)
            }
            // Some token services answer with the OAuth2 field only.
            _ => format!(r#"{{"access_token":"{ANON_TOKEN}"}}"#),
        };
        return Ok(reply(StatusCode::OK, body.into_bytes()));
    }
    if let Some(digest) = path.strip_prefix("/storage/") {
        return Ok(match content.blobs.get(digest) {
            Some(blob) => reply(StatusCode::OK, blob.clone()),
            None => reply(StatusCode::NOT_FOUND, Vec::new()),
        });
    }
    let Some(api) = path.strip_prefix("/v2/") else {
        return Ok(reply(StatusCode::NOT_FOUND, Vec::new()));
    };
    let (repo, action) = if let Some(repo) = api.strip_suffix("/tags/list") {
        (repo, ("tags", ""))
    } else if let Some((repo, tag)) = api.rsplit_once("/manifests/") {
        (repo, ("manifest", tag))
    } else if let Some((repo, digest)) = api.rsplit_once("/blobs/") {
        (repo, ("blob", digest))
    } else {
        return Ok(reply(StatusCode::NOT_FOUND, Vec::new()));
    };

    let allowed = match content.access {
        Access::Open => true,
        Access::Basic => authorization.as_deref() == Some(&basic(USER, PASSWORD)),
        Access::Token { credentials } => {
            let token = if credentials { USER_TOKEN } else { ANON_TOKEN };
            authorization.as_deref() == Some(&format!("Bearer {token}"))
        }
    };
    if !allowed {
        let challenge = match content.access {
            Access::Basic => r#"Basic realm="fake registry""#.to_string(),
            _ => format!(
                r#"Bearer realm="http://{addr}/token",service="fake-registry",scope="repository:{repo}:pull""#
            ),
        };
        return Ok(with_header(
            oci_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            "www-authenticate",
            &challenge,
        ));
    }

    Ok(match action {
        ("tags", _) => {
            let Some(tags) = content.tags.get(repo) else {
                return Ok(oci_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN"));
            };
            let last = query
                .split('&')
                .find_map(|p| p.strip_prefix("last="))
                .unwrap_or_default();
            let start = tags.iter().position(|t| t == last).map_or(0, |i| i + 1);
            let size = content.page_size.unwrap_or(usize::MAX);
            let page: Vec<&String> = tags.iter().skip(start).take(size).collect();
            let body =
                serde_json::to_vec(&serde_json::json!({"name": repo, "tags": page})).unwrap();
            let response = reply(StatusCode::OK, body);
            match page.last() {
                Some(last) if start + page.len() < tags.len() => with_header(
                    response,
                    "link",
                    &format!("</v2/{repo}/tags/list?n={size}&last={last}>; rel=\"next\""),
                ),
                _ => response,
            }
        }
        ("manifest", tag) => match content.manifests.get(&(repo.to_string(), tag.to_string())) {
            Some(manifest) => {
                let response = with_header(
                    reply(StatusCode::OK, manifest.clone()),
                    "content-type",
                    MANIFEST_MEDIA_TYPE,
                );
                with_header(
                    response,
                    "docker-content-digest",
                    &format!("sha256:{}", sha256(manifest)),
                )
            }
            None => oci_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN"),
        },
        (_, digest) => match content.blobs.get(digest) {
            Some(_) if content.redirect_blobs => {
                let location = format!("http://localhost:{}/storage/{digest}", addr.port());
                with_header(
                    reply(StatusCode::TEMPORARY_REDIRECT, Vec::new()),
                    "location",
                    &location,
                )
            }
            Some(blob) => reply(StatusCode::OK, blob.clone()),
            None => oci_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN"),
        },
    })
}

/// The common chart archive, with this test's `appVersion`.
fn chart_tgz(name: &str, version: &str) -> Vec<u8> {
    common::chart_tgz(name, version, &format!("a{version}"))
}

/// Plain HTTP, as the fake registry speaks it.
fn insecure() -> Options {
    Options {
        insecure_http: true,
        ..Options::default()
    }
}

fn with_auth(user: &str, password: &str) -> Options {
    Options {
        auth: Some(Auth::Basic {
            username: user.into(),
            password: password.into(),
        }),
        ..insecure()
    }
}

/// `charts/podinfo` with versions 1.0.0, 1.1.0, 1.2.0+build.1 (tag `1.2.0_build.1`),
/// 2.0.0-rc.1, and the tags `latest` and `v3.0.0` (not Helm versions), in shuffled order.
fn podinfo(access: Access) -> (Content, HashMap<&'static str, Vec<u8>>) {
    let mut content = Content::new(access);
    let mut archives = HashMap::new();
    for (tag, version) in [
        ("1.1.0", "1.1.0"),
        ("2.0.0-rc.1", "2.0.0-rc.1"),
        ("1.0.0", "1.0.0"),
        ("1.2.0_build.1", "1.2.0+build.1"),
    ] {
        let archive = chart_tgz("podinfo", version);
        content.push_chart("charts/podinfo", tag, &archive, &format!("a{version}"));
        archives.insert(version, archive);
    }
    // Non-semver tags point at real charts: only their names make them unusable.
    let latest = chart_tgz("podinfo", "9.0.0");
    content.push_chart("charts/podinfo", "latest", &latest, "latest");
    content.push_chart("charts/podinfo", "v3.0.0", &latest, "v3");
    (content, archives)
}

#[test]
fn exact_version_is_fetched_by_tag() {
    let (content, archives) = podinfo(Access::Open);
    let served = sha256(&content.manifests[&("charts/podinfo".to_string(), "1.1.0".to_string())]);
    let server = Server::start(content);
    let chart = fetch_oci_chart(&server.oci("/charts"), "podinfo", "1.1.0", &insecure()).unwrap();
    assert_eq!(chart.name, "podinfo");
    assert_eq!(chart.version, "1.1.0");
    assert_eq!(chart.app_version.as_deref(), Some("a1.1.0"));
    assert_eq!(chart.bytes, archives["1.1.0"]);
    assert_eq!(chart.digest, sha256(&archives["1.1.0"]));
    assert_eq!(chart.url, server.oci("/charts/podinfo:1.1.0"));
    assert!(!chart.from_cache && !chart.deprecated);
    assert_eq!(chart.path_in_cache, None);
    // The manifest's own digest, which an OCIRepository revision names.
    assert_eq!(chart.manifest_digest.as_deref(), Some(served.as_str()));
    // No tag list for an exact version; the manifest was asked for as an OCI manifest.
    assert_eq!(server.hits("/v2/charts/podinfo/tags/list"), 0);
    let accepts = server.log.lock().unwrap().accepts["/v2/charts/podinfo/manifests/1.1.0"].clone();
    assert!(
        accepts[0].as_deref().unwrap().contains(MANIFEST_MEDIA_TYPE),
        "{accepts:?}"
    );

    // A version with build metadata is tag `_`.
    let chart = fetch_oci_chart(
        &server.oci("/charts/"),
        "podinfo",
        "1.2.0+build.1",
        &insecure(),
    )
    .unwrap();
    assert_eq!(chart.version, "1.2.0+build.1");
    assert_eq!(chart.bytes, archives["1.2.0+build.1"]);
    assert_eq!(chart.url, server.oci("/charts/podinfo:1.2.0_build.1"));

    // The full chart reference, as `helm template oci://host/charts/podinfo --version 1.0.0`.
    let chart = fetch_oci_chart(&server.oci("/charts/podinfo"), "", "1.0.0", &insecure()).unwrap();
    assert_eq!(chart.bytes, archives["1.0.0"]);
    assert_eq!(chart.name, "podinfo");

    // `fetch_chart` hands oci:// URLs over.
    let chart = fetch_chart(&server.oci("/charts"), "podinfo", "1.0.0", &insecure()).unwrap();
    assert_eq!(chart.bytes, archives["1.0.0"]);
    assert_eq!(server.hits("/v2/charts/podinfo/tags/list"), 0);

    // `v1.0.0` is exact to Flux; its tag is missing, the tag list has 1.0.0.
    let chart = fetch_oci_chart(&server.oci("/charts"), "podinfo", "v1.0.0", &insecure()).unwrap();
    assert_eq!(chart.version, "1.0.0");
    assert_eq!(chart.bytes, archives["1.0.0"]);
}

#[test]
fn constraints_resolve_over_the_tags() {
    let (content, archives) = podinfo(Access::Open);
    let server = Server::start(content);
    let repo = server.oci("/charts");
    for (constraint, version) in [
        ("", "1.2.0+build.1"),
        ("*", "1.2.0+build.1"),
        ("^1", "1.2.0+build.1"),
        ("~1.1", "1.1.0"),
        ("<1.1", "1.0.0"),
        ("1.0", "1.0.0"),
        (">=1.0 <1.2", "1.1.0"),
        (">=2.0.0-0", "2.0.0-rc.1"),
    ] {
        let chart = fetch_oci_chart(&repo, "podinfo", constraint, &insecure())
            .unwrap_or_else(|e| panic!("{constraint:?}: {e}"));
        assert_eq!(chart.version, version, "{constraint:?}");
        assert_eq!(chart.bytes, archives[version], "{constraint:?}");
    }
    // `latest` and `v3.0.0` are no Helm versions: never chosen, never listed as nearest.
    assert_eq!(server.hits("/v2/charts/podinfo/manifests/latest"), 0);
    assert_eq!(server.hits("/v2/charts/podinfo/manifests/v3.0.0"), 0);
    let err = fetch_oci_chart(&repo, "podinfo", ">=3", &insecure()).unwrap_err();
    assert!(matches!(err, Error::VersionNotFound { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "chart \"podinfo\" version \">=3\" not found in {repo}; nearest: 1.2.0+build.1, \
             1.1.0, 1.0.0"
        )
    );
    // The prerelease is named when only it would match.
    let err = fetch_oci_chart(&repo, "podinfo", ">1.2.0", &insecure()).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "; prerelease 2.0.0-rc.1 would match, but a constraint only admits prereleases \
             when it has a prerelease part itself (e.g. \">=1.0.0-0\")"
        ),
        "{err}"
    );
    let err = fetch_oci_chart(&repo, "podinfo", "latest", &insecure()).unwrap_err();
    assert_eq!(err.metric_label(), "invalid_constraint");
}

#[test]
fn tag_lists_are_followed_across_pages() {
    let (mut content, archives) = podinfo(Access::Open);
    content.page_size = Some(2);
    let server = Server::start(content);
    // Six tags, two a page: the highest version is on the second page.
    let chart = fetch_oci_chart(&server.oci("/charts"), "podinfo", "", &insecure()).unwrap();
    assert_eq!(chart.version, "1.2.0+build.1");
    assert_eq!(chart.bytes, archives["1.2.0+build.1"]);
    assert_eq!(server.hits("/v2/charts/podinfo/tags/list"), 3);
}

#[test]
fn anonymous_token_flow() {
    let (content, archives) = podinfo(Access::Token { credentials: false });
    let server = Server::start(content);
    let chart = fetch_oci_chart(&server.oci("/charts"), "podinfo", "~1.1", &insecure()).unwrap();
    assert_eq!(chart.bytes, archives["1.1.0"]);
    let log = server.log.lock().unwrap();
    // One token for the whole fetch: asked for on the first 401, then sent every time.
    assert_eq!(
        log.token_queries,
        ["service=fake-registry&scope=repository%3Acharts%2Fpodinfo%3Apull"]
    );
    assert_eq!(
        log.authorizations["/token"],
        [None],
        "anonymous token request"
    );
    assert_eq!(
        log.authorizations["/v2/charts/podinfo/tags/list"],
        [None, Some(format!("Bearer {ANON_TOKEN}"))]
    );
    assert_eq!(
        log.authorizations["/v2/charts/podinfo/manifests/1.1.0"],
        [Some(format!("Bearer {ANON_TOKEN}"))]
    );
}

#[test]
fn token_flow_with_basic_credentials() {
    let (content, archives) = podinfo(Access::Token { credentials: true });
    let server = Server::start(content);
    let repo = server.oci("/charts");
    let chart = fetch_oci_chart(&repo, "podinfo", "1.0.0", &with_auth(USER, PASSWORD)).unwrap();
    assert_eq!(chart.bytes, archives["1.0.0"]);
    assert_eq!(
        server.authorizations("/token"),
        [Some(basic(USER, PASSWORD))]
    );
    // The registry itself never sees the password, only the token.
    for path in [
        "/v2/charts/podinfo/manifests/1.0.0".to_string(),
        format!(
            "/v2/charts/podinfo/blobs/sha256:{}",
            sha256(&archives["1.0.0"])
        ),
    ] {
        let seen = server.authorizations(&path);
        assert!(
            seen.iter()
                .flatten()
                .all(|a| a == &format!("Bearer {USER_TOKEN}")),
            "{path}: {seen:?}"
        );
    }

    // Without credentials, and with wrong ones, the token service refuses.
    let addr = server.addr;
    for options in [insecure(), with_auth(USER, "wrong")] {
        let err = fetch_oci_chart(&repo, "podinfo", "1.0.0", &options).unwrap_err();
        assert!(
            matches!(err, Error::RegistryAuth { status: 401, .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "401 from registry {addr} (token request to http://{addr}/token for fetching \
                 the manifest of oci://{addr}/charts/podinfo:1.0.0): credentials required or \
                 refused"
            )
        );
        assert!(!err.to_string().contains("wrong"));
        assert!(!format!("{err:?}").contains("wrong"));
        assert!(!err.is_transient());
    }
}

#[test]
fn basic_challenge_and_blob_redirects_keep_credentials_home() {
    let (mut content, archives) = podinfo(Access::Basic);
    content.redirect_blobs = true;
    let server = Server::start(content);
    let repo = server.oci("/charts");
    let chart = fetch_oci_chart(&repo, "podinfo", "1.1.0", &with_auth(USER, PASSWORD)).unwrap();
    assert_eq!(chart.bytes, archives["1.1.0"]);
    // Anonymous first, then basic when challenged.
    assert_eq!(
        server.authorizations("/v2/charts/podinfo/manifests/1.1.0"),
        [None, Some(basic(USER, PASSWORD))]
    );
    // The blob redirects to storage on `localhost`, another host name: no credentials there.
    let storage = format!("/storage/sha256:{}", sha256(&archives["1.1.0"]));
    assert_eq!(server.hits(&storage), 1);
    assert_eq!(server.authorizations(&storage), [None]);

    let err = fetch_oci_chart(&repo, "podinfo", "1.1.0", &insecure()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "401 from registry {} (fetching the manifest of {repo}/podinfo:1.1.0): credentials \
             required or refused",
            server.addr
        )
    );
    let err = fetch_oci_chart(&repo, "podinfo", "1.1.0", &with_auth(USER, "nope")).unwrap_err();
    assert!(
        matches!(err, Error::RegistryAuth { status: 401, .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("nope"));
}

#[test]
fn digest_mismatch_is_an_error_and_nothing_is_cached() {
    let mut content = Content::new(Access::Open);
    let archive = chart_tgz("podinfo", "1.0.0");
    content.push_chart("charts/podinfo", "1.0.0", &archive, "1");
    // The registry serves other bytes under the archive's digest.
    let digest = format!("sha256:{}", sha256(&archive));
    let other = chart_tgz("podinfo", "6.6.6");
    content.blobs.insert(digest.clone(), other.clone());
    let server = Server::start(content);
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        cache_dir: Some(dir.path().to_path_buf()),
        ..insecure()
    };
    let err = fetch_oci_chart(&server.oci("/charts"), "podinfo", "1.0.0", &options).unwrap_err();
    assert!(matches!(err, Error::BlobDigestMismatch { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "digest mismatch for http://{}/v2/charts/podinfo/blobs/{digest}: the manifest says \
             {digest} but the downloaded bytes are sha256:{}",
            server.addr,
            sha256(&other)
        )
    );
    assert!(!err.is_transient());
    assert!(!dir.path().join("charts").exists());
}

#[test]
fn artifacts_that_are_not_helm_charts_are_refused() {
    let mut content = Content::new(Access::Open);
    let archive = chart_tgz("podinfo", "1.0.0");
    let image_config = content.add_blob(b"{\"architecture\":\"amd64\"}");
    let layer = content.add_blob(&archive);
    let helm_config = content.add_blob(b"{\"name\":\"podinfo\",\"version\":\"1.0.0\"}");
    content.push_manifest(
        "charts/podinfo",
        "1.0.0",
        manifest_json(
            "application/vnd.oci.image.config.v1+json",
            &image_config,
            "application/vnd.oci.image.layer.v1.tar+gzip",
            &layer,
            archive.len(),
        ),
    );
    content.push_manifest(
        "charts/podinfo",
        "2.0.0",
        manifest_json(
            CONFIG_MEDIA_TYPE,
            &helm_config,
            "application/vnd.cncf.helm.chart.provenance.v1.prov",
            &layer,
            archive.len(),
        ),
    );
    content.push_manifest(
        "charts/podinfo",
        "3.0.0",
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [],
        }))
        .unwrap(),
    );
    // Helm's legacy layer media type is still a chart.
    content.push_manifest(
        "charts/podinfo",
        "4.0.0",
        manifest_json(
            CONFIG_MEDIA_TYPE,
            &helm_config,
            "application/tar+gzip",
            &layer,
            archive.len(),
        ),
    );
    let server = Server::start(content);
    let repo = server.oci("/charts");
    let reference = |tag: &str| format!("{repo}/podinfo:{tag}");
    let cases = [
        (
            "1.0.0",
            format!(
                "{} is not a Helm chart: config media type is \
                 \"application/vnd.oci.image.config.v1+json\", not {CONFIG_MEDIA_TYPE} (a \
                 container image or another kind of artifact?)",
                reference("1.0.0")
            ),
        ),
        (
            "2.0.0",
            format!(
                "{} is not a Helm chart: no layer has media type {CHART_LAYER_MEDIA_TYPE} \
                 (layers: application/vnd.cncf.helm.chart.provenance.v1.prov)",
                reference("2.0.0")
            ),
        ),
        (
            "3.0.0",
            format!(
                "{} is not a Helm chart: it is an image index \
                 (application/vnd.oci.image.index.v1+json), as multi-platform container images \
                 are; a chart is a single manifest",
                reference("3.0.0")
            ),
        ),
    ];
    for (tag, want) in cases {
        let err = fetch_oci_chart(&repo, "podinfo", tag, &insecure()).unwrap_err();
        assert!(matches!(err, Error::NotAHelmChart { .. }), "{tag}: {err}");
        assert_eq!(err.to_string(), want);
    }
    // No blob was downloaded for what is not a chart.
    assert_eq!(server.hits(&format!("/v2/charts/podinfo/blobs/{layer}")), 0);
    let chart = fetch_oci_chart(&repo, "podinfo", "4.0.0", &insecure()).unwrap();
    assert_eq!(chart.bytes, archive);
    assert_eq!(chart.app_version, None);
}

#[test]
fn second_fetch_is_served_from_the_cache() {
    let (content, archives) = podinfo(Access::Token { credentials: false });
    let server = Server::start(content);
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        cache_dir: Some(dir.path().to_path_buf()),
        ..insecure()
    };
    let repo = server.oci("/charts");
    let archive = &archives["1.2.0+build.1"];
    let blob = format!("/v2/charts/podinfo/blobs/sha256:{}", sha256(archive));

    let first = fetch_oci_chart(&repo, "podinfo", "^1", &options).unwrap();
    assert!(!first.from_cache);
    let path = first.path_in_cache.clone().unwrap();
    assert_eq!(
        path,
        dir.path().join("charts").join(format!(
            "podinfo-1.2.0+build.1-{}.tgz",
            &sha256(archive)[..12]
        ))
    );
    assert_eq!(std::fs::read(&path).unwrap(), *archive);

    let second = fetch_oci_chart(&repo, "podinfo", "^1", &options).unwrap();
    assert!(second.from_cache);
    assert_eq!(second.bytes, *archive);
    assert_eq!(second.path_in_cache, Some(path.clone()));
    assert_eq!(second.app_version.as_deref(), Some("a1.2.0+build.1"));
    // The blob was fetched once (a 401 and then the download); resolution went out twice.
    assert_eq!(server.hits(&blob), 1);
    assert_eq!(server.hits("/v2/charts/podinfo/manifests/1.2.0_build.1"), 2);

    // A corrupt cache file is replaced by a fresh download.
    std::fs::write(&path, b"corrupt").unwrap();
    let third = fetch_oci_chart(&repo, "podinfo", "^1", &options).unwrap();
    assert!(!third.from_cache);
    assert_eq!(third.bytes, *archive);
    assert_eq!(server.hits(&blob), 2);
}

#[test]
fn unknown_versions_and_charts_are_not_found() {
    let (content, _) = podinfo(Access::Open);
    let server = Server::start(content);
    let repo = server.oci("/charts");
    let err = fetch_oci_chart(&repo, "podinfo", "9.9.9", &insecure()).unwrap_err();
    assert!(matches!(err, Error::VersionNotFound { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "chart \"podinfo\" version \"9.9.9\" not found in {repo}; nearest: 1.2.0+build.1, \
             1.1.0, 1.0.0"
        )
    );
    assert!(!err.is_transient());
    let err = fetch_oci_chart(&repo, "podinf", "1.0.0", &insecure()).unwrap_err();
    assert!(matches!(err, Error::ChartNotFound { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("chart \"podinf\" not found in {repo}")
    );
    let err = fetch_oci_chart(&repo, "podinf", "", &insecure()).unwrap_err();
    assert!(matches!(err, Error::ChartNotFound { .. }), "{err}");
}

#[test]
fn https_is_required_unless_insecure_http_is_set() {
    let (content, archives) = podinfo(Access::Open);
    let server = Server::start(content);
    let repo = server.oci("/charts");
    let err = fetch_oci_chart(&repo, "podinfo", "1.0.0", &Options::default()).unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "GET https://{}/v2/charts/podinfo/manifests/1.0.0: ",
            server.addr
        )),
        "{text}"
    );
    assert!(text.contains("insecure_http"), "{text}");
    let chart = fetch_oci_chart(&repo, "podinfo", "1.0.0", &insecure()).unwrap();
    assert_eq!(chart.bytes, archives["1.0.0"]);
}

/// A CA (PEM) and a server config with a certificate it signed for 127.0.0.1.
fn test_pki() -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (ca_cert.pem(), Arc::new(config))
}

#[test]
fn https_registries_and_plain_http_token_services() {
    let (ca_pem, tls) = test_pki();
    let (content, archives) = podinfo(Access::Open);
    let server = Server::start_with(content, Some(tls.clone()));
    let options = Options {
        ca_pem: Some(ca_pem.clone().into_bytes()),
        ..Options::default()
    };
    let chart = fetch_oci_chart(&server.oci("/charts"), "podinfo", "~1.0", &options).unwrap();
    assert_eq!(chart.bytes, archives["1.0.0"]);

    // An HTTPS registry whose token service is plain HTTP gets no credentials.
    let (content, _) = podinfo(Access::Token { credentials: true });
    let server = Server::start_with(content, Some(tls));
    let options = Options {
        ca_pem: Some(ca_pem.into_bytes()),
        auth: Some(Auth::Basic {
            username: USER.into(),
            password: PASSWORD.into(),
        }),
        ..Options::default()
    };
    let err = fetch_oci_chart(&server.oci("/charts"), "podinfo", "1.0.0", &options).unwrap_err();
    assert!(matches!(err, Error::Registry { .. }), "{err}");
    let addr = server.addr;
    assert_eq!(
        err.to_string(),
        format!(
            "registry {addr} (token request to http://{addr}/token for fetching the manifest of \
             oci://{addr}/charts/podinfo:1.0.0): the token service \"http://{addr}/token\" is \
             not an https URL (plain HTTP only with insecure_http)"
        )
    );
    assert_eq!(server.hits("/token"), 0);
}
