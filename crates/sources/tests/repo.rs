//! `fetch_chart` against a chart repository served over HTTP by a tiny in-test server
//! (tokio + hyper on 127.0.0.1:0) that counts the requests it receives.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use helmrelease_sources::{Auth, Error, Options, fetch_chart, fetch_index};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

/// What the server answers for a path.
#[derive(Clone)]
enum Route {
    /// 200 with this body, and an ETag (answering `If-None-Match` with 304).
    Body(Vec<u8>),
    /// 302 to this location.
    Redirect(String),
    /// 401 unless the basic credentials match, then the body.
    Private {
        user: &'static str,
        password: &'static str,
        body: Vec<u8>,
    },
    /// Waits this long before answering 200.
    Slow(Duration),
    /// 200 with the body gzip-compressed and `Content-Encoding: gzip`, when the client
    /// accepts gzip (as a web server with compression on does); 406 otherwise.
    Gzipped(Vec<u8>),
}

mod common;

use common::sha256;

struct Server {
    addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    not_modified: Arc<Mutex<usize>>,
    _listener: common::Listener,
}

impl Server {
    fn start(routes: HashMap<String, Route>) -> Server {
        Server::start_with(routes, None)
    }

    /// With `tls`, the server speaks HTTPS.
    fn start_with(
        routes: HashMap<String, Route>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Server {
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let not_modified = Arc::new(Mutex::new(0));
        let routes = Arc::new(routes);
        let (h, n) = (hits.clone(), not_modified.clone());
        let listener = common::Listener::start(tls, move |_| {
            move |req| handle(req, routes.clone(), h.clone(), n.clone())
        });
        Server {
            addr: listener.addr,
            hits,
            not_modified,
            _listener: listener,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn not_modified(&self) -> usize {
        *self.not_modified.lock().unwrap()
    }
}

async fn handle(
    req: Request<Incoming>,
    routes: Arc<HashMap<String, Route>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    not_modified: Arc<Mutex<usize>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let reply = |status: StatusCode, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    let Some(route) = routes.get(&path) else {
        return Ok(reply(StatusCode::NOT_FOUND, b"not found".to_vec()));
    };
    Ok(match route {
        Route::Body(body) => {
            let etag = format!("\"{}\"", body.len());
            if req
                .headers()
                .get("if-none-match")
                .is_some_and(|v| v.as_bytes() == etag.as_bytes())
            {
                *not_modified.lock().unwrap() += 1;
                reply(StatusCode::NOT_MODIFIED, Vec::new())
            } else {
                let mut response = reply(StatusCode::OK, body.clone());
                response.headers_mut().insert("etag", etag.parse().unwrap());
                response
            }
        }
        Route::Redirect(location) => {
            let mut response = reply(StatusCode::FOUND, Vec::new());
            response
                .headers_mut()
                .insert("location", location.parse().unwrap());
            response
        }
        Route::Private {
            user,
            password,
            body,
        } => {
            let want = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            );
            if req
                .headers()
                .get("authorization")
                .is_some_and(|v| v.as_bytes() == want.as_bytes())
            {
                reply(StatusCode::OK, body.clone())
            } else {
                reply(StatusCode::UNAUTHORIZED, b"who are you?".to_vec())
            }
        }
        Route::Gzipped(body) => {
            let accepts = req
                .headers()
                .get("accept-encoding")
                .is_some_and(|v| v.to_str().unwrap().contains("gzip"));
            if accepts {
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                std::io::Write::write_all(&mut gz, body).unwrap();
                let mut response = reply(StatusCode::OK, gz.finish().unwrap());
                response
                    .headers_mut()
                    .insert("content-encoding", "gzip".parse().unwrap());
                response
            } else {
                reply(StatusCode::NOT_ACCEPTABLE, Vec::new())
            }
        }
        Route::Slow(delay) => {
            tokio::time::sleep(*delay).await;
            reply(StatusCode::OK, b"late".to_vec())
        }
    })
}

/// The common chart archive, with this test's `appVersion`.
fn chart_tgz(name: &str, version: &str) -> Vec<u8> {
    common::chart_tgz(name, version, version)
}

/// An index with podinfo 1.0.0 and 1.1.0 (and a prerelease whose archive does not exist).
/// `prefix` is put in front of the relative chart URLs; `digests` overrides the digests.
fn index_yaml(prefix: &str, v100: &[u8], v110_digest: &str) -> Vec<u8> {
    format!(
        "apiVersion: v1
entries:
  podinfo:
  - name: podinfo
    version: 2.0.0-rc.1
    urls: [{prefix}podinfo-2.0.0-rc.1.tgz]
  - name: podinfo
    version: 1.1.0
    appVersion: 1.1.0
    digest: {v110_digest}
    created: 2024-02-01T00:00:00Z
    urls: [{prefix}podinfo-1.1.0.tgz]
  - name: podinfo
    version: 1.0.0
    appVersion: 1.0.0
    digest: {}
    urls: [{prefix}podinfo-1.0.0.tgz]
generated: 2024-02-01T00:00:00Z
",
        sha256(v100)
    )
    .into_bytes()
}

struct Fixture {
    server: Server,
    v100: Vec<u8>,
    v110: Vec<u8>,
}

fn fixture() -> Fixture {
    let v100 = chart_tgz("podinfo", "1.0.0");
    let v110 = chart_tgz("podinfo", "1.1.0");
    let good = index_yaml("charts/", &v100, &sha256(&v110));
    let bad = index_yaml("../charts/", &v100, &sha256(b"something else"));
    let private = index_yaml("charts/", &v100, &sha256(&v110));
    let mut routes = HashMap::new();
    let mut add = |path: &str, route: Route| {
        routes.insert(path.to_string(), route);
    };
    add("/index.yaml", Route::Body(good));
    add("/charts/podinfo-1.0.0.tgz", Route::Body(v100.clone()));
    add("/charts/podinfo-1.1.0.tgz", Route::Body(v110.clone()));
    add("/bad/index.yaml", Route::Body(bad));
    add("/moved/index.yaml", Route::Redirect("/index.yaml".into()));
    add(
        "/moved/charts/podinfo-1.1.0.tgz",
        Route::Redirect("../../charts/podinfo-1.1.0.tgz".into()),
    );
    add(
        "/loop/index.yaml",
        Route::Redirect("/loop/index.yaml".into()),
    );
    for (path, body) in [
        ("/private/index.yaml", private),
        ("/private/charts/podinfo-1.0.0.tgz", v100.clone()),
        ("/private/charts/podinfo-1.1.0.tgz", v110.clone()),
    ] {
        add(
            path,
            Route::Private {
                user: "reader",
                password: "s3cret",
                body,
            },
        );
    }
    add("/slow/index.yaml", Route::Slow(Duration::from_secs(5)));
    add(
        "/gzip/index.yaml",
        Route::Gzipped(index_yaml("../charts/", &v100, &sha256(&v110))),
    );
    Fixture {
        server: Server::start(routes),
        v100,
        v110,
    }
}

fn cache_options(dir: &tempfile::TempDir) -> Options {
    Options {
        cache_dir: Some(dir.path().to_path_buf()),
        ..Options::default()
    }
}

#[test]
fn latest_stable_version_is_fetched_and_verified() {
    let f = fixture();
    let chart = fetch_chart(&f.server.url("/"), "podinfo", "", &Options::default()).unwrap();
    assert_eq!(chart.version, "1.1.0");
    assert_eq!(chart.app_version.as_deref(), Some("1.1.0"));
    assert_eq!(chart.bytes, f.v110);
    assert_eq!(chart.digest, sha256(&f.v110));
    assert_eq!(chart.url, f.server.url("/charts/podinfo-1.1.0.tgz"));
    assert!(!chart.from_cache);
    assert_eq!(chart.path_in_cache, None);
    // The prerelease is listed first in the index, but not chosen.
    assert_eq!(f.server.hits("/charts/podinfo-2.0.0-rc.1.tgz"), 0);
}

#[test]
fn constraints_resolve_to_the_highest_match() {
    let f = fixture();
    let repo = f.server.url("");
    for (constraint, version) in [
        ("~1.0", "1.0.0"),
        ("1.0.0", "1.0.0"),
        ("<1.1", "1.0.0"),
        ("^1", "1.1.0"),
        (">=1.0 <2.0", "1.1.0"),
        ("1.0.0 - 1.0.9 || 1.1.x", "1.1.0"),
    ] {
        let chart = fetch_chart(&repo, "podinfo", constraint, &Options::default())
            .unwrap_or_else(|e| panic!("{constraint:?}: {e}"));
        assert_eq!(chart.version, version, "{constraint:?}");
        let want = if version == "1.0.0" { &f.v100 } else { &f.v110 };
        assert_eq!(&chart.bytes, want, "{constraint:?}");
    }
    // A prerelease constraint reaches the prerelease, whose archive the server lacks.
    let err = fetch_chart(&repo, "podinfo", ">=2.0.0-0", &Options::default()).unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "GET {}: HTTP 404 Not Found",
            f.server.url("/charts/podinfo-2.0.0-rc.1.tgz")
        )
    );
}

#[test]
fn digest_mismatch_names_both_digests() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let err = fetch_chart(
        &f.server.url("/bad"),
        "podinfo",
        "1.1.0",
        &cache_options(&dir),
    )
    .unwrap_err();
    let expected = sha256(b"something else");
    let actual = sha256(&f.v110);
    assert_eq!(
        err.to_string(),
        format!(
            "digest mismatch for {}: the index says sha256:{expected} but the downloaded chart \
             is sha256:{actual}",
            f.server.url("/charts/podinfo-1.1.0.tgz")
        )
    );
    assert!(!err.is_transient());
    // Nothing was cached.
    assert!(!dir.path().join("charts").exists());
    // The other version's digest is right (and `../charts/` resolved against `/bad/`).
    let chart = fetch_chart(
        &f.server.url("/bad"),
        "podinfo",
        "1.0.0",
        &Options::default(),
    )
    .unwrap();
    assert_eq!(chart.bytes, f.v100);
}

#[test]
fn not_found_lists_available_versions() {
    let f = fixture();
    let repo = f.server.url("/");
    let err = fetch_chart(&repo, "podinfo", "9.9.9", &Options::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("chart \"podinfo\" version \"9.9.9\" not found in {repo}; nearest: 1.1.0, 1.0.0")
    );
    let err = fetch_chart(&repo, "podinfo", ">1.1.0", &Options::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "chart \"podinfo\" version \">1.1.0\" not found in {repo}; nearest: 1.1.0, 1.0.0; \
             prerelease 2.0.0-rc.1 would match, but a constraint only admits prereleases when it \
             has a prerelease part itself (e.g. \">=1.0.0-0\")"
        )
    );
    let err = fetch_chart(&repo, "podinf", "", &Options::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("chart \"podinf\" not found in {repo}; charts with similar names: podinfo")
    );
    // Only the index was requested.
    assert_eq!(f.server.hits("/charts/podinfo-1.1.0.tgz"), 0);
}

#[test]
fn second_fetch_is_served_from_the_cache() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let options = cache_options(&dir);
    let repo = f.server.url("/");
    let first = fetch_chart(&repo, "podinfo", "1.1.0", &options).unwrap();
    assert!(!first.from_cache);
    let path = first.path_in_cache.clone().unwrap();
    assert_eq!(
        path,
        dir.path()
            .join("charts")
            .join(format!("podinfo-1.1.0-{}.tgz", &sha256(&f.v110)[..12]))
    );
    assert_eq!(std::fs::read(&path).unwrap(), f.v110);

    let second = fetch_chart(&repo, "podinfo", "1.1.0", &options).unwrap();
    assert!(second.from_cache);
    assert_eq!(second.bytes, f.v110);
    assert_eq!(second.path_in_cache, Some(path));
    assert_eq!(
        f.server.hits("/charts/podinfo-1.1.0.tgz"),
        1,
        "chart downloaded once"
    );
    // The index is always asked for; the second time conditionally, answered 304.
    assert_eq!(f.server.hits("/index.yaml"), 2);
    assert_eq!(f.server.not_modified(), 1);

    // A corrupt cache file is replaced by a fresh download.
    std::fs::write(second.path_in_cache.as_ref().unwrap(), b"corrupt").unwrap();
    let third = fetch_chart(&repo, "podinfo", "1.1.0", &options).unwrap();
    assert!(!third.from_cache);
    assert_eq!(third.bytes, f.v110);
    assert_eq!(f.server.hits("/charts/podinfo-1.1.0.tgz"), 2);
}

#[test]
fn basic_auth_is_required_and_sent() {
    let f = fixture();
    let repo = f.server.url("/private");
    let err = fetch_chart(&repo, "podinfo", "", &Options::default()).unwrap_err();
    assert!(matches!(err, Error::Status { status: 401, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "GET {}: HTTP 401 Unauthorized (credentials missing or rejected)",
            f.server.url("/private/index.yaml")
        )
    );
    let wrong = Options {
        auth: Some(Auth::Basic {
            username: "reader".into(),
            password: "wrong".into(),
        }),
        ..Options::default()
    };
    assert!(matches!(
        fetch_chart(&repo, "podinfo", "", &wrong),
        Err(Error::Status { status: 401, .. })
    ));
    let right = Options {
        auth: Some(Auth::Basic {
            username: "reader".into(),
            password: "s3cret".into(),
        }),
        ..Options::default()
    };
    let chart = fetch_chart(&repo, "podinfo", "", &right).unwrap();
    assert_eq!(chart.bytes, f.v110);
    // Credentials in the URL work too, and never show in the result.
    let with_userinfo = format!("http://reader:s3cret@{}/private", f.server.addr);
    let chart = fetch_chart(&with_userinfo, "podinfo", "1.0.0", &Options::default()).unwrap();
    assert_eq!(chart.bytes, f.v100);
    assert!(!chart.url.contains("s3cret"), "{}", chart.url);
}

#[test]
fn redirects_are_followed() {
    let f = fixture();
    // /moved/index.yaml -> /index.yaml; the chart URL resolves against /moved/ and redirects
    // again to /charts/.
    let chart = fetch_chart(
        &f.server.url("/moved"),
        "podinfo",
        "1.1.0",
        &Options::default(),
    )
    .unwrap();
    assert_eq!(chart.bytes, f.v110);
    assert_eq!(f.server.hits("/moved/index.yaml"), 1);
    assert_eq!(f.server.hits("/index.yaml"), 1);
    assert_eq!(f.server.hits("/moved/charts/podinfo-1.1.0.tgz"), 1);
    assert_eq!(f.server.hits("/charts/podinfo-1.1.0.tgz"), 1);

    let err = fetch_chart(&f.server.url("/loop"), "podinfo", "", &Options::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "GET {}: stopped after 10 redirects",
            f.server.url("/loop/index.yaml")
        )
    );
    assert_eq!(f.server.hits("/loop/index.yaml"), 11);
}

#[test]
fn timeouts_and_size_caps() {
    let f = fixture();
    let options = Options {
        timeout: Duration::from_millis(300),
        ..Options::default()
    };
    let err = fetch_chart(&f.server.url("/slow"), "podinfo", "", &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "GET {}: timed out after 300ms",
            f.server.url("/slow/index.yaml")
        )
    );
    assert!(err.is_transient());

    let small = Options {
        max_chart_bytes: 100,
        ..Options::default()
    };
    let err = fetch_chart(&f.server.url("/"), "podinfo", "", &small).unwrap_err();
    assert!(matches!(err, Error::TooLarge { limit: 100, .. }), "{err}");
    let tiny_index = Options {
        max_index_bytes: 10,
        ..Options::default()
    };
    let err = fetch_index(&f.server.url("/"), &tiny_index).unwrap_err();
    assert!(matches!(err, Error::TooLarge { limit: 10, .. }), "{err}");
}

#[test]
fn gzip_encoded_responses_are_inflated() {
    let f = fixture();
    let chart = fetch_chart(&f.server.url("/gzip/"), "podinfo", "", &Options::default()).unwrap();
    assert_eq!(chart.bytes, f.v110);
    // The cap applies to the inflated size (the compressed body is well below it).
    let inflated = index_yaml("../charts/", &f.v100, &sha256(&f.v110)).len() as u64;
    let exact = Options {
        max_index_bytes: inflated,
        ..Options::default()
    };
    assert!(fetch_index(&f.server.url("/gzip/"), &exact).is_ok());
    let small = Options {
        max_index_bytes: inflated - 1,
        ..Options::default()
    };
    let err = fetch_index(&f.server.url("/gzip/"), &small).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
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
fn https_with_an_extra_ca() {
    let v100 = chart_tgz("podinfo", "1.0.0");
    let v110 = chart_tgz("podinfo", "1.1.0");
    let (ca_pem, tls) = test_pki();
    let routes = HashMap::from([
        (
            "/index.yaml".to_string(),
            Route::Body(index_yaml("charts/", &v100, &sha256(&v110))),
        ),
        (
            "/charts/podinfo-1.1.0.tgz".to_string(),
            Route::Body(v110.clone()),
        ),
    ]);
    let server = Server::start_with(routes, Some(tls));
    let repo = server.https_url("/");
    // The system store does not know the test CA.
    let err = fetch_chart(&repo, "podinfo", "", &Options::default()).unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
    let options = Options {
        ca_pem: Some(ca_pem.into_bytes()),
        ..Options::default()
    };
    let chart = fetch_chart(&repo, "podinfo", "", &options).unwrap();
    assert_eq!(chart.bytes, v110);
    assert_eq!(chart.url, server.https_url("/charts/podinfo-1.1.0.tgz"));
}

#[test]
fn connection_errors_are_transient() {
    // Bind and drop a listener to get a port that refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = fetch_chart(
        &format!("http://127.0.0.1:{port}/"),
        "podinfo",
        "",
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    assert!(err.is_transient());
    assert!(err.to_string().contains("onnection refused"), "{err}");
}

#[test]
fn file_repositories_work() {
    let dir = tempfile::tempdir().unwrap();
    let v100 = chart_tgz("podinfo", "1.0.0");
    let v110 = chart_tgz("podinfo", "1.1.0");
    std::fs::create_dir(dir.path().join("charts")).unwrap();
    std::fs::write(dir.path().join("charts/podinfo-1.0.0.tgz"), &v100).unwrap();
    std::fs::write(dir.path().join("charts/podinfo-1.1.0.tgz"), &v110).unwrap();
    std::fs::write(
        dir.path().join("index.yaml"),
        index_yaml("charts/", &v100, &sha256(&v110)),
    )
    .unwrap();
    let repo = format!("file://{}", dir.path().display());
    let chart = fetch_chart(&repo, "podinfo", "~1.0", &Options::default()).unwrap();
    assert_eq!(chart.bytes, v100);
}

#[test]
fn oci_registries_have_no_index() {
    // `fetch_chart` hands oci:// to `oci::fetch_oci_chart` (tests/oci.rs); an index there is
    // refused before any I/O.
    let err = fetch_index("oci://ghcr.io/stefanprodan/charts", &Options::default()).unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)));
    assert!(
        err.to_string()
            .starts_with("OCI registries have no repository index"),
        "{err}"
    );
}

#[test]
fn works_from_inside_an_async_runtime() {
    let f = fixture();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = f.server.url("/");
    let chart = runtime.block_on(async { fetch_chart(&url, "podinfo", "", &Options::default()) });
    assert_eq!(chart.unwrap().version, "1.1.0");
}
