//! Snapshots of stored releases, with Flux's digests, for `status.history`.

use helmrelease_crds::helmrelease::Snapshot;
use helmrelease_release::Release;

/// Flux's release digest of a stored release.
pub fn release_digest(release: &Release, oci_digest: Option<&str>) -> String {
    helmrelease_flux::digest::release_digest(release, oci_digest)
}

/// The snapshot helm-controller records for a stored release (`apiVersion: v2` marks the
/// Helm 4 digest method).
pub fn snapshot(release: &Release, oci_digest: Option<&str>) -> Snapshot {
    let meta = release.metadata();
    let info = release.info.clone().unwrap_or_default();
    let config = release.config.clone().unwrap_or_default();
    Snapshot {
        api_version: Some("v2".into()),
        digest: release_digest(release, oci_digest),
        name: release.name.clone(),
        namespace: release.namespace.clone(),
        version: release.version,
        status: release.status().to_string(),
        action: None,
        chart_name: meta.and_then(|m| m.name.clone()).unwrap_or_default(),
        chart_version: meta.and_then(|m| m.version.clone()).unwrap_or_default(),
        app_version: meta
            .and_then(|m| m.app_version.clone())
            .filter(|a| !a.is_empty()),
        config_digest: helmrelease_flux::digest::config_digest(&config),
        first_deployed: kube_time(info.first_deployed.as_deref()).unwrap_or_default(),
        last_deployed: kube_time(info.last_deployed.as_deref()).unwrap_or_default(),
        deleted: kube_time(info.deleted.as_deref()),
        test_hooks: None,
        oci_digest: oci_digest.map(str::to_string),
    }
}

/// A Helm time (RFC 3339 with nanoseconds and a zone) as `metav1.Time` writes it: UTC, whole
/// seconds. Go's zero time counts as unset.
pub fn kube_time(helm: Option<&str>) -> Option<String> {
    let helm = helm.filter(|t| !t.is_empty() && !t.starts_with("0001-01-01"))?;
    let ts: jiff::Timestamp = helm.parse().ok()?;
    Some(
        jiff::Timestamp::from_second(ts.as_second())
            .ok()?
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_times_become_kubernetes_times() {
        assert_eq!(
            kube_time(Some("2026-12-07T18:01:02.123456789+01:00")).as_deref(),
            Some("2026-12-07T17:01:02Z")
        );
        assert_eq!(kube_time(Some("0001-01-01T00:00:00Z")), None);
        assert_eq!(kube_time(None), None);
    }
}

/// `status.inventory` as helm-controller v1.6 writes it: every object of the release
/// manifest in the manifest's order, then every CRD of the chart's `crds/` (pass them in that
/// order), as `<namespace>_<name>_<group>_<kind>` with its API version; a repeated id is
/// listed once. `cluster_scoped` answers for a kind by (apiVersion, kind);
/// namespaced objects without a namespace are in the release's.
pub fn inventory(
    release: &Release,
    objects: &[serde_json::Value],
    cluster_scoped: &dyn Fn(&str, &str) -> bool,
) -> helmrelease_crds::helmrelease::ResourceInventory {
    let mut entries: Vec<helmrelease_crds::helmrelease::ResourceRef> = objects
        .iter()
        .filter_map(|o| {
            let api_version = o.get("apiVersion")?.as_str()?;
            let kind = o.get("kind")?.as_str()?;
            let name = o.pointer("/metadata/name")?.as_str()?;
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
            let namespace = if cluster_scoped(api_version, kind) {
                String::new()
            } else {
                o.pointer("/metadata/namespace")
                    .and_then(serde_json::Value::as_str)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(&release.namespace)
                    .to_string()
            };
            Some(helmrelease_crds::helmrelease::ResourceRef {
                id: format!("{namespace}_{name}_{group}_{kind}"),
                v: version.to_string(),
            })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    entries.retain(|e| seen.insert(e.id.clone()));
    helmrelease_crds::helmrelease::ResourceInventory { entries }
}

/// The chart's CRDs as a release stores them (files under `crds/`, of any chart in it).
pub fn crd_objects(release: &Release) -> Vec<serde_json::Value> {
    let Some(chart) = release.chart.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for file in chart.files.iter().flatten() {
        let is_crd = file.name.starts_with("crds/") || file.name.contains("/crds/");
        if !is_crd
            || !(file.name.ends_with(".yaml")
                || file.name.ends_with(".yml")
                || file.name.ends_with(".json"))
        {
            continue;
        }
        let Some(data) = file.data.as_deref().and_then(|d| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(d).ok()
        }) else {
            continue;
        };
        let text = String::from_utf8_lossy(&data);
        if let Ok(objects) = helmrelease_diff::parse_manifest(&text, &file.name) {
            out.extend(objects);
        }
    }
    out
}

#[cfg(test)]
mod inventory_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inventory_ids_are_flux_s_in_manifest_order() {
        let release = Release {
            namespace: "apps".into(),
            ..Release::default()
        };
        let objects = vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "other"}}),
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
        ];
        let scoped = |_: &str, kind: &str| kind == "CustomResourceDefinition";
        let ids: Vec<(String, String)> = inventory(&release, &objects, &scoped)
            .entries
            .into_iter()
            .map(|e| (e.id, e.v))
            .collect();
        let want = [
            ("apps_web_apps_Deployment", "v1"),
            ("other_web__Service", "v1"),
            (
                "_widgets.example.com_apiextensions.k8s.io_CustomResourceDefinition",
                "v1",
            ),
            // A repeated object is listed once.
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(ids, want);
    }
}
