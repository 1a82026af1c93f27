//! The server over real TLS: certificates from `certs`, rotation (in place and by the symlink
//! swap of Secret volumes), bad certificates at start-up, garbage bodies, graceful shutdown.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_policy::PolicySet;
use helmrelease_webhook::metrics::Metrics;
use helmrelease_webhook::router::{AppState, admission};
use helmrelease_webhook::server::{Limits, serve_tls};
use helmrelease_webhook::state::OfflineDecider;
use helmrelease_webhook::tls::ReloadingResolver;
use helmrelease_webhook::{certs, tls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const NAME: &str = "helmrelease-webhook.helmrelease-system.svc";

fn state() -> AppState {
    AppState {
        decider: Arc::new(OfflineDecider::new(PolicySet::builtin())),
        metrics: Metrics::new(),
        ready: Arc::new(AtomicBool::new(true)),
    }
}

struct Server {
    addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(cert: &Path, key: &Path) -> Server {
    let resolver = Arc::new(ReloadingResolver::new(cert, key).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let limits = Limits {
        shutdown_grace: Duration::from_secs(5),
        ..Limits::default()
    };
    let task = tokio::spawn(async move {
        serve_tls(listener, resolver, admission(state()), limits, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Server { addr, stop, task }
}

/// A TLS client trusting the CA in `ca`.
fn connector(ca: &Path) -> tokio_rustls::TlsConnector {
    tokio_rustls::TlsConnector::from(Arc::new(client_config(ca)))
}

fn client_config(ca: &Path) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// One HTTP/1.1 request over a new TLS connection trusting `ca`; returns the status, the body
/// and the certificate the server presented.
async fn request(
    addr: std::net::SocketAddr,
    ca: &Path,
    body: &[u8],
    content_type: &str,
) -> (u16, String, Vec<u8>) {
    let connector = connector(ca);
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut stream = connector
        .connect(ServerName::try_from(NAME).unwrap(), tcp)
        .await
        .unwrap();
    let presented = stream.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    let head = format!(
        "POST /validate HTTP/1.1\r\nhost: {NAME}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body, presented)
}

fn review(version: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u1", "kind": {"group": "helm.toolkit.fluxcd.io", "version": "v2", "kind": "HelmRelease"},
            "operation": "CREATE", "namespace": "apps", "userInfo": {},
            "object": {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": "podinfo", "namespace": "apps"},
                "spec": {"interval": "5m", "chart": {"spec": {"chart": "podinfo", "version": version,
                    "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}},
                    "install": {"remediation": {"retries": 3}}, "upgrade": {"cleanupOnFail": true, "remediation": {"retries": 3}}}}}
    }))
    .unwrap()
}

fn der(path: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(path).unwrap().to_vec()
}

#[tokio::test]
async fn serves_decisions_over_tls_and_survives_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let w = certs::generate(&[NAME.to_string()], dir.path(), 30).unwrap();
    let server = start(&w.cert, &w.key).await;

    let (status, body, _) =
        request(server.addr, &w.ca_cert, &review("^20"), "application/json").await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#""allowed":false"#) && body.contains("pinned-version"),
        "{body}"
    );
    let (status, body, _) = request(
        server.addr,
        &w.ca_cert,
        &review("20.11.4"),
        "application/json",
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""allowed":true"#), "{body}");
    let (status, _, _) = request(
        server.addr,
        &w.ca_cert,
        b"\x00\xffgarbage",
        "application/json",
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, _) = request(server.addr, &w.ca_cert, &review("1.2.3"), "text/xml").await;
    assert_eq!(status, 415);
    // A raw non-TLS client does not take the server down either.
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    drop(raw);
    let (status, _, _) = request(
        server.addr,
        &w.ca_cert,
        &review("1.2.3"),
        "application/json",
    )
    .await;
    assert_eq!(status, 200, "still serving");

    let _ = server.stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server.task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn rotated_certificates_are_served_on_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let first = certs::generate(&[NAME.to_string()], dir.path(), 30).unwrap();
    let first_der = der(&first.cert);
    let server = start(&first.cert, &first.key).await;
    let (_, _, presented) = request(
        server.addr,
        &first.ca_cert,
        &review("1.2.3"),
        "application/json",
    )
    .await;
    assert_eq!(presented, first_der);

    // In place: new files written over the old ones (a new CA too).
    let second = certs::generate(&[NAME.to_string()], dir.path(), 30).unwrap();
    let second_der = der(&second.cert);
    assert_ne!(first_der, second_der);
    let (_, _, presented) = request(
        server.addr,
        &second.ca_cert,
        &review("1.2.3"),
        "application/json",
    )
    .await;
    assert_eq!(presented, second_der);
    let _ = server.stop.send(());
}

#[tokio::test]
async fn secret_volume_symlink_swaps_are_picked_up() {
    // Kubernetes Secret volumes: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/, and an
    // update swaps ..data atomically.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let v1 = certs::generate(&[NAME.to_string()], &root.join("..2026_01"), 30).unwrap();
    std::os::unix::fs::symlink("..2026_01", root.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/tls.crt", root.join("tls.crt")).unwrap();
    std::os::unix::fs::symlink("..data/tls.key", root.join("tls.key")).unwrap();
    let server = start(&root.join("tls.crt"), &root.join("tls.key")).await;
    let (_, _, presented) = request(
        server.addr,
        &v1.ca_cert,
        &review("1.2.3"),
        "application/json",
    )
    .await;
    assert_eq!(presented, der(&v1.cert));

    let v2 = certs::generate(&[NAME.to_string()], &root.join("..2026_02"), 30).unwrap();
    std::os::unix::fs::symlink("..2026_02", root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    let (_, _, presented) = request(
        server.addr,
        &v2.ca_cert,
        &review("1.2.3"),
        "application/json",
    )
    .await;
    assert_eq!(presented, der(&v2.cert));
    let _ = server.stop.send(());
}

#[tokio::test]
async fn a_half_written_rotation_keeps_the_previous_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let w = certs::generate(&[NAME.to_string()], dir.path(), 30).unwrap();
    let original = der(&w.cert);
    let server = start(&w.cert, &w.key).await;
    std::fs::write(&w.cert, b"-----BEGIN CERTIFICATE-----\ntruncated").unwrap();
    let (status, _, presented) = request(
        server.addr,
        &w.ca_cert,
        &review("1.2.3"),
        "application/json",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(presented, original);
    let _ = server.stop.send(());
}

#[test]
fn bad_certificates_fail_at_start_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let w = certs::generate(&[NAME.to_string()], dir.path(), 30).unwrap();
    let other = certs::generate(&[NAME.to_string()], &dir.path().join("other"), 30).unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a pem").unwrap();
    let missing = dir.path().join("missing.pem");
    let cases = [
        (missing.as_path(), w.key.as_path(), "--tls-cert-file"),
        (garbage.as_path(), w.key.as_path(), "--tls-cert-file"),
        (w.cert.as_path(), garbage.as_path(), "--tls-key-file"),
        (w.cert.as_path(), missing.as_path(), "--tls-key-file"),
        (
            w.cert.as_path(),
            other.key.as_path(),
            "the key does not belong to the certificate",
        ),
    ];
    for (cert, key, want) in cases {
        let err = ReloadingResolver::new(cert, key).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let dir = tempfile::tempdir().unwrap();
    let w = certs::generate(&[NAME.to_string()], dir.path(), 30).unwrap();
    let server = start(&w.cert, &w.key).await;

    let connector = connector(&w.ca_cert);
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let mut stream = connector
        .connect(ServerName::try_from(NAME).unwrap(), tcp)
        .await
        .unwrap();
    let body = review("1.2.3");
    let (first, rest) = body.split_at(body.len() / 2);
    let head = format!(
        "POST /validate HTTP/1.1\r\nhost: {NAME}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Shut down while the request is half sent; it must still be answered.
    let _ = server.stop.send(());
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream.write_all(rest).await.unwrap();
    stream.flush().await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#""allowed":true"#), "{text}");
    tokio::time::timeout(Duration::from_secs(10), server.task)
        .await
        .unwrap()
        .unwrap();
    // New connections are refused once the server has stopped.
    assert!(TcpStream::connect(server.addr).await.is_err());
}

/// Asserts that `body` is the `metav1.Status` of a 413.
fn assert_too_large_status(body: &[u8]) {
    let status: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)));
    assert_eq!(status["kind"], "Status", "{status}");
    assert_eq!(status["apiVersion"], "v1", "{status}");
    assert_eq!(status["status"], "Failure", "{status}");
    assert_eq!(status["reason"], "RequestEntityTooLarge", "{status}");
    assert_eq!(status["code"], 413, "{status}");
}

#[tokio::test]
async fn oversized_reviews_get_413_with_a_status_over_http1() {
    let dir = tempfile::tempdir().unwrap();
    let w = certs::generate(&[NAME.to_string()], dir.path(), 30).unwrap();
    let server = start(&w.cert, &w.key).await;
    let (status, body, _) = request(
        server.addr,
        &w.ca_cert,
        &vec![b' '; 4 << 20],
        "application/json",
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_too_large_status(body.as_bytes());
    let _ = server.stop.send(());
}

/// Over HTTP/2 an oversized review is answered with the 413 too, not a reset of the stream
/// while the client is still sending (curl: "(92) Stream error in the HTTP/2 framing layer").
/// With and without content-length, twice on one connection.
#[tokio::test]
async fn oversized_reviews_get_413_with_a_status_over_http2() {
    use http_body_util::{BodyExt, StreamBody};
    use hyper::body::{Bytes, Frame};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    const CHUNK: usize = 64 << 10;
    let dir = tempfile::tempdir().unwrap();
    let w = certs::generate(&[NAME.to_string()], dir.path(), 30).unwrap();
    let server = start(&w.cert, &w.key).await;
    let mut config = client_config(&w.ca_cert);
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from(NAME).unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(connection);

    for declared in [true, false] {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        let body = StreamBody::new(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            let chunk = rx.recv().await?;
            Some((Ok::<_, std::convert::Infallible>(Frame::data(chunk)), rx))
        })));
        let mut builder = hyper::Request::post(format!("https://{NAME}/validate"))
            .header("content-type", "application/json");
        if declared {
            builder = builder.header("content-length", 4 << 20);
        }
        let response = tokio::spawn(sender.send_request(builder.body(body).unwrap()));
        let chunk = Bytes::from(vec![b' '; CHUNK]);
        for i in 0..(4 << 20) / CHUNK {
            if i == helmrelease_webhook::router::MAX_BODY_BYTES / CHUNK + 1 {
                // Past the limit: give the server time to answer (and, before the fix,
                // to reset the stream, which drops the body and so this channel).
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            assert!(
                tx.send(chunk.clone()).await.is_ok(),
                "declared={declared}: the stream was reset after {i} chunks of {CHUNK} bytes"
            );
        }
        drop(tx);
        let response = tokio::time::timeout(Duration::from_secs(10), response)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(response.status(), 413, "declared={declared}");
        assert_eq!(response.version(), hyper::Version::HTTP_2);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_too_large_status(&body);
    }
    let _ = server.stop.send(());
}
