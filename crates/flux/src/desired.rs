//! The whole desired state: chart, values, release location, rendered and post-rendered
//! objects. [`load`] does the reading; [`render()`] is pure given its inputs and the
//! [`TemplateOptions`] the caller chooses (capabilities, install or upgrade, revision,
//! `lookup`), which depend on the cluster and the stored releases, not on the HelmRelease.

use crate::chart::{ChartOptions, LoadedChart, load_chart};
use crate::postrender;
use crate::reader::ObjectReader;
use crate::values::compose_values;
use crate::{Error, Result};
use helmrelease_crds::helmrelease::HelmRelease;
use helmrelease_gotmpl::Value as TValue;
use helmrelease_helm::render::{self, Rendered, TemplateOptions};
use serde_json::Value;

/// Where a HelmRelease's Helm release lives, as Flux composes it from the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseLocation {
    /// Helm release name: `spec.releaseName`, else `[<targetNamespace>-]<name>`, shortened
    /// with a hash past 53 characters.
    pub name: String,
    /// Namespace the objects go to: `spec.targetNamespace`, else the HelmRelease's.
    pub namespace: String,
    /// Namespace of the release Secrets: `spec.storageNamespace`, else the HelmRelease's.
    pub storage_namespace: String,
}

impl ReleaseLocation {
    /// From the spec (the naming rules live in `helmrelease_crds::naming`).
    pub fn of(hr: &HelmRelease) -> ReleaseLocation {
        ReleaseLocation {
            name: hr.helm_release_name(),
            namespace: hr.helm_release_namespace(),
            storage_namespace: hr.helm_storage_namespace(),
        }
    }
}

/// What rendering needs, read from the HelmRelease's references.
#[derive(Debug)]
pub struct Inputs {
    /// The chart.
    pub chart: LoadedChart,
    /// The composed user values (Secret data included: never print them unmasked).
    pub values: TValue,
}

/// Reads the chart and composes the values. Post-renderers other than kustomize (none exist
/// in the API today) are refused, because skipping them would misstate the result.
pub fn load(reader: &dyn ObjectReader, hr: &HelmRelease, options: &ChartOptions) -> Result<Inputs> {
    let chart = load_chart(reader, hr, options)?;
    let values = compose_values(reader, hr)?;
    Ok(Inputs { chart, values })
}

/// The rendered release after helm-controller's post-rendering.
#[derive(Debug)]
pub struct Desired {
    /// Resources (hooks and CRDs excluded) after the user's post-renderers, the origin
    /// labels and `commonMetadata`, in Helm's install order.
    pub objects: Vec<Value>,
    /// Hooks as rendered.
    pub hooks: Vec<helmrelease_helm::manifest::Hook>,
    /// Files of the chart's `crds/` folders (path with the chart's).
    pub crd_files: Vec<String>,
    /// Helm's rendering (manifest text, notes, computed values, the chart as stored).
    pub rendered: Rendered,
    /// `<chart>-<version>`.
    pub chart_label: String,
}

/// Renders `inputs` for `hr` at `location`. `options` supplies what depends on the cluster
/// and history; its release name and namespace are replaced by `location`'s.
pub fn render(
    hr: &HelmRelease,
    inputs: Inputs,
    location: &ReleaseLocation,
    mut options: TemplateOptions,
) -> Result<Desired> {
    options.release_name = location.name.clone();
    options.namespace = location.namespace.clone();
    let crd_files = inputs
        .chart
        .chart
        .crd_objects()
        .into_iter()
        .map(|c| c.filename)
        .collect();
    let rendered = render::render_with_values(inputs.chart.chart, &inputs.values, &options)
        .map_err(|e| Error::Render(e.to_string()))?;
    let mut objects = helmrelease_diff::parse_manifest(&rendered.manifest, "rendered manifest")
        .map_err(|e| Error::Parse {
            origin: "rendered manifest".into(),
            message: e.to_string(),
        })?;
    post_render(hr, &mut objects, &location.namespace)?;
    Ok(Desired {
        objects,
        hooks: rendered.hooks.clone(),
        crd_files,
        chart_label: rendered.chart_label.clone(),
        rendered,
    })
}

/// helm-controller's post-rendering of resources: `spec.postRenderers` in order, the origin
/// labels, then `spec.commonMetadata`.
pub fn post_render(hr: &HelmRelease, objects: &mut [Value], namespace: &str) -> Result<()> {
    postrender::apply(
        hr.spec.post_renderers.as_deref().unwrap_or_default(),
        objects,
        namespace,
    )
    .map_err(Error::PostRender)?;
    postrender::apply_origin_labels(
        objects,
        hr.metadata.name.as_deref().unwrap_or_default(),
        hr.metadata.namespace.as_deref().unwrap_or_default(),
    );
    postrender::apply_common_metadata(hr.spec.common_metadata.as_ref(), objects);
    Ok(())
}
