//! The real binary: certificates from its own `certs` command, `serve --offline`, a curl'd
//! AdmissionReview over TLS, garbage, readiness, and SIGTERM.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_helmrelease-webhook");

fn fixture(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

struct Running {
    child: Child,
    addr: String,
    admin: String,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field(line: &str, key: &str) -> Option<String> {
    line.split_whitespace()
        .find_map(|t| t.strip_prefix(key))
        .map(String::from)
}

fn serve(dir: &Path, extra: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--offline",
            "--addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
            "--shutdown-grace-seconds",
            "5",
        ])
        .arg("--tls-cert-file")
        .arg(dir.join("tls.crt"))
        .arg("--tls-key-file")
        .arg(dir.join("tls.key"))
        .args(extra)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    // Owns the child from here on, so a failed start never leaves a server running.
    let mut running = Running {
        child,
        addr: String::new(),
        admin: String::new(),
        log: Default::default(),
    };
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let (Some(addr), Some(admin)) = (field(&line, "addr="), field(&line, "admin=")) {
            running.addr = addr;
            running.admin = admin;
            // Keep draining stderr so the child never blocks on a full pipe.
            let log = running.log.clone();
            std::thread::spawn(move || {
                for line in lines.by_ref().map_while(Result::ok) {
                    log.lock().unwrap().push(line);
                }
            });
            return running;
        }
        seen.push(line);
    }
    panic!("the webhook did not start: {seen:?}");
}

fn curl(
    addr: &str,
    ca: &Path,
    path: &str,
    body_file: &str,
    content_type: &str,
) -> (String, String) {
    curl_with(addr, ca, path, body_file, content_type, &[])
}

/// [`curl`] with extra arguments; the code is "000" and the body curl's error when there is
/// no HTTP answer.
fn curl_with(
    addr: &str,
    ca: &Path,
    path: &str,
    body_file: &str,
    content_type: &str,
    extra: &[&str],
) -> (String, String) {
    let port = addr.rsplit(':').next().unwrap();
    let out = Command::new("curl")
        .args(extra)
        .args([
            "-sS",
            "--max-time",
            "10",
            "-w",
            "\n%{http_code}",
            "--cacert",
        ])
        .arg(ca)
        .args([
            "--resolve",
            &format!("localhost:{port}:127.0.0.1"),
            "-H",
            &format!("content-type: {content_type}"),
        ])
        .args([
            "--data-binary",
            &format!("@{body_file}"),
            &format!("https://localhost:{port}{path}"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    if code == "000" {
        return (
            code.to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
    }
    (code.to_string(), body.to_string())
}

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

fn have_curl() -> bool {
    Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn curl_gets_decisions_from_the_real_binary() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Command::new(BIN)
        .args(["certs", "--dns-name", "localhost", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        certs.status.success(),
        "{}",
        String::from_utf8_lossy(&certs.stderr)
    );
    for file in ["ca.crt", "tls.crt", "tls.key"] {
        assert!(dir.path().join(file).exists(), "{file}");
    }
    let running = serve(dir.path(), &[]);
    assert!(
        http_get(&running.admin, "/readyz").starts_with("HTTP/1.1 200"),
        "offline is ready at once"
    );
    assert!(http_get(&running.admin, "/healthz").starts_with("HTTP/1.1 200"));
    if !have_curl() {
        eprintln!("curl is not installed; the TLS path is covered by tests/tls.rs");
        return;
    }
    let ca = dir.path().join("ca.crt");
    let (code, body) = curl(
        &running.addr,
        &ca,
        "/validate",
        &fixture("create-unpinned.json"),
        "application/json",
    );
    assert_eq!(code, "200", "{body}");
    let review: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(review["response"]["allowed"], false);
    assert!(
        review["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("pinned-version: spec.chart.spec.version: \"^20\"")
    );

    let (code, body) = curl(
        &running.addr,
        &ca,
        "/validate",
        &fixture("create-pinned.json"),
        "application/json",
    );
    assert_eq!(code, "200");
    assert!(body.contains(r#""allowed":true"#), "{body}");

    let (code, body) = curl(
        &running.addr,
        &ca,
        "/mutate",
        &fixture("create-no-cleanup.json"),
        "application/json",
    );
    assert_eq!(code, "200");
    assert!(body.contains(r#""patchType":"JSONPatch""#), "{body}");

    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, b"\x00\x01 this is not json").unwrap();
    let (code, _) = curl(
        &running.addr,
        &ca,
        "/validate",
        garbage.to_str().unwrap(),
        "application/json",
    );
    assert_eq!(code, "400");
    let (code, _) = curl(
        &running.addr,
        &ca,
        "/validate",
        &fixture("create-pinned.json"),
        "application/json",
    );
    assert_eq!(code, "200", "still serving after garbage");

    // Too large: 413 and a Status over both protocols. Rate-limited so the server meets the
    // limit while curl is still sending, which is when an HTTP/2 stream used to be reset.
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 4 << 20]).unwrap();
    for protocol in ["--http1.1", "--http2"] {
        let (code, body) = curl_with(
            &running.addr,
            &ca,
            "/validate",
            big.to_str().unwrap(),
            "application/json",
            &[protocol, "--limit-rate", "8M"],
        );
        assert_eq!(code, "413", "{protocol}: {body}");
        let status: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status["kind"], "Status", "{protocol}: {body}");
        assert_eq!(
            status["reason"], "RequestEntityTooLarge",
            "{protocol}: {body}"
        );
    }

    let metrics = http_get(&running.admin, "/metrics");
    assert!(
        metrics.contains("helmrelease_webhook_admission_requests_total"),
        "{metrics}"
    );
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    helmrelease_webhook::certs::generate(&["localhost".to_string()], dir.path(), 1).unwrap();
    let mut running = serve(dir.path(), &[]);
    let pid = running.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = running.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_certificates_stop_start_up_with_the_flag_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tls.crt"), "junk").unwrap();
    std::fs::write(dir.path().join("tls.key"), "junk").unwrap();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--offline",
            "--addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
            "--tls-cert-file",
        ])
        .arg(dir.path().join("tls.crt"))
        .arg("--tls-key-file")
        .arg(dir.path().join("tls.key"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: --tls-cert-file") && stderr.contains("no CERTIFICATE block found"),
        "{stderr}"
    );
}

#[test]
fn a_policy_file_changes_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    helmrelease_webhook::certs::generate(&["localhost".to_string()], dir.path(), 1).unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "apiVersion: policy.helmrelease.dev/v1alpha1\nkind: HelmReleasePolicy\nmetadata:\n  name: warn\nspec:\n  rules:\n    pinnedVersion:\n      action: Warn\n",
    )
    .unwrap();
    let running = serve(dir.path(), &["--policy", policy.to_str().unwrap()]);
    if !have_curl() {
        return;
    }
    let (code, body) = curl(
        &running.addr,
        &dir.path().join("ca.crt"),
        "/validate",
        &fixture("create-unpinned.json"),
        "application/json",
    );
    assert_eq!(code, "200");
    let review: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(review["response"]["allowed"], true);
    assert!(
        review["response"]["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("pinned-version: ")
    );
}
