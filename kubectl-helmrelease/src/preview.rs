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
use helmrelease_flux::{ReleaseLocation, desired};
use helmrelease_helm::render::TemplateOptions;
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
    let flux_err = |e: helmrelease_flux::Error| from_flux(e, &hr_namespace, &hr_name);
    let typed = helmrelease_flux::helmrelease_from_value(obj, &hr_namespace).map_err(flux_err)?;
    let target_ns = typed.helm_release_namespace();
    let chart_options = helmrelease_flux::ChartOptions {
        local: chart_source.local.clone(),
        cache_dir: cache_dir(),
    };
    let inputs = desired::load(session, &typed, &chart_options).map_err(flux_err)?;
    let user_values = inputs.values.clone();
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
    // The release the status names (it may predate a rename), in the namespace the spec says.
    let location = ReleaseLocation {
        name: release_name.clone(),
        namespace: target_ns.clone(),
        storage_namespace: storage_ns.clone(),
    };
    let rendered = desired::render(&typed, inputs, &location, options).map_err(flux_err)?;
    let desired_chart = rendered.chart_label.clone();
    let crd_files = rendered.crd_files;
    let desired = rendered.objects;

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
    let mut new_v = helmrelease_flux::values::go_json(user_values.to_json());
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

/// The plugin's error for a library error of HelmRelease `namespace/name`: the reader's own
/// errors come back as they were, so cluster failures keep their exit codes and messages.
fn from_flux(e: helmrelease_flux::Error, namespace: &str, name: &str) -> Error {
    use helmrelease_flux::Error as F;
    match e {
        F::NotFound(m) => Error::NotFound(m),
        F::Parse { origin, message } if origin == "rendered manifest" => Error::Parse {
            origin: format!("HelmRelease {namespace}/{name}"),
            message,
        },
        F::Parse { origin, message } => Error::Parse { origin, message },
        F::Render(m) => Error::Usage(format!("rendering HelmRelease {namespace}/{name}: {m}")),
        e @ F::PostRender(_) => Error::Usage(format!("HelmRelease {namespace}/{name}: {e}")),
        F::Read(inner) => match inner.downcast::<Error>() {
            Ok(own) => *own,
            Err(other) => Error::Cluster(other.to_string()),
        },
        e @ (F::Unsupported(_) | F::Chart(_)) => Error::Usage(e.to_string()),
    }
}

/// Where fetched charts are cached: `$XDG_CACHE_HOME/helmrelease` or `~/.cache/helmrelease`.
fn cache_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .map(|base| base.join("helmrelease"))
}

#[cfg(test)]
mod tests {
    use crate::input::{Inventory, SourcedObject};
    use crate::source::Session;
    use serde_json::{Value, json};

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

    /// The session is the library's object reader: values compose from the files' objects,
    /// and a missing object keeps the library's message.
    #[test]
    fn the_session_reads_what_the_library_asks_for() {
        let s = session(vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "base", "namespace": "apps"}, "data": {"values.yaml": "a: 1\n"}})]);
        let hr = |refs: Value| {
            helmrelease_flux::helmrelease_from_value(
                &json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                    "metadata": {"name": "web"}, "spec": {"valuesFrom": refs}}),
                "apps",
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let composed = helmrelease_flux::compose_values(
            &s,
            &hr(json!([{"kind": "ConfigMap", "name": "base"}])),
        );
        assert_eq!(composed.ok().map(|v| v.to_json()), Some(json!({"a": 1.0})));
        let missing =
            helmrelease_flux::compose_values(&s, &hr(json!([{"kind": "Secret", "name": "nope"}])));
        assert_eq!(
            missing.err().map(|e| e.to_string()),
            Some("could not find Secret 'apps/nope' (spec.valuesFrom)".into())
        );
    }
}
