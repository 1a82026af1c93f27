//! Helm chart repositories served from a test: chart archives, an `index.yaml` with their
//! digests, and a small HTTP/1.1 server for them on 127.0.0.1.

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// The chart folder `dir` as a `.tgz`, under top folder `name`.
pub fn tgz(name: &str, dir: &Path) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    builder.append_dir_all(name, dir)?;
    builder.into_inner()?.finish()
}

/// Copies a folder tree (a chart to change before packaging it).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Serves `files` (path, body) until the process ends; returns `http://127.0.0.1:<port>`.
pub fn serve(files: Vec<(String, Vec<u8>)>) -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let response = match files.iter().find(|(p, _)| *p == path) {
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
    Ok(format!("http://{addr}"))
}

/// A Helm repository of `charts` (name, version, appVersion, archive): its `index.yaml` and
/// archives, served. Returns the repository URL.
pub fn repository(charts: &[(&str, &str, &str, Vec<u8>)]) -> std::io::Result<String> {
    let mut index = String::from("apiVersion: v1\nentries:\n");
    let mut files = Vec::new();
    let mut names: Vec<&str> = charts.iter().map(|c| c.0).collect();
    names.dedup();
    for name in names {
        index.push_str(&format!("  {name}:\n"));
        for (_, version, app, archive) in charts.iter().filter(|c| c.0 == name) {
            let file = format!("{name}-{version}.tgz");
            index.push_str(&format!(
                "  - name: {name}\n    version: {version}\n    appVersion: \"{app}\"\n    urls: [{file}]\n    digest: {}\n",
                sha256_hex(archive)
            ));
            files.push((format!("/{file}"), archive.clone()));
        }
    }
    files.push(("/index.yaml".into(), index.into_bytes()));
    serve(files)
}
