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

/// How much of each release revision to decode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Decode {
    /// The whole release: manifest, values, hooks, chart.
    #[default]
    Full,
    /// Only what listings show (`StoredRelease::decode_object_summary`): for `history` and
    /// `audit`, which would otherwise hold every manifest and chart in memory at once.
    Summary,
}

/// Reads every path (files, folders recursively, `-` for stdin) into an inventory.
pub fn load(paths: &[PathBuf]) -> Result<Inventory> {
    load_with(paths, Decode::Full)
}

/// [`load`], decoding release revisions as `decode` says.
pub fn load_with(paths: &[PathBuf], decode: Decode) -> Result<Inventory> {
    let mut pending = Pending {
        decode,
        ..Pending::default()
    };
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = Vec::new();
            std::io::stdin()
                .read_to_end(&mut text)
                .map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
            pending.parse_file("<stdin>", &text)?;
            drop(text);
            pending.decode_parsed();
            continue;
        }
        for file in files_under(path)? {
            let bytes = std::fs::read(&file).map_err(|source| Error::Read {
                path: file.clone(),
                source,
            })?;
            pending.parse_file(&file.display().to_string(), &bytes)?;
            // The text is parsed; let it go before decoding needs memory.
            drop(bytes);
            pending.decode_parsed();
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

/// Parsed input. Release objects are decoded file by file, on all cores, as soon as the file
/// is parsed, and their parsed objects dropped as they are decoded: as `serde_json::Value`s,
/// release Secrets take several times their size in the file, so holding those of every file
/// until the end is what made audits of thousands of revisions large.
#[derive(Debug, Default)]
struct Pending {
    objects: Vec<SourcedObject>,
    /// Release objects parsed and not decoded yet.
    release_objects: Vec<SourcedObject>,
    /// Revisions read from bare payload files, listed before those from objects.
    payloads: Vec<StoredRelease>,
    releases: Vec<StoredRelease>,
    broken: Vec<BrokenRelease>,
    decode: Decode,
}

impl Pending {
    fn add_file(&mut self, origin: &str, bytes: &[u8]) -> Result<()> {
        self.parse_file(origin, bytes)?;
        self.decode_parsed();
        Ok(())
    }

    fn parse_file(&mut self, origin: &str, bytes: &[u8]) -> Result<()> {
        if looks_like_payload(bytes) {
            self.payloads.push(match self.decode {
                Decode::Full => StoredRelease::from_payload(bytes, origin)?,
                Decode::Summary => StoredRelease::from_payload_summary(bytes, origin)?,
            });
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

    /// Decodes the release objects parsed so far, keeping their order.
    fn decode_parsed(&mut self) {
        let objects = std::mem::take(&mut self.release_objects);
        self.releases.reserve(objects.len());
        for result in decode_all(objects, self.decode) {
            match result {
                Ok(stored) => self.releases.push(stored),
                Err(broken) => self.broken.push(*broken),
            }
        }
    }

    fn finish(self) -> Result<Inventory> {
        Ok(self.finish_decoded())
    }

    fn finish_decoded(mut self) -> Inventory {
        self.decode_parsed();
        let mut releases = self.payloads;
        releases.append(&mut self.releases);
        Inventory {
            objects: self.objects,
            releases,
            broken: self.broken,
        }
    }
}

/// Decodes release objects on every available core, keeping their order; each object is
/// dropped once decoded.
fn decode_all(
    objects: Vec<SourcedObject>,
    mode: Decode,
) -> Vec<std::result::Result<StoredRelease, Box<BrokenRelease>>> {
    // Objects whose name or labels disagree with their payload decode, as Helm reads them;
    // commands warn about them (`StoredRelease::disagreements`).
    let decode = move |o: SourcedObject| {
        let decoded = match mode {
            Decode::Full => StoredRelease::decode_object(&o.object, &o.origin),
            Decode::Summary => StoredRelease::decode_object_summary(&o.object, &o.origin),
        };
        decoded.map_err(|error| {
            Box::new(BrokenRelease {
                release: release_of(&o.object),
                error,
            })
        })
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(objects.len());
    if threads <= 1 {
        return objects.into_iter().map(decode).collect();
    }
    let chunk = objects.len().div_ceil(threads);
    let mut parts = Vec::with_capacity(threads);
    let mut rest = objects;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        parts.push(rest);
        rest = tail;
    }
    parts.push(rest);
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                let origins: Vec<String> = part.iter().map(|o| o.origin.clone()).collect();
                let handle = scope.spawn(move || part.into_iter().map(decode).collect::<Vec<_>>());
                (origins, handle)
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(origins, handle)| {
                // A panicking decoder would be a bug; report it per object rather than abort.
                handle.join().unwrap_or_else(|_| {
                    origins
                        .into_iter()
                        .map(|origin| {
                            Err(Box::new(BrokenRelease {
                                release: None,
                                error: helmrelease_release::Error::NotARelease {
                                    object: origin,
                                    reason: "the decoder crashed".to_string(),
                                },
                            }))
                        })
                        .collect()
                })
            })
            .collect()
    })
}

/// Moves the revisions and broken release objects of `namespace` (or all) out of an
/// inventory, selected as `Session::releases` selects them from files (a broken object only
/// when its name names a release). Without a namespace the vectors move whole, uncopied.
pub fn take_releases(
    inventory: &mut Inventory,
    namespace: Option<&str>,
) -> (Vec<StoredRelease>, Vec<BrokenRelease>) {
    let wanted = |ns: &str| namespace.is_none_or(|want| want == ns);
    let releases = match namespace {
        None => std::mem::take(&mut inventory.releases),
        Some(_) => {
            let (taken, rest) = std::mem::take(&mut inventory.releases)
                .into_iter()
                .partition(|r| wanted(&r.namespace));
            inventory.releases = rest;
            taken
        }
    };
    let (broken, rest) = std::mem::take(&mut inventory.broken)
        .into_iter()
        .partition(|b| b.release.as_ref().is_some_and(|(ns, _)| wanted(ns)));
    inventory.broken = rest;
    (releases, broken)
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
    decode_objects_with(objects, Decode::Full)
}

/// [`decode_objects`], decoding release objects as `decode` says.
pub fn decode_objects_with(objects: Vec<SourcedObject>, decode: Decode) -> Inventory {
    let mut pending = Pending {
        decode,
        ..Pending::default()
    };
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
    use helmrelease_release::{ObjectOptions, Release, codec, storage};
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
    fn summary_decoding_keeps_listings_and_order_and_drops_manifests() {
        let release = |version| Release {
            name: "web".into(),
            version,
            namespace: "apps".into(),
            manifest: "---\nkind: ConfigMap\n".into(),
            ..Release::default()
        };
        let secret = |version| {
            storage::to_secret(&release(version), &ObjectOptions::default()).unwrap_or_default()
        };
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let list = json!({"kind": "List", "items": [secret(2), secret(1)]});
        let mut bad = secret(3);
        bad["data"]["release"] = json!("bm90IGEgcmVsZWFzZQ==");
        let files = [
            ("a.json", list.to_string()),
            ("b.json", bad.to_string()),
            ("c", codec::encode_payload(&release(4)).unwrap_or_default()),
        ];
        for (name, text) in &files {
            std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
        }
        let paths = [dir.path().to_path_buf()];
        let full = load(&paths).unwrap_or_else(|e| panic!("{e}"));
        let summary = load_with(&paths, Decode::Summary).unwrap_or_else(|e| panic!("{e}"));
        let listing = |inv: &Inventory| -> Vec<(i64, usize, bool)> {
            inv.releases
                .iter()
                .map(|r| {
                    (
                        r.release.version,
                        r.stored_bytes,
                        r.release.manifest.is_empty(),
                    )
                })
                .collect()
        };
        // Bare payloads first, then objects in file order, as before decoding went per file.
        assert_eq!(
            listing(&full).iter().map(|r| r.0).collect::<Vec<_>>(),
            [4, 2, 1]
        );
        assert!(listing(&full).iter().all(|r| !r.2));
        assert!(
            listing(&summary).iter().all(|r| r.2),
            "manifests are not decoded"
        );
        let sizes = |inv: &Inventory| {
            inv.releases
                .iter()
                .map(|r| r.stored_bytes)
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(&summary), sizes(&full));
        assert_eq!(summary.broken.len(), 1);
        assert_eq!(
            summary.broken[0].release,
            Some(("apps".to_string(), "web".to_string()))
        );
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
