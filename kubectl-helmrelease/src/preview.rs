//! `diff NAME` / `diff -f FILE`: what a HelmRelease would change before it lands. The desired
//! state is composed as Flux composes it (chart from the HelmRepository or `--chart`, values
//! from `valuesFrom` then `spec.values`, release name and namespaces, `commonMetadata`),
//! rendered as Helm renders it, and compared object by object with the deployed revision.

use crate::check::{self, Severity};
use crate::diff::{Side, Summary};
use crate::input::SourcedObject;
use crate::source::{Session, str_at};
use crate::target::release_of;
use crate::values::SecretValues;
use crate::{Error, Result};
use helmrelease_diff::objects::{ManifestDiff, Options, diff_manifests, values_diff};
use helmrelease_diff::parse_manifest;
use helmrelease_gotmpl::Value as TValue;
use helmrelease_helm::render::{self, TemplateOptions};
use helmrelease_policy::PolicySet;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// One HelmRelease's preview, as `-o json` prints it.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// `namespace/name` of the HelmRelease.
    pub helm_release: String,
    /// Release namespace and name.
    pub release: String,
    /// The deployed revision, if any.
    pub deployed: Option<Side>,
    /// The chart that would be installed (`<chart>-<version>`).
    pub desired_chart: String,
    /// Objects that would change, be added or removed.
    pub manifest: ManifestDiff,
    /// Unified diff of the user-supplied values, masked where they come from Secrets.
    pub values: String,
    /// Hooks that would run (`kind/name (events)`).
    pub hooks: Vec<String>,
    /// CRD files in the chart's `crds/` folders, and what Flux does with them on this action
    /// (`spec.install.crds` or `spec.upgrade.crds`).
    pub crds: Vec<String>,
    /// Policy findings the webhook would report for this HelmRelease.
    pub policy: Vec<String>,
    /// Counts.
    pub summary: Summary,
}

/// For `--against live`: the live objects of the release (those the deployed manifest or the
/// desired one name), and each desired object as a server-side apply would leave it. Both
/// without the fields the server manages, so only real differences show.
fn live_and_applied(
    session: &Session,
    deployed: &[Value],
    desired: &[Value],
    namespace: &str,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut live = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for object in deployed.iter().chain(desired) {
        let key = helmrelease_diff::ObjectKey::of(object).in_namespace(namespace);
        if !seen.insert(key.clone()) {
            continue;
        }
        if let Some(current) =
            session.live(&key.api_version, &key.kind, &key.namespace, &key.name)?
        {
            live.push(server_fields_removed(current));
        }
    }
    let mut applied = Vec::new();
    for object in desired {
        applied.push(server_fields_removed(session.applied(object, namespace)?));
    }
    Ok((live, applied))
}

/// Drops what the server sets and nobody writes: status and bookkeeping metadata.
fn server_fields_removed(mut object: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
            "selfLink",
        ] {
            meta.remove(field);
        }
    }
    object
}

/// Where a chart comes from when previewing.
#[derive(Debug, Clone, Default)]
pub struct ChartSource {
    /// `--chart PATH`: a local chart folder or archive instead of the HelmRelease's source.
    pub local: Option<std::path::PathBuf>,
    /// Compare with the live objects instead of the deployed manifest.
    pub against_live: bool,
}

/// The labels helm-controller puts on every object it renders (its origin post-renderer).
const ORIGIN_NAME: &str = "helm.toolkit.fluxcd.io/name";
const ORIGIN_NAMESPACE: &str = "helm.toolkit.fluxcd.io/namespace";

/// Previews one HelmRelease against what is deployed.
pub fn preview(
    session: &mut Session,
    hr: &SourcedObject,
    chart_source: &ChartSource,
    show_secrets: bool,
    context: usize,
) -> Result<Preview> {
    let obj = &hr.object;
    let hr_namespace = {
        let ns = str_at(obj, "/metadata/namespace");
        if ns.is_empty() {
            session
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into())
        } else {
            ns
        }
    };
    let hr_name = str_at(obj, "/metadata/name");
    // Composed as Flux does, from the object as written (its namespace defaulted).
    let mut with_ns = obj.clone();
    with_ns["metadata"]["namespace"] = Value::String(hr_namespace.clone());
    let (storage_ns, release_name) = release_of(&with_ns);
    let target_ns = Some(str_at(obj, "/spec/targetNamespace"))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| hr_namespace.clone());
    // Post-renderers other than kustomize would change the manifests in ways we cannot see.
    if let Some(other) = obj
        .pointer("/spec/postRenderers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|r| r.get("kustomize").is_none())
    {
        return Err(Error::Usage(format!(
            "HelmRelease {hr_namespace}/{hr_name} has a post-renderer preview does not know ({other}); a diff without it would be wrong"
        )));
    }
    let chart = load_chart(session, obj, &hr_namespace, chart_source)?;
    let crd_files: Vec<String> = chart
        .crd_objects()
        .into_iter()
        .map(|c| c.filename)
        .collect();
    let user_values = compose_values(session, obj, &hr_namespace)?;
    let releases = session.releases(Some(&storage_ns), Some(&release_name))?;
    let history =
        helmrelease_release::history::find(&releases.releases, &release_name, Some(&storage_ns));
    let deployed = history.first().and_then(|h| h.last_deployed());
    // With a deployed release, Flux upgrades: `.Release.IsUpgrade`, and the revision after the
    // newest stored one, as Helm's upgrade numbers it.
    let latest_revision = history
        .first()
        .and_then(|h| h.latest())
        .map(|r| r.release.version);
    let (kube_version, api_versions, cluster_api_versions) = session.capabilities()?;
    let options = TemplateOptions {
        release_name: release_name.clone(),
        namespace: target_ns.clone(),
        // `.Capabilities` as Flux renders them: the cluster's version and APIs.
        kube_version,
        api_versions,
        cluster_api_versions,
        is_upgrade: deployed.is_some(),
        revision: latest_revision
            .filter(|_| deployed.is_some())
            .map_or(1, |v| v + 1),
        // Flux renders with Helm's lookup against the cluster; so does the preview.
        lookup: Some(session.lookup()),
        ..TemplateOptions::default()
    };
    let rendered = render::render_with_values(chart, &user_values, &options).map_err(|e| {
        Error::Usage(format!(
            "rendering HelmRelease {hr_namespace}/{hr_name}: {e}"
        ))
    })?;
    let desired_chart = rendered.chart_label.clone();
    let mut desired =
        parse_manifest(&rendered.manifest, "rendered manifest").map_err(|e| Error::Parse {
            origin: format!("HelmRelease {hr_namespace}/{hr_name}"),
            message: e.to_string(),
        })?;
    if let Some(renderers) = obj.pointer("/spec/postRenderers") {
        crate::postrender::apply(renderers, &mut desired, &target_ns).map_err(|e| {
            Error::Usage(format!(
                "HelmRelease {hr_namespace}/{hr_name}: spec.postRenderers: {e}"
            ))
        })?;
    }
    // helm-controller's own post-renderer labels every object with its HelmRelease, after
    // the user's kustomize patches and before commonMetadata.
    for object in desired.iter_mut() {
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            let labels = meta
                .entry("labels")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(labels) = labels.as_object_mut() {
                labels.insert(ORIGIN_NAME.into(), Value::String(hr_name.clone()));
                labels.insert(ORIGIN_NAMESPACE.into(), Value::String(hr_namespace.clone()));
            }
        }
    }
    apply_common_metadata(obj, &mut desired);

    let (old_objects, old_values, deployed_side) = match deployed {
        Some(d) => (
            parse_manifest(&d.release.manifest, &d.describe()).map_err(|e| Error::Parse {
                origin: d.describe(),
                message: e.to_string(),
            })?,
            Value::Object(d.release.config.clone().unwrap_or_default()),
            Some(Side {
                revision: d.release.version,
                chart: d.release.chart_label(),
                status: d.release.status().to_string(),
            }),
        ),
        None => (Vec::new(), Value::Object(Default::default()), None),
    };
    let old_label = deployed_side.as_ref().map_or_else(
        || "not installed".to_string(),
        |s| format!("revision {}", s.revision),
    );
    let options = Options {
        context,
        show_secrets,
    };
    let manifest = if chart_source.against_live {
        let (live, applied) = live_and_applied(session, &old_objects, &desired, &target_ns)?;
        diff_manifests(
            &live,
            &applied,
            &target_ns,
            "live",
            "desired, applied (dry run)",
            options,
        )
    } else {
        diff_manifests(
            &old_objects,
            &desired,
            &target_ns,
            &old_label,
            "desired",
            options,
        )
    };
    let secrets = if show_secrets {
        SecretValues::default()
    } else {
        SecretValues::of(Some(obj))
    };
    let mut old_v = old_values;
    let mut new_v = crate::postrender::go_json(user_values.to_json());
    if new_v.is_null() {
        new_v = Value::Object(Default::default());
    }
    secrets.mask_pair(&mut old_v, &mut new_v);
    let values = values_diff(
        &old_v,
        &new_v,
        &format!("values ({old_label})"),
        "values (desired)",
        context,
    );
    // Only the hooks of the action Flux would take (install, or upgrade of an installed
    // release), unless that action disables hooks; test hooks only when Flux's test action
    // is enabled (`spec.test.enable`).
    let tests_enabled = obj.pointer("/spec/test/enable").and_then(Value::as_bool) == Some(true);
    let action = if deployed_side.is_some() {
        "upgrade"
    } else {
        "install"
    };
    let hooks_disabled = obj
        .pointer(&format!("/spec/{action}/disableHooks"))
        .and_then(Value::as_bool)
        == Some(true);
    let hooks = rendered
        .hooks
        .iter()
        .filter_map(|h| {
            let events: Vec<&str> = h
                .events
                .iter()
                .map(String::as_str)
                .filter(|e| {
                    (*e == "test" && tests_enabled)
                        || (!hooks_disabled
                            && (*e == format!("pre-{action}") || *e == format!("post-{action}")))
                })
                .collect();
            (!events.is_empty()).then(|| format!("{}/{} ({})", h.kind, h.name, events.join(", ")))
        })
        .collect();
    // Flux's defaults: CRDs are created on install and skipped on upgrade.
    let crds = if crd_files.is_empty() {
        Vec::new()
    } else {
        let (action, field, default) = if deployed_side.is_some() {
            ("upgrade", "/spec/upgrade/crds", "Skip")
        } else {
            ("install", "/spec/install/crds", "Create")
        };
        let policy = Some(str_at(obj, field))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| default.to_string());
        crd_files
            .iter()
            .map(|f| format!("{f} ({action}: {policy})"))
            .collect()
    };
    let policy = check::findings(
        std::slice::from_ref(hr),
        &PolicySet::builtin(),
        &hr_namespace,
    )
    .into_iter()
    .filter(|f| f.severity != Severity::Audit)
    .map(|f| f.message)
    .collect();
    let summary = Summary {
        changed: manifest.count(helmrelease_diff::objects::Change::Changed),
        added: manifest.count(helmrelease_diff::objects::Change::Added),
        removed: manifest.count(helmrelease_diff::objects::Change::Removed),
        values_changed: !values.is_empty(),
    };
    Ok(Preview {
        helm_release: format!("{hr_namespace}/{hr_name}"),
        release: format!("{storage_ns}/{release_name}"),
        deployed: deployed_side,
        desired_chart,
        manifest,
        values,
        hooks,
        crds,
        policy,
        summary,
    })
}

/// The chart the HelmRelease names: `--chart` when given, else its HelmRepository's chart.
fn load_chart(
    session: &Session,
    hr: &Value,
    namespace: &str,
    source: &ChartSource,
) -> Result<helmrelease_helm::chart::Chart> {
    let load_err = |e: helmrelease_helm::Error| Error::Usage(e.to_string());
    if let Some(path) = &source.local {
        let mut chart = helmrelease_helm::chart::load(path).map_err(load_err)?;
        if let Some(spec) = hr.pointer("/spec/chart/spec") {
            apply_values_files(&mut chart, spec)?;
        }
        return Ok(chart);
    }
    let spec = match hr.pointer("/spec/chartRef") {
        Some(chart_ref) => {
            let kind = str_at(chart_ref, "/kind");
            let name = str_at(chart_ref, "/name");
            let ref_ns = Some(str_at(chart_ref, "/namespace"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| namespace.to_string());
            let object = match kind.as_str() {
                "OCIRepository" | "HelmChart" => session.source(&kind, &ref_ns, &name)?,
                other => {
                    return Err(Error::Usage(format!(
                        "spec.chartRef kind {other:?} is not supported by preview; pass --chart PATH"
                    )));
                }
            };
            let object = object.ok_or_else(|| {
                Error::NotFound(format!(
                    "{kind} {ref_ns}/{name} not found (the HelmRelease's spec.chartRef)"
                ))
            })?;
            if kind == "OCIRepository" {
                return oci_repository_chart(session, &object, &ref_ns);
            }
            // A HelmChart's spec is what `spec.chart.spec` would generate, in its namespace.
            let mut spec = object.pointer("/spec").cloned().unwrap_or_default();
            spec["sourceRef"]["namespace"] = Value::String(ref_ns);
            spec
        }
        None => hr.pointer("/spec/chart/spec").cloned().unwrap_or_default(),
    };
    let chart = str_at(&spec, "/chart");
    let version = Some(str_at(&spec, "/version"))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "*".into());
    let kind = str_at(&spec, "/sourceRef/kind");
    let name = str_at(&spec, "/sourceRef/name");
    let source_ns = Some(str_at(&spec, "/sourceRef/namespace"))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| namespace.to_string());
    if chart.starts_with("./")
        || chart.starts_with('/')
        || kind == "GitRepository"
        || kind == "Bucket"
    {
        return Err(Error::Usage(format!(
            "the chart comes from a {kind} path ({chart}); pass the chart folder with --chart PATH"
        )));
    }
    if kind != "HelmRepository" {
        return Err(Error::Usage(format!(
            "sourceRef kind {kind:?} is not supported by preview; pass --chart PATH"
        )));
    }
    let Some(repo) = session.source("HelmRepository", &source_ns, &name)? else {
        // Point at a repository of that name elsewhere: the usual mistake is the namespace.
        let elsewhere: Vec<String> = session
            .policy_objects(None)
            .unwrap_or_default()
            .into_iter()
            .filter(|o| {
                str_at(&o.object, "/kind") == "HelmRepository"
                    && str_at(&o.object, "/metadata/name") == name
            })
            .map(|o| str_at(&o.object, "/metadata/namespace"))
            .collect();
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
    let url = str_at(&repo, "/spec/url");
    let oci = str_at(&repo, "/spec/type") == "oci" || url.starts_with("oci://");
    let options = helmrelease_sources::repo::Options {
        cache_dir: cache_dir(),
        auth: repository_auth(session, &repo, &source_ns, oci.then_some(url.as_str()))?,
        ca_pem: repository_ca(session, &repo, &source_ns)?,
        pass_credentials: repo
            .pointer("/spec/passCredentials")
            .and_then(Value::as_bool)
            == Some(true),
        // Flux's `spec.insecure`: plain HTTP to an OCI registry.
        insecure_http: oci && repo.pointer("/spec/insecure").and_then(Value::as_bool) == Some(true),
        ..helmrelease_sources::repo::Options::default()
    };
    let fetched = helmrelease_sources::repo::fetch_chart(&url, &chart, &version, &options)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let mut chart = helmrelease_helm::chart::load_archive(&fetched.bytes).map_err(load_err)?;
    apply_values_files(&mut chart, &spec)?;
    Ok(chart)
}

/// Flux's `valuesFiles` (of `spec.chart.spec` or a HelmChart): the chart's files at those
/// paths, deep-merged in order (`values.yaml` names the chart's own), become its default
/// values, as source-controller re-packages the chart. A missing file is an error unless
/// `ignoreMissingValuesFiles`; the messages are source-controller's.
fn apply_values_files(chart: &mut helmrelease_helm::chart::Chart, spec: &Value) -> Result<()> {
    use helmrelease_helm::values::merge_maps;
    let paths: Vec<&str> = spec
        .pointer("/valuesFiles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let ignore_missing = spec
        .pointer("/ignoreMissingValuesFiles")
        .and_then(Value::as_bool)
        == Some(true);
    let mut merged: Option<TValue> = None;
    for path in paths {
        let clean = helmrelease_sprig::path_clean(path);
        let values = if clean == "values.yaml" {
            chart.values.clone()
        } else {
            let Some(file) = chart.files.iter().find(|f| f.name == clean) else {
                if ignore_missing {
                    continue;
                }
                return Err(Error::Usage(format!(
                    "no values file found at path '{path}'"
                )));
            };
            helmrelease_helm::yaml::from_yaml(&String::from_utf8_lossy(&file.data)).map_err(
                |e| Error::Usage(format!("unmarshaling values from '{path}' failed: {e}")),
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
    session: &Session,
    repo: &Value,
    namespace: &str,
) -> Result<helmrelease_helm::chart::Chart> {
    let name = str_at(repo, "/metadata/name");
    let url = str_at(repo, "/spec/url");
    let (semver, tag, digest) = (
        str_at(repo, "/spec/ref/semver"),
        str_at(repo, "/spec/ref/tag"),
        str_at(repo, "/spec/ref/digest"),
    );
    let version = if !digest.is_empty() {
        return Err(Error::Usage(format!(
            "OCIRepository {namespace}/{name} pins a digest ({digest}); preview resolves versions and tags only; pass --chart PATH"
        )));
    } else if !semver.is_empty() {
        semver
    } else if helmrelease_sources::Version::parse(&tag).is_ok() {
        tag
    } else {
        // Flux's default reference is the tag `latest`, which names no chart version.
        let tag = if tag.is_empty() {
            "latest".to_string()
        } else {
            tag
        };
        return Err(Error::Usage(format!(
            "OCIRepository {namespace}/{name} follows the tag {tag:?}, which is not a chart version; preview needs spec.ref.semver or a version tag; pass --chart PATH"
        )));
    };
    let options = helmrelease_sources::repo::Options {
        cache_dir: cache_dir(),
        auth: repository_auth(session, repo, namespace, Some(&url))?,
        ca_pem: repository_ca(session, repo, namespace)?,
        insecure_http: repo.pointer("/spec/insecure").and_then(Value::as_bool) == Some(true),
        ..helmrelease_sources::repo::Options::default()
    };
    let fetched = helmrelease_sources::fetch_oci_chart(&url, "", &version, &options)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let mut chart = helmrelease_helm::chart::load_archive(&fetched.bytes)
        .map_err(|e| Error::Usage(e.to_string()))?;
    // helm-controller tracks the digest of an OCIRepository's artifact in the chart version
    // (`1.2.3+<12 hex digits>`), so `.Chart.Version` (and the `helm.sh/chart` label) carry it.
    // A version with build metadata of its own is left as it is.
    if let Some(digest) = &fetched.manifest_digest
        && !chart.metadata.version.contains('+')
        && digest.len() >= 12
    {
        chart.metadata.version = format!("{}+{}", chart.metadata.version, &digest[..12]);
    }
    Ok(chart)
}

/// Where fetched charts are cached: `$XDG_CACHE_HOME/helmrelease` or `~/.cache/helmrelease`.
fn cache_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .map(|base| base.join("helmrelease"))
}

/// A key of a Secret the HelmRepository references, decoded; errors say which Secret when it
/// cannot be read (a 403 names the missing permission).
fn secret_key(
    session: &Session,
    repo: &Value,
    namespace: &str,
    field: &str,
    key: &str,
) -> Result<Option<Vec<u8>>> {
    let name = str_at(repo, &format!("/spec/{field}/name"));
    if name.is_empty() {
        return Ok(None);
    }
    let secret = session.source("Secret", namespace, &name)?.ok_or_else(|| {
        Error::NotFound(format!(
            "Secret {namespace}/{name} (the HelmRepository's spec.{field}) not found"
        ))
    })?;
    Ok(secret
        .pointer(&format!("/data/{key}"))
        .and_then(Value::as_str)
        .and_then(decode_base64))
}

/// Basic auth from the HelmRepository's `secretRef` as Flux reads it: `username` and
/// `password`, or for an OCI registry (`registry_url`) also a `.dockerconfigjson` Secret.
fn repository_auth(
    session: &Session,
    repo: &Value,
    namespace: &str,
    registry_url: Option<&str>,
) -> Result<Option<helmrelease_sources::Auth>> {
    let user = secret_key(session, repo, namespace, "secretRef", "username")?;
    let password = secret_key(session, repo, namespace, "secretRef", "password")?;
    if let (Some(u), Some(p)) = (user, password) {
        return Ok(Some(helmrelease_sources::Auth::Basic {
            username: String::from_utf8_lossy(&u).into_owned(),
            password: String::from_utf8_lossy(&p).into_owned(),
        }));
    }
    let Some(url) = registry_url else {
        return Ok(None);
    };
    let config = secret_key(session, repo, namespace, "secretRef", ".dockerconfigjson")?;
    Ok(config.and_then(|c| docker_config_auth(&c, url)))
}

/// The credentials a Docker config (`{"auths": {"<host>": {"username", "password"} or
/// {"auth": base64("user:pass")}}}`) holds for the host of `url` (`oci://host/path`).
fn docker_config_auth(config: &[u8], url: &str) -> Option<helmrelease_sources::Auth> {
    let config: Value = serde_json::from_slice(config).ok()?;
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split('/')
        .next()?;
    let auths = config.get("auths")?.as_object()?;
    // Keys may be bare hosts or URLs (`https://index.docker.io/v1/`).
    let entry = auths.iter().find_map(|(key, entry)| {
        let key_host = key
            .split_once("://")
            .map_or(key.as_str(), |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default();
        (key_host == host).then_some(entry)
    })?;
    let field = |k: &str| {
        entry
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let (username, password) = match (field("username"), field("password")) {
        (Some(u), Some(p)) => (u.to_string(), p.to_string()),
        _ => {
            let decoded = decode_base64(field("auth")?)?;
            let text = String::from_utf8(decoded).ok()?;
            let (u, p) = text.split_once(':')?;
            (u.to_string(), p.to_string())
        }
    };
    Some(helmrelease_sources::Auth::Basic { username, password })
}

/// The CA from the HelmRepository's `certSecretRef` (`ca.crt`).
fn repository_ca(session: &Session, repo: &Value, namespace: &str) -> Result<Option<Vec<u8>>> {
    secret_key(session, repo, namespace, "certSecretRef", "ca.crt")
}

/// Flux's values composition: `valuesFrom` in order (whole documents deep-merged at the root,
/// or one value at `targetPath`), then `spec.values` on top.
pub fn compose_values(session: &Session, hr: &Value, namespace: &str) -> Result<TValue> {
    use helmrelease_helm::values::{merge_maps, strvals};
    let mut result = TValue::from_json(&serde_json::json!({}));
    let refs = hr
        .pointer("/spec/valuesFrom")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for r in refs {
        let kind = str_at(&r, "/kind");
        let name = str_at(&r, "/name");
        let key = Some(str_at(&r, "/valuesKey"))
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "values.yaml".into());
        let optional = r.get("optional").and_then(Value::as_bool).unwrap_or(false);
        let Some(object) = session.source(&kind, namespace, &name)? else {
            if optional {
                continue;
            }
            return Err(Error::NotFound(format!(
                "could not find {kind} '{namespace}/{name}' (spec.valuesFrom)"
            )));
        };
        let raw = object.pointer(&format!(
            "/data/{}",
            key.replace('~', "~0").replace('/', "~1")
        ));
        let Some(raw) = raw.and_then(Value::as_str) else {
            if optional {
                continue;
            }
            return Err(Error::NotFound(format!(
                "missing key '{key}' in {kind} '{namespace}/{name}' (spec.valuesFrom)"
            )));
        };
        let data = if kind == "Secret" {
            let bytes = decode_base64(raw).ok_or_else(|| Error::Parse {
                origin: format!("{kind} {namespace}/{name}"),
                message: format!("data.{key} is not base64"),
            })?;
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            raw.to_string()
        };
        let target = str_at(&r, "/targetPath");
        if target.is_empty() {
            let parsed =
                helmrelease_helm::values::read_values(&data).map_err(|e| Error::Parse {
                    origin: format!("{kind} {namespace}/{name} key {key}"),
                    message: e.to_string(),
                })?;
            result = merge_maps(&result, &parsed);
            continue;
        }
        let literal = r.get("literal").and_then(Value::as_bool).unwrap_or(false);
        let assignment = if literal {
            format!("{target}={data}")
        } else {
            // Flux escapes commas so a value holding them stays one value.
            format!("{target}={}", data.replace(',', "\\,"))
        };
        let set = if literal {
            strvals::parse_literal_into(&assignment, &result)
        } else {
            strvals::parse_into(&assignment, &result)
        };
        result = set.map_err(|e| Error::Parse {
            origin: format!("{kind} {namespace}/{name} targetPath {target}"),
            message: e,
        })?;
    }
    if let Some(values) = hr.pointer("/spec/values") {
        result = merge_maps(&result, &TValue::from_json(values));
    }
    Ok(result)
}

/// Flux's `commonMetadata`: labels and annotations added to every rendered object.
fn apply_common_metadata(hr: &Value, objects: &mut [Value]) {
    let Some(common) = hr.pointer("/spec/commonMetadata") else {
        return;
    };
    for field in ["labels", "annotations"] {
        let Some(extra) = common.get(field).and_then(Value::as_object) else {
            continue;
        };
        for object in objects.iter_mut() {
            let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
                continue;
            };
            let target = meta
                .entry(field)
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(map) = target.as_object_mut() {
                for (k, v) in extra {
                    map.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim().as_bytes())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Inventory;
    use serde_json::json;

    #[test]
    fn values_files_replace_the_chart_defaults_as_source_controller_merges_them() {
        use helmrelease_helm::chart::{File, load_files};
        let file = |name: &str, data: &str| File {
            name: name.into(),
            data: data.as_bytes().to_vec(),
        };
        let chart = || {
            load_files(vec![
                file("Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                file(
                    "values.yaml",
                    "replicas: 1\nimage: {repo: web, tag: '1'}\nkeep: yes\n",
                ),
                file(
                    "values-prod.yaml",
                    "replicas: 3\nimage: {tag: '2'}\nkeep: null\n",
                ),
                file("bad.yaml", "a: [\n"),
            ])
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let values = |spec: Value| {
            let mut c = chart();
            apply_values_files(&mut c, &spec).map(|()| c.values.to_json())
        };
        assert_eq!(
            values(json!({"valuesFiles": ["values.yaml", "./values-prod.yaml"]})).ok(),
            Some(json!({"replicas": 3.0, "image": {"repo": "web", "tag": "2"}, "keep": null}))
        );
        // Without values.yaml in the list, the chart's own defaults are gone.
        assert_eq!(
            values(json!({"valuesFiles": ["values-prod.yaml"]})).ok(),
            Some(json!({"replicas": 3.0, "image": {"tag": "2"}, "keep": null}))
        );
        let err = |spec: Value| values(spec).err().map(|e| e.to_string());
        assert_eq!(
            err(json!({"valuesFiles": ["values-dev.yaml"]})),
            Some("no values file found at path 'values-dev.yaml'".into())
        );
        assert!(
            err(json!({"valuesFiles": ["bad.yaml"]}))
                .is_some_and(|e| e.starts_with("unmarshaling values from 'bad.yaml' failed: "))
        );
        assert_eq!(
            values(json!({"valuesFiles": ["values-dev.yaml"], "ignoreMissingValuesFiles": true}))
                .ok(),
            Some(json!({"replicas": 1.0, "image": {"repo": "web", "tag": "1"}, "keep": true}))
        );
    }

    #[test]
    fn docker_config_secrets_give_the_registry_host_credentials() {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode("bob:token");
        let config = json!({"auths": {
            "https://index.docker.io/v1/": {"username": "hub", "password": "x"},
            "ghcr.io": {"auth": auth},
            "registry.example.com:5000": {"username": "ann", "password": "pw"},
        }})
        .to_string();
        let user = |url: &str| match docker_config_auth(config.as_bytes(), url) {
            Some(helmrelease_sources::Auth::Basic { username, password }) => {
                Some(format!("{username}:{password}"))
            }
            _ => None,
        };
        assert_eq!(
            user("oci://ghcr.io/org/charts").as_deref(),
            Some("bob:token")
        );
        assert_eq!(
            user("oci://registry.example.com:5000/charts").as_deref(),
            Some("ann:pw")
        );
        assert_eq!(
            user("oci://index.docker.io/library").as_deref(),
            Some("hub:x")
        );
        assert_eq!(user("oci://quay.io/x"), None);
        assert!(docker_config_auth(b"not json", "oci://ghcr.io/x").is_none());
    }

    fn session(objects: Vec<Value>) -> Session {
        let inventory = Inventory {
            objects: objects
                .into_iter()
                .map(|object| SourcedObject {
                    origin: "test".into(),
                    line: 1,
                    object,
                })
                .collect(),
            ..Inventory::default()
        };
        Session::from_inventory(inventory, Some("apps".into()))
    }

    fn b64(s: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn values_compose_in_flux_order() {
        let s = session(vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "base", "namespace": "apps"},
                "data": {"values.yaml": "replicas: 1\nimage: {tag: old, repo: x}\n"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "apps"},
                "data": {"pw": b64("a,b")}}),
        ]);
        let hr = json!({"spec": {
            "valuesFrom": [
                {"kind": "ConfigMap", "name": "base"},
                {"kind": "Secret", "name": "creds", "valuesKey": "pw", "targetPath": "db.password"},
                {"kind": "ConfigMap", "name": "absent", "optional": true}
            ],
            "values": {"image": {"tag": "new"}}}});
        let composed = compose_values(&s, &hr, "apps").map(|v| v.to_json());
        assert_eq!(
            composed.ok(),
            Some(
                json!({"replicas": 1.0, "image": {"tag": "new", "repo": "x"}, "db": {"password": "a,b"}})
            )
        );
        let missing = json!({"spec": {"valuesFrom": [{"kind": "Secret", "name": "nope"}]}});
        assert_eq!(
            compose_values(&s, &missing, "apps")
                .err()
                .map(|e| e.to_string()),
            Some("could not find Secret 'apps/nope' (spec.valuesFrom)".into())
        );
        let no_key = json!({"spec": {"valuesFrom": [{"kind": "ConfigMap", "name": "base", "valuesKey": "other"}]}});
        assert_eq!(
            compose_values(&s, &no_key, "apps")
                .err()
                .map(|e| e.to_string()),
            Some("missing key 'other' in ConfigMap 'apps/base' (spec.valuesFrom)".into())
        );
    }

    #[test]
    fn repository_credentials_come_from_its_secrets() {
        let s = session(vec![json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "repo-auth", "namespace": "apps"},
            "data": {"username": b64("bot"), "password": b64("pw"), "ca.crt": b64("PEM")}})]);
        let repo = json!({"spec": {"secretRef": {"name": "repo-auth"}, "certSecretRef": {"name": "repo-auth"}}});
        match repository_auth(&s, &repo, "apps", None) {
            Ok(Some(helmrelease_sources::Auth::Basic { username, password })) => {
                assert_eq!((username.as_str(), password.as_str()), ("bot", "pw"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            repository_ca(&s, &repo, "apps").ok().flatten(),
            Some(b"PEM".to_vec())
        );
        let missing = json!({"spec": {"secretRef": {"name": "gone"}}});
        assert!(repository_auth(&s, &missing, "apps", None).is_err());
        assert!(matches!(
            repository_auth(&s, &json!({"spec": {}}), "apps", None),
            Ok(None)
        ));
    }

    #[test]
    fn common_metadata_is_added_to_every_object() {
        let hr = json!({"spec": {"commonMetadata": {"labels": {"team": "a"}, "annotations": {"x": "y"}}}});
        let mut objects = vec![
            json!({"metadata": {"name": "a", "labels": {"keep": "1"}}}),
            json!({"metadata": {"name": "b"}}),
        ];
        apply_common_metadata(&hr, &mut objects);
        assert_eq!(
            objects[0]["metadata"]["labels"],
            json!({"keep": "1", "team": "a"})
        );
        assert_eq!(objects[1]["metadata"]["annotations"], json!({"x": "y"}));
    }
}
