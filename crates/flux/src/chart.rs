//! The chart a HelmRelease deploys: where it comes from ([`ChartReference`]) and the chart
//! itself, fetched as source-controller would (HelmRepository over HTTP or OCI, an
//! OCIRepository, or a HelmChart), with `valuesFiles` applied. A local chart can stand in
//! for the source (`--chart` of the plugin).

use crate::reader::{ObjectKind, ObjectReader, secret_data, typed};
use crate::{Error, Result};
use helmrelease_crds::helmrelease::{ChartRefKind, ChartSourceKind, HelmRelease};
use helmrelease_crds::meta::LocalObjectReference;
use helmrelease_crds::source::{HelmChart, HelmRepository, HelmRepositoryType, oci_v1};
use helmrelease_gotmpl::Value as TValue;
use helmrelease_helm::chart::Chart;
use serde_json::Value;
use std::path::PathBuf;

/// How to get the chart.
#[derive(Debug, Clone, Default)]
pub struct ChartOptions {
    /// A local chart folder or archive used instead of the HelmRelease's source; its
    /// `valuesFiles` still apply.
    pub local: Option<PathBuf>,
    /// Where fetched indexes and charts are cached; `None` fetches every time.
    pub cache_dir: Option<PathBuf>,
}

/// Where the chart came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartReference {
    /// A local chart ([`ChartOptions::local`]).
    Local(PathBuf),
    /// A chart of a HelmRepository (`chart.spec`, or a HelmChart's spec).
    HelmRepository {
        /// Repository namespace.
        namespace: String,
        /// Repository name.
        name: String,
        /// Repository address (`https://` or `oci://`).
        url: String,
        /// Chart name.
        chart: String,
        /// Version constraint (`*` by default).
        version: String,
    },
    /// An OCIRepository holding the chart (`chartRef`).
    OCIRepository {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// Its `spec.url`.
        url: String,
    },
}

/// A loaded chart and what Flux records about it.
#[derive(Debug)]
pub struct LoadedChart {
    /// The chart, `valuesFiles` applied and, for an OCIRepository, the digest in its version.
    pub chart: Chart,
    /// Where it came from.
    pub reference: ChartReference,
    /// The OCI manifest digest of the artifact (`sha256:...`), when it came from a registry;
    /// part of the release digest and of the snapshot (`ociDigest`).
    pub oci_digest: Option<String>,
}

/// The chart `hr` names: [`ChartOptions::local`] when given, else its source's chart.
pub fn load_chart(
    reader: &dyn ObjectReader,
    hr: &HelmRelease,
    options: &ChartOptions,
) -> Result<LoadedChart> {
    let namespace = hr.metadata.namespace.clone().unwrap_or_default();
    let template = hr.spec.chart.as_ref().map(|c| &c.spec);
    let files = ValuesFiles {
        paths: template
            .and_then(|s| s.values_files.clone())
            .unwrap_or_default(),
        ignore_missing: template.and_then(|s| s.ignore_missing_values_files) == Some(true),
    };
    if let Some(path) = &options.local {
        let mut chart = helmrelease_helm::chart::load(path).map_err(chart_err)?;
        apply_values_files(&mut chart, &files)?;
        return Ok(LoadedChart {
            chart,
            reference: ChartReference::Local(path.clone()),
            oci_digest: None,
        });
    }
    let (spec, source_ns) = match &hr.spec.chart_ref {
        Some(chart_ref) => {
            let ref_ns = chart_ref
                .namespace
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| namespace.clone());
            let name = &chart_ref.name;
            let kind = match chart_ref.kind {
                ChartRefKind::OCIRepository => ObjectKind::OCIRepository,
                ChartRefKind::HelmChart => ObjectKind::HelmChart,
                ChartRefKind::ExternalArtifact => {
                    return Err(Error::Unsupported(
                        "spec.chartRef kind \"ExternalArtifact\" is not supported by preview; pass --chart PATH".into(),
                    ));
                }
            };
            let object = reader.get(kind, &ref_ns, name)?.ok_or_else(|| {
                Error::NotFound(format!(
                    "{} {ref_ns}/{name} not found (the HelmRelease's spec.chartRef)",
                    kind.kind()
                ))
            })?;
            if kind == ObjectKind::OCIRepository {
                return oci_repository_chart(reader, &object, &ref_ns, options);
            }
            // A HelmChart's spec is what `spec.chart.spec` would generate, in its namespace.
            let chart: HelmChart = typed(&object, &format!("HelmChart {ref_ns}/{name}"))?;
            let spec = SourceSpec {
                chart: chart.spec.chart,
                version: chart.spec.version,
                kind: chart.spec.source_ref.kind,
                name: chart.spec.source_ref.name,
                files: ValuesFiles {
                    paths: chart.spec.values_files.unwrap_or_default(),
                    ignore_missing: chart.spec.ignore_missing_values_files == Some(true),
                },
            };
            (spec, ref_ns)
        }
        None => {
            let Some(template) = template else {
                return Err(Error::Unsupported(
                    "the HelmRelease has neither spec.chart nor spec.chartRef".into(),
                ));
            };
            let source_ns = template
                .source_ref
                .namespace
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| namespace.clone());
            let spec = SourceSpec {
                chart: template.chart.clone(),
                version: template.version.clone(),
                kind: template.source_ref.kind,
                name: template.source_ref.name.clone(),
                files,
            };
            (spec, source_ns)
        }
    };
    if spec.kind != ChartSourceKind::HelmRepository {
        // A chart in a Git repository or a bucket: what source-controller built from it.
        return crate::artifact::fetch(reader, hr)
            .and_then(|a| a.chart())
            .map_err(|e| {
                Error::Unsupported(format!(
                    "the chart comes from a {} path ({}), read from the artifact source-controller publishes, which failed ({e}); pass the chart folder with --chart PATH",
                    kind_label(spec.kind),
                    spec.chart
                ))
            });
    }
    helm_repository_chart(reader, spec, &source_ns, options)
}

/// What a `chart.spec` or HelmChart asks for.
struct SourceSpec {
    chart: String,
    version: Option<String>,
    kind: ChartSourceKind,
    name: String,
    files: ValuesFiles,
}

fn chart_err(e: impl std::fmt::Display) -> Error {
    Error::Chart(e.to_string())
}

fn kind_label(kind: ChartSourceKind) -> &'static str {
    match kind {
        ChartSourceKind::HelmRepository => "HelmRepository",
        ChartSourceKind::GitRepository => "GitRepository",
        ChartSourceKind::Bucket => "Bucket",
    }
}

fn helm_repository_chart(
    reader: &dyn ObjectReader,
    spec: SourceSpec,
    source_ns: &str,
    options: &ChartOptions,
) -> Result<LoadedChart> {
    let version = spec
        .version
        .clone()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "*".into());
    let (chart, name) = (&spec.chart, &spec.name);
    if chart.starts_with("./")
        || chart.starts_with('/')
        || spec.kind != ChartSourceKind::HelmRepository
    {
        return Err(Error::Unsupported(format!(
            "the chart comes from a {} path ({chart}); pass the chart folder with --chart PATH",
            kind_label(spec.kind)
        )));
    }
    let Some(object) = reader.get(ObjectKind::HelmRepository, source_ns, name)? else {
        // Point at a repository of that name elsewhere: the usual mistake is the namespace.
        let elsewhere = reader.namespaces_of(ObjectKind::HelmRepository, name);
        let hint = if elsewhere.is_empty() {
            "no HelmRepository of that name exists in any namespace".to_string()
        } else {
            format!(
                "one exists in namespace {}; set spec.chart.spec.sourceRef.namespace",
                elsewhere.join(", ")
            )
        };
        return Err(Error::NotFound(format!(
            "HelmRepository {source_ns}/{name} not found (the HelmRelease's spec.chart.spec.sourceRef); {hint}"
        )));
    };
    let repo: HelmRepository = typed(&object, &format!("HelmRepository {source_ns}/{name}"))?;
    let url = repo.spec.url.clone();
    let oci = repo.spec.type_ == Some(HelmRepositoryType::Oci) || url.starts_with("oci://");
    let credentials = Credentials {
        secret_ref: repo.spec.secret_ref.as_ref(),
        cert_secret_ref: repo.spec.cert_secret_ref.as_ref(),
    };
    let fetch_options = helmrelease_sources::repo::Options {
        cache_dir: options.cache_dir.clone(),
        auth: repository_auth(reader, &credentials, source_ns, oci.then_some(url.as_str()))?,
        ca_pem: repository_ca(reader, &credentials, source_ns)?,
        pass_credentials: repo.spec.pass_credentials == Some(true),
        // Flux's `spec.insecure`: plain HTTP to an OCI registry.
        insecure_http: oci && repo.spec.insecure == Some(true),
        ..helmrelease_sources::repo::Options::default()
    };
    let fetched = helmrelease_sources::repo::fetch_chart(&url, chart, &version, &fetch_options)
        .map_err(chart_err)?;
    let mut loaded = helmrelease_helm::chart::load_archive(&fetched.bytes).map_err(chart_err)?;
    apply_values_files(&mut loaded, &spec.files)?;
    Ok(LoadedChart {
        chart: loaded,
        reference: ChartReference::HelmRepository {
            namespace: source_ns.to_string(),
            name: name.clone(),
            url,
            chart: chart.clone(),
            version,
        },
        oci_digest: None,
    })
}

/// `valuesFiles` and `ignoreMissingValuesFiles` of a chart template or HelmChart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValuesFiles {
    /// Paths in the chart, merged in order.
    pub paths: Vec<String>,
    /// Skip missing files instead of failing.
    pub ignore_missing: bool,
}

/// Flux's `valuesFiles`: the chart's files at those paths, deep-merged in order
/// (`values.yaml` names the chart's own), become its default values, as source-controller
/// re-packages the chart. A missing file is an error unless `ignore_missing`; the messages
/// are source-controller's.
pub fn apply_values_files(chart: &mut Chart, files: &ValuesFiles) -> Result<()> {
    use helmrelease_helm::values::merge_maps;
    let mut merged: Option<TValue> = None;
    for path in &files.paths {
        let clean = helmrelease_sprig::path_clean(path);
        let values = if clean == "values.yaml" {
            chart.values.clone()
        } else {
            let Some(file) = chart.files.iter().find(|f| f.name == clean) else {
                if files.ignore_missing {
                    continue;
                }
                return Err(Error::Chart(format!(
                    "no values file found at path '{path}'"
                )));
            };
            helmrelease_helm::yaml::from_yaml(&String::from_utf8_lossy(&file.data)).map_err(
                |e| Error::Chart(format!("unmarshaling values from '{path}' failed: {e}")),
            )?
        };
        let base = merged.unwrap_or_else(|| TValue::from_json(&serde_json::json!({})));
        merged = Some(merge_maps(&base, &values));
    }
    if let Some(values) = merged {
        chart.raw_values = helmrelease_helm::yaml::to_yaml(&values)
            .ok()
            .map(String::into_bytes);
        chart.values = values;
    }
    Ok(())
}

/// The chart an OCIRepository (`spec.chartRef`) points at: `spec.url` is the chart itself,
/// `spec.ref.semver` a constraint over its tags, `spec.ref.tag` a version tag.
fn oci_repository_chart(
    reader: &dyn ObjectReader,
    object: &Value,
    namespace: &str,
    options: &ChartOptions,
) -> Result<LoadedChart> {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let repo: oci_v1::OCIRepository = typed(object, &format!("OCIRepository {namespace}/{name}"))?;
    let url = repo.spec.url.clone();
    let reference = repo.spec.reference.clone().unwrap_or_default();
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let (semver, tag, digest) = (
        nonempty(reference.semver),
        nonempty(reference.tag),
        nonempty(reference.digest),
    );
    let version = if let Some(digest) = digest {
        return Err(Error::Unsupported(format!(
            "OCIRepository {namespace}/{name} pins a digest ({digest}); preview resolves versions and tags only; pass --chart PATH"
        )));
    } else if let Some(semver) = semver {
        semver
    } else if let Some(tag) = tag.filter(|t| helmrelease_sources::Version::parse(t).is_ok()) {
        tag
    } else {
        // Flux's default reference is the tag `latest`, which names no chart version.
        let tag = repo
            .spec
            .reference
            .and_then(|r| nonempty(r.tag))
            .unwrap_or_else(|| "latest".to_string());
        return Err(Error::Unsupported(format!(
            "OCIRepository {namespace}/{name} follows the tag {tag:?}, which is not a chart version; preview needs spec.ref.semver or a version tag; pass --chart PATH"
        )));
    };
    let credentials = Credentials {
        secret_ref: repo.spec.secret_ref.as_ref(),
        cert_secret_ref: repo.spec.cert_secret_ref.as_ref(),
    };
    let fetch_options = helmrelease_sources::repo::Options {
        cache_dir: options.cache_dir.clone(),
        auth: repository_auth(reader, &credentials, namespace, Some(&url))?,
        ca_pem: repository_ca(reader, &credentials, namespace)?,
        insecure_http: repo.spec.insecure == Some(true),
        ..helmrelease_sources::repo::Options::default()
    };
    let fetched = helmrelease_sources::fetch_oci_chart(&url, "", &version, &fetch_options)
        .map_err(chart_err)?;
    let mut chart = helmrelease_helm::chart::load_archive(&fetched.bytes).map_err(chart_err)?;
    // helm-controller tracks the digest of an OCIRepository's artifact in the chart version
    // (`1.2.3+<12 hex digits>`), so `.Chart.Version` (and the `helm.sh/chart` label) carry it.
    // A version with build metadata of its own is left as it is.
    if let Some(digest) = &fetched.manifest_digest
        && !chart.metadata.version.contains('+')
        && digest.len() >= 12
    {
        chart.metadata.version = format!("{}+{}", chart.metadata.version, &digest[..12]);
    }
    Ok(LoadedChart {
        chart,
        reference: ChartReference::OCIRepository {
            namespace: namespace.to_string(),
            name,
            url,
        },
        oci_digest: fetched.manifest_digest.clone(),
    })
}

/// The Secrets a repository names for credentials and its CA.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// `spec.secretRef`: `username`/`password`, or `.dockerconfigjson` for a registry.
    pub secret_ref: Option<&'a LocalObjectReference>,
    /// `spec.certSecretRef`: `ca.crt`.
    pub cert_secret_ref: Option<&'a LocalObjectReference>,
}

/// A key of a Secret the repository references, decoded. A missing Secret is an error that
/// names it and the field.
fn secret_key(
    reader: &dyn ObjectReader,
    secret: Option<&LocalObjectReference>,
    namespace: &str,
    field: &str,
    key: &str,
) -> Result<Option<Vec<u8>>> {
    let Some(name) = secret.map(|s| s.name.as_str()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let object = reader
        .get(ObjectKind::Secret, namespace, name)?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "Secret {namespace}/{name} (the HelmRepository's spec.{field}) not found"
            ))
        })?;
    Ok(secret_data(&object, key))
}

/// Basic auth from the repository's `secretRef` as Flux reads it: `username` and
/// `password`, or for an OCI registry (`registry_url`) also a `.dockerconfigjson` Secret.
pub fn repository_auth(
    reader: &dyn ObjectReader,
    credentials: &Credentials<'_>,
    namespace: &str,
    registry_url: Option<&str>,
) -> Result<Option<helmrelease_sources::Auth>> {
    let secret = credentials.secret_ref;
    let user = secret_key(reader, secret, namespace, "secretRef", "username")?;
    let password = secret_key(reader, secret, namespace, "secretRef", "password")?;
    if let (Some(u), Some(p)) = (user, password) {
        return Ok(Some(helmrelease_sources::Auth::Basic {
            username: String::from_utf8_lossy(&u).into_owned(),
            password: String::from_utf8_lossy(&p).into_owned(),
        }));
    }
    let Some(url) = registry_url else {
        return Ok(None);
    };
    let config = secret_key(reader, secret, namespace, "secretRef", ".dockerconfigjson")?;
    Ok(config.and_then(|c| docker_config_auth(&c, url)))
}

/// The credentials a Docker config (`{"auths": {"<host>": {"username", "password"} or
/// {"auth": base64("user:pass")}}}`) holds for the host of `url` (`oci://host/path`).
pub fn docker_config_auth(config: &[u8], url: &str) -> Option<helmrelease_sources::Auth> {
    let config: Value = serde_json::from_slice(config).ok()?;
    let host_of = |s: &str| -> String {
        s.split_once("://")
            .map_or(s, |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let host = host_of(url);
    let auths = config.get("auths")?.as_object()?;
    // Keys may be bare hosts or URLs (`https://index.docker.io/v1/`).
    let entry = auths
        .iter()
        .find_map(|(key, entry)| (host_of(key) == host).then_some(entry))?;
    let field = |k: &str| {
        entry
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let (username, password) = match (field("username"), field("password")) {
        (Some(u), Some(p)) => (u.to_string(), p.to_string()),
        _ => {
            let decoded = crate::reader::decode_base64(field("auth")?)?;
            let text = String::from_utf8(decoded).ok()?;
            let (u, p) = text.split_once(':')?;
            (u.to_string(), p.to_string())
        }
    };
    Some(helmrelease_sources::Auth::Basic { username, password })
}

/// The CA from the repository's `certSecretRef` (`ca.crt`).
pub fn repository_ca(
    reader: &dyn ObjectReader,
    credentials: &Credentials<'_>,
    namespace: &str,
) -> Result<Option<Vec<u8>>> {
    secret_key(
        reader,
        credentials.cert_secret_ref,
        namespace,
        "certSecretRef",
        "ca.crt",
    )
}
