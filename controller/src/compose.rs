//! What the HelmRelease asks for, read through `helmrelease-flux`: the referenced objects are
//! fetched from the API server first (Secrets and ConfigMaps are read directly, not cached,
//! as helm-controller does), then the chart is loaded and the values composed off the async
//! runtime, because chart fetching is blocking IO.

use crate::Error;
use crate::reconcile::Context;
use helmrelease_action::Desired;
use helmrelease_crds::helmrelease::HelmRelease;
use helmrelease_flux::artifact::{self, Artifact};
use helmrelease_flux::reader::{ObjectKind, referenced_objects};
use helmrelease_flux::{Inputs, MemoryReader, ReleaseLocation, desired, digest};
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

/// Why the chart or values could not be had.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The source is missing or not ready.
    #[error("{0}")]
    SourceNotReady(String),
    /// The chart could not be fetched or loaded.
    #[error("{0}")]
    Artifact(String),
    /// A cross-namespace reference is not allowed.
    #[error("{0}")]
    AccessDenied(String),
    /// The values could not be composed.
    #[error("{0}")]
    Values(String),
}

impl Failure {
    /// Flux's Ready reason for it.
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::SourceNotReady(_) => "SourceNotReady",
            Failure::Artifact(_) => "ArtifactFailed",
            Failure::AccessDenied(_) => "AccessDenied",
            Failure::Values(_) => "ValuesError",
        }
    }
}

/// The chart and values, and what Flux records of them.
#[derive(Debug)]
pub struct Loaded {
    /// The objects the HelmRelease references, as read (rendering reads them again from
    /// here, off the async runtime: the template engine's values are not `Send`).
    reader: MemoryReader,
    /// The chart archive the source published (ours in-process, or source-controller's).
    artifact: Artifact,
    /// Chart name.
    pub chart_name: String,
    /// Chart version (with the OCI digest as build metadata, as Flux has it).
    pub chart_version: String,
    /// Chart appVersion.
    pub app_version: Option<String>,
    /// Config digest of the composed values.
    pub config_digest: String,
    /// Digest of the OCI artifact, when the chart came from a registry.
    pub oci_digest: Option<String>,
    /// Digest of `spec.postRenderers`.
    pub post_renderers_digest: Option<String>,
    /// Digest of `spec.commonMetadata`, if set.
    pub common_metadata_digest: Option<String>,
}

fn resource(kind: ObjectKind) -> ApiResource {
    let (group, version, plural) = match kind {
        ObjectKind::ConfigMap => ("", "v1", "configmaps"),
        ObjectKind::Secret => ("", "v1", "secrets"),
        ObjectKind::HelmRepository => ("source.toolkit.fluxcd.io", "v1", "helmrepositories"),
        ObjectKind::HelmChart => ("source.toolkit.fluxcd.io", "v1", "helmcharts"),
        ObjectKind::OCIRepository => ("source.toolkit.fluxcd.io", "v1", "ocirepositories"),
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind.kind()), plural)
}

async fn fetch(
    ctx: &Context,
    kind: ObjectKind,
    ns: &str,
    name: &str,
) -> Result<Option<Value>, Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), ns, &resource(kind));
    let found = api
        .get_opt(name)
        .await
        .map_err(|e| Error::Kube(format!("reading {} {ns}/{name}: {e}", kind.kind())))?;
    Ok(found.and_then(|o| serde_json::to_value(o).ok()))
}

/// Reads the chart and composes the values.
pub async fn load(ctx: &Context, hr: &HelmRelease) -> Result<Loaded, Failure> {
    let mut objects = Vec::new();
    for (kind, ns, name) in referenced_objects(hr) {
        // The chart comes from its source's artifact, not from the source itself.
        if !matches!(kind, ObjectKind::ConfigMap | ObjectKind::Secret) {
            continue;
        }
        let found = fetch(ctx, kind, &ns, &name)
            .await
            .map_err(|e| Failure::SourceNotReady(e.to_string()))?;
        objects.extend(found);
    }
    let reader = MemoryReader::new(objects);
    let artifact = artifact(ctx, hr).await?;
    let (hr_owned, reader_owned, artifact_owned) = (hr.clone(), reader.clone(), artifact.clone());
    let summary = tokio::task::spawn_blocking(move || -> Result<Summary, Failure> {
        let (inputs, config) = inputs(&reader_owned, &hr_owned, &artifact_owned)?;
        let meta = &inputs.chart.chart.metadata;
        Ok(Summary {
            chart_name: meta.name.clone(),
            chart_version: meta.version.clone(),
            app_version: Some(meta.app_version.clone()).filter(|a| !a.is_empty()),
            config_digest: digest::config_digest(&config),
            oci_digest: inputs.chart.oci_digest.clone(),
        })
    })
    .await
    .map_err(|e| Failure::Artifact(e.to_string()))??;
    Ok(Loaded {
        reader,
        artifact,
        chart_name: summary.chart_name,
        chart_version: summary.chart_version,
        app_version: summary.app_version,
        config_digest: summary.config_digest,
        oci_digest: summary.oci_digest,
        post_renderers_digest: hr
            .spec
            .post_renderers
            .as_deref()
            .map(digest::post_renderers_digest),
        common_metadata_digest: hr
            .spec
            .common_metadata
            .as_ref()
            .map(digest::common_metadata_digest),
    })
}

/// The artifact source-controller published for the HelmRelease's chart (see
/// `helmrelease_flux::artifact`), fetched off the async runtime.
async fn artifact(ctx: &Context, hr: &HelmRelease) -> Result<Artifact, Failure> {
    let own = hr.namespace().unwrap_or_default();
    let (kind, ns, name) = artifact::source_of(hr).map_err(|e| Failure::Artifact(e.to_string()))?;
    if ctx.settings.no_cross_namespace_refs && ns != own {
        return Err(Failure::AccessDenied(format!(
            "cannot access {} {ns}/{name}: cross-namespace references are not allowed",
            kind.kind()
        )));
    }
    let source = fetch(ctx, kind, &ns, &name)
        .await
        .map_err(|e| Failure::SourceNotReady(e.to_string()))?
        .ok_or_else(|| {
            Failure::SourceNotReady(format!(
                "could not get Source object: {} {ns}/{name} not found",
                kind.kind()
            ))
        })?;
    let published =
        artifact::published(kind, &source).map_err(|e| Failure::SourceNotReady(e.to_string()))?;
    // Our own artifacts are read from disk, not through our server.
    let local = ctx
        .storage
        .as_ref()
        .and_then(|s| s.local_file(&published.url));
    tokio::task::spawn_blocking(move || match local {
        Some(path) => artifact::read(&published, &path),
        None => artifact::download(&published),
    })
    .await
    .map_err(|e| Failure::Artifact(e.to_string()))?
    .map_err(|e| Failure::Artifact(e.to_string()))
}

/// What loading learned, in `Send` form.
struct Summary {
    chart_name: String,
    chart_version: String,
    app_version: Option<String>,
    config_digest: String,
    oci_digest: Option<String>,
}

/// The chart and values (on a blocking thread), and the values as the release stores them.
fn inputs(
    reader: &MemoryReader,
    hr: &HelmRelease,
    artifact: &Artifact,
) -> Result<(Inputs, serde_json::Map<String, Value>), Failure> {
    let chart = artifact
        .chart()
        .map_err(|e| Failure::Artifact(e.to_string()))?;
    let values =
        helmrelease_flux::compose_values(reader, hr).map_err(|e| Failure::Values(e.to_string()))?;
    let config = helmrelease_flux::values::to_config(&values);
    Ok((Inputs { chart, values }, config))
}

/// Renders the release for an install or an upgrade to `revision`.
pub async fn render(
    ctx: &Context,
    loaded: &Loaded,
    hr: &HelmRelease,
    is_upgrade: bool,
    revision: i64,
) -> Result<Desired, String> {
    // `lookup` reads the cluster as the release's client (impersonating, when the
    // HelmRelease names a service account), as Helm's does under helm-controller, and
    // `.Capabilities` are those of the cluster the release goes to.
    let client = ctx.release_client(hr).await.map_err(|e| e.to_string())?;
    let (kube_version, api_versions) = if hr.spec.kube_config.is_some() {
        crate::capabilities::discover(&client).await?
    } else {
        crate::capabilities::of(ctx).await?
    };
    let handle = tokio::runtime::Handle::current();
    let (hr, reader, artifact) = (hr.clone(), loaded.reader.clone(), loaded.artifact.clone());
    tokio::task::spawn_blocking(move || -> Result<Desired, String> {
        let (inputs, config) = inputs(&reader, &hr, &artifact).map_err(|e| e.to_string())?;
        let lookup = move |api_version: &str, kind: &str, namespace: &str, name: &str| {
            handle.block_on(lookup(&client, api_version, kind, namespace, name))
        };
        let options = helmrelease_helm::render::TemplateOptions {
            kube_version,
            api_versions,
            cluster_api_versions: true,
            is_upgrade,
            revision,
            lookup: Some(helmrelease_helm::engine::Lookup(std::rc::Rc::new(lookup))),
            ..Default::default()
        };
        let location = ReleaseLocation::of(&hr);
        let desired =
            desired::render(&hr, inputs, &location, options).map_err(|e| e.to_string())?;
        to_action(desired, config)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Helm's `lookup`: one object, or with an empty name the list of them (in `namespace`, or
/// everywhere when it is empty), `None` when absent.
async fn lookup(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<Value>, String> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|e| {
            format!("unable to get apiresource from unstructured: {api_version}, Kind={kind}: {e}")
        })?;
    let namespaced = caps.scope == kube::discovery::Scope::Namespaced;
    let api: Api<DynamicObject> = if namespaced && !namespace.is_empty() {
        Api::namespaced_with(client.clone(), namespace, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    };
    let fail = |e: kube::Error| format!("unable to get {kind} {namespace}/{name}: {e}");
    if name.is_empty() {
        let list = api.list(&Default::default()).await.map_err(fail)?;
        let items: Vec<Value> = list
            .items
            .into_iter()
            .filter_map(|o| serde_json::to_value(o).ok())
            .collect();
        return Ok(Some(serde_json::json!({
            "apiVersion": api_version,
            "kind": format!("{kind}List"),
            "metadata": {"resourceVersion": list.metadata.resource_version.unwrap_or_default()},
            "items": items,
        })));
    }
    let found = api.get_opt(name).await.map_err(fail)?;
    Ok(found.and_then(|o| serde_json::to_value(o).ok()))
}

/// A rendered release as the actions take it.
pub fn to_action(
    desired: desired::Desired,
    config: serde_json::Map<String, Value>,
) -> Result<Desired, String> {
    let manifest = desired.release_manifest().map_err(|e| e.to_string())?;
    let rendered = desired.rendered;
    Ok(Desired {
        chart: serde_json::from_value(rendered.chart.clone()).map_err(|e| e.to_string())?,
        config,
        manifest,
        hooks: desired::release_hooks(&desired.hooks),
        crds: rendered.crds.clone(),
        notes: rendered.notes.clone(),
    })
}
