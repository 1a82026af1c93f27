//! Release Secrets and ConfigMaps as Helm's storage drivers write them
//! (`helm.sh/helm/v4/pkg/storage/driver/{secrets,cfgmaps,util}.go`).

use crate::codec::{decode_base64, decode_payload, encode_payload};
use crate::{Error, Release, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Prefix of every release object name (`HelmStorageType`).
pub const STORAGE_PREFIX: &str = "sh.helm.release.v1";
/// Secret type of release Secrets.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";
/// Labels Helm manages itself; they are not part of the release's own labels.
pub const SYSTEM_LABELS: [&str; 6] = [
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];

/// Which Kubernetes kind holds the release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Driver {
    /// A Secret (Helm's default, and the only driver Flux uses).
    Secret,
    /// A ConfigMap (`HELM_DRIVER=configmap`).
    ConfigMap,
    /// A bare Helm payload read from a file, with no Kubernetes object around it.
    Payload,
}

/// One stored release revision: the decoded release and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRelease {
    /// Kind of the holder.
    pub driver: Driver,
    /// Namespace of the holder; for a bare payload, the release namespace.
    pub namespace: String,
    /// Name of the holder (`sh.helm.release.v1.<name>.v<revision>`).
    pub object_name: String,
    /// Labels of the holder.
    pub labels: BTreeMap<String, String>,
    /// The decoded release.
    pub release: Release,
    /// Bytes of the stored Helm payload: what counts against the 1 MiB object limit.
    pub stored_bytes: usize,
}

/// A place where a release object's name or labels disagree with the release inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disagreement {
    /// Which part disagrees: `the object name`, `the version label` or `the name label`.
    pub what: &'static str,
    /// What the object says.
    pub found: String,
    /// What the payload says.
    pub expected: String,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} says {:?} but the release inside says {:?}",
            self.what, self.found, self.expected
        )
    }
}

/// `sh.helm.release.v1.<name>.v<revision>`.
pub fn object_name(release: &str, revision: i64) -> String {
    format!("{STORAGE_PREFIX}.{release}.v{revision}")
}

/// Splits a release object name into release name and revision.
pub fn parse_object_name(name: &str) -> Option<(&str, i64)> {
    let rest = name.strip_prefix(STORAGE_PREFIX)?.strip_prefix('.')?;
    let (release, revision) = rest.rsplit_once(".v")?;
    let revision: i64 = revision.parse().ok()?;
    (!release.is_empty() && revision > 0).then_some((release, revision))
}

/// True when a Kubernetes object (as JSON) looks like a Helm release holder: a Secret of type
/// `helm.sh/release.v1`, or a ConfigMap labelled `owner: helm` with a release name.
pub fn is_release_object(object: &Value) -> bool {
    match object.get("kind").and_then(Value::as_str) {
        Some("Secret") => object.get("type").and_then(Value::as_str) == Some(SECRET_TYPE),
        Some("ConfigMap") => {
            object
                .pointer("/metadata/labels/owner")
                .and_then(Value::as_str)
                == Some("helm")
                && object
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| parse_object_name(n).is_some())
        }
        _ => false,
    }
}

impl StoredRelease {
    /// Decodes a release Secret or ConfigMap given as a Kubernetes object (JSON value, as read
    /// from the API or from `kubectl get -o yaml`). `origin` prefixes error messages (a file
    /// name, or empty). An object whose name or labels disagree with its payload is an
    /// [`Error::Mismatch`]; [`StoredRelease::decode_object`] accepts it, as Helm does.
    pub fn from_object(object: &Value, origin: &str) -> Result<StoredRelease> {
        let stored = StoredRelease::decode_object(object, origin)?;
        if let Some(d) = stored.disagreements().into_iter().next() {
            return Err(Error::Mismatch {
                object: describe(
                    origin,
                    stored.kind(),
                    &stored.namespace,
                    &stored.object_name,
                ),
                what: d.what,
                found: d.found,
                expected: d.expected,
            });
        }
        Ok(stored)
    }

    /// Decodes a release object like [`StoredRelease::from_object`], but accepts an object whose
    /// name or labels disagree with its payload, as Helm's storage drivers do: they list by the
    /// `owner=helm,name=<release>` labels and then believe the payload. Such objects are listed
    /// by [`StoredRelease::disagreements`]. Undecodable payloads are still errors.
    pub fn decode_object(object: &Value, origin: &str) -> Result<StoredRelease> {
        StoredRelease::decode_object_with(object, origin, decode_payload)
    }

    /// Decodes a release object like [`StoredRelease::decode_object`], but its `release`
    /// holds only what [`codec::decode_summary`](crate::codec::decode_summary) reads: name,
    /// namespace, revision, status, times, description and chart metadata. The manifest,
    /// values, hooks, notes and the chart's files are empty. For listings of many or large
    /// revisions (`history`, audits), where decoding them whole would hold every manifest and
    /// chart in memory. `stored_bytes` and [`StoredRelease::disagreements`] are as with a full
    /// decode.
    pub fn decode_object_summary(object: &Value, origin: &str) -> Result<StoredRelease> {
        StoredRelease::decode_object_with(object, origin, crate::codec::decode_summary)
    }

    fn decode_object_with(
        object: &Value,
        origin: &str,
        decode: fn(&[u8], &str) -> Result<Release>,
    ) -> Result<StoredRelease> {
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let namespace = str_at(object, "/metadata/namespace");
        let name = str_at(object, "/metadata/name");
        let label = describe(origin, kind, &namespace, &name);
        let driver = match kind {
            "Secret" => {
                let ty = object
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if ty != SECRET_TYPE {
                    return Err(Error::NotARelease {
                        object: label,
                        reason: format!("Secret type is {ty:?}, not {SECRET_TYPE:?}"),
                    });
                }
                Driver::Secret
            }
            "ConfigMap" => Driver::ConfigMap,
            other => {
                return Err(Error::NotARelease {
                    object: label,
                    reason: format!("kind {other:?} cannot hold a release"),
                });
            }
        };
        let data = object
            .pointer("/data/release")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::MissingField {
                object: label.clone(),
                field: "data.release",
            })?;
        // Kubernetes base64-encodes Secret data on the wire; ConfigMap data is plain text.
        let payload = match driver {
            Driver::Secret => decode_base64(data.as_bytes(), &label, "data.release")?,
            _ => data.as_bytes().to_vec(),
        };
        let release = decode(&payload, &label)?;
        let labels: BTreeMap<String, String> = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let stored = StoredRelease {
            driver,
            namespace,
            object_name: name,
            labels,
            release,
            stored_bytes: payload.len(),
        };
        Ok(stored)
    }

    /// Decodes a bare Helm payload (the inner `data.release` string), e.g. a file written with
    /// `kubectl get secret ... -o jsonpath='{.data.release}' | base64 -d`.
    pub fn from_payload(payload: &[u8], origin: &str) -> Result<StoredRelease> {
        StoredRelease::from_payload_with(payload, origin, decode_payload)
    }

    /// [`StoredRelease::from_payload`] decoding only the summary, as
    /// [`StoredRelease::decode_object_summary`] does.
    pub fn from_payload_summary(payload: &[u8], origin: &str) -> Result<StoredRelease> {
        StoredRelease::from_payload_with(payload, origin, crate::codec::decode_summary)
    }

    fn from_payload_with(
        payload: &[u8],
        origin: &str,
        decode: fn(&[u8], &str) -> Result<Release>,
    ) -> Result<StoredRelease> {
        let release = decode(payload, origin)?;
        let stored_bytes = payload.iter().filter(|b| !b.is_ascii_whitespace()).count();
        Ok(StoredRelease {
            driver: Driver::Payload,
            namespace: release.namespace.clone(),
            object_name: object_name(&release.name, release.version),
            labels: BTreeMap::new(),
            release,
            stored_bytes,
        })
    }

    /// Where the object's name or labels disagree with the release inside it, in the order
    /// object name revision, object name release, `version` label, `name` label. A
    /// disagreement means the object was edited by hand or copied under the wrong name. Helm
    /// still lists such an object under its `name` label and shows what the payload says.
    pub fn disagreements(&self) -> Vec<Disagreement> {
        let release = &self.release;
        let mut out = Vec::new();
        let mut push = |what, found: String, expected: String| {
            out.push(Disagreement {
                what,
                found,
                expected,
            })
        };
        if self.driver == Driver::Payload {
            return out;
        }
        if let Some((name, revision)) = parse_object_name(&self.object_name) {
            if revision != release.version {
                push(
                    "the object name",
                    format!("v{revision}"),
                    format!("v{}", release.version),
                );
            }
            if name != release.name {
                push("the object name", name.to_string(), release.name.clone());
            }
        }
        if let Some(version) = self.labels.get("version")
            && *version != release.version.to_string()
        {
            push(
                "the version label",
                version.clone(),
                release.version.to_string(),
            );
        }
        if let Some(name) = self.labels.get("name")
            && *name != release.name
        {
            push("the name label", name.clone(), release.name.clone());
        }
        out
    }

    /// The release name Helm files this object under: its `name` label, which is what
    /// `helm history <name>` and `helm status <name>` select by, or the payload's name when the
    /// object has no such label (a bare payload, or a file without labels).
    pub fn listed_name(&self) -> &str {
        self.labels
            .get("name")
            .map_or(self.release.name.as_str(), String::as_str)
    }

    fn kind(&self) -> &'static str {
        match self.driver {
            Driver::Secret => "Secret",
            Driver::ConfigMap => "ConfigMap",
            Driver::Payload => "payload",
        }
    }

    /// Labels that are the release's own (`Release.Labels`), without Helm's system labels.
    pub fn custom_labels(&self) -> BTreeMap<String, String> {
        self.labels
            .iter()
            .filter(|(k, _)| !SYSTEM_LABELS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Human-readable identity, e.g. `Secret apps/sh.helm.release.v1.podinfo.v3`.
    pub fn describe(&self) -> String {
        describe("", self.kind(), &self.namespace, &self.object_name)
    }
}

fn str_at(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn describe(origin: &str, kind: &str, namespace: &str, name: &str) -> String {
    let kind = if kind.is_empty() { "object" } else { kind };
    let id = match (namespace.is_empty(), name.is_empty()) {
        (_, true) => format!("{kind} without a name"),
        (true, false) => format!("{kind} {name}"),
        (false, false) => format!("{kind} {namespace}/{name}"),
    };
    if origin.is_empty() {
        id
    } else {
        format!("{origin}: {id}")
    }
}

/// Timestamps and labels to write with a release object.
#[derive(Clone, Debug, Default)]
pub struct ObjectOptions {
    /// Unix seconds for the `createdAt` label (Helm sets it on create).
    pub created_at: Option<i64>,
    /// Unix seconds for the `modifiedAt` label (Helm sets it on update).
    pub modified_at: Option<i64>,
    /// The release's own labels; system labels in here are ignored.
    pub custom_labels: BTreeMap<String, String>,
}

/// The labels Helm writes on a release object.
pub fn labels_for(release: &Release, options: &ObjectOptions) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = options
        .custom_labels
        .iter()
        .filter(|(k, _)| !SYSTEM_LABELS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.insert("name".into(), release.name.clone());
    labels.insert("owner".into(), "helm".into());
    labels.insert("status".into(), release.status().to_string());
    labels.insert("version".into(), release.version.to_string());
    if let Some(t) = options.created_at {
        labels.insert("createdAt".into(), t.to_string());
    }
    if let Some(t) = options.modified_at {
        labels.insert("modifiedAt".into(), t.to_string());
    }
    labels
}

fn object(kind: &str, release: &Release, options: &ObjectOptions) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("apiVersion".into(), json!("v1"));
    map.insert("kind".into(), json!(kind));
    map.insert(
        "metadata".into(),
        json!({
            "name": object_name(&release.name, release.version),
            "namespace": release.namespace,
            "labels": labels_for(release, options),
        }),
    );
    map
}

/// The release Secret Helm would write, as a Kubernetes object (JSON).
pub fn to_secret(release: &Release, options: &ObjectOptions) -> Result<Value> {
    let payload = encode_payload(release)?;
    let mut map = object("Secret", release, options);
    map.insert("type".into(), json!(SECRET_TYPE));
    map.insert(
        "data".into(),
        json!({ "release": STANDARD.encode(payload) }),
    );
    Ok(Value::Object(map))
}

/// The release ConfigMap Helm's configmap driver would write.
pub fn to_configmap(release: &Release, options: &ObjectOptions) -> Result<Value> {
    let payload = encode_payload(release)?;
    let mut map = object("ConfigMap", release, options);
    map.insert("data".into(), json!({ "release": payload }));
    Ok(Value::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Info;

    fn release() -> Release {
        Release {
            name: "podinfo".into(),
            version: 2,
            namespace: "apps".into(),
            info: Some(Info {
                status: "deployed".into(),
                ..Info::default()
            }),
            ..Release::default()
        }
    }

    #[test]
    fn object_names_parse_back() {
        assert_eq!(
            parse_object_name("sh.helm.release.v1.my.app.v12"),
            Some(("my.app", 12))
        );
        assert_eq!(parse_object_name(&object_name("x", 1)), Some(("x", 1)));
        for bad in [
            "sh.helm.release.v1.x",
            "sh.helm.release.v1..v1",
            "sh.helm.release.v1.x.v0",
            "other.x.v1",
        ] {
            assert_eq!(parse_object_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn secrets_and_configmaps_round_trip_with_helm_labels() {
        let options = ObjectOptions {
            created_at: Some(1_700_000_000),
            custom_labels: [
                ("team".to_string(), "a".to_string()),
                ("owner".to_string(), "me".to_string()),
            ]
            .into(),
            ..ObjectOptions::default()
        };
        for (value, driver) in [
            (to_secret(&release(), &options), Driver::Secret),
            (to_configmap(&release(), &options), Driver::ConfigMap),
        ] {
            let value = value.unwrap_or_default();
            assert_eq!(
                value.pointer("/metadata/name"),
                Some(&json!("sh.helm.release.v1.podinfo.v2"))
            );
            let labels = value
                .pointer("/metadata/labels")
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                labels,
                json!({"name": "podinfo", "owner": "helm", "status": "deployed", "version": "2",
                       "createdAt": "1700000000", "team": "a"})
            );
            let stored = StoredRelease::from_object(&value, "");
            let stored = stored.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(stored.driver, driver);
            assert_eq!(stored.release, release());
            assert_eq!(
                stored.custom_labels(),
                [("team".to_string(), "a".to_string())].into()
            );
        }
    }

    #[test]
    fn disagreeing_names_and_labels_are_errors() {
        let good = to_secret(&release(), &ObjectOptions::default()).unwrap_or_default();
        let cases = [
            (
                "/metadata/name",
                json!("sh.helm.release.v1.podinfo.v3"),
                "the object name says \"v3\"",
            ),
            (
                "/metadata/name",
                json!("sh.helm.release.v1.other.v2"),
                "the object name says \"other\"",
            ),
            (
                "/metadata/labels/version",
                json!("7"),
                "the version label says \"7\"",
            ),
            (
                "/metadata/labels/name",
                json!("x"),
                "the name label says \"x\"",
            ),
            (
                "/type",
                json!("Opaque"),
                "not a Helm release: Secret type is \"Opaque\"",
            ),
            ("/data", json!({}), "missing data.release"),
            (
                "/data/release",
                json!("%%%"),
                "data.release is not valid base64",
            ),
            ("/kind", json!("Pod"), "kind \"Pod\" cannot hold a release"),
        ];
        for (pointer, value, want) in cases {
            let mut bad = good.clone();
            if let Some(slot) = bad.pointer_mut(pointer) {
                *slot = value;
            }
            let err = StoredRelease::from_object(&bad, "f.yaml")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with("f.yaml: "), "{err}");
            assert!(err.contains(want), "{pointer}: {err}");
        }
    }

    #[test]
    fn decode_object_accepts_disagreements_and_names_them() {
        let good = to_secret(&release(), &ObjectOptions::default()).unwrap_or_default();
        let decoded = StoredRelease::decode_object(&good, "");
        assert_eq!(decoded.map(|s| s.disagreements()).ok(), Some(vec![]));
        let d = |what, found: &str, expected: &str| Disagreement {
            what,
            found: found.into(),
            expected: expected.into(),
        };
        let cases = [
            (
                "/metadata/name",
                json!("sh.helm.release.v1.podinfo.v3"),
                d("the object name", "v3", "v2"),
                "podinfo",
            ),
            (
                "/metadata/name",
                json!("sh.helm.release.v1.other.v2"),
                d("the object name", "other", "podinfo"),
                "podinfo",
            ),
            (
                "/metadata/labels/version",
                json!("7"),
                d("the version label", "7", "2"),
                "podinfo",
            ),
            (
                "/metadata/labels/name",
                json!("podinfo2"),
                d("the name label", "podinfo2", "podinfo"),
                "podinfo2",
            ),
        ];
        for (pointer, value, want, listed) in cases {
            let mut odd = good.clone();
            if let Some(slot) = odd.pointer_mut(pointer) {
                *slot = value;
            }
            let stored = StoredRelease::decode_object(&odd, "f.yaml");
            let stored = stored.unwrap_or_else(|e| panic!("{pointer}: {e}"));
            assert_eq!(stored.release, release(), "the payload is believed");
            assert_eq!(stored.listed_name(), listed, "{pointer}");
            assert_eq!(stored.disagreements(), vec![want], "{pointer}");
        }
        // Corrupt payloads stay errors.
        let mut corrupt = good.clone();
        if let Some(slot) = corrupt.pointer_mut("/data/release") {
            *slot = json!("aGVsbG8=");
        }
        assert!(StoredRelease::decode_object(&corrupt, "f.yaml").is_err());
    }

    #[test]
    fn disagreements_print_like_the_mismatch_error() {
        let d = Disagreement {
            what: "the name label",
            found: "foo2".into(),
            expected: "foooo".into(),
        };
        assert_eq!(
            d.to_string(),
            "the name label says \"foo2\" but the release inside says \"foooo\""
        );
    }

    #[test]
    fn release_objects_are_recognised() {
        let secret = to_secret(&release(), &ObjectOptions::default()).unwrap_or_default();
        let cm = to_configmap(&release(), &ObjectOptions::default()).unwrap_or_default();
        assert!(is_release_object(&secret));
        assert!(is_release_object(&cm));
        assert!(!is_release_object(
            &json!({"kind": "Secret", "type": "Opaque"})
        ));
        assert!(!is_release_object(
            &json!({"kind": "ConfigMap", "metadata": {"name": "x"}})
        ));
    }
}
