//! Drift: the live objects of a deployed release compared with what applying its manifest
//! would make of them (a server-side apply dry run under our field manager, as Flux's
//! `jsondiff` does), minus `spec.driftDetection.ignore` paths and objects that opt out with
//! `helm.toolkit.fluxcd.io/driftDetection: disabled`. Correction re-applies what drifted
//! without a new Helm revision.

use crate::Error;
use crate::reconcile::Context;
use helmrelease_action::apply::{describe, set_ownership};
use helmrelease_crds::helmrelease::HelmRelease;
use helmrelease_release::Release;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::Scope;
use serde_json::Value;

/// One drifted object.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `Kind/namespace/name`.
    pub name: String,
    /// Missing from the cluster (to be created) rather than changed.
    pub missing: bool,
    /// JSON pointers that differ.
    pub paths: Vec<String>,
    /// The object as the manifest has it (with ownership metadata).
    pub desired: Value,
}

/// What drifted.
pub type Drift = Vec<Entry>;

const OPT_OUT: &str = "helm.toolkit.fluxcd.io/driftDetection";

fn opted_out(obj: &Value) -> bool {
    ["labels", "annotations"].iter().any(|m| {
        obj.pointer(&format!("/metadata/{m}/{}", OPT_OUT.replace('/', "~1")))
            .and_then(Value::as_str)
            == Some("disabled")
    })
}

/// Drops what the server manages and nobody applies.
fn comparable(mut obj: Value) -> Value {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "uid",
        ] {
            meta.remove(k);
        }
    }
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
    }
    obj
}

fn remove_pointer(obj: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match obj.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.remove(&last);
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < a.len()
            {
                a.remove(i);
            }
        }
        _ => {}
    }
}

fn selects(target: &helmrelease_crds::helmrelease::Selector, obj: &Value) -> bool {
    let field = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let api_version = field("/apiVersion");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let eq = |want: &Option<String>, have: &str| {
        want.as_deref().is_none_or(|w| w.is_empty() || w == have)
    };
    eq(&target.group, group)
        && eq(&target.version, version)
        && eq(&target.kind, field("/kind"))
        && eq(&target.name, field("/metadata/name"))
        && eq(&target.namespace, field("/metadata/namespace"))
}

/// The pointers where `a` and `b` differ (leaves, arrays compared whole).
pub fn differences(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let child = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => differences(p, q, &child, out),
                    _ => out.push(child),
                }
            }
        }
        _ if a != b => out.push(if at.is_empty() {
            "/".into()
        } else {
            at.to_string()
        }),
        _ => {}
    }
}

async fn api_for(
    ctx: &Context,
    obj: &Value,
    namespace: &str,
) -> Result<(Api<DynamicObject>, Value), Error> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk =
        kube::api::GroupVersionKind::gvk(group, version, obj["kind"].as_str().unwrap_or_default());
    let (resource, caps) = kube::discovery::pinned_kind(&ctx.client, &gvk)
        .await
        .map_err(|e| Error::Kube(format!("resolving {}: {e}", describe(obj))))?;
    let mut obj = obj.clone();
    if caps.scope == Scope::Namespaced {
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or(namespace)
            .to_string();
        obj["metadata"]["namespace"] = ns.clone().into();
        Ok((
            Api::namespaced_with(ctx.client.clone(), &ns, &resource),
            obj,
        ))
    } else {
        if let Some(meta) = obj["metadata"].as_object_mut() {
            meta.remove("namespace");
        }
        Ok((Api::all_with(ctx.client.clone(), &resource), obj))
    }
}

/// Compares the deployed release's objects with the cluster.
pub async fn detect(ctx: &Context, hr: &HelmRelease, release: &Release) -> Result<Drift, Error> {
    let objects = helmrelease_action::actions::resources(&release.manifest)
        .map_err(|e| Error::Reconcile(e.to_string()))?;
    let ignore = hr
        .spec
        .drift_detection
        .as_ref()
        .and_then(|d| d.ignore.clone())
        .unwrap_or_default();
    let mut drift = Vec::new();
    for object in objects {
        if opted_out(&object) {
            continue;
        }
        let mut desired = object.clone();
        set_ownership(&mut desired, &release.name, &release.namespace);
        let (api, desired) = api_for(ctx, &desired, &release.namespace).await?;
        let name = desired["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let label = describe(&desired);
        let live = api
            .get_opt(&name)
            .await
            .map_err(|e| Error::Kube(format!("reading {label}: {e}")))?;
        let Some(live) = live else {
            drift.push(Entry {
                name: label,
                missing: true,
                paths: Vec::new(),
                desired,
            });
            continue;
        };
        let params = PatchParams::apply(&ctx.settings.field_manager)
            .force()
            .dry_run();
        let applied = api
            .patch(&name, &params, &Patch::Apply(&desired))
            .await
            .map_err(|e| Error::Kube(format!("dry-run applying {label}: {e}")))?;
        let mut live = comparable(serde_json::to_value(live).unwrap_or_default());
        let mut applied = comparable(serde_json::to_value(applied).unwrap_or_default());
        for rule in &ignore {
            if rule.target.as_ref().is_none_or(|t| selects(t, &desired)) {
                for path in &rule.paths {
                    remove_pointer(&mut live, path);
                    remove_pointer(&mut applied, path);
                }
            }
        }
        let mut paths = Vec::new();
        differences(&live, &applied, "", &mut paths);
        if !paths.is_empty() {
            drift.push(Entry {
                name: label,
                missing: false,
                paths,
                desired,
            });
        }
    }
    Ok(drift)
}

/// One line per object, as in the DriftDetected event.
pub fn summary(drift: &Drift) -> String {
    drift
        .iter()
        .map(|e| {
            if e.missing {
                format!("{} removed", e.name)
            } else {
                format!("{} changed ({})", e.name, e.paths.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The short form for the Drifted condition.
pub fn brief(drift: &Drift) -> String {
    let removed = drift.iter().filter(|e| e.missing).count();
    let changed = drift.len() - removed;
    let mut parts = Vec::new();
    if changed > 0 {
        parts.push(format!("changed {changed} resource(s)"));
    }
    if removed > 0 {
        parts.push(format!("removed {removed} resource(s)"));
    }
    format!("Cluster state has drifted: {}", parts.join(", "))
}

/// Re-applies what drifted; returns what it corrected, one line each.
pub async fn correct(
    ctx: &Context,
    _hr: &HelmRelease,
    drift: &Drift,
) -> Result<Vec<String>, Error> {
    let applier =
        helmrelease_action::apply::Applier::new(ctx.client.clone(), &ctx.settings.field_manager);
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for entry in drift {
        let ns = entry.desired["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match applier.apply(&entry.desired, &ns).await {
            Ok(_) => done.push(format!(
                "{} {}",
                entry.name,
                if entry.missing { "created" } else { "updated" }
            )),
            Err(e) => failed.push(format!("{}: {e}", entry.name)),
        }
    }
    if failed.is_empty() {
        Ok(done)
    } else {
        Err(Error::Reconcile(failed.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_the_changed_leaves() {
        let a = json!({"spec": {"replicas": 3, "template": {"a": 1}}, "metadata": {"labels": {"x/y": "1"}}});
        let b = json!({"spec": {"replicas": 1, "template": {"a": 1}}, "metadata": {"labels": {}}});
        let mut out = Vec::new();
        differences(&a, &b, "", &mut out);
        assert_eq!(out, ["/metadata/labels/x~1y", "/spec/replicas"]);
    }

    #[test]
    fn ignore_paths_and_opt_out() {
        let mut obj = json!({"spec": {"replicas": 3, "list": [1, 2]}});
        remove_pointer(&mut obj, "/spec/replicas");
        remove_pointer(&mut obj, "/spec/list/0");
        assert_eq!(obj, json!({"spec": {"list": [2]}}));
        assert!(opted_out(
            &json!({"metadata": {"annotations": {OPT_OUT: "disabled"}}})
        ));
        assert!(!opted_out(
            &json!({"metadata": {"labels": {OPT_OUT: "enabled"}}})
        ));
    }
}
