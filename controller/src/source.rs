//! In-process sources (`--sources=in-process`): HelmRepositories, HelmCharts and
//! OCIRepositories reconciled as Flux's source-controller reconciles them, so the controller
//! stands in for it. Each source's artifact is written to [`Storage`] and served, and its
//! status (conditions, `artifact`, `url`, observed fields) is written as source-controller
//! writes it, so `flux get sources`, helm-controller and our plugin read it. HelmReleases then
//! take their charts from these artifacts, exactly as alongside source-controller.
//!
//! - HelmRepository (`type: default`): `index.yaml` fetched on the interval with a conditional
//!   request, auth and CA from `secretRef`/`certSecretRef`; the revision is the digest of the
//!   fetched index. `type: oci` repositories are static, as in Flux: no status.
//! - HelmChart from a HelmRepository: the version resolved in the repository's stored index
//!   (or the registry's tags for OCI), the archive downloaded, digest-checked and cached;
//!   `valuesFiles` re-package it with the version `<version>+<generation>`.
//! - OCIRepository: a version tag or semver range resolved to a manifest digest; the chart
//!   layer is the artifact, revision `<tag>@sha256:<digest>`.
//!
//! Git and Bucket sources are left to Flux's source-controller (`--sources=source-controller`).

use crate::Error;
use crate::conditions::{Conditions, READY, RECONCILING, STALLED};
use crate::storage::{Storage, Stored};
use futures::StreamExt;
use helmrelease_crds::helmrelease::ChartSourceKind;
use helmrelease_crds::meta::{Condition, LocalObjectReference};
use helmrelease_crds::source::{
    HelmChart, HelmRepository, HelmRepositoryType, oci_v1::OCIRepository,
};
use helmrelease_flux::MemoryReader;
use helmrelease_flux::chart::{Credentials, ValuesFiles, repository_auth, repository_ca};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// `ArtifactInStorage`.
const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
/// `FetchFailed`.
const FETCH_FAILED: &str = "FetchFailed";
/// How soon a failed source is tried again (at most; its interval if shorter).
const RETRY: Duration = Duration::from_secs(20);

/// Conditions a failure or success of ours replaces.
const TRANSIENT: [&str; 4] = [FETCH_FAILED, RECONCILING, STALLED, "ArtifactOutdated"];

/// What the source reconcilers share.
#[derive(Clone)]
pub struct SourceContext {
    /// The controller's client.
    pub client: Client,
    /// Where artifacts go.
    pub storage: Storage,
    /// Field manager of the status writes.
    pub field_manager: String,
}

impl std::fmt::Debug for SourceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceContext")
            .field("storage", &self.storage)
            .finish()
    }
}

/// How a source reconcile went: the status to write and when to look again.
struct Outcome {
    status: Value,
    requeue: Option<Duration>,
}

/// Why a source has no new artifact: a condition reason and a message.
#[derive(Debug)]
struct Failed {
    reason: &'static str,
    message: String,
}

fn failed(reason: &'static str) -> impl Fn(String) -> Failed {
    move |message| Failed { reason, message }
}

fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn existing_conditions(status: Option<&Value>) -> Vec<Condition> {
    status
        .and_then(|s| s.get("conditions"))
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default()
}

/// The status after storing an artifact: Ready and ArtifactInStorage True with `reason` and
/// `message`, failures cleared, `fields` (artifact, url, observed*) set.
pub fn ready_status(
    existing: Option<&Value>,
    generation: i64,
    now: &str,
    reason: &str,
    message: &str,
    fields: Value,
) -> Value {
    let mut conditions = Conditions::new(existing_conditions(existing), generation, now);
    for kind in TRANSIENT {
        conditions.delete(kind);
    }
    conditions.mark_true(ARTIFACT_IN_STORAGE, reason, message);
    conditions.mark_true(READY, reason, message);
    let mut status = existing.cloned().unwrap_or_else(|| json!({}));
    if let (Some(status), Value::Object(fields)) = (status.as_object_mut(), fields) {
        status.extend(fields);
    }
    status["observedGeneration"] = json!(generation);
    status["conditions"] = json!(conditions.list);
    status
}

/// The status after a failure: FetchFailed True and Ready False with the reason, the last
/// artifact (and its ArtifactInStorage) kept, as source-controller keeps serving it.
pub fn failed_status(
    existing: Option<&Value>,
    generation: i64,
    now: &str,
    reason: &str,
    message: &str,
) -> Value {
    let mut conditions = Conditions::new(existing_conditions(existing), generation, now);
    conditions.delete(RECONCILING);
    conditions.delete(STALLED);
    conditions.mark_true(FETCH_FAILED, reason, message);
    conditions.mark_false(READY, reason, message);
    let mut status = existing.cloned().unwrap_or_else(|| json!({}));
    status["observedGeneration"] = json!(generation);
    status["conditions"] = json!(conditions.list);
    status
}

/// Writes `status` when it differs from what the object has (conditions' times aside, a
/// re-fetch that changed nothing writes nothing).
async fn write_status<K>(ctx: &SourceContext, object: &K, status: Value) -> Result<(), Error>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let current = serde_json::to_value(object).ok();
    let old = current.as_ref().and_then(|o| o.get("status"));
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(a) = v.get_mut("artifact").and_then(Value::as_object_mut) {
            a.remove("lastUpdateTime");
        }
        v
    };
    if old.map(strip) == Some(strip(&status)) {
        return Ok(());
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
    let mut patch = json!({"status": status});
    // A merge patch: keys we no longer have must be removed explicitly.
    if let (Some(Value::Object(old)), Some(new)) = (old, patch["status"].as_object_mut()) {
        for key in old.keys() {
            new.entry(key.clone()).or_insert(Value::Null);
        }
    }
    api.patch_status(
        &object.name_any(),
        &PatchParams {
            field_manager: Some(ctx.field_manager.clone()),
            ..PatchParams::default()
        },
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|e| Error::Kube(format!("writing the status of {}: {e}", object.name_any())))?;
    Ok(())
}

/// A source's Secrets (auth, CA), read into a reader the chart helpers take.
async fn secrets(
    ctx: &SourceContext,
    namespace: &str,
    refs: &[Option<&LocalObjectReference>],
) -> Result<MemoryReader, Failed> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let mut objects = Vec::new();
    for name in refs
        .iter()
        .flatten()
        .map(|r| r.name.as_str())
        .filter(|n| !n.is_empty())
    {
        let found = api.get_opt(name).await.map_err(|e| {
            failed("AuthenticationFailed")(format!(
                "failed to get secret '{namespace}/{name}': {e}"
            ))
        })?;
        match found.and_then(|s| serde_json::to_value(s).ok()) {
            Some(secret) => objects.push(secret),
            None => {
                return Err(failed("AuthenticationFailed")(format!(
                    "failed to get secret '{namespace}/{name}': secrets \"{name}\" not found"
                )));
            }
        }
    }
    Ok(MemoryReader::new(objects))
}

/// Fetch options for a repository: the credentials and CA of its Secrets (read here), its
/// timeout, and our cache.
async fn fetch_options(
    ctx: &SourceContext,
    namespace: &str,
    credentials: Credentials<'_>,
    registry_url: Option<&str>,
    timeout: Option<&str>,
) -> Result<helmrelease_sources::Options, Failed> {
    let reader = secrets(
        ctx,
        namespace,
        &[credentials.secret_ref, credentials.cert_secret_ref],
    )
    .await?;
    let auth = failed("AuthenticationFailed");
    Ok(helmrelease_sources::Options {
        cache_dir: Some(ctx.storage.cache_dir()),
        auth: repository_auth(&reader, &credentials, namespace, registry_url)
            .map_err(|e| auth(e.to_string()))?,
        ca_pem: repository_ca(&reader, &credentials, namespace).map_err(|e| auth(e.to_string()))?,
        timeout: timeout
            .and_then(crate::spec::parse_duration)
            .unwrap_or(Duration::from_secs(60)),
        ..helmrelease_sources::Options::default()
    })
}

fn interval_of(text: Option<&str>) -> Duration {
    text.and_then(crate::spec::parse_duration)
        .filter(|d| !d.is_zero())
        .unwrap_or(Duration::from_secs(60))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Failed> + Send + 'static,
) -> Result<T, Failed> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(failed("StorageOperationFailed")(e.to_string())))
}

fn stored(ctx: &SourceContext, stored: std::io::Result<Stored>) -> Result<Value, Failed> {
    stored
        .map(|s| ctx.storage.artifact(&s, &now()))
        .map_err(|e| failed("StorageOperationFailed")(format!("failed to store artifact: {e}")))
}

/// A HelmRepository: fetch the index, store it when it changed.
async fn repository(ctx: &SourceContext, repo: &HelmRepository) -> Result<Option<Outcome>, Error> {
    if repo.spec.type_ == Some(HelmRepositoryType::Oci) || repo.spec.suspend == Some(true) {
        // OCI repositories are static in Flux: nothing to fetch, no status.
        return Ok(None);
    }
    let (ns, name) = (repo.namespace().unwrap_or_default(), repo.name_any());
    let generation = repo.metadata.generation.unwrap_or_default();
    let existing = serde_json::to_value(&repo.status)
        .ok()
        .filter(|v| !v.is_null());
    let requeue = Some(interval_of(repo.spec.interval.as_deref()));
    let result = async {
        let credentials = Credentials {
            secret_ref: repo.spec.secret_ref.as_ref(),
            cert_secret_ref: repo.spec.cert_secret_ref.as_ref(),
        };
        let mut options =
            fetch_options(ctx, &ns, credentials, None, repo.spec.timeout.as_deref()).await?;
        options.pass_credentials = repo.spec.pass_credentials == Some(true);
        let url = repo.spec.url.clone();
        let bytes = blocking(move || {
            let client = helmrelease_sources::Client::new(options.client_options())
                .map_err(|e| failed("Failed")(e.to_string()))?;
            let bytes =
                helmrelease_sources::download_index(&client, &url, &options).map_err(|e| {
                    let reason = if e.is_auth() {
                        "AuthenticationFailed"
                    } else {
                        "Failed"
                    };
                    failed(reason)(format!("failed to fetch Helm repository index: {e}"))
                })?;
            helmrelease_sources::Index::parse(&bytes, &url).map_err(|e| {
                failed("IndexationFailed")(format!(
                    "failed to load Helm repository from index YAML: {e}"
                ))
            })?;
            Ok(bytes)
        })
        .await?;
        let revision = crate::storage::sha256(&bytes);
        let hex = revision.trim_start_matches("sha256:").to_string();
        let dir = Storage::dir_of("helmrepository", &ns, &name);
        let storage = ctx.storage.clone();
        let artifact = blocking(move || {
            Ok(storage.store(
                &dir,
                &format!("index-{hex}.yaml"),
                "index.yaml",
                &bytes,
                &revision,
            ))
        })
        .await?;
        stored(ctx, artifact)
    }
    .await;
    let now = now();
    let status = match result {
        Ok(artifact) => {
            let message = format!(
                "stored artifact: revision '{}'",
                artifact["revision"].as_str().unwrap_or_default()
            );
            let artifact = keep_update_time(existing.as_ref(), artifact);
            let url = ctx.storage.url(&format!(
                "{}/index.yaml",
                Storage::dir_of("helmrepository", &ns, &name)
            ));
            ready_status(
                existing.as_ref(),
                generation,
                &now,
                "Succeeded",
                &message,
                json!({"artifact": artifact, "url": url}),
            )
        }
        Err(f) => failed_status(existing.as_ref(), generation, &now, f.reason, &f.message),
    };
    Ok(Some(Outcome { status, requeue }))
}

/// An unchanged artifact keeps its `lastUpdateTime`, as source-controller's does.
fn keep_update_time(existing: Option<&Value>, mut artifact: Value) -> Value {
    if let Some(old) = existing.and_then(|s| s.get("artifact"))
        && old.get("digest") == artifact.get("digest")
        && old.get("revision") == artifact.get("revision")
        && let Some(time) = old.get("lastUpdateTime")
    {
        artifact["lastUpdateTime"] = time.clone();
    }
    artifact
}

/// A HelmChart: resolve and fetch the chart from its HelmRepository, re-package it for
/// `valuesFiles`, store it.
async fn chart(ctx: &SourceContext, chart: &HelmChart) -> Result<Option<Outcome>, Error> {
    if chart.spec.suspend == Some(true) {
        return Ok(None);
    }
    let (ns, name) = (chart.namespace().unwrap_or_default(), chart.name_any());
    let generation = chart.metadata.generation.unwrap_or_default();
    let existing = serde_json::to_value(&chart.status)
        .ok()
        .filter(|v| !v.is_null());
    let requeue = Some(interval_of(Some(&chart.spec.interval)));
    let now = now();
    if chart.spec.source_ref.kind != ChartSourceKind::HelmRepository {
        let kind = serde_json::to_value(chart.spec.source_ref.kind).ok();
        let message = format!(
            "charts from {} sources are not built in-process; run helmrelease-controller with --sources=source-controller next to Flux's source-controller",
            kind.as_ref().and_then(Value::as_str).unwrap_or("these")
        );
        let status = failed_status(
            existing.as_ref(),
            generation,
            &now,
            "UnsupportedSourceKind",
            &message,
        );
        return Ok(Some(Outcome {
            status,
            requeue: None,
        }));
    }
    let repos: Api<HelmRepository> = Api::namespaced(ctx.client.clone(), &ns);
    let repo_name = chart.spec.source_ref.name.clone();
    let result = async {
        let repo = repos
            .get_opt(&repo_name)
            .await
            .map_err(|e| failed("SourceUnavailable")(format!("failed to get source: {e}")))?
            .ok_or_else(|| {
                failed("SourceUnavailable")(format!(
                    "failed to get source: helmrepositories.source.toolkit.fluxcd.io \"{repo_name}\" not found"
                ))
            })?;
        let oci = repo.spec.type_ == Some(HelmRepositoryType::Oci) || repo.spec.url.starts_with("oci://");
        let credentials = Credentials {
            secret_ref: repo.spec.secret_ref.as_ref(),
            cert_secret_ref: repo.spec.cert_secret_ref.as_ref(),
        };
        let mut options = fetch_options(ctx, &ns, credentials, oci.then_some(repo.spec.url.as_str()), repo.spec.timeout.as_deref()).await?;
        options.pass_credentials = repo.spec.pass_credentials == Some(true);
        options.insecure_http = oci && repo.spec.insecure == Some(true);
        let index_path = if oci {
            None
        } else {
            let status = repo.status.as_ref();
            let path = status
                .and_then(|s| s.artifact.as_ref())
                .map(|a| a.path.clone())
                .and_then(|p| ctx.storage.resolve(&p))
                .filter(|p| p.is_file());
            let Some(path) = path else {
                return Err(failed("NoSourceArtifact")(format!(
                    "no artifact available for HelmRepository source '{repo_name}'"
                )));
            };
            let revision = status.and_then(|s| s.artifact.as_ref()).map(|a| a.revision.clone()).unwrap_or_default();
            Some((path, revision))
        };
        let source_revision = index_path.as_ref().map(|(_, r)| r.clone());
        let (url, chart_name) = (repo.spec.url.clone(), chart.spec.chart.clone());
        let constraint = chart.spec.version.clone().filter(|v| !v.is_empty()).unwrap_or_else(|| "*".into());
        let files = ValuesFiles {
            paths: chart.spec.values_files.clone().unwrap_or_default(),
            ignore_missing: chart.spec.ignore_missing_values_files == Some(true),
        };
        let storage = ctx.storage.clone();
        let dir = Storage::dir_of("helmchart", &ns, &name);
        let artifact = blocking(move || {
            let client = helmrelease_sources::Client::new(options.client_options())
                .map_err(|e| failed("ChartPullError")(e.to_string()))?;
            let fetched = match &index_path {
                None => helmrelease_sources::fetch_chart_with(&client, &url, &chart_name, &constraint, &options),
                Some((path, _)) => {
                    let bytes = std::fs::read(path).map_err(|e| failed("StorageOperationFailed")(e.to_string()))?;
                    let index = helmrelease_sources::Index::parse(&bytes, &url)
                        .map_err(|e| failed("IndexationFailed")(e.to_string()))?;
                    helmrelease_sources::fetch_chart_from_index(&client, &url, &index, &chart_name, &constraint, &options)
                }
            }
            .map_err(|e| {
                let reason = if e.is_auth() { "AuthenticationFailed" } else { "ChartPullError" };
                failed(reason)(e.to_string())
            })?;
            let (bytes, version, packaged) = if files.paths.is_empty() {
                (fetched.bytes, fetched.version, false)
            } else {
                let (bytes, version) = helmrelease_flux::package::with_values_files(&fetched.bytes, &files, &generation.to_string())
                    .map_err(|e| failed("ChartPackageError")(e.to_string()))?;
                (bytes, version, true)
            };
            let file = format!("{}-{version}.tgz", fetched.name);
            let stored = storage.store(&dir, &file, "latest.tar.gz", &bytes, &version);
            Ok((stored, fetched.name, version, packaged, files.paths))
        })
        .await?;
        let (artifact, chart_name, version, packaged, values_files) = artifact;
        Ok((stored(ctx, artifact)?, chart_name, version, packaged, values_files, source_revision))
    }
    .await;
    let status = match result {
        Ok((artifact, chart_name, version, packaged, values_files, source_revision)) => {
            let (action, reason) = if packaged {
                ("packaged", "ChartPackageSucceeded")
            } else {
                ("pulled", "ChartPullSucceeded")
            };
            let mut message = format!("{action} '{chart_name}' chart with version '{version}'");
            if !values_files.is_empty() {
                message.push_str(&format!(
                    " and merged values files [{}]",
                    values_files.join(" ")
                ));
            }
            let artifact = keep_update_time(existing.as_ref(), artifact);
            let url = ctx.storage.url(&format!(
                "{}/latest.tar.gz",
                Storage::dir_of("helmchart", &ns, &name)
            ));
            let mut fields = json!({
                "artifact": artifact,
                "url": url,
                "observedChartName": chart_name,
                "observedSourceArtifactRevision": source_revision,
            });
            if !values_files.is_empty() {
                fields["observedValuesFiles"] = json!(values_files);
            }
            ready_status(
                existing.as_ref(),
                generation,
                &now,
                reason,
                &message,
                fields,
            )
        }
        Err(f) => failed_status(existing.as_ref(), generation, &now, f.reason, &f.message),
    };
    Ok(Some(Outcome { status, requeue }))
}

/// An OCIRepository holding a chart: resolve the reference, store the chart layer.
async fn oci_repository(
    ctx: &SourceContext,
    repo: &OCIRepository,
) -> Result<Option<Outcome>, Error> {
    if repo.spec.suspend == Some(true) {
        return Ok(None);
    }
    let (ns, name) = (repo.namespace().unwrap_or_default(), repo.name_any());
    let generation = repo.metadata.generation.unwrap_or_default();
    let existing = serde_json::to_value(&repo.status)
        .ok()
        .filter(|v| !v.is_null());
    let requeue = Some(interval_of(Some(&repo.spec.interval)));
    let result = async {
        let reference = repo.spec.reference.clone().unwrap_or_default();
        let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
        let version = if let Some(digest) = nonempty(reference.digest) {
            return Err(failed("OCIPullFailed")(format!(
                "pinning a digest ({digest}) is not supported in-process; use a version tag or spec.ref.semver, or --sources=source-controller"
            )));
        } else if let Some(semver) = nonempty(reference.semver) {
            semver
        } else {
            let tag = nonempty(reference.tag).unwrap_or_else(|| "latest".into());
            if helmrelease_sources::Version::parse(&tag).is_err() {
                return Err(failed("OCIPullFailed")(format!(
                    "the tag '{tag}' is not a chart version; in-process sources resolve version tags and spec.ref.semver (or use --sources=source-controller)"
                )));
            }
            tag
        };
        let credentials = Credentials {
            secret_ref: repo.spec.secret_ref.as_ref(),
            cert_secret_ref: repo.spec.cert_secret_ref.as_ref(),
        };
        let url = repo.spec.url.clone();
        let mut options = fetch_options(ctx, &ns, credentials, Some(&url), repo.spec.timeout.as_deref()).await?;
        options.insecure_http = repo.spec.insecure == Some(true);
        let storage = ctx.storage.clone();
        let dir = Storage::dir_of("ocirepository", &ns, &name);
        let artifact = blocking(move || {
            let fetched = helmrelease_sources::fetch_oci_chart(&url, "", &version, &options).map_err(|e| {
                let reason = if e.is_auth() { "AuthenticationFailed" } else { "OCIPullFailed" };
                failed(reason)(format!("failed to pull artifact from '{url}': {e}"))
            })?;
            let digest = fetched.manifest_digest.clone().unwrap_or_else(|| fetched.digest.clone());
            let hex = digest.trim_start_matches("sha256:").to_string();
            let tag = fetched.version.replace('+', "_");
            let revision = format!("{tag}@sha256:{hex}");
            let stored = storage.store(&dir, &format!("sha256:{hex}.tar.gz"), "latest.tar.gz", &fetched.bytes, &revision);
            Ok((stored, revision, fetched.annotations))
        })
        .await?;
        let (artifact, revision, annotations) = artifact;
        let mut artifact = stored(ctx, artifact)?;
        if !annotations.is_empty() {
            artifact["metadata"] = json!(annotations);
        }
        Ok((artifact, revision))
    }
    .await;
    let now = now();
    let status = match result {
        Ok((artifact, revision)) => {
            let message = format!("stored artifact for digest '{revision}'");
            let artifact = keep_update_time(existing.as_ref(), artifact);
            let url = ctx.storage.url(&format!(
                "{}/latest.tar.gz",
                Storage::dir_of("ocirepository", &ns, &name)
            ));
            // What the artifact was made with, as source-controller records it.
            let mut fields = json!({"artifact": artifact, "url": url});
            if let Some(selector) = &repo.spec.layer_selector {
                fields["observedLayerSelector"] = json!(selector);
            }
            if let Some(ignore) = &repo.spec.ignore {
                fields["observedIgnore"] = json!(ignore);
            }
            ready_status(
                existing.as_ref(),
                generation,
                &now,
                "Succeeded",
                &message,
                fields,
            )
        }
        Err(f) => failed_status(existing.as_ref(), generation, &now, f.reason, &f.message),
    };
    Ok(Some(Outcome { status, requeue }))
}

/// What makes a source worth reconciling: its generation and reconcile requests (not our
/// own status writes).
fn trigger<K: Resource>(object: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    object.meta().generation.hash(&mut hasher);
    object.meta().deletion_timestamp.is_some().hash(&mut hasher);
    object
        .meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get("reconcile.fluxcd.io/requestedAt"))
        .hash(&mut hasher);
    Some(hasher.finish())
}

/// The stored artifact of a HelmRepository, which its HelmCharts follow: its revision, and
/// where it is (a new publisher, ours after source-controller's, stores the same revision).
fn index_revision(repo: &HelmRepository) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    repo.status
        .as_ref()
        .and_then(|s| s.artifact.as_ref())
        .map(|a| (a.revision.clone(), a.digest.clone(), a.url.clone()))
        .hash(&mut hasher);
    Some(hasher.finish())
}

fn charts_of(store: &Store<HelmChart>, repo: &HelmRepository) -> Vec<ObjectRef<HelmChart>> {
    let (ns, name) = (repo.namespace().unwrap_or_default(), repo.name_any());
    store
        .state()
        .iter()
        .filter(|c| {
            c.namespace().as_deref() == Some(ns.as_str())
                && c.spec.source_ref.kind == ChartSourceKind::HelmRepository
                && c.spec.source_ref.name == name
        })
        .map(|c| ObjectRef::from_obj(c.as_ref()))
        .collect()
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

async fn finish<K>(
    ctx: &SourceContext,
    object: &K,
    outcome: Result<Option<Outcome>, Error>,
) -> Result<Action, Error>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let Some(outcome) = outcome? else {
        return Ok(Action::await_change());
    };
    let mut status = outcome.status;
    if let Some(token) = object
        .meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get("reconcile.fluxcd.io/requestedAt"))
    {
        status["lastHandledReconcileAt"] = json!(token);
    }
    // A failure is retried sooner than the interval (a source not ready yet, a server down).
    let failing = status["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == READY && c["status"] == "False")
    });
    write_status(ctx, object, status).await?;
    let requeue = match outcome.requeue {
        Some(d) if failing => Some(d.min(RETRY)),
        other => other,
    };
    Ok(requeue.map_or_else(Action::await_change, Action::requeue))
}

/// A `type: oci` HelmRepository is static in Flux: no artifact, an empty status and no
/// finalizer. One that has any (the CRD's default status, or what `type: default` left) is
/// cleared once, as source-controller's migration does.
async fn static_repository(ctx: &SourceContext, repo: &HelmRepository) -> Result<(), Error> {
    let has_finalizer = repo
        .finalizers()
        .iter()
        .any(|f| f == crate::reconcile::FINALIZER);
    let status = serde_json::to_value(&repo.status).unwrap_or_default();
    let empty = status.as_object().is_none_or(|s| s.is_empty());
    if (repo.spec.suspend == Some(true) && repo.metadata.deletion_timestamp.is_none())
        || (!has_finalizer && empty)
    {
        return Ok(());
    }
    let (ns, name) = (repo.namespace().unwrap_or_default(), repo.name_any());
    ctx.storage
        .remove(&Storage::dir_of("helmrepository", &ns, &name));
    write_status(ctx, repo, json!({})).await?;
    if has_finalizer {
        let api: Api<HelmRepository> = Api::namespaced(ctx.client.clone(), &ns);
        crate::reconcile::set_finalizer(&api, repo, false).await?;
    }
    Ok(())
}

/// Flux's finalizer: a source being deleted has its artifacts removed first; one without the
/// finalizer gets it. False when there is nothing more to do for the object now.
async fn guard<K>(ctx: &SourceContext, object: &K, kind: &str) -> Result<bool, Error>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let deleting = object.meta().deletion_timestamp.is_some();
    let has = object
        .meta()
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == crate::reconcile::FINALIZER));
    if deleting {
        ctx.storage.remove(&Storage::dir_of(
            kind,
            &object.namespace().unwrap_or_default(),
            &object.name_any(),
        ));
    }
    if deleting == has {
        let api: Api<K> =
            Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
        crate::reconcile::set_finalizer(&api, object, !deleting).await?;
    }
    Ok(!deleting)
}

/// Every object of kind `K` (in `namespace`, or everywhere), kept in `writer`'s store.
fn watch<K>(
    ctx: &SourceContext,
    namespace: Option<&str>,
    writer: reflector::store::Writer<K>,
) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    watcher(api::<K>(&ctx.client, namespace), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
}

/// One reconcile of a source: the finalizer first, then `work`, then its status.
async fn step<K>(
    ctx: &SourceContext,
    object: &K,
    kind: &str,
    work: impl std::future::Future<Output = Result<Option<Outcome>, Error>>,
) -> Result<Action, Error>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    if !guard(ctx, object, kind).await? {
        return Ok(Action::await_change());
    }
    finish(ctx, object, work.await).await
}

fn on_error<K: Resource>(object: Arc<K>, error: &Error, _ctx: Arc<SourceContext>) -> Action {
    tracing::error!(source = %object.meta().name.clone().unwrap_or_default(), "source reconcile failed: {error}");
    Action::requeue(Duration::from_secs(10))
}

/// Runs the HelmRepository, HelmChart and OCIRepository reconcilers until the process ends.
/// `namespace` limits them to one namespace.
pub async fn run(ctx: Arc<SourceContext>, namespace: Option<String>, concurrency: u16) {
    let ns = namespace.as_deref();
    let config = kube::runtime::controller::Config::default().concurrency(concurrency);

    let (repo_store, repo_writer) = reflector::store();
    let repo_events = watch(&ctx, ns, repo_writer);
    let (repo_triggers, repo_revisions) = split(repo_events);
    let repositories = Controller::for_stream(
        repo_triggers.predicate_filter(trigger, Default::default()),
        repo_store,
    )
    .with_config(config.clone())
    .run(
        |r: Arc<HelmRepository>, ctx: Arc<SourceContext>| async move {
            if r.spec.type_ == Some(HelmRepositoryType::Oci) {
                static_repository(&ctx, r.as_ref()).await?;
                return Ok(Action::await_change());
            }
            step(&ctx, r.as_ref(), "helmrepository", repository(&ctx, &r)).await
        },
        on_error,
        ctx.clone(),
    )
    .for_each(|_| futures::future::ready(()));

    let (chart_store, chart_writer) = reflector::store();
    let chart_events = watch(&ctx, ns, chart_writer).predicate_filter(trigger, Default::default());
    let store = chart_store.clone();
    let charts = Controller::for_stream(chart_events, chart_store)
        .with_config(config.clone())
        .watches_stream(
            repo_revisions.predicate_filter(index_revision, Default::default()),
            move |r: HelmRepository| charts_of(&store, &r),
        )
        .run(
            |c: Arc<HelmChart>, ctx: Arc<SourceContext>| async move {
                step(&ctx, c.as_ref(), "helmchart", chart(&ctx, &c)).await
            },
            on_error,
            ctx.clone(),
        )
        .for_each(|_| futures::future::ready(()));

    let (oci_store, oci_writer) = reflector::store();
    let oci_events = watch(&ctx, ns, oci_writer).predicate_filter(trigger, Default::default());
    let ocis = Controller::for_stream(oci_events, oci_store)
        .with_config(config)
        .run(
            |o: Arc<OCIRepository>, ctx: Arc<SourceContext>| async move {
                step(&ctx, o.as_ref(), "ocirepository", oci_repository(&ctx, &o)).await
            },
            on_error,
            ctx.clone(),
        )
        .for_each(|_| futures::future::ready(()));
    futures::join!(repositories, charts, ocis);
}

/// One stream of HelmRepository events to two consumers: the repository reconciler and the
/// HelmCharts that follow its artifact.
fn split(
    events: impl futures::Stream<Item = Result<HelmRepository, watcher::Error>> + Send + 'static,
) -> (
    impl futures::Stream<Item = Result<HelmRepository, watcher::Error>> + Send + 'static,
    impl futures::Stream<Item = Result<HelmRepository, watcher::Error>> + Send + 'static,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let first = events.map(move |event| {
        if let Ok(repo) = &event {
            let _ = tx.send(Ok(repo.clone()));
        }
        event
    });
    let second =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
    (first, second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_artifact_makes_the_source_ready_and_clears_failures() {
        let failing = failed_status(
            None,
            1,
            "2026-01-01T00:00:00Z",
            "Failed",
            "failed to fetch Helm repository index: 404",
        );
        assert_eq!(failing["conditions"][0]["type"], "Ready");
        assert_eq!(failing["conditions"][0]["status"], "False");
        assert_eq!(failing["conditions"][1]["type"], FETCH_FAILED);
        let message = "stored artifact: revision 'sha256:ab'";
        let ready = ready_status(
            Some(&failing),
            2,
            "2026-01-01T00:01:00Z",
            "Succeeded",
            message,
            json!({"url": "http://x/helmrepository/a/b/index.yaml", "artifact": {"revision": "sha256:ab"}}),
        );
        assert_eq!(ready["observedGeneration"], 2);
        assert_eq!(ready["url"], "http://x/helmrepository/a/b/index.yaml");
        let conditions: Vec<(String, String, String)> = ready["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                (s("type"), s("status"), s("reason"))
            })
            .collect();
        assert_eq!(
            conditions,
            [
                ("Ready".into(), "True".into(), "Succeeded".into()),
                (
                    ARTIFACT_IN_STORAGE.into(),
                    "True".into(),
                    "Succeeded".into()
                ),
            ]
        );
        // A later failure keeps the artifact: it is still served.
        let again = failed_status(Some(&ready), 2, "2026-01-01T00:02:00Z", "Failed", "down");
        assert_eq!(again["artifact"]["revision"], "sha256:ab");
        assert!(
            again["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == ARTIFACT_IN_STORAGE))
        );
    }

    #[test]
    fn an_unchanged_artifact_keeps_its_update_time() {
        let old = json!({"artifact": {"digest": "sha256:1", "revision": "1.0.0", "lastUpdateTime": "T0"}});
        let same = keep_update_time(
            Some(&old),
            json!({"digest": "sha256:1", "revision": "1.0.0", "lastUpdateTime": "T1"}),
        );
        assert_eq!(same["lastUpdateTime"], "T0");
        let new = keep_update_time(
            Some(&old),
            json!({"digest": "sha256:2", "revision": "1.0.1", "lastUpdateTime": "T1"}),
        );
        assert_eq!(new["lastUpdateTime"], "T1");
    }
}
