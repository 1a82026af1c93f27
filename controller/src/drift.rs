//! Drift of a deployed release: its manifest compared with the live objects by
//! `helmrelease_diff::drift` (the comparison `kubectl helmrelease drift` makes, so the plugin
//! and the controller agree), with the HelmRelease's ignore rules and Helm's ownership
//! metadata checked. Correction re-applies the drifted objects under our field manager,
//! without a new Helm revision, as helm-controller does.

use crate::Error;
use crate::reconcile::Context;
use helmrelease_action::apply::{Applier, set_ownership};
use helmrelease_crds::helmrelease::HelmRelease;
use helmrelease_diff::ObjectKey;
use helmrelease_diff::drift::{DriftOptions, DriftReport, DriftState, ObjectDrift};
use helmrelease_release::Release;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// What drifted, and the manifest's objects to put back.
#[derive(Debug, Clone)]
pub struct Drift {
    /// The comparison.
    pub report: DriftReport,
    /// The desired object of each drifted key, with Helm's ownership metadata.
    pub desired: BTreeMap<ObjectKey, Value>,
}

impl Drift {
    /// Nothing drifted.
    pub fn is_empty(&self) -> bool {
        self.report.is_empty()
    }
}

/// Whether each kind of `objects` is cluster-scoped, by (apiVersion, kind), from discovery
/// (CRDs included).
pub async fn cluster_scoped_kinds(
    applier: &Applier,
    objects: &[Value],
    namespace: &str,
) -> HashMap<(String, String), bool> {
    let mut scopes = HashMap::new();
    for object in objects {
        let key = ObjectKey::of(object);
        if scopes.contains_key(&(key.api_version.clone(), key.kind.clone())) {
            continue;
        }
        // A kind discovery does not know (its CRD is gone) falls back to the built-in list.
        let cluster_scoped = match applier.normalize(object, namespace).await {
            Ok(normalized) => normalized["metadata"].get("namespace").is_none(),
            Err(_) => helmrelease_diff::drift::is_cluster_scoped(&key.api_version, &key.kind),
        };
        scopes.insert((key.api_version, key.kind), cluster_scoped);
    }
    scopes
}

fn probe(key: &ObjectKey) -> Value {
    json!({
        "apiVersion": key.api_version,
        "kind": key.kind,
        "metadata": {"name": key.name, "namespace": key.namespace},
    })
}

/// Compares the deployed release's objects with the cluster.
pub async fn detect(ctx: &Context, hr: &HelmRelease, release: &Release) -> Result<Drift, Error> {
    let desired = helmrelease_action::actions::resources(&release.manifest)
        .map_err(|e| Error::Reconcile(e.to_string()))?;
    let ignore = hr
        .spec
        .drift_detection
        .as_ref()
        .and_then(|d| d.ignore.clone())
        .unwrap_or_default();
    let applier = Applier::new(ctx.release_client(hr).await?, &ctx.settings.field_manager)
        .with_kinds(ctx.kinds_for(hr));
    let scopes = cluster_scoped_kinds(&applier, &desired, &release.namespace).await;
    let scope = |api_version: &str, kind: &str| {
        scopes
            .get(&(api_version.to_string(), kind.to_string()))
            .copied()
    };
    // The options borrow a non-`Sync` closure, so they are made on each side of the reads.
    let options = |scope: &'_ dyn Fn(&str, &str) -> Option<bool>| -> Vec<ObjectKey> {
        DriftOptions {
            release_namespace: &release.namespace,
            release_name: Some(&release.name),
            scope: Some(scope),
            ..DriftOptions::default()
        }
        .keys(&desired)
    };
    let keys = options(&scope);
    let mut live: HashMap<ObjectKey, Value> = HashMap::new();
    for key in keys {
        if let Some(object) = applier
            .get(&probe(&key), &key.namespace)
            .await
            .map_err(|e| Error::Reconcile(e.to_string()))?
        {
            live.insert(key, object);
        }
    }
    let options = DriftOptions {
        release_namespace: &release.namespace,
        ignore: &ignore,
        show_secrets: false,
        release_name: Some(&release.name),
        scope: Some(&scope),
    };
    let report = helmrelease_diff::drift::detect(&desired, &|k| live.get(k), &options)
        .map_err(|e| Error::Reconcile(format!("spec.driftDetection.ignore: {e}")))?;
    let mut wanted = BTreeMap::new();
    for object in &desired {
        let key = options.key_of(object);
        if report.objects.iter().any(|o| o.key == key) {
            let mut object = object.clone();
            set_ownership(&mut object, &release.name, &release.namespace);
            wanted.insert(key, object);
        }
    }
    Ok(Drift {
        report,
        desired: wanted,
    })
}

/// `Kind/namespace/name` (no namespace for cluster-scoped objects), as Flux names them.
fn resource_name(key: &ObjectKey) -> String {
    if key.namespace.is_empty() {
        format!("{}/{}", key.kind, key.name)
    } else {
        format!("{}/{}/{}", key.kind, key.namespace, key.name)
    }
}

fn line(object: &ObjectDrift) -> String {
    match object.state {
        DriftState::Missing => format!("{} removed", resource_name(&object.key)),
        DriftState::Modified => {
            // As JSON patch operations from live to desired: the manifest sets what the
            // cluster lacks (add), sets it otherwise (replace), or lacks what it has (remove).
            let count = |f: fn(&helmrelease_diff::drift::FieldDrift) -> bool| {
                object.fields.iter().filter(|x| f(x)).count()
            };
            let added = count(|f| f.desired.is_some() && f.live.is_none());
            let changed = count(|f| f.desired.is_some() && f.live.is_some());
            let removed = count(|f| f.desired.is_none() && f.live.is_some());
            format!(
                "{} changed ({added} additions, {changed} changes, {removed} removals)",
                resource_name(&object.key)
            )
        }
    }
}

/// One line per object, as helm-controller's `SummarizeDiffSet` writes them in the
/// DriftDetected event (only counts: Secret values never appear).
pub fn summary(drift: &Drift) -> String {
    drift
        .report
        .objects
        .iter()
        .map(line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `removed: x, changed: y, excluded: z`, as helm-controller's `SummarizeDiffSetBrief`.
pub fn brief(drift: &Drift) -> String {
    format!(
        "removed: {}, changed: {}, excluded: {}",
        drift.report.count(DriftState::Missing),
        drift.report.count(DriftState::Modified),
        drift.report.skipped.len()
    )
}

/// Re-applies what drifted; returns what it corrected, one line each.
pub async fn correct(
    ctx: &Context,
    hr: &HelmRelease,
    client: &kube::Client,
    drift: &Drift,
) -> Result<Vec<String>, Error> {
    let applier =
        Applier::new(client.clone(), &ctx.settings.field_manager).with_kinds(ctx.kinds_for(hr));
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for object in &drift.report.objects {
        let Some(desired) = drift.desired.get(&object.key) else {
            continue;
        };
        match applier.apply(desired, &object.key.namespace).await {
            // As the resource manager's change set: `Kind/ns/name created|configured`.
            Ok(_) => done.push(format!(
                "{} {}",
                resource_name(&object.key),
                if object.state == DriftState::Missing {
                    "created"
                } else {
                    "configured"
                }
            )),
            Err(e) => failed.push(format!("{}: {e}", resource_name(&object.key))),
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
    use helmrelease_diff::drift::FieldDrift;

    fn drift() -> Drift {
        let key = |kind: &str| ObjectKey {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: "apps".into(),
            name: "web".into(),
        };
        Drift {
            report: DriftReport {
                objects: vec![
                    ObjectDrift {
                        key: key("Service"),
                        state: DriftState::Missing,
                        fields: Vec::new(),
                    },
                    ObjectDrift {
                        key: key("Secret"),
                        state: DriftState::Modified,
                        fields: vec![FieldDrift {
                            path: "/data/password".into(),
                            desired: Some("***".into()),
                            live: Some("***".into()),
                            masked: true,
                        }],
                    },
                ],
                ..DriftReport::default()
            },
            desired: BTreeMap::new(),
        }
    }

    #[test]
    fn summaries_are_flux_s_and_never_show_values() {
        let d = drift();
        assert_eq!(
            summary(&d),
            "Service/apps/web removed\nSecret/apps/web changed (0 additions, 1 changes, 0 removals)"
        );
        assert_eq!(brief(&d), "removed: 1, changed: 1, excluded: 0");
    }
}
