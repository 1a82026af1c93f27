//! The on-disk cache: chart archives by digest, and repository indexes with their validators
//! (`ETag`, `Last-Modified`) for conditional requests.
//!
//! ```text
//! <cache>/charts/<name>-<version>-<first 12 hex of sha256>.tgz
//! <cache>/index/<first 16 hex of sha256(index URL)>.yaml      the index bytes
//! <cache>/index/<first 16 hex of sha256(index URL)>.json      {url, etag, lastModified}
//! ```
//!
//! Every file is written to a temporary file in the same directory and renamed into place, so
//! readers never see a partial file and concurrent writers of the same content do not conflict.
//! Cached charts are checked against their digest when read; a corrupt file is replaced.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// An index digest as 64 lowercase hex digits; `sha256:` prefixes and upper case accepted.
pub(crate) fn normalize_digest(digest: &str) -> Option<String> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// The cache file name of a chart archive: `<name>-<version>-<digest12>.tgz`.
pub fn chart_file_name(name: &str, version: &str, digest: &str) -> String {
    let short = digest.get(..12).unwrap_or(digest);
    format!("{name}-{version}-{short}.tgz")
}

/// Where a chart archive lives in the cache.
pub fn chart_path(cache_dir: &Path, name: &str, version: &str, digest: &str) -> PathBuf {
    cache_dir
        .join("charts")
        .join(chart_file_name(name, version, digest))
}

/// The cached archive when it exists and has the digest; a file with another digest is removed.
pub(crate) fn read_verified(path: &Path, digest: &str) -> Result<Option<Vec<u8>>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                action: "reading",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if sha256_hex(&bytes) == digest {
        return Ok(Some(bytes));
    }
    // Corrupt or truncated by something else: drop it and download again.
    let _ = fs::remove_file(path);
    Ok(None)
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "creating directory",
        path: dir.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    written.map_err(|source| {
        let _ = fs::remove_file(&tmp);
        Error::Io {
            action: "writing",
            path: path.to_path_buf(),
            source,
        }
    })
}

/// What was stored with a cached index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IndexMeta {
    pub(crate) url: String,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
}

/// The cache slot of one index URL.
#[derive(Debug, Clone)]
pub(crate) struct IndexCache {
    body: PathBuf,
    meta: PathBuf,
    url: String,
}

impl IndexCache {
    pub(crate) fn new(cache_dir: &Path, index_url: &str) -> Self {
        let key = sha256_hex(index_url.as_bytes());
        let key = key.get(..16).unwrap_or(&key);
        let dir = cache_dir.join("index");
        Self {
            body: dir.join(format!("{key}.yaml")),
            meta: dir.join(format!("{key}.json")),
            url: index_url.to_string(),
        }
    }

    /// The validators of the cached copy, when there is one for this URL.
    pub(crate) fn meta(&self) -> Option<IndexMeta> {
        let text = fs::read(&self.meta).ok()?;
        let meta: IndexMeta = serde_json::from_slice(&text).ok()?;
        (meta.url == self.url && self.body.is_file()).then_some(meta)
    }

    /// The cached index bytes.
    pub(crate) fn body(&self) -> Option<Vec<u8>> {
        fs::read(&self.body).ok()
    }

    /// Stores a fresh copy and its validators (body first, so the validators never describe a
    /// body that is not there).
    pub(crate) fn store(
        &self,
        body: &[u8],
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<()> {
        write_atomic(&self.body, body)?;
        let meta = IndexMeta {
            url: self.url.clone(),
            etag: etag.map(str::to_string),
            last_modified: last_modified.map(str::to_string),
        };
        let json = serde_json::to_vec(&meta).map_err(|e| Error::Io {
            action: "encoding",
            path: self.meta.clone(),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&self.meta, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_names() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let d = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        assert_eq!(
            normalize_digest(d).as_deref(),
            Some(&sha256_hex(b"abc")[..])
        );
        assert_eq!(
            normalize_digest(&format!("sha256:{}", sha256_hex(b"abc"))),
            Some(sha256_hex(b"abc"))
        );
        assert_eq!(normalize_digest("abc"), None);
        assert_eq!(
            normalize_digest("md5:900150983cd24fb0d6963f7d28e17f72"),
            None
        );
        assert_eq!(
            chart_file_name("podinfo", "6.5.4", &sha256_hex(b"abc")),
            "podinfo-6.5.4-ba7816bf8f01.tgz"
        );
    }

    #[test]
    fn atomic_write_and_verified_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = chart_path(dir.path(), "demo", "1.0.0", &sha256_hex(b"chart"));
        write_atomic(&path, b"chart").unwrap();
        assert_eq!(
            read_verified(&path, &sha256_hex(b"chart"))
                .unwrap()
                .unwrap(),
            b"chart"
        );
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
        // A corrupt file is a miss and is removed.
        fs::write(&path, b"garbage").unwrap();
        assert!(
            read_verified(&path, &sha256_hex(b"chart"))
                .unwrap()
                .is_none()
        );
        assert!(!path.exists());
    }

    #[test]
    fn index_cache_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = IndexCache::new(dir.path(), "https://r.test/index.yaml");
        assert!(cache.meta().is_none());
        cache
            .store(b"apiVersion: v1\n", Some("\"e1\""), None)
            .unwrap();
        let meta = cache.meta().unwrap();
        assert_eq!(meta.etag.as_deref(), Some("\"e1\""));
        assert_eq!(cache.body().unwrap(), b"apiVersion: v1\n");
        // Another URL does not see it.
        assert!(
            IndexCache::new(dir.path(), "https://other.test/index.yaml")
                .meta()
                .is_none()
        );
    }
}
