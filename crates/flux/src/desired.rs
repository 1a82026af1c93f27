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
    let hooks = post_render_hooks(hr, &rendered.hooks, &location.namespace)?;
    Ok(Desired {
        objects,
        hooks,
        crd_files,
        chart_label: rendered.chart_label.clone(),
        rendered,
    })
}

/// Hooks after post-rendering: Helm 4 runs the post-renderers over hooks too, so under
/// helm-controller they carry the origin labels and `commonMetadata`, and are stored as the
/// post-renderer writes them (YAML with sorted keys). `postRenderStrategy: nohooks` leaves
/// them as rendered.
pub fn post_render_hooks(
    hr: &HelmRelease,
    hooks: &[helmrelease_helm::manifest::Hook],
    namespace: &str,
) -> Result<Vec<helmrelease_helm::manifest::Hook>> {
    use helmrelease_crds::helmrelease::PostRenderStrategy;
    if hr.spec.post_render_strategy == Some(PostRenderStrategy::Nohooks) {
        return Ok(hooks.to_vec());
    }
    let mut out = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let origin = format!("hook {}", hook.path);
        let mut objects =
            helmrelease_diff::parse_manifest(&hook.manifest, &origin).map_err(|e| {
                Error::Parse {
                    origin: origin.clone(),
                    message: e.to_string(),
                }
            })?;
        if objects.len() != 1 {
            out.push(hook.clone());
            continue;
        }
        post_render(hr, &mut objects, namespace)?;
        let manifest = helmrelease_helm::yaml::to_yaml(&TValue::from_json(&objects[0]))
            .map_err(|e| Error::Render(format!("writing the post-rendered {origin}: {e}")))?;
        out.push(helmrelease_helm::manifest::Hook {
            manifest,
            ..hook.clone()
        });
    }
    Ok(out)
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

impl Desired {
    /// The release manifest Helm 4 stores after post-rendering: each resource as YAML under
    /// the `# Source:` line of the template it came from, then an empty line (Helm 4 keeps the file names through
    /// a post-renderer). Post-renderers change objects in place, so the i-th object is still
    /// the i-th rendered manifest.
    pub fn release_manifest(&self) -> Result<String> {
        let mut out = String::new();
        for (i, object) in self.objects.iter().enumerate() {
            let text = helmrelease_helm::yaml::to_yaml(&TValue::from_json(object))
                .map_err(|e| Error::Render(format!("writing the post-rendered manifest: {e}")))?;
            out.push_str("---\n");
            if let Some(source) = self.rendered.manifests.get(i).map(|m| m.name.as_str())
                && !source.is_empty()
            {
                out.push_str("# Source: ");
                out.push_str(source);
                out.push('\n');
            }
            // Helm 4 writes each post-rendered document (ending in a line break) followed by
            // another line break, so documents are separated by an empty line.
            out.push_str(&text);
            out.push('\n');
        }
        Ok(out)
    }
}

/// Rendered hooks as a release stores them, before they have run.
pub fn release_hooks(
    hooks: &[helmrelease_helm::manifest::Hook],
) -> Vec<helmrelease_release::model::Hook> {
    hooks
        .iter()
        .map(|h| helmrelease_release::model::Hook {
            name: h.name.clone(),
            kind: h.kind.clone(),
            path: h.path.clone(),
            manifest: h.manifest.clone(),
            events: h.events.clone(),
            weight: h.weight,
            delete_policies: h.delete_policies.clone(),
            ..Default::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_manifest_keeps_each_resource_under_its_source() {
        let rendered = Rendered {
            manifests: vec![helmrelease_helm::manifest::Manifest {
                name: "web/templates/cm.yaml".into(),
                content: String::new(),
                kind: "ConfigMap".into(),
            }],
            ..Rendered::default()
        };
        let desired = Desired {
            objects: vec![serde_json::json!({
                "kind": "ConfigMap", "apiVersion": "v1",
                "metadata": {"name": "a", "labels": {"helm.toolkit.fluxcd.io/name": "web"}}
            })],
            hooks: Vec::new(),
            crd_files: Vec::new(),
            rendered,
            chart_label: String::new(),
        };
        assert_eq!(
            desired.release_manifest().ok().as_deref(),
            Some(
                "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    helm.toolkit.fluxcd.io/name: web\n  name: a\n\n"
            )
        );
    }
}
