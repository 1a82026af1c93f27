//! The HelmChart helm-controller generates from `spec.chart` (`<hr-namespace>-<hr-name>` in
//! the source's namespace), applied server-side with the HelmRelease's owner labels; the
//! one a change of name or namespace, a switch to `chartRef`, or deletion leaves behind is
//! deleted. Its artifact comes from source-controller, or from [`crate::source`] in-process.

use crate::Error;
use crate::reconcile::Context;
use helmrelease_crds::helmrelease::HelmRelease;
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

/// `<namespace>/<name>` of the HelmChart for `spec.chart`, if the HelmRelease has one.
pub fn chart_ref(hr: &HelmRelease) -> Option<(String, String)> {
    hr.spec.chart.as_ref()?;
    let (_, ns, name) = helmrelease_flux::artifact::source_of(hr).ok()?;
    Some((ns, name))
}

/// The HelmChart built from the template, as `buildHelmChartFromTemplate` builds it, with
/// the owner labels Flux's resource manager adds.
pub fn build(hr: &HelmRelease) -> Option<Value> {
    let (namespace, name) = chart_ref(hr)?;
    let template = hr.spec.chart.as_ref()?;
    let spec = &template.spec;
    let mut labels = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert("helm.toolkit.fluxcd.io/name".into(), hr.name_any());
    labels.insert(
        "helm.toolkit.fluxcd.io/namespace".into(),
        hr.namespace().unwrap_or_default(),
    );
    let mut metadata = json!({"name": name, "namespace": namespace, "labels": labels});
    if let Some(annotations) = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
    {
        metadata["annotations"] = json!(annotations);
    }
    let mut out_spec = json!({
        "chart": spec.chart,
        "sourceRef": {"kind": spec.source_ref.kind, "name": spec.source_ref.name},
        // A metav1.Duration, written as Go prints durations ("1h0m0s").
        "interval": go_interval(spec.interval.as_deref().unwrap_or(&hr.spec.interval)),
    });
    let optional = [
        ("version", serde_json::to_value(&spec.version).ok()),
        (
            "reconcileStrategy",
            serde_json::to_value(spec.reconcile_strategy).ok(),
        ),
        ("valuesFiles", serde_json::to_value(&spec.values_files).ok()),
        (
            "ignoreMissingValuesFiles",
            serde_json::to_value(spec.ignore_missing_values_files).ok(),
        ),
        ("verify", serde_json::to_value(&spec.verify).ok()),
    ];
    for (key, value) in optional {
        if let Some(v) = value.filter(|v| !v.is_null()) {
            out_spec[key] = v;
        }
    }
    Some(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmChart",
        "metadata": metadata,
        "spec": out_spec,
    }))
}

fn go_interval(text: &str) -> String {
    crate::spec::parse_duration(text).map_or_else(|| text.to_string(), crate::spec::go_duration)
}

fn api(ctx: &Context, namespace: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "HelmChart");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "helmcharts");
    Api::namespaced_with(ctx.client.clone(), namespace, &resource)
}

/// Deletes the HelmChart `status.helmChart` names (absent is fine).
pub async fn delete(ctx: &Context, reference: &str) -> Result<(), Error> {
    let Some((ns, name)) = reference.split_once('/') else {
        return Ok(());
    };
    match api(ctx, ns).delete(name, &Default::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(Error::Kube(format!(
            "failed to delete HelmChart '{reference}': {e}"
        ))),
    }
}

/// Creates or updates the generated HelmChart, and garbage-collects a stale one. Returns the
/// `status.helmChart` value to record.
pub async fn reconcile(ctx: &Context, hr: &HelmRelease) -> Result<Option<String>, Error> {
    let recorded = hr.status.as_ref().and_then(|s| s.helm_chart.clone());
    let wanted = chart_ref(hr).map(|(ns, name)| format!("{ns}/{name}"));
    if let Some(old) = recorded.as_ref()
        && Some(old) != wanted.as_ref()
    {
        delete(ctx, old).await?;
    }
    let Some(chart) = build(hr) else {
        return Ok(None);
    };
    let (ns, name) = chart_ref(hr).unwrap_or_default();
    let api = api(ctx, &ns);
    let before = api
        .get_opt(&name)
        .await
        .map_err(|e| Error::Kube(format!("reading HelmChart {ns}/{name}: {e}")))?
        .and_then(|o| serde_json::to_value(o).ok());
    let params = PatchParams::apply(&ctx.settings.field_manager).force();
    api.patch(&name, &params, &Patch::Apply(&chart))
        .await
        .map_err(|e| Error::Kube(format!("failed to run server-side apply: {e}")))?;
    if let Some((reason, verb)) = change_of(before.as_ref(), &chart) {
        let message = format!(
            "{verb} HelmChart/{ns}/{name} with SourceRef '{}/{ns}/{}'",
            chart["spec"]["sourceRef"]["kind"]
                .as_str()
                .unwrap_or_default(),
            chart["spec"]["sourceRef"]["name"]
                .as_str()
                .unwrap_or_default()
        );
        ctx.events
            .normal(hr, reason, &message, crate::events::Meta::default())
            .await;
    }
    Ok(wanted)
}

/// Whether applying `desired` over `before` created or changed the HelmChart, as the event
/// helm-controller records says it (`HelmChartCreated`, `HelmChartConfigured`).
fn change_of(before: Option<&Value>, desired: &Value) -> Option<(&'static str, &'static str)> {
    let Some(before) = before else {
        return Some(("HelmChartCreated", "Created"));
    };
    let differs = |pointer: &str| {
        let want = desired.pointer(pointer);
        want.is_some_and(|w| match (w, before.pointer(pointer)) {
            (Value::Object(w), Some(Value::Object(h))) => {
                w.iter().any(|(k, v)| h.get(k) != Some(v))
            }
            (w, h) => Some(w) != h,
        })
    };
    (differs("/spec") || differs("/metadata/labels") || differs("/metadata/annotations"))
        .then_some(("HelmChartConfigured", "Configured"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use helmrelease_crds::helmrelease::{
        ChartSourceKind, CrossNamespaceObjectReference, HelmChartTemplate, HelmChartTemplateSpec,
        HelmReleaseSpec,
    };

    #[test]
    fn the_chart_is_built_from_the_template_with_owner_labels() {
        let mut hr = HelmRelease::new(
            "web",
            HelmReleaseSpec {
                interval: "10m".into(),
                chart: Some(HelmChartTemplate {
                    metadata: Some(helmrelease_crds::meta::Metadata {
                        labels: Some([("team".to_string(), "a".to_string())].into()),
                        annotations: None,
                    }),
                    spec: HelmChartTemplateSpec {
                        chart: "webapp".into(),
                        version: Some("1.x".into()),
                        source_ref: CrossNamespaceObjectReference {
                            kind: ChartSourceKind::HelmRepository,
                            name: "charts".into(),
                            namespace: Some("flux-system".into()),
                            ..Default::default()
                        },
                        values_files: Some(vec!["values-prod.yaml".into()]),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            },
        );
        hr.metadata.namespace = Some("apps".into());
        assert_eq!(
            build(&hr),
            Some(json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "HelmChart",
                "metadata": {
                    "name": "apps-web",
                    "namespace": "flux-system",
                    "labels": {
                        "team": "a",
                        "helm.toolkit.fluxcd.io/name": "web",
                        "helm.toolkit.fluxcd.io/namespace": "apps",
                    },
                },
                "spec": {
                    "chart": "webapp",
                    "version": "1.x",
                    "sourceRef": {"kind": "HelmRepository", "name": "charts"},
                    "interval": "10m0s",
                    "valuesFiles": ["values-prod.yaml"],
                },
            }))
        );
        let built = build(&hr).unwrap_or_default();
        assert_eq!(
            change_of(None, &built),
            Some(("HelmChartCreated", "Created"))
        );
        let mut stored = built.clone();
        stored["spec"]["suspend"] = json!(false);
        stored["metadata"]["labels"]["other"] = json!("x");
        assert_eq!(
            change_of(Some(&stored), &built),
            None,
            "defaults and extra labels are no change"
        );
        stored["spec"]["version"] = json!("2.x");
        assert_eq!(
            change_of(Some(&stored), &built),
            Some(("HelmChartConfigured", "Configured"))
        );
        hr.spec.chart = None;
        assert_eq!(build(&hr), None);
    }
}
