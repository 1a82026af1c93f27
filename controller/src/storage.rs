//! Artifact storage for in-process sources, laid out and served as source-controller's is:
//! `<root>/<kind>/<namespace>/<name>/<file>`, written atomically, with a `latest` symlink
//! per object, the newest few files kept, and everything served read-only over plain HTTP at
//! `--storage-addr`, advertised in `status.artifact.url` as `http://<--storage-adv-addr>/...`.
//! The controller reads its own artifacts from disk, not through the server.

use serde_json::{Value, json};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// How many artifacts of one object are kept (source-controller's
/// `--artifact-retention-records` default).
const KEEP: usize = 2;

/// The artifact folders, one per source kind.
const KINDS: [&str; 3] = ["helmrepository", "helmchart", "ocirepository"];

/// Where artifacts live and how they are addressed.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
    advertised: String,
}

/// An artifact written to storage, as `status.artifact` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Path below the root (`helmchart/ns/name/web-1.0.0.tgz`).
    pub path: String,
    /// `sha256:<hex>` of the file.
    pub digest: String,
    /// What it is a revision of (a chart version, an index digest, `tag@digest`).
    pub revision: String,
    /// Bytes.
    pub size: u64,
}

impl Storage {
    /// Storage at `root`, advertised at `host:port`.
    pub fn new(root: impl Into<PathBuf>, advertised: impl Into<String>) -> Storage {
        Storage {
            root: root.into(),
            advertised: advertised.into(),
        }
    }

    /// The folder below which artifacts are kept.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The address an artifact at `path` is served at.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.advertised)
    }

    /// The artifact folder of an object (`helmrepository`, `ns`, `name`).
    pub fn dir_of(kind: &str, namespace: &str, name: &str) -> String {
        format!("{kind}/{namespace}/{name}")
    }

    /// The file behind a URL this storage advertised, if it is one and exists.
    pub fn local_file(&self, url: &str) -> Option<PathBuf> {
        let rest = url
            .strip_prefix("http://")?
            .strip_prefix(self.advertised.as_str())?;
        let path = self.resolve(rest.strip_prefix('/')?)?;
        path.is_file().then_some(path)
    }

    /// A relative path below an artifact folder of the root, refusing anything that could
    /// leave it (and the fetch cache, which may hold what credentials fetched).
    pub fn resolve(&self, relative: &str) -> Option<PathBuf> {
        let relative = Path::new(relative);
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return None;
        }
        let first = relative.components().next()?.as_os_str().to_str()?;
        KINDS.contains(&first).then(|| self.root.join(relative))
    }

    /// Where fetched indexes and charts are cached (conditional requests, digests), outside
    /// what is served.
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join(".cache")
    }

    /// Whether `path` holds a file with this digest (so an unchanged artifact is not written
    /// again).
    pub fn has(&self, path: &str, digest: &str) -> bool {
        self.resolve(path)
            .and_then(|p| std::fs::read(p).ok())
            .is_some_and(|bytes| sha256(&bytes) == digest)
    }

    /// Writes `bytes` as `<dir>/<file>` (atomically), points `<dir>/<latest>` at it, and
    /// removes all but the newest few other files of the folder.
    pub fn store(
        &self,
        dir: &str,
        file: &str,
        latest: &str,
        bytes: &[u8],
        revision: &str,
    ) -> std::io::Result<Stored> {
        let path = format!("{dir}/{file}");
        let (Some(folder), Some(target)) = (self.resolve(dir), self.resolve(&path)) else {
            return Err(std::io::Error::other(format!(
                "invalid artifact path {path:?}"
            )));
        };
        std::fs::create_dir_all(&folder)?;
        let digest = sha256(bytes);
        if !self.has(&path, &digest) {
            let temp = folder.join(format!(".{file}.{}.tmp", std::process::id()));
            let mut out = std::fs::File::create(&temp)?;
            out.write_all(bytes)?;
            out.sync_all()?;
            std::fs::rename(&temp, &target)?;
        }
        let link = folder.join(latest);
        let temp_link = folder.join(format!(".{latest}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&temp_link);
        std::os::unix::fs::symlink(file, &temp_link)?;
        std::fs::rename(&temp_link, &link)?;
        self.prune(&folder, &[file, latest]);
        Ok(Stored {
            path,
            digest,
            revision: revision.to_string(),
            size: bytes.len() as u64,
        })
    }

    /// Keeps `keep` and the newest other files; a bound on what each object holds on disk.
    fn prune(&self, folder: &Path, keep: &[&str]) {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return;
        };
        let mut others: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                !keep.contains(&name.as_ref()) && !name.starts_with('.')
            })
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        others.sort_by_key(|o| std::cmp::Reverse(o.0));
        for (_, path) in others.into_iter().skip(KEEP - 1) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Removes an object's artifacts (the object was deleted).
    pub fn remove(&self, dir: &str) {
        if let Some(folder) = self.resolve(dir) {
            let _ = std::fs::remove_dir_all(folder);
        }
    }

    /// `status.artifact` for a stored artifact, stamped `now`.
    pub fn artifact(&self, stored: &Stored, now: &str) -> Value {
        json!({
            "digest": stored.digest,
            "lastUpdateTime": now,
            "path": stored.path,
            "revision": stored.revision,
            "size": stored.size,
            "url": self.url(&stored.path),
        })
    }
}

/// `sha256:<hex>`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", helmrelease_sources::cache::sha256_hex(bytes))
}

/// Serves the storage read-only over HTTP on `listener` until the process ends.
pub async fn serve(storage: Storage, listener: tokio::net::TcpListener) {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let router = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let storage = storage.clone();
        async move {
            let Some(path) = storage.resolve(uri.path().trim_start_matches('/')) else {
                return (StatusCode::NOT_FOUND, "not found").into_response();
            };
            match tokio::fs::read(&path).await {
                Ok(bytes) => bytes.into_response(),
                Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
            }
        }
    });
    if let Err(e) = axum::serve(listener, router).await {
        tracing::error!("artifact server: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_are_stored_linked_pruned_and_confined() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let storage = Storage::new(dir.path(), "127.0.0.1:9090");
        let folder = Storage::dir_of("helmchart", "flux", "apps-web");
        let one = storage.store(&folder, "web-1.0.0.tgz", "latest.tar.gz", b"one", "1.0.0")?;
        assert_eq!(one.path, "helmchart/flux/apps-web/web-1.0.0.tgz");
        assert_eq!(one.digest, sha256(b"one"));
        assert_eq!(
            storage.url(&one.path),
            "http://127.0.0.1:9090/helmchart/flux/apps-web/web-1.0.0.tgz"
        );
        assert_eq!(
            storage.local_file(&storage.url("helmchart/flux/apps-web/latest.tar.gz")),
            Some(dir.path().join("helmchart/flux/apps-web/latest.tar.gz"))
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        storage.store(&folder, "web-1.1.0.tgz", "latest.tar.gz", b"two", "1.1.0")?;
        std::thread::sleep(std::time::Duration::from_millis(20));
        storage.store(&folder, "web-1.2.0.tgz", "latest.tar.gz", b"three", "1.2.0")?;
        let mut files: Vec<String> = std::fs::read_dir(dir.path().join(&folder))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        files.sort();
        assert_eq!(files, ["latest.tar.gz", "web-1.1.0.tgz", "web-1.2.0.tgz"]);
        assert_eq!(
            std::fs::read(dir.path().join(&folder).join("latest.tar.gz"))?,
            b"three"
        );
        assert!(storage.has("helmchart/flux/apps-web/web-1.2.0.tgz", &sha256(b"three")));
        assert_eq!(storage.resolve("../etc/passwd"), None);
        assert_eq!(storage.resolve("/etc/passwd"), None);
        assert_eq!(storage.resolve(".cache/index/x.json"), None);
        assert_eq!(
            storage.local_file("http://elsewhere:9090/helmchart/x"),
            None
        );
        Ok(())
    }
}
