//! `template --repo` against a private chart repository served by this test: credentials,
//! `--devel`, and the error without credentials.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-helmrelease");

/// The example chart at `version`, as a `.tgz`.
fn archive(work: &Path, version: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/charts/webapp");
    let dir = work.join(version).join("webapp");
    copy_dir(&root, &dir);
    let chart_yaml = std::fs::read_to_string(dir.join("Chart.yaml")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        chart_yaml.replace("version: 1.2.3", &format!("version: {version}")),
    )
    .unwrap();
    std::fs::write(
        dir.join("templates/version.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: version\ndata:\n  chart: {{ .Chart.Version }}\n",
    )
    .unwrap();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    builder.append_dir_all("webapp", &dir).unwrap();
    builder.into_inner().unwrap().finish().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Serves `files` by path to requests with the right basic credentials; 401 otherwise.
fn serve_private(files: Vec<(String, Vec<u8>)>, user: &str, password: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let expected = format!(
        "authorization: basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
    .to_lowercase();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let authorised = request.to_lowercase().lines().any(|l| l.trim() == expected);
            let response = match files.iter().find(|(p, _)| *p == path) {
                Some(_) if !authorised => {
                    b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec()
                }
                Some((_, body)) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    format!("http://{addr}")
}

fn template(work: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(PLUGIN)
        .args(["template", "web", "webapp", "-s", "templates/version.yaml"])
        .args(args)
        .env("TZ", "UTC")
        .env("XDG_CACHE_HOME", work.join("cache"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn private_repositories_take_credentials_and_devel_takes_prereleases() {
    let dir = tempfile::tempdir().unwrap();
    let (stable, rc) = (
        archive(dir.path(), "1.0.0"),
        archive(dir.path(), "1.1.0-rc.1"),
    );
    let digest = |b: &[u8]| format!("{:x}", Sha256::digest(b));
    let index = format!(
        "apiVersion: v1\nentries:\n  webapp:\n  - {{name: webapp, version: 1.1.0-rc.1, urls: [webapp-rc.tgz], digest: {}}}\n  - {{name: webapp, version: 1.0.0, urls: [webapp-1.0.0.tgz], digest: {}}}\n",
        digest(&rc),
        digest(&stable)
    );
    let url = serve_private(
        vec![
            ("/index.yaml".into(), index.into_bytes()),
            ("/webapp-1.0.0.tgz".into(), stable),
            ("/webapp-rc.tgz".into(), rc),
        ],
        "ann",
        "s3cret",
    );
    let creds = ["--repo", &url, "--username", "ann", "--password", "s3cret"];

    let (code, out, err) = template(dir.path(), &creds);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chart: 1.0.0\n"), "{out}");

    let (code, out, err) = template(dir.path(), &[&creds[..], &["--devel"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chart: 1.1.0-rc.1\n"), "{out}");

    let (code, _, err) = template(dir.path(), &["--repo", &url]);
    assert_eq!(code, 1);
    assert!(err.starts_with("Error: ") && err.contains("401"), "{err}");
}
