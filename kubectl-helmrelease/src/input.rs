//! Objects read from files (`--from-file`): YAML or JSON documents, Kubernetes Lists, and bare
//! Helm release payloads. Parsing is pure; only [`load`] touches the filesystem.

use crate::{Error, Result};
use helmrelease_release::{StoredRelease, parse_object_name, storage::is_release_object};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A Kubernetes object and where it was read from.
#[derive(Debug, Clone)]
pub struct SourcedObject {
    /// The file (or `<stdin>`).
    pub origin: String,
    /// Line of the file the object's document starts on (1-based).
    pub line: usize,
    /// The object.
    pub object: Value,
}

/// A release object that failed to decode, kept so commands can report it where it matters.
#[derive(Debug)]
pub struct BrokenRelease {
    /// Release name and namespace taken from the object's name, when it has a release name.
    pub release: Option<(String, String)>,
    /// Why it failed.
    pub error: helmrelease_release::Error,
}

/// Everything read from the inputs.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Objects that are not Helm release holders (HelmReleases, sources, live objects, ...).
    pub objects: Vec<SourcedObject>,
    /// Decoded release revisions.
    pub releases: Vec<StoredRelease>,
    /// Release objects that did not decode.
    pub broken: Vec<BrokenRelease>,
}

/// Reads every path (files, folders recursively, `-` for stdin) into an inventory.
pub fn load(paths: &[PathBuf]) -> Result<Inventory> {
    let mut pending = Pending::default();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = Vec::new();
            std::io::stdin()
                .read_to_end(&mut text)
                .map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
            pending.add_file("<stdin>", &text)?;
            continue;
        }
        for file in files_under(path)? {
            let bytes = std::fs::read(&file).map_err(|source| Error::Read {
                path: file.clone(),
                source,
            })?;
            pending.add_file(&file.display().to_string(), &bytes)?;
        }
    }
    pending.finish()
}

/// The files a path stands for: itself, or every non-hidden file below a folder, sorted.
fn files_under(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| Error::Read {
                path: dir.clone(),
                source,
            })?;
            let p = entry.path();
            if p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
            {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if is_object_file(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// In folders, only YAML and JSON files and extension-less files (bare Helm payloads, as
/// `kubectl get secret -o jsonpath` dumps are usually saved) are read; READMEs and the like are
/// not objects. A file named explicitly is always read.
fn is_object_file(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        None => true,
        Some(ext) => matches!(ext.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"),
    }
}

/// Parsed input whose release objects are not decoded yet: decoding is the expensive part
/// (gzip and JSON of up to 6.6 MB per revision), so it runs on all cores at the end.
#[derive(Debug, Default)]
struct Pending {
    objects: Vec<SourcedObject>,
    release_objects: Vec<SourcedObject>,
    releases: Vec<StoredRelease>,
}

impl Pending {
    fn add_file(&mut self, origin: &str, bytes: &[u8]) -> Result<()> {
        if looks_like_payload(bytes) {
            self.releases
                .push(StoredRelease::from_payload(bytes, origin)?);
            return Ok(());
        }
        let text = std::str::from_utf8(bytes).map_err(|e| Error::Parse {
            origin: origin.to_string(),
            message: format!("not UTF-8 text: {e}"),
        })?;
        for doc in helmrelease_manifest::parse(text, origin)? {
            let sourced = SourcedObject {
                origin: origin.to_string(),
                line: doc.line,
                object: doc.value,
            };
            if is_release_object(&sourced.object) {
                self.release_objects.push(sourced);
            } else {
                self.objects.push(sourced);
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Inventory> {
        Ok(self.finish_decoded())
    }

    fn finish_decoded(self) -> Inventory {
        let Pending {
            objects,
            release_objects,
            mut releases,
        } = self;
        let decoded = decode_all(&release_objects);
        let mut broken = Vec::new();
        for (sourced, result) in release_objects.iter().zip(decoded) {
            match result {
                Ok(stored) => releases.push(stored),
                Err(error) => broken.push(BrokenRelease {
                    release: release_of(&sourced.object),
                    error,
                }),
            }
        }
        Inventory {
            objects,
            releases,
            broken,
        }
    }
}

/// Decodes release objects on every available core, keeping their order.
fn decode_all(objects: &[SourcedObject]) -> Vec<helmrelease_release::Result<StoredRelease>> {
    // Objects whose name or labels disagree with their payload decode, as Helm reads them;
    // commands warn about them (`StoredRelease::disagreements`).
    let decode = |o: &SourcedObject| StoredRelease::decode_object(&o.object, &o.origin);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(objects.len());
    if threads <= 1 {
        return objects.iter().map(decode).collect();
    }
    let chunk = objects.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = objects
            .chunks(chunk)
            .map(|part| {
                (
                    part,
                    scope.spawn(move || part.iter().map(decode).collect::<Vec<_>>()),
                )
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(part, handle)| {
                // A panicking decoder would be a bug; report it per object rather than abort.
                handle.join().unwrap_or_else(|_| {
                    part.iter()
                        .map(|o| {
                            Err(helmrelease_release::Error::NotARelease {
                                object: o.origin.clone(),
                                reason: "the decoder crashed".to_string(),
                            })
                        })
                        .collect()
                })
            })
            .collect()
    })
}

/// (namespace, release name) from a release object's name, for attributing decode errors.
fn release_of(object: &Value) -> Option<(String, String)> {
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .and_then(parse_object_name)
        .map(|(name, _)| (namespace.to_string(), name.to_string()))
}

/// Sorts objects read elsewhere (a cluster) into an inventory, decoding release objects on
/// every core.
pub fn decode_objects(objects: Vec<SourcedObject>) -> Inventory {
    let mut pending = Pending::default();
    for object in objects {
        if is_release_object(&object.object) {
            pending.release_objects.push(object);
        } else {
            pending.objects.push(object);
        }
    }
    pending.finish_decoded()
}

/// Reads one file's content into an inventory.
pub fn read_bytes(origin: &str, bytes: &[u8]) -> Result<Inventory> {
    let mut pending = Pending::default();
    pending.add_file(origin, bytes)?;
    pending.finish()
}

/// A bare Helm payload is one base64 blob: only base64 characters and whitespace, and long
/// enough that a YAML or JSON document of that shape would be meaningless.
fn looks_like_payload(bytes: &[u8]) -> bool {
    let trimmed = bytes.trim_ascii();
    trimmed.len() >= 16
        && trimmed.iter().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=') || b.is_ascii_whitespace()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use helmrelease_release::{ObjectOptions, Release, storage};
    use serde_json::json;

    fn secret(name: &str, version: i64) -> Value {
        let release = Release {
            name: name.into(),
            version,
            namespace: "apps".into(),
            ..Release::default()
        };
        storage::to_secret(&release, &ObjectOptions::default()).unwrap_or_default()
    }

    #[test]
    fn lists_json_and_yaml_documents_are_all_read() {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": [secret("a", 1), secret("a", 2),
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain"}}]});
        let mut pending = Pending::default();
        pending
            .add_file("dump.json", list.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let yaml = format!(
            "---\n{}\n---\n# empty\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: x}}\n",
            serde_json::to_string(&secret("b", 1)).unwrap_or_default()
        );
        pending
            .add_file("more.yaml", yaml.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let inv = pending.finish().unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<_> = inv
            .releases
            .iter()
            .map(|r| (r.release.name.as_str(), r.release.version))
            .collect();
        assert_eq!(names, vec![("a", 1), ("a", 2), ("b", 1)]);
        let origins: Vec<_> = inv
            .objects
            .iter()
            .map(|o| (o.origin.as_str(), o.line))
            .collect();
        assert_eq!(origins, vec![("dump.json", 1), ("more.yaml", 6)]);
    }

    #[test]
    fn corrupt_release_objects_are_kept_aside_with_their_release() {
        let mut bad = secret("a", 1);
        bad["data"]["release"] = json!("bm90IGEgcmVsZWFzZQ==");
        let inv =
            read_bytes("x.json", bad.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert!(inv.releases.is_empty());
        assert_eq!(inv.broken.len(), 1);
        assert_eq!(
            inv.broken[0].release,
            Some(("apps".to_string(), "a".to_string()))
        );
        assert!(
            inv.broken[0]
                .error
                .to_string()
                .starts_with("x.json: Secret apps/sh.helm.release.v1.a.v1: ")
        );
    }

    #[test]
    fn bad_files_name_the_file_and_the_problem() {
        let err = read_bytes("bad.yaml", b"a: [1, 2\nb: c\n")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("bad.yaml:2: invalid YAML: illegal placement of ':' indicator"),
        );
        let err = read_bytes("bad.json", b"{\"a\": }")
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|m| m.starts_with("bad.json:1: invalid JSON at column 7")),
            "{err:?}"
        );
        let err = read_bytes("payload", b"H4sIAAAAAAAC/+y9CXOrSNYg")
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|m| m.starts_with("payload: ")),
            "{err:?}"
        );
        let err = read_bytes("bin", &[0xff, 0xfe, 0x00, b':'])
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|m| m.starts_with("bin: not UTF-8")),
            "{err:?}"
        );
    }
}
