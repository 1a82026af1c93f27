//! The digests helm-controller records, computed as it computes them, so a cluster can move
//! between Flux's controller and ours without every release looking out of sync.
//!
//! - [`config_digest`]: fluxcd/pkg `chartutil.DigestValues` with the canonical algorithm:
//!   SHA-256 over the values as go-yaml v2 writes them, map keys sorted by byte order
//!   (`SortMapSlice`, not go-yaml's own "natural" order); empty values hash as nothing at all.
//! - [`release_digest`]: helm-controller's `Digest(Observation)`: SHA-256 over
//!   `json.NewEncoder(h).Encode(observation)` (so Go's JSON, HTML characters escaped, and a
//!   final newline), the observation being the release minus the chart's templates and files
//!   and minus test hooks.
//! - [`post_renderers_digest`], [`common_metadata_digest`]: the same encoder over
//!   `spec.postRenderers` and `spec.commonMetadata`, which the controller compares with
//!   `status.observedPostRenderersDigest` / `observedCommonMetadataDigest` to notice a change
//!   that needs an upgrade although values and chart are the same.
//!
//! Digests are written as go-digest writes them: `sha256:<64 lowercase hex>`.

use helmrelease_crds::helmrelease::PostRenderer;
use helmrelease_crds::meta::Metadata;
use helmrelease_release::model::{Hook, Metadata as ChartMetadata};
use helmrelease_release::{Release, gojson};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The config digest of composed or stored values (`lastAttemptedConfigDigest`,
/// `status.history[].configDigest`): go-yaml v2 over the values with every map's keys in
/// byte order, as `chartutil.DigestValues` marshals its sorted `MapSlice`s.
pub fn config_digest(values: &Map<String, Value>) -> String {
    if values.is_empty() {
        return sha256_digest(b"");
    }
    let yaml = helmrelease_helm::yaml::to_yaml_byte_sorted(&helmrelease_gotmpl::Value::from_json(
        &Value::Object(values.clone()),
    ))
    .unwrap_or_default();
    sha256_digest(yaml.as_bytes())
}

/// Go's encoding of a `json.Encoder`: Go JSON and a final newline.
fn go_encoder_digest<T: Serialize + ?Sized>(value: &T) -> String {
    match gojson::to_vec(value) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            sha256_digest(&bytes)
        }
        // Go returns an empty digest when encoding fails.
        Err(_) => String::new(),
    }
}

/// The digest of `spec.postRenderers` (`status.observedPostRenderersDigest`).
pub fn post_renderers_digest(post_renderers: &[PostRenderer]) -> String {
    go_encoder_digest(post_renderers)
}

/// The digest of `spec.commonMetadata` (`status.observedCommonMetadataDigest`).
pub fn common_metadata_digest(common: &Metadata) -> String {
    #[derive(Serialize)]
    struct GoCommonMetadata<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        annotations: Option<&'a BTreeMap<String, String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        labels: Option<&'a BTreeMap<String, String>>,
    }
    fn nonempty(m: &Option<BTreeMap<String, String>>) -> Option<&BTreeMap<String, String>> {
        m.as_ref().filter(|m| !m.is_empty())
    }
    go_encoder_digest(&GoCommonMetadata {
        annotations: nonempty(&common.annotations),
        labels: nonempty(&common.labels),
    })
}

/// helm-controller's `Observation` of a release, field for field (order, JSON names,
/// `omitempty`/`omitzero`) as Go encodes it from Helm 4's `release/v1` and `chart/v2` types.
#[derive(Serialize)]
struct Observation<'a> {
    name: &'a str,
    version: i64,
    info: GoInfo<'a>,
    #[serde(rename = "chartMetadata")]
    chart_metadata: GoMetadata<'a>,
    config: Option<Value>,
    manifest: &'a str,
    hooks: Option<Vec<GoHook<'a>>>,
    namespace: &'a str,
    #[serde(rename = "ociDigest", skip_serializing_if = "str::is_empty")]
    oci_digest: &'a str,
}

#[derive(Serialize, Default)]
struct GoInfo<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    first_deployed: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_deployed: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    status: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    notes: &'a str,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct GoMetadata<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    home: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    sources: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    version: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    keywords: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    maintainers: Vec<GoMaintainer<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    icon: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    api_version: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    condition: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    tags: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    app_version: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    deprecated: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "str::is_empty")]
    kube_version: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dependencies: Vec<GoDependency<'a>>,
    #[serde(rename = "type", skip_serializing_if = "str::is_empty")]
    type_: &'a str,
}

#[derive(Serialize)]
struct GoMaintainer<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    email: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    url: &'a str,
}

#[derive(Serialize)]
struct GoDependency<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    version: &'a str,
    repository: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    condition: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    enabled: bool,
    #[serde(rename = "import-values", skip_serializing_if = "Vec::is_empty")]
    import_values: Vec<Value>,
    #[serde(skip_serializing_if = "str::is_empty")]
    alias: &'a str,
}

#[derive(Serialize)]
struct GoHook<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    kind: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    path: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    manifest: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    events: &'a [String],
    // A struct, so `omitempty` never drops it.
    last_run: GoHookExecution<'a>,
    #[serde(skip_serializing_if = "is_zero")]
    weight: i64,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    delete_policies: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    output_log_policies: &'a [String],
}

#[derive(Serialize)]
struct GoHookExecution<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<&'a str>,
    phase: &'a str,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// A stored time as Go writes it back: absent when zero (`omitzero`; Helm 3 stored zero
/// times as `""`).
fn go_time(t: Option<&str>) -> Option<&str> {
    t.filter(|t| !t.is_empty() && !t.starts_with("0001-01-01T00:00:00"))
}

/// JSON decoded into Go's `interface{}`: every number a float64.
fn go_any(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(a) => Value::Array(a.iter().map(go_any).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), go_any(v))).collect()),
        other => other.clone(),
    }
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

fn observe_metadata(m: &ChartMetadata) -> GoMetadata<'_> {
    GoMetadata {
        name: s(&m.name),
        home: s(&m.home),
        sources: m.sources.as_deref().unwrap_or_default(),
        version: s(&m.version),
        description: s(&m.description),
        keywords: m.keywords.as_deref().unwrap_or_default(),
        maintainers: m
            .maintainers
            .iter()
            .flatten()
            .map(|x| GoMaintainer {
                name: s(&x.name),
                email: s(&x.email),
                url: s(&x.url),
            })
            .collect(),
        icon: s(&m.icon),
        api_version: s(&m.api_version),
        condition: s(&m.condition),
        tags: s(&m.tags),
        app_version: s(&m.app_version),
        deprecated: m.deprecated == Some(true),
        annotations: m
            .annotations
            .as_ref()
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        kube_version: s(&m.kube_version),
        dependencies: m
            .dependencies
            .iter()
            .flatten()
            .map(|d| GoDependency {
                name: s(&d.name),
                version: s(&d.version),
                repository: s(&d.repository),
                condition: s(&d.condition),
                tags: d.tags.as_deref().unwrap_or_default(),
                enabled: d.enabled == Some(true),
                import_values: d.import_values.iter().flatten().map(go_any).collect(),
                alias: s(&d.alias),
            })
            .collect(),
        type_: s(&m.type_),
    }
}

fn observe_hook(h: &Hook) -> GoHook<'_> {
    GoHook {
        name: &h.name,
        kind: &h.kind,
        path: &h.path,
        manifest: &h.manifest,
        events: &h.events,
        last_run: GoHookExecution {
            started_at: go_time(h.last_run.as_ref().and_then(|r| r.started_at.as_deref())),
            completed_at: go_time(h.last_run.as_ref().and_then(|r| r.completed_at.as_deref())),
            phase: h.last_run.as_ref().map_or("", |r| r.phase.as_str()),
        },
        weight: h.weight,
        delete_policies: &h.delete_policies,
        output_log_policies: &h.output_log_policies,
    }
}

/// The release digest helm-controller records in `status.history[].digest` for a stored
/// release (and, with `oci_digest`, the chart artifact's digest).
///
/// Times are taken as stored: Go re-encodes them in RFC 3339 with nanoseconds and no
/// trailing zeros, which is how Helm stores them.
pub fn release_digest(release: &Release, oci_digest: Option<&str>) -> String {
    let info = release
        .info
        .as_ref()
        .map(|i| GoInfo {
            first_deployed: go_time(i.first_deployed.as_deref()),
            last_deployed: go_time(i.last_deployed.as_deref()),
            deleted: go_time(i.deleted.as_deref()),
            description: &i.description,
            status: &i.status,
            notes: &i.notes,
        })
        .unwrap_or_default();
    let hooks = (!release.hooks.is_empty())
        .then(|| {
            // Test hooks are left out, so running `helm test` by hand changes nothing.
            let kept: Vec<GoHook<'_>> = release
                .hooks
                .iter()
                .filter(|h| !h.events.iter().any(|e| e == "test"))
                .map(observe_hook)
                .collect();
            (!kept.is_empty()).then_some(kept)
        })
        .flatten();
    let observation = Observation {
        name: &release.name,
        version: release.version,
        info,
        chart_metadata: release.metadata().map(observe_metadata).unwrap_or_default(),
        config: release
            .config
            .as_ref()
            .filter(|c| !c.is_empty())
            .map(|c| go_any(&Value::Object(c.clone()))),
        manifest: &release.manifest,
        hooks,
        namespace: &release.namespace,
        oci_digest: oci_digest.unwrap_or_default(),
    };
    go_encoder_digest(&observation)
}
